"""Losses (modules and nn.functional) against NumPy for every reduction, gradchecks, the
fused kernels against their composed forms, and bad inputs."""

import neurona as nr
import numpy as np
import pytest
from neurona import nn
from neurona.autograd import gradcheck
from neurona.nn import functional as F


def t(a, requires_grad=False, dtype=None):
    a = np.asarray(a)
    if dtype is None and a.dtype.kind == "f":
        a = a.astype(np.float32)
    return nr.tensor(a, dtype=dtype, requires_grad=requires_grad)


def reduce_np(loss, reduction):
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


def log_softmax_np(x, axis=1):
    m = x.max(axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis, keepdims=True))


REDUCTIONS = ["mean", "sum", "none"]


# ----- regression --------------------------------------------------------------------------

REGRESSION = [
    (nn.MSELoss, {}, lambda d: d**2),
    (nn.L1Loss, {}, np.abs),
    (nn.HuberLoss, {"delta": 0.7}, lambda d: np.where(np.abs(d) < 0.7, 0.5 * d**2, 0.7 * (np.abs(d) - 0.35))),
    (nn.SmoothL1Loss, {"beta": 0.5}, lambda d: np.where(np.abs(d) < 0.5, 0.5 * d**2 / 0.5, np.abs(d) - 0.25)),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("cls,kw,ref", REGRESSION, ids=[r[0].__name__ for r in REGRESSION])
def test_regression_losses(cls, kw, ref, reduction, rng):
    x = rng.standard_normal((4, 5)).astype(np.float32)
    y = rng.standard_normal((4, 5)).astype(np.float32)
    # Keep |x - y| away from 0 and the Huber/SmoothL1 kinks for finite differences.
    d = x - y
    d = np.where(np.abs(d) < 0.05, 0.3, d)
    d = np.where(np.abs(np.abs(d) - 0.7) < 0.05, 0.9, d)
    d = np.where(np.abs(np.abs(d) - 0.5) < 0.05, 0.3, d)
    x = (y + d).astype(np.float32)
    loss = cls(reduction=reduction, **kw)
    got = loss(t(x), t(y)).detach().numpy()
    np.testing.assert_allclose(got, reduce_np(ref((x - y).astype(np.float64)), reduction), rtol=1e-5, atol=1e-6)
    xt = t(x, requires_grad=True)
    assert gradcheck(lambda a: loss(a, t(y)), [xt], eps=1e-2, atol=2e-2, rtol=2e-2)


def test_mse_differentiates_the_target_too(rng):
    x = t(rng.standard_normal(5), requires_grad=True)
    y = t(rng.standard_normal(5), requires_grad=True)
    F.mse_loss(x, y).backward()
    np.testing.assert_allclose(y.grad.numpy(), -x.grad.numpy(), rtol=1e-6)


# ----- binary ----------------------------------------------------------------------------------


def bce_np(p, y):
    return -(y * np.maximum(np.log(p), -100) + (1 - y) * np.maximum(np.log1p(-p), -100))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_matches_numpy_and_gradchecks(reduction, rng):
    p = rng.uniform(0.05, 0.95, (3, 4)).astype(np.float32)
    y = (rng.uniform(size=(3, 4)) > 0.5).astype(np.float32)
    got = nn.BCELoss(reduction=reduction)(t(p), t(y)).detach().numpy()
    np.testing.assert_allclose(got, reduce_np(bce_np(p.astype(np.float64), y), reduction), rtol=1e-5, atol=1e-6)
    assert gradcheck(lambda a: F.binary_cross_entropy(a, t(y), reduction=reduction), [t(p, True)], eps=1e-3)


def test_bce_clamps_logs_and_gradient_stays_finite():
    p = t([0.0, 1.0, 0.0, 1.0], requires_grad=True)
    y = t([1.0, 0.0, 0.0, 1.0])
    loss = F.binary_cross_entropy(p, y, reduction="sum")
    assert float(loss) == pytest.approx(200.0)
    loss.backward()
    assert np.all(np.isfinite(p.grad.numpy()))


def test_bce_weight_and_soft_target_gradient(rng):
    p = rng.uniform(0.1, 0.9, (6,)).astype(np.float32)
    y = rng.uniform(0, 1, (6,)).astype(np.float32)
    w = rng.uniform(0.5, 2, (6,)).astype(np.float32)
    got = F.binary_cross_entropy(t(p), t(y), weight=t(w)).item()
    assert got == pytest.approx(float((w * bce_np(p.astype(np.float64), y)).mean()), rel=1e-5)
    # A target that requires grad takes the composed path and gets its gradient.
    yt = t(y, requires_grad=True)
    assert gradcheck(lambda a, b: F.binary_cross_entropy(a, b), [t(p, True), yt], eps=1e-3)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_matches_numpy_and_is_stable(reduction, rng):
    x = np.array([[-200.0, -30.0, -1.0, 0.0], [0.5, 3.0, 40.0, 300.0]], np.float32)
    y = np.array([[1.0, 0.0, 1.0, 0.5], [0.0, 1.0, 0.0, 1.0]], np.float32)
    x64 = x.astype(np.float64)
    ref = np.maximum(x64, 0) - x64 * y + np.log1p(np.exp(-np.abs(x64)))
    got = nn.BCEWithLogitsLoss(reduction=reduction)(t(x), t(y)).detach().numpy()
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, reduce_np(ref, reduction), rtol=1e-5, atol=1e-5)
    xs = rng.standard_normal((3, 4)).astype(np.float32)
    ys = rng.uniform(size=(3, 4)).astype(np.float32)
    assert gradcheck(lambda a: F.binary_cross_entropy_with_logits(a, t(ys), reduction=reduction), [t(xs, True)], eps=1e-2)


