"""Multi-label classification metrics: each sample has L independent yes/no labels.

`y_true` is an (N, L) matrix of 0/1. `y_pred` is 0/1 too, or scores: every prediction is
binarized as `y_pred >= threshold` (default 0.5, for probabilities; use 0.0 for logits), which
leaves 0/1 predictions unchanged. Each label is its own two-class problem, so the per-label
counts give per-label metrics, and averages combine them (see `_counts`): "macro", "micro",
"weighted" (by the number of true positives of each label) and "samples" (per sample, then
the mean). Averages run over all L labels.
"""

from __future__ import annotations

import numpy as np

from . import _inputs
from ._counts import Counts, score


def multilabel_counts(y_true, y_pred, threshold: float = 0.5) -> Counts:
    t, p = _inputs.indicator_pair(y_true, y_pred, threshold)

    def counts(axis: int, include) -> Counts:
        tp = (t & p).sum(axis=axis)
        fp = (~t & p).sum(axis=axis)
        fn = (t & ~p).sum(axis=axis)
        tn = (~t & ~p).sum(axis=axis)
        return Counts(tp, fp, fn, tn, include)

    per_label = counts(0, np.ones(t.shape[1], dtype=bool))
    per_label.per_sample = counts(1, np.ones(t.shape[0], dtype=bool))
    return per_label


def multilabel_confusion_matrix(y_true, y_pred, threshold: float = 0.5) -> np.ndarray:
    """One 2 x 2 confusion matrix per label, shape (L, 2, 2), laid out as scikit-learn's:
    [[TN, FP], [FN, TP]] (rows = true 0/1, columns = predicted 0/1)."""
    c = multilabel_counts(y_true, y_pred, threshold)
    return np.stack([np.stack([c.tn, c.fp], -1), np.stack([c.fn, c.tp], -1)], -2).astype(np.int64)


def multilabel_accuracy(y_true, y_pred, threshold: float = 0.5) -> float:
    """Exact-match (subset) accuracy: the fraction of samples whose every label is right."""
    t, p = _inputs.indicator_pair(y_true, y_pred, threshold)
    return float((t == p).all(axis=1).mean())


def hamming_loss(y_true, y_pred, threshold: float = 0.5) -> float:
    """The fraction of individual labels that are wrong."""
    t, p = _inputs.indicator_pair(y_true, y_pred, threshold)
    return float((t != p).mean())


def _metric(name, y_true, y_pred, average, threshold, zero_division):
    if average == "binary":
        raise ValueError("average='binary' is not for multi-label data; use None or an average")
    return score(multilabel_counts(y_true, y_pred, threshold), name, average, 0, zero_division)


def multilabel_precision(y_true, y_pred, average=None, threshold=0.5, zero_division=0.0):
    """Precision (PPV) per label or averaged: TP / (TP + FP)."""
    return _metric("precision", y_true, y_pred, average, threshold, zero_division)


def multilabel_recall(y_true, y_pred, average=None, threshold=0.5, zero_division=0.0):
    """Recall (sensitivity, TPR) per label or averaged: TP / (TP + FN)."""
    return _metric("recall", y_true, y_pred, average, threshold, zero_division)


def multilabel_specificity(y_true, y_pred, average=None, threshold=0.5, zero_division=0.0):
    """Specificity (TNR) per label or averaged: TN / (TN + FP)."""
    return _metric("specificity", y_true, y_pred, average, threshold, zero_division)


def multilabel_npv(y_true, y_pred, average=None, threshold=0.5, zero_division=0.0):
    """Negative predictive value per label or averaged: TN / (TN + FN)."""
    return _metric("npv", y_true, y_pred, average, threshold, zero_division)


def multilabel_f1(y_true, y_pred, average=None, threshold=0.5, zero_division=0.0):
    """F1 per label or averaged: 2 TP / (2 TP + FP + FN)."""
    return _metric("f1", y_true, y_pred, average, threshold, zero_division)
