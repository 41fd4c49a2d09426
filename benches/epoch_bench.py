"""Time one training epoch on full Fashion-MNIST (60 000 images, batch 128, Adam lr 1e-3) for
the CLI's MLP (784-256-128-10) and CNN (conv3x3(32)-pool-conv3x3(64)-pool-fc128-fc10): neurona
against PyTorch on the CPU, and a hand-written NumPy loop for the MLP.

Each framework runs the same loop (shuffle with a permutation, slice a batch, zero_grad,
forward, cross-entropy, backward, Adam step) on the same model with the same initial weights
(neurona's, copied into PyTorch), after a short warm-up; the table shows the median of
`--epochs` timed epochs and how many times faster neurona is. Without PyTorch installed only
neurona and NumPy run.

    python benches/epoch_bench.py [--epochs 3] [--models mlp,cnn] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

try:
    import torch
except ImportError:  # the benchmark still runs, without the PyTorch column
    torch = None

import neurona
from neurona import models, nn, optim

BATCH = 128
LR = 1e-3
WARMUP_BATCHES = 20


def load():
    train = neurona.datasets.fashion_mnist(split="train")
    x = np.ascontiguousarray(np.asarray(train.images), dtype=np.float32)
    y = np.asarray(train.labels).astype(np.int64)
    return x, y, train.source


def batches(n, rng, limit=None):
    perm = rng.permutation(n)
    stop = n if limit is None else min(n, limit * BATCH)
    for i in range(0, stop, BATCH):
        yield perm[i:i + BATCH]


# ----- neurona ------------------------------------------------------------------------------
def neurona_epoch(model, opt, loss_fn, x, y, rng, limit=None):
    model.train()
    for idx in batches(len(y), rng, limit):
        xb, yb = neurona.from_numpy(x[idx]), neurona.from_numpy(y[idx])
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
    return loss.item()


def run_neurona(kind, x, y, epochs):
    neurona.manual_seed(0)
    model = models.build(kind)
    opt = optim.Adam(model.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    neurona_epoch(model, opt, loss_fn, x, y, rng, WARMUP_BATCHES)
    times = []
    for _ in range(epochs):
        t = time.perf_counter()
        loss = neurona_epoch(model, opt, loss_fn, x, y, rng)
        times.append(time.perf_counter() - t)
    return times, loss


# ----- PyTorch ------------------------------------------------------------------------------
def torch_model(kind):
    """The same architecture as neurona.models, with neurona's initial weights copied in."""
    tn = torch.nn
    if kind == "mlp":
        m = tn.Sequential(tn.Flatten(), tn.Linear(784, 256), tn.ReLU(), tn.Linear(256, 128),
                          tn.ReLU(), tn.Linear(128, 10))
    else:
        m = tn.Sequential(tn.Conv2d(1, 32, 3, padding=1), tn.ReLU(), tn.MaxPool2d(2),
                          tn.Conv2d(32, 64, 3, padding=1), tn.ReLU(), tn.MaxPool2d(2),
                          tn.Flatten(), tn.Linear(64 * 7 * 7, 128), tn.ReLU(),
                          tn.Linear(128, 10))
    neurona.manual_seed(0)
    ours = models.build(kind).state_dict()
    m.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy()) for k, v in ours.items()})
    return m


def run_torch(kind, x, y, epochs):
    model = torch_model(kind)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    rng = np.random.default_rng(0)

    def epoch(limit=None):
        model.train()
        for idx in batches(len(y), rng, limit):
            it = torch.from_numpy(idx)
            opt.zero_grad()
            loss = loss_fn(model(xt[it]), yt[it])
            loss.backward()
            opt.step()
        return loss.item()

    epoch(WARMUP_BATCHES)
    times = []
    for _ in range(epochs):
        t = time.perf_counter()
        loss = epoch()
        times.append(time.perf_counter() - t)
    return times, loss


