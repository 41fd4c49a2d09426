"""Optimizers: 50-step trajectories against NumPy implementations of the published update
rules (float64), for each optimizer and option combination; the PyTorch interface (groups,
state_dict round trips, closures, zero_grad); validation errors."""

import neurona as nr
import numpy as np
import pytest
from neurona import nn, optim

STEPS = 50

# A fixed least-squares problem: loss = mean((X W + b - Y)^2), W (3, 4), b (4,).
_R = np.random.default_rng(7)
X = _R.standard_normal((8, 3))
Y = _R.standard_normal((8, 4))
W0 = _R.standard_normal((3, 4)) * 0.5
B0 = _R.standard_normal(4) * 0.5


def grads_np(w, b):
    r = X @ w + b - Y
    scale = 2.0 / r.size
    return scale * X.T @ r, scale * r.sum(0)


def run_neurona(make_opt, maximize=False):
    w = nr.tensor(W0.astype(np.float32), requires_grad=True)
    b = nr.tensor(B0.astype(np.float32), requires_grad=True)
    x, y = nr.tensor(X.astype(np.float32)), nr.tensor(Y.astype(np.float32))
    opt = make_opt([w, b])
    for _ in range(STEPS):
        opt.zero_grad()
        loss = ((x @ w + b - y) ** 2).mean()
        (-loss if maximize else loss).backward()
        opt.step()
    return w.detach().numpy().astype(np.float64), b.detach().numpy().astype(np.float64)


def run_numpy(update):
    """update(t, name, p, g, state) -> new p, with per-parameter state dicts."""
    params = {"w": W0.copy(), "b": B0.copy()}
    states = {"w": {}, "b": {}}
    for t in range(1, STEPS + 1):
        gw, gb = grads_np(params["w"], params["b"])
        for name, g in (("w", gw), ("b", gb)):
            params[name] = update(t, params[name], g, states[name])
    return params["w"], params["b"]


def assert_trajectory(make_opt, update, maximize=False):
    got = run_neurona(make_opt, maximize)
    want = run_numpy(update)
    moved = np.abs(want[0] - W0).max()
    assert moved > 1e-2, "the test problem should move the parameters"
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


# ----- reference update rules (float64) ------------------------------------------------------


