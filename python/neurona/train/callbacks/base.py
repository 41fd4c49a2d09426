"""The callback protocol: `Callback` (Keras' hook names, plus `state_dict`/`load_state_dict`
so a resumed run continues with the same counters), the `RunState` that `fit` shares with its
callbacks (the model, the optimizer, the `stop_training` flag, pending checkpoint saves), and
`CallbackList`, which calls every callback's hook in order.

A callback can be driven by hand, without `fit`: `cb.set_model(model)` then
`cb.on_epoch_end(epoch, {"val_loss": 0.3})`; `cb.stop_training` reads the flag it raised.
"""

from __future__ import annotations

import math


class RunState:
    """What one training run shares with its callbacks.

    `save_fn(path, weights_only)`, when set by `fit`, writes a checkpoint of the whole run;
    callbacks ask for saves with `request_save`, and `fit` writes them once every callback's
    `on_epoch_end` has run, so a full checkpoint holds every callback's state for that epoch.
    Without `save_fn` (a callback driven by hand), saves happen at once and hold the model.
    """

    def __init__(self, model=None, optimizer=None):
        self.model = model
        self.optimizer = optimizer
        self.stop_training = False
        self.epoch = 0
        self.save_fn = None
        self.pending_saves: list[tuple[str, bool]] = []

    def request_save(self, path: str, weights_only: bool) -> None:
        if self.save_fn is not None:
            self.pending_saves.append((path, weights_only))
            return
        from neurona.train.checkpoint import save_model_only

        save_model_only(self.model, path, weights_only=weights_only, epoch=self.epoch)

    def flush_saves(self) -> None:
        saves, self.pending_saves = self.pending_saves, []
        for path, weights_only in saves:
            self.save_fn(path, weights_only)


class Callback:
    """Base class of training callbacks (Keras-style). Override the hooks you need.

    Hooks receive `logs`, a dict of the current values: per batch {"loss", "size"}, per epoch
    {"loss", metrics..., "val_loss", "val_" metrics...}. A callback may add keys to the epoch
    logs (`ReduceLROnPlateau` adds "lr"); `History` runs last and records them all.
    """

    def __init__(self):
        self._run: RunState | None = None

    # ----- shared run state ------------------------------------------------------------
    @property
    def run(self) -> RunState:
        if self._run is None:
            self._run = RunState()
        return self._run

    def set_run(self, run: RunState) -> None:
        self._run = run

    @property
    def model(self):
        return self.run.model

    def set_model(self, model) -> None:
        self.run.model = model

    @property
    def optimizer(self):
        return self.run.optimizer

    @property
    def stop_training(self) -> bool:
        """Set to True to end training after the current batch (in `on_batch_end`) or epoch."""
        return self.run.stop_training

    @stop_training.setter
    def stop_training(self, value: bool) -> None:
        self.run.stop_training = bool(value)

    # ----- hooks -------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch: int, logs=None):
        pass

    def on_epoch_end(self, epoch: int, logs=None):
        pass

    def on_batch_begin(self, batch: int, logs=None):
        pass

    def on_batch_end(self, batch: int, logs=None):
        pass

    # ----- resuming ----------------------------------------------------------------------
    def state_dict(self) -> dict:
        """What a resumed run needs to continue as if never stopped (counters, best values)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class CallbackList:
    """Calls the hooks of several callbacks in order, all sharing one `RunState`."""

    def __init__(self, callbacks, run: RunState):
        self.callbacks = list(callbacks)
        self.run = run
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(
                    f"callbacks must be neurona.train.Callback instances, got "
                    f"{type(cb).__name__}"
                )
            cb.set_run(run)

    def keys(self) -> list[str]:
        """A stable name per callback ("EarlyStopping", "EarlyStopping#2", ...) under which
        its state is stored in a checkpoint; re-creating the same callbacks in the same order
        finds the same names."""
        seen: dict[str, int] = {}
        out = []
        for cb in self.callbacks:
            name = type(cb).__name__
            seen[name] = seen.get(name, 0) + 1
            out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
        return out

    def state_dict(self) -> dict:
        return {k: cb.state_dict() for k, cb in zip(self.keys(), self.callbacks)}

    def load_state_dict(self, states: dict) -> None:
        for k, cb in zip(self.keys(), self.callbacks):
            if k in states:
                cb.load_state_dict(states[k])

    def __getattr__(self, hook: str):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def call(*args):
            for cb in self.callbacks:
                getattr(cb, hook)(*args)

        return call


# ----- helpers for callbacks that watch a logged value ---------------------------------------
_MAX_HINTS = ("acc", "f1", "precision", "recall", "auc", "r2", "specificity", "npv")


def resolve_mode(mode: str, monitor: str, who: str) -> str:
    """"min" or "max"; "auto" picks "max" for accuracy-like names, else "min" (as Keras)."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{who}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    name = monitor.lower()
    return "max" if any(h in name for h in _MAX_HINTS) else "min"


def monitored_value(logs, monitor: str, who: str) -> float:
    """logs[monitor] as a float; a missing key is an error that lists the keys there are."""
    logs = logs or {}
    if monitor not in logs:
        available = ", ".join(sorted(logs)) or "none"
        hint = ""
        if monitor.startswith("val_"):
            hint = " (val_ keys need validation data: pass val_data or validation_split to fit)"
        raise ValueError(
            f"{who}: monitored metric {monitor!r} is not in the logs{hint}; available keys: "
            f"{available}"
        )
    return float(logs[monitor])


def is_improvement(current: float, best: float, mode: str, min_delta: float) -> bool:
    """`current` beats `best` by more than `min_delta` (NaN never improves)."""
    if math.isnan(current):
        return False
    if mode == "min":
        return current < best - min_delta
    return current > best + min_delta


def initial_best(mode: str) -> float:
    return math.inf if mode == "min" else -math.inf
