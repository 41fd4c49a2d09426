"""Data sets: Fashion-MNIST (read from disk, or the subset shipped in the package) and small
generated sets for the course. Nothing here downloads anything."""

from ._idx import IdxError, parse_idx, read_idx
from .fashion import CLASSES as FASHION_MNIST_CLASSES
from .fashion import ImageSplit, fashion_mnist
from .synthetic import PASS_RULE, circles, sine, two_spirals, will_i_pass, xor

__all__ = [
    "FASHION_MNIST_CLASSES",
    "PASS_RULE",
    "IdxError",
    "ImageSplit",
    "circles",
    "fashion_mnist",
    "parse_idx",
    "read_idx",
    "sine",
    "two_spirals",
    "will_i_pass",
    "xor",
]
