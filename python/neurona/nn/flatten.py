"""Reshaping layers: ``Flatten`` (dims start..end into one) and ``Unflatten`` (one dim into a
shape), views with no copy where the layout allows."""

from __future__ import annotations

from neurona.nn.module import Module


class Flatten(Module):
    """Flattens dims ``start_dim``..``end_dim`` (default: all but the batch dimension)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Expands dim ``dim`` into ``unflattened_size`` (whose product must equal its length)."""

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        if not isinstance(unflattened_size, (tuple, list)) or not all(isinstance(s, int) for s in unflattened_size):
            raise TypeError(f"unflattened_size must be a tuple of ints, got {unflattened_size!r}")
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, input):
        shape = list(input.shape)
        d = self.dim % input.dim()
        size = list(self.unflattened_size)
        if -1 in size:
            known = 1
            for s in size:
                if s != -1:
                    known *= s
            size[size.index(-1)] = shape[d] // known if known else 0
        prod = 1
        for s in size:
            prod *= s
        if prod != shape[d]:
            raise ValueError(
                f"Unflatten: cannot unflatten dim {self.dim} of size {shape[d]} into {self.unflattened_size}"
            )
        return input.reshape(shape[:d] + size + shape[d + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
