"""`ModelCheckpoint`: save the model (or the whole training run) after epochs, every epoch or
only when a monitored value improves."""

from __future__ import annotations

import os

from .base import Callback, initial_best, is_improvement, monitored_value, resolve_mode


class ModelCheckpoint(Callback):
    """Save at the end of epochs to `filepath`.

    `filepath` may hold format fields filled from the epoch number (1-based, as Keras) and the
    logs: "ckpt-{epoch:02d}-{val_loss:.3f}.safetensors".

    - `save_weights_only=True`: a safetensors file of the model's state_dict (`neurona.load`
      reads it, so does PyTorch's safetensors).
    - `save_weights_only=False` (default): a full checkpoint of the run (model, optimizer,
      scheduler, callback states, epoch, random generators) that `fit(..., resume_from=path)`
      continues from exactly.
    - `save_best_only=True`: save only when `monitor` improves on the best seen (`mode` as in
      `EarlyStopping`); the best value is part of this callback's state, so it survives a
      resume and a resumed run does not overwrite a better file with a worse one.

    A `monitor` (or format field) missing from the logs raises ValueError.
    """

    def __init__(self, filepath, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto"):
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.mode = resolve_mode(mode, monitor, "ModelCheckpoint")
        self.best = initial_best(self.mode)
        self.last_saved = None

    def format_path(self, epoch: int, logs) -> str:
        try:
            return self.filepath.format(epoch=epoch + 1, **(logs or {}))
        except KeyError as e:
            available = ", ".join(["epoch", *sorted(logs or {})])
            raise ValueError(
                f"ModelCheckpoint: filepath {self.filepath!r} names {e.args[0]!r}, which is not "
                f"in the logs; available keys: {available}"
            ) from None

    def on_epoch_end(self, epoch, logs=None):
        if self.save_best_only:
            current = monitored_value(logs, self.monitor, "ModelCheckpoint")
            if not is_improvement(current, self.best, self.mode, 0.0):
                return
            if self.verbose:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{current:.5f}")
            self.best = current
        path = self.format_path(epoch, logs)
        self.run.epoch = epoch
        self.run.request_save(path, self.save_weights_only)
        self.last_saved = path
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved {path}")

    def state_dict(self) -> dict:
        return {"best": self.best, "last_saved": self.last_saved}

    def load_state_dict(self, state: dict) -> None:
        self.best = float(state["best"])
        self.last_saved = state.get("last_saved")
