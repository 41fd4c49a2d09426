"""``neurona.Tensor``: the user-facing tensor, a thin Python object around the Rust core's
handle (``_core.CoreTensor``). Arithmetic, reductions, views and autograd all run in Rust;
this class supplies PyTorch's names, Python operators, indexing and printing."""

from __future__ import annotations

import collections
import numbers

import numpy as np

from neurona import _core
from neurona._device import device as _device
from neurona._dtypes import as_dtype, bool_, float32, int64
from neurona._indexing import getitem, setitem

_DTYPES = {"float32": float32, "int64": int64, "bool": bool_}
_DTYPE_NAMES = {"float32", "int64", "bool", "float", "long", "float64", "int"}
_C = _core.CoreTensor

# What max(dim=...) and min(dim=...) return, as in PyTorch.
ValuesIndices = collections.namedtuple("ValuesIndices", ["values", "indices"])


def _wrap(c) -> Tensor:
    t = Tensor.__new__(Tensor)
    t._c = c
    return t


def _unwrap(x):
    """The core handle of a Tensor; numbers pass through (the core makes 0-d tensors)."""
    if isinstance(x, Tensor):
        return x._c
    if isinstance(x, (bool, int, float)):
        return x
    if isinstance(x, (numbers.Number, np.generic)):
        return x.item() if hasattr(x, "item") else float(x)
    if isinstance(x, (np.ndarray, list, tuple)):
        from neurona.creation import tensor

        return tensor(x)._c
    raise TypeError(f"expected a Tensor or a number, got {type(x).__name__}")


def _axes(dim) -> list:
    if dim is None:
        return []
    if isinstance(dim, (list, tuple)):
        return [int(d) for d in dim]
    return [int(dim)]


def _shape_args(shape) -> list:
    if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
        shape = shape[0]
    return [int(s) for s in shape]


