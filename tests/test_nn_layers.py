"""Layers against NumPy, with gradchecks: Linear, activations, Flatten/Unflatten, Dropout,
GaussianNoise, BatchNorm1d/2d (train and eval, running statistics), Identity; and nn.init."""

import math

import neurona as nr
import numpy as np
import pytest
from neurona import nn
from neurona.autograd import gradcheck
from neurona.nn import functional as F


def t(a, requires_grad=False):
    return nr.tensor(np.asarray(a, np.float32), requires_grad=requires_grad)


# ----- Linear ---------------------------------------------------------------------------------


def test_linear_forward_matches_numpy_on_batched_inputs(rng):
    lin = nn.Linear(5, 3)
    x = rng.standard_normal((2, 4, 5)).astype(np.float32)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    np.testing.assert_allclose(lin(t(x)).detach().numpy(), x @ w.T + b, rtol=1e-5, atol=1e-6)
    nobias = nn.Linear(5, 3, bias=False)
    assert nobias.bias is None and nobias.num_parameters() == 15
    np.testing.assert_allclose(nobias(t(x)).detach().numpy(), x @ nobias.weight.detach().numpy().T, rtol=1e-5, atol=1e-6)


def test_linear_gradcheck(rng):
    lin = nn.Linear(4, 3)
    x = t(rng.standard_normal((5, 4)), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.linear(x, w, b), [x, lin.weight, lin.bias], eps=1e-2)


def test_linear_default_init_is_pytorch_kaiming_uniform():
    nr.manual_seed(1)
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)  # kaiming_uniform_(a=sqrt(5)) reduces to 1/sqrt(fan_in)
    w = lin.weight.detach().numpy()
    b = lin.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    # U(-bound, bound) has std bound/sqrt(3); 120000 draws pin it to ~0.3%.
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound
    assert abs(w.mean()) < 0.01 * bound


def test_manual_seed_makes_models_reproducible():
    nr.manual_seed(42)
    a = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    nr.manual_seed(42)
    b = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    for pa, pb in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(pa.detach().numpy(), pb.detach().numpy())
    c = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    assert not np.array_equal(c[0].weight.detach().numpy(), a[0].weight.detach().numpy())


def test_linear_rejects_wrong_feature_count():
    with pytest.raises(ValueError, match="features"):
        nn.Linear(3, 2)(nr.zeros(4, 5))


# ----- activations --------------------------------------------------------------------------

_ERF = np.vectorize(math.erf)

ACTIVATIONS = [
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.LeakyReLU(0.2), lambda x: np.where(x >= 0, x, 0.2 * x)),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.Tanh(), np.tanh),
    (nn.GELU(), lambda x: 0.5 * x * (1 + _ERF(x / math.sqrt(2)))),
    (nn.GELU("tanh"), lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))),
    (nn.Softplus(), lambda x: np.log1p(np.exp(x))),
    (nn.Softplus(beta=2.0, threshold=3.0), lambda x: np.where(2 * x > 3, x, np.log1p(np.exp(2 * x)) / 2)),
    (nn.Softmax(dim=1), lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True)),
    (nn.LogSoftmax(dim=1), lambda x: x - np.log(np.exp(x).sum(1, keepdims=True))),
    (nn.Softmax(dim=0), lambda x: np.exp(x) / np.exp(x).sum(0, keepdims=True)),
]


@pytest.mark.parametrize("layer,ref", ACTIVATIONS, ids=[repr(a[0]) for a in ACTIVATIONS])
def test_activation_forward_and_gradcheck(layer, ref, rng):
    # Keep away from kinks (0 for ReLU, 1.5 for the Softplus threshold) for finite differences.
    x = rng.uniform(-3, 3, (4, 5))
    x = np.where(np.abs(x) < 0.1, 0.5, x)
    x = np.where(np.abs(x - 1.5) < 0.1, 1.0, x).astype(np.float32)
    np.testing.assert_allclose(layer(t(x)).detach().numpy(), ref(x.astype(np.float64)), rtol=1e-5, atol=1e-6)
    xt = t(x, requires_grad=True)
    assert gradcheck(layer, [xt], eps=1e-2, atol=2e-2, rtol=2e-2)


