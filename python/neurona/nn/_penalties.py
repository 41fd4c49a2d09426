"""Regularisation penalties to add to a loss: L1 (lasso), L2 (ridge) and elastic net. Each
returns a differentiable 0-d tensor.

``params`` is an iterable of tensors or a Module; for a Module only the parameters with at
least 2 dimensions count (weight matrices and convolution kernels, not biases or
normalisation scales), as the course's penalty sums over the weights W.

Relation to the optimizers: ``weight_decay=wd`` in SGD adds ``wd * w`` to each gradient, which
is the gradient of ``(wd / 2) * l2_penalty([w])``."""

from __future__ import annotations


def _params(params):
    from neurona.nn.module import Module

    if isinstance(params, Module):
        return [p for p in params.parameters() if p.dim() >= 2]
    from neurona.tensor import Tensor

    if isinstance(params, Tensor):
        return [params]
    return list(params)


def _total(terms):
    from neurona.creation import zeros

    total = None
    for t in terms:
        total = t if total is None else total + t
    return zeros(()) if total is None else total


def l1_penalty(params):
    """sum over parameters of sum |w|."""
    return _total(p.abs().sum() for p in _params(params))


def l2_penalty(params):
    """sum over parameters of sum w^2 (the squared Frobenius norm, no 1/2)."""
    return _total((p * p).sum() for p in _params(params))


def elastic_net_penalty(params, l1_ratio: float = 0.5):
    """l1_ratio * l1_penalty + (1 - l1_ratio) * l2_penalty, with l1_ratio in [0, 1]."""
    if not 0.0 <= l1_ratio <= 1.0:
        raise ValueError(f"elastic_net_penalty: l1_ratio must be in [0, 1], got {l1_ratio}")
    ps = _params(params)
    return l1_penalty(ps) * l1_ratio + l2_penalty(ps) * (1.0 - l1_ratio)
