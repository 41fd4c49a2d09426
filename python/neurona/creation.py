"""Making tensors: from data (``tensor``, ``from_numpy``, ``as_tensor``), filled
(``zeros``, ``ones``, ``full``, ``eye``, ranges) and random from the seeded global generator
(``rand``, ``randn``, ``randint``, ``randperm``; ``manual_seed`` fixes them)."""

from __future__ import annotations

import numpy as np

from neurona import _core
from neurona._dtypes import as_dtype, float32
from neurona.tensor import Tensor, _shape_args, _wrap


def _np_dtype_for(arr: np.ndarray):
    if arr.dtype == np.bool_:
        return np.bool_
    if np.issubdtype(arr.dtype, np.integer):
        return np.int64
    if np.issubdtype(arr.dtype, np.floating):
        return np.float32
    raise TypeError(
        f"cannot make a tensor from data of dtype {arr.dtype}: expected numbers or booleans "
        "(float32/float64, integers, bool)"
    )


def tensor(data, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A new tensor holding a copy of ``data`` (a number, nested lists, an array or a Tensor)."""
    if isinstance(data, Tensor):
        arr = data.detach().numpy()
    else:
        try:
            arr = np.asarray(data)
        except ValueError as e:
            raise ValueError(f"tensor: data is not a rectangular array of numbers: {e}") from None
        if arr.dtype == object:
            raise TypeError("tensor: data must be numbers or nested lists of numbers of one shape")
    target = as_dtype(dtype).numpy if dtype is not None else _np_dtype_for(arr)
    arr = np.array(arr, dtype=target, copy=True, order="C")
    t = _wrap(_core.from_numpy(arr))
    if device is not None:
        t = t.to(device)  # before requires_grad, so the result is a leaf on that device
    if requires_grad:
        t.requires_grad_(True)
    return t


def from_numpy(arr: np.ndarray) -> Tensor:
    """A tensor sharing ``arr``'s memory when it is C-contiguous float32, int64 or bool;
    float64 is converted to float32. Other dtypes raise TypeError."""
    return _wrap(_core.from_numpy(arr))


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with a Tensor or a suitable array when it can."""
    if isinstance(data, Tensor):
        out = data
    elif isinstance(data, np.ndarray) and dtype is None and data.dtype in (np.float32, np.int64, np.bool_):
        out = from_numpy(data)
    else:
        return tensor(data, dtype=dtype, device=device)
    if dtype is not None:
        out = out.to(dtype)
    return out.to(device) if device is not None else out


def from_dlpack(obj) -> Tensor:
    return from_numpy(np.from_dlpack(obj))


def _finish(t: Tensor, dtype, device, requires_grad) -> Tensor:
    if dtype is not None and as_dtype(dtype) is not t.dtype:
        t = t.to(as_dtype(dtype))
    if device is not None:
        t = t.to(device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    shape = _shape_args((size,))
    return _finish(_wrap(_core.full(shape, float(fill_value))), dtype, device, requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return full(_shape_args(size), 0.0, dtype=dtype, device=device, requires_grad=requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return full(_shape_args(size), 1.0, dtype=dtype, device=device, requires_grad=requires_grad)


def zeros_like(t, dtype=None, device=None, requires_grad=False) -> Tensor:
    device = t.device if device is None else device  # on t's device, as in PyTorch
    return zeros(t.shape, dtype=dtype or t.dtype, device=device, requires_grad=requires_grad)


def ones_like(t, dtype=None, device=None, requires_grad=False) -> Tensor:
    device = t.device if device is None else device
    return ones(t.shape, dtype=dtype or t.dtype, device=device, requires_grad=requires_grad)


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    device = t.device if device is None else device
    return full(t.shape, fill_value, dtype=dtype or t.dtype, device=device, requires_grad=requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Values from start (inclusive) to end (exclusive); int64 when all arguments are ints."""
    if end is None:
        start, end = 0, start
    integer = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (start, end, step))
    if dtype is not None:
        integer = integer and as_dtype(dtype).name == "int64"
    t = _wrap(_core.arange(float(start), float(end), float(step), integer))
    return _finish(t, dtype, device, requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    if int(steps) < 0:
        raise ValueError(f"linspace: number of steps must be non-negative, got {steps}")
    return _finish(_wrap(_core.linspace(float(start), float(end), int(steps))), dtype, device, requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _finish(_wrap(_core.eye(int(n), int(n if m is None else m))), dtype, device, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform on [0, 1) from the global generator."""
    return _finish(_wrap(_core.rand(_shape_args(size), 0.0, 1.0)), dtype, device, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal from the global generator."""
    return _finish(_wrap(_core.randn(_shape_args(size), 0.0, 1.0)), dtype, device, requires_grad)


def randint(low, high=None, size=(), *, dtype=None, device=None) -> Tensor:
    if high is None:
        low, high = 0, low
    shape = _shape_args((size,)) if isinstance(size, (list, tuple)) else [int(size)]
    return _finish(_wrap(_core.randint(int(low), int(high), shape)), dtype, device, False)


def randperm(n, *, device=None) -> Tensor:
    return _finish(_wrap(_core.randperm(int(n))), None, device, False)


def rand_like(t) -> Tensor:
    return rand(t.shape)


def randn_like(t) -> Tensor:
    return randn(t.shape)


def manual_seed(seed: int) -> None:
    """Seeds the global generator behind rand/randn/randint, dropout and initialisation."""
    seed = int(seed)
    if seed < 0:
        seed &= (1 << 64) - 1
    _core.manual_seed(seed)


def seed_everything(seed: int) -> None:
    """Seeds neurona's generator and NumPy's global one."""
    manual_seed(seed)
    np.random.seed(int(seed) % (1 << 32))


def get_rng_state() -> bytes:
    return bytes(_core.get_rng_state())


def set_rng_state(state: bytes) -> None:
    _core.set_rng_state(bytes(state))


__all__ = [
    "arange",
    "as_tensor",
    "empty",
    "eye",
    "float32",
    "from_dlpack",
    "from_numpy",
    "full",
    "full_like",
    "get_rng_state",
    "linspace",
    "manual_seed",
    "ones",
    "ones_like",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "randperm",
    "seed_everything",
    "set_rng_state",
    "tensor",
    "zeros",
    "zeros_like",
]
