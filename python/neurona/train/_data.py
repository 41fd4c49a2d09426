"""Turning `fit`'s data arguments into DataLoaders: a Dataset, a DataLoader, an `(X, y)`
tuple of arrays/Tensors, or a `neurona.datasets.ImageSplit`; and `validation_split`, which
holds out the LAST fraction of the samples, taken before any shuffling (as Keras does)."""

from __future__ import annotations

import math

import numpy as np

from neurona.data import DataLoader, Subset, TensorDataset


def as_dataset(data, who: str):
    """A map-style dataset for `data` (a DataLoader is returned unchanged)."""
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, (tuple, list)):
        if len(data) != 2:
            raise ValueError(f"{who}: a tuple of data must be (inputs, targets), got "
                             f"{len(data)} items")
        return TensorDataset(*data)
    if hasattr(data, "images") and hasattr(data, "labels"):  # an ImageSplit
        return TensorDataset(data.images, data.labels)
    if hasattr(data, "__len__") and hasattr(data, "__getitem__"):
        return data
    raise TypeError(f"{who} must be a Dataset, a DataLoader or an (X, y) tuple, got "
                    f"{type(data).__name__}")


def split_last(dataset, fraction: float):
    """(train, validation) Subsets: validation is the last `fraction` of the samples."""
    if isinstance(fraction, bool) or not 0.0 < float(fraction) < 1.0:
        raise ValueError(f"validation_split must be a fraction in (0, 1), got {fraction!r}")
    n = len(dataset)
    split_at = math.ceil(n * (1.0 - float(fraction)))
    if split_at <= 0 or split_at >= n:
        raise ValueError(f"validation_split={fraction} leaves an empty split of {n} samples")
    return Subset(dataset, np.arange(split_at)), Subset(dataset, np.arange(split_at, n))


def make_loaders(train_data, val_data, validation_split, batch_size, shuffle, seed):
    """(train loader, validation loader or None)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    train = as_dataset(train_data, "train_data")
    val = None if val_data is None else as_dataset(val_data, "val_data")
    if validation_split is not None:
        if val is not None:
            raise ValueError("give either val_data or validation_split, not both")
        if isinstance(train, DataLoader):
            raise ValueError(
                "validation_split needs the training data as a Dataset or an (X, y) tuple, "
                "not a DataLoader; pass val_data instead"
            )
        train, val = split_last(train, validation_split)
    if len(train) == 0:
        raise ValueError("train_data is empty")
    if not isinstance(train, DataLoader):
        train = DataLoader(train, batch_size=batch_size, shuffle=shuffle, seed=seed)
    if val is not None and not isinstance(val, DataLoader):
        if len(val) == 0:
            raise ValueError("val_data is empty")
        val = DataLoader(val, batch_size=batch_size, shuffle=False)
    return train, val


def split_batch(batch, who: str):
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    raise ValueError(f"{who}: each batch must be (inputs, targets); got "
                     f"{type(batch).__name__}{'' if not hasattr(batch, '__len__') else f' of {len(batch)}'}")
