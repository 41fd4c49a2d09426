"""Conv2d and the pooling layers: construction (shapes, parameter counts, PyTorch's default
initialisation), forward against NumPy references, gradchecks, a small CNN end to end.
The forward tests need the conv/pool kernels in neurona._core."""

import math

import neurona as nr
import numpy as np
import pytest
from neurona import _core, nn
from neurona.autograd import gradcheck
from neurona.nn import functional as F


def t(a, requires_grad=False):
    return nr.tensor(np.asarray(a, np.float32), requires_grad=requires_grad)


def conv2d_np(x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    n, _, h, wd = x.shape
    cout, cin_g, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    oh = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, cout, oh, ow))
    cout_g = cout // groups
    for o in range(cout):
        g = o // cout_g
        for i in range(oh):
            for j in range(ow):
                r0, c0 = i * stride[0], j * stride[1]
                patch = xp[:, g * cin_g:(g + 1) * cin_g, r0:r0 + dilation[0] * (kh - 1) + 1:dilation[0],
                           c0:c0 + dilation[1] * (kw - 1) + 1:dilation[1]]
                out[:, o, i, j] = (patch * w[o]).sum((1, 2, 3))
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def pool_np(x, k, s, p, op, pad_value):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p[0],) * 2, (p[1],) * 2), constant_values=pad_value)
    oh = (h + 2 * p[0] - k[0]) // s[0] + 1
    ow = (w + 2 * p[1] - k[1]) // s[1] + 1
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = op(xp[:, :, i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1]], axis=(2, 3))
    return out


# ----- construction (no kernels needed) --------------------------------------------------------


def test_conv2d_shapes_parameter_counts_and_repr():
    c = nn.Conv2d(3, 8, 3)
    assert c.weight.shape == (8, 3, 3, 3) and c.bias.shape == (8,)
    assert c.num_parameters() == 8 * 27 + 8
    g = nn.Conv2d(4, 6, (3, 5), stride=2, padding=(1, 2), groups=2, bias=False)
    assert g.weight.shape == (6, 2, 3, 5) and g.bias is None and g.num_parameters() == 180
    assert repr(g) == "Conv2d(4, 6, kernel_size=(3, 5), stride=(2, 2), padding=(1, 2), groups=2, bias=False)"
    assert repr(c) == "Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1))"
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 6, 3, groups=2)
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(3, 6, 3, stride=2, padding="same")


def test_conv2d_default_init_is_pytorch_kaiming_uniform():
    nr.manual_seed(5)
    c = nn.Conv2d(16, 32, 5)
    fan_in = 16 * 25
    bound = 1 / math.sqrt(fan_in)
    w, b = c.weight.detach().numpy(), c.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound


def test_missing_kernels_raise_only_when_called(monkeypatch):
    for name in ("conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"):
        monkeypatch.delattr(_core, name, raising=False)
    layer = nn.Conv2d(1, 1, 3)  # construction works without kernels
    x = nr.zeros(1, 1, 5, 5)
    with pytest.raises(RuntimeError, match="conv2d kernels not built"):
        layer(x)
    with pytest.raises(RuntimeError, match="max_pool2d kernels not built"):
        nn.MaxPool2d(2)(x)
    with pytest.raises(RuntimeError, match="avg_pool2d kernels not built"):
        nn.AvgPool2d(2)(x)
    with pytest.raises(RuntimeError, match="adaptive_avg_pool2d kernels not built"):
        nn.AdaptiveAvgPool2d(1)(x)


def test_pooling_constructor_errors():
    with pytest.raises(ValueError):
        nn.MaxPool2d(2, ceil_mode=True)
    with pytest.raises(ValueError):
        nn.AvgPool2d(2, divisor_override=3)


# ----- forward and backward (kernels) ----------------------------------------------------------


