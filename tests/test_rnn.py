"""Recurrent layers: nn.RNN/LSTM/GRU and their cells against a NumPy implementation of the
published equations (float64, same weights), gradients by finite differences through several
time steps, PyTorch's parameter names and shapes, bitwise thread independence, and the errors
bad shapes raise."""

import neurona
import numpy as np
import pytest
from neurona import _core, nn
from neurona.autograd import gradcheck
from neurona.tensor import _wrap


# ----- NumPy reference ---------------------------------------------------------------------
def _sig(v):
    return 1.0 / (1.0 + np.exp(-v))


def np_cell(mode, x, h, c, w_ih, w_hh, b_ih, b_hh):
    """One step from the equations in PyTorch's documentation; returns (h', c')."""
    gi = x @ w_ih.T + (0 if b_ih is None else b_ih)
    gh = h @ w_hh.T + (0 if b_hh is None else b_hh)
    if mode in ("RNN_TANH", "RNN_RELU"):
        a = gi + gh
        return (np.tanh(a) if mode == "RNN_TANH" else np.maximum(a, 0)), None
    if mode == "LSTM":
        i, f, g, o = np.split(gi + gh, 4, axis=-1)
        c2 = _sig(f) * c + _sig(i) * np.tanh(g)
        return _sig(o) * np.tanh(c2), c2
    r_i, z_i, n_i = np.split(gi, 3, axis=-1)
    r_h, z_h, n_h = np.split(gh, 3, axis=-1)
    r, z = _sig(r_i + r_h), _sig(z_i + z_h)
    n = np.tanh(n_i + r * n_h)
    return (1 - z) * n + z * h, None


def np_layer(mode, x, h, c, w, reverse):
    steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
    out = [None] * x.shape[0]
    for t in steps:
        h, c = np_cell(mode, x[t], h, c, *w)
        out[t] = h
    return np.stack(out), h, c


def np_stack(mode, params, x, h0, c0, num_layers, bidirectional, bias=True):
    """The multi-layer (bi)directional network on time-major x; returns (output, h_n, c_n)."""
    d = 2 if bidirectional else 1
    hs, cs = [], []
    for layer in range(num_layers):
        outs = []
        for k in range(d):
            sfx = f"_l{layer}" + ("_reverse" if k else "")
            w = [params["weight_ih" + sfx], params["weight_hh" + sfx],
                 params["bias_ih" + sfx] if bias else None, params["bias_hh" + sfx] if bias else None]
            idx = layer * d + k
            o, h, c = np_layer(mode, x, h0[idx], None if c0 is None else c0[idx], w, k == 1)
            outs.append(o)
            hs.append(h)
            cs.append(c)
        x = np.concatenate(outs, axis=-1)
    return x, np.stack(hs), (np.stack(cs) if mode == "LSTM" else None)


def params64(module):
    return {k: v.numpy().astype(np.float64) for k, v in module.state_dict().items()}


def arr(t):
    return t.detach().numpy()


def tensor(a, requires_grad=False):
    return neurona.tensor(np.asarray(a, np.float32), requires_grad=requires_grad)


MODES = [("RNN", "RNN_TANH", {}), ("RNN", "RNN_RELU", {"nonlinearity": "relu"}), ("LSTM", "LSTM", {}),
         ("GRU", "GRU", {})]
MODE_IDS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]


# ----- cells ---------------------------------------------------------------------------------
CELLS = [("RNNCell", "RNN_TANH", {}), ("RNNCell", "RNN_RELU", {"nonlinearity": "relu"}),
         ("LSTMCell", "LSTM", {}), ("GRUCell", "GRU", {})]


