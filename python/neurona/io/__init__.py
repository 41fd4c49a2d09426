"""Saving and loading: safetensors files of named Tensors (`save`/`load`, readable by PyTorch
and the `safetensors` package) and full training checkpoints (`save_checkpoint`/
`load_checkpoint`). Every write is atomic: a crash leaves the previous file intact.
"""

from __future__ import annotations

from ..data._convert import to_tensor
from . import _safetensors
from ._atomic import atomic_write
from ._safetensors import SafetensorsError
from .checkpoint import load_checkpoint, save_checkpoint


def save(state_dict, path, metadata: dict | None = None) -> None:
    """Save a dict of name -> Tensor/array (or an object with `.state_dict()`, such as a
    module) to `path` in the safetensors format, atomically.

    Floating values are stored as F32, integers as I64 and booleans as BOOL (the Tensor dtypes);
    `metadata` is an optional str -> str dict kept in the file's "__metadata__".
    """
    if hasattr(state_dict, "state_dict") and not isinstance(state_dict, dict):
        state_dict = state_dict.state_dict()
    if not isinstance(state_dict, dict):
        raise TypeError(f"save needs a dict of tensors, got {type(state_dict).__name__}")
    _safetensors.write(state_dict, path, metadata)


def load(path) -> dict:
    """Load a safetensors file as a dict of name -> Tensor, in file order.

    F32/F64/F16/BF16 tensors become float32 Tensors, I64/I32/I16/I8/U64/U32/U16/U8 ones int64
    Tensors, BOOL ones bool Tensors. A malformed file raises `SafetensorsError` (a ValueError).
    """
    arrays, _ = _safetensors.read(path)
    return {name: to_tensor(a) for name, a in arrays.items()}


def load_metadata(path) -> dict:
    """The str -> str "__metadata__" of a safetensors file ({} if it has none)."""
    return dict(_safetensors.read_metadata(path))


__all__ = [
    "SafetensorsError",
    "atomic_write",
    "load",
    "load_checkpoint",
    "load_metadata",
    "save",
    "save_checkpoint",
]
