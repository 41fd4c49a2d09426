"""The CUDA backend: every covered op and gradient on a GPU agrees with the CPU to float32
tolerances, devices never mix silently, the fused optimizer kernels follow PyTorch's formulas,
and a short training run on the GPU follows the CPU's loss curve.

Every test here needs a GPU: the module is skipped when ``neurona.cuda.is_available()`` is False
(a build without the ``cuda`` feature, or a machine without an NVIDIA driver or device)."""

import neurona
import numpy as np
import pytest
from neurona import _core

pytestmark = pytest.mark.skipif(not neurona.cuda.is_available(), reason="no CUDA device")

RTOL, ATOL = 1e-5, 1e-6


def rng(seed=0):
    return np.random.default_rng(seed)


def randn(*shape, seed=0):
    return rng(seed).standard_normal(shape).astype(np.float32)


def close(gpu, cpu, rtol=RTOL, atol=ATOL):
    """Asserts a GPU tensor matches a CPU tensor (values, shape, dtype)."""
    assert gpu.device == "cuda:0", gpu.device
    assert tuple(gpu.shape) == tuple(cpu.shape)
    assert gpu.dtype == cpu.dtype
    np.testing.assert_allclose(gpu.detach().cpu().numpy(), cpu.detach().numpy(), rtol=rtol, atol=atol)


def pair(arr, requires_grad=False):
    """The same values as a CPU leaf and a GPU leaf."""
    c = neurona.tensor(arr)
    g = neurona.tensor(arr).cuda()
    if requires_grad:
        c.requires_grad_(True)
        g.requires_grad_(True)
    return c, g


# ----- devices and transfers -----------------------------------------------------------------


def test_device_queries():
    assert neurona.cuda.device_count() >= 1
    name = neurona.cuda.get_device_name(0)
    assert isinstance(name, str) and name
    assert neurona.cuda.get_device_name("cuda:0") == name
    assert neurona.backends.cuda.is_built()
    neurona.cuda.synchronize()


def test_every_kernel_module_compiles():
    compiled = dict(_core.cuda_compile_kernels())
    assert set(compiled) == {"elementwise.cu", "reduce.cu", "softmax.cu", "random.cu", "optim.cu", "loss.cu"}
    assert all(size > 1000 for size in compiled.values())


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
def test_round_trip_keeps_values_dtype_and_shape(dtype):
    a = (rng().standard_normal((3, 5)) * 4).astype(dtype)
    t = neurona.tensor(a)
    g = t.cuda()
    assert g.is_cuda and g.device == "cuda:0" and g.device == neurona.device("cuda", 0)
    assert g.dtype == t.dtype and tuple(g.shape) == (3, 5)
    back = g.cpu()
    assert back.device == "cpu"
    np.testing.assert_array_equal(back.numpy(), a)
    assert g.to("cuda") is not None and g.to("cuda:0").device == "cuda:0"


def test_views_empty_and_scalars_transfer():
    a = randn(4, 6)
    t = neurona.tensor(a)
    np.testing.assert_array_equal(t.t().cuda().cpu().numpy(), a.T)
    np.testing.assert_array_equal(t[1:3, ::2].cuda().cpu().numpy(), a[1:3, ::2])
    g = t.cuda()
    np.testing.assert_array_equal(g.t().cpu().numpy(), a.T)
    np.testing.assert_array_equal(g[1:3, ::2].cpu().numpy(), a[1:3, ::2])
    np.testing.assert_array_equal(g.t().contiguous().cpu().numpy(), a.T)
    e = neurona.zeros(0, 3).cuda()
    assert tuple(e.shape) == (0, 3) and e.cpu().numpy().shape == (0, 3)
    s = neurona.tensor(2.5).cuda()
    assert s.item() == 2.5 and s.ndim == 0
    assert neurona.tensor([1, 2, 3]).cuda().tolist() == [1, 2, 3]
    assert "device='cuda:0'" in repr(g)


