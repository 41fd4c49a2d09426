"""`classification_report`: precision, recall, F1 and support per class and averaged, as a
table formatted like scikit-learn's or as a dict."""

from __future__ import annotations

import numpy as np

from . import _inputs
from ._counts import Counts, check_zero_division, score
from .classification import class_counts
from .multilabel import multilabel_counts

_HEADERS = ("precision", "recall", "f1-score", "support")


def _row(counts: Counts, average, zd) -> list:
    return [score(counts, m, average, 0, zd) for m in ("precision", "recall", "f1")]


def classification_report(
    y_true,
    y_pred,
    num_classes=None,
    target_names=None,
    digits: int = 2,
    output_dict: bool = False,
    zero_division=0.0,
    multilabel: bool = False,
    threshold: float = 0.5,
):
    """Per-class precision, recall, F1 and support, then the averages.

    Rows: one per class (every class 0..C-1 when `num_classes` or `target_names` is given,
    else the classes that occur in y_true or y_pred), named by `target_names` or by the label.
    Then, for single-label data, "accuracy", "macro avg" and "weighted avg" over those rows;
    for multi-label data (`multilabel=True`, (N, L) 0/1 targets, predictions thresholded at
    `threshold`), "micro avg", "macro avg", "weighted avg" and "samples avg".

    Returns the table as a string, or with `output_dict=True` a dict
    `{name: {"precision", "recall", "f1-score", "support"}, ..., "accuracy": float, ...}`.
    """
    if target_names is not None:
        target_names = [str(n) for n in target_names]
        if num_classes is not None and num_classes != len(target_names):
            raise ValueError(
                f"num_classes={num_classes} but {len(target_names)} target_names were given"
            )
        num_classes = len(target_names)
    if multilabel:
        counts = multilabel_counts(y_true, y_pred, threshold)
        n_samples = _inputs.indicators(y_true, "y_true", None).shape[0]
    else:
        counts = class_counts(y_true, y_pred, num_classes)
        n_samples = int(counts.tp.sum() + counts.fn.sum())
    zd = check_zero_division(zero_division)
    rows_idx = np.flatnonzero(counts.include)
    if target_names is not None and multilabel and len(target_names) != len(counts.tp):
        raise ValueError(f"{len(target_names)} target_names for {len(counts.tp)} labels")
    names = [target_names[i] if target_names else str(i) for i in rows_idx]

    p, r, f = (score(counts, m, None, 0, zd) for m in ("precision", "recall", "f1"))
    support = counts.support
    rows = [(names[k], p[i], r[i], f[i], int(support[i])) for k, i in enumerate(rows_idx)]
    total = int(support[rows_idx].sum())
    if multilabel:
        averages = [(f"{a} avg", *_row(counts, a, zd), total)
                    for a in ("micro", "macro", "weighted", "samples")]
    else:
        acc = float(counts.tp[rows_idx].sum() / n_samples)
        averages = [("accuracy", None, None, acc, n_samples)] + [
            (f"{a} avg", *_row(counts, a, zd), total) for a in ("macro", "weighted")
        ]

    if output_dict:
        out = {name: dict(zip(_HEADERS, (float(a), float(b), float(c), s)))
               for name, a, b, c, s in rows}
        for name, a, b, c, s in averages:
            if name == "accuracy":
                out[name] = c
            else:
                out[name] = dict(zip(_HEADERS, (a, b, c, s)))
        return out

    width = max([len(n) for n in names] + [len("weighted avg"), digits])
    head_fmt = "{:>{width}s} " + " {:>9}" * len(_HEADERS)
    report = head_fmt.format("", *_HEADERS, width=width) + "\n\n"
    row_fmt = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
    for row in rows:
        report += row_fmt.format(*row, width=width, digits=digits)
    report += "\n"
    for name, a, b, c, s in averages:
        if name == "accuracy":
            acc_fmt = "{:>{width}s} " + " {:>9}" * 2 + " {:>9.{digits}f}" + " {:>9}\n"
            report += acc_fmt.format(name, "", "", c, s, width=width, digits=digits)
        else:
            report += row_fmt.format(name, a, b, c, s, width=width, digits=digits)
    return report