def test_sign_activation():
    out = nn.Sign()(t([-2.0, 0.0, 3.0]))
    np.testing.assert_array_equal(out.numpy(), [-1.0, 0.0, 1.0])


def test_softmax_is_stable_for_large_logits():
    out = nn.Softmax(dim=-1)(t([[1000.0, 0.0], [-1000.0, -1000.0]])).numpy()
    np.testing.assert_allclose(out, [[1.0, 0.0], [0.5, 0.5]])


# ----- shape layers -------------------------------------------------------------------------


def test_flatten_unflatten_identity(rng):
    x = t(rng.standard_normal((2, 3, 4, 5)))
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, -1)(x).shape == (120,)
    assert nn.Flatten(1, 2)(x).shape == (2, 12, 5)
    y = nn.Unflatten(1, (6, 10))(nn.Flatten()(x))
    assert y.shape == (2, 6, 10)
    np.testing.assert_array_equal(y.numpy().reshape(2, 3, 4, 5), x.numpy())
    assert nn.Unflatten(1, (-1, 2))(nr.zeros(2, 6)).shape == (2, 3, 2)
    with pytest.raises(ValueError):
        nn.Unflatten(1, (4, 4))(nr.zeros(2, 6))
    assert nn.Identity(7, foo=1)(x) is x


# ----- dropout and noise --------------------------------------------------------------------


def test_dropout_is_unbiased_and_scales_survivors():
    p = 0.3
    d = nn.Dropout(p)
    x = nr.ones(200, 500)
    y = d(x).numpy()
    kept = y != 0
    # 100000 Bernoulli(0.7) draws: the kept fraction's std is 0.0014, the mean's 0.002.
    assert abs(kept.mean() - (1 - p)) < 0.01
    np.testing.assert_allclose(y[kept], 1 / (1 - p), rtol=1e-6)
    assert abs(y.mean() - 1.0) < 0.01


def test_dropout_mean_over_many_draws_approaches_the_input(rng):
    x = t(rng.uniform(1, 2, (50,)))
    d = nn.Dropout(0.5)
    draws = np.stack([d(x).numpy() for _ in range(4000)])
    # Each element: mean of 4000 draws of x*{0,2}, std x/sqrt(4000) <= 0.032.
    np.testing.assert_allclose(draws.mean(0), x.numpy(), atol=0.15)


def test_dropout_eval_is_identity_and_gradient_follows_mask():
    d = nn.Dropout(0.5)
    x = nr.randn(10, 10)
    assert d.eval()(x) is x
    d.train()
    xg = nr.randn(10, 10, requires_grad=True)
    y = d(xg)
    y.sum().backward()
    np.testing.assert_array_equal(xg.grad.numpy(), (y.detach().numpy() != 0) * 2.0)
    with pytest.raises(ValueError):
        nn.Dropout(1.5)
    assert np.all(nn.Dropout(1.0)(nr.ones(5)).numpy() == 0)


def test_gaussian_noise_train_only():
    g = nn.GaussianNoise(0.5)
    x = nr.zeros(200, 500)
    y = g(x).numpy()
    assert abs(y.std() - 0.5) < 0.01 and abs(y.mean()) < 0.01
    assert g.eval()(x) is x
    with pytest.raises(ValueError):
        nn.GaussianNoise(-1)


# ----- batch norm ---------------------------------------------------------------------------


