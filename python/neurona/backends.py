"""``neurona.backends``: switches of the compute backends, with ``torch.backends``' names.

``neurona.backends.cuda.matmul.allow_tf32 = True`` lets cuBLAS use TF32 tensor cores for float32
matrix products (faster, about 3 decimal digits); it is False by default, so GPU results match
the CPU's to float32 precision."""

from __future__ import annotations

from neurona import _core

__all__ = ["cuda"]


class _Switches:
    """Refuses unknown attributes, so a typo does not silently set nothing."""

    __slots__ = ()

    def __setattr__(self, name, value):
        if not hasattr(type(self), name):
            raise AttributeError(f"unknown attribute {name!r} of {type(self).__name__}")
        object.__setattr__(self, name, value)


class _CudaMatmul(_Switches):
    __slots__ = ()

    @property
    def allow_tf32(self) -> bool:
        return bool(_core.get_allow_tf32())

    @allow_tf32.setter
    def allow_tf32(self, on: bool) -> None:
        _core.set_allow_tf32(bool(on))


class _Cuda(_Switches):
    __slots__ = ()
    matmul = _CudaMatmul()

    @staticmethod
    def is_built() -> bool:
        """True when this neurona was compiled with the CUDA backend."""
        return bool(_core.cuda_compiled())


cuda = _Cuda()
