"""Gradient clipping, as ``torch.nn.utils.clip_grad_norm_`` and ``clip_grad_value_`` (also
exported from ``neurona.nn.utils``). Norms are computed in double precision by the Rust core
with a summation order fixed by the data, and gradients are scaled or clamped in place."""

from __future__ import annotations

import math

from neurona import _core
from neurona.tensor import Tensor


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None):
    """Rescales all gradients together so that their joint ``norm_type``-norm is at most
    ``max_norm`` (factor ``max_norm / (norm + 1e-6)``, when below 1). Returns the norm before
    clipping as a 0-d tensor."""
    from neurona.creation import tensor

    grads = _grads(parameters)
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not grads:
        return tensor(0.0)
    if norm_type == 2.0 or norm_type == math.inf:
        total = _core.total_norm([g._c for g in grads], norm_type)
    elif norm_type > 0:
        s = 0.0
        for g in grads:
            s += float((g.abs() ** norm_type).sum().item())
        total = s ** (1.0 / norm_type)
    else:
        raise ValueError(f"clip_grad_norm_: norm_type must be positive (or inf), got {norm_type}")
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it cannot "
            "be clipped. To disable this error and scale the gradients by the non-finite norm anyway, set "
            "`error_if_nonfinite=False`"
        )
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for g in grads:
            _core.scale_(g._c, coef)
    return tensor(total)


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamps every gradient element into [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    for g in _grads(parameters):
        _core.clamp_(g._c, -clip_value, clip_value)
