"""``optim.RMSprop``, as ``torch.optim.RMSprop``:

    g = grad (+ weight_decay * p)
    v = alpha * v + (1 - alpha) * g^2
    centered: ga = alpha * ga + (1 - alpha) * g;  avg = sqrt(v - ga^2) + eps
    else:     avg = sqrt(v) + eps
    momentum > 0: buf = momentum * buf + g / avg;  p = p - lr * buf
    else:         p = p - lr * g / avg
"""

from __future__ import annotations

from neurona import _core
from neurona.creation import zeros_like
from neurona.optim.optimizer import Optimizer, _check_non_negative


class RMSprop(Optimizer):
    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0,
                 momentum: float = 0, centered: bool = False, *, maximize: bool = False):
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps, "centered": centered,
                        "weight_decay": weight_decay, "maximize": maximize}
        super().__init__(params, defaults)

    def _validate_group(self, group: dict) -> None:
        _check_non_negative("learning rate", group["lr"])
        _check_non_negative("epsilon value", group["eps"])
        _check_non_negative("momentum value", group["momentum"])
        _check_non_negative("weight_decay value", group["weight_decay"])
        _check_non_negative("alpha value", group["alpha"])

    def _update(self, p, grad, state, group) -> None:
        if "square_avg" not in state:
            state["step"] = 0
            state["square_avg"] = zeros_like(p)
        if group["momentum"] > 0 and state.get("momentum_buffer") is None:
            state["momentum_buffer"] = zeros_like(p)
        if group["centered"] and state.get("grad_avg") is None:
            state["grad_avg"] = zeros_like(p)
        state["step"] += 1
        ga = state["grad_avg"] if group["centered"] else None
        mb = state["momentum_buffer"] if group["momentum"] > 0 else None
        _core.rmsprop_step(
            p._c, grad._c, state["square_avg"]._c, None if ga is None else ga._c, None if mb is None else mb._c,
            lr=float(group["lr"]), alpha=float(group["alpha"]), eps=float(group["eps"]),
            weight_decay=float(group["weight_decay"]), momentum=float(group["momentum"]),
            centered=bool(group["centered"]), maximize=bool(group["maximize"]), step=int(state["step"]),
        )
