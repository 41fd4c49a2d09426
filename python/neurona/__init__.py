"""neurona: deep learning that reads like the course, with a fast Rust core.

The top level holds the Tensor, its creation functions and operations, grad mode, the random
seed, threads and devices, as in ``torch``. Layers and losses are in ``neurona.nn``,
optimizers in ``neurona.optim``."""

from neurona import _core
from neurona._core import __version__
from neurona._device import device
from neurona._dtypes import bool_ as bool
from neurona._dtypes import dtype, float32, int64
from neurona._grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from neurona.creation import *
from neurona.creation import __all__ as _creation_all
from neurona.io import load, load_checkpoint, save, save_checkpoint
from neurona.ops import *
from neurona.tensor import Tensor

float = float32
long = int64


def set_num_threads(n: int) -> None:
    """Sets how many threads the kernels use (results are identical for any count)."""
    _core.set_num_threads(int(n))


def get_num_threads() -> int:
    return _core.get_num_threads()


def isa() -> str:
    """The matrix-multiply micro-kernel in use (avx512, avx2, neon or portable)."""
    return _core.isa_name()


# Subpackages come last: they use the Tensor and its functions at import time.
from neurona import autograd, backends, cuda, data, datasets, io, metrics, nn, optim, train

__all__ = [  # noqa: PLE0604 - the creation names are strings too
    "Tensor", "device", "dtype", "float32", "int64", "bool", "no_grad", "enable_grad",
    "set_grad_enabled", "is_grad_enabled", "autograd", "backends", "cuda", "set_num_threads",
    "get_num_threads", "isa", "__version__", "data", "datasets", "io", "metrics", "nn", "optim",
    "train", "save", "load", "save_checkpoint", "load_checkpoint", *_creation_all,
]
