"""Every differentiable op: forward against NumPy and backward against central differences,
on odd shapes, with broadcasting and on non-contiguous inputs."""

import neurona
import numpy as np
import pytest
from reference import check_op


def arr(rng, *shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=shape).astype(np.float32)


BINARY = [
    ("add", lambda a, b: a + b, lambda a, b: a + b),
    ("sub", lambda a, b: a - b, lambda a, b: a - b),
    ("mul", lambda a, b: a * b, lambda a, b: a * b),
    ("div", lambda a, b: a / b, lambda a, b: a / b),
    ("maximum", neurona.maximum, np.maximum),
    ("minimum", neurona.minimum, np.minimum),
]


@pytest.mark.parametrize("name,fn,ref", BINARY, ids=[b[0] for b in BINARY])
@pytest.mark.parametrize("shapes", [((3, 5), (3, 5)), ((4, 1, 3), (2, 3)), ((5,), (2, 3, 5)), ((), (2, 3))])
def test_binary_ops_with_broadcasting(rng, name, fn, ref, shapes):
    a, b = arr(rng, *shapes[0]), arr(rng, *shapes[1])
    if name == "div":
        b = np.where(np.abs(b) < 0.5, 1.0, b).astype(np.float32)
    check_op(fn, ref, a, b)


def test_pow_with_tensor_exponent(rng):
    a = arr(rng, 3, 4, low=0.5, high=2.0)
    b = arr(rng, 4, low=-1.5, high=1.5)
    check_op(lambda x, y: x**y, lambda x, y: x**y, a, b)


def test_reflected_and_scalar_forms(rng):
    a = arr(rng, 2, 3, low=0.5, high=2.0)
    check_op(lambda x: 2.0 - x, lambda x: 2.0 - x, a)
    check_op(lambda x: 3.0 / x, lambda x: 3.0 / x, a)
    check_op(lambda x: 2.0**x, lambda x: 2.0**x, a)
    check_op(lambda x: x**3, lambda x: x**3, a)
    check_op(lambda x: -x * 0.5 + 1, lambda x: -x * 0.5 + 1, a)


UNARY = [
    ("neg", neurona.neg, np.negative, (-2, 2)),
    ("exp", neurona.exp, np.exp, (-2, 2)),
    ("log", neurona.log, np.log, (0.2, 3)),
    ("sqrt", neurona.sqrt, np.sqrt, (0.2, 3)),
    ("abs", neurona.abs, np.abs, (-2, 2)),
    ("relu", neurona.relu, lambda x: np.maximum(x, 0), (-2, 2)),
    ("leaky_relu", lambda x: neurona.leaky_relu(x, 0.1), lambda x: np.where(x > 0, x, 0.1 * x), (-2, 2)),
    ("sigmoid", neurona.sigmoid, lambda x: 1 / (1 + np.exp(-x)), (-4, 4)),
    ("tanh", neurona.tanh, np.tanh, (-3, 3)),
    ("softplus", neurona.softplus, lambda x: np.log1p(np.exp(x)), (-4, 4)),
    ("clamp", lambda x: neurona.clamp(x, -0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7), (-2, 2)),
]


@pytest.mark.parametrize("name,fn,ref,rng_", UNARY, ids=[u[0] for u in UNARY])
def test_unary_ops(rng, name, fn, ref, rng_):
    x = arr(rng, 3, 7, low=rng_[0], high=rng_[1])
    if name in ("abs", "relu", "leaky_relu", "clamp"):
        # Keep away from kinks, where central differences straddle two slopes.
        x = np.where(np.abs(x) < 0.05, 0.3, x).astype(np.float32)
        x = np.where(np.abs(np.abs(x) - 0.5) < 0.05, 0.3, x).astype(np.float32)
        x = np.where(np.abs(x - 0.7) < 0.05, 0.3, x).astype(np.float32)
    check_op(fn, ref, x)


def test_gelu_matches_the_exact_erf_formula(rng):
    from math import erf

    x = arr(rng, 4, 6, low=-4, high=4)
    ref = np.vectorize(lambda v: 0.5 * v * (1 + erf(v / np.sqrt(2))))
    check_op(neurona.gelu, ref, x)


def test_sign_is_the_perceptron_step_with_zero_gradient():
    x = neurona.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    y = neurona.sign(x)
    assert y.tolist() == [-1.0, 0.0, 1.0]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, True), ((0, 2), False), (-1, True), ((2, 0), True)])
def test_sum_mean_over_axes(rng, dim, keepdim):
    x = arr(rng, 3, 4, 5)
    np_dim = dim if not isinstance(dim, tuple) else tuple(dim)
    check_op(lambda t: t.sum(dim, keepdim), lambda a: a.sum(axis=np_dim, keepdims=keepdim), x)
    check_op(lambda t: t.mean(dim, keepdim), lambda a: a.mean(axis=np_dim, keepdims=keepdim), x)