def test_bce_with_logits_pos_weight(rng):
    x = rng.standard_normal((5, 3)).astype(np.float32)
    y = (rng.uniform(size=(5, 3)) > 0.5).astype(np.float32)
    pw = np.array([1.0, 2.0, 0.5], np.float32)
    x64 = x.astype(np.float64)
    sp = lambda z: np.log1p(np.exp(z))
    ref = (pw * y * sp(-x64) + (1 - y) * sp(x64)).mean()
    got = nn.BCEWithLogitsLoss(pos_weight=t(pw))(t(x), t(y)).item()
    assert got == pytest.approx(ref, rel=1e-5)
    assert gradcheck(lambda a: F.binary_cross_entropy_with_logits(a, t(y), pos_weight=t(pw)), [t(x, True)], eps=1e-2)
    # pos_weight = 1 reproduces the fused kernel's loss.
    plain = F.binary_cross_entropy_with_logits(t(x), t(y)).item()
    assert F.binary_cross_entropy_with_logits(t(x), t(y), pos_weight=t(np.ones(3))).item() == pytest.approx(plain, rel=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_soft_margin_loss(reduction, rng):
    x = rng.standard_normal((4, 3)).astype(np.float32)
    y = np.where(rng.uniform(size=(4, 3)) > 0.5, 1.0, -1.0).astype(np.float32)
    ref = np.log1p(np.exp(-y * x.astype(np.float64)))
    got = nn.SoftMarginLoss(reduction=reduction)(t(x), t(y)).detach().numpy()
    np.testing.assert_allclose(got, reduce_np(ref, reduction), rtol=1e-5, atol=1e-6)
    assert gradcheck(lambda a: F.soft_margin_loss(a, t(y), reduction), [t(x, True)], eps=1e-2)


# ----- multi-class -----------------------------------------------------------------------------


def ce_np(x, labels=None, probs=None, eps=0.0, weight=None, ignore_index=-100):
    lp = log_softmax_np(x.astype(np.float64))
    c = x.shape[1]
    w = np.ones(c) if weight is None else weight
    if probs is not None:
        q = (1 - eps) * probs + eps / c
        return -(q * lp * w).sum(1), None
    valid = labels != ignore_index
    safe = np.where(valid, labels, 0)
    wy = w[safe] * valid
    nll = -lp[np.arange(len(labels)), safe] * wy
    smooth = -(lp * w).sum(1) * valid
    return (1 - eps) * nll + eps / c * smooth, wy.sum()


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_labels(reduction, smoothing, rng):
    x = rng.standard_normal((6, 5)).astype(np.float32) * 3
    y = rng.integers(0, 5, 6)
    per, denom = ce_np(x, labels=y, eps=smoothing)
    want = per.sum() / denom if reduction == "mean" else reduce_np(per, reduction)
    loss = nn.CrossEntropyLoss(reduction=reduction, label_smoothing=smoothing)
    np.testing.assert_allclose(loss(t(x), t(y)).detach().numpy(), want, rtol=1e-5, atol=1e-6)
    assert gradcheck(lambda a: loss(a, t(y)), [t(x, True)], eps=1e-2)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probabilities(reduction, rng):
    x = rng.standard_normal((4, 3)).astype(np.float32)
    p = rng.uniform(size=(4, 3))
    p = (p / p.sum(1, keepdims=True)).astype(np.float32)
    per, _ = ce_np(x, probs=p, eps=0.1)
    loss = nn.CrossEntropyLoss(reduction=reduction, label_smoothing=0.1)
    np.testing.assert_allclose(loss(t(x), t(p)).detach().numpy(), reduce_np(per, reduction), rtol=1e-5, atol=1e-6)
    assert gradcheck(lambda a: loss(a, t(p)), [t(x, True)], eps=1e-2)
    # A target that requires grad: composed path, differentiable in both.
    assert gradcheck(lambda a, b: F.cross_entropy(a, b, reduction=reduction), [t(x, True), t(p, True)], eps=1e-2)


def test_cross_entropy_ignore_index_and_class_weights(rng):
    x = rng.standard_normal((6, 4)).astype(np.float32)
    y = np.array([0, 3, -100, 2, 1, -100])
    per, denom = ce_np(x, labels=y)
    assert F.cross_entropy(t(x), t(y)).item() == pytest.approx(per.sum() / denom, rel=1e-5)
    w = np.array([1.0, 2.0, 0.5, 3.0], np.float32)
    for eps in (0.0, 0.3):
        per, denom = ce_np(x, labels=y, weight=w.astype(np.float64), eps=eps)
        got = F.cross_entropy(t(x), t(y), weight=t(w), label_smoothing=eps).item()
        assert got == pytest.approx(per.sum() / denom, rel=1e-5)
        got_sum = F.cross_entropy(t(x), t(y), weight=t(w), label_smoothing=eps, reduction="sum").item()
        assert got_sum == pytest.approx(per.sum(), rel=1e-5)
    assert gradcheck(lambda a: F.cross_entropy(a, t(y), weight=t(w), label_smoothing=0.3), [t(x, True)], eps=1e-2)


def test_cross_entropy_is_stable_for_huge_logits():
    x = t([[1e4, 0.0, -1e4], [0.0, 0.0, 0.0]], requires_grad=True)
    loss = F.cross_entropy(x, t([1, 2]))
    assert loss.item() == pytest.approx((1e4 + np.log(3)) / 2, rel=1e-6)
    loss.backward()
    assert np.all(np.isfinite(x.grad.numpy()))


def test_cross_entropy_unbatched_and_spatial_layouts(rng):
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)  # (N, C, H, W)
    y = rng.integers(0, 3, (2, 4, 5))
    rows = np.moveaxis(x, 1, -1).reshape(-1, 3)
    per, _ = ce_np(rows, labels=y.reshape(-1))
    got = F.cross_entropy(t(x), t(y), reduction="none")
    assert got.shape == (2, 4, 5)
    np.testing.assert_allclose(got.detach().numpy(), per.reshape(2, 4, 5), rtol=1e-5, atol=1e-6)
    assert F.cross_entropy(t(x), t(y)).item() == pytest.approx(per.mean(), rel=1e-5)
    ys = t(y[:1, :2, :3].copy())
    assert gradcheck(lambda a: F.cross_entropy(a, ys), [t(x[:1, :, :2, :3].copy(), True)], eps=1e-2)
    v = rng.standard_normal(4).astype(np.float32)
    per1, _ = ce_np(v[None], labels=np.array([2]))
    out = F.cross_entropy(t(v), t(2))
    assert out.shape == () and out.item() == pytest.approx(per1[0], rel=1e-5)


