"""Data types: ``neurona.float32`` for values, ``neurona.int64`` for labels and indices,
``neurona.bool`` for masks. Each maps to one NumPy dtype."""

from __future__ import annotations

import numpy as np


class dtype:
    """A tensor element type, printed as ``neurona.float32`` like PyTorch's."""

    __slots__ = ("is_floating_point", "name", "numpy")

    def __init__(self, name: str, np_dtype, is_floating_point: bool):
        self.name = name
        self.numpy = np.dtype(np_dtype)
        self.is_floating_point = is_floating_point

    def __repr__(self) -> str:
        return f"neurona.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))


float32 = dtype("float32", np.float32, True)
int64 = dtype("int64", np.int64, False)
bool_ = dtype("bool", np.bool_, False)

_BY_NAME = {"float32": float32, "int64": int64, "bool": bool_}
# The names PyTorch users write, as aliases.
_ALIASES = {"float": float32, "long": int64, "float64": float32, "int": int64}


def _by_name(name: str) -> dtype:
    return _BY_NAME[name]


def as_dtype(d) -> dtype:
    """Accepts a neurona dtype, its name, a NumPy dtype or a Python type."""
    if isinstance(d, dtype):
        return d
    if d is float:
        return float32
    if d is int:
        return int64
    if d is bool:
        return bool_
    if isinstance(d, str) and d in _BY_NAME:
        return _BY_NAME[d]
    if isinstance(d, str) and d in _ALIASES:
        return _ALIASES[d]
    try:
        npd = np.dtype(d)
    except TypeError:
        npd = None
    if npd is not None:
        if npd == np.float32 or npd == np.float64:
            return float32
        if npd == np.int64:
            return int64
        if npd == np.bool_:
            return bool_
    raise TypeError(f"unsupported dtype {d!r}: expected neurona.float32, neurona.int64 or neurona.bool")
