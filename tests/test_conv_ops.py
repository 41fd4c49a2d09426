"""conv2d and pooling through neurona.nn.functional: forward against a naive NumPy reference
written here, gradients by gradcheck, the course's worked example, and clear errors."""

import neurona
import neurona.nn.functional as F
import numpy as np
import pytest
from neurona.autograd import gradcheck


def conv_ref(x, w, b, stride, pad, dil, groups):
    n, _, h, wd = x.shape
    co, cig, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    oh = (h + 2 * pad[0] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd + 2 * pad[1] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, co, oh, ow))
    cog = co // groups
    for o in range(co):
        g = o // cog
        for i in range(oh):
            for j in range(ow):
                patch = xp[:, g * cig:(g + 1) * cig,
                           i * stride[0]: i * stride[0] + dil[0] * (kh - 1) + 1: dil[0],
                           j * stride[1]: j * stride[1] + dil[1] * (kw - 1) + 1: dil[1]]
                out[:, o, i, j] = (patch * w[o]).sum(axis=(1, 2, 3)) + (0 if b is None else b[o])
    return out


def pool_ref(x, k, s, p, kind):
    n, c, h, w = x.shape
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=fill)
    oh, ow = (h + 2 * p[0] - k[0]) // s[0] + 1, (w + 2 * p[1] - k[1]) // s[1] + 1
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            win = xp[:, :, i * s[0]: i * s[0] + k[0], j * s[1]: j * s[1] + k[1]]
            out[:, :, i, j] = win.max(axis=(2, 3)) if kind == "max" else win.mean(axis=(2, 3))
    return out