def sgd_rule(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    def update(t, p, g, s):
        g = g + weight_decay * p
        if momentum:
            s["buf"] = g.copy() if t == 1 else momentum * s["buf"] + (1 - dampening) * g
            g = g + momentum * s["buf"] if nesterov else s["buf"]
        return p - lr * g

    return update


def adagrad_rule(lr, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
    def update(t, p, g, s):
        g = g + weight_decay * p
        s.setdefault("sum", np.full_like(p, initial_accumulator_value))
        clr = lr / (1 + (t - 1) * lr_decay)
        s["sum"] = s["sum"] + g * g
        return p - clr * g / (np.sqrt(s["sum"]) + eps)

    return update


def adadelta_rule(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
    def update(t, p, g, s):
        g = g + weight_decay * p
        v = s.get("v", np.zeros_like(p))
        u = s.get("u", np.zeros_like(p))
        v = rho * v + (1 - rho) * g * g
        d = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        s["u"] = rho * u + (1 - rho) * d * d
        s["v"] = v
        return p - lr * d

    return update


def rmsprop_rule(lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    def update(t, p, g, s):
        g = g + weight_decay * p
        s["v"] = alpha * s.get("v", np.zeros_like(p)) + (1 - alpha) * g * g
        if centered:
            s["ga"] = alpha * s.get("ga", np.zeros_like(p)) + (1 - alpha) * g
            avg = np.sqrt(s["v"] - s["ga"] ** 2) + eps
        else:
            avg = np.sqrt(s["v"]) + eps
        if momentum > 0:
            s["buf"] = momentum * s.get("buf", np.zeros_like(p)) + g / avg
            return p - lr * s["buf"]
        return p - lr * g / avg

    return update


def adam_rule(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled=False):
    b1, b2 = betas

    def update(t, p, g, s):
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        s["m"] = b1 * s.get("m", np.zeros_like(p)) + (1 - b1) * g
        s["v"] = b2 * s.get("v", np.zeros_like(p)) + (1 - b2) * g * g
        v = s["v"]
        if amsgrad:
            s["vmax"] = np.maximum(s.get("vmax", np.zeros_like(p)), s["v"])
            v = s["vmax"]
        denom = np.sqrt(v) / np.sqrt(1 - b2**t) + eps
        return p - lr / (1 - b1**t) * s["m"] / denom

    return update


CASES = [
    ("sgd", lambda ps: optim.SGD(ps, lr=0.1), sgd_rule(0.1)),
    ("sgd-momentum", lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9), sgd_rule(0.05, 0.9)),
    ("sgd-dampening-wd", lambda ps: optim.SGD(ps, lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.1),
     sgd_rule(0.05, 0.8, 0.3, 0.1)),
    ("sgd-nesterov", lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True), sgd_rule(0.05, 0.9, nesterov=True)),
    ("adagrad", lambda ps: optim.Adagrad(ps, lr=0.1), adagrad_rule(0.1)),
    ("adagrad-options", lambda ps: optim.Adagrad(ps, lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.2),
     adagrad_rule(0.1, 0.05, 0.1, 0.2)),
    ("adadelta", lambda ps: optim.Adadelta(ps), adadelta_rule()),
    ("adadelta-options", lambda ps: optim.Adadelta(ps, lr=0.5, rho=0.7, eps=1e-4, weight_decay=0.1),
     adadelta_rule(0.5, 0.7, 1e-4, 0.1)),
    ("rmsprop", lambda ps: optim.RMSprop(ps, lr=0.01), rmsprop_rule(0.01)),
    ("rmsprop-centered", lambda ps: optim.RMSprop(ps, lr=0.01, centered=True), rmsprop_rule(0.01, centered=True)),
    ("rmsprop-momentum", lambda ps: optim.RMSprop(ps, lr=0.005, momentum=0.9, alpha=0.9), rmsprop_rule(0.005, 0.9, momentum=0.9)),
    ("rmsprop-all", lambda ps: optim.RMSprop(ps, lr=0.005, momentum=0.5, centered=True, weight_decay=0.1, eps=1e-6),
     rmsprop_rule(0.005, eps=1e-6, weight_decay=0.1, momentum=0.5, centered=True)),
    ("adam", lambda ps: optim.Adam(ps, lr=0.05), adam_rule(0.05)),
    ("adam-amsgrad-wd-betas", lambda ps: optim.Adam(ps, lr=0.05, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True),
     adam_rule(0.05, (0.8, 0.9), weight_decay=0.1, amsgrad=True)),
    ("adamw", lambda ps: optim.AdamW(ps, lr=0.05), adam_rule(0.05, weight_decay=0.01, decoupled=True)),
    ("adamw-amsgrad", lambda ps: optim.AdamW(ps, lr=0.05, weight_decay=0.3, amsgrad=True, eps=1e-6),
     adam_rule(0.05, eps=1e-6, weight_decay=0.3, amsgrad=True, decoupled=True)),
]


@pytest.mark.parametrize("name,make,rule", CASES, ids=[c[0] for c in CASES])
def test_trajectory_matches_numpy(name, make, rule):
    assert_trajectory(make, rule)


MAXIMIZE = [
    (lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, maximize=True), sgd_rule(0.05, 0.9)),
    (lambda ps: optim.Adagrad(ps, lr=0.1, maximize=True), adagrad_rule(0.1)),
    (lambda ps: optim.Adadelta(ps, maximize=True), adadelta_rule()),
    (lambda ps: optim.RMSprop(ps, lr=0.01, maximize=True), rmsprop_rule(0.01)),
    (lambda ps: optim.Adam(ps, lr=0.05, maximize=True), adam_rule(0.05)),
    (lambda ps: optim.AdamW(ps, lr=0.05, maximize=True), adam_rule(0.05, weight_decay=0.01, decoupled=True)),
]


@pytest.mark.parametrize("make,rule", MAXIMIZE, ids=[str(i) for i in range(len(MAXIMIZE))])
def test_maximize_ascends_the_negated_loss(make, rule):
    assert_trajectory(make, rule, maximize=True)


def test_training_a_small_network_reduces_the_loss():
    nr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
    opt = optim.Adam(model.parameters(), lr=0.01)
    x, y = nr.tensor(X.astype(np.float32)), nr.tensor(Y[:, :1].astype(np.float32))
    first = None
    for _ in range(200):
        opt.zero_grad()
        loss = nn.MSELoss()(model(x), y)
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.5 * first


# ----- interface ------------------------------------------------------------------------------


def test_param_groups_defaults_and_per_group_lr():
    a = nr.zeros(2, requires_grad=True)
    b = nr.zeros(2, requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 1.0}], lr=0.1, momentum=0.5)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 1.0]
    assert opt.param_groups[1]["momentum"] == 0.5 and opt.param_groups[1]["params"] == [b]
    a.grad = nr.ones(2)
    b.grad = nr.ones(2)
    opt.step()
    np.testing.assert_allclose(a.detach().numpy(), [-0.1, -0.1])
    np.testing.assert_allclose(b.detach().numpy(), [-1.0, -1.0])
    c = nr.zeros(1, requires_grad=True)
    opt.add_param_group({"params": [c], "lr": 0.5})
    assert opt.param_groups[2]["momentum"] == 0.5
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