def test_creation_with_device_and_clone():
    z = neurona.zeros(2, 3, device="cuda")
    assert z.device == "cuda:0" and z.cpu().numpy().sum() == 0
    w = neurona.randn(3, 4, device="cuda", requires_grad=True)
    assert w.is_leaf and w.requires_grad and w.device == "cuda:0"
    c = w.detach().clone()
    assert c.device == "cuda:0" and not c._c.same_storage(w._c)
    np.testing.assert_array_equal(c.cpu().numpy(), w.detach().cpu().numpy())


def test_mixing_devices_raises_but_cpu_scalars_are_welcome():
    c, g = pair(randn(3))
    with pytest.raises(RuntimeError, match="same device"):
        _ = c + g
    with pytest.raises(RuntimeError, match="same device"):
        _ = g @ neurona.ones(3, 3)
    close(g * 2, c * 2)
    close(2 - g, 2 - c)
    close(g / neurona.tensor(4.0), c / neurona.tensor(4.0))
    close(g ** 2, c ** 2)


def test_gradient_flows_back_through_to_device():
    x = neurona.tensor(randn(4), requires_grad=True)
    y = (x.cuda() * 3).sum()
    y.backward()
    assert x.grad.device == "cpu"
    np.testing.assert_allclose(x.grad.numpy(), np.full(4, 3.0, np.float32))


def test_a_cpu_scalar_that_requires_grad_gets_its_gradient_on_the_cpu():
    s = neurona.tensor(2.0, requires_grad=True)
    _, g = pair(randn(5))
    (g * s).sum().backward()
    assert s.grad.device == "cpu"
    np.testing.assert_allclose(s.grad.item(), g.sum().item(), rtol=1e-5)


# ----- elementwise ------------------------------------------------------------------------------

UNARY = ["neg", "exp", "sqrt", "abs", "relu", "sigmoid", "tanh", "log", "sign"]


@pytest.mark.parametrize("name", UNARY)
def test_unary_forward_and_backward_match_cpu(name):
    a = randn(7, 13) * 3
    if name in ("sqrt", "log"):
        a = np.abs(a) + 0.1
    c, g = pair(a, requires_grad=True)
    fc, fg = getattr(neurona, name)(c), getattr(neurona, name)(g)
    close(fg, fc, rtol=2e-6, atol=1e-6)
    w = randn(7, 13, seed=1)
    (fc * neurona.tensor(w)).sum().backward()
    (fg * neurona.tensor(w).cuda()).sum().backward()
    close(g.grad, c.grad, rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("fn", [
    lambda x: neurona.leaky_relu(x, 0.1),
    lambda x: neurona.clamp(x, -0.5, 0.7),
    lambda x: neurona.clamp(x, min=0.2),
    neurona.gelu,
    neurona.softplus,
], ids=["leaky_relu", "clamp", "clamp_min", "gelu", "softplus"])
def test_parametrised_unary_match_cpu(fn):
    a = randn(5, 9) * 4
    c, g = pair(a, requires_grad=True)
    close(fn(g), fn(c), rtol=1e-5, atol=1e-6)
    fn(c).sum().backward()
    fn(g).sum().backward()
    close(g.grad, c.grad, rtol=1e-5, atol=1e-6)


def test_unary_on_non_contiguous_input():
    c, g = pair(randn(6, 4))
    close(neurona.exp(g.t()), neurona.exp(c.t()))
    close(neurona.tanh(g[::2, 1:]), neurona.tanh(c[::2, 1:]))


def test_int64_unary_and_arithmetic():
    a = rng().integers(-50, 50, size=(4, 5))
    c, g = pair(a)
    close(-g, -c)
    close(g.abs(), c.abs())
    close(g + g * 3 - 7, c + c * 3 - 7)
    close(neurona.maximum(g, g.t().t() - 3), neurona.maximum(c, c - 3))


SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 5)), ((2, 1, 4), (3, 1)), ((5,), ())]


@pytest.mark.parametrize("sa,sb", SHAPES)
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "maximum", "minimum", "pow"])
def test_binary_broadcasting_forward_and_backward_match_cpu(sa, sb, op):
    a, b = randn(*sa, seed=1), randn(*sb, seed=2)
    if op == "pow":
        a = np.abs(a) + 0.5
    if op == "div":
        b = np.where(np.abs(b) < 0.3, 1.0, b).astype(np.float32)
    ca, ga = pair(a, requires_grad=True)
    cb, gb = pair(b, requires_grad=True)
    fc, fg = getattr(neurona, op)(ca, cb), getattr(neurona, op)(ga, gb)
    close(fg, fc, rtol=1e-5, atol=1e-6)
    fc.sum().backward()
    fg.sum().backward()
    close(ga.grad, ca.grad, rtol=1e-5, atol=1e-5)
    close(gb.grad, cb.grad, rtol=1e-5, atol=1e-5)


