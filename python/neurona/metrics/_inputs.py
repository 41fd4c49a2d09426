"""Turning metric inputs (Tensors or arrays; labels, one-hot rows or scores) into int64 label
vectors or 0/1 indicator matrices, with clear errors for what cannot be read."""

from __future__ import annotations

import numpy as np

from ..data._convert import as_array


def labels(y, name: str) -> np.ndarray:
    """Class labels as a 1-D int64 array.

    Accepted: integer (or integer-valued float, or boolean) labels of shape (N,) or (N, 1), and
    scores, logits, probabilities or one-hot rows of shape (N, C) with C >= 2, whose argmax is
    taken (the first maximum on ties).
    """
    a = as_array(y)
    if a.ndim == 2 and a.shape[1] >= 2:
        a = a.argmax(axis=1)
    elif a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    elif a.ndim != 1:
        raise ValueError(
            f"{name} must be labels of shape (N,) or scores of shape (N, C), got shape {a.shape}"
        )
    if a.dtype.kind == "b":
        a = a.astype(np.int64)
    elif a.dtype.kind == "f":
        if not (np.isfinite(a).all() and (a == np.round(a)).all()):
            raise ValueError(
                f"{name} holds non-integer values; 1-D (or (N, 1)) predictions must be class "
                "labels. Threshold single-column scores first, e.g. (probs >= 0.5), or pass "
                "(N, C) scores to take their argmax"
            )
    elif a.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold numbers, got dtype {a.dtype}")
    a = a.astype(np.int64)
    if a.size and a.min() < 0:
        raise ValueError(f"{name} holds a negative label ({a.min()}); labels are 0..C-1")
    return a


def label_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t = labels(y_true, "y_true")
    p = labels(y_pred, "y_pred")
    same_length(t, p)
    if t.size == 0:
        raise ValueError("y_true and y_pred are empty")
    return t, p


def same_length(t: np.ndarray, p: np.ndarray) -> None:
    if t.shape[0] != p.shape[0]:
        raise ValueError(
            f"y_true and y_pred must have the same number of samples, got {t.shape[0]} and "
            f"{p.shape[0]}"
        )


def indicators(y, name: str, threshold: float | None) -> np.ndarray:
    """A multi-label (N, L) matrix of 0/1 as bool. With `threshold`, values >= threshold are 1
    (for probabilities use 0.5, for logits 0.0); without, values must already be 0 or 1."""
    a = as_array(y)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a multi-label matrix of shape (N, L), got {a.shape}")
    if threshold is not None:
        if a.dtype.kind == "b":
            return a
        if a.dtype.kind == "f" and np.isnan(a).any():
            raise ValueError(f"{name} contains NaN")
        return a >= threshold
    if not np.isin(a, (0, 1)).all():
        raise ValueError(f"{name} must hold only 0 and 1 (multi-label indicators)")
    return a.astype(bool)


def indicator_pair(y_true, y_pred, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    t = indicators(y_true, "y_true", None)
    p = indicators(y_pred, "y_pred", threshold)
    if t.shape != p.shape:
        raise ValueError(
            f"y_true and y_pred must have the same shape (N, L), got {t.shape} and {p.shape}"
        )
    if t.shape[0] == 0:
        raise ValueError("y_true and y_pred are empty")
    return t, p
