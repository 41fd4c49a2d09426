"""Rows for the foundation's elementwise ops, reductions and softmax."""

import numpy as np
from compare import Row, try_torch


def _inputs(*shape):
    rng = np.random.default_rng(0)
    return rng.standard_normal(shape).astype(np.float32), rng.standard_normal(shape).astype(np.float32)


def _binary(shape):
    def setup():
        import neurona

        a, b = _inputs(*shape)
        ta, tb = neurona.tensor(a), neurona.tensor(b)
        fns = {"neurona": lambda: ta + tb, "numpy": lambda: a + b}
        torch = try_torch()
        if torch:
            pa, pb = torch.from_numpy(a), torch.from_numpy(b)
            fns["torch"] = lambda: pa + pb
        return fns

    return setup


def _unary(shape, name):
    def setup():
        import neurona

        a, _ = _inputs(*shape)
        ta = neurona.tensor(a)
        fns = {"neurona": lambda: getattr(neurona, name)(ta), "numpy": lambda: getattr(np, name)(a)}
        torch = try_torch()
        if torch:
            pa = torch.from_numpy(a)
            fns["torch"] = lambda: getattr(torch, name)(pa)
        return fns

    return setup


def _sum_axis0(shape):
    def setup():
        import neurona

        a, _ = _inputs(*shape)
        ta = neurona.tensor(a)
        fns = {"neurona": lambda: ta.sum(0), "numpy": lambda: a.sum(0)}
        torch = try_torch()
        if torch:
            pa = torch.from_numpy(a)
            fns["torch"] = lambda: pa.sum(0)
        return fns

    return setup


def _fns(shape, nfn, npfn, tfn, n_inputs=1, b_shape=None):
    """A row from three lambdas over the same random inputs (neurona, NumPy, PyTorch)."""

    def setup():
        import neurona

        rng = np.random.default_rng(0)
        a = rng.standard_normal(shape).astype(np.float32)
        b = rng.standard_normal(b_shape or shape).astype(np.float32)
        ta, tb = neurona.tensor(a), neurona.tensor(b)
        fns = {"neurona": lambda: nfn(neurona, ta, tb), "numpy": lambda: npfn(a, b)}
        torch = try_torch()
        if torch:
            pa, pb = torch.from_numpy(a), torch.from_numpy(b)
            fns["torch"] = lambda: tfn(torch, pa, pb)
        return fns

    return setup


def _relu_backward(shape):
    def setup():
        import neurona

        rng = np.random.default_rng(0)
        a = rng.standard_normal(shape).astype(np.float32)
        g = np.ones(shape, np.float32)
        ta = neurona.tensor(a, requires_grad=True)
        tg = neurona.tensor(g)

        def nr():
            neurona.relu(ta).backward(tg)
            ta.grad = None

        fns = {"neurona": nr, "numpy": lambda: g * (a > 0)}
        torch = try_torch()
        if torch:
            pa = torch.from_numpy(a).requires_grad_(True)
            pg = torch.from_numpy(g)

            def tr():
                torch.relu(pa).backward(pg)
                pa.grad = None

            fns["torch"] = tr
        return fns

    return setup


def _log_softmax(shape):
    def setup():
        import neurona

        a, _ = _inputs(*shape)
        ta = neurona.tensor(a)

        def np_lsm():
            m = a.max(1, keepdims=True)
            return a - m - np.log(np.exp(a - m).sum(1, keepdims=True))

        fns = {"neurona": lambda: neurona.log_softmax(ta, 1), "numpy": np_lsm}
        torch = try_torch()
        if torch:
            pa = torch.from_numpy(a)
            fns["torch"] = lambda: torch.log_softmax(pa, 1)
        return fns

    return setup


ROWS = [
    Row("tensor", "add 1000x1000", _binary((1000, 1000))),
    Row("tensor", "add 128x256", _binary((128, 256))),
    Row("tensor", "exp 1000x1000", _unary((1000, 1000), "exp")),
    Row("tensor", "tanh 128x256", _unary((128, 256), "tanh")),
    Row("tensor", "sum(axis=0) 1000x1000", _sum_axis0((1000, 1000))),
    Row("tensor", "log_softmax 128x1000", _log_softmax((128, 1000))),
    Row("tensor", "add 128x10", _binary((128, 10))),
    Row("tensor", "exp 128x256", _unary((128, 256), "exp")),
    Row("tensor", "sigmoid 128x256", _fns((128, 256), lambda n, a, b: n.sigmoid(a), lambda a, b: 1 / (1 + np.exp(-a)), lambda t, a, b: t.sigmoid(a))),
    Row("tensor", "relu 128x32x28x28", _fns((128, 32, 28, 28), lambda n, a, b: n.relu(a), lambda a, b: np.maximum(a, 0), lambda t, a, b: t.relu(a))),
    Row("tensor", "relu fwd+bwd 128x32x28x28", _relu_backward((128, 32, 28, 28))),
    Row("tensor", "relu 128x256", _fns((128, 256), lambda n, a, b: n.relu(a), lambda a, b: np.maximum(a, 0), lambda t, a, b: t.relu(a))),
    Row("tensor", "add bias 128x256 + 256", _fns((128, 256), lambda n, a, b: a + b, lambda a, b: a + b, lambda t, a, b: a + b, b_shape=(256,))),
    Row("tensor", "add bias 64x32x28x28 + 32x1x1", _fns((64, 32, 28, 28), lambda n, a, b: a + b, lambda a, b: a + b, lambda t, a, b: a + b, b_shape=(32, 1, 1))),
    Row("tensor", "mul 64x32x28x28", _fns((64, 32, 28, 28), lambda n, a, b: a * b, lambda a, b: a * b, lambda t, a, b: a * b)),
    Row("tensor", "sum 64x32x28x28", _fns((64, 32, 28, 28), lambda n, a, b: a.sum(), lambda a, b: a.sum(), lambda t, a, b: a.sum())),
    Row("tensor", "sum(0,2,3) 64x32x28x28", _fns((64, 32, 28, 28), lambda n, a, b: a.sum((0, 2, 3)), lambda a, b: a.sum((0, 2, 3)), lambda t, a, b: a.sum((0, 2, 3)))),
    Row("tensor", "sum(axis=1) 1000x1000", _fns((1000, 1000), lambda n, a, b: a.sum(1), lambda a, b: a.sum(1), lambda t, a, b: a.sum(1))),
    Row("tensor", "sum 128x10", _fns((128, 10), lambda n, a, b: a.sum(), lambda a, b: a.sum(), lambda t, a, b: a.sum())),
]
