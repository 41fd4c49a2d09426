"""Regularisation: L1/L2/elastic-net penalties (values and gradients), weight constraints
(NonNeg, MaxNorm), gradient clipping, and weight decay as the L2 penalty's gradient."""

import math

import neurona as nr
import numpy as np
import pytest
from neurona import nn, optim
from neurona.autograd import gradcheck
from neurona.nn import functional as F


def test_penalties_values_and_gradients(rng):
    a = nr.tensor(rng.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    b = nr.tensor(rng.standard_normal(5).astype(np.float32), requires_grad=True)
    an, bn = a.detach().numpy().astype(np.float64), b.detach().numpy().astype(np.float64)
    l1 = np.abs(an).sum() + np.abs(bn).sum()
    l2 = (an**2).sum() + (bn**2).sum()
    assert F.l1_penalty([a, b]).item() == pytest.approx(l1, rel=1e-5)
    assert F.l2_penalty([a, b]).item() == pytest.approx(l2, rel=1e-5)
    assert F.elastic_net_penalty([a, b], 0.3).item() == pytest.approx(0.3 * l1 + 0.7 * l2, rel=1e-5)
    F.elastic_net_penalty([a, b], 0.3).backward()
    np.testing.assert_allclose(a.grad.numpy(), 0.3 * np.sign(an) + 1.4 * an, rtol=1e-5, atol=1e-6)
    assert gradcheck(lambda x: F.l2_penalty([x]), [nr.tensor(an.astype(np.float32), requires_grad=True)], eps=1e-2)
    with pytest.raises(ValueError):
        F.elastic_net_penalty([a], 1.5)
    assert F.l1_penalty([]).item() == 0.0


def test_penalty_of_a_module_counts_weights_not_biases():
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    want = sum(float((p.detach().numpy().astype(np.float64) ** 2).sum()) for p in (m[0].weight, m[2].weight))
    assert F.l2_penalty(m).item() == pytest.approx(want, rel=1e-5)


def test_weight_decay_equals_half_l2_penalty_gradient(rng):
    w0 = rng.standard_normal(4).astype(np.float32)
    g0 = rng.standard_normal(4).astype(np.float32)
    a = nr.tensor(w0, requires_grad=True)
    b = nr.tensor(w0, requires_grad=True)
    oa, ob = optim.SGD([a], lr=0.1, weight_decay=0.2), optim.SGD([b], lr=0.1)
    (a * nr.tensor(g0)).sum().backward()
    ((b * nr.tensor(g0)).sum() + 0.1 * F.l2_penalty([b])).backward()
    oa.step()
    ob.step()
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-7)


def test_nonneg_constraint(rng):
    m = nn.Linear(3, 4)
    bias = m.bias.detach().numpy().copy()
    nn.NonNeg().apply(m)
    assert m.weight.detach().numpy().min() >= 0 and m.weight.requires_grad
    np.testing.assert_array_equal(m.bias.detach().numpy(), bias)  # biases are left alone
    t = nr.tensor([-1.0, 2.0])
    nn.NonNeg().apply(t)
    np.testing.assert_array_equal(t.numpy(), [0.0, 2.0])


def test_max_norm_constraint_limits_each_unit(rng):
    w = rng.standard_normal((5, 3)).astype(np.float32) * 3
    w[0] = [0.1, 0.2, 0.0]  # within the limit: unchanged
    lin = nn.Linear(3, 5)
    with nr.no_grad():
        lin.weight.copy_(nr.tensor(w))
    nn.utils.apply_constraints(lin, nn.MaxNorm(2.0))
    got = lin.weight.detach().numpy()
    norms = np.linalg.norm(w.astype(np.float64), axis=1, keepdims=True)
    want = np.where(norms > 2.0, w * 2.0 / (norms + 1e-7), w)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert np.linalg.norm(got, axis=1).max() <= 2.0 + 1e-5
    np.testing.assert_array_equal(got[0], w[0])
    # dim=1: the columns are limited instead.
    col = nr.tensor(w)
    nn.MaxNorm(1.0, dim=1).apply(col)
    assert np.linalg.norm(col.numpy(), axis=0).max() <= 1.0 + 1e-5


def test_clip_grad_norm_matches_numpy(rng):
    ps = [nr.zeros(3, 4, requires_grad=True), nr.zeros(5, requires_grad=True), nr.zeros(2, requires_grad=True)]
    grads = [rng.standard_normal(p.shape).astype(np.float32) for p in ps[:2]]
    for p, g in zip(ps, grads):
        p.grad = nr.tensor(g)
    total = math.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in grads))
    norm = nn.utils.clip_grad_norm_(ps, max_norm=1.0)
    assert norm.item() == pytest.approx(total, rel=1e-6)
    for p, g in zip(ps, grads):
        np.testing.assert_allclose(p.grad.numpy(), g * (1.0 / (total + 1e-6)), rtol=1e-6)
    assert ps[2].grad is None
    after = math.sqrt(sum(float((p.grad.numpy().astype(np.float64) ** 2).sum()) for p in ps[:2]))
    assert after == pytest.approx(1.0, rel=1e-5)
    # Below the limit nothing changes.
    before = ps[0].grad.numpy().copy()
    nn.utils.clip_grad_norm_(ps, max_norm=10.0)
    np.testing.assert_array_equal(ps[0].grad.numpy(), before)


@pytest.mark.parametrize("norm_type", [1.0, 3.0, math.inf])
def test_clip_grad_norm_other_norms(norm_type, rng):
    g = rng.standard_normal(6).astype(np.float32)
    p = nr.zeros(6, requires_grad=True)
    p.grad = nr.tensor(g)
    norm = nn.utils.clip_grad_norm_([p], max_norm=0.5, norm_type=norm_type)
    want = np.abs(g).max() if norm_type == math.inf else (np.abs(g.astype(np.float64)) ** norm_type).sum() ** (1 / norm_type)
    assert norm.item() == pytest.approx(want, rel=1e-5)
    np.testing.assert_allclose(p.grad.numpy(), g * 0.5 / (want + 1e-6), rtol=1e-5)


def test_clip_grad_norm_nonfinite():
    p = nr.zeros(2, requires_grad=True)
    p.grad = nr.tensor([float("inf"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)


def test_clip_grad_value(rng):
    g = rng.standard_normal(10).astype(np.float32) * 3
    p = nr.zeros(10, requires_grad=True)
    p.grad = nr.tensor(g)
    nn.utils.clip_grad_value_([p], 1.0)
    np.testing.assert_array_equal(p.grad.numpy(), np.clip(g, -1.0, 1.0))
    with pytest.raises(ValueError):
        nn.utils.clip_grad_value_([p], -1.0)


def test_parameters_to_vector_and_back():
    m = nn.Linear(3, 2)
    v = nn.utils.parameters_to_vector(m.parameters())
    assert v.shape == (8,)
    nn.utils.vector_to_parameters(v * 0 + 1, m.parameters())
    assert all(np.all(p.detach().numpy() == 1) for p in m.parameters())
    with pytest.raises(ValueError):
        nn.utils.vector_to_parameters(nr.zeros(3), m.parameters())
