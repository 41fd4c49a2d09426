"""``optim.Adadelta``, as ``torch.optim.Adadelta``:

    g = grad (+ weight_decay * p)
    v = rho * v + (1 - rho) * g^2
    d = sqrt(u + eps) / sqrt(v + eps) * g
    u = rho * u + (1 - rho) * d^2
    p = p - lr * d
"""

from __future__ import annotations

from neurona import _core
from neurona.creation import zeros_like
from neurona.optim.optimizer import Optimizer, _check_non_negative


class Adadelta(Optimizer):
    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0,
                 *, maximize: bool = False):
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay, "maximize": maximize}
        super().__init__(params, defaults)

    def _validate_group(self, group: dict) -> None:
        _check_non_negative("learning rate", group["lr"])
        if not 0.0 <= group["rho"] <= 1.0:
            raise ValueError(f"Invalid rho value: {group['rho']}")
        _check_non_negative("epsilon value", group["eps"])
        _check_non_negative("weight_decay value", group["weight_decay"])

    def _update(self, p, grad, state, group) -> None:
        if "square_avg" not in state:
            state["step"] = 0
            state["square_avg"] = zeros_like(p)
            state["acc_delta"] = zeros_like(p)
        state["step"] += 1
        _core.adadelta_step(
            p._c, grad._c, state["square_avg"]._c, state["acc_delta"]._c,
            lr=float(group["lr"]), rho=float(group["rho"]), eps=float(group["eps"]),
            weight_decay=float(group["weight_decay"]), maximize=bool(group["maximize"]), step=int(state["step"]),
        )
