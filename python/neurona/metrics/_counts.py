"""Per-class counts (TP, FP, FN, TN) and the rules that turn them into averaged metrics.

Every classification metric here is a ratio of counts:

    precision   (PPV) = TP / (TP + FP)
    recall      (TPR) = TP / (TP + FN)          (sensitivity)
    specificity (TNR) = TN / (TN + FP)
    npv               = TN / (TN + FN)
    f1                = 2 TP / (2 TP + FP + FN)  (the harmonic mean of precision and recall)

A ratio whose denominator is 0 is `zero_division` (default 0.0; 1.0 or `np.nan` are also
allowed) and no warning is raised.

Averages over the classes (or labels):
    None       per-class array;
    "macro"    unweighted mean of the per-class values;
    "weighted" mean weighted by support (TP + FN, the number of true samples of the class);
    "micro"    the ratio of the counts summed over classes;
    "binary"   the value of class `pos_label` (two-class problems only);
    "samples"  multi-label only: the ratio computed per sample, then averaged over samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

AVERAGES = (None, "binary", "micro", "macro", "weighted", "samples")

_FORMULAS = {
    "precision": lambda c: (c.tp, c.tp + c.fp),
    "recall": lambda c: (c.tp, c.tp + c.fn),
    "specificity": lambda c: (c.tn, c.tn + c.fp),
    "npv": lambda c: (c.tn, c.tn + c.fn),
    "f1": lambda c: (2 * c.tp, 2 * c.tp + c.fp + c.fn),
}


@dataclass
class Counts:
    """Counts per class (index = class or label). `include` marks the classes that averages
    run over; `per_sample` holds the same counts per sample (multi-label only)."""

    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    tn: np.ndarray
    include: np.ndarray
    per_sample: Counts | None = None

    @property
    def support(self) -> np.ndarray:
        return self.tp + self.fn


def check_zero_division(zero_division) -> float:
    z = float(zero_division)
    if not (z in (0.0, 1.0) or np.isnan(z)):
        raise ValueError(f"zero_division must be 0.0, 1.0 or nan, got {zero_division!r}")
    return z


def divide(num, den, zero_division: float) -> np.ndarray:
    """num / den elementwise, `zero_division` where den == 0, without warnings."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, zero_division, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def score(counts: Counts, metric: str, average, pos_label: int, zero_division):
    """One metric from counts, averaged as asked: a float, or a float64 array for None."""
    zd = check_zero_division(zero_division)
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {AVERAGES}, got {average!r}")
    formula = _FORMULAS[metric]
    num, den = formula(counts)
    if average is None:
        return divide(num, den, zd)
    if average == "binary":
        if not 0 <= pos_label < len(num):
            raise ValueError(f"pos_label={pos_label} is not one of the {len(num)} classes")
        return float(divide(num[pos_label], den[pos_label], zd))
    if average == "samples":
        if counts.per_sample is None:
            raise ValueError("average='samples' is only defined for multi-label data")
        s_num, s_den = formula(counts.per_sample)
        return float(divide(s_num, s_den, zd).mean())
    inc = counts.include
    if not inc.any():
        return zd
    if average == "micro":
        return float(divide(num[inc].sum(), den[inc].sum(), zd))
    values = divide(num[inc], den[inc], zd)
    if average == "macro":
        return float(values.mean())
    weights = counts.support[inc]
    if weights.sum() == 0:
        return zd
    return float((values * weights).sum() / weights.sum())
