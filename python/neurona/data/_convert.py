"""The one boundary between the numpy-first Python layer and `neurona.Tensor`.

Everything in `neurona.data`, `neurona.datasets`, `neurona.metrics` and `neurona.io` computes on
numpy arrays and crosses into Tensors only here, so the rule for dtypes lives in one place:
floating arrays become float32 Tensors, integer and boolean arrays become int64 Tensors.
"""

from __future__ import annotations

import numpy as np

import neurona


def as_array(x) -> np.ndarray:
    """Return `x` (a Tensor, an array, or nested Python numbers) as a numpy array, no copy if
    it already is one."""
    return np.asarray(x)


def tensor_dtype_of(a: np.ndarray) -> np.dtype:
    """The numpy dtype a Tensor made from `a` will have: float32 for floats, int64 otherwise."""
    if a.dtype.kind == "f":
        return np.dtype(np.float32)
    if a.dtype.kind in "iub":
        return np.dtype(np.int64)
    raise TypeError(
        f"cannot make a Tensor from an array of dtype {a.dtype}: expected a floating, integer or "
        "boolean array"
    )


def to_tensor(a) -> neurona.Tensor:
    """Convert a numpy array (or anything `np.asarray` accepts) to a `neurona.Tensor`.

    The dtype is normalized first (see `tensor_dtype_of`) and the array made C-contiguous, so
    `neurona.from_numpy` only ever sees float32 or int64 contiguous data.
    """
    a = np.asarray(a)
    # astype, not ascontiguousarray: the latter turns 0-d arrays into 1-d ones.
    a = a.astype(tensor_dtype_of(a), order="C", copy=False)
    return neurona.from_numpy(a)
