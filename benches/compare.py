"""Side-by-side benchmarks: the same operation in neurona, NumPy and (when installed) PyTorch,
timed in one process and printed as a table of medians with ratios.

    python benches/compare.py                 # every row
    python benches/compare.py --only matmul   # rows whose group or name contains "matmul"
    python benches/compare.py --repeat 15 --threads 2
    python benches/compare.py --device cuda   # only the GPU rows (benches/rows/cuda_rows.py); needs a GPU

Rows live in benches/rows/*.py: each module defines ROWS, a list of Row. Times are medians
over --repeat runs (after warm-up); ratios > 1 mean neurona is faster. Nothing here asserts:
benchmarks measure, tests check."""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))


@dataclass
class Row:
    """One benchmark: `setup()` returns a dict of callables keyed by library name
    ("neurona", "numpy", "torch"); each runs the operation once. `flops` (optional) turns
    times into GFLOP/s."""

    group: str
    name: str
    setup: Callable[[], dict]
    flops: Optional[float] = None  # noqa: UP045 - evaluated on Python 3.9
    extra: dict = field(default_factory=dict)


def try_torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


# Seconds to idle before timing a library. After its last call a library's idle workers spin
# for a while before they sleep (NumPy's OpenBLAS ~110 ms here, PyTorch's OpenMP ~10 ms); with
# as many threads as cores, that spinning took a core from whichever library ran next (b64
# 32x14x14 conv fwd+bwd at 2 threads: 7.3 ms after the NumPy and PyTorch rows, 5.9 ms alone).
SETTLE = 0.2


def median_time(fn: Callable[[], object], repeat: int, min_time: float = 0.02) -> float:
    """Median seconds per call, each sample looping enough calls to last min_time."""
    time.sleep(SETTLE)
    fn()  # warm-up (caches, lazy init, thread pools)
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    inner = max(1, int(min_time / once))
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - start) / inner)
    return statistics.median(samples)


def load_rows() -> list:
    import rows

    out = []
    for mod in pkgutil.iter_modules(rows.__path__):
        m = importlib.import_module(f"rows.{mod.name}")
        out.extend(getattr(m, "ROWS", []))
    return out


def fmt_time(s: Optional[float]) -> str:  # noqa: UP045
    if s is None:
        return "-"
    if s >= 1:
        return f"{s:.3f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3f} ms"
    return f"{s * 1e6:.1f} us"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="", help="run rows whose group or name contains this text")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--threads", type=int, default=0, help="threads for every library (0 = default)")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--device", choices=("cpu", "cuda", "all"), default="all",
                    help="cpu: CPU rows only; cuda: the GPU rows only (neurona and PyTorch on the GPU; "
                         "an error without a GPU); all (default): every row, GPU rows only where a GPU is")
    args = ap.parse_args(argv)
    if args.threads:
        # NumPy's BLAS reads these when it loads (importing neurona loads NumPy), so without
        # them its column would run on every core while the others run on --threads.
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)

    import neurona
    import numpy as np

    if args.device == "cuda" and not neurona.cuda.is_available():
        ap.error("--device cuda: neurona sees no CUDA GPU (neurona.cuda.is_available() is False; "
                 "build with `maturin develop --release --features cuda` on a machine with a GPU)")

    torch = None if args.no_torch else try_torch()
    if args.threads:
        neurona.set_num_threads(args.threads)
        if torch is not None:
            torch.set_num_threads(args.threads)
    print(f"# {time.strftime('%Y-%m-%d')} on {platform.machine()} {platform.processor() or ''}".rstrip())
    print(
        f"# neurona {neurona.__version__} ({neurona.isa()}, {neurona.get_num_threads()} threads), "
        f"numpy {np.__version__}, torch {torch.__version__ if torch else 'not installed'}; "
        f"medians of {args.repeat}"
    )
    header = f"{'group':<10} {'benchmark':<38} {'neurona':>11} {'numpy':>11} {'torch':>11} {'np/nr':>7} {'pt/nr':>7}"
    print(header)
    print("-" * len(header))
    for row in load_rows():
        if args.only and args.only not in row.group and args.only not in row.name:
            continue
        if (args.device == "cuda") != (row.group == "cuda") and args.device != "all":
            continue
        fns = row.setup()
        times = {}
        for lib in ("neurona", "numpy", "torch"):
            fn = fns.get(lib)
            if fn is None or (lib == "torch" and torch is None):
                times[lib] = None
                continue
            times[lib] = median_time(fn, args.repeat)
        nr = times["neurona"]

        def ratio(other, nr=nr):
            return f"{other / nr:7.2f}" if other and nr else f"{'-':>7}"

        line = (
            f"{row.group:<10} {row.name:<38} {fmt_time(nr):>11} {fmt_time(times['numpy']):>11} "
            f"{fmt_time(times['torch']):>11} {ratio(times['numpy'])} {ratio(times['torch'])}"
        )
        if row.flops and nr:
            gf = lambda t, f=row.flops: f"{f / t / 1e9:.0f}" if t else "-"
            line += f"   GFLOP/s {gf(nr)} / {gf(times['numpy'])} / {gf(times['torch'])}"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
