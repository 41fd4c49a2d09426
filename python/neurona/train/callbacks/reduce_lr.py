"""`ReduceLROnPlateau` as a callback: multiply the optimizer's learning rates by `factor` when
a monitored value stops improving (Keras' callback; `neurona.optim.lr_scheduler` has the
PyTorch-style scheduler of the same name, which `fit(scheduler=...)` also accepts)."""

from __future__ import annotations

from .base import Callback, initial_best, is_improvement, monitored_value, resolve_mode


class ReduceLROnPlateau(Callback):
    """Lower every param group's `lr` to `max(lr * factor, min_lr)` after `patience` epochs
    without an improvement of more than `min_delta` in `monitor`, then wait `cooldown` epochs
    before counting again.

    The optimizer is the one `fit` trains with, or `optimizer` if given (to drive the callback
    by hand). Each epoch it writes the current learning rate into the logs as "lr", so the
    History records it.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, min_lr: float = 0.0, optimizer=None):
        super().__init__()
        if not 0.0 < factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1), got {factor}")
        if patience < 0 or cooldown < 0:
            raise ValueError("ReduceLROnPlateau: patience and cooldown must be >= 0")
        self.monitor = monitor
        self.factor = float(factor)
        self.patience = int(patience)
        self.verbose = verbose
        self.mode = resolve_mode(mode, monitor, "ReduceLROnPlateau")
        self.min_delta = abs(float(min_delta))
        self.cooldown = int(cooldown)
        self.min_lr = float(min_lr)
        self._optimizer = optimizer
        self.best = initial_best(self.mode)
        self.wait = 0
        self.cooldown_counter = 0

    def _groups(self):
        opt = self._optimizer if self._optimizer is not None else self.run.optimizer
        if opt is None:
            raise ValueError("ReduceLROnPlateau: no optimizer (pass optimizer=... or use fit)")
        return opt.param_groups

    def on_epoch_end(self, epoch, logs=None):
        current = monitored_value(logs, self.monitor, "ReduceLROnPlateau")
        groups = self._groups()
        in_cooldown = self.cooldown_counter > 0
        if in_cooldown:
            self.cooldown_counter -= 1
            self.wait = 0
        if is_improvement(current, self.best, self.mode, self.min_delta):
            self.best = current
            self.wait = 0
        elif not in_cooldown:
            self.wait += 1
            if self.wait >= self.patience:
                for g in groups:
                    old = float(g["lr"])
                    if old > self.min_lr:
                        g["lr"] = max(old * self.factor, self.min_lr)
                        if self.verbose:
                            print(f"Epoch {epoch + 1}: ReduceLROnPlateau lowers lr to {g['lr']:.3g}")
                self.cooldown_counter = self.cooldown
                self.wait = 0
        if logs is not None:
            logs["lr"] = float(groups[0]["lr"])

    def state_dict(self) -> dict:
        return {"best": self.best, "wait": self.wait, "cooldown_counter": self.cooldown_counter}

    def load_state_dict(self, state: dict) -> None:
        self.best = float(state["best"])
        self.wait = int(state["wait"])
        self.cooldown_counter = int(state["cooldown_counter"])