def test_nan_rules_match_cpu():
    a = np.array([1.0, np.nan, 3.0, -2.0], np.float32)
    b = np.array([np.nan, 2.0, 1.0, -2.0], np.float32)
    ca, ga = pair(a)
    cb, gb = pair(b)
    for fn in (neurona.maximum, neurona.minimum):
        np.testing.assert_array_equal(fn(ga, gb).cpu().numpy(), fn(ca, cb).numpy())
    for op in ("eq", "ne", "lt", "le", "gt", "ge"):
        np.testing.assert_array_equal(getattr(neurona, op)(ga, gb).cpu().numpy(),
                                      getattr(neurona, op)(ca, cb).numpy())


@pytest.mark.parametrize("op", ["eq", "ne", "lt", "le", "gt", "ge"])
def test_comparisons_with_broadcasting_and_ints(op):
    a = rng(3).integers(-3, 3, size=(4, 5))
    b = rng(4).integers(-3, 3, size=(5,))
    ca, ga = pair(a)
    cb, gb = pair(b)
    out = getattr(neurona, op)(ga, gb)
    assert out.dtype == neurona.bool
    close(out, getattr(neurona, op)(ca, cb))
    close(getattr(neurona, op)(ga.float() / 2, 0.5), getattr(neurona, op)(ca.float() / 2, 0.5))


def test_where_forward_and_backward():
    cond = rng(5).random((4, 6)) > 0.5
    cc, gc = pair(cond)
    ca, ga = pair(randn(4, 6), requires_grad=True)
    cb, gb = pair(randn(6, seed=3), requires_grad=True)
    oc, og = neurona.where(cc, ca, cb), neurona.where(gc, ga, gb)
    close(og, oc)
    (oc * 2).sum().backward()
    (og * 2).sum().backward()
    close(ga.grad, ca.grad)
    close(gb.grad, cb.grad)
    close(neurona.where(gc, ga, 0.0), neurona.where(cc, ca, 0.0))


@pytest.mark.parametrize("src,dst", [("float32", "int64"), ("float32", "bool"), ("int64", "float32"),
                                     ("int64", "bool"), ("bool", "float32"), ("bool", "int64")])
def test_casts_match_cpu(src, dst):
    a = (rng().standard_normal((3, 7)) * 5).astype(src)
    c, g = pair(a)
    close(g.to(getattr(neurona, dst)), c.to(getattr(neurona, dst)))
    close(g.t().to(getattr(neurona, dst)), c.t().to(getattr(neurona, dst)))


# ----- reductions and softmax -------------------------------------------------------------------

RED_SHAPES = [((5, 7), None), ((5, 7), 0), ((5, 7), 1), ((4, 300), 1), ((300, 3), 0),
              ((2, 3, 4), (0, 2)), ((6, 200, 2), 1), ((1000,), 0)]


