"""``neurona.cuda``: whether a CUDA GPU can be used, as ``torch.cuda``.

Without the ``cuda`` build feature (the default wheel), ``is_available()`` is False and moving
a tensor to "cuda" raises a clear error. With it (``maturin build --release --features cuda``),
``is_available()`` is True when an NVIDIA driver and a GPU are present; kernels are compiled at
run time by NVRTC, and matrix products use cuBLAS (see docs/cuda.md)."""

from __future__ import annotations

import glob
import os
import sys

from neurona import _core

__all__ = ["current_device", "device_count", "get_device_name", "is_available", "synchronize"]


def _library_dirs() -> list:
    """The ``lib`` folders of installed ``nvidia-*`` wheels (cuBLAS, NVRTC live there, outside the
    loader's search path); the core looks there when the system has no CUDA libraries."""
    dirs = []
    for base in sys.path:
        if base and os.path.isdir(os.path.join(base, "nvidia")):
            dirs.extend(sorted(glob.glob(os.path.join(base, "nvidia", "*", "lib"))))
    return dirs


if _core.cuda_compiled():
    _core.cuda_add_library_dirs(_library_dirs())


def is_available() -> bool:
    """True when neurona was built with CUDA and a driver and at least one GPU are present."""
    return bool(_core.cuda_is_available())


def device_count() -> int:
    return int(_core.cuda_device_count())


def _index(device) -> int:
    if device is None:
        return 0
    if isinstance(device, int):
        return device
    from neurona._device import device as _device

    d = _device(device) if isinstance(device, str) else device
    if not isinstance(d, _device) or d.type != "cuda":
        raise ValueError(f"expected a CUDA device, got {device!r}")
    return d.index or 0


def current_device() -> int:
    """neurona uses device 0 unless a tensor is moved to another one explicitly."""
    return 0


def get_device_name(device=None) -> str:
    if not is_available():
        raise RuntimeError("no CUDA device is available (neurona was built without CUDA, or no GPU/driver is present)")
    return _core.cuda_device_name(_index(device))


def synchronize(device=None) -> None:
    """Waits until all queued GPU work on ``device`` is done (GPU calls return before then)."""
    _core.cuda_synchronize(_index(device))
