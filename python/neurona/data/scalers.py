"""Feature scaling fitted on training data: `Standardize` (z-score) and `MinMaxScale`.

Fit on the training split only, then transform every split with the same statistics:

    scaler = Standardize().fit(x_train)
    x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)

Statistics are computed in float64 over `axis` (default 0: one statistic per feature; for
NCHW images `axis=(0, 2, 3)` gives one per channel). A feature that is constant in the training
data (zero variance or zero range) gets a scale of 1, so it maps to 0 (Standardize) or to the
low end of the range (MinMaxScale) instead of dividing by zero.
"""

from __future__ import annotations

import numpy as np

from ._convert import as_array, to_tensor


class NotFittedError(ValueError, AttributeError):
    """A scaler was used before `fit`."""


def _axes(axis, ndim: int) -> tuple[int, ...]:
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of range for data with {ndim} dimensions")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {axis}")
    return tuple(sorted(out))


class _Scaler:
    """Shared plumbing: axis handling, fit checks, shape checks, Tensor conversion."""

    _fitted_attrs: tuple[str, ...] = ()

    def __init__(self, axis=0):
        self.axis = axis
        self._shape = None  # stats' keepdims shape, set by fit

    def _fit_input(self, x) -> tuple[np.ndarray, tuple[int, ...]]:
        a = as_array(x).astype(np.float64, copy=False)
        if a.ndim == 0:
            raise ValueError("cannot fit a scaler on a scalar; give a batch of samples")
        axes = _axes(self.axis, a.ndim)
        if any(a.shape[ax] == 0 for ax in axes):
            raise ValueError(f"cannot fit a scaler on empty data of shape {a.shape}")
        if not np.isfinite(a).all():
            raise ValueError("cannot fit a scaler on data containing NaN or infinity")
        return a, axes

    def _check(self, x) -> np.ndarray:
        if self._shape is None:
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call fit(train_data) first"
            )
        a = as_array(x).astype(np.float64, copy=False)
        ok = a.ndim == len(self._shape) and all(
            s == 1 or d == s for d, s in zip(a.shape, self._shape)
        )
        if not ok:
            raise ValueError(
                f"{type(self).__name__} was fitted on data whose statistics have shape "
                f"{self._shape} (1 = reduced axis); cannot apply it to data of shape {a.shape}"
            )
        return a

    def fit_transform(self, x):
        return self.fit(x).transform(x)

    def transform(self, x):
        return to_tensor(self._apply_np(as_array(x)))

    def inverse_transform(self, x):
        return to_tensor(self._inverse_np(self._check(x)))

    def __call__(self, x):
        return self.transform(x)

    def state_dict(self) -> dict:
        """The fitted statistics, as float64 arrays (empty before fit)."""
        if self._shape is None:
            return {}
        return {name: getattr(self, name).copy() for name in self._fitted_attrs}

    def load_state_dict(self, state: dict) -> None:
        arrays = {name: np.asarray(state[name], dtype=np.float64) for name in self._fitted_attrs}
        for name, value in arrays.items():
            setattr(self, name, value)
        self._shape = arrays[self._fitted_attrs[0]].shape
        self._refresh()

    def _refresh(self) -> None:
        """Recompute derived quantities after the statistics changed."""


class Standardize(_Scaler):
    """z-score: `(x - mean) / std`, with mean and (population) std fitted on training data.

    Attributes after `fit`: `mean_`, `std_` (keepdims float64 arrays), `scale_` (`std_` with
    constant features replaced by 1).
    """

    _fitted_attrs = ("mean_", "std_")

    def fit(self, x) -> Standardize:
        a, axes = self._fit_input(x)
        self.mean_ = a.mean(axis=axes, keepdims=True)
        self.std_ = a.std(axis=axes, keepdims=True)
        self._shape = self.mean_.shape
        self._refresh()
        return self

    def _refresh(self) -> None:
        # Relative test: a constant float32 feature can come out with a rounding-sized std.
        constant = self.std_ <= 1e-10 * np.abs(self.mean_)
        self.scale_ = np.where(constant, 1.0, self.std_)

    def _apply_np(self, x: np.ndarray) -> np.ndarray:
        a = self._check(x)
        return (a - self.mean_) / self.scale_

    def _inverse_np(self, a: np.ndarray) -> np.ndarray:
        return a * self.scale_ + self.mean_


class MinMaxScale(_Scaler):
    """Rescale each feature linearly so the training data spans `feature_range` (default
    [0, 1]). Test data outside the training range maps outside `feature_range` (no clipping).

    Attributes after `fit`: `data_min_`, `data_max_` (keepdims float64 arrays), `range_`
    (`data_max_ - data_min_`, with constant features replaced by 1).
    """

    _fitted_attrs = ("data_min_", "data_max_")

    def __init__(self, feature_range=(0.0, 1.0), axis=0):
        super().__init__(axis)
        lo, hi = (float(v) for v in feature_range)
        if not lo < hi:
            raise ValueError(f"feature_range must be (low, high) with low < high, got {feature_range}")
        self.feature_range = (lo, hi)

    def fit(self, x) -> MinMaxScale:
        a, axes = self._fit_input(x)
        self.data_min_ = a.min(axis=axes, keepdims=True)
        self.data_max_ = a.max(axis=axes, keepdims=True)
        self._shape = self.data_min_.shape
        self._refresh()
        return self

    def _refresh(self) -> None:
        span = self.data_max_ - self.data_min_
        self.range_ = np.where(span == 0, 1.0, span)

    def _apply_np(self, x: np.ndarray) -> np.ndarray:
        a = self._check(x)
        lo, hi = self.feature_range
        return (a - self.data_min_) / self.range_ * (hi - lo) + lo

    def _inverse_np(self, a: np.ndarray) -> np.ndarray:
        lo, hi = self.feature_range
        return (a - lo) / (hi - lo) * self.range_ + self.data_min_
