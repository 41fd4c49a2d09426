"""Rows for matrix multiply: square sizes and the products of an MLP step at batch 128
(forward, and the backward products dW = X^T dY and dX = dY W^T, taken on transposed views)."""

import numpy as np
from compare import Row, try_torch


def _mm(m, k, n, ta=False, tb=False):
    """C = op(A) @ op(B) with A stored (k, m) when ta and B stored (n, k) when tb."""

    def setup():
        import neurona

        rng = np.random.default_rng(0)
        a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
        b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
        na, nb = (a.T if ta else a), (b.T if tb else b)
        ra, rb = neurona.tensor(a), neurona.tensor(b)
        ra, rb = (ra.t() if ta else ra), (rb.t() if tb else rb)
        fns = {"neurona": lambda: ra @ rb, "numpy": lambda: na @ nb}
        torch = try_torch()
        if torch:
            pa, pb = torch.from_numpy(a), torch.from_numpy(b)
            pa, pb = (pa.t() if ta else pa), (pb.t() if tb else pb)
            fns["torch"] = lambda: pa @ pb
        return fns

    return setup


ROWS = [Row("matmul", f"square n={n}", _mm(n, n, n), flops=2.0 * n**3) for n in (64, 128, 256, 512, 1024, 2048)]
ROWS += [
    Row("matmul", "mlp fwd 128x784 @ 784x256", _mm(128, 784, 256), flops=2.0 * 128 * 784 * 256),
    Row("matmul", "mlp fwd 128x256 @ 256x128", _mm(128, 256, 128), flops=2.0 * 128 * 256 * 128),
    Row("matmul", "mlp dW1 = X^T dY 784x128 @ 128x256", _mm(784, 128, 256, ta=True), flops=2.0 * 784 * 128 * 256),
    Row("matmul", "mlp dX1 = dY W^T 128x256 @ 256x784", _mm(128, 256, 784, tb=True), flops=2.0 * 128 * 256 * 784),
    Row("matmul", "mlp dW2 = H^T dY 256x128 @ 128x128", _mm(256, 128, 128, ta=True), flops=2.0 * 256 * 128 * 128),
    Row("matmul", "mlp dX2 = dY W^T 128x128 @ 128x256", _mm(128, 128, 256, tb=True), flops=2.0 * 128 * 128 * 256),
]
