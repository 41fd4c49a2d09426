"""Learning-rate schedulers against their closed forms, chaining, state_dict round trips and
ReduceLROnPlateau's rules."""

import math

import neurona as nr
import pytest
from neurona import optim
from neurona.optim import lr_scheduler as S


def make_opt(lr=0.1, groups=1):
    ps = [nr.zeros(2, requires_grad=True) for _ in range(groups)]
    return optim.SGD([{"params": [p], "lr": lr * (i + 1)} for i, p in enumerate(ps)], lr=lr)


def trace(sched, epochs):
    lrs = [sched.get_last_lr()]
    for _ in range(epochs):
        sched.optimizer.step()
        sched.step()
        lrs.append(sched.get_last_lr())
    return lrs


CLOSED_FORMS = [
    ("step", lambda o: S.StepLR(o, step_size=3, gamma=0.5), lambda b, e: b * 0.5 ** (e // 3)),
    ("multistep", lambda o: S.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.1),
     lambda b, e: b * 0.1 ** sum(1 for m in [2, 5, 5, 9] if m <= e)),
    ("exponential", lambda o: S.ExponentialLR(o, gamma=0.9), lambda b, e: b * 0.9**e),
    ("cosine", lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.01),
     lambda b, e: 0.01 + (b - 0.01) * (1 + math.cos(math.pi * e / 10)) / 2),
    ("linear-warmup", lambda o: S.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=4),
     lambda b, e: b * (0.25 + 0.75 * min(e, 4) / 4)),
    ("linear-decay", lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=6),
     lambda b, e: b * (1.0 - 0.9 * min(e, 6) / 6)),
]


@pytest.mark.parametrize("name,make,closed", CLOSED_FORMS, ids=[c[0] for c in CLOSED_FORMS])
def test_schedules_follow_their_closed_forms(name, make, closed):
    opt = make_opt(0.1, groups=2)
    sched = make(opt)
    epochs = 20 if name == "cosine" else 12
    lrs_by_epoch = trace(sched, epochs)
    for e, lrs in enumerate(lrs_by_epoch):
        for base, lr in zip([0.1, 0.2], lrs):
            if name == "cosine" and e > 10:
                continue  # past T_max PyTorch's recursive form climbs back; checked below
            assert lr == pytest.approx(closed(base, e), rel=1e-9, abs=1e-12), (e, lr)
    assert [g["lr"] for g in opt.param_groups] == lrs_by_epoch[-1]


def test_cosine_annealing_returns_up_over_the_next_period():
    opt = make_opt(1.0)
    lrs = [x[0] for x in trace(S.CosineAnnealingLR(opt, T_max=4), 8)]
    closed = [(1 + math.cos(math.pi * e / 4)) / 2 for e in range(9)]
    assert lrs == pytest.approx(closed, abs=1e-12)  # cos is symmetric about T_max


def test_closed_form_with_explicit_epoch():
    opt = make_opt(1.0)
    sched = S.StepLR(opt, step_size=2, gamma=0.1)
    with pytest.warns(UserWarning):
        sched.step(5)
    assert sched.get_last_lr() == pytest.approx([0.01])


def test_chained_schedulers_multiply():
    opt = make_opt(1.0)
    warm = S.LinearLR(opt, start_factor=0.5, total_iters=2)
    decay = S.ExponentialLR(opt, gamma=0.9)
    lrs = []
    for _ in range(4):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        warm.step()
        decay.step()
    # epoch e: linear factor min(0.5 + 0.25 e, 1) times 0.9^e
    assert lrs == pytest.approx([min(0.5 + 0.25 * e, 1.0) * 0.9**e for e in range(4)])


@pytest.mark.parametrize("name,make,closed", CLOSED_FORMS, ids=[c[0] for c in CLOSED_FORMS])
def test_state_dict_round_trip(name, make, closed):
    opt = make_opt(0.1)
    sched = make(opt)
    trace(sched, 5)
    sd = sched.state_dict()
    assert "optimizer" not in sd and sd["last_epoch"] == 5
    opt2 = make_opt(0.1)
    sched2 = make(opt2)  # before the optimizer's state, whose lr it would otherwise overwrite
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(sd)
    assert trace(sched, 4) == trace(sched2, 4)


def test_constructor_errors():
    opt = make_opt()
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        S.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError):
        S.StepLR(opt, step_size=0)
    with pytest.raises(TypeError, match="not an Optimizer"):
        S.StepLR(object(), step_size=1)
    with pytest.raises(KeyError, match="initial_lr"):
        S.StepLR(make_opt(), step_size=1, last_epoch=3)
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        S.ReduceLROnPlateau(opt, factor=1.0)


# ----- ReduceLROnPlateau ------------------------------------------------------------------


def test_plateau_reduces_after_patience_then_cools_down():
    opt = make_opt(1.0)
    sched = S.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=2, cooldown=1)
    metrics = [10, 9, 9, 9, 9, 9, 9, 9, 9]
    lrs = []
    for m in metrics:
        sched.step(m)
        lrs.append(sched.get_last_lr()[0])
    # bad epochs: 9 at idx 2, 3, 4 -> the third (> patience 2) reduces at idx 4; one epoch of
    # cooldown (idx 5) ignores it; bad again at 6, 7, 8 -> reduce at 8.
    assert lrs == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25]


def test_plateau_thresholds_modes_and_min_lr():
    opt = make_opt(1.0)
    sched = S.ReduceLROnPlateau(opt, mode="max", factor=0.1, patience=0, threshold=0.1, threshold_mode="rel", min_lr=0.05)
    sched.step(1.0)   # best = 1.0
    sched.step(1.05)  # not > 1.1: bad -> reduce to 0.1
    assert sched.get_last_lr() == pytest.approx([0.1])
    sched.step(1.2)   # improvement
    assert sched.get_last_lr() == pytest.approx([0.1])
    sched.step(1.2)   # bad -> max(0.01, min_lr 0.05)
    assert sched.get_last_lr() == pytest.approx([0.05])
    sched.step(0.0)
    assert sched.get_last_lr() == pytest.approx([0.05])  # change below eps is skipped
    opt2 = make_opt(1.0)
    absmode = S.ReduceLROnPlateau(opt2, mode="min", threshold=0.5, threshold_mode="abs", patience=0)
    absmode.step(2.0)
    absmode.step(1.6)  # 1.6 is not < 2.0 - 0.5
    assert absmode.get_last_lr() == pytest.approx([0.1])
    assert absmode.best == 2.0


def test_plateau_state_dict_round_trip():
    opt = make_opt(1.0)
    sched = S.ReduceLROnPlateau(opt, patience=1)
    for m in [3, 2, 2]:
        sched.step(m)
    sd = sched.state_dict()
    sched2 = S.ReduceLROnPlateau(make_opt(1.0), patience=1)
    sched2.load_state_dict(sd)
    assert sched2.best == 2 and sched2.num_bad_epochs == 1 and sched2.last_epoch == 3
    sched.step(nr.tensor(2.0))  # a 0-d tensor metric works too
    sched2.step(2.0)
    assert sched.get_last_lr() == sched2.get_last_lr() == pytest.approx([0.1])
