"""Median GFLOP/s of NumPy and PyTorch (CPU) matmul on the shapes of the neurona GEMM bench.

Standalone: `python3 benches/gemm_numpy_torch.py [--reps N]`. The shapes and the way the
transposed operands are given (as transposed views, not copies) match
`rust/neurona-core/benches/gemm.rs`, so the rows can be set beside its table
(`NEURONA_GEMM_TABLE=1 cargo bench -p neurona-core --bench gemm`).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

try:
    import torch
except ImportError:  # PyTorch is optional: print NumPy alone.
    torch = None

# (name, m, n, k, A given transposed, B given transposed); C = op(A) (m x k) @ op(B) (k x n).
CASES = [(f"square {n}", n, n, n, False, False) for n in (64, 128, 256, 512, 1024, 2048)] + [
    ("fwd1 X*W1", 128, 256, 784, False, False),
    ("fwd2 H*W2", 128, 128, 256, False, False),
    ("dW2 H^T*dY2", 256, 128, 128, True, False),
    ("dH dY2*W2^T", 128, 256, 128, False, True),
    ("dW1 X^T*dY1", 784, 256, 128, True, False),
    ("dX dY1*W1^T", 128, 784, 256, False, True),
]


def operands(m: int, n: int, k: int, a_t: bool, b_t: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((k, m) if a_t else (m, k), dtype=np.float32)
    b = rng.standard_normal((n, k) if b_t else (k, n), dtype=np.float32)
    return (a.T if a_t else a), (b.T if b_t else b)


def median_seconds(fn, reps: int) -> float:
    """Median over `reps` timed batches, each long enough (~20 ms) to time reliably."""
    fn()
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    iters = max(1, min(100_000, int(0.02 / once) + 1))
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        times.append((time.perf_counter() - t0) / iters)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=11, help="timed batches per case")
    args = parser.parse_args()
    torch_threads = torch.get_num_threads() if torch is not None else 0
    print(f"median GFLOP/s; numpy {np.__version__}, torch "
          f"{torch.__version__ if torch is not None else 'absent'} ({torch_threads} threads)")
    print(f"{'case':<14} {'m':>5} {'n':>5} {'k':>5} {'numpy':>9} {'torch':>9}")
    for name, m, n, k, a_t, b_t in CASES:
        a, b = operands(m, n, k, a_t, b_t)
        out = np.empty((m, n), dtype=np.float32)
        flops = 2.0 * m * n * k
        t_np = median_seconds(lambda: np.matmul(a, b, out=out), args.reps)
        row = f"{name:<14} {m:>5} {n:>5} {k:>5} {flops / t_np / 1e9:>9.1f}"
        if torch is not None:
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            tout = torch.empty((m, n), dtype=torch.float32)
            with torch.no_grad():
                t_t = median_seconds(lambda: torch.matmul(ta, tb, out=tout), args.reps)
            row += f" {flops / t_t / 1e9:>9.1f}"
        print(row, flush=True)


if __name__ == "__main__":
    main()
