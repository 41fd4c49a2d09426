"""``optim.Adam`` and ``optim.AdamW``, as ``torch.optim.Adam``/``AdamW``:

    Adam: g = grad + weight_decay * p        AdamW: p = p * (1 - lr * weight_decay)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g^2         (amsgrad: vmax = max(vmax, v) replaces v)
    p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
"""

from __future__ import annotations

from neurona import _core
from neurona.creation import zeros_like
from neurona.optim.optimizer import Optimizer, _check_non_negative


class Adam(Optimizer):
    """Adam; ``weight_decay`` is an L2 term added to the gradient (see AdamW for decoupled)."""

    _decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 amsgrad: bool = False, *, maximize: bool = False):
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay, "amsgrad": amsgrad,
                        "maximize": maximize}
        super().__init__(params, defaults)

    def _validate_group(self, group: dict) -> None:
        _check_non_negative("learning rate", group["lr"])
        _check_non_negative("epsilon value", group["eps"])
        betas = group["betas"]
        if len(betas) != 2:
            raise ValueError(f"Invalid betas: expected a pair (beta1, beta2), got {betas}")
        for i, b in enumerate(betas):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {b}")
        _check_non_negative("weight_decay value", group["weight_decay"])

    def _update(self, p, grad, state, group) -> None:
        if "exp_avg" not in state:
            state["step"] = 0
            state["exp_avg"] = zeros_like(p)
            state["exp_avg_sq"] = zeros_like(p)
        if group["amsgrad"] and state.get("max_exp_avg_sq") is None:
            state["max_exp_avg_sq"] = zeros_like(p)
        state["step"] += 1
        vmax = state["max_exp_avg_sq"] if group["amsgrad"] else None
        beta1, beta2 = group["betas"]
        _core.adam_step(
            p._c, grad._c, state["exp_avg"]._c, state["exp_avg_sq"]._c, None if vmax is None else vmax._c,
            lr=float(group["lr"]), beta1=float(beta1), beta2=float(beta2), eps=float(group["eps"]),
            weight_decay=float(group["weight_decay"]), decoupled=self._decoupled, amsgrad=bool(group["amsgrad"]),
            maximize=bool(group["maximize"]), step=int(state["step"]),
        )


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): the parameter shrinks by
    ``lr * weight_decay`` each step, separately from the gradient's moments."""

    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False, *, maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