def test_parameters_without_grad_are_skipped_and_zero_grad():
    a = nr.ones(2, requires_grad=True)
    b = nr.ones(2, requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = nr.ones(2)
    opt.step()
    assert b not in opt.state and opt.state[a]["step"] == 1
    np.testing.assert_array_equal(b.detach().numpy(), [1.0, 1.0])
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 0.0])
    opt.zero_grad()
    assert a.grad is None


def test_step_with_closure_returns_its_loss():
    w = nr.tensor([2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with nr.no_grad():
        loss = opt.step(closure)  # the closure records a graph even under no_grad
    assert loss.item() == 4.0
    np.testing.assert_allclose(w.detach().numpy(), [1.0])


@pytest.mark.parametrize("make", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_state_dict_round_trip_continues_identically(make):
    def fresh():
        w = nr.tensor(W0.astype(np.float32), requires_grad=True)
        b = nr.tensor(B0.astype(np.float32), requires_grad=True)
        return w, b

    def train(opt, w, b, steps):
        x, y = nr.tensor(X.astype(np.float32)), nr.tensor(Y.astype(np.float32))
        for _ in range(steps):
            opt.zero_grad()
            ((x @ w + b - y) ** 2).mean().backward()
            opt.step()

    w1, b1 = fresh()
    opt1 = make([w1, b1])
    train(opt1, w1, b1, 10)
    sd = opt1.state_dict()
    assert sorted(sd["state"]) == [0, 1] and sd["param_groups"][0]["params"] == [0, 1]
    w2, b2 = fresh()
    with nr.no_grad():
        w2.copy_(w1)
        b2.copy_(b1)
    opt2 = make([w2, b2])
    opt2.load_state_dict(sd)
    for key, value in opt2.state[w2].items():
        if isinstance(value, nr.Tensor):  # loaded state is copied, not shared
            assert value.data_ptr() != opt1.state[w1][key].data_ptr()
    train(opt1, w1, b1, 10)
    train(opt2, w2, b2, 10)
    np.testing.assert_array_equal(w1.detach().numpy(), w2.detach().numpy())
    np.testing.assert_array_equal(b1.detach().numpy(), b2.detach().numpy())


def test_load_state_dict_restores_hyperparameters_and_validates_sizes():
    a, b = nr.zeros(2, requires_grad=True), nr.zeros(3, requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    sd = opt.state_dict()
    sd["param_groups"][0]["lr"] = 0.01
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["lr"] == 0.01 and opt.param_groups[0]["params"] == [a, b]
    with pytest.raises(ValueError, match="doesn't match the size"):
        optim.Adam([a], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="number of parameter groups"):
        optim.Adam([{"params": [a]}, {"params": [b]}]).load_state_dict(sd)
    a.grad, b.grad = nr.ones(2), nr.ones(3)
    opt.step()
    swapped = optim.Adam([b, a], lr=0.1)
    with pytest.raises(ValueError, match="shape"):
        swapped.load_state_dict(opt.state_dict())


# ----- validation -------------------------------------------------------------------------


def test_non_leaf_tensors_are_rejected():
    w = nr.randn(3, requires_grad=True)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([w * 2], lr=0.1)


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda ps: optim.SGD(ps, lr=-0.1), "Invalid learning rate: -0.1"),
        (lambda ps: optim.SGD(ps, lr=0.1, momentum=-1), "momentum"),
        (lambda ps: optim.SGD(ps, lr=0.1, nesterov=True), "Nesterov momentum requires a momentum"),
        (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "zero dampening"),
        (lambda ps: optim.SGD(ps, lr=0.1, weight_decay=-1), "weight_decay"),
        (lambda ps: optim.Adam(ps, lr=-1), "learning rate"),
        (lambda ps: optim.Adam(ps, betas=(1.0, 0.999)), "beta parameter at index 0"),
        (lambda ps: optim.Adam(ps, betas=(0.9, -0.1)), "beta parameter at index 1"),
        (lambda ps: optim.AdamW(ps, eps=-1e-8), "epsilon"),
        (lambda ps: optim.Adagrad(ps, lr_decay=-1), "lr_decay"),
        (lambda ps: optim.Adadelta(ps, rho=1.5), "rho"),
        (lambda ps: optim.RMSprop(ps, alpha=-0.1), "alpha"),
    ],
)
def test_bad_hyperparameters_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make([nr.zeros(2, requires_grad=True)])


def test_bad_params_arguments_raise():
    w = nr.zeros(2, requires_grad=True)
    with pytest.raises(TypeError, match="iterable"):
        optim.SGD(w, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="only optimize Tensors"):
        optim.SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(TypeError, match="sets"):
        optim.SGD({w}, lr=0.1)


def test_negative_lr_set_later_is_caught_at_step():
    w = nr.zeros(2, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    opt.param_groups[0]["lr"] = -1.0
    w.grad = nr.ones(2)
    with pytest.raises(ValueError, match="learning rate"):
        opt.step()


def test_works_with_module_parameters_and_repr():
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(nr.randn(4, 3)).sum().backward()
    opt.step()
    assert len(opt.state) == 2
    assert "SGD (" in repr(opt) and "lr: 0.1" in repr(opt)


def test_non_contiguous_and_aliased_parameters_are_rejected():
    w = nr.randn(4, 3).t().detach().requires_grad_()
    assert w.is_leaf and not w.is_contiguous()
    with pytest.raises(ValueError, match="contiguous"):
        optim.SGD([w], lr=0.1)
    p = nr.zeros(3, requires_grad=True)
    p.grad = p.detach()  # the gradient shares the parameter's memory
    with pytest.raises(ValueError, match="share memory"):
        optim.Adam([p]).step()


@pytest.mark.parametrize("make", [c[1] for c in CASES[::3]], ids=[c[0] for c in CASES[::3]])
def test_large_parameters_update_identically_for_any_thread_count(make, rng):
    w0 = rng.standard_normal(70_000).astype(np.float32)  # above the kernels' parallel threshold
    g0 = rng.standard_normal(70_000).astype(np.float32)
    results = []
    threads = nr.get_num_threads()
    try:
        for n in (1, 3):
            nr.set_num_threads(n)
            w = nr.tensor(w0, requires_grad=True)
            opt = make([w])
            for _ in range(3):
                w.grad = nr.tensor(g0)
                opt.step()
            results.append(w.detach().numpy().copy())
    finally:
        nr.set_num_threads(threads)
    np.testing.assert_array_equal(results[0], results[1])
    assert not np.array_equal(results[0], w0)