@pytest.mark.parametrize("shape,dim", RED_SHAPES)
@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin"])
def test_reductions_forward_and_backward(shape, dim, name):
    c, g = pair(randn(*shape), requires_grad=True)
    fc = getattr(neurona, name)(c, dim=dim) if dim is not None else getattr(neurona, name)(c)
    fg = getattr(neurona, name)(g, dim=dim) if dim is not None else getattr(neurona, name)(g)
    close(fg, fc, rtol=1e-5, atol=1e-5)
    (fc * 1.5).sum().backward()
    (fg * 1.5).sum().backward()
    close(g.grad, c.grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape,dim", [((5, 7), 1), ((5, 7), 0), ((3, 500), 1), ((500,), 0)])
def test_var_keepdim_and_argext(shape, dim):
    a = randn(*shape)
    a.flat[3] = a.max()  # a tie: the first occurrence wins on both devices
    c, g = pair(a)
    close(neurona.var(g, dim=dim, keepdim=True), neurona.var(c, dim=dim, keepdim=True), rtol=1e-5, atol=1e-5)
    close(neurona.argmax(g, dim=dim), neurona.argmax(c, dim=dim))
    close(neurona.argmin(g, dim=dim), neurona.argmin(c, dim=dim))
    close(neurona.argmax(g), neurona.argmax(c))


def test_reductions_propagate_nan_like_cpu():
    a = randn(4, 100)
    a[1, 57] = np.nan
    a[2, 3] = np.nan
    c, g = pair(a)
    for dim in (0, 1):
        np.testing.assert_array_equal(neurona.amax(g, dim=dim).cpu().numpy(), neurona.amax(c, dim=dim).numpy())
        np.testing.assert_array_equal(neurona.argmax(g, dim=dim).cpu().numpy(), neurona.argmax(c, dim=dim).numpy())
        np.testing.assert_array_equal(neurona.sum(g, dim=dim).cpu().numpy(), neurona.sum(c, dim=dim).numpy())


@pytest.mark.parametrize("shape,dim", [((4, 10), -1), ((4, 10), 0), ((3, 700), 1), ((2, 5, 3), 1)])
@pytest.mark.parametrize("log", [False, True])
def test_softmax_forward_and_backward(shape, dim, log):
    fn = neurona.log_softmax if log else neurona.softmax
    c, g = pair(randn(*shape) * 5, requires_grad=True)
    fc, fg = fn(c, dim=dim), fn(g, dim=dim)
    close(fg, fc, rtol=1e-5, atol=1e-6)
    w = randn(*shape, seed=9)
    (fc * neurona.tensor(w)).sum().backward()
    (fg * neurona.tensor(w).cuda()).sum().backward()
    close(g.grad, c.grad, rtol=1e-4, atol=1e-6)


def test_softmax_is_stable_for_large_inputs():
    _, g = pair(np.array([[1e4, 0.0, -1e4]], np.float32))
    out = neurona.softmax(g, dim=1).cpu().numpy()
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, [[1.0, 0.0, 0.0]], atol=1e-6)


# ----- matrix products --------------------------------------------------------------------------

MM = [((4, 5), (5, 3)), ((1, 7), (7, 1)), ((3, 4, 5), (5, 2)), ((2, 3, 4, 5), (3, 5, 6)),
      ((5,), (5, 3)), ((4, 5), (5,)), ((5,), (5,)), ((64, 128), (128, 96))]


@pytest.mark.parametrize("sa,sb", MM)
def test_matmul_forward_and_backward(sa, sb):
    ca, ga = pair(randn(*sa, seed=1), requires_grad=True)
    cb, gb = pair(randn(*sb, seed=2), requires_grad=True)
    fc, fg = ca @ cb, ga @ gb
    close(fg, fc, rtol=1e-4, atol=1e-4)
    fc.sum().backward()
    fg.sum().backward()
    close(ga.grad, ca.grad, rtol=1e-4, atol=1e-4)
    close(gb.grad, cb.grad, rtol=1e-4, atol=1e-4)


def test_matmul_on_transposed_and_strided_views():
    a, b = randn(6, 8, seed=1), randn(6, 10, seed=2)
    ca, ga = pair(a)
    cb, gb = pair(b)
    close(ga.t() @ gb, ca.t() @ cb, rtol=1e-4, atol=1e-4)
    close(gb.t() @ ga, cb.t() @ ca, rtol=1e-4, atol=1e-4)
    close(ga[:, ::2].t() @ gb[:, 1:5], ca[:, ::2].t() @ cb[:, 1:5], rtol=1e-4, atol=1e-4)
    x = neurona.tensor(randn(3, 4, 5)).cuda()
    y = neurona.tensor(randn(3, 5, 4, seed=5)).cuda()
    close(x @ y.transpose(1, 2).transpose(1, 2), x.cpu() @ y.cpu(), rtol=1e-4, atol=1e-4)
    close(x.transpose(1, 2) @ x, x.cpu().transpose(1, 2) @ x.cpu(), rtol=1e-4, atol=1e-4)