@pytest.mark.parametrize("cls,mode,kw", CELLS, ids=MODE_IDS)
@pytest.mark.parametrize("bias", [True, False])
def test_cell_forward_matches_numpy(rng, cls, mode, kw, bias):
    cell = getattr(nn, cls)(5, 7, bias=bias, **kw)
    p = params64(cell)
    w = [p["weight_ih"], p["weight_hh"], p.get("bias_ih"), p.get("bias_hh")]
    x = rng.standard_normal((3, 5)).astype(np.float32)
    h = rng.standard_normal((3, 7)).astype(np.float32)
    c = rng.standard_normal((3, 7)).astype(np.float32)
    want_h, want_c = np_cell(mode, x.astype(np.float64), h.astype(np.float64), c.astype(np.float64), *w)
    if mode == "LSTM":
        got_h, got_c = cell(tensor(x), (tensor(h), tensor(c)))
        np.testing.assert_allclose(arr(got_c), want_c, rtol=1e-5, atol=1e-6)
    else:
        got_h = cell(tensor(x), tensor(h))
    np.testing.assert_allclose(arr(got_h), want_h, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls,mode,kw", CELLS, ids=MODE_IDS)
def test_cell_default_state_is_zero_and_unbatched_works(rng, cls, mode, kw):
    cell = getattr(nn, cls)(4, 6, **kw)
    p = params64(cell)
    w = [p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"]]
    x = rng.standard_normal(4).astype(np.float32)
    want, _ = np_cell(mode, x[None].astype(np.float64), np.zeros((1, 6)), np.zeros((1, 6)), *w)
    out = cell(tensor(x))
    h = out[0] if mode == "LSTM" else out
    assert tuple(h.shape) == (6,)
    np.testing.assert_allclose(arr(h), want[0], rtol=1e-5, atol=1e-6)


def test_lstm_cell_gradcheck():
    cell = nn.LSTMCell(3, 4)
    x = neurona.randn(2, 3, requires_grad=True)
    h = neurona.randn(2, 4, requires_grad=True)
    c = neurona.randn(2, 4, requires_grad=True)
    params = list(cell.parameters())
    assert gradcheck(lambda x, h, c, *_: cell(x, (h, c)), [x, h, c, *params])


def test_gru_cell_gradcheck():
    cell = nn.GRUCell(3, 4)
    x = neurona.randn(2, 3, requires_grad=True)
    h = neurona.randn(2, 4, requires_grad=True)
    assert gradcheck(lambda x, h, *_: cell(x, h), [x, h, *cell.parameters()])


# ----- whole layers against the NumPy stack ----------------------------------------------------
@pytest.mark.parametrize("cls,mode,kw", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (1, True), (3, False), (2, True)])
def test_layer_matches_numpy_stack(rng, cls, mode, kw, num_layers, bidirectional):
    m = getattr(nn, cls)(5, 6, num_layers=num_layers, bidirectional=bidirectional, **kw)
    d = 2 if bidirectional else 1
    x = rng.standard_normal((7, 3, 5)).astype(np.float32)
    h0 = rng.standard_normal((num_layers * d, 3, 6)).astype(np.float32)
    c0 = rng.standard_normal((num_layers * d, 3, 6)).astype(np.float32)
    want = np_stack(mode, params64(m), x.astype(np.float64), h0.astype(np.float64),
                    c0.astype(np.float64) if mode == "LSTM" else None, num_layers, bidirectional)
    if mode == "LSTM":
        out, (h_n, c_n) = m(tensor(x), (tensor(h0), tensor(c0)))
        np.testing.assert_allclose(arr(c_n), want[2], rtol=1e-4, atol=1e-5)
    else:
        out, h_n = m(tensor(x), tensor(h0))
    assert tuple(out.shape) == (7, 3, d * 6)
    assert tuple(h_n.shape) == (num_layers * d, 3, 6)
    np.testing.assert_allclose(arr(out), want[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(arr(h_n), want[1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cls,mode,kw", MODES, ids=MODE_IDS)
def test_input_size_zero_runs_on_state_and_biases(rng, cls, mode, kw):
    # PyTorch accepts input_size=0: the gates see only W_hh h + biases. (This raised an
    # internal error once: the stacked [x, h, 1] operand split rows into chunks of I.)
    m = getattr(nn, cls)(0, 5, **kw)
    h0 = rng.standard_normal((1, 2, 5)).astype(np.float32)
    c0 = rng.standard_normal((1, 2, 5)).astype(np.float32)
    x = np.zeros((4, 2, 0), np.float32)
    want = np_stack(mode, params64(m), x.astype(np.float64), h0.astype(np.float64),
                    c0.astype(np.float64) if mode == "LSTM" else None, 1, False)
    state = (tensor(h0), tensor(c0)) if mode == "LSTM" else tensor(h0)
    out, _ = m(tensor(x), state)
    np.testing.assert_allclose(arr(out), want[0], rtol=1e-4, atol=1e-5)
    out.sum().backward()
    assert m.weight_hh_l0.grad is not None and np.abs(arr(m.weight_hh_l0.grad)).sum() > 0


@pytest.mark.parametrize("cls,mode,kw", MODES, ids=MODE_IDS)
def test_batch_first_no_bias_and_default_states(rng, cls, mode, kw):
    m = getattr(nn, cls)(4, 5, num_layers=2, bidirectional=True, batch_first=True, bias=False, **kw)
    assert [k for k in m.state_dict() if "bias" in k] == []
    x = rng.standard_normal((3, 6, 4)).astype(np.float32)  # (N, T, I)
    zeros = np.zeros((4, 3, 5))
    want = np_stack(mode, params64(m), x.transpose(1, 0, 2).astype(np.float64), zeros,
                    zeros if mode == "LSTM" else None, 2, True, bias=False)
    out, h = m(tensor(x))
    h_n = h[0] if mode == "LSTM" else h
    assert tuple(out.shape) == (3, 6, 10)
    np.testing.assert_allclose(arr(out), want[0].transpose(1, 0, 2), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(arr(h_n), want[1], rtol=1e-4, atol=1e-5)


def test_unbatched_sequence(rng):
    m = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    out, (h, c) = m(tensor(x))
    assert tuple(out.shape) == (5, 8) and tuple(h.shape) == (4, 4) and tuple(c.shape) == (4, 4)
    out_b, (h_b, _) = m(tensor(x[:, None]))
    np.testing.assert_array_equal(arr(out), arr(out_b)[:, 0])
    np.testing.assert_array_equal(arr(h), arr(h_b)[:, 0])


def test_h_n_is_the_last_state_of_each_direction(rng):
    m = nn.GRU(3, 4, bidirectional=True)
    out, h_n = m(tensor(rng.standard_normal((6, 2, 3))))
    np.testing.assert_array_equal(arr(h_n)[0], arr(out)[-1, :, :4])  # forward ends at t = T-1
    np.testing.assert_array_equal(arr(h_n)[1], arr(out)[0, :, 4:])  # reverse ends at t = 0


# ----- gradients -------------------------------------------------------------------------------
@pytest.mark.parametrize("cls,mode,kw", MODES, ids=MODE_IDS)
def test_gradcheck_through_time_with_states_and_all_weights(cls, mode, kw):
    m = getattr(nn, cls)(3, 4, num_layers=2, bidirectional=True, **kw)
    x = neurona.randn(4, 2, 3, requires_grad=True)
    h0 = neurona.randn(4, 2, 4, requires_grad=True)
    params = list(m.parameters())
    assert len(params) == 16
    if mode == "LSTM":
        c0 = neurona.randn(4, 2, 4, requires_grad=True)

        def f(x, h0, c0, *_):
            out, (h, c) = m(x, (h0, c0))
            return out, h, c

        assert gradcheck(f, [x, h0, c0, *params])
    else:

        def f(x, h0, *_):
            out, h = m(x, h0)
            return out, h

        assert gradcheck(f, [x, h0, *params])


def test_core_op_gradcheck_single_layer_reverse():
    """The op itself, outputs including h_n and c_n, read backwards through 5 steps."""
    x = neurona.randn(5, 2, 3, requires_grad=True)
    h0 = neurona.randn(2, 4, requires_grad=True)
    c0 = neurona.randn(2, 4, requires_grad=True)
    ws = [neurona.randn(*s, requires_grad=True) * 0.5 for s in [(16, 3), (16, 4), (16,), (16,)]]
    ws = [w.detach().requires_grad_() for w in ws]

    def f(x, h0, c0, wi, wh, bi, bh):
        return _wrap(_core.rnn_layer("LSTM", x._c, h0._c, c0._c, wi._c, wh._c, bi._c, bh._c, True))

    assert gradcheck(f, [x, h0, c0, *ws])


def test_gradients_match_numpy_finite_differences_of_the_reference(rng):
    """Backward of a GRU against central differences of the float64 NumPy stack."""
    m = nn.GRU(2, 3, num_layers=2)
    x = rng.standard_normal((4, 2, 2))
    h0 = rng.standard_normal((2, 2, 3)) * 0.5
    p = params64(m)
    wsum = rng.standard_normal((4, 2, 3))

    def loss(p):
        out, h_n, _ = np_stack("GRU", p, x, h0, None, 2, False)
        return float((out * wsum).sum() + h_n.sum())

    out, h_n = m(tensor(x), tensor(h0))
    ((out * tensor(wsum)).sum() + h_n.sum()).backward()
    for name, param in m.named_parameters():
        num = np.zeros_like(p[name])
        for i in np.ndindex(p[name].shape):
            q = {k: v.copy() for k, v in p.items()}
            q[name][i] += 1e-6
            plus = loss(q)
            q[name][i] -= 2e-6
            num[i] = (plus - loss(q)) / 2e-6
        np.testing.assert_allclose(param.grad.numpy(), num, rtol=1e-3, atol=1e-4, err_msg=name)


# ----- PyTorch compatibility -------------------------------------------------------------------
def test_parameter_names_and_shapes_follow_pytorch():
    m = nn.LSTM(10, 20, num_layers=2, bidirectional=True)
    shapes = {k: tuple(v.shape) for k, v in m.state_dict().items()}
    expected = {}
    for layer, in_size in ((0, 10), (1, 40)):
        for sfx in ("", "_reverse"):
            expected[f"weight_ih_l{layer}{sfx}"] = (80, in_size)
            expected[f"weight_hh_l{layer}{sfx}"] = (80, 20)
            expected[f"bias_ih_l{layer}{sfx}"] = (80,)
            expected[f"bias_hh_l{layer}{sfx}"] = (80,)
    assert shapes == expected
    assert list(shapes) == list(expected)  # PyTorch's registration order
    assert {k: tuple(v.shape) for k, v in nn.GRUCell(3, 5).state_dict().items()} == {
        "weight_ih": (15, 3), "weight_hh": (15, 5), "bias_ih": (15,), "bias_hh": (15,)}


def test_state_dict_round_trip_from_plain_arrays(rng):
    src = nn.GRU(3, 4, num_layers=2)
    arrays = {k: rng.uniform(-0.5, 0.5, v.shape).astype(np.float32) for k, v in src.state_dict().items()}
    dst = nn.GRU(3, 4, num_layers=2)
    dst.load_state_dict(arrays)
    for k, v in dst.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), arrays[k])
    x = rng.standard_normal((5, 2, 3))
    want = np_stack("GRU", {k: v.astype(np.float64) for k, v in arrays.items()}, x, np.zeros((2, 2, 4)),
                    None, 2, False)
    np.testing.assert_allclose(arr(dst(tensor(x))[0]), want[0], rtol=1e-4, atol=1e-5)


def test_default_init_is_uniform_in_pytorch_bounds_and_seeded():
    neurona.manual_seed(7)
    a = nn.LSTM(8, 16)
    neurona.manual_seed(7)
    b = nn.LSTM(8, 16)
    bound = 1 / np.sqrt(16)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb
        np.testing.assert_array_equal(va.numpy(), vb.numpy())
        assert np.abs(va.numpy()).max() <= bound
    w = a.weight_hh_l0.detach().numpy()
    assert w.min() < -0.9 * bound and w.max() > 0.9 * bound  # spread over the whole interval


def test_dropout_between_layers_only_in_training(rng):
    m = nn.RNN(3, 5, num_layers=2, dropout=0.5)
    x = tensor(rng.standard_normal((4, 2, 3)))
    m.eval()
    want = np_stack("RNN_TANH", params64(m), arr(x).astype(np.float64), np.zeros((2, 2, 5)), None, 2, False)
    np.testing.assert_allclose(arr(m(x)[0]), want[0], rtol=1e-4, atol=1e-5)
    m.train()
    assert not np.allclose(arr(m(x)[0]), want[0], atol=1e-3)


def test_dropout_with_one_layer_warns():
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.GRU(2, 3, dropout=0.2)


def test_repr():
    assert repr(nn.LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True)) == \
        "LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True)"
    assert repr(nn.RNN(3, 4, nonlinearity="relu")) == "RNN(3, 4, nonlinearity='relu')"
    assert repr(nn.GRUCell(2, 3, bias=False)) == "GRUCell(2, 3, bias=False)"


# ----- threads ---------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
def test_bitwise_identical_across_thread_counts(rng, cls):
    # 64 x 256 hidden elements per step: large enough that the cell kernels split over rows.
    m = getattr(nn, cls)(16, 256, bidirectional=True)
    x = rng.standard_normal((3, 64, 16)).astype(np.float32)
    results = []
    old = neurona.get_num_threads()
    try:
        for threads in (1, 2):
            neurona.set_num_threads(threads)
            m.zero_grad()
            xt = tensor(x, requires_grad=True)
            out, _ = m(xt)
            (out * out).sum().backward()
            results.append([arr(out), xt.grad.numpy()] + [p.grad.numpy() for p in m.parameters()])
    finally:
        neurona.set_num_threads(old)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


# ----- bad input -------------------------------------------------------------------------------
def test_wrong_feature_size_names_expected_and_given():
    m = nn.LSTM(5, 4)
    with pytest.raises(ValueError, match=r"Expected 5, got 7"):
        m(neurona.randn(3, 2, 7))
    with pytest.raises(ValueError, match=r"got 7 expected 5"):
        nn.GRUCell(5, 4)(neurona.randn(2, 7))


def test_wrong_ndim():
    with pytest.raises(ValueError, match=r"2D .* or 3D .* got 4D"):
        nn.GRU(3, 4)(neurona.randn(2, 2, 2, 3))
    with pytest.raises(ValueError, match=r"1D or 2D, got 3D"):
        nn.RNNCell(3, 4)(neurona.randn(1, 2, 3))


def test_wrong_state_shape():
    m = nn.GRU(3, 4, num_layers=2)
    with pytest.raises(ValueError, match=r"expected h_0 of shape \(2, 5, 4\), got \(1, 5, 4\)"):
        m(neurona.randn(6, 5, 3), neurona.randn(1, 5, 4))
    lstm = nn.LSTM(3, 4)
    with pytest.raises(ValueError, match=r"expected c_0 of shape \(1, 5, 4\), got \(1, 5, 3\)"):
        lstm(neurona.randn(6, 5, 3), (neurona.zeros(1, 5, 4), neurona.zeros(1, 5, 3)))
    with pytest.raises(TypeError, match="tuple"):
        lstm(neurona.randn(6, 5, 3), neurona.zeros(1, 5, 4))
    with pytest.raises(ValueError, match=r"expected hx of shape \(2, 4\), got \(3, 4\)"):
        nn.RNNCell(3, 4)(neurona.randn(2, 3), neurona.zeros(3, 4))


def test_core_op_rejects_inconsistent_shapes():
    x, h0 = neurona.randn(5, 2, 3), neurona.zeros(2, 4)
    wi, wh = neurona.randn(12, 3), neurona.randn(12, 4)
    with pytest.raises(ValueError, match=r"input has 7 features .* input_size 3"):
        _core.rnn_layer("GRU", neurona.randn(5, 2, 7)._c, h0._c, None, wi._c, wh._c, None, None, False)
    with pytest.raises(ValueError, match=r"weight_hh must have shape \(4\*hidden_size, hidden_size\)"):
        _core.rnn_layer("LSTM", x._c, h0._c, h0._c, wi._c, wh._c, None, None, False)
    with pytest.raises(ValueError, match=r"expected hidden state h0 of shape \(2, 4\), got \(3, 4\)"):
        _core.rnn_layer("GRU", x._c, neurona.zeros(3, 4)._c, None, wi._c, wh._c, None, None, False)
    with pytest.raises(ValueError, match="cell state c0 is missing"):
        _core.rnn_layer("LSTM", x._c, h0._c, None, neurona.randn(16, 3)._c, neurona.randn(16, 4)._c,
                        None, None, False)
    with pytest.raises(ValueError, match="unknown recurrent mode"):
        _core.rnn_layer("LSMT", x._c, h0._c, None, wi._c, wh._c, None, None, False)
    with pytest.raises(TypeError, match="float32"):
        _core.rnn_layer("GRU", x.long()._c, h0._c, None, wi._c, wh._c, None, None, False)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
        nn.LSTM(3, 0)
    with pytest.raises(ValueError, match="dropout"):
        nn.GRU(3, 4, num_layers=2, dropout=1.5)
    with pytest.raises(ValueError, match="num_layers"):
        nn.GRU(3, 4, num_layers=0)
    with pytest.raises(ValueError, match="empty|at least one time step"):
        nn.GRU(3, 4)(neurona.randn(0, 2, 3))


# ----- time series -----------------------------------------------------------------------------
def test_sliding_windows_index_arithmetic():
    from neurona.timeseries import sliding_windows

    s = np.arange(20, dtype=np.float32)
    x, y = sliding_windows(s, window=5, horizon=2, stride=3)
    assert x.shape == (5, 5, 1) and y.shape == (5, 2, 1)  # (20 - 5 - 2) // 3 + 1 = 5
    for k in range(5):
        np.testing.assert_array_equal(x[k, :, 0], s[3 * k: 3 * k + 5])
        np.testing.assert_array_equal(y[k, :, 0], s[3 * k + 5: 3 * k + 7])
    multi = np.stack([s, -s], axis=1)
    xm, ym = sliding_windows(multi, 4)
    assert xm.shape == (16, 4, 2) and ym.shape == (16, 1, 2)
    np.testing.assert_array_equal(ym[-1], multi[-1:])


def test_sliding_window_dataset_feeds_a_loader():
    from neurona.data import DataLoader
    from neurona.timeseries import SlidingWindowDataset

    s = np.sin(np.arange(50, dtype=np.float32))
    ds = SlidingWindowDataset(s, window=8, horizon=2)
    assert len(ds) == 41
    x0, y0 = ds[0]
    np.testing.assert_array_equal(x0.numpy()[:, 0], s[:8])
    np.testing.assert_array_equal(y0.numpy()[:, 0], s[8:10])
    xb, yb = next(iter(DataLoader(ds, batch_size=16)))
    assert tuple(xb.shape) == (16, 8, 1) and tuple(yb.shape) == (16, 2, 1)
    X, y = ds.tensors()
    assert tuple(X.shape) == (41, 8, 1) and tuple(y.shape) == (41, 2, 1)


def test_sliding_windows_bad_arguments():
    from neurona.timeseries import sliding_windows

    with pytest.raises(ValueError, match="too short.*needs at least 12"):
        sliding_windows(np.zeros(10), window=10, horizon=2)
    with pytest.raises(ValueError, match="window must be a positive integer"):
        sliding_windows(np.zeros(10), window=0)
    with pytest.raises(ValueError, match=r"shape \(time,\) or \(time, features\)"):
        sliding_windows(np.zeros((2, 3, 4)), window=1)


def test_train_test_split_keeps_time_order():
    from neurona.timeseries import train_test_split

    s = np.arange(100.0)
    train, test = train_test_split(s, test_size=0.25)
    np.testing.assert_array_equal(train, s[:75])
    np.testing.assert_array_equal(test, s[75:])
    train, test = train_test_split(s, test_size=12)
    assert len(test) == 12 and test[0] == 88 and train[-1] == 87
    with pytest.raises(ValueError, match="leaves no data"):
        train_test_split(s, test_size=100)
    with pytest.raises(ValueError, match=r"in \(0, 1\)"):
        train_test_split(s, test_size=1.5)


def test_shipped_series_is_the_generator_output():
    from neurona.timeseries import load_monthly_series, make_monthly_series

    series, months = load_monthly_series(return_months=True)
    assert series.shape == (240,) and series.dtype == np.float32
    assert months[0] == "2004-01" and months[12] == "2005-01" and months[-1] == "2023-12"
    np.testing.assert_array_equal(series, make_monthly_series().astype(np.float32))
    # A trend (each year's mean above the last) and a yearly season (July above January).
    yearly = series.reshape(20, 12)
    assert (np.diff(yearly.mean(axis=1)) > 0).all()
    assert (yearly[:, 6] > yearly[:, 0]).all()
