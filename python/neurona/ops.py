"""Tensor operations by name, as functions (``neurona.exp(x)``) and as methods (``x.exp()``):
elementwise math and activations, reductions, products, joining and gathering.
Each is one call into the Rust core, which also records its backward rule."""

from __future__ import annotations

from neurona import _core
from neurona.tensor import Tensor, ValuesIndices, _axes, _unwrap, _wrap


def _as_tensor(x) -> Tensor:
    if isinstance(x, Tensor):
        return x
    from neurona.creation import tensor

    return tensor(x)


# ----- elementwise -----------------------------------------------------------------------
def add(a, b, alpha=1):
    return _as_tensor(a)._bin(b if alpha == 1 else b * alpha, "add")


def sub(a, b, alpha=1):
    return _as_tensor(a)._bin(b if alpha == 1 else b * alpha, "sub")


def mul(a, b):
    return _as_tensor(a)._bin(b, "mul")


def div(a, b):
    return _as_tensor(a)._bin(b, "div")


def pow(a, b):
    return _as_tensor(a)._bin(b, "pow")


def maximum(a, b):
    return _as_tensor(a)._bin(b, "maximum")


def minimum(a, b):
    return _as_tensor(a)._bin(b, "minimum")


def _unary(name):
    def f(x, *args):
        return _wrap(_as_tensor(x)._c.unary(name, *args))

    f.__name__ = name
    f.__doc__ = f"Elementwise {name}, differentiable."
    return f


neg = _unary("neg")
exp = _unary("exp")
log = _unary("log")
sqrt = _unary("sqrt")
abs = _unary("abs")
relu = _unary("relu")
sigmoid = _unary("sigmoid")
tanh = _unary("tanh")
softplus = _unary("softplus")
gelu = _unary("gelu")
sign = _unary("sign")


def leaky_relu(x, negative_slope=0.01):
    return _wrap(_as_tensor(x)._c.unary("leaky_relu", float(negative_slope)))


def clamp(x, min=None, max=None):
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = _as_tensor(x)
        if min is not None:
            out = maximum(out, min)
        if max is not None:
            out = minimum(out, max)
        return out
    return _wrap(
        _as_tensor(x)._c.unary("clamp", None if min is None else float(min), None if max is None else float(max))
    )


clip = clamp


def square(x):
    return _as_tensor(x)._bin(2.0, "pow")


def rsqrt(x):
    return 1.0 / sqrt(x)


def where(condition, x, y):
    """Elements of x where condition holds, else of y (all three broadcast)."""
    return _wrap(_core.where_(_as_tensor(condition)._c, _unwrap(x), _unwrap(y)))


def softmax(x, dim=-1):
    return _wrap(_as_tensor(x)._c.softmax(int(dim)))


def log_softmax(x, dim=-1):
    return _wrap(_as_tensor(x)._c.log_softmax(int(dim)))


def eq(a, b):
    return _as_tensor(a) == b


def ne(a, b):
    return _as_tensor(a) != b


def lt(a, b):
    return _as_tensor(a) < b


def le(a, b):
    return _as_tensor(a) <= b


def gt(a, b):
    return _as_tensor(a) > b


def ge(a, b):
    return _as_tensor(a) >= b


def allclose(a, b, rtol=1e-5, atol=1e-8) -> bool:
    import numpy as np

    return bool(np.allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol))


# ----- reductions ------------------------------------------------------------------------
def sum(x, dim=None, keepdim=False):
    return _wrap(_as_tensor(x)._c.reduce("sum", _axes(dim), bool(keepdim)))


def mean(x, dim=None, keepdim=False):
    return _wrap(_as_tensor(x)._c.reduce("mean", _axes(dim), bool(keepdim)))


def var(x, dim=None, unbiased=True, keepdim=False, correction=None):
    c = (1 if unbiased else 0) if correction is None else int(correction)
    return _wrap(_as_tensor(x)._c.var(_axes(dim), c, bool(keepdim)))


def std(x, dim=None, unbiased=True, keepdim=False, correction=None):
    return sqrt(var(x, dim, unbiased, keepdim, correction))


