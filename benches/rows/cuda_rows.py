"""Rows for the CUDA backend: neurona on the GPU against NumPy on the CPU and, when PyTorch sees a
GPU, PyTorch on the same GPU. Every GPU timing includes a synchronize, so it measures the work
and not just the launch. No rows when neurona.cuda.is_available() is False."""

import numpy as np
from compare import Row, try_torch


def _gpu_torch():
    torch = try_torch()
    return torch if torch is not None and torch.cuda.is_available() else None


def _synced(neurona, fn):
    def run():
        fn()
        neurona.cuda.synchronize()

    return run


def _torch_synced(torch, fn):
    def run():
        fn()
        torch.cuda.synchronize()

    return run


def _inputs(*shapes):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def _op(np_fn, nr_fn, *shapes):
    """A row whose operation is written once per library over inputs of `shapes`."""

    def setup():
        import neurona

        arrays = _inputs(*shapes)
        gpu = [neurona.tensor(a).cuda() for a in arrays]
        fns = {
            "neurona": _synced(neurona, lambda: nr_fn(neurona, *gpu)),
            "numpy": lambda: np_fn(np, *arrays),
        }
        torch = _gpu_torch()
        if torch:
            tg = [torch.from_numpy(a).cuda() for a in arrays]
            fns["torch"] = _torch_synced(torch, lambda: nr_fn(torch, *tg))
        return fns

    return setup


def _matmul(n):
    return _op(lambda np_, a, b: a @ b, lambda lib, a, b: a @ b, (n, n), (n, n))


def _log_softmax(shape):
    def np_lsm(np_, a):
        m = a.max(1, keepdims=True)
        return a - m - np_.log(np_.exp(a - m).sum(1, keepdims=True))

    return _op(np_lsm, lambda lib, a: lib.log_softmax(a, 1), shape)


def _to_device(shape):
    def setup():
        import neurona

        (a,) = _inputs(shape)
        t = neurona.tensor(a)
        fns = {"neurona": _synced(neurona, lambda: t.cuda()), "numpy": lambda: a.copy()}
        torch = _gpu_torch()
        if torch:
            pt = torch.from_numpy(a)
            fns["torch"] = _torch_synced(torch, lambda: pt.cuda())
        return fns

    return setup


def _mlp_step(batch, d_in, hidden, d_out):
    """Forward, backward and an SGD update of a two-layer MLP (the training loop's inner step)."""

    def setup():
        import neurona

        x, w1, w2 = _inputs((batch, d_in), (hidden, d_in), (d_out, hidden))
        y = np.eye(d_out, dtype=np.float32)[np.arange(batch) % d_out]

        def make(lib, to, grad):
            xs, ys = to(x), to(y)
            ps = [grad(to(w1 * 0.05)), grad(to(w2 * 0.05))]

            def step():
                h = lib.relu(xs @ ps[0].T)
                loss = -(ys * lib.log_softmax(h @ ps[1].T, 1)).sum() / batch
                for p in ps:
                    p.grad = None
                loss.backward()
                with lib.no_grad():
                    for p in ps:
                        p -= 0.1 * p.grad

            return step

        fns = {
            "neurona": _synced(neurona, make(neurona, lambda a: neurona.tensor(a).cuda(),
                                             lambda t: t.requires_grad_(True))),
        }
        torch = _gpu_torch()
        if torch:
            fns["torch"] = _torch_synced(torch, make(torch, lambda a: torch.from_numpy(a).cuda(),
                                                     lambda t: t.requires_grad_(True)))
        return fns

    return setup


def _rows():
    try:
        import neurona
    except ImportError:
        return []
    if not neurona.cuda.is_available():
        return []
    return [
        Row("cuda", "matmul 1024x1024", _matmul(1024), flops=2 * 1024**3),
        Row("cuda", "matmul 4096x4096", _matmul(4096), flops=2 * 4096**3),
        Row("cuda", "bmm 64x(128x128)", _op(lambda np_, a, b: a @ b, lambda lib, a, b: a @ b,
                                           (64, 128, 128), (64, 128, 128)), flops=2 * 64 * 128**3),
        Row("cuda", "add 4096x4096", _op(lambda np_, a, b: a + b, lambda lib, a, b: a + b,
                                        (4096, 4096), (4096, 4096))),
        Row("cuda", "add row-broadcast 4096x4096", _op(lambda np_, a, b: a + b, lambda lib, a, b: a + b,
                                                      (4096, 4096), (4096,))),
        Row("cuda", "exp 4096x4096", _op(lambda np_, a: np_.exp(a), lambda lib, a: lib.exp(a), (4096, 4096))),
        Row("cuda", "sum(axis=0) 4096x4096", _op(lambda np_, a: a.sum(0), lambda lib, a: a.sum(0), (4096, 4096))),
        Row("cuda", "sum() 16M", _op(lambda np_, a: a.sum(), lambda lib, a: a.sum(), (1 << 24,))),
        Row("cuda", "log_softmax 4096x1000", _log_softmax((4096, 1000))),
        Row("cuda", "host->device 4096x4096", _to_device((4096, 4096))),
        Row("cuda", "MLP step 512x784-256-10", _mlp_step(512, 784, 256, 10)),
    ]


ROWS = _rows()
