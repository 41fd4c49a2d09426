"""``optim.SGD``: stochastic gradient descent with optional (Nesterov) momentum, dampening,
L2 weight decay and maximize, as ``torch.optim.SGD``:

    g = grad (+ weight_decay * p)          (negated when maximize)
    buf = g at the first step, then momentum * buf + (1 - dampening) * g
    g = g + momentum * buf (nesterov) or buf
    p = p - lr * g
"""

from __future__ import annotations

from neurona import _core
from neurona.creation import zeros_like
from neurona.optim.optimizer import Optimizer, _check_non_negative


class SGD(Optimizer):
    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False):
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay,
                        "nesterov": nesterov, "maximize": maximize}
        super().__init__(params, defaults)

    def _validate_group(self, group: dict) -> None:
        _check_non_negative("learning rate", group["lr"])
        _check_non_negative("momentum value", group["momentum"])
        _check_non_negative("weight_decay value", group["weight_decay"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def _update(self, p, grad, state, group) -> None:
        buf = None
        first = False
        if group["momentum"] != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = zeros_like(p)
                first = True
        _core.sgd_step(
            p._c, grad._c, None if buf is None else buf._c,
            lr=float(group["lr"]), momentum=float(group["momentum"]), dampening=float(group["dampening"]),
            nesterov=bool(group["nesterov"]), weight_decay=float(group["weight_decay"]),
            maximize=bool(group["maximize"]), step=1 if first else 2,
        )
