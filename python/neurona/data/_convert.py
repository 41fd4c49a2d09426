"""The one boundary between the numpy-first Python layer and `neurona.Tensor`.

Everything in `neurona.data`, `neurona.datasets`, `neurona.metrics` and `neurona.io` computes on
numpy arrays and crosses into Tensors only here, so the dtype rule lives in one place (the
rule of `neurona.from_numpy`): floating arrays become float32 Tensors, integer arrays int64,
boolean arrays bool.

`neurona.from_numpy` shares the array's memory, so callers hand `to_tensor` arrays that nothing
else will write to (fresh results, or private buffers); `to_tensor` itself makes sure the
memory is C-contiguous, aligned and writable, copying when it is not.
"""

from __future__ import annotations

import numpy as np

import neurona


def as_array(x) -> np.ndarray:
    """Return `x` (a Tensor, an array, or nested Python numbers) as a numpy array, no copy if
    it already is one."""
    return np.asarray(x)


def tensor_dtype_of(a: np.ndarray) -> np.dtype:
    """The numpy dtype a Tensor made from `a` will have."""
    if a.dtype.kind == "f":
        return np.dtype(np.float32)
    if a.dtype.kind in "iu":
        return np.dtype(np.int64)
    if a.dtype.kind == "b":
        return np.dtype(np.bool_)
    raise TypeError(
        f"cannot make a Tensor from an array of dtype {a.dtype}: expected a floating, integer or "
        "boolean array"
    )


def to_tensor(a) -> neurona.Tensor:
    """Convert a numpy array (or anything `np.asarray` accepts) to a `neurona.Tensor`."""
    a = np.asarray(a)
    # astype, not ascontiguousarray: the latter turns 0-d arrays into 1-d ones.
    a = a.astype(tensor_dtype_of(a), order="C", copy=False)
    # Unaligned or read-only memory (e.g. a view into a file buffer) must not be shared.
    a = np.require(a, requirements=["C", "A", "W"])
    return neurona.from_numpy(a)
