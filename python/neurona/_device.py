"""Devices: ``neurona.device("cpu")`` or ``"cuda"``/``"cuda:N"``. A device compares equal to
its string form, so ``t.device == "cpu"`` reads naturally."""

from __future__ import annotations


class device:
    __slots__ = ("index", "type")

    def __init__(self, spec="cpu", index=None):
        if isinstance(spec, device):
            self.type, self.index = spec.type, spec.index
            return
        if not isinstance(spec, str):
            raise TypeError(f"device: expected a string such as 'cpu' or 'cuda:0', got {type(spec).__name__}")
        kind, _, idx = spec.partition(":")
        if kind not in ("cpu", "cuda"):
            raise ValueError(f"unknown device '{spec}': expected 'cpu' or 'cuda[:N]'")
        if idx:
            if not idx.isdigit():
                raise ValueError(f"invalid device index in '{spec}'")
            index = int(idx)
        self.type = kind
        self.index = index if kind == "cuda" else None

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        return f"device(type='{self.type}'" + ("" if self.index is None else f", index={self.index}") + ")"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = device(other)
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and (self.index or 0) == (other.index or 0)

    def __hash__(self) -> int:
        return hash((self.type, self.index or 0))
