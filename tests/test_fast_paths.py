"""The vectorised elementwise and reduction kernels against NumPy: odd lengths, NaN, broadcast
and non-contiguous operands, and bitwise equality across thread counts."""

import neurona
import numpy as np
import pytest

UNARY = {
    "exp": np.exp,
    "tanh": np.tanh,
    "sigmoid": lambda a: 1 / (1 + np.exp(-a)),
    "relu": lambda a: np.maximum(a, 0),
    "neg": np.negative,
    "abs": np.abs,
}


@pytest.fixture
def restore_threads():
    n = neurona.get_num_threads()
    yield
    neurona.set_num_threads(n)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_at_odd_lengths_and_large(name):
    rng = np.random.default_rng(1)
    for n in [*range(1, 71), 65_537, 300_001]:
        a = (rng.standard_normal(n) * 4).astype(np.float32)
        got = getattr(neurona, name)(neurona.tensor(a)).numpy()
        np.testing.assert_allclose(got, UNARY[name](a.astype(np.float64)), rtol=2e-6, atol=1e-7)


def test_exp_over_the_whole_range_and_nan():
    a = np.array([-1e4, -104.0, -95.0, -87.5, -20.0, 0.0, 20.0, 88.0, 88.8, 1e4, np.inf, -np.inf,
                  np.nan], np.float32)
    got = neurona.exp(neurona.tensor(a)).numpy()
    with np.errstate(over="ignore"):
        want = np.exp(a)
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=0)
    for name in ["exp", "tanh", "sigmoid"]:
        x = np.full(37, np.nan, np.float32)
        assert np.isnan(getattr(neurona, name)(neurona.tensor(x)).numpy()).all()


def test_unary_backward_on_non_contiguous_input():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((37, 23)).astype(np.float32)
    t = neurona.tensor(np.ascontiguousarray(a.T)).transpose(0, 1).detach().requires_grad_(True)
    y = neurona.tanh(t)
    y.sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), 1 - np.tanh(a.astype(np.float64)) ** 2, rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("sa,sb", [((5, 7), (7,)), ((5, 7), (5, 1)), ((4, 3, 9, 9), (3, 1, 1)),
                                   ((1,), (6, 70)), ((2, 1, 70), (3, 1)), ((64, 32, 5, 5), (32, 1, 1))])
def test_broadcast_binary_ops(sa, sb):
    rng = np.random.default_rng(3)
    a = rng.standard_normal(sa).astype(np.float32)
    b = rng.standard_normal(sb).astype(np.float32)
    ta, tb = neurona.tensor(a), neurona.tensor(b)
    np.testing.assert_array_equal((ta + tb).numpy(), a + b)
    np.testing.assert_array_equal((ta * tb).numpy(), a * b)
    np.testing.assert_array_equal((tb - ta).numpy(), b - a)


def test_binary_op_on_transposed_operands():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((33, 17)).astype(np.float32)
    b = rng.standard_normal((17, 33)).astype(np.float32)
    ta = neurona.tensor(a)
    tb = neurona.tensor(b).transpose(0, 1)
    np.testing.assert_array_equal((ta * tb).numpy(), a * b.T)
    np.testing.assert_array_equal((tb + 1.5).numpy(), b.T + np.float32(1.5))


@pytest.mark.parametrize("shape,axes", [((64, 8, 9, 11), (0, 2, 3)), ((300_001,), None),
                                        ((1000, 700), (0,)), ((700, 1000), (1,)),
                                        ((3, 4, 5, 6), (0, 2)), ((3, 4, 5, 6), (1, 3)),
                                        ((70_001, 3), (0,))])
def test_sums_over_axis_sets(shape, axes):
    rng = np.random.default_rng(5)
    a = rng.standard_normal(shape).astype(np.float32)
    got = neurona.tensor(a).sum(axes).numpy() if axes else neurona.tensor(a).sum().numpy()
    want = a.astype(np.float64).sum(axes)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)


def test_sum_of_a_non_contiguous_view_and_nan():
    rng = np.random.default_rng(6)
    a = rng.standard_normal((40, 50)).astype(np.float32)
    t = neurona.tensor(a).transpose(0, 1)
    np.testing.assert_allclose(t.sum(0).numpy(), a.T.astype(np.float64).sum(0), rtol=1e-5, atol=1e-5)
    a[3, 7] = np.nan
    s = neurona.tensor(a).sum(1).numpy()
    assert np.isnan(s[3]) and not np.isnan(s[4])
    assert np.isnan(neurona.tensor(a).sum().item())


def test_bitwise_identical_across_thread_counts(restore_threads):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((16, 32, 28, 28)).astype(np.float32)
    b = rng.standard_normal((32, 1, 1)).astype(np.float32)
    flat = rng.standard_normal(1_000_003).astype(np.float32)
    results = []
    for n in [1, 2, 3]:
        neurona.set_num_threads(n)
        tx = neurona.tensor(x, requires_grad=True)
        y = neurona.relu(tx + neurona.tensor(b))
        s = y.sum((0, 2, 3))
        (neurona.tanh(y) * y).sum().backward()
        results.append([y.detach().numpy().copy(), s.detach().numpy().copy(), tx.grad.numpy().copy(),
                        neurona.tensor(flat).sum().numpy().copy(),
                        neurona.exp(neurona.tensor(flat)).numpy().copy()])
    for other in results[1:]:
        for u, v in zip(results[0], other):
            assert np.array_equal(u, v)


def test_leaf_grads_are_never_shared_buffers():
    # a + b sends one gradient tensor to both leaves; a passed gradient belongs to the user.
    a = neurona.tensor(np.ones(5, np.float32), requires_grad=True)
    b = neurona.tensor(np.ones(5, np.float32), requires_grad=True)
    g = neurona.tensor(np.full(5, 2.0, np.float32))
    (a + b).backward(g)
    a.grad.numpy()[:] = 7.0
    np.testing.assert_array_equal(b.grad.numpy(), np.full(5, 2.0))
    np.testing.assert_array_equal(g.numpy(), np.full(5, 2.0))
    c = neurona.tensor(np.ones(5, np.float32), requires_grad=True)
    neurona.relu(c * 3.0).backward(g)
    np.testing.assert_array_equal(c.grad.numpy(), np.full(5, 6.0))
    (c * 3.0).sum().backward()
    np.testing.assert_array_equal(c.grad.numpy(), np.full(5, 9.0))