def _extremum(x, dim, keepdim, largest):
    x = _as_tensor(x)
    if isinstance(dim, Tensor):
        return maximum(x, dim) if largest else minimum(x, dim)
    name = "max" if largest else "min"
    if dim is None:
        return _wrap(x._c.reduce(name, [], False))
    values = _wrap(x._c.reduce(name, [int(dim)], bool(keepdim)))
    indices = _wrap(x._c.argext(int(dim), bool(keepdim), largest))
    return ValuesIndices(values, indices)


def max(x, dim=None, keepdim=False):
    """The largest element; with ``dim``, (values, indices) along it; with a tensor, maximum."""
    return _extremum(x, dim, keepdim, True)


def min(x, dim=None, keepdim=False):
    return _extremum(x, dim, keepdim, False)


def amax(x, dim=None, keepdim=False):
    return _wrap(_as_tensor(x)._c.reduce("max", _axes(dim), bool(keepdim)))


def amin(x, dim=None, keepdim=False):
    return _wrap(_as_tensor(x)._c.reduce("min", _axes(dim), bool(keepdim)))


def argmax(x, dim=None, keepdim=False):
    return _wrap(_as_tensor(x)._c.argext(None if dim is None else int(dim), bool(keepdim), True))


def argmin(x, dim=None, keepdim=False):
    return _wrap(_as_tensor(x)._c.argext(None if dim is None else int(dim), bool(keepdim), False))


# ----- products --------------------------------------------------------------------------
def matmul(a, b):
    return _wrap(_as_tensor(a)._c.matmul(_as_tensor(b)._c))


def mm(a, b):
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"mm: expected 2-D tensors, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def bmm(a, b):
    if a.ndim != 3 or b.ndim != 3:
        raise ValueError(f"bmm: expected 3-D tensors, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def dot(a, b):
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"dot: expected 1-D tensors, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def linear(x, weight, bias=None, relu=False):
    """x @ weight.T + bias (then ReLU when ``relu``), fused in one GEMM."""
    return _wrap(x._c.linear(weight._c, None if bias is None else bias._c, bool(relu)))


# ----- joining and gathering -------------------------------------------------------------
def cat(tensors, dim=0):
    return _wrap(_core.cat([_as_tensor(t)._c for t in tensors], int(dim)))


concat = cat


def stack(tensors, dim=0):
    return _wrap(_core.stack([_as_tensor(t)._c for t in tensors], int(dim)))


def gather(x, dim, index):
    return _wrap(_as_tensor(x)._c.gather(int(dim), index._c))


def index_select(x, dim, index):
    return _wrap(_as_tensor(x)._c.index_select(int(dim), index._c))


def nonzero(x):
    return _wrap(_as_tensor(x)._c.nonzero())


def dropout(x, p=0.5, training=True):
    """Inverted dropout; the identity when not training."""
    if not training or p == 0:
        return x
    return _wrap(x._c.dropout(float(p)))


def flatten(x, start_dim=0, end_dim=-1):
    return x.flatten(start_dim, end_dim)


def reshape(x, shape):
    return x.reshape(shape)


def transpose(x, dim0, dim1):
    return x.transpose(dim0, dim1)


def permute(x, dims):
    return x.permute(*dims)


def squeeze(x, dim=None):
    return x.squeeze(dim)


def unsqueeze(x, dim):
    return x.unsqueeze(dim)


def numel(x) -> int:
    return x.numel()


_METHODS = [
    "add", "sub", "mul", "div", "pow", "maximum", "minimum", "neg", "exp", "log", "sqrt", "abs",
    "relu", "sigmoid", "tanh", "softplus", "gelu", "sign", "leaky_relu", "clamp", "clip",
    "square", "rsqrt", "softmax", "log_softmax", "eq", "ne", "lt", "le", "gt", "ge", "sum",
    "mean", "var", "std", "max", "min", "amax", "amin", "argmax", "argmin", "matmul", "mm",
    "bmm", "dot", "gather", "index_select", "nonzero",
]
for _name in _METHODS:
    setattr(Tensor, _name, globals()[_name])
