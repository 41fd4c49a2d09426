"""Rows for conv2d (3x3, padding 1) forward and forward+backward on the three benchmark layers,
and 2x2 max pooling on each output: neurona vs PyTorch CPU vs a NumPy im2col baseline."""

import numpy as np
from compare import Row, try_torch

LAYERS = [("b64 1x28x28->32", 64, 1, 28, 32), ("b64 32x14x14->64", 64, 32, 14, 64), ("b32 64x56x56->64", 32, 64, 56, 64)]


def _np_im2col_conv(x, w, b):
    n, c, h, wd = x.shape
    co = w.shape[0]
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(2, 3))  # n c h w 3 3
    cols = cols.transpose(0, 2, 3, 1, 4, 5).reshape(n * h * wd, c * 9)
    out = cols @ w.reshape(co, -1).T + b
    return out.reshape(n, h, wd, co).transpose(0, 3, 1, 2)


def _conv(n, c, hw, co, backward):
    def setup():
        import neurona
        import neurona.nn.functional as F

        rng = np.random.default_rng(0)
        x = rng.standard_normal((n, c, hw, hw)).astype(np.float32)
        w = (rng.standard_normal((co, c, 3, 3)) * 0.1).astype(np.float32)
        b = rng.standard_normal(co).astype(np.float32)
        tx = neurona.tensor(x, requires_grad=backward)
        tw, tb = neurona.tensor(w, requires_grad=backward), neurona.tensor(b, requires_grad=backward)

        def nr():
            y = F.conv2d(tx, tw, tb, padding=1)
            if backward:
                y.sum().backward()

        fns = {"neurona": nr}
        if not backward:
            fns["numpy"] = lambda: _np_im2col_conv(x, w, b)
        torch = try_torch()
        if torch:
            px = torch.from_numpy(x).requires_grad_(backward)
            pw, pb = torch.from_numpy(w).requires_grad_(backward), torch.from_numpy(b).requires_grad_(backward)

            def pt():
                y = torch.nn.functional.conv2d(px, pw, pb, padding=1)
                if backward:
                    y.sum().backward()

            fns["torch"] = pt
        return fns

    return setup


def _pool(n, co, hw):
    def setup():
        import neurona
        import neurona.nn.functional as F

        x = np.random.default_rng(0).standard_normal((n, co, hw, hw)).astype(np.float32)
        tx = neurona.tensor(x)
        fns = {
            "neurona": lambda: F.max_pool2d(tx, 2),
            "numpy": lambda: x.reshape(n, co, hw // 2, 2, hw // 2, 2).max(axis=(3, 5)),
        }
        torch = try_torch()
        if torch:
            px = torch.from_numpy(x)
            fns["torch"] = lambda: torch.nn.functional.max_pool2d(px, 2)
        return fns

    return setup


ROWS = []
for name, n, c, hw, co in LAYERS:
    flops = 2.0 * n * co * hw * hw * c * 9
    ROWS.append(Row("conv", f"conv2d fwd {name}", _conv(n, c, hw, co, False), flops=flops))
    ROWS.append(Row("conv", f"conv2d fwd+bwd {name}", _conv(n, c, hw, co, True), flops=3 * flops))
    ROWS.append(Row("conv", f"max_pool2d 2x2 on {n}x{co}x{hw}x{hw}", _pool(n, co, hw)))
