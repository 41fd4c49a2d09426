"""Time-series helpers for recurrent models: cutting a series into (window, horizon) samples,
splitting it without breaking time order, and a small monthly series shipped with neurona.

    series = timeseries.load_monthly_series()               # (240,) float32, 2004-01 .. 2023-12
    train, test = timeseries.train_test_split(series, test_size=24)
    ds = timeseries.SlidingWindowDataset(train, window=24, horizon=1)
    X, y = ds.arrays                                         # (n, 24, 1), (n, 1, 1)

The series is synthetic (``make_monthly_series``: trend, a seasonality that grows with the
level, and autocorrelated noise), so it needs no download and is the same everywhere; the CSV
beside this module holds it to one decimal, as a real monthly record would.
"""

from __future__ import annotations

import csv
import os

import numpy as np

from neurona.data import TensorDataset
from neurona.data._convert import as_array, to_tensor

_CSV = os.path.join(os.path.dirname(__file__), "timeseries_monthly.csv")
START_YEAR, MONTHS = 2004, 240


def make_monthly_series(months: int = MONTHS, seed: int = 2004) -> np.ndarray:
    """The generator behind the shipped series: a monthly record with a curved upward trend,
    a yearly pattern whose amplitude is proportional to the level (peaks in summer and
    December), and AR(1) noise. Returns float64 values rounded to 0.1."""
    if months <= 0:
        raise ValueError(f"months must be positive, got {months}")
    rng = np.random.default_rng(seed)
    t = np.arange(months, dtype=np.float64)
    level = 120.0 + 0.9 * t + 0.0012 * t**2
    month = t % 12
    season = (0.14 * np.sin(2 * np.pi * (month - 3) / 12) + 0.06 * np.cos(4 * np.pi * month / 12)
              + 0.09 * (month == 11))
    noise = np.zeros(months)
    eps = rng.normal(0.0, 0.025, months)
    for i in range(1, months):
        noise[i] = 0.55 * noise[i - 1] + eps[i]
    return np.round(level * (1.0 + season) * (1.0 + noise), 1)


def load_monthly_series(return_months: bool = False):
    """The shipped monthly series, 2004-01 to 2023-12 (240 values, float32). With
    ``return_months`` also the month labels ("2004-01", ...)."""
    months, values = [], []
    with open(_CSV, newline="") as f:
        for row in csv.DictReader(f):
            months.append(row["month"])
            values.append(float(row["value"]))
    series = np.asarray(values, dtype=np.float32)
    return (series, months) if return_months else series


def write_monthly_series_csv(path: str = _CSV) -> None:
    """Regenerates the shipped CSV from ``make_monthly_series`` (how it was made)."""
    values = make_monthly_series()
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["month", "value"])
        for i, v in enumerate(values):
            w.writerow([f"{START_YEAR + i // 12}-{i % 12 + 1:02d}", f"{v:.1f}"])


def _as_series(series) -> np.ndarray:
    a = as_array(series)
    if a.ndim not in (1, 2):
        raise ValueError(
            f"expected a series of shape (time,) or (time, features), got shape {tuple(a.shape)}")
    return a[:, None] if a.ndim == 1 else a


def _positive_int(name: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{name} must be a positive integer, got {v!r}")
    return int(v)


def sliding_windows(series, window: int, horizon: int = 1, stride: int = 1):
    """Cuts a series (T,) or (T, F) into inputs X (n, window, F) and targets y (n, horizon, F):
    sample k reads steps [k*stride, k*stride + window) and predicts the ``horizon`` steps after
    them. n = (T - window - horizon) // stride + 1. Returns NumPy arrays (copies)."""
    window = _positive_int("window", window)
    horizon = _positive_int("horizon", horizon)
    stride = _positive_int("stride", stride)
    a = _as_series(series)
    length = a.shape[0]
    if length < window + horizon:
        raise ValueError(
            f"a series of {length} steps is too short for window={window} + horizon={horizon} "
            f"(needs at least {window + horizon})")
    n = (length - window - horizon) // stride + 1
    starts = np.arange(n) * stride
    x_idx = starts[:, None] + np.arange(window)
    y_idx = starts[:, None] + window + np.arange(horizon)
    return a[x_idx], a[y_idx]


class SlidingWindowDataset(TensorDataset):
    """A dataset of (window, horizon) samples of a series, for ``DataLoader``: item k is
    ``(X[k], y[k])`` as Tensors of shapes (window, F) and (horizon, F) (see
    ``sliding_windows``). ``arrays`` is the pair (X, y) of NumPy arrays, ``tensors()`` the same
    as Tensors."""

    def __init__(self, series, window: int, horizon: int = 1, stride: int = 1):
        x, y = sliding_windows(series, window, horizon, stride)
        super().__init__(x, y)
        self.window, self.horizon, self.stride = int(window), int(horizon), int(stride)

    @property
    def X(self) -> np.ndarray:
        return self.arrays[0]

    @property
    def y(self) -> np.ndarray:
        return self.arrays[1]

    def tensors(self):
        """(X, y) as Tensors."""
        return to_tensor(self.arrays[0]), to_tensor(self.arrays[1])

    def __repr__(self) -> str:
        return (f"SlidingWindowDataset(samples={len(self)}, window={self.window}, "
                f"horizon={self.horizon}, stride={self.stride}, features={self.X.shape[-1]})")


def train_test_split(series, test_size=0.2):
    """Splits a series in time order: the first part for training, the last ``test_size``
    steps (an int) or fraction (a float in (0, 1)) for testing. Never shuffles."""
    a = as_array(series)
    if a.ndim == 0:
        raise ValueError("expected a series with a time axis, got a scalar")
    length = a.shape[0]
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float, np.integer, np.floating)):
        raise TypeError(f"test_size must be an int or a float, got {test_size!r}")
    if isinstance(test_size, (float, np.floating)):
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"a fractional test_size must be in (0, 1), got {test_size}")
        n_test = round(float(length * test_size))
    else:
        n_test = int(test_size)
    if not 0 < n_test < length:
        raise ValueError(f"test_size={test_size!r} leaves no data on one side of a series of {length} steps")
    return a[: length - n_test].copy(), a[length - n_test:].copy()


__all__ = [
    "SlidingWindowDataset",
    "load_monthly_series",
    "make_monthly_series",
    "sliding_windows",
    "train_test_split",
    "write_monthly_series_csv",
]
