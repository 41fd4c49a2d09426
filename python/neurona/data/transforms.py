"""Image augmentation on whole batches: `RandomHorizontalFlip`, `RandomCrop`, `Compose`.

Batches are NCHW (4-D) or NHW (3-D; a 3-D input is always read as a batch of single-channel
images, never as one CHW image). Each transform draws one decision per image from its own
numpy generator (from `seed`, else seeded by a draw from the neurona global generator at the
first call, see `neurona.data.DataLoader`) and applies all of them with vectorized numpy
indexing.
"""

from __future__ import annotations

import numpy as np

from . import _rng
from ._convert import as_array, to_tensor
from .dataset import apply_transform


def _check_batch(x: np.ndarray, who: str) -> None:
    if x.ndim not in (3, 4):
        raise ValueError(
            f"{who} expects a batch of images shaped (N, C, H, W) or (N, H, W), got shape "
            f"{x.shape}"
        )


class _RandomTransform:
    def __init__(self, seed=None, generator=None):
        if seed is not None:
            _rng.check_seed(seed)
        self.seed = seed
        self.generator = generator

    def _gen(self) -> np.random.Generator:
        if self.generator is None:
            self.generator = _rng.make_generator(self.seed, None, salt=type(self).__name__)
        return self.generator

    def __call__(self, x):
        return to_tensor(self._apply_np(as_array(x)))


class RandomHorizontalFlip(_RandomTransform):
    """Mirror each image left-right with probability `p`."""

    def __init__(self, p: float = 0.5, seed=None, generator=None):
        super().__init__(seed, generator)
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"p must be a probability in [0, 1], got {p}")
        self.p = float(p)

    def _apply_np(self, x: np.ndarray) -> np.ndarray:
        _check_batch(x, "RandomHorizontalFlip")
        flip = self._gen().random(x.shape[0]) < self.p
        out = x.copy()
        out[flip] = x[flip][..., ::-1]
        return out

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class RandomCrop(_RandomTransform):
    """Cut a random `size` window out of each image, after padding each side by `padding`
    pixels of value `fill` (the usual CIFAR/MNIST shift augmentation: `RandomCrop(28, 2)`)."""

    def __init__(self, size, padding: int = 0, fill: float = 0.0, seed=None, generator=None):
        super().__init__(seed, generator)
        h, w = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
        if h < 1 or w < 1:
            raise ValueError(f"crop size must be positive, got {size}")
        if padding < 0:
            raise ValueError(f"padding must be >= 0, got {padding}")
        self.size = (int(h), int(w))
        self.padding = int(padding)
        self.fill = fill

    def _apply_np(self, x: np.ndarray) -> np.ndarray:
        _check_batch(x, "RandomCrop")
        p = self.padding
        if p:
            pad = [(0, 0)] * (x.ndim - 2) + [(p, p), (p, p)]
            x = np.pad(x, pad, mode="constant", constant_values=self.fill)
        n, hp, wp = x.shape[0], x.shape[-2], x.shape[-1]
        h, w = self.size
        if h > hp or w > wp:
            raise ValueError(
                f"crop size {self.size} is larger than the padded image ({hp}, {wp})"
            )
        gen = self._gen()
        top = gen.integers(0, hp - h + 1, size=n)
        left = gen.integers(0, wp - w + 1, size=n)
        rows = top[:, None] + np.arange(h)  # (N, h)
        cols = left[:, None] + np.arange(w)  # (N, w)
        batch = np.arange(n)
        if x.ndim == 3:
            return x[batch[:, None, None], rows[:, :, None], cols[:, None, :]]
        chans = np.arange(x.shape[1])
        return x[
            batch[:, None, None, None],
            chans[None, :, None, None],
            rows[:, None, :, None],
            cols[:, None, None, :],
        ]

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class Compose:
    """Apply transforms one after another (on numpy; one Tensor conversion at the end)."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def _apply_np(self, x: np.ndarray) -> np.ndarray:
        for t in self.transforms:
            x = apply_transform(t, x)
        return x

    def __call__(self, x):
        return to_tensor(self._apply_np(as_array(x)))

    def __repr__(self) -> str:
        inner = ", ".join(repr(t) for t in self.transforms)
        return f"Compose([{inner}])"
