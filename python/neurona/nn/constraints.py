"""Weight constraints, applied after each optimizer step (as Keras' kernel constraints):

    optimizer.step()
    nn.MaxNorm(3.0).apply(model)          # or nn.utils.apply_constraints(model, nn.NonNeg())

``NonNeg()`` clamps weights to >= 0. ``MaxNorm(max_value, dim=0)`` rescales every slice of a
weight along ``dim`` whose 2-norm exceeds ``max_value`` back to that norm (``torch.renorm``'s
convention): with ``dim=0`` each output unit's incoming weight vector of a Linear (out, in)
or each filter of a Conv2d (out, in, kH, kW) is limited.

``apply`` takes a Module (then its parameters with at least 2 dimensions: weight matrices
and kernels, not biases), a single tensor, or an iterable of tensors. Updates are in place,
outside the graph."""

from __future__ import annotations

from neurona import ops as _ops
from neurona._grad_mode import no_grad


def _targets(obj):
    from neurona.nn.module import Module
    from neurona.tensor import Tensor

    if isinstance(obj, Module):
        return [p for p in obj.parameters() if p.dim() >= 2]
    if isinstance(obj, Tensor):
        return [obj]
    return list(obj)


class Constraint:
    """Base class: ``constraint(w)`` returns the projected values; ``apply`` writes them."""

    def __call__(self, w):
        raise NotImplementedError

    def apply(self, obj):
        """Projects the weights of ``obj`` (a Module, tensor or iterable of tensors) in place."""
        with no_grad():
            for w in _targets(obj):
                w.copy_(self(w.detach()))
        return obj


class NonNeg(Constraint):
    """Weights >= 0."""

    def __call__(self, w):
        return _ops.clamp(w, min=0.0)

    def __repr__(self) -> str:
        return "NonNeg()"


class MaxNorm(Constraint):
    """Each slice along ``dim`` has a 2-norm of at most ``max_value``."""

    def __init__(self, max_value: float = 2.0, dim: int = 0):
        if max_value <= 0:
            raise ValueError(f"MaxNorm: max_value must be positive, got {max_value}")
        self.max_value = float(max_value)
        self.dim = dim

    def __call__(self, w):
        if w.dim() == 0:
            axes = []
        else:
            d = self.dim % w.dim()
            axes = [a for a in range(w.dim()) if a != d]
        norm = _ops.sqrt((w * w).sum(axes, keepdim=True)) if axes else _ops.abs(w)
        # Slices within the limit keep their exact values (factor 1), as torch.renorm.
        factor = _ops.where(norm > self.max_value, self.max_value / (norm + 1e-7), 1.0)
        return w * factor

    def __repr__(self) -> str:
        return f"MaxNorm(max_value={self.max_value}, dim={self.dim})"
