"""Recurrent layers, neurona vs PyTorch (CPU), forward + backward, in one process.

The headline row is the issue's: an LSTM with input size 32, hidden size 128, 50 time steps,
batch 64, time-major, loss = output.sum(), timed from the input to the end of backward().
Both libraries get the same weights (neurona loads PyTorch's state_dict) and the same
threads. Blocks of runs alternate between the libraries so machine noise hits both alike (see
`bench` for why blocks, not single runs); the table shows medians of wall time and of process
CPU time, and the wall-time ratio (> 1: neurona is faster). On a busy machine, CPU time with --threads 1 is the steadiest comparison (with more
threads it also counts time spent spinning at barriers).

    python benches/rnn_bench.py [--repeat 21] [--threads 2] [--all]

--all adds GRU and Elman RNN rows, a 2-layer bidirectional LSTM and forward-only rows.
Nothing here asserts: benchmarks measure, tests check."""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import time

import neurona
import numpy as np
from neurona import nn


def case(kind, input_size, hidden, steps, batch, layers=1, bidirectional=False, backward=True):
    return {"kind": kind, "input_size": input_size, "hidden": hidden, "steps": steps, "batch": batch,
            "layers": layers, "bidirectional": bidirectional, "backward": backward}


HEADLINE = case("LSTM", 32, 128, 50, 64)
EXTRA = [
    case("LSTM", 32, 128, 50, 64, backward=False),
    case("GRU", 32, 128, 50, 64),
    case("RNN", 32, 128, 50, 64),
    case("LSTM", 32, 128, 50, 64, layers=2, bidirectional=True),
    case("LSTM", 64, 256, 100, 32),
]


def build(c, torch):
    """The two models with the same weights, and a runner for each."""
    kw = {"num_layers": c["layers"], "bidirectional": c["bidirectional"]}
    tm = getattr(torch.nn, c["kind"])(c["input_size"], c["hidden"], **kw)
    nm = getattr(nn, c["kind"])(c["input_size"], c["hidden"], **kw)
    nm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((c["steps"], c["batch"], c["input_size"])).astype(np.float32)
    xt, xn = torch.from_numpy(x), neurona.tensor(x)

    def run_torch():
        if c["backward"]:
            tm(xt)[0].sum().backward()
        else:
            with torch.no_grad():
                tm(xt)

    def run_neurona():
        if c["backward"]:
            nm(xn)[0].sum().backward()
        else:
            with neurona.no_grad():
                nm(xn)

    return run_neurona, run_torch


def timed(fn) -> tuple:
    """(wall seconds, process CPU seconds) of one call."""
    t, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t, time.process_time() - c


# Runs per block; the first of each block is not timed.
BLOCK = 4


def bench(c, torch, repeat):
    run_n, run_t = build(c, torch)
    for _ in range(3):
        run_n()
        run_t()
    tn, tt = [], []
    # Blocks of runs, alternating between the libraries, so machine noise falls on both. Not
    # run by run: after a run each library's idle worker threads spin for a while (PyTorch's
    # OpenMP pool, rayon's), and with as many threads as cores that spinning took a core from
    # the other library's next run (neurona's CPU time with 2 threads rose from ~23 to ~31 ms).
    # The first run of a block, which would pay for it, is not timed.
    while len(tn) < repeat:
        for run, samples in ((run_n, tn), (run_t, tt)):
            run()
            samples.extend(timed(run) for _ in range(BLOCK - 1))

    def med(samples, k):
        return statistics.median(s[k] for s in samples)

    return med(tn, 0), med(tt, 0), med(tn, 1), med(tt, 1)


def label(c) -> str:
    s = f"{c['kind']} in={c['input_size']} hidden={c['hidden']} T={c['steps']} N={c['batch']}"
    if c["layers"] > 1 or c["bidirectional"]:
        s += f" layers={c['layers']}" + (" bidir" if c["bidirectional"] else "")
    return s + ("  fwd+bwd" if c["backward"] else "  fwd")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=21)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--all", action="store_true", help="also GRU, RNN, deeper and forward-only rows")
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        raise SystemExit("this benchmark compares with PyTorch: pip install torch") from None
    torch.set_num_threads(args.threads)
    neurona.set_num_threads(args.threads)
    torch.manual_seed(0)
    neurona.manual_seed(0)

    print(f"# {datetime.date.today()}  {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{args.threads} threads; neurona {neurona.__version__}, torch {torch.__version__}; "
          f"medians of {args.repeat}+ runs in alternating blocks of {BLOCK - 1}")
    print(f"| {'case':58s} | neurona ms | torch ms | speed-up | neurona CPU ms | torch CPU ms |")
    print(f"|{'-' * 60}|-----------:|---------:|---------:|---------------:|-------------:|")
    for c in [HEADLINE] + (EXTRA if args.all else []):
        tn, tt, cn, ct = bench(c, torch, args.repeat)
        print(f"| {label(c):58s} | {tn * 1e3:10.1f} | {tt * 1e3:8.1f} | {tt / tn:7.2f}x "
              f"| {cn * 1e3:14.1f} | {ct * 1e3:12.1f} |", flush=True)


if __name__ == "__main__":
    main()
