"""Metrics that `fit` reports: names ("accuracy", "mae", ...) or callables
`(y_pred, y_true) -> float`, computed once per epoch on the epoch's predictions collected as
NumPy arrays (so macro F1 or R² are exact, not averages of batch values)."""

from __future__ import annotations

import numpy as np

from neurona import metrics as M


def _labels_from_scores(y_pred: np.ndarray, threshold: float) -> np.ndarray:
    """Predicted classes: argmax of (N, C) scores, or single-column scores >= threshold."""
    if y_pred.ndim == 2 and y_pred.shape[1] >= 2:
        return y_pred.argmax(axis=1)
    return (y_pred.reshape(-1) >= threshold).astype(np.int64)


def _threshold(loss_fn) -> float:
    """0 for losses that take logits (BCEWithLogitsLoss), else 0.5 (probabilities)."""
    return 0.0 if "logits" in type(loss_fn).__name__.lower() else 0.5


def _classifier(fn, loss_fn):
    th = _threshold(loss_fn)

    def metric(y_pred, y_true):
        y_true = np.asarray(y_true)
        if y_true.ndim == 2 and y_true.shape[1] == 1:
            y_true = y_true[:, 0]
        if y_true.ndim == 2:  # one-hot or probability targets
            y_true = y_true.argmax(axis=1)
        return fn(y_true.astype(np.int64), _labels_from_scores(np.asarray(y_pred), th))

    return metric


def _regression(fn):
    def metric(y_pred, y_true):
        y_pred, y_true = np.asarray(y_pred), np.asarray(y_true)
        if y_pred.shape != y_true.shape and y_pred.size == y_true.size:
            y_true = y_true.reshape(y_pred.shape)
        return fn(y_true, y_pred)

    return metric


def _named(name: str, loss_fn):
    classifiers = {
        "accuracy": M.accuracy,
        "acc": M.accuracy,
        "binary_accuracy": M.accuracy,
        "f1": lambda t, p: M.f1(t, p, average="macro"),
        "precision": lambda t, p: M.precision(t, p, average="macro"),
        "recall": lambda t, p: M.recall(t, p, average="macro"),
    }
    regressions = {"mse": M.mse, "mae": M.mae, "rmse": M.rmse, "r2": M.r2_score}
    if name in classifiers:
        return _classifier(classifiers[name], loss_fn)
    if name in regressions:
        return _regression(regressions[name])
    known = ", ".join([*classifiers, *regressions])
    raise ValueError(f"unknown metric {name!r}; known names: {known}, or pass a callable "
                     "(y_pred, y_true) -> float")


def resolve(metrics, loss_fn) -> list[tuple[str, object]]:
    """[(log key, fn(y_pred, y_true) -> float)] for `fit`'s `metrics` argument."""
    if metrics is None:
        return []
    if isinstance(metrics, str) or callable(metrics):
        metrics = [metrics]
    out = []
    for m in metrics:
        if isinstance(m, str):
            key = "accuracy" if m == "acc" else m
            out.append((key, _named(m, loss_fn)))
        elif callable(m):
            out.append((getattr(m, "__name__", type(m).__name__), m))
        else:
            raise TypeError(f"metrics must be names or callables, got {type(m).__name__}")
    keys = [k for k, _ in out]
    if len(set(keys)) != len(keys):
        raise ValueError(f"two metrics share a name: {keys}")
    if "loss" in keys:
        raise ValueError("a metric cannot be called 'loss' (fit logs the loss itself)")
    return out
