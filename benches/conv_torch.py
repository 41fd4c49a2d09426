"""Times conv2d and max_pool2d on the conv benchmark shapes with PyTorch (CPU) and a NumPy
im2col baseline, so the numbers can be set beside `cargo bench -p neurona-core --bench conv`.

Usage: python3 benches/conv_torch.py [--threads N] [--repeat R]

Each figure is the median of R timed calls after warm-up. PyTorch runs with N intra-op threads
(default 2, the machine's cores); the NumPy baseline is im2col (a strided view copied into a
column matrix) followed by one batched matmul, and col2im as KH*KW shifted slice additions,
which is what a straightforward vectorised NumPy implementation of the course's formulas does.
"""

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

# (name, batch, c_in, h, w, c_out, k, pad)
SHAPES = [
    ("mnist_1x28x28_to_32", 64, 1, 28, 28, 32, 3, 1),
    ("mid_32x14x14_to_64", 64, 32, 14, 14, 64, 3, 1),
    ("wide_64x56x56_to_64", 32, 64, 56, 56, 64, 3, 1),
]


def median_ms(fn, repeat, min_time=0.3):
    """Median wall time of `repeat` calls, and the median process CPU time (all threads)."""
    fn()
    # Warm up for a little while so caches, thread pools and allocators settle.
    t_end = time.perf_counter() + min_time
    while time.perf_counter() < t_end:
        fn()
    walls, cpus = [], []
    for _ in range(repeat):
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        walls.append((time.perf_counter() - t0) * 1e3)
        cpus.append((time.process_time() - c0) * 1e3)
    return statistics.median(walls), statistics.median(cpus)


def np_im2col(x, k, pad):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = h + 2 * pad - k + 1, w + 2 * pad - k + 1
    s = xp.strides
    view = np.lib.stride_tricks.as_strided(
        xp, shape=(n, c, k, k, oh, ow), strides=(s[0], s[1], s[2], s[3], s[2], s[3])
    )
    return np.ascontiguousarray(view).reshape(n, c * k * k, oh * ow), oh, ow


def np_conv_fwd(x, wt, b, k, pad):
    cols, oh, ow = np_im2col(x, k, pad)
    wm = wt.reshape(wt.shape[0], -1)
    out = np.matmul(wm, cols) + b[None, :, None]
    return out.reshape(x.shape[0], wt.shape[0], oh, ow), cols


def np_conv_fwd_bwd(x, wt, b, k, pad):
    n, c, h, w = x.shape
    out, cols = np_conv_fwd(x, wt, b, k, pad)
    g = np.ones_like(out).reshape(n, wt.shape[0], -1)
    wm = wt.reshape(wt.shape[0], -1)
    gb = g.sum(axis=(0, 2))
    gw = np.einsum("nop,nkp->ok", g, cols, optimize=True).reshape(wt.shape)
    gcols = np.matmul(wm.T, g)  # n, c*k*k, oh*ow
    oh, ow = out.shape[2], out.shape[3]
    gx = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=x.dtype)
    gcols = gcols.reshape(n, c, k, k, oh, ow)
    for i in range(k):
        for j in range(k):
            gx[:, :, i : i + oh, j : j + ow] += gcols[:, :, i, j]
    return out, gx[:, :, pad : pad + h, pad : pad + w], gw, gb


def np_maxpool2(x):
    n, c, h, w = x.shape
    return x[:, :, : h // 2 * 2, : w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def make_rows(shape, rng):
    """The timed callables of one shape: (name, op, torch fn, numpy fn or None)."""
    name, n, c, h, w, co, k, pad = shape
    rows = []
    x = rng.standard_normal((n, c, h, w), dtype=np.float32)
    wt = rng.standard_normal((co, c, k, k), dtype=np.float32) * 0.1
    b = rng.standard_normal(co, dtype=np.float32)
    tx = torch.from_numpy(x)
    tw = torch.from_numpy(wt)
    tb = torch.from_numpy(b)
    txg = tx.clone().requires_grad_(True)
    twg = tw.clone().requires_grad_(True)
    tbg = tb.clone().requires_grad_(True)

    def t_fwd():
        with torch.no_grad():
            F.conv2d(tx, tw, tb, padding=pad)

    def t_fwd_bwd():
        txg.grad = twg.grad = tbg.grad = None
        out = F.conv2d(txg, twg, tbg, padding=pad)
        out.backward(torch.ones_like(out))

    out_np = np_conv_fwd(x, wt, b, k, pad)[0]
    tout = torch.from_numpy(out_np)
    tout_g = tout.clone().requires_grad_(True)

    def t_pool():
        with torch.no_grad():
            F.max_pool2d(tout, 2)

    def t_pool_fb():
        tout_g.grad = None
        p = F.max_pool2d(tout_g, 2)
        p.backward(torch.ones_like(p))

    rows.append((name, "conv fwd", t_fwd, lambda: np_conv_fwd(x, wt, b, k, pad)))
    rows.append((name, "conv fwd+bwd", t_fwd_bwd, lambda: np_conv_fwd_bwd(x, wt, b, k, pad)))
    rows.append((name, "maxpool2 fwd", t_pool, lambda: np_maxpool2(out_np)))
    rows.append((name, "maxpool2 f+b", t_pool_fb, None))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    print(f"torch {torch.__version__}, numpy {np.__version__}, threads {args.threads}")
    rows = []
    for shape in SHAPES:
        rows.extend(make_rows(shape, rng))
    # PyTorch (OpenMP) and NumPy (OpenBLAS) keep their own spinning thread pools; timing them
    # interleaved makes each fight the other's idle spinners, so run all of one, then the other.
    torch_ms = [median_ms(tf, args.repeat) for _, _, tf, _ in rows]
    nan = (float("nan"), float("nan"))
    numpy_ms = [
        median_ms(nf, max(5, args.repeat // 3)) if nf is not None else nan for _, _, _, nf in rows
    ]
    print(
        "medians in ms: wall, and process CPU time summed over threads (robust to a busy machine)"
    )
    head = f"{'shape':<22} {'op':<14} {'torch':>9} {'torch cpu':>10} {'numpy':>9} {'numpy cpu':>10}"
    print(head)
    for (name, op, _, _), (tt, tc), (nt, nc) in zip(rows, torch_ms, numpy_ms):
        print(f"{name:<22} {op:<14} {tt:>9.3f} {tc:>10.3f} {nt:>9.3f} {nc:>10.3f}")


if __name__ == "__main__":
    main()
