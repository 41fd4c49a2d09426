"""Regression metrics: mean squared error, root mean squared error, mean absolute error, and
the coefficient of determination R^2.

`y_true` and `y_pred` (Tensors or arrays) must have the same shape, except that (N,) against
(N, 1) is accepted and read as (N,) (a common slip that would otherwise broadcast to (N, N)).
With several outputs, shape (N, K), mse/mae average over every element and r2_score averages
the per-output R^2 (scikit-learn's "uniform_average").
"""

from __future__ import annotations

import numpy as np

from ..data._convert import as_array


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t = as_array(y_true).astype(np.float64)
    p = as_array(y_pred).astype(np.float64)
    if t.shape != p.shape:
        if t.size == p.size and t.ndim <= 2 and p.ndim <= 2 and t.shape[0] == p.shape[0]:
            t, p = t.reshape(-1), p.reshape(-1)
        else:
            raise ValueError(
                f"y_true and y_pred must have the same shape, got {t.shape} and {p.shape}"
            )
    if t.ndim == 0 or t.shape[0] == 0:
        raise ValueError(f"need at least one sample, got shape {t.shape}")
    return t, p


def mse(y_true, y_pred) -> float:
    """Mean squared error: mean((y_true - y_pred)^2)."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean((t - p) ** 2))


def rmse(y_true, y_pred) -> float:
    """Root mean squared error: sqrt(mse), in the units of y."""
    return float(np.sqrt(mse(y_true, y_pred)))


def mae(y_true, y_pred) -> float:
    """Mean absolute error: mean(|y_true - y_pred|)."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(np.abs(t - p)))


def r2_score(y_true, y_pred) -> float:
    """R^2 = 1 - sum((y - y_pred)^2) / sum((y - mean(y))^2): 1 is perfect, 0 is no better
    than predicting the mean, negative is worse. When y_true is constant (the denominator is
    0) it is 1.0 for a perfect prediction and 0.0 otherwise, as in scikit-learn."""
    t, p = _pair(y_true, y_pred)
    t2 = t.reshape(t.shape[0], -1)
    p2 = p.reshape(p.shape[0], -1)
    ss_res = ((t2 - p2) ** 2).sum(axis=0)
    ss_tot = ((t2 - t2.mean(axis=0)) ** 2).sum(axis=0)
    r2 = np.where(ss_res == 0, 1.0, 0.0)
    np.divide(ss_res, ss_tot, out=r2, where=ss_tot != 0)
    r2 = np.where(ss_tot != 0, 1.0 - r2, r2)
    return float(r2.mean())