@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1)])
def test_var_and_std(rng, dim):
    x = arr(rng, 4, 6)
    np_dim = dim if not isinstance(dim, tuple) else tuple(dim)
    check_op(lambda t: t.var(dim), lambda a: a.var(axis=np_dim, ddof=1), x)
    check_op(lambda t: t.var(dim, unbiased=False), lambda a: a.var(axis=np_dim), x)
    check_op(lambda t: t.std(dim), lambda a: a.std(axis=np_dim, ddof=1), x)


def test_max_min_amax_and_their_gradients(rng):
    x = rng.permutation(24).reshape(2, 3, 4).astype(np.float32) / 4  # distinct values
    check_op(lambda t: t.amax(1), lambda a: a.max(axis=1), x)
    check_op(lambda t: t.amin((0, 2), keepdim=True), lambda a: a.min(axis=(0, 2), keepdims=True), x)
    check_op(lambda t: t.max(), lambda a: a.max(), x)
    values, indices = neurona.tensor(x).max(dim=2)
    np.testing.assert_array_equal(values.numpy(), x.max(axis=2))
    np.testing.assert_array_equal(indices.numpy(), x.argmax(axis=2))


def test_max_splits_the_gradient_between_ties():
    x = neurona.tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    assert x.grad.tolist() == [0.0, 0.5, 0.5]


def test_argmax_argmin(rng):
    x = arr(rng, 5, 7)
    t = neurona.tensor(x)
    np.testing.assert_array_equal(t.argmax(1).numpy(), x.argmax(1))
    np.testing.assert_array_equal(t.argmin(0).numpy(), x.argmin(0))
    assert t.argmax().item() == x.argmax()
    assert t.argmax(1, keepdim=True).shape == (5, 1)
    assert t.argmax().dtype == neurona.int64


@pytest.mark.parametrize(
    "sa,sb",
    [((3, 4), (4, 5)), ((1, 7), (7, 1)), ((6,), (6, 2)), ((2, 6), (6,)), ((5,), (5,)), ((2, 3, 4), (4, 2)), ((2, 1, 3, 4), (5, 4, 2))],
)
def test_matmul_shapes_and_broadcast_batches(rng, sa, sb):
    check_op(neurona.matmul, np.matmul, arr(rng, *sa), arr(rng, *sb), rtol=1e-5, atol=1e-5)


def test_linear_fused_bias_and_relu(rng):
    x, w, b = arr(rng, 5, 3), arr(rng, 4, 3), arr(rng, 4)
    check_op(lambda x, w, b: neurona.linear(x, w, b), lambda x, w, b: x @ w.T + b, x, w, b)
    relu_ref = lambda x, w, b: np.maximum(x @ w.T + b, 0)
    # Move pre-activations away from 0 so the ReLU kink does not disturb finite differences.
    pre = x @ w.T + b
    b = (b + np.where(np.abs(pre).min(axis=0) < 0.05, 0.2, 0.0)).astype(np.float32)
    check_op(lambda x, w, b: neurona.linear(x, w, b, relu=True), relu_ref, x, w, b)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_and_log_softmax(rng, dim):
    x = arr(rng, 3, 5)

    def ref_log(a):
        m = a.max(axis=dim, keepdims=True)
        return a - m - np.log(np.exp(a - m).sum(axis=dim, keepdims=True))

    check_op(lambda t: neurona.log_softmax(t, dim), ref_log, x)
    check_op(lambda t: neurona.softmax(t, dim), lambda a: np.exp(ref_log(a)), x)


def test_softmax_is_stable_for_huge_inputs():
    x = neurona.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], requires_grad=True)
    y = neurona.log_softmax(x, 1)
    s = neurona.softmax(x, 1)
    assert np.isfinite(y.detach().numpy()).all() and np.isfinite(s.detach().numpy()).all()
    np.testing.assert_allclose(s.detach().numpy()[1], [1 / 3] * 3, rtol=1e-6)
    assert y.detach().numpy()[0, 0] == 0.0
    (y.sum() + s.sum()).backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_where_routes_gradients(rng):
    a, b = arr(rng, 3, 4), arr(rng, 4)
    cond = rng.uniform(size=(3, 4)) > 0.5
    c = neurona.tensor(cond)
    check_op(lambda x, y: neurona.where(c, x, y), lambda x, y: np.where(cond, x, y), a, b)


def test_cat_and_stack(rng):
    a, b = arr(rng, 2, 3), arr(rng, 4, 3)
    check_op(lambda x, y: neurona.cat([x, y], 0), lambda x, y: np.concatenate([x, y], 0), a, b)
    c, d = arr(rng, 2, 3), arr(rng, 2, 3)
    check_op(lambda x, y: neurona.stack([x, y], 1), lambda x, y: np.stack([x, y], 1), c, d)
    check_op(lambda x, y: neurona.cat([x, y], -1), lambda x, y: np.concatenate([x, y], -1), c, d)


