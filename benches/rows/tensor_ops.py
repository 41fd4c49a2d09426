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
]