@pytest.mark.parametrize(
    "cin,cout,k,kw",
    [
        (3, 4, 3, {}),
        (3, 4, 3, {"padding": 1}),
        (2, 3, (3, 2), {"stride": 2, "padding": (1, 0)}),
        (4, 6, 3, {"groups": 2, "dilation": 2}),
        (3, 2, 3, {"padding": "same"}),
    ],
)
def test_conv2d_forward_matches_numpy(cin, cout, k, kw, rng):
    layer = nn.Conv2d(cin, cout, k, **kw)
    x = rng.standard_normal((2, cin, 7, 6)).astype(np.float32)
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    pad = layer.padding if layer.padding != "same" else tuple((d * (s - 1)) // 2 for s, d in zip(layer.kernel_size, layer.dilation))
    want = conv2d_np(x.astype(np.float64), w, b, layer.stride, pad, layer.dilation, layer.groups)
    got = layer(t(x))
    assert got.shape == want.shape
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-4, atol=1e-5)
    unbatched = layer(t(x[0]))
    assert unbatched.shape == want.shape[1:]


def test_conv2d_gradcheck(rng):
    x = t(rng.standard_normal((2, 2, 5, 4)), requires_grad=True)
    w = t(rng.standard_normal((3, 2, 3, 3)) * 0.5, requires_grad=True)
    b = t(rng.standard_normal(3), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1), [x, w, b], eps=1e-2, atol=2e-2, rtol=2e-2)


def test_pooling_forward_matches_numpy(rng):
    x = rng.standard_normal((2, 3, 7, 8)).astype(np.float32)
    x64 = x.astype(np.float64)
    got = nn.MaxPool2d(2)(t(x))
    np.testing.assert_allclose(got.numpy(), pool_np(x64, (2, 2), (2, 2), (0, 0), np.max, -np.inf), rtol=1e-6)
    got = nn.MaxPool2d(3, stride=2, padding=1)(t(x))
    np.testing.assert_allclose(got.numpy(), pool_np(x64, (3, 3), (2, 2), (1, 1), np.max, -np.inf), rtol=1e-6)
    got = nn.AvgPool2d(2)(t(x))
    np.testing.assert_allclose(got.numpy(), pool_np(x64, (2, 2), (2, 2), (0, 0), np.mean, 0.0), rtol=1e-5, atol=1e-6)
    got = nn.AvgPool2d(3, stride=1, padding=1)(t(x))  # count_include_pad: zeros count
    np.testing.assert_allclose(got.numpy(), pool_np(x64, (3, 3), (1, 1), (1, 1), np.mean, 0.0), rtol=1e-5, atol=1e-6)
    got = nn.AdaptiveAvgPool2d(1)(t(x))
    np.testing.assert_allclose(got.numpy(), x64.mean((2, 3), keepdims=True), rtol=1e-5, atol=1e-6)
    got = nn.AdaptiveAvgPool2d((None, 2))(t(x))
    assert got.shape == (2, 3, 7, 2)
    np.testing.assert_allclose(got.numpy()[..., 0], x64[..., :4].mean(-1), rtol=1e-5, atol=1e-6)


def test_pooling_gradcheck(rng):
    # Distinct values so the max is unique within each window.
    x = t(rng.permutation(2 * 2 * 6 * 6).reshape(2, 2, 6, 6) * 0.1, requires_grad=True)
    assert gradcheck(lambda a: F.max_pool2d(a, 2), [x], eps=1e-2)
    assert gradcheck(lambda a: F.avg_pool2d(a, 3, stride=2, padding=1), [x], eps=1e-2)
    assert gradcheck(lambda a: F.adaptive_avg_pool2d(a, (2, 3)), [x], eps=1e-2)


def test_small_cnn_trains_and_summarises():
    nr.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3),
    )
    s = model.summary((1, 8, 8), batch_size=2)
    shapes = [r[2] for r in s.rows]
    assert shapes[0] == [-1, 4, 8, 8] and shapes[3] == [-1, 4, 4, 4] and shapes[4] == [-1, 8, 2, 2]
    assert shapes[-1] == [-1, 3]
    assert s.total_params == (4 * 9 + 4) + 8 + (8 * 36 + 8) + (8 * 3 + 3)
    x = nr.randn(6, 1, 8, 8)
    y = nr.tensor([0, 1, 2, 0, 1, 2])
    opt = nr.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = nn.CrossEntropyLoss()(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
