"""Autograd behaviour: accumulation, retain_graph, detach, no_grad, non-scalar roots,
tensors used twice, very long chains, and the course's perceptron."""

import math
import threading

import neurona
import numpy as np
import pytest


def test_the_course_perceptron():
    # w0 = 1, W = [3, -2], x = [-1, 2]: z = 1 - 3 - 4 = -6, output sigmoid(-6) ~ 0.00247.
    w0 = neurona.tensor(1.0, requires_grad=True)
    w = neurona.tensor([3.0, -2.0], requires_grad=True)
    x = neurona.tensor([-1.0, 2.0])
    y = neurona.sigmoid(w0 + w @ x)
    assert y.item() == pytest.approx(1 / (1 + math.exp(6)), rel=1e-6)
    assert round(y.item(), 5) == 0.00247
    y.backward()
    s = y.item() * (1 - y.item())
    np.testing.assert_allclose(w.grad.numpy(), [-s, 2 * s], rtol=1e-5)
    assert w0.grad.item() == pytest.approx(s, rel=1e-5)


def test_grad_accumulates_over_backward_calls_until_zeroed():
    x = neurona.tensor([1.0, 2.0], requires_grad=True)
    for _ in range(3):
        (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * 2 * np.array([1.0, 2.0]))
    x.grad.zero_()
    assert x.grad.tolist() == [0.0, 0.0]
    x.grad = None
    (3 * x).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_second_backward_needs_retain_graph():
    x = neurona.tensor([1.0, -1.0], requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * np.exp([1.0, -1.0]), rtol=1e-6)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_a_tensor_used_twice_gets_both_contributions():
    x = neurona.tensor(3.0, requires_grad=True)
    y = x * x + x  # dy/dx = 2x + 1
    y.backward()
    assert x.grad.item() == 7.0


def test_detach_cuts_the_graph_and_shares_data():
    x = neurona.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf
    y = (x * d).sum()
    y.backward()
    assert x.grad.tolist() == [1.0, 2.0]  # d treated as a constant
    assert d.data_ptr() == x.data_ptr()


def test_no_grad_context_and_decorator():
    x = neurona.tensor([1.0], requires_grad=True)
    with neurona.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None

    @neurona.no_grad()
    def f(t):
        return t * 3

    assert not f(x).requires_grad
    assert neurona.is_grad_enabled()
    assert (x * 2).requires_grad


def test_no_grad_is_thread_local():
    x = neurona.tensor([1.0], requires_grad=True)
    seen = {}
    started, release = threading.Event(), threading.Event()

    def other():
        started.wait()
        seen["other"] = (x * 2).requires_grad
        release.set()

    th = threading.Thread(target=other)
    th.start()
    with neurona.no_grad():
        started.set()
        release.wait()
        seen["main"] = (x * 2).requires_grad
    th.join()
    assert seen == {"main": False, "other": True}


def test_backward_of_a_non_scalar_needs_a_gradient():
    x = neurona.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    with pytest.raises(RuntimeError, match="scalar outputs"):
        y.backward()
    y.backward(neurona.tensor([1.0, 0.5, 0.0]))
    assert x.grad.tolist() == [2.0, 2.0, 0.0]


def test_backward_gradient_of_wrong_shape_is_rejected():
    x = neurona.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"\(3,\)"):
        (x * 2).backward(neurona.ones(3))


def test_backward_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        neurona.tensor([1.0]).sum().backward()


def test_a_chain_of_100000_ops_backpropagates_without_recursion_limits():
    x = neurona.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 0.0
    y = y * 2
    y.backward()
    assert x.grad.item() == 2.0


def test_retain_grad_of_an_intermediate():
    x = neurona.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    (h * h).sum().backward()
    assert h.grad.tolist() == [6.0, 12.0]
    assert x.grad.tolist() == [18.0, 36.0]


def test_in_place_on_a_leaf_that_requires_grad_is_refused_but_allowed_under_no_grad():
    w = neurona.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w.add_(1.0)
    with neurona.no_grad():
        w.sub_(neurona.tensor([0.5, 0.5]))
        w[0] = 10.0
    assert w.tolist() == [10.0, 1.5]


def test_iadd_rebinds_when_the_graph_needs_the_old_value():
    x = neurona.tensor([1.0], requires_grad=True)
    y = x * 2
    y += 1
    y.backward(neurona.ones(1))
    assert x.grad.tolist() == [2.0]


def test_gradcheck_catches_a_wrong_gradient():
    from neurona.autograd import GradcheckError, gradcheck

    x = neurona.tensor([0.3, -0.7], requires_grad=True)
    assert gradcheck(lambda t: (t * t).sum(), [x])

    # A function whose backward is deliberately wrong: value of t*t, gradient of t*3.
    def wrong(t):
        return (t * 3) + (t * t - t * 3).detach()

    with pytest.raises(GradcheckError):
        gradcheck(wrong, [x])