# ----- NumPy (MLP only) ---------------------------------------------------------------------
def run_numpy_mlp(x, y, epochs):
    neurona.manual_seed(0)
    sd = models.build("mlp").state_dict()
    params = [sd[k].detach().numpy().copy() for k in
              ("1.weight", "1.bias", "3.weight", "3.bias", "5.weight", "5.bias")]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    b1, b2, eps = 0.9, 0.999, 1e-8
    step = [0]
    xf = x.reshape(len(x), -1)
    rng = np.random.default_rng(0)

    def train_step(xb, yb):
        w1, c1, w2, c2, w3, c3 = params
        h1 = np.maximum(xb @ w1.T + c1, 0)
        h2 = np.maximum(h1 @ w2.T + c2, 0)
        z = h2 @ w3.T + c3
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        n = len(yb)
        loss = -np.log(p[np.arange(n), yb]).mean()
        dz = p
        dz[np.arange(n), yb] -= 1
        dz /= n
        g3, gc3 = dz.T @ h2, dz.sum(0)
        dh2 = (dz @ w3) * (h2 > 0)
        g2, gc2 = dh2.T @ h1, dh2.sum(0)
        dh1 = (dh2 @ w2) * (h1 > 0)
        g1, gc1 = dh1.T @ xb, dh1.sum(0)
        step[0] += 1
        t = step[0]
        for i, g in enumerate((g1, gc1, g2, gc2, g3, gc3)):
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            mhat = m[i] / (1 - b1 ** t)
            vhat = v[i] / (1 - b2 ** t)
            params[i] -= (LR * mhat / (np.sqrt(vhat) + eps)).astype(np.float32)
        return float(loss)

    def epoch(limit=None):
        for idx in batches(len(y), rng, limit):
            loss = train_step(xf[idx], y[idx])
        return loss

    epoch(WARMUP_BATCHES)
    times = []
    for _ in range(epochs):
        t = time.perf_counter()
        loss = epoch()
        times.append(time.perf_counter() - t)
    return times, loss


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=3, help="timed epochs per framework")
    ap.add_argument("--models", default="mlp,cnn")
    ap.add_argument("--threads", type=int, default=None,
                    help="threads for neurona and PyTorch (default: each library's own)")
    args = ap.parse_args(argv)
    if args.threads:
        neurona.set_num_threads(args.threads)
        if torch is not None:
            torch.set_num_threads(args.threads)
    x, y, source = load()
    print(f"Fashion-MNIST train: {len(y)} images ({source}); batch {BATCH}, Adam lr {LR}; "
          f"median of {args.epochs} epochs")
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"neurona {neurona.__version__} ({neurona.isa()}, {neurona.get_num_threads()} threads)"
          + (f", PyTorch {torch.__version__} ({torch.get_num_threads()} threads)"
             if torch is not None else ", PyTorch not installed"))
    rows = []
    for kind in args.models.split(","):
        results = {"neurona": run_neurona(kind, x, y, args.epochs)}
        if torch is not None:
            results["pytorch"] = run_torch(kind, x, y, args.epochs)
        if kind == "mlp":
            results["numpy"] = run_numpy_mlp(x, y, args.epochs)
        for name, (times, loss) in results.items():
            print(f"  {kind} {name:8s} epochs " + " ".join(f"{t:.2f}" for t in times)
                  + f" s  (last loss {loss:.3f})", file=sys.stderr)
        rows.append((kind, {k: statistics.median(t) for k, (t, _) in results.items()}))

    names = ["neurona", *(["pytorch"] if torch is not None else []), "numpy"]
    head = f"{'model':6s}" + "".join(f"{n + ' (s)':>14s}" for n in names)
    head += "".join(f"{n + '/neurona':>18s}" for n in names[1:])
    print(head)
    for kind, med in rows:
        line = f"{kind:6s}" + "".join(f"{med[n]:14.2f}" if n in med else f"{'-':>14s}"
                                      for n in names)
        line += "".join(f"{med[n] / med['neurona']:17.2f}x" if n in med else f"{'-':>18s}"
                        for n in names[1:])
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
