"""Splitting data: `random_split` of a dataset into Subsets, and `train_val_test_split` of
arrays into train/validation/test parts. Both shuffle with a seeded generator, and the parts
never overlap and together cover every sample."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from . import _rng
from ._convert import as_array, to_tensor
from .dataset import Subset


def _split_lengths(n: int, lengths: Sequence) -> list[int]:
    """Turn `lengths` (counts summing to n, or fractions summing to 1) into counts."""
    if len(lengths) == 0:
        raise ValueError("lengths must not be empty")
    if all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in lengths):
        counts = [int(x) for x in lengths]
        if any(c < 0 for c in counts):
            raise ValueError(f"lengths must be non-negative, got {list(lengths)}")
        if sum(counts) != n:
            raise ValueError(
                f"lengths {counts} sum to {sum(counts)}, but the dataset has {n} samples"
            )
        return counts
    fracs = [float(x) for x in lengths]
    if any(not 0.0 <= f <= 1.0 for f in fracs) or not math.isclose(sum(fracs), 1.0, abs_tol=1e-6):
        raise ValueError(
            "lengths must be counts summing to the dataset size or fractions in [0, 1] summing "
            f"to 1, got {list(lengths)}"
        )
    counts = [math.floor(n * f) for f in fracs]
    # Hand out what flooring left over one by one, first split first (as PyTorch does).
    for i in range(n - sum(counts)):
        counts[i % len(counts)] += 1
    return counts


def random_split(dataset, lengths: Sequence, seed=None, generator=None) -> list[Subset]:
    """Split `dataset` at random into non-overlapping `Subset`s of the given `lengths`.

    `lengths` are counts that sum to `len(dataset)`, or fractions that sum to 1 (floored, the
    remainder given one each to the first parts). The permutation comes from `seed`/`generator`,
    else from a draw from the neurona global generator (see `neurona.data.DataLoader`).
    """
    n = len(dataset)
    counts = _split_lengths(n, lengths)
    perm = _rng.make_generator(seed, generator, salt="random_split").permutation(n)
    bounds = np.cumsum([0] + counts)
    return [Subset(dataset, perm[bounds[i] : bounds[i + 1]]) for i in range(len(counts))]


def _part_size(size, n: int, name: str) -> int:
    if isinstance(size, bool):
        raise TypeError(f"{name} must be a fraction or a count, got {size!r}")
    if isinstance(size, (int, np.integer)):
        if not 0 <= size <= n:
            raise ValueError(f"{name}={size} must be between 0 and the number of samples ({n})")
        return int(size)
    size = float(size)
    if not 0.0 <= size < 1.0:
        raise ValueError(f"{name}={size} must be a fraction in [0, 1) or an int count")
    return round(size * n)


def train_val_test_split(*arrays, val=0.1, test=0.1, seed=None, shuffle=True):
    """Split arrays/Tensors of equal length into train, validation and test parts.

    `val` and `test` are fractions of the samples (rounded to the nearest count) or counts;
    the rest is the training part. With `shuffle=True` (default) the samples are permuted first
    with a generator from `seed` (else seeded by a draw from the neurona global generator);
    with `shuffle=False` the parts are consecutive: train first, then validation, then test.

    Returns `(train, val, test)`; each part is a Tensor when one array is given, otherwise a
    tuple of Tensors in the order of `arrays`:

        (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = train_val_test_split(x, y, seed=0)
    """
    if not arrays:
        raise ValueError("train_val_test_split needs at least one array")
    arrs = [as_array(a) for a in arrays]
    if any(a.ndim == 0 for a in arrs):
        raise ValueError("train_val_test_split: every array needs a first (sample) dimension")
    lengths = {a.shape[0] for a in arrs}
    if len(lengths) != 1:
        shapes = ", ".join(str(tuple(a.shape)) for a in arrs)
        raise ValueError(
            f"train_val_test_split: all arrays must have the same first dimension, got {shapes}"
        )
    n = lengths.pop()
    n_val = _part_size(val, n, "val")
    n_test = _part_size(test, n, "test")
    if n_val + n_test > n:
        raise ValueError(
            f"val ({n_val}) and test ({n_test}) together exceed the {n} samples available"
        )
    if shuffle:
        order = _rng.make_generator(seed, None, salt="train_val_test_split").permutation(n)
    else:
        order = np.arange(n)
    n_train = n - n_val - n_test
    parts = (order[:n_train], order[n_train : n_train + n_val], order[n_train + n_val :])
    out = []
    for idx in parts:
        tensors = tuple(to_tensor(a[idx]) for a in arrs)
        out.append(tensors[0] if len(tensors) == 1 else tensors)
    return tuple(out)
