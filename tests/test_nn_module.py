"""nn.Module and nn.Parameter: registration, traversal, modes, state_dict round trips and
their errors, devices, repr, summary and the course's parameter counts."""

import collections

import neurona as nr
import numpy as np
import pytest
from neurona import nn


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(4, 2)
        self.register_buffer("steps", nr.zeros(1))
        self.register_buffer("scratch", nr.zeros(2), persistent=False)
        self.scale = nn.Parameter(nr.ones(1))

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x))) * self.scale


# ----- parameters ---------------------------------------------------------------------------


def test_parameter_is_a_leaf_that_requires_grad_and_shares_memory():
    t = nr.zeros(3)
    p = nn.Parameter(t)
    assert isinstance(p, nr.Tensor) and p.requires_grad and p.is_leaf
    assert p.data_ptr() == t.data_ptr()
    assert not nn.Parameter(nr.zeros(2), requires_grad=False).requires_grad
    assert repr(p).startswith("Parameter containing:")


def test_parameter_gets_gradients_and_survives_data_assignment():
    p = nn.Parameter(nr.tensor([1.0, 2.0]))
    (p * p).sum().backward()
    np.testing.assert_allclose(p.grad.numpy(), [2.0, 4.0])
    p.data = nr.tensor([5.0, 6.0])
    assert p.requires_grad and isinstance(p, nn.Parameter)
    np.testing.assert_allclose(p.detach().numpy(), [5.0, 6.0])


def test_parameter_deepcopy_copies_the_data():
    import copy

    p = nn.Parameter(nr.tensor([1.0, 2.0]))
    q = copy.deepcopy(p)
    assert isinstance(q, nn.Parameter) and q.requires_grad
    assert q.data_ptr() != p.data_ptr()
    np.testing.assert_array_equal(q.detach().numpy(), p.detach().numpy())


# ----- registration and traversal ----------------------------------------------------------


def test_setattr_registers_parameters_buffers_and_modules_in_order():
    m = TwoLayer()
    assert [n for n, _ in m.named_parameters()] == ["scale", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert [n for n, _ in m.named_buffers()] == ["steps", "scratch"]
    assert [n for n, _ in m.named_children()] == ["fc1", "act", "fc2"]
    assert [n for n, _ in m.named_modules()] == ["", "fc1", "act", "fc2"]
    assert len(list(m.parameters(recurse=False))) == 1
    assert m.get_submodule("fc2") is m.fc2
    assert m.get_parameter("fc1.bias") is m.fc1.bias
    assert m.get_buffer("steps") is m.steps


def test_reassigning_and_deleting_attributes_updates_the_registry():
    m = TwoLayer()
    m.fc2 = nn.Linear(4, 5)
    assert m.fc2.out_features == 5 and [n for n, _ in m.named_children()][-1] == "fc2"
    m.fc1.bias = None
    assert "fc1.bias" not in dict(m.named_parameters())
    with pytest.raises(TypeError):
        m.fc1.weight = nr.zeros(4, 3)  # a plain tensor is not a Parameter
    del m.act
    assert not hasattr(m, "act")
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = m.nope


def test_assignment_before_init_and_bad_names_raise():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(nr.zeros(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Bad()
    m = nn.Module()
    with pytest.raises(KeyError):
        m.register_buffer("a.b", nr.zeros(1))
    with pytest.raises(TypeError):
        m.register_buffer("b", np.zeros(1))


def test_shared_parameters_are_counted_once():
    lin = nn.Linear(2, 2)
    m = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(m.parameters())) == 2
    assert m.num_parameters() == 6


def test_course_parameter_counts():
    assert nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).num_parameters() == 26
    assert nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 1)).num_parameters() == 41


def test_num_parameters_counts_only_trainable_by_default():
    m = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    m[0].requires_grad_(False)
    assert m.num_parameters() == 10
    assert m.num_parameters(trainable_only=False) == 26


# ----- modes and gradients -----------------------------------------------------------------


def test_train_eval_propagate_to_every_submodule():
    m = TwoLayer()
    assert all(x.training for x in m.modules())
    assert m.eval() is m
    assert not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())
    with pytest.raises(TypeError):
        m.train("yes")


def test_zero_grad_to_none_and_to_zeros():
    m = TwoLayer()
    m(nr.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(float(p.grad.abs().sum()) == 0.0 for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_apply_visits_children_then_self():
    seen = []
    m = TwoLayer()
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "ReLU", "Linear", "TwoLayer"]


def test_apply_can_reinitialise_weights():
    m = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))

    def init(mod):
        if isinstance(mod, nn.Linear):
            nn.init.constant_(mod.weight, 0.5)
            nn.init.zeros_(mod.bias)

    m.apply(init)
    assert all(np.all(p.detach().numpy() == (0.5 if p.dim() == 2 else 0.0)) for p in m.parameters())


