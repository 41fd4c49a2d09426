"""Data handling in the PyTorch style: datasets, loaders, splits, scaling and augmentation.

Everything here computes on numpy and accepts Tensors or arrays; results cross into
`neurona.Tensor` at one boundary (`neurona.data._convert.to_tensor`).
"""

from .dataset import Dataset, Subset, TensorDataset
from .loader import DataLoader, default_collate
from .scalers import MinMaxScale, NotFittedError, Standardize
from .split import random_split, train_val_test_split
from .transforms import Compose, RandomCrop, RandomHorizontalFlip

__all__ = [
    "Compose",
    "DataLoader",
    "Dataset",
    "MinMaxScale",
    "NotFittedError",
    "RandomCrop",
    "RandomHorizontalFlip",
    "Standardize",
    "Subset",
    "TensorDataset",
    "default_collate",
    "random_split",
    "train_val_test_split",
]
