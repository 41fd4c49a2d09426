"""`DataLoader`: iterate a dataset in (optionally shuffled) mini-batches of Tensors."""

from __future__ import annotations

import numpy as np

from . import _rng
from ._convert import to_tensor
from .dataset import TensorDataset


def default_collate(samples):
    """Stack a list of samples into a batch: tuples/lists field by field, dicts key by key,
    everything else with `np.stack`, then converted to Tensors."""
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return tuple(default_collate([s[i] for s in samples]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    return to_tensor(np.stack([np.asarray(s) for s in samples]))


class DataLoader:
    """Mini-batches of a dataset, as in PyTorch.

    `dataset` is a `Dataset` (anything with `__len__`/`__getitem__`) or a bare Tensor/array,
    which is wrapped as a one-tensor `TensorDataset` whose batches are single Tensors.

    With `shuffle=True` each epoch visits the samples in a fresh random order drawn from a numpy
    `Generator`: `generator` if given, else `np.random.default_rng(seed)`, else one seeded by a
    draw from the neurona global generator when the first epoch starts (as in PyTorch, so
    `neurona.manual_seed(s)` makes the whole run reproducible, and two loaders differ). The
    generator is kept across epochs, so successive epochs differ.

    Array-backed datasets (`TensorDataset`, a `Subset` of one) are sliced with one
    fancy-indexing step per tensor for each batch; other datasets are read sample by sample and
    stacked with `collate_fn` (default: `np.stack` per field). Either way every batch is a
    fresh copy: writing to a batch never changes the dataset.
    """

    def __init__(
        self,
        dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed=None,
        generator=None,
        collate_fn=None,
    ):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"batch_size must be a positive int, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size}")
        if seed is not None and generator is not None:
            raise ValueError("give either seed or generator, not both")
        if seed is not None:
            _rng.check_seed(seed)
        self._single = isinstance(dataset, np.ndarray) or hasattr(dataset, "__array__")
        if not self._single and not (
            hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")
        ):
            raise TypeError(
                "DataLoader needs a Dataset (with __len__ and __getitem__), a Tensor or an "
                f"array, got {type(dataset).__name__}"
            )
        if self._single:
            dataset = TensorDataset(dataset)
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self.generator = generator
        self.collate_fn = collate_fn if collate_fn is not None else default_collate

    def __len__(self) -> int:
        n = len(self.dataset)
        if self.drop_last:
            return n // self.batch_size
        return (n + self.batch_size - 1) // self.batch_size

    def _order(self, n: int):
        if not self.shuffle:
            return None
        if self.generator is None:
            self.generator = _rng.make_generator(self.seed, None, salt="DataLoader")
        return self.generator.permutation(n)

    def __iter__(self):
        n = len(self.dataset)
        order = self._order(n)
        fetch = getattr(self.dataset, "_fetch_batch", None)
        for b in range(len(self)):
            start = b * self.batch_size
            stop = min(start + self.batch_size, n)
            idx = np.arange(start, stop) if order is None else order[start:stop]
            arrays = fetch(idx) if fetch is not None else NotImplemented
            if arrays is not NotImplemented:
                tensors = tuple(to_tensor(a) for a in arrays)
                yield tensors[0] if self._single else tensors
            else:
                positions = range(start, stop) if order is None else order[start:stop]
                yield self.collate_fn([self.dataset[int(i)] for i in positions])

    def __repr__(self) -> str:
        return (
            f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last})"
        )