def _bn_ref(x, axes, w, b, eps):
    mean = x.mean(axes, keepdims=True)
    var = x.var(axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


@pytest.mark.parametrize("shape,cls", [((8, 3), nn.BatchNorm1d), ((6, 3, 5), nn.BatchNorm1d), ((4, 3, 5, 6), nn.BatchNorm2d)])
def test_batchnorm_train_and_eval_match_numpy_with_running_stats(shape, cls, rng):
    bn = cls(3, momentum=0.2)
    with nr.no_grad():
        bn.weight.copy_(t([1.5, 0.5, 2.0]))
        bn.bias.copy_(t([0.1, -0.2, 0.3]))
    axes = tuple(i for i in range(len(shape)) if i != 1)
    bshape = [1, 3] + [1] * (len(shape) - 2)
    w, b = np.array([1.5, 0.5, 2.0]).reshape(bshape), np.array([0.1, -0.2, 0.3]).reshape(bshape)
    rm, rv = np.zeros(3), np.ones(3)
    n = int(np.prod(shape)) // 3
    for step in range(3):
        x = (rng.standard_normal(shape) * 2 + step).astype(np.float32)
        y = bn(t(x)).detach().numpy()
        x64 = x.astype(np.float64)
        np.testing.assert_allclose(y, _bn_ref(x64, axes, w, b, 1e-5), rtol=1e-4, atol=1e-5)
        rm = 0.8 * rm + 0.2 * x64.mean(axes)
        rv = 0.8 * rv + 0.2 * x64.var(axes) * n / (n - 1)
        np.testing.assert_allclose(bn.running_mean.numpy(), rm, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(bn.running_var.numpy(), rv, rtol=1e-5, atol=1e-6)
    assert int(bn.num_batches_tracked.item()) == 3
    bn.eval()
    x = rng.standard_normal(shape).astype(np.float32)
    want = (x - rm.reshape(bshape)) / np.sqrt(rv.reshape(bshape) + 1e-5) * w + b
    np.testing.assert_allclose(bn(t(x)).detach().numpy(), want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn.running_mean.numpy(), rm, rtol=1e-5, atol=1e-6)  # eval leaves them
    assert int(bn.num_batches_tracked.item()) == 3


def test_batchnorm_momentum_none_is_cumulative_average(rng):
    bn = nn.BatchNorm1d(2, momentum=None)
    xs = [rng.standard_normal((5, 2)).astype(np.float32) for _ in range(4)]
    for x in xs:
        bn(t(x))
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean([x.mean(0) for x in xs], 0), rtol=1e-5, atol=1e-6)


def test_batchnorm_without_affine_or_running_stats(rng):
    bn = nn.BatchNorm2d(3, affine=False, track_running_stats=False)
    assert bn.num_parameters() == 0 and bn.running_mean is None
    assert list(bn.state_dict()) == []
    x = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    bn.eval()  # no running stats: batch statistics even in eval
    np.testing.assert_allclose(bn(t(x)).numpy(), _bn_ref(x.astype(np.float64), (0, 2, 3), 1, 0, 1e-5), rtol=1e-4, atol=1e-5)


def test_batchnorm_gradcheck(rng):
    bn = nn.BatchNorm1d(3)
    with nr.no_grad():
        bn.weight.copy_(t([1.5, 0.5, 2.0]))
    x = t(rng.standard_normal((6, 3)), requires_grad=True)

    def fn(x, w, b):
        return F.batch_norm(x, None, None, w, b, training=True)

    assert gradcheck(fn, [x, bn.weight, bn.bias], eps=1e-2, atol=2e-2, rtol=2e-2)
    x4 = t(rng.standard_normal((3, 2, 2, 3)), requires_grad=True)
    assert gradcheck(lambda a: F.batch_norm(a, None, None, training=True), [x4], eps=1e-2, atol=2e-2, rtol=2e-2)
    rm, rv = t([0.5, -1.0, 0.2]), t([2.0, 0.5, 1.0])
    assert gradcheck(lambda a, w, b: F.batch_norm(a, rm, rv, w, b, training=False), [x, bn.weight, bn.bias], eps=1e-2)


def test_batchnorm_is_identical_for_any_thread_count(rng):
    x = rng.standard_normal((16, 8, 20, 20)).astype(np.float32)  # above the parallel threshold
    threads = nr.get_num_threads()
    out = []
    try:
        for n in (1, 3):
            nr.set_num_threads(n)
            bn = nn.BatchNorm2d(8)
            xt = t(x, requires_grad=True)
            y = bn(xt)
            (y * y).sum().backward()
            out.append([y.detach().numpy().copy(), xt.grad.numpy().copy(), bn.weight.grad.numpy().copy(),
                        bn.running_var.numpy().copy()])
    finally:
        nr.set_num_threads(threads)
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)