# ----- state_dict ---------------------------------------------------------------------------


def test_state_dict_is_ordered_dotted_detached_and_skips_non_persistent_buffers():
    m = TwoLayer()
    sd = m.state_dict()
    assert isinstance(sd, collections.OrderedDict)
    assert list(sd) == ["scale", "steps", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert all(not v.requires_grad for v in sd.values())
    assert sd["fc1.weight"].data_ptr() == m.fc1.weight.data_ptr()
    assert m.state_dict(keep_vars=True)["fc1.weight"] is m.fc1.weight


def test_state_dict_round_trip_reproduces_outputs():
    a, b = TwoLayer(), TwoLayer()
    x = nr.randn(4, 3)
    assert not np.allclose(a(x).detach().numpy(), b(x).detach().numpy())
    snapshot = {k: v.clone() for k, v in a.state_dict().items()}
    result = b.load_state_dict(snapshot)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    np.testing.assert_array_equal(a(x).detach().numpy(), b(x).detach().numpy())
    # Loaded values are copies: changing the source afterwards does not touch b.
    with nr.no_grad():
        snapshot["fc1.weight"].fill_(0.0)
    assert float(b.fc1.weight.abs().sum()) > 0


def test_load_state_dict_strict_reports_missing_and_unexpected_keys():
    m = TwoLayer()
    sd = m.state_dict()
    del sd["fc2.bias"]
    sd["extra"] = nr.zeros(1)
    with pytest.raises(RuntimeError) as e:
        m.load_state_dict(sd)
    assert "Missing key(s)" in str(e.value) and '"fc2.bias"' in str(e.value)
    assert "Unexpected key(s)" in str(e.value) and '"extra"' in str(e.value)
    missing, unexpected = m.load_state_dict(sd, strict=False)
    assert missing == ["fc2.bias"] and unexpected == ["extra"]


def test_load_state_dict_shape_mismatch_always_raises_and_copies_nothing():
    m = TwoLayer()
    before = m.fc1.bias.detach().numpy().copy()
    sd = {k: v.clone() for k, v in m.state_dict().items()}
    sd["fc1.bias"] = nr.ones(4) * 7
    sd["fc2.weight"] = nr.zeros(3, 4)
    for strict in (True, False):
        with pytest.raises(RuntimeError, match=r"size mismatch for fc2.weight: copying a param with shape \(3, 4\)"):
            m.load_state_dict(sd, strict=strict)
    np.testing.assert_array_equal(m.fc1.bias.detach().numpy(), before)


def test_load_state_dict_accepts_numpy_arrays():
    m = nn.Linear(2, 1)
    m.load_state_dict({"weight": np.array([[1.0, 2.0]], np.float32), "bias": np.array([0.5], np.float32)})
    np.testing.assert_allclose(m(nr.tensor([[1.0, 1.0]])).detach().numpy(), [[3.5]])


def test_buffers_round_trip_including_int_counters():
    a = nn.BatchNorm1d(3)
    a(nr.randn(8, 3))
    b = nn.BatchNorm1d(3)
    b.load_state_dict(a.state_dict())
    assert int(b.num_batches_tracked.item()) == 1
    np.testing.assert_array_equal(b.running_mean.numpy(), a.running_mean.numpy())


# ----- devices -------------------------------------------------------------------------------


def test_to_cpu_keeps_parameters_and_returns_the_module():
    m = TwoLayer()
    w = m.fc1.weight
    assert m.to("cpu") is m and m.cpu() is m and m.to(nr.float32) is m
    assert m.fc1.weight is w and w.device == "cpu"


def test_cuda_moves_or_raises_clearly():
    m = TwoLayer()
    if nr.cuda.is_available():
        m.cuda()
        assert m.fc1.weight.is_cuda and m.steps.is_cuda and isinstance(m.fc1.weight, nn.Parameter)
    else:
        with pytest.raises(RuntimeError, match="(?i)cuda"):
            m.cuda()
        assert not m.fc1.weight.is_cuda


def test_to_rejects_integer_dtypes():
    with pytest.raises(TypeError, match="floating point"):
        TwoLayer().to(nr.int64)


# ----- repr and summary -------------------------------------------------------------------


def test_repr_matches_pytorch_layout():
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2, bias=False))
    assert repr(m) == (
        "Sequential(\n"
        "  (0): Linear(in_features=3, out_features=4, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Linear(in_features=4, out_features=2, bias=False)\n"
        ")"
    )
    nested = nn.Sequential(nn.Sequential(nn.Identity()))
    assert repr(nested) == "Sequential(\n  (0): Sequential(\n    (0): Identity()\n  )\n)"


