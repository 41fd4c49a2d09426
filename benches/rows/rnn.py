"""Rows for recurrent layers: issue #8's LSTM (input 32, hidden 128, 50 steps, batch 64,
time-major), forward + backward of output.sum() and forward alone, with the same weights in
both libraries. NumPy has no LSTM. benches/rnn_bench.py reports CPU time beside wall time."""

import numpy as np
from compare import Row, try_torch

T, N, I, H = 50, 64, 32, 128


def _lstm(backward):
    def setup():
        import neurona
        from neurona import nn

        torch = try_torch()
        x = np.random.default_rng(0).standard_normal((T, N, I)).astype(np.float32)
        nm = nn.LSTM(I, H)
        xn = neurona.tensor(x)

        def run_neurona():
            if backward:
                nm(xn)[0].sum().backward()
            else:
                with neurona.no_grad():
                    nm(xn)

        fns = {"neurona": run_neurona}
        if torch:
            tm = torch.nn.LSTM(I, H)
            nm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
            xt = torch.from_numpy(x)

            def run_torch():
                if backward:
                    tm(xt)[0].sum().backward()
                else:
                    with torch.no_grad():
                        tm(xt)

            fns["torch"] = run_torch
        return fns

    return setup


# Multiply-adds of the products alone: 4H x (I + H) per row and step, three times with backward.
_FLOPS = 2.0 * T * N * 4 * H * (I + H)
ROWS = [
    Row("rnn", f"lstm fwd+bwd in={I} h={H} T={T} N={N}", _lstm(True), flops=3 * _FLOPS),
    Row("rnn", f"lstm fwd in={I} h={H} T={T} N={N}", _lstm(False), flops=_FLOPS),
]
