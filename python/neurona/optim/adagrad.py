"""``optim.Adagrad``, as ``torch.optim.Adagrad``:

    g = grad (+ weight_decay * p);  clr = lr / (1 + (t - 1) * lr_decay)
    sum = sum + g^2;                p = p - clr * g / (sqrt(sum) + eps)
"""

from __future__ import annotations

from neurona import _core
from neurona.creation import full_like
from neurona.optim.optimizer import Optimizer, _check_non_negative


class Adagrad(Optimizer):
    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, *, maximize: bool = False):
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                        "initial_accumulator_value": initial_accumulator_value, "maximize": maximize}
        super().__init__(params, defaults)

    def _validate_group(self, group: dict) -> None:
        _check_non_negative("learning rate", group["lr"])
        _check_non_negative("lr_decay value", group["lr_decay"])
        _check_non_negative("weight_decay value", group["weight_decay"])
        _check_non_negative("initial_accumulator_value value", group["initial_accumulator_value"])
        _check_non_negative("epsilon value", group["eps"])

    def _update(self, p, grad, state, group) -> None:
        if "sum" not in state:
            state["step"] = 0
            state["sum"] = full_like(p, group["initial_accumulator_value"])
        state["step"] += 1
        _core.adagrad_step(
            p._c, grad._c, state["sum"]._c,
            lr=float(group["lr"]), lr_decay=float(group["lr_decay"]), weight_decay=float(group["weight_decay"]),
            eps=float(group["eps"]), initial_accumulator_value=float(group["initial_accumulator_value"]),
            maximize=bool(group["maximize"]), step=int(state["step"]),
        )