def test_batchnorm_errors():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(nr.zeros(1, 3))
    with pytest.raises(ValueError, match="channels"):
        nn.BatchNorm1d(3)(nr.zeros(4, 2))
    with pytest.raises(ValueError, match="4D"):
        nn.BatchNorm2d(3)(nr.zeros(4, 3))
    assert set(nn.BatchNorm1d(4).state_dict()) == {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}


# ----- nn.init --------------------------------------------------------------------------------


def test_fan_and_gain():
    assert nn.init._calculate_fan_in_and_fan_out(nr.zeros(4, 3)) == (3, 4)
    assert nn.init._calculate_fan_in_and_fan_out(nr.zeros(8, 2, 3, 3)) == (18, 72)
    with pytest.raises(ValueError):
        nn.init._calculate_fan_in_and_fan_out(nr.zeros(3))
    assert nn.init.calculate_gain("relu") == math.sqrt(2)
    assert nn.init.calculate_gain("tanh") == 5 / 3
    assert nn.init.calculate_gain("conv2d") == 1
    assert nn.init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    with pytest.raises(ValueError):
        nn.init.calculate_gain("nope")


@pytest.mark.parametrize(
    "fn,kwargs,bound,std",
    [
        (nn.init.xavier_uniform_, {"gain": 2.0}, 2.0 * math.sqrt(6 / 500), 2.0 * math.sqrt(2 / 500)),
        (nn.init.kaiming_uniform_, {"nonlinearity": "relu"}, math.sqrt(6 / 200), math.sqrt(2 / 200)),
        (nn.init.kaiming_uniform_, {"mode": "fan_out", "nonlinearity": "relu"}, math.sqrt(6 / 300), math.sqrt(2 / 300)),
        (nn.init.xavier_normal_, {}, None, math.sqrt(2 / 500)),
        (nn.init.kaiming_normal_, {"nonlinearity": "relu"}, None, math.sqrt(2 / 200)),
        (nn.init.uniform_, {"a": -0.5, "b": 0.5}, 0.5, 1 / math.sqrt(12)),
        (nn.init.normal_, {"std": 0.2}, None, 0.2),
    ],
)
def test_init_distributions(fn, kwargs, bound, std):
    w = nn.Parameter(nr.zeros(300, 200))
    assert fn(w, **kwargs) is w
    a = w.detach().numpy()
    if bound is not None:
        assert np.abs(a).max() <= bound * (1 + 1e-6)
    # 60000 draws: the sample std is within ~1% of the true one.
    assert abs(a.std() - std) < 0.02 * std
    assert abs(a.mean()) < 0.02 * std
    assert w.requires_grad and w.grad is None


def test_init_constants():
    w = nr.zeros(2, 3)
    nn.init.constant_(w, 0.25)
    assert np.all(w.numpy() == 0.25)
    nn.init.ones_(w)
    assert np.all(w.numpy() == 1)
    nn.init.zeros_(w)
    assert np.all(w.numpy() == 0)
    nn.init.eye_(w)
    np.testing.assert_array_equal(w.numpy(), np.eye(2, 3))


def test_fused_linear_relu_keeps_nan_and_matches_the_layers_called_one_by_one():
    # Sequential fuses Linear+ReLU into the GEMM epilogue; ReLU(NaN) must stay NaN there too.
    nr.manual_seed(3)
    model = nn.Sequential(nn.Linear(5, 40), nn.ReLU())
    x = np.random.default_rng(0).standard_normal((6, 5)).astype(np.float32)
    x[1, 2] = np.nan
    xa, xb = t(x, requires_grad=True), t(x, requires_grad=True)
    fused = model(xa)
    plain = model[1](model[0](xb))
    assert np.isnan(fused.detach().numpy()[1]).all()
    np.testing.assert_array_equal(fused.detach().numpy(), plain.detach().numpy())
    fused.sum().backward()
    fused_w_grad = model[0].weight.grad.numpy().copy()
    model.zero_grad()
    plain.sum().backward()
    np.testing.assert_array_equal(xa.grad.numpy(), xb.grad.numpy())
    np.testing.assert_array_equal(fused_w_grad, model[0].weight.grad.numpy())
