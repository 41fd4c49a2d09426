"""Map-style datasets: the `Dataset` base class, `TensorDataset` and `Subset`.

Besides `__len__`/`__getitem__`, a dataset may offer `_fetch_batch(indices)`, returning a tuple
of numpy arrays (one per field) for a whole batch at once, or `NotImplemented`. `DataLoader`
uses it so that array-backed data is sliced with one fancy-indexing step per field instead of
being assembled sample by sample in Python.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._convert import as_array, to_tensor


def apply_transform(transform, x: np.ndarray) -> np.ndarray:
    """Run a transform on a numpy batch and return a numpy batch.

    neurona's own transforms and scalers work on numpy directly (`_apply_np`); any other
    callable gets the numpy batch and may return an array or a Tensor.
    """
    if hasattr(transform, "_apply_np"):
        return transform._apply_np(x)
    return as_array(transform(x))


class Dataset:
    """Base class of map-style datasets: subclasses define `__len__` and `__getitem__(i)`.

    `__getitem__` returns one sample: a Tensor/array, or a tuple of them (e.g. `(x, y)`).
    """

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def _fetch_batch(self, indices):
        return NotImplemented


class TensorDataset(Dataset):
    """Samples are rows of the given tensors: `ds[i] == (t0[i], t1[i], ...)`.

    All tensors (Tensors or arrays) must have the same first dimension. `transform`, if given,
    is applied to the first tensor (the inputs), on whole batches when a `DataLoader` reads it.
    """

    def __init__(self, *tensors, transform=None):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        arrays = [as_array(t) for t in tensors]
        for i, a in enumerate(arrays):
            if a.ndim == 0:
                raise ValueError(
                    f"TensorDataset: tensor {i} is a scalar (shape ()); every tensor needs a "
                    "first dimension indexing the samples"
                )
        lengths = {a.shape[0] for a in arrays}
        if len(lengths) != 1:
            shapes = ", ".join(str(tuple(a.shape)) for a in arrays)
            raise ValueError(
                "TensorDataset: all tensors must have the same first dimension (number of "
                f"samples), got shapes {shapes}"
            )
        self.arrays = tuple(arrays)
        self.transform = transform

    def __len__(self) -> int:
        return self.arrays[0].shape[0]

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            n = len(self)
            if not -n <= index < n:
                raise IndexError(f"index {index} is out of range for a dataset of {n} samples")
            rows = self._fetch_batch(np.array([index]))
            return tuple(to_tensor(r[0]) for r in rows)
        return tuple(to_tensor(r) for r in self._fetch_batch(index))

    def _fetch_batch(self, indices):
        # Fancy indexing copies; a slice would be a view that a Tensor made from it shares.
        if isinstance(indices, slice):
            indices = np.arange(len(self))[indices]
        rows = [a[indices] for a in self.arrays]
        if self.transform is not None:
            rows[0] = apply_transform(self.transform, rows[0])
        return tuple(rows)

    def __repr__(self) -> str:
        shapes = ", ".join(str(tuple(a.shape)) for a in self.arrays)
        return f"TensorDataset({shapes})"


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset, indices: Sequence[int]):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)

    def __len__(self) -> int:
        return self.indices.shape[0]

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            return self.dataset[int(self.indices[index])]
        return self.dataset[self.indices[index]]

    def _fetch_batch(self, indices):
        fetch = getattr(self.dataset, "_fetch_batch", None)
        if fetch is None:
            return NotImplemented
        return fetch(self.indices[indices])

    def __repr__(self) -> str:
        return f"Subset({len(self)} of {self.dataset!r})"