def test_the_course_worked_example():
    img = neurona.tensor([[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]],
                         dtype=neurona.float32)
    kernel = neurona.tensor([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=neurona.float32)
    out = F.conv2d(img.reshape(1, 1, 5, 5), kernel.reshape(1, 1, 3, 3))
    assert out.reshape(3, 3).tolist() == [[4, 3, 4], [2, 4, 3], [2, 3, 4]]


CASES = [
    # (N, C_in, H, W), (C_out, kh, kw), stride, pad, dilation, groups, bias
    ((2, 1, 7, 6), (3, 3, 3), (1, 1), (1, 1), (1, 1), 1, True),
    ((1, 4, 9, 8), (6, 3, 2), (2, 1), (0, 1), (1, 1), 2, False),
    ((2, 3, 8, 8), (3, 3, 3), (1, 2), (2, 1), (2, 1), 3, True),  # depthwise, dilated
    ((1, 2, 5, 5), (2, 1, 1), (1, 1), (0, 0), (1, 1), 1, True),
    ((1, 2, 6, 7), (4, 5, 3), (3, 2), (2, 0), (1, 2), 1, True),
]


@pytest.mark.parametrize("ishape,wshape,stride,pad,dil,groups,bias", CASES)
def test_conv2d_matches_reference_and_gradcheck(rng, ishape, wshape, stride, pad, dil, groups, bias):
    x = rng.standard_normal(ishape).astype(np.float32)
    w = rng.standard_normal((wshape[0], ishape[1] // groups, wshape[1], wshape[2])).astype(np.float32)
    b = rng.standard_normal(wshape[0]).astype(np.float32) if bias else None
    tx, tw = neurona.tensor(x, requires_grad=True), neurona.tensor(w, requires_grad=True)
    tb = neurona.tensor(b, requires_grad=True) if bias else None
    out = F.conv2d(tx, tw, tb, stride=stride, padding=pad, dilation=dil, groups=groups)
    np.testing.assert_allclose(out.detach().numpy(), conv_ref(x, w, b, stride, pad, dil, groups), rtol=1e-4, atol=1e-4)
    inputs = [tx, tw] + ([tb] if bias else [])

    def fn(*ts):
        return F.conv2d(ts[0], ts[1], ts[2] if bias else None, stride=stride, padding=pad, dilation=dil, groups=groups)

    assert gradcheck(fn, inputs, eps=1e-2, atol=2e-2, rtol=2e-2)


def test_conv2d_same_and_valid_padding(rng):
    x = neurona.randn(1, 2, 9, 9)
    w = neurona.randn(3, 2, 5, 5)
    assert F.conv2d(x, w, padding="same").shape == (1, 3, 9, 9)
    assert F.conv2d(x, w, padding="valid").shape == (1, 3, 5, 5)


@pytest.mark.parametrize("k,s,p", [((2, 2), (2, 2), (0, 0)), ((3, 3), (1, 1), (1, 1)), ((3, 2), (2, 1), (1, 0)), ((2, 2), (1, 1), (0, 0))])
def test_pooling_matches_reference_and_gradcheck(rng, k, s, p):
    # Distinct values keep max pooling's arg-max unique, so finite differences are clean.
    x = (rng.permutation(2 * 3 * 7 * 6).reshape(2, 3, 7, 6) / 10.0).astype(np.float32)
    for kind, fn in [("max", F.max_pool2d), ("avg", F.avg_pool2d)]:
        t = neurona.tensor(x, requires_grad=True)
        out = fn(t, k, s, p)
        np.testing.assert_allclose(out.detach().numpy(), pool_ref(x, k, s, p, kind), rtol=1e-5, atol=1e-6)
        assert gradcheck(lambda v, fn=fn: fn(v, k, s, p), [t], eps=1e-2, atol=1e-2, rtol=1e-2)


def test_max_pool_overlapping_windows_accumulate_gradient():
    x = neurona.tensor([[[[0.0, 1.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 0.0]]]], requires_grad=True)
    F.max_pool2d(x, 2, stride=1).sum().backward()
    # The centre 5 is the max of all four 2x2 windows.
    assert x.grad.numpy()[0, 0, 1, 1] == 4.0 and x.grad.numpy().sum() == 4.0


def test_adaptive_avg_pool(rng):
    x = rng.standard_normal((2, 3, 7, 5)).astype(np.float32)
    t = neurona.tensor(x, requires_grad=True)
    np.testing.assert_allclose(F.adaptive_avg_pool2d(t, 1).detach().numpy(), x.mean(axis=(2, 3), keepdims=True), rtol=1e-5)
    out = F.adaptive_avg_pool2d(t, (3, 2))
    assert out.shape == (2, 3, 3, 2)
    # PyTorch's windows: rows [0,3), [2,5), [4,7); columns [0,3), [2,5).
    np.testing.assert_allclose(out.detach().numpy()[:, :, 1, 0], x[:, :, 2:5, 0:3].mean(axis=(2, 3)), rtol=1e-5)
    assert gradcheck(lambda v: F.adaptive_avg_pool2d(v, (3, 2)), [t], eps=1e-2, atol=1e-2)


def test_conv_errors_are_clear():
    x = neurona.zeros(1, 3, 5, 5)
    with pytest.raises(ValueError, match="channel|C_in|3"):
        F.conv2d(x, neurona.zeros(4, 2, 3, 3))
    with pytest.raises(ValueError, match="kernel|larger|padded"):
        F.conv2d(x, neurona.zeros(4, 3, 7, 7))
    with pytest.raises(ValueError, match="groups|divisible"):
        F.conv2d(x, neurona.zeros(4, 1, 3, 3), groups=2)
    with pytest.raises(ValueError):
        F.conv2d(neurona.zeros(5, 5), neurona.zeros(1, 1, 3, 3))
    with pytest.raises(ValueError, match="kernel|larger|padded"):
        F.max_pool2d(neurona.zeros(1, 1, 2, 2), 3)


def conv3x3_grads_ref(x, w, g, pad):
    """grad_input and grad_weight of a stride-1 3x3 convolution, in float64."""
    x, w, g = x.astype(np.float64), w.astype(np.float64), g.astype(np.float64)
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(2, 3))  # n c oh ow 3 3
    gw = np.einsum("nohw,nchwyx->ocyx", g, win)
    gp = np.pad(g, ((0, 0), (0, 0), (2 - pad, 2 - pad), (2 - pad, 2 - pad)))
    gwin = np.lib.stride_tricks.sliding_window_view(gp, (3, 3), axis=(2, 3))  # n o h w 3 3
    gi = np.einsum("nohwyx,ocyx->nchw", gwin, w[:, :, ::-1, ::-1])
    return gi, gw


# 3x3 stride-1 layers on the Winograd paths: F(2x2) (8 channels) and F(4x4) (16 or more
# channels; on the 14-wide plane with two tile rows per vector), every padding they take.
WINOGRAD = [((3, 8, 9, 10), 8, 1), ((2, 16, 14, 14), 24, 1), ((2, 16, 12, 11), 20, 1),
            ((3, 17, 9, 13), 16, 0), ((2, 16, 7, 9), 18, 2)]


@pytest.mark.parametrize("ishape,co,pad", WINOGRAD)
def test_winograd_conv_matches_reference_and_is_thread_independent(rng, ishape, co, pad):
    x = rng.standard_normal(ishape).astype(np.float32)
    w = (rng.standard_normal((co, ishape[1], 3, 3)) * 0.2).astype(np.float32)
    b = rng.standard_normal(co).astype(np.float32)
    results, before = [], neurona.get_num_threads()
    try:
        for threads in (1, 2, 3):
            neurona.set_num_threads(threads)
            tx, tw, tb = (neurona.tensor(a, requires_grad=True) for a in (x, w, b))
            y = F.conv2d(tx, tw, tb, padding=pad)
            (y * y).sum().backward()
            results.append([y.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()])
    finally:
        neurona.set_num_threads(before)
    for r in results[1:]:
        for a, b_ in zip(results[0], r):
            assert np.array_equal(a, b_)
    y, gx, gw, gb = results[0]
    want = conv_ref(x, w, b, (1, 1), (pad, pad), (1, 1), 1)
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)
    g = 2 * y
    ri, rw = conv3x3_grads_ref(x, w, g, pad)
    for got, ref in [(gx, ri), (gw, rw), (gb, g.sum(axis=(0, 2, 3)))]:
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())
