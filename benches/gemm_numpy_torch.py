"""Median GFLOP/s of NumPy and PyTorch (CPU) matmul on the shapes of the neurona GEMM bench.

Standalone: `python3 benches/gemm_numpy_torch.py [--reps N] [--threads N]`. The shapes and
the way the transposed operands are given (as transposed views, not copies) match
`rust/neurona-core/benches/gemm.rs`, so the rows can be set beside its table
(`NEURONA_GEMM_TABLE=1 cargo bench -p neurona-core --bench gemm`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from functools import partial

# (name, m, n, k, A given transposed, B given transposed); C = op(A) (m x k) @ op(B) (k x n).
CASES = [(f"square {n}", n, n, n, False, False) for n in (64, 128, 256, 512, 1024, 2048)] + [
    ("fwd1 X*W1", 128, 256, 784, False, False),
    ("fwd2 H*W2", 128, 128, 256, False, False),
    ("dW2 H^T*dY2", 256, 128, 128, True, False),
    ("dH dY2*W2^T", 128, 256, 128, False, True),
    ("dW1 X^T*dY1", 784, 256, 128, True, False),
    ("dX dY1*W1^T", 128, 784, 256, False, True),
]


def operands(np, m: int, n: int, k: int, a_t: bool, b_t: bool):
    """A (m x k) and B (k x n), as transposed views where the case says so."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((k, m) if a_t else (m, k), dtype=np.float32)
    b = rng.standard_normal((n, k) if b_t else (k, n), dtype=np.float32)
    return (a.T if a_t else a), (b.T if b_t else b)


def median_seconds(fn, reps: int) -> tuple[float, float]:
    """Median seconds per call by wall clock and by this thread's CPU time (meaningful with
    --threads 1, and much less disturbed than wall clock on a busy machine), over `reps`
    timed batches, each long enough (~20 ms) to time reliably."""
    fn()
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    iters = max(1, min(100_000, int(0.02 / once) + 1))
    wall, cpu = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.thread_time()
        for _ in range(iters):
            fn()
        cpu.append((time.thread_time() - c0) / iters)
        wall.append((time.perf_counter() - t0) / iters)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=11, help="timed batches per case")
    parser.add_argument("--threads", type=int, help="BLAS and torch threads (default: theirs)")
    args = parser.parse_args()
    if args.threads is not None:
        # Must be set before NumPy loads its BLAS.
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    import numpy as np

    try:
        import torch
    except ImportError:  # PyTorch is optional: print NumPy alone.
        torch = None
    if torch is not None and args.threads is not None:
        torch.set_num_threads(args.threads)
    torch_threads = torch.get_num_threads() if torch is not None else 0
    print(
        f"median GFLOP/s; numpy {np.__version__}, torch "
        f"{torch.__version__ if torch is not None else 'absent'} ({torch_threads} threads)"
    )
    one = args.threads == 1
    cols = ["numpy", "torch"] + (["numpy cpu", "torch cpu"] if one else [])
    print(f"{'case':<14} {'m':>5} {'n':>5} {'k':>5}" + "".join(f" {c:>9}" for c in cols))
    for name, m, n, k, a_t, b_t in CASES:
        a, b = operands(np, m, n, k, a_t, b_t)
        out = np.empty((m, n), dtype=np.float32)
        flops = 2.0 * m * n * k
        times = [median_seconds(partial(np.matmul, a, b, out=out), args.reps)]
        if torch is not None:
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            tout = torch.empty((m, n), dtype=torch.float32)
            with torch.no_grad():
                times.append(median_seconds(partial(torch.matmul, ta, tb, out=tout), args.reps))
        gflops = [flops / wall / 1e9 for wall, _ in times]
        if one:
            gflops += [flops / cpu / 1e9 for _, cpu in times]
        row = f"{name:<14} {m:>5} {n:>5} {k:>5}" + "".join(f" {g:>9.1f}" for g in gflops)
        print(row, flush=True)


if __name__ == "__main__":
    main()
