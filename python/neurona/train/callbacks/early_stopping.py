"""`EarlyStopping`: stop training when a monitored value has stopped improving, optionally
putting back the weights of the best epoch (Keras' semantics and argument names)."""

from __future__ import annotations

from .base import Callback, initial_best, is_improvement, monitored_value, resolve_mode


def copy_weights(model) -> dict:
    """A detached copy of the model's state_dict (later training steps do not change it)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by more than `min_delta` for `patience` epochs.

    - `mode`: "min", "max", or "auto" (max for accuracy-like names, else min).
    - `baseline`: a value to beat; training stops after `patience` epochs that do not beat it.
    - `start_from_epoch`: epochs before this one (0-based) are not watched (a warm-up).
    - `restore_best_weights`: at the end of training put back the weights of the best epoch,
      both when stopping early and when the epochs run out (the last epoch is not always the
      best). Nothing is restored if no epoch improved on the baseline.

    After training, `stopped_epoch` is the 0-based epoch at which it stopped (or None) and
    `best_epoch` the best one. A `monitor` missing from the logs raises ValueError.
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline=None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0):
        super().__init__()
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}")
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = int(patience)
        self.verbose = verbose
        self.mode = resolve_mode(mode, monitor, "EarlyStopping")
        self.baseline = None if baseline is None else float(baseline)
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = int(start_from_epoch)
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.best = self.baseline if self.baseline is not None else initial_best(self.mode)
        self.best_epoch = None
        self.stopped_epoch = None
        self.best_weights = None

    def on_train_begin(self, logs=None):
        self._reset()  # a callback reused for a second fit starts over (a resume reloads it)

    def on_epoch_end(self, epoch, logs=None):
        if epoch < self.start_from_epoch:
            return
        current = monitored_value(logs, self.monitor, "EarlyStopping")
        if is_improvement(current, self.best, self.mode, self.min_delta):
            self.best = current
            self.best_epoch = epoch
            self.wait = 0
            if self.restore_best_weights:
                self.best_weights = copy_weights(self.model)
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.stop_training = True

    def on_train_end(self, logs=None):
        if self.verbose and self.stopped_epoch is not None:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring the weights of the best epoch ({self.best_epoch + 1}).")
            self.model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict:
        return {
            "wait": self.wait,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "stopped_epoch": self.stopped_epoch,
            "best_weights": self.best_weights,
        }

    def load_state_dict(self, state: dict) -> None:
        self.wait = int(state["wait"])
        self.best = float(state["best"])
        self.best_epoch = state["best_epoch"]
        self.stopped_epoch = state["stopped_epoch"]
        self.best_weights = state["best_weights"]