def test_matmul_with_empty_inner_dimension_is_zero():
    g = neurona.zeros(3, 0).cuda() @ neurona.zeros(0, 4).cuda()
    np.testing.assert_array_equal(g.cpu().numpy(), np.zeros((3, 4), np.float32))


@pytest.mark.parametrize("bias,relu", [(True, False), (True, True), (False, True), (False, False)])
def test_linear_forward_and_backward(bias, relu):
    cx, gx = pair(randn(6, 5), requires_grad=True)
    cw, gw = pair(randn(4, 5, seed=1), requires_grad=True)
    cb, gb = pair(randn(4, seed=2), requires_grad=True)
    fc = neurona.linear(cx, cw, cb if bias else None, relu=relu)
    fg = neurona.linear(gx, gw, gb if bias else None, relu=relu)
    close(fg, fc, rtol=1e-4, atol=1e-5)
    fc.sum().backward()
    fg.sum().backward()
    close(gx.grad, cx.grad, rtol=1e-4, atol=1e-5)
    close(gw.grad, cw.grad, rtol=1e-4, atol=1e-5)
    if bias:
        close(gb.grad, cb.grad, rtol=1e-4, atol=1e-5)


def test_tf32_switch_defaults_off_and_keeps_results_close():
    assert neurona.backends.cuda.matmul.allow_tf32 is False
    ca, ga = pair(randn(128, 256, seed=1))
    cb, gb = pair(randn(256, 64, seed=2))
    try:
        neurona.backends.cuda.matmul.allow_tf32 = True
        assert neurona.backends.cuda.matmul.allow_tf32 is True
        close(ga @ gb, ca @ cb, rtol=2e-2, atol=5e-2)
    finally:
        neurona.backends.cuda.matmul.allow_tf32 = False
    with pytest.raises(AttributeError):
        neurona.backends.cuda.matmul.allow_tf33 = True


# ----- views, slicing, in place -----------------------------------------------------------------


def test_slicing_reshape_and_their_gradients():
    c, g = pair(randn(5, 6), requires_grad=True)
    fc = (c[1:4, ::2] * 2).sum() + c.reshape(3, 10).t().sum() + c.t()[0].sum()
    fg = (g[1:4, ::2] * 2).sum() + g.reshape(3, 10).t().sum() + g.t()[0].sum()
    close(fg, fc, rtol=1e-5, atol=1e-5)
    fc.backward()
    fg.backward()
    close(g.grad, c.grad)


