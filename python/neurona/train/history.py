"""`History`: what `fit` returns — the per-epoch logs as Keras' `history.history` dict — and
`History.plot`, which draws the learning curves with matplotlib (the optional `plot` extra)."""

from __future__ import annotations

import os

from .callbacks.base import Callback


class History(Callback):
    """The record of a training run.

    `history`: {"loss": [...], "accuracy": [...], "val_loss": [...], ...}, one value per
    epoch; `epoch`: the 0-based epoch numbers recorded (a resumed run keeps the earlier ones);
    `params`: {"epochs", "steps", "batch_size", "samples"}. `fit` runs it after every other
    callback, so keys they add to the logs (e.g. "lr") are recorded too.
    """

    def __init__(self):
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []
        self.params: dict = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(int(epoch))
        for k, v in (logs or {}).items():
            # A key that first appears late is padded so every list lines up with .epoch.
            self.history.setdefault(k, [float("nan")] * (len(self.epoch) - 1)).append(float(v))

    def state_dict(self) -> dict:
        return {"history": {k: list(v) for k, v in self.history.items()},
                "epoch": list(self.epoch)}

    def load_state_dict(self, state: dict) -> None:
        self.history = {k: [float(x) for x in v] for k, v in state["history"].items()}
        self.epoch = [int(e) for e in state["epoch"]]

    def __repr__(self) -> str:
        keys = ", ".join(self.history)
        return f"History(epochs={len(self.epoch)}, keys=[{keys}])"

    def plot(self, path=None, keys=None):
        """Draw the learning curves: one panel per quantity (loss, then each metric), the
        training curve and its "val_" twin together, epochs (1-based) on the x axis.

        Saves a PNG to `path` if given (returns the path), else returns the matplotlib
        Figure. Needs matplotlib: `pip install neurona[plot]`.
        """
        try:
            import matplotlib
        except ImportError:
            raise ImportError(
                "History.plot needs matplotlib, an optional extra: pip install neurona[plot]"
            ) from None
        if path is not None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        names = keys if keys is not None else [k for k in self.history
                                               if not k.startswith("val_")]
        names = [k for k in names if k in self.history or f"val_{k}" in self.history]
        if not names:
            raise ValueError("History.plot: nothing to plot (no epochs recorded)")
        fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.5), squeeze=False)
        xs = [e + 1 for e in self.epoch]
        for ax, name in zip(axes[0], names):
            for key, label in ((name, "train"), (f"val_{name}", "validation")):
                if key in self.history:
                    ax.plot(xs, self.history[key], marker="o", markersize=3, label=label)
            ax.set_title(name)
            ax.set_xlabel("epoch")
            ax.grid(True, alpha=0.3)
            ax.legend()
        fig.tight_layout()
        if path is None:
            return fig
        path = os.fspath(path)
        fig.savefig(path, format="png", dpi=100)
        plt.close(fig)
        return path
