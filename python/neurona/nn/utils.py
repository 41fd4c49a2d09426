"""``nn.utils``: gradient clipping (``clip_grad_norm_``, ``clip_grad_value_``), flattening
parameters to a vector and back, and applying weight constraints."""

from __future__ import annotations

from neurona._grad_mode import no_grad
from neurona.optim.clip import clip_grad_norm_, clip_grad_value_


def apply_constraints(obj, *constraints):
    """Applies each constraint (``nn.NonNeg()``, ``nn.MaxNorm(3)``) to ``obj`` in place: a
    Module's weight matrices and kernels, a tensor, or an iterable of tensors."""
    from neurona.nn.constraints import _targets

    targets = _targets(obj)
    for c in constraints:
        c.apply(targets)
    return obj


def parameters_to_vector(parameters):
    """All parameters flattened and concatenated into one 1-D tensor."""
    from neurona.ops import cat

    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters) -> None:
    """Copies slices of the 1-D ``vec`` into the parameters, in order."""
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if vec.dim() != 1 or vec.numel() != total:
        raise ValueError(f"vector_to_parameters: expected a 1-D tensor of {total} elements, got shape {tuple(vec.shape)}")
    at = 0
    with no_grad():
        for p in params:
            n = p.numel()
            p.copy_(vec[at:at + n].reshape(p.shape))
            at += n


__all__ = ["apply_constraints", "clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]