def test_gather_and_index_select(rng):
    x = arr(rng, 4, 5)
    idx = rng.integers(0, 5, size=(4, 3))
    ti = neurona.tensor(idx)
    check_op(lambda t: neurona.gather(t, 1, ti), lambda a: np.take_along_axis(a, idx, 1), x)
    rows = np.array([3, 0, 3, 1])
    tr = neurona.tensor(rows)
    check_op(lambda t: neurona.index_select(t, 0, tr), lambda a: a[rows], x)
    check_op(lambda t: neurona.index_select(t, 1, tr), lambda a: a[:, rows], x)


def test_views_carry_gradients(rng):
    x = arr(rng, 2, 3, 4)
    check_op(lambda t: t.reshape(4, 6) * 2, lambda a: a.reshape(4, 6) * 2, x)
    check_op(lambda t: t.permute(2, 0, 1) * 1, lambda a: a.transpose(2, 0, 1) * 1, x)
    check_op(lambda t: t.transpose(0, 2).reshape(-1) * 1, lambda a: a.transpose(2, 1, 0).reshape(-1), x)
    check_op(lambda t: t.unsqueeze(1).expand(2, 5, 3, 4) * 1, lambda a: np.broadcast_to(a[:, None], (2, 5, 3, 4)), x)
    check_op(lambda t: t[1:, ::2, 1] * 1, lambda a: a[1:, ::2, 1], x)
    check_op(lambda t: t[..., None, 2] * 1, lambda a: a[..., None, 2], x)
    check_op(lambda t: t.flatten(1) * 1, lambda a: a.reshape(2, 12), x)


def test_integer_and_boolean_indexing_carry_gradients(rng):
    x = arr(rng, 5, 3)
    idx = [4, 0, 4]
    check_op(lambda t: t[idx] * 1, lambda a: a[idx], x)
    mask = x[:, 0] > 0
    check_op(lambda t: t[neurona.tensor(mask)] * 1, lambda a: a[mask], x)
    rows, cols = np.array([0, 2, 4]), np.array([1, 1, 0])
    check_op(lambda t: t[neurona.tensor(rows), neurona.tensor(cols)] * 1, lambda a: a[rows, cols], x)


def test_comparisons_give_bool_and_no_grad(rng):
    a, b = arr(rng, 3, 4), arr(rng, 4)
    ta = neurona.tensor(a, requires_grad=True)
    for op in ["__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"]:
        got = getattr(ta, op)(neurona.tensor(b))
        assert got.dtype == neurona.bool and not got.requires_grad
        np.testing.assert_array_equal(got.numpy(), getattr(a, op)(b))


def test_nan_propagates_through_relu_family_as_in_pytorch():
    # Long enough for the vectorised loop and a scalar tail; NaN at both.
    x = np.tile(np.array([np.nan, -1.0, 0.0, -0.0, 2.0], dtype=np.float32), 7)
    t = neurona.tensor(x, requires_grad=True)
    y = t.relu()
    y.sum().backward()
    # PyTorch: relu(NaN) is NaN and its threshold_backward passes the gradient where x <= 0 fails.
    nan = np.isnan(x)
    np.testing.assert_array_equal(np.isnan(y.detach().numpy()), nan)
    np.testing.assert_array_equal(y.detach().numpy()[~nan], np.maximum(x[~nan], 0.0))
    np.testing.assert_array_equal(t.grad.numpy(), np.where(nan | (x > 0), 1.0, 0.0))

    t = neurona.tensor(x, requires_grad=True)
    y = neurona.nn.functional.leaky_relu(t, 0.1)
    y.sum().backward()
    np.testing.assert_array_equal(np.isnan(y.detach().numpy()), nan)
    np.testing.assert_array_equal(t.grad.numpy(), np.where(x > 0, 1.0, 0.1).astype(np.float32))

    t = neurona.tensor(x, requires_grad=True)
    y = neurona.clamp(t, -0.5, 0.5)
    y.sum().backward()
    np.testing.assert_array_equal(np.isnan(y.detach().numpy()), nan)
    np.testing.assert_array_equal(t.grad.numpy(), np.where(np.abs(x) <= 0.5, 1.0, 0.0))


def test_gelu_keeps_relative_accuracy_in_the_negative_tail():
    import math

    x = np.array([-3.0, -6.0, -10.0, -13.0, 0.25, 4.0], dtype=np.float32)
    got = neurona.gelu(neurona.tensor(x)).numpy().astype(np.float64)
    # 0.5 x erfc(-x / sqrt 2): 1 + erf(x / sqrt 2) would cancel to 0 out here.
    want = np.array([0.5 * v * math.erfc(-v / math.sqrt(2.0)) for v in x.astype(np.float64)])
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=0)
