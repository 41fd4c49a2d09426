"""Progress display for `fit`: a tqdm bar per epoch (verbose=1) or one line per epoch
(verbose=2); verbose=0 prints nothing.

The bar counts samples, so tqdm's rate reads samples/s; the running loss in its postfix is
refreshed at most every `mininterval` seconds, so drawing never slows training down.
"""

from __future__ import annotations

import sys
import time

from .callbacks.base import Callback


def format_logs(logs: dict) -> str:
    return " - ".join(f"{k}: {v:.4g}" for k, v in logs.items())


def _tqdm_class():
    # tqdm.auto picks the notebook widget under IPython, but importing it costs ~0.3 s of
    # imports in a plain script; use it only when IPython is already running.
    if "IPython" in sys.modules:
        from tqdm.auto import tqdm
    else:
        from tqdm import tqdm
    return tqdm


class ProgressBar(Callback):
    """Shows training progress; `fit` adds it for verbose=1 or 2."""

    def __init__(self, verbose: int, epochs: int, samples: int, mininterval: float = 0.2,
                 file=None):
        super().__init__()
        if verbose not in (1, 2):
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
        self.verbose = verbose
        self.epochs = int(epochs)
        self.samples = int(samples)
        self.mininterval = float(mininterval)
        self.file = file
        self._bar = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        self._seen = 0
        self._loss_sum = 0.0
        self._last_postfix = 0.0
        if self.verbose == 1:
            tqdm = _tqdm_class()
            self._bar = tqdm(
                total=self.samples, desc=f"Epoch {epoch + 1}/{self.epochs}", unit="samples",
                unit_scale=True, mininterval=self.mininterval, leave=True,
                file=self.file if self.file is not None else sys.stderr, dynamic_ncols=True,
            )

    def on_batch_end(self, batch, logs=None):
        logs = logs or {}
        n = int(logs.get("size", 0))
        self._seen += n
        self._loss_sum += float(logs.get("loss", 0.0)) * n
        if self._bar is not None:
            self._bar.update(n)
            now = time.perf_counter()
            if now - self._last_postfix >= self.mininterval:
                self._last_postfix = now
                self._bar.set_postfix(loss=f"{self._loss_sum / max(self._seen, 1):.4f}",
                                      refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        elapsed = time.perf_counter() - self._start
        rate = self._seen / elapsed if elapsed > 0 else float("inf")
        shown = {k: v for k, v in (logs or {}).items()}
        if self._bar is not None:
            self._bar.set_postfix_str(format_logs(shown), refresh=False)
            self._bar.close()
            self._bar = None
        else:
            out = self.file if self.file is not None else sys.stdout
            print(f"Epoch {epoch + 1}/{self.epochs} - {elapsed:.1f}s - {rate:,.0f} samples/s - "
                  f"{format_logs(shown)}", file=out, flush=True)

    def on_train_end(self, logs=None):
        if self._bar is not None:  # training stopped in the middle of an epoch
            self._bar.close()
            self._bar = None
