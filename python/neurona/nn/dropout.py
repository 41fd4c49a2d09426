"""Noise layers active only in training: ``Dropout`` (inverted dropout) and ``GaussianNoise``.
Both are the identity after ``model.eval()``."""

from __future__ import annotations

from neurona.nn import functional as F
from neurona.nn.module import Module


class Dropout(Module):
    """Zeroes each element with probability ``p`` while training and scales the others by
    1/(1-p), so the expected output equals the input; the identity in eval mode."""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input):
        return F.dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class GaussianNoise(Module):
    """Adds N(0, std^2) noise to its input while training (a regulariser, as Keras'
    GaussianNoise); the identity in eval mode."""

    def __init__(self, std: float):
        super().__init__()
        if std < 0:
            raise ValueError(f"GaussianNoise: std must be >= 0, got {std}")
        self.std = std

    def forward(self, input):
        return F.gaussian_noise(input, self.std, self.training)

    def extra_repr(self) -> str:
        return f"std={self.std}"
