"""``neurona.cuda``: whether a CUDA GPU can be used. Without the ``cuda`` build feature (the
default wheel), ``is_available()`` is False and moving a tensor to "cuda" raises a clear error."""

from __future__ import annotations

from neurona import _core


def is_available() -> bool:
    return bool(_core.cuda_is_available())


def device_count() -> int:
    return int(_core.cuda_device_count())


def get_device_name(device=0) -> str:
    if not is_available():
        raise RuntimeError("no CUDA device is available (neurona was built without CUDA, or no GPU/driver is present)")
    return _core.cuda_device_name(int(device))