def test_fused_and_composed_cross_entropy_agree(rng):
    x = rng.standard_normal((8, 6)).astype(np.float32)
    y = rng.integers(0, 6, 8)
    fused = F.cross_entropy(t(x), t(y)).item()
    composed = F.nll_loss(F.log_softmax(t(x), 1), t(y)).item()
    via_weights = F.cross_entropy(t(x), t(y), weight=t(np.ones(6))).item()
    assert fused == pytest.approx(composed, rel=1e-6) and fused == pytest.approx(via_weights, rel=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(reduction, rng):
    lp = log_softmax_np(rng.standard_normal((5, 4))).astype(np.float32)
    y = rng.integers(0, 4, 5)
    per = -lp[np.arange(5), y].astype(np.float64)
    got = nn.NLLLoss(reduction=reduction)(t(lp), t(y)).detach().numpy()
    np.testing.assert_allclose(got, reduce_np(per, reduction), rtol=1e-5, atol=1e-6)
    assert gradcheck(lambda a: F.nll_loss(a, t(y), reduction=reduction), [t(lp, True)], eps=1e-2)
    w = np.array([0.5, 1.0, 2.0, 4.0], np.float32)
    want = (per * w[y]).sum() / (w[y].sum() if reduction == "mean" else 1)
    if reduction != "none":
        assert F.nll_loss(t(lp), t(y), weight=t(w), reduction=reduction).item() == pytest.approx(want, rel=1e-5)


def multi_margin_np(x, y, p=1, margin=1.0, w=None):
    n, c = x.shape
    out = np.zeros(n)
    for i in range(n):
        for j in range(c):
            if j != y[i]:
                h = max(0.0, margin - x[i, y[i]] + x[i, j]) ** p
                out[i] += h * (1.0 if w is None else w[y[i]])
    return out / c


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p", [1, 2])
def test_multi_margin_loss(reduction, p, rng):
    x = rng.standard_normal((5, 4)).astype(np.float32)
    y = rng.integers(0, 4, 5)
    w = np.array([1.0, 0.5, 2.0, 1.5], np.float32)
    for weight in (None, w):
        ref = multi_margin_np(x.astype(np.float64), y, p, 0.8, weight)
        loss = nn.MultiMarginLoss(p=p, margin=0.8, weight=None if weight is None else t(weight), reduction=reduction)
        np.testing.assert_allclose(loss(t(x), t(y)).detach().numpy(), reduce_np(ref, reduction), rtol=1e-5, atol=1e-6)
    # Margins away from the hinge for the finite differences.
    x = np.array([[2.0, 0.3, -1.0], [0.1, 1.9, 0.6]], np.float32)
    assert gradcheck(lambda a: F.multi_margin_loss(a, t([0, 1]), p=p, margin=0.8, reduction=reduction), [t(x, True)], eps=1e-2)


# ----- bad inputs ------------------------------------------------------------------------------


def test_mismatched_shapes_raise():
    for fn in (F.mse_loss, F.l1_loss, F.huber_loss, F.binary_cross_entropy, F.binary_cross_entropy_with_logits, F.soft_margin_loss):
        with pytest.raises(ValueError, match=r"\(3,\)"):
            fn(nr.full((4,), 0.5), nr.full((3,), 0.5))
    with pytest.raises(ValueError, match="target"):
        F.cross_entropy(nr.zeros(4, 3), nr.tensor([0, 1, 2]))
    with pytest.raises(ValueError):
        F.nll_loss(nr.zeros(4, 3), nr.tensor([[0], [1], [2], [0]]))


def test_labels_out_of_range_raise():
    with pytest.raises(IndexError, match="out of range"):
        F.cross_entropy(nr.zeros(2, 3), nr.tensor([0, 3]))
    with pytest.raises(IndexError, match="out of range"):
        F.cross_entropy(nr.zeros(2, 3), nr.tensor([-1, 0]))
    with pytest.raises(IndexError, match="out of range"):
        F.nll_loss(nr.zeros(2, 3), nr.tensor([5, 0]))
    with pytest.raises(IndexError, match="out of range"):
        F.cross_entropy(nr.zeros(2, 3), nr.tensor([0, 7]), weight=nr.ones(3))
    with pytest.raises(IndexError, match="out of range"):
        F.multi_margin_loss(nr.zeros(2, 3), nr.tensor([0, 3]))


def test_other_bad_inputs_raise():
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(nr.tensor([1.5, 0.5]), nr.tensor([1.0, 0.0]))
    with pytest.raises(TypeError, match="int64"):
        F.cross_entropy(nr.zeros(2, 3), nr.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(ValueError):
        nn.HuberLoss(delta=0)


def test_fused_losses_are_identical_for_any_thread_count(rng):
    x = rng.standard_normal((300, 100)).astype(np.float32)  # above the kernels' parallel threshold
    y = rng.integers(0, 100, 300)
    z = rng.uniform(size=(300, 100)).astype(np.float32)
    threads = nr.get_num_threads()
    out = []
    try:
        for n in (1, 3):
            nr.set_num_threads(n)
            a = t(x, requires_grad=True)
            b = t(x, requires_grad=True)
            ce = F.cross_entropy(a, t(y), label_smoothing=0.1)
            bce = F.binary_cross_entropy_with_logits(b, t(z))
            (ce + bce).backward()
            out.append((ce.item(), bce.item(), a.grad.numpy().copy(), b.grad.numpy().copy()))
    finally:
        nr.set_num_threads(threads)
    assert out[0][:2] == out[1][:2]
    np.testing.assert_array_equal(out[0][2], out[1][2])
    np.testing.assert_array_equal(out[0][3], out[1][3])
