"""Tensor indexing with NumPy's rules: integers, slices (positive steps), None, Ellipsis,
integer tensors/lists (advanced indexing, adjacent dimensions) and boolean masks.

Reading builds a view with one core ``slice`` call, then applies advanced indices with
``index_select`` so gradients flow. Writing (``t[idx] = v``) goes through a NumPy view of the
same memory, for tensors outside the graph."""

from __future__ import annotations

import numpy as np

from neurona import _core


def _as_index_array(obj):
    """Integer or bool NumPy array for an index given as a Tensor, list or array."""
    from neurona.tensor import Tensor

    if isinstance(obj, Tensor):
        if obj.dtype.name == "float32":
            raise IndexError("tensors used as indices must be long (int64) or bool tensors, got float32")
        return obj.detach().numpy()
    arr = np.asarray(obj)
    if arr.dtype == np.bool_ or np.issubdtype(arr.dtype, np.integer):
        return arr
    if arr.size == 0:
        return arr.astype(np.int64)
    raise IndexError(f"only integers, slices, None, Ellipsis, and integer or boolean tensors are valid indices (got {arr.dtype})")


def _normalize(index, ndim):
    if not isinstance(index, tuple):
        index = (index,)
    items = []
    for it in index:
        if isinstance(it, (list, np.ndarray)) or (hasattr(it, "_c") and not isinstance(it, (int, bool))):
            it = _as_index_array(it)
            if it.ndim == 0 and it.dtype != np.bool_:
                it = int(it)
        items.append(it)
    consumed = sum(
        (it.ndim if isinstance(it, np.ndarray) and it.dtype == np.bool_ else 0 if it is None or it is Ellipsis else 1)
        for it in items
    )
    if sum(1 for it in items if it is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if consumed > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    if Ellipsis in [i for i in items if not isinstance(i, np.ndarray)]:
        pos = next(k for k, it in enumerate(items) if it is Ellipsis and not isinstance(it, np.ndarray))
        items = items[:pos] + [slice(None)] * (ndim - consumed) + items[pos + 1 :]
    else:
        items = items + [slice(None)] * (ndim - consumed)
    return items


def getitem(t, index):
    from neurona.tensor import _wrap

    shape = t.shape
    items = _normalize(index, t.ndim)
    spec, drop, advanced, nones = [], [], [], []
    dim = 0  # dimension of t
    out_dim = 0  # dimension of the result being built
    for it in items:
        if it is None:
            nones.append(out_dim)
            out_dim += 1
            continue
        if isinstance(it, slice):
            start, stop, step = it.indices(shape[dim])
            if step <= 0:
                raise ValueError("step must be greater than zero")
            stop = max(stop, start)
            spec.append((start, stop, step))
            drop.append(False)
            dim += 1
            out_dim += 1
        elif isinstance(it, np.ndarray):
            if it.dtype == np.bool_:
                k = it.ndim
                if tuple(it.shape) != tuple(shape[dim : dim + k]):
                    raise IndexError(
                        f"the shape of the mask {tuple(it.shape)} does not match the shape of the "
                        f"indexed tensor {tuple(shape)} starting at dimension {dim}"
                    )
                flat = np.flatnonzero(it)
                advanced.append((out_dim, k, [(flat, shape[dim : dim + k])]))
                for _ in range(k):
                    spec.append((0, shape[dim], 1))
                    drop.append(False)
                    dim += 1
                out_dim += k
            else:
                size = shape[dim]
                if it.size and (it.max() >= size or it.min() < -size):
                    bad = it.max() if it.max() >= size else it.min()
                    raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size {size}")
                advanced.append((out_dim, 1, [(np.where(it < 0, it + size, it), (size,))]))
                spec.append((0, size, 1))
                drop.append(False)
                dim += 1
                out_dim += 1
        else:
            try:
                i = int(it)
            except TypeError:
                raise IndexError(f"unsupported index of type {type(it).__name__}") from None
            size = shape[dim]
            if i < -size or i >= size:
                raise IndexError(f"index {i} is out of bounds for dimension {dim} with size {size}")
            i = i + size if i < 0 else i
            spec.append((i, i + 1, 1))
            drop.append(True)
            dim += 1
    c = t._c
    if any(drop) or any(s != (0, n, 1) for s, n in zip(spec, shape)):
        c = c.slice(spec, drop)
    for pos in nones:
        c = c.unsqueeze(pos)
    if advanced:
        c = _apply_advanced(c, advanced)
    return _wrap(c)


def _apply_advanced(c, advanced):
    """Merges adjacent advanced indices into one flat index over their dimensions."""
    positions = [a[0] for a in advanced]
    first = positions[0]
    span = sum(a[1] for a in advanced)
    if positions != [first + sum(a[1] for a in advanced[:i]) for i in range(len(advanced))]:
        raise IndexError("advanced indices (tensors, lists, masks) must be in adjacent dimensions")
    # Each part is (flat index into its dims, the sizes of those dims); combine row-major.
    parts = [p for a in advanced for p in a[2]]
    idx_arrays = np.broadcast_arrays(*[p[0] for p in parts])
    flat = np.zeros(idx_arrays[0].shape, dtype=np.int64)
    for arr, (_, dims) in zip(idx_arrays, parts):
        flat = flat * int(np.prod(dims, dtype=np.int64)) + arr
    shape = list(c.shape)
    merged = int(np.prod(shape[first : first + span], dtype=np.int64))
    c = c.reshape(shape[:first] + [merged] + shape[first + span :])
    idx = _core.from_numpy(np.ascontiguousarray(flat.reshape(-1), dtype=np.int64))
    c = c.index_select(first, idx)
    return c.reshape(shape[:first] + list(flat.shape) + shape[first + span :])


def _numpy_index(index):
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    for it in index:
        if isinstance(it, (list, np.ndarray)) or hasattr(it, "_c"):
            it = _as_index_array(it)
        out.append(it)
    return tuple(out)


def setitem(t, index, value):
    from neurona.tensor import Tensor

    if _core.is_grad_enabled() and t.requires_grad:
        raise RuntimeError(
            "a leaf tensor that requires grad is being used in an in-place operation (item "
            "assignment); wrap it in `with neurona.no_grad():`"
        )
    if t.device != "cpu":
        raise RuntimeError("item assignment is supported on cpu tensors; move the tensor with .cpu()")
    arr = t._c.numpy()
    v = value.detach().numpy() if isinstance(value, Tensor) else value
    try:
        arr[_numpy_index(index)] = v
    except ValueError as e:
        raise ValueError(f"cannot assign to tensor of shape {tuple(t.shape)} at {index!r}: {e}") from None
