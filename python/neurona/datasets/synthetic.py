"""Small generated data sets for the course, each a pair of Tensors `(x, y)`.

Every generator is deterministic: the same arguments (including `seed`) give the same data.
Classification sets give float32 inputs `x` of shape (N, 2) and int64 labels `y` of shape (N,);
`sine` gives float32 `x` and `y`, both (N, 1).
"""

from __future__ import annotations

import numpy as np

from ..data._convert import to_tensor

# The logistic rule behind `will_i_pass`: P(pass) = sigmoid(HOURS * hours + LECTURES *
# lectures + BIAS). Four hours of study and six lectures give even odds.
PASS_RULE = {"hours": 1.0, "lectures": 0.4, "bias": -6.4}


def _check(n: int, noise: float, minimum: int = 1) -> None:
    if int(n) != n or n < minimum:
        raise ValueError(f"n must be an int >= {minimum}, got {n}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")


def _noisy_shuffled(x: np.ndarray, y: np.ndarray, noise: float, rng: np.random.Generator):
    # The order is drawn before the noise, so a noisy set is its noise-free twin plus jitter.
    order = rng.permutation(len(y))
    if noise:
        x = x + rng.normal(0.0, noise, size=x.shape)
    return to_tensor(x[order].astype(np.float32)), to_tensor(y[order].astype(np.int64))


def xor():
    """The four points of XOR: x in {0,1}^2, y = x0 xor x1 (the perceptron's nemesis)."""
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([0, 1, 1, 0], dtype=np.int64)
    return to_tensor(x), to_tensor(y)


def two_spirals(n: int = 200, noise: float = 0.0, seed: int = 0):
    """Two interleaved spirals (1.5 turns each, radius up to 1), n points in all, half per
    class, shuffled; `noise` is the standard deviation of Gaussian jitter added to each
    coordinate."""
    _check(n, noise, 2)
    rng = np.random.default_rng(seed)
    n0 = n // 2
    # sqrt spreads the points evenly along the spiral's length instead of bunching them at
    # the centre.
    t = np.sqrt(rng.random(n)) * 3 * np.pi
    r = t / (3 * np.pi)
    pts = np.stack([r * np.cos(t), r * np.sin(t)], axis=1)
    pts[n0:] *= -1  # the second spiral is the first turned by 180 degrees
    y = np.r_[np.zeros(n0), np.ones(n - n0)]
    return _noisy_shuffled(pts, y, noise, rng)


def circles(n: int = 200, noise: float = 0.0, factor: float = 0.5, seed: int = 0):
    """A small circle inside a big one (as scikit-learn's make_circles): n // 2 points on the
    unit circle (label 0), the rest on a circle of radius `factor` (label 1), evenly spaced,
    with Gaussian `noise`, shuffled."""
    _check(n, noise, 2)
    if not 0 < factor < 1:
        raise ValueError(f"factor must be in (0, 1), got {factor}")
    rng = np.random.default_rng(seed)
    n_out = n // 2
    n_in = n - n_out
    a_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    a_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    pts = np.concatenate(
        [
            np.stack([np.cos(a_out), np.sin(a_out)], axis=1),
            factor * np.stack([np.cos(a_in), np.sin(a_in)], axis=1),
        ]
    )
    y = np.r_[np.zeros(n_out), np.ones(n_in)]
    return _noisy_shuffled(pts, y, noise, rng)


def sine(n: int = 200, noise: float = 0.0, seed: int = 0, low: float = -np.pi,
         high: float = np.pi):
    """A 1-D function to approximate: x uniform in [low, high] (sorted, for plotting),
    y = sin(x) + Gaussian noise of standard deviation `noise`. Both (n, 1) float32."""
    _check(n, noise)
    if not low < high:
        raise ValueError(f"need low < high, got {low}, {high}")
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(low, high, n))
    y = np.sin(x) + (rng.normal(0.0, noise, n) if noise else 0.0)
    return to_tensor(x.reshape(-1, 1).astype(np.float32)), to_tensor(
        y.reshape(-1, 1).astype(np.float32)
    )


def will_i_pass(n: int = 100, seed: int = 0):
    """"Will I pass the class?": x = (hours studied, lectures attended), y = 1 if passed.

    Hours are uniform in [0, 10] in half-hour steps, lectures an integer 0..12, and each
    student passes with probability sigmoid(1.0 * hours + 0.4 * lectures - 6.4) (`PASS_RULE`),
    drawn once from the fixed seed, so the set is the same every time and learnable by
    logistic regression but not perfectly separable.
    """
    _check(n, 0.0)
    rng = np.random.default_rng(seed)
    hours = np.round(rng.uniform(0, 10, n) * 2) / 2
    lectures = rng.integers(0, 13, n).astype(np.float64)
    logit = PASS_RULE["hours"] * hours + PASS_RULE["lectures"] * lectures + PASS_RULE["bias"]
    passed = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    x = np.stack([hours, lectures], axis=1).astype(np.float32)
    return to_tensor(x), to_tensor(passed.astype(np.int64))