def test_summary_lists_layers_shapes_and_counts():
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 1))
    s = m.summary((3,))
    assert [(r[1], r[2], r[3]) for r in s.rows] == [
        ("Linear", [-1, 4], 16), ("ReLU", [-1, 4], 0), ("Linear", [-1, 4], 20), ("ReLU", [-1, 4], 0),
        ("Linear", [-1, 1], 5),
    ]
    assert s.total_params == 41 and s.trainable_params == 41
    text = str(s)
    assert "Total params: 41" in text and "[-1, 4]" in text and "Layer (type)" in text


def test_summary_restores_training_mode_and_leaves_state_untouched():
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.5))
    before = {k: v.clone() for k, v in m.state_dict().items()}
    m.train()
    s = m.summary((3,), batch_size=4)
    assert m.training and all(x.training for x in m.modules())
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k].numpy())
    assert s.rows[1][1] == "BatchNorm1d" and s.rows[1][3] == 8


# ----- containers ---------------------------------------------------------------------------


def test_sequential_indexing_len_append_and_ordered_dict():
    s = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    assert len(s) == 2 and isinstance(s[0], nn.Linear) and isinstance(s[-1], nn.ReLU)
    s.append(nn.Linear(3, 1))
    assert len(s) == 3 and s[2].out_features == 1
    sub = s[1:]
    assert isinstance(sub, nn.Sequential) and len(sub) == 2
    with pytest.raises(IndexError):
        s[3]
    named = nn.Sequential(collections.OrderedDict([("hidden", nn.Linear(2, 3)), ("act", nn.Tanh())]))
    assert list(named.state_dict()) == ["hidden.weight", "hidden.bias"]
    assert named.hidden is named[0]
    del s[0]
    assert [type(m).__name__ for m in s] == ["ReLU", "Linear"]


def test_sequential_linear_relu_fusion_gives_identical_values_and_gradients():
    nr.manual_seed(3)
    seq = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3))
    x = nr.randn(6, 5)
    y = seq(x)
    y.sum().backward()
    fused_grads = [p.grad.numpy().copy() for p in seq.parameters()]
    seq.zero_grad()
    # The same layers called one by one (no fusion).
    h = seq[0](x)
    h2 = seq[1](h)
    y2 = seq[2](h2)
    y2.sum().backward()
    np.testing.assert_array_equal(y.detach().numpy(), y2.detach().numpy())
    for a, p in zip(fused_grads, seq.parameters()):
        np.testing.assert_array_equal(a, p.grad.numpy())


@pytest.mark.parametrize("padding", [0, 1])
def test_sequential_relu_maxpool_fusion_gives_identical_values_and_gradients(padding):
    nr.manual_seed(4)
    conv = nn.Conv2d(2, 3, 3, padding=1)
    seq = nn.Sequential(conv, nn.ReLU(), nn.MaxPool2d(2, padding=padding), nn.Flatten())
    x = nr.randn(3, 2, 9, 10)
    # Windows that are all negative, ties at zero and ties between equal positive values.
    xs = x.numpy()
    xs[0, :, :4, :4] = -1.0
    xs[1, :, 2:4, 2:4] = 0.5
    x = nr.tensor(xs, requires_grad=True)
    y = seq(x)
    w = nr.tensor(np.random.default_rng(0).standard_normal(y.shape).astype(np.float32))
    (y * w).sum().backward()
    fused = [x.grad.numpy().copy()] + [p.grad.numpy().copy() for p in seq.parameters()]
    seq.zero_grad()
    x.grad = None
    h = x
    for m in seq:  # one by one: no fusion
        h = m(h)
    (h * w).sum().backward()
    np.testing.assert_array_equal(y.detach().numpy(), h.detach().numpy())
    for a, b in zip(fused, [x.grad.numpy()] + [p.grad.numpy() for p in seq.parameters()]):
        np.testing.assert_array_equal(a, b)


def test_module_list_and_dict_register_their_members():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
            self.heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 3)})

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return self.heads["a"](x), self.heads["b"](x)

    net = Net()
    assert net.num_parameters() == 3 * 6 + 3 + 9
    assert list(net.heads.keys()) == ["a", "b"] and "a" in net.heads
    assert len(net.layers) == 3 and net.layers[-1] is list(net.layers)[2]
    net.layers.append(nn.Linear(2, 2))
    assert "layers.3.weight" in net.state_dict()
    a, b = net(nr.randn(4, 2))
    assert a.shape == (4, 1) and b.shape == (4, 3)


def test_missing_forward_raises():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(nr.zeros(1))
