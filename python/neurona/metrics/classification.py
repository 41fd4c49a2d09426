"""Single-label classification metrics: accuracy, confusion matrix, precision, recall,
specificity, NPV and F1 (see `_counts` for the formulas, averages and zero division).

Inputs are Tensors or arrays: labels of shape (N,), or scores/logits/probabilities of shape
(N, C) whose argmax is the predicted class. Classes are 0..C-1 where C is `num_classes`, else
the larger of the widest score matrix and the largest label + 1. Per-class results
(`average=None`) have one entry per class 0..C-1. Averages run over every class 0..C-1 when
`num_classes` is given, else over the classes that occur in y_true or y_pred (as
scikit-learn does when `labels` is not given), so a class absent from both never drags a
macro average down.
"""

from __future__ import annotations

import numpy as np

from ..data._convert import as_array
from . import _inputs
from ._counts import Counts, score


def _width(*ys) -> int:
    """The number of columns of the widest (N, C) score input, or 0."""
    w = 0
    for y in ys:
        shape = np.shape(as_array(y))
        if len(shape) == 2 and shape[1] >= 2:
            w = max(w, shape[1])
    return w


def _check_num_classes(num_classes) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"num_classes must be a positive int, got {num_classes!r}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes}")
    return int(num_classes)


def _labels_and_classes(y_true, y_pred, num_classes):
    t, p = _inputs.label_pair(y_true, y_pred)
    top = int(max(t.max(), p.max()))
    if num_classes is None:
        return t, p, max(top + 1, _width(y_true, y_pred))
    c = _check_num_classes(num_classes)
    if top >= c:
        raise ValueError(f"label {top} is out of range for num_classes={c} (labels are 0..{c - 1})")
    return t, p, c


def _matrix(t: np.ndarray, p: np.ndarray, c: int) -> np.ndarray:
    return np.bincount(t * c + p, minlength=c * c).reshape(c, c)


def confusion_matrix(y_true, y_pred, num_classes=None, normalize=None) -> np.ndarray:
    """The C x C confusion matrix: entry [i, j] counts samples of true class i predicted as j
    (rows = true, columns = predicted), as int64.

    `normalize`: None (counts), "true" (each row sums to 1: per-class recall on the diagonal),
    "pred" (each column sums to 1: precision on the diagonal) or "all" (the whole matrix sums
    to 1); rows/columns with no samples stay 0.
    """
    t, p, c = _labels_and_classes(y_true, y_pred, num_classes)
    cm = _matrix(t, p, c)
    if normalize is None:
        return cm
    if normalize == "true":
        den = cm.sum(axis=1, keepdims=True)
    elif normalize == "pred":
        den = cm.sum(axis=0, keepdims=True)
    elif normalize == "all":
        den = cm.sum()
    else:
        raise ValueError(f"normalize must be None, 'true', 'pred' or 'all', got {normalize!r}")
    den = np.broadcast_to(den, cm.shape).astype(np.float64)
    return np.divide(cm, den, out=np.zeros(cm.shape), where=den != 0)


def accuracy(y_true, y_pred) -> float:
    """The fraction of samples whose predicted label equals the true label."""
    t, p = _inputs.label_pair(y_true, y_pred)
    return float((t == p).mean())


def counts_from_matrix(cm: np.ndarray, include: np.ndarray) -> Counts:
    """TP/FP/FN/TN per class from a confusion matrix (rows true, columns predicted)."""
    tp = np.diag(cm).astype(np.int64)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    tn = cm.sum() - tp - fp - fn
    return Counts(tp, fp, fn, tn, include)


def class_counts(y_true, y_pred, num_classes=None, average=None) -> Counts:
    """Per-class counts; for average='binary' there must be at most two classes."""
    t, p, c = _labels_and_classes(y_true, y_pred, num_classes)
    if average == "binary":
        if c > 2:
            raise ValueError(
                f"average='binary' is for two classes (labels 0 and 1), but there are {c}; use "
                "average=None, 'macro', 'micro' or 'weighted'"
            )
        c = 2
    cm = _matrix(t, p, c)
    if num_classes is None:
        include = (cm.sum(axis=0) + cm.sum(axis=1)) > 0
    else:
        include = np.ones(c, dtype=bool)
    return counts_from_matrix(cm, include)


def _metric(name: str, y_true, y_pred, average, num_classes, pos_label, zero_division):
    counts = class_counts(y_true, y_pred, num_classes, average)
    return score(counts, name, average, pos_label, zero_division)


def precision(y_true, y_pred, average=None, num_classes=None, pos_label=1, zero_division=0.0):
    """Precision, or positive predictive value: TP / (TP + FP), the fraction of samples
    predicted as a class that really are of it."""
    return _metric("precision", y_true, y_pred, average, num_classes, pos_label, zero_division)


def recall(y_true, y_pred, average=None, num_classes=None, pos_label=1, zero_division=0.0):
    """Recall, sensitivity, or true positive rate: TP / (TP + FN), the fraction of a class's
    samples that are found."""
    return _metric("recall", y_true, y_pred, average, num_classes, pos_label, zero_division)


def specificity(y_true, y_pred, average=None, num_classes=None, pos_label=1, zero_division=0.0):
    """Specificity, or true negative rate: TN / (TN + FP), the fraction of samples not of a
    class that are not predicted as it."""
    return _metric("specificity", y_true, y_pred, average, num_classes, pos_label, zero_division)


def npv(y_true, y_pred, average=None, num_classes=None, pos_label=1, zero_division=0.0):
    """Negative predictive value: TN / (TN + FN), the fraction of samples not predicted as a
    class that really are not of it."""
    return _metric("npv", y_true, y_pred, average, num_classes, pos_label, zero_division)


def f1(y_true, y_pred, average=None, num_classes=None, pos_label=1, zero_division=0.0):
    """F1 score: 2 TP / (2 TP + FP + FN), the harmonic mean of precision and recall. The
    macro average is the mean of per-class F1 (not the F1 of macro precision and recall)."""
    return _metric("f1", y_true, y_pred, average, num_classes, pos_label, zero_division)