def test_in_place_updates_under_no_grad():
    c, g = pair(randn(4, 3))
    with neurona.no_grad():
        c += 1
        g += 1
        c *= neurona.tensor(randn(3, seed=1))
        g *= neurona.tensor(randn(3, seed=1)).cuda()
        c.add_(c, alpha=-0.5)
        g.add_(g, alpha=-0.5)
    close(g, c)
    t = neurona.zeros(2, 3).cuda()
    t.copy_(neurona.tensor([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(t.cpu().numpy(), np.tile([1.0, 2.0, 3.0], (2, 1)))
    t.t().copy_(neurona.ones(3, 2).cuda() * 7)
    assert np.all(t.cpu().numpy() == 7)


# ----- dropout ----------------------------------------------------------------------------------


def test_dropout_on_the_device():
    x = neurona.ones(200, 500).cuda().requires_grad_(True)
    neurona.manual_seed(3)
    y = neurona.dropout(x, p=0.3)
    v = y.detach().cpu().numpy()
    kept = v != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(v[kept], 1 / 0.7, rtol=1e-6)
    neurona.manual_seed(3)
    np.testing.assert_array_equal(neurona.dropout(x, p=0.3).detach().cpu().numpy(), v)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), v, rtol=1e-6)
    # Rows differ: the mask is not one row repeated.
    assert not np.array_equal(kept[0], kept[1])


# ----- fused kernels: cross-entropy and optimizers ----------------------------------------------


def np_cross_entropy(x, t, ignore=-100):
    m = x.max(1, keepdims=True)
    lse = np.log(np.exp(x - m).sum(1)) + m[:, 0]
    keep = t != ignore
    rows = np.arange(len(t))[keep]
    loss = (lse[keep] - x[rows, t[keep]]).mean()
    p = np.exp(x - lse[:, None])
    p[rows, t[keep]] -= 1
    p[~keep] = 0
    return loss, p / keep.sum()


@pytest.mark.parametrize("n,c", [(8, 10), (3, 1000), (1, 2)])
def test_cross_entropy_matches_the_formula(n, c):
    x = randn(n, c) * 3
    t = rng(1).integers(0, c, size=n)
    if n > 2:
        t[1] = -100
    gx = neurona.tensor(x).cuda().requires_grad_(True)
    loss = _core.cuda_cross_entropy(gx._c, neurona.tensor(t).cuda()._c, -100)
    ref, grad = np_cross_entropy(x.astype(np.float64), t)
    got = neurona.tensor(0.0)
    got._c = loss
    np.testing.assert_allclose(got.item(), ref, rtol=1e-5)
    got.backward()
    np.testing.assert_allclose(gx.grad.cpu().numpy(), grad, rtol=1e-4, atol=1e-6)


def test_cross_entropy_rejects_bad_targets():
    x = neurona.tensor(randn(3, 4)).cuda()
    with pytest.raises(IndexError, match="out of bounds"):
        _core.cuda_cross_entropy(x._c, neurona.tensor([0, 4, 1]).cuda()._c, -100)


def _state(*arrays):
    return [neurona.tensor(a).cuda() for a in arrays]


def test_sgd_momentum_nesterov_matches_formula():
    p0, grads = randn(50), [randn(50, seed=s) for s in range(1, 6)]
    p, buf = _state(p0, np.zeros(50, np.float32))
    ref, rbuf = p0.astype(np.float64), np.zeros(50)
    lr, mom, damp, wd = 0.1, 0.9, 0.1, 0.01
    for i, g in enumerate(grads):
        _core.cuda_sgd_step(p._c, neurona.tensor(g).cuda()._c, buf._c, i == 0, lr, mom, damp, wd, True, False)
        d = g + wd * ref
        rbuf = d if i == 0 else mom * rbuf + (1 - damp) * d
        ref = ref - lr * (d + mom * rbuf)
    np.testing.assert_allclose(p.cpu().numpy(), ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("decoupled,amsgrad", [(False, False), (True, False), (False, True)])
def test_adam_and_adamw_match_formula(decoupled, amsgrad):
    p0, grads = randn(40), [randn(40, seed=s) for s in range(1, 8)]
    p, m, v, vmax = _state(p0, *[np.zeros(40, np.float32)] * 3)
    ref, rm, rv, rvmax = p0.astype(np.float64), np.zeros(40), np.zeros(40), np.zeros(40)
    lr, b1, b2, eps, wd = 1e-2, 0.9, 0.999, 1e-8, 0.05
    for t, g in enumerate(grads, start=1):
        _core.cuda_adam_step(p._c, neurona.tensor(g).cuda()._c, m._c, v._c, vmax._c if amsgrad else None,
                             t, lr, b1, b2, eps, wd, decoupled, amsgrad, False)
        d = g.astype(np.float64)
        if decoupled:
            ref = ref * (1 - lr * wd)
        else:
            d = d + wd * ref
        rm = b1 * rm + (1 - b1) * d
        rv = b2 * rv + (1 - b2) * d * d
        vh = rv
        if amsgrad:
            rvmax = np.maximum(rvmax, rv)
            vh = rvmax
        denom = np.sqrt(vh) / np.sqrt(1 - b2 ** t) + eps
        ref = ref - lr / (1 - b1 ** t) * rm / denom
    np.testing.assert_allclose(p.cpu().numpy(), ref, rtol=1e-5, atol=1e-6)


def test_rmsprop_and_adagrad_match_formula():
    p0, grads = randn(30), [randn(30, seed=s) for s in range(1, 6)]
    p, v, buf = _state(p0, np.zeros(30, np.float32), np.zeros(30, np.float32))
    q, s = _state(p0, np.zeros(30, np.float32))
    rp, rv, rb = p0.astype(np.float64), np.zeros(30), np.zeros(30)
    rq, rs = p0.astype(np.float64), np.zeros(30)
    lr, alpha, eps, mom, decay = 0.01, 0.99, 1e-8, 0.5, 0.1
    for t, g in enumerate(grads, start=1):
        gc = neurona.tensor(g).cuda()
        _core.cuda_rmsprop_step(p._c, gc._c, v._c, buf._c, lr, alpha, eps, 0.0, mom, False)
        rv = alpha * rv + (1 - alpha) * g * g
        rb = mom * rb + g / (np.sqrt(rv) + eps)
        rp = rp - lr * rb
        _core.cuda_adagrad_step(q._c, gc._c, s._c, t, lr, decay, 1e-10, 0.0, False)
        rs = rs + g * g
        rq = rq - lr / (1 + (t - 1) * decay) * g / (np.sqrt(rs) + 1e-10)
    np.testing.assert_allclose(p.cpu().numpy(), rp, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(q.cpu().numpy(), rq, rtol=1e-5, atol=1e-6)


# ----- a short training run ---------------------------------------------------------------------


def _train(device, steps=60):
    r = rng(7)
    n, d, h, k = 256, 10, 32, 3
    centers = r.standard_normal((k, d)) * 2
    labels = r.integers(0, k, size=n)
    x = (centers[labels] + r.standard_normal((n, d))).astype(np.float32)
    onehot = np.eye(k, dtype=np.float32)[labels]
    params = [randn(h, d, seed=1) * 0.3, np.zeros(h, np.float32), randn(k, h, seed=2) * 0.3,
              np.zeros(k, np.float32)]
    ps = [neurona.tensor(p).to(device).requires_grad_(True) for p in params]
    xt, yt = neurona.tensor(x).to(device), neurona.tensor(onehot).to(device)
    losses = []
    for _ in range(steps):
        hid = neurona.linear(xt, ps[0], ps[1], relu=True)
        logits = neurona.linear(hid, ps[2], ps[3])
        loss = -(yt * neurona.log_softmax(logits, dim=1)).sum(dim=1).mean()
        for p in ps:
            p.grad = None
        loss.backward()
        with neurona.no_grad():
            for p in ps:
                p -= 0.5 * p.grad
        losses.append(loss.item())
    return np.array(losses)


def _train_module(device, opt_name, steps=25):
    """A small nn.Module trained with a neurona.optim optimizer and cross-entropy."""
    neurona.manual_seed(0)
    model = neurona.nn.Sequential(neurona.nn.Linear(10, 32), neurona.nn.ReLU(), neurona.nn.Linear(32, 3))
    model.to(device)
    kwargs = {"SGD": {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3},
              "Adam": {"lr": 1e-2, "weight_decay": 1e-3},
              "AdamW": {"lr": 1e-2, "weight_decay": 1e-2, "amsgrad": True},
              "RMSprop": {"lr": 1e-3, "momentum": 0.5},
              "Adagrad": {"lr": 0.05, "lr_decay": 0.01}}[opt_name]
    opt = getattr(neurona.optim, opt_name)(model.parameters(), **kwargs)
    r = rng(11)
    x = neurona.tensor(r.standard_normal((64, 10)).astype(np.float32)).to(device)
    y = neurona.tensor(r.integers(0, 3, size=64)).to(device)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = neurona.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return np.array(losses), [p.detach().cpu().numpy() for p in model.parameters()]


@pytest.mark.parametrize("opt_name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_optimizers_and_cross_entropy_train_a_module_like_the_cpu(opt_name):
    cpu_losses, cpu_params = _train_module("cpu", opt_name)
    gpu_losses, gpu_params = _train_module("cuda", opt_name)
    assert cpu_losses[-1] < cpu_losses[0]
    np.testing.assert_allclose(gpu_losses, cpu_losses, rtol=1e-3, atol=1e-5)
    for g, c in zip(gpu_params, cpu_params):
        np.testing.assert_allclose(g, c, rtol=1e-3, atol=1e-5)


def test_training_on_the_gpu_follows_the_cpu_loss_curve():
    cpu, gpu = _train("cpu"), _train("cuda")
    assert cpu[-1] < 0.5 * cpu[0]  # it learns
    np.testing.assert_allclose(gpu, cpu, rtol=1e-3, atol=1e-4)