class Tensor:
    """An n-dimensional array of float32, int64 or bool, with optional gradient tracking."""

    __slots__ = ("__weakref__", "_c")
    __array_priority__ = 1000  # so ndarray + Tensor defers to Tensor.__radd__

    def __init__(self, data=None, *, dtype=None, requires_grad=False):
        from neurona.creation import tensor

        self._c = tensor([] if data is None else data, dtype=dtype, requires_grad=requires_grad)._c

    # ----- metadata -------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self._c.shape

    def size(self, dim=None):
        s = self._c.shape
        return s if dim is None else s[dim]

    @property
    def ndim(self) -> int:
        return self._c.ndim

    def dim(self) -> int:
        return self._c.ndim

    def numel(self) -> int:
        return self._c.numel()

    @property
    def dtype(self):
        return _DTYPES[self._c.dtype]

    @property
    def device(self):
        return _device(self._c.device)

    @property
    def is_cuda(self) -> bool:
        return self._c.device.startswith("cuda")

    def is_contiguous(self) -> bool:
        return self._c.is_contiguous()

    def is_floating_point(self) -> bool:
        return self._c.dtype == "float32"

    def stride(self, dim=None):
        s = self._c.strides()
        return s if dim is None else s[dim]

    def data_ptr(self) -> int:
        return self._c.data_ptr()

    def __len__(self) -> int:
        if self._c.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._c.shape[0]

    # ----- autograd -------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._c.requires_grad

    @requires_grad.setter
    def requires_grad(self, on: bool) -> None:
        self._c.set_requires_grad(bool(on))

    def requires_grad_(self, on: bool = True) -> Tensor:
        self._c.set_requires_grad(bool(on))
        return self

    @property
    def grad(self):
        g = self._c.grad
        return None if g is None else _wrap(g)

    @grad.setter
    def grad(self, g) -> None:
        self._c.grad = None if g is None else g._c

    @property
    def grad_fn(self):
        return self._c.grad_fn

    @property
    def is_leaf(self) -> bool:
        return self._c.is_leaf

    def retain_grad(self) -> None:
        self._c.retain_grad()

    def backward(self, gradient=None, retain_graph=None) -> None:
        """Backpropagates from this tensor, accumulating into leaves' ``.grad``."""
        g = None if gradient is None else _unwrap(gradient if isinstance(gradient, Tensor) else Tensor(gradient))
        self._c.backward(g, bool(retain_graph))

    def detach(self) -> Tensor:
        return _wrap(self._c.detach())

    def detach_(self) -> Tensor:
        self._c = self._c.detach()
        return self

    @property
    def data(self) -> Tensor:
        return _wrap(self._c.detach())

    @data.setter
    def data(self, value) -> None:
        # Keeps requires_grad, as PyTorch does (model.to("cuda") swaps parameters' data).
        requires_grad = self._c.requires_grad and self._c.is_leaf
        self._c = value._c.detach()
        if requires_grad:
            self._c.set_requires_grad(True)

    # ----- conversion -----------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """A NumPy array sharing this tensor's memory (no copy)."""
        if self._c.requires_grad:
            raise RuntimeError(
                "Can't call numpy() on a Tensor that requires grad. Use tensor.detach().numpy() instead."
            )
        return self._c.numpy()

    def __array__(self, dtype=None, copy=None):
        a = self._c.detach().numpy()
        if dtype is not None:
            a = a.astype(dtype, copy=False)
        return a.copy() if copy else a

    def __dlpack__(self, stream=None, **kwargs):
        return self._c.detach().numpy().__dlpack__(**kwargs)

    def __dlpack_device__(self):
        if self.is_cuda:
            return (2, self.device.index or 0)
        return (1, 0)

    def item(self):
        return self._c.item()

    def tolist(self):
        return self._c.detach().to_device("cpu").numpy().tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._c.dtype != "int64" or self._c.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._c.numel() != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._c.numel()} elements is ambiguous")
        return bool(self.item())

    def to(self, *args, dtype=None, device=None) -> Tensor:
        """``t.to("cuda")``, ``t.to(neurona.int64)`` or both."""
        for a in args:
            if isinstance(a, _device) or isinstance(a, str) and a not in _DTYPE_NAMES:
                device = a
            else:
                dtype = a
        out = self
        if dtype is not None:
            out = _wrap(out._c.to_dtype(as_dtype(dtype).name))
        if device is not None:
            out = _wrap(out._c.to_device(str(_device(device))))
        return out

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, device=None) -> Tensor:
        return self.to("cuda" if device is None else f"cuda:{int(device)}")

    def float(self) -> Tensor:
        return _wrap(self._c.to_dtype("float32"))

    def long(self) -> Tensor:
        return _wrap(self._c.to_dtype("int64"))

    def bool(self) -> Tensor:
        return _wrap(self._c.to_dtype("bool"))

    def type_as(self, other: Tensor) -> Tensor:
        return _wrap(self._c.to_dtype(other._c.dtype))

    def clone(self) -> Tensor:
        return _wrap(self._c.clone_tensor())

    def __deepcopy__(self, memo) -> Tensor:
        out = type(self).__new__(type(self))
        out._c = self._c.detach().clone_tensor()
        if self._c.requires_grad:
            out._c.set_requires_grad(True)
        memo[id(self)] = out
        return out

    def __reduce_ex__(self, protocol):
        # Pickles as its values; a restored tensor is a new leaf with the same requires_grad.
        return (_rebuild, (type(self), self._c.detach().numpy().copy(), self._c.requires_grad))

    def contiguous(self) -> Tensor:
        return _wrap(self._c.contiguous())

    # ----- printing -------------------------------------------------------------------
    def __repr__(self) -> str:
        arr = self._c.detach().to_device("cpu").numpy()
        if arr.dtype == np.float32:
            finite = arr[np.isfinite(arr)]
            integral = finite.size == 0 or bool(np.all(finite == np.round(finite)))
            # PyTorch prints whole numbers as "1." and everything else with 4 decimals.
            mode = "maxprec_equal" if integral else "fixed"
            body = np.array2string(arr, separator=", ", prefix="tensor(", precision=4, floatmode=mode)
        else:
            body = np.array2string(arr, separator=", ", prefix="tensor(")
        extras = []
        if self._c.device != "cpu":
            extras.append(f"device='{self._c.device}'")
        if self._c.dtype == "bool" or arr.size == 0 and self._c.dtype != "float32":
            extras.append(f"dtype=neurona.{self._c.dtype}")
        if self._c.grad_fn is not None:
            extras.append(f"grad_fn=<{self._c.grad_fn}>")
        elif self._c.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    __str__ = __repr__

    # ----- operators ------------------------------------------------------------------
    def _bin(self, other, op, reflected=False):
        return _wrap(self._c.binary(_unwrap(other), op, reflected))

    def _inplace(self, other, op):
        # In place when the tensor is not in the graph; otherwise the out-of-place result
        # (the graph needs the old value), which rebinds the name as PyTorch users expect.
        if _core.is_grad_enabled() and (self._c.requires_grad or getattr(other, "requires_grad", False)):
            return self._bin(other, op)
        self._c.binary_(_unwrap(other), op)
        return self

    def __add__(self, o):
        return self._bin(o, "add")

    def __radd__(self, o):
        return self._bin(o, "add", True)

    def __iadd__(self, o):
        return self._inplace(o, "add")

    def __sub__(self, o):
        return self._bin(o, "sub")

    def __rsub__(self, o):
        return self._bin(o, "sub", True)

    def __isub__(self, o):
        return self._inplace(o, "sub")

    def __mul__(self, o):
        return self._bin(o, "mul")

    def __rmul__(self, o):
        return self._bin(o, "mul", True)

    def __imul__(self, o):
        return self._inplace(o, "mul")

    def __truediv__(self, o):
        return self._bin(o, "div")

    def __rtruediv__(self, o):
        return self._bin(o, "div", True)

    def __itruediv__(self, o):
        return self._inplace(o, "div")

    def __pow__(self, o):
        return self._bin(o, "pow")

    def __rpow__(self, o):
        return self._bin(o, "pow", True)

    def __matmul__(self, o):
        return self.matmul(o)

    def __rmatmul__(self, o):
        return _wrap(_unwrap(o).matmul(self._c))

    def __neg__(self):
        return _wrap(self._c.unary("neg"))

    def __pos__(self):
        return self

    def __abs__(self):
        return _wrap(self._c.unary("abs"))

    def __eq__(self, o):
        return _wrap(self._c.compare(_unwrap(o), "eq"))

    def __ne__(self, o):
        return _wrap(self._c.compare(_unwrap(o), "ne"))

    def __lt__(self, o):
        return _wrap(self._c.compare(_unwrap(o), "lt"))

    def __le__(self, o):
        return _wrap(self._c.compare(_unwrap(o), "le"))

    def __gt__(self, o):
        return _wrap(self._c.compare(_unwrap(o), "gt"))

    def __ge__(self, o):
        return _wrap(self._c.compare(_unwrap(o), "ge"))

    __hash__ = object.__hash__

    def _logical(self, o, fn):
        from neurona.creation import from_numpy

        b = o.detach().numpy() if isinstance(o, Tensor) else np.asarray(o)
        return from_numpy(np.ascontiguousarray(fn(self.detach().numpy(), b)))

    def __and__(self, o):
        return self._logical(o, np.logical_and if self._c.dtype == "bool" else np.bitwise_and)

    def __or__(self, o):
        return self._logical(o, np.logical_or if self._c.dtype == "bool" else np.bitwise_or)

    def __xor__(self, o):
        return self._logical(o, np.logical_xor if self._c.dtype == "bool" else np.bitwise_xor)

    def __invert__(self):
        if self._c.dtype != "bool":
            raise TypeError(f"~ is defined for bool tensors here, got {self._c.dtype}")
        return _wrap(self._c.compare(False, "eq"))

    def __getitem__(self, index):
        return getitem(self, index)

    def __setitem__(self, index, value):
        setitem(self, index, value)

    def __iter__(self):
        if self._c.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._c.shape[0]))

    # ----- in-place -------------------------------------------------------------------
    def add_(self, o, alpha=1):
        self._c.binary_(_unwrap(o if alpha == 1 else o * alpha), "add")
        return self

    def sub_(self, o, alpha=1):
        self._c.binary_(_unwrap(o if alpha == 1 else o * alpha), "sub")
        return self

    def mul_(self, o):
        self._c.binary_(_unwrap(o), "mul")
        return self

    def div_(self, o):
        self._c.binary_(_unwrap(o), "div")
        return self

    def copy_(self, src):
        self._c.copy_(_unwrap(src))
        return self

    def fill_(self, value):
        self._c.copy_(float(value) if self._c.dtype == "float32" else value)
        return self

    def zero_(self):
        return self.fill_(0)

    def clamp_(self, min=None, max=None):
        return self.copy_(self.detach().clamp(min, max))

    # ----- shape and views ------------------------------------------------------------
    def reshape(self, *shape) -> Tensor:
        return _wrap(self._c.reshape(_resolve_shape(_shape_args(shape), self._c.numel())))

    def view(self, *shape) -> Tensor:
        return self.reshape(*shape)

    def view_as(self, other) -> Tensor:
        return self.reshape(other.shape)

    def reshape_as(self, other) -> Tensor:
        return self.reshape(other.shape)

    def permute(self, *dims) -> Tensor:
        dims = _shape_args(dims) if dims else []
        return _wrap(self._c.permute([d % max(self.ndim, 1) for d in dims]))

    def transpose(self, dim0, dim1) -> Tensor:
        return _wrap(self._c.transpose(int(dim0), int(dim1)))

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise ValueError(f"t() expects a tensor with <= 2 dimensions, but got {self.ndim}; use .mT or transpose")
        return self if self.ndim < 2 else self.transpose(0, 1)

    @property
    def T(self) -> Tensor:
        return self.permute(*reversed(range(self.ndim))) if self.ndim > 1 else self

    @property
    def mT(self) -> Tensor:
        return self.transpose(-2, -1)

    def expand(self, *shape) -> Tensor:
        shape = _shape_args(shape)
        lead = len(shape) - self.ndim
        shape = [self.shape[i - lead] if s == -1 else s for i, s in enumerate(shape)]
        return _wrap(self._c.expand(shape))

    def expand_as(self, other) -> Tensor:
        return self.expand(other.shape)

    def broadcast_to(self, shape) -> Tensor:
        return self.expand(shape)

    def squeeze(self, dim=None) -> Tensor:
        return _wrap(self._c.squeeze(_axes(dim)))

    def unsqueeze(self, dim) -> Tensor:
        return _wrap(self._c.unsqueeze(int(dim)))

    def flatten(self, start_dim=0, end_dim=-1) -> Tensor:
        return _wrap(self._c.flatten(int(start_dim), int(end_dim)))

    # Arithmetic, reductions and the rest are attached from neurona.ops (one place each).


def _rebuild(cls, array, requires_grad):
    out = cls.__new__(cls)
    out._c = _core.from_numpy(array)
    if requires_grad:
        out._c.set_requires_grad(True)
    return out


def _resolve_shape(shape: list, numel: int) -> list:
    """Fills in one -1 in a reshape target."""
    if shape.count(-1) > 1:
        raise ValueError("reshape: only one dimension can be inferred (-1)")
    if -1 in shape:
        known = 1
        for s in shape:
            if s != -1:
                known *= s
        if known == 0 or numel % known:
            raise ValueError(f"reshape: shape {tuple(shape)} is invalid for input of size {numel}")
        shape = [numel // known if s == -1 else s for s in shape]
    if any(s < 0 for s in shape):
        raise ValueError(f"reshape: invalid shape {tuple(shape)}")
    return shape
