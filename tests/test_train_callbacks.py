"""Each callback driven by hand on a scripted sequence of logged values, with a fake model:
no training involved, so the expected behaviour is worked out from the script alone."""

import csv
import math

import neurona
import numpy as np
import pytest
from neurona.train.callbacks import (
    CallbackList,
    CSVLogger,
    EarlyStopping,
    LambdaCallback,
    ModelCheckpoint,
    ReduceLROnPlateau,
    RunState,
    TerminateOnNaN,
)


class FakeModel:
    """One weight whose value we set to the epoch number, so restored weights name an epoch."""

    def __init__(self):
        self.w = neurona.tensor([0.0, 0.0])

    def set_epoch(self, e):
        self.w = neurona.tensor([float(e), -float(e)])

    def state_dict(self):
        return {"w": self.w}

    def load_state_dict(self, sd):
        self.w = sd["w"].clone()

    def epoch_of_weights(self):
        return int(self.w.numpy()[0])


class FakeOptimizer:
    def __init__(self, lrs):
        self.param_groups = [{"lr": lr} for lr in lrs]


def drive(cb, values, key="val_loss", model=None, start=0):
    """Feed one value per epoch; returns the epochs after which training was asked to stop."""
    stops = []
    for i, v in enumerate(values):
        e = start + i
        if model is not None:
            model.set_epoch(e)
        cb.on_epoch_end(e, {key: v, "loss": 1.0})
        if cb.stop_training:
            stops.append(e)
            break
    return stops


# ----- EarlyStopping ---------------------------------------------------------------------
def test_early_stopping_patience_counts_epochs_without_improvement():
    cb = EarlyStopping(patience=2)
    cb.set_model(FakeModel())
    cb.on_train_begin()
    # best 0.5 at epoch 1; epochs 2 and 3 do not improve -> stop after epoch 3
    assert drive(cb, [0.9, 0.5, 0.6, 0.55, 0.1]) == [3]
    assert cb.stopped_epoch == 3 and cb.best_epoch == 1 and cb.best == 0.5


def test_early_stopping_patience_zero_stops_at_first_non_improvement():
    cb = EarlyStopping(patience=0)
    assert drive(cb, [0.9, 0.8, 0.8, 0.1]) == [2]  # equal is not an improvement


def test_early_stopping_min_delta_and_max_mode():
    cb = EarlyStopping(monitor="val_accuracy", patience=1, min_delta=0.01)
    assert cb.mode == "max"  # auto picks max for accuracy
    # 0.805 is not > 0.80 + 0.01 -> wait 1 -> stop after epoch 1
    assert drive(cb, [0.80, 0.805, 0.9], key="val_accuracy") == [1]


def test_early_stopping_baseline_must_be_beaten():
    cb = EarlyStopping(patience=2, baseline=0.3)
    assert drive(cb, [0.5, 0.4, 0.35, 0.1]) == [1]
    assert cb.best_epoch is None


def test_early_stopping_start_from_epoch_ignores_warmup():
    cb = EarlyStopping(patience=0, start_from_epoch=2)
    # epochs 0, 1 are not watched even though epoch 1 is worse than epoch 0
    assert drive(cb, [0.5, 0.9, 0.8, 0.7, 0.75]) == [4]


def test_early_stopping_nan_is_not_an_improvement():
    cb = EarlyStopping(patience=1)
    assert drive(cb, [0.5, float("nan"), 0.1]) == [1]


def test_restore_best_weights_when_stopping_early():
    model = FakeModel()
    cb = EarlyStopping(patience=2, restore_best_weights=True)
    cb.set_model(model)
    cb.on_train_begin()
    assert drive(cb, [0.9, 0.4, 0.7, 0.6, 0.1], model=model) == [3]
    assert model.epoch_of_weights() == 3
    cb.on_train_end()
    assert model.epoch_of_weights() == 1


def test_restore_best_weights_when_epochs_run_out():
    model = FakeModel()
    cb = EarlyStopping(patience=10, restore_best_weights=True)
    cb.set_model(model)
    cb.on_train_begin()
    assert drive(cb, [0.9, 0.3, 0.5, 0.6], model=model) == []
    assert model.epoch_of_weights() == 3
    cb.on_train_end()
    assert model.epoch_of_weights() == 1


def test_restore_best_weights_copies_are_not_aliases():
    model = FakeModel()
    cb = EarlyStopping(patience=5, restore_best_weights=True)
    cb.set_model(model)
    model.set_epoch(7)
    cb.on_epoch_end(0, {"val_loss": 0.1})
    model.w.add_(100.0)  # in-place training step after the best epoch
    cb.on_train_end()
    assert model.epoch_of_weights() == 7


def test_early_stopping_unknown_monitor_names_available_keys():
    cb = EarlyStopping(monitor="val_acc")
    with pytest.raises(ValueError, match="val_acc") as e:
        cb.on_epoch_end(0, {"loss": 0.3, "val_loss": 0.4, "val_accuracy": 0.9})
    assert "val_accuracy" in str(e.value) and "loss" in str(e.value)


def test_early_stopping_state_dict_round_trip_continues_the_count():
    a = EarlyStopping(patience=3)
    drive(a, [0.5, 0.6, 0.7])  # wait = 2
    b = EarlyStopping(patience=3)
    b.load_state_dict(a.state_dict())
    assert drive(b, [0.8], start=3) == [3]


def test_early_stopping_bad_mode():
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="biggest")


# ----- ModelCheckpoint -------------------------------------------------------------------
def test_model_checkpoint_save_best_only_writes_only_improvements(tmp_path):
    model = FakeModel()
    cb = ModelCheckpoint(tmp_path / "w-{epoch:02d}-{val_loss:.2f}.safetensors",
                         save_best_only=True, save_weights_only=True)
    cb.set_model(model)
    for e, v in enumerate([0.9, 0.5, 0.7, 0.4]):
        model.set_epoch(e)
        cb.on_epoch_end(e, {"val_loss": v})
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["w-01-0.90.safetensors", "w-02-0.50.safetensors", "w-04-0.40.safetensors"]
    w = neurona.load(tmp_path / "w-04-0.40.safetensors")["w"]
    assert w.numpy().tolist() == [3.0, -3.0]


def test_model_checkpoint_every_epoch_overwrites_one_file(tmp_path):
    model = FakeModel()
    cb = ModelCheckpoint(tmp_path / "last.safetensors", save_weights_only=True)
    cb.set_model(model)
    for e, v in enumerate([0.9, 0.5, 0.7]):
        model.set_epoch(e)
        cb.on_epoch_end(e, {"val_loss": v})
    assert neurona.load(tmp_path / "last.safetensors")["w"].numpy().tolist() == [2.0, -2.0]


def test_model_checkpoint_best_survives_state_dict(tmp_path):
    model = FakeModel()
    a = ModelCheckpoint(tmp_path / "best.safetensors", save_best_only=True,
                        save_weights_only=True)
    a.set_model(model)
    model.set_epoch(0)
    a.on_epoch_end(0, {"val_loss": 0.2})
    b = ModelCheckpoint(tmp_path / "best.safetensors", save_best_only=True,
                        save_weights_only=True)
    b.set_model(model)
    b.load_state_dict(a.state_dict())
    model.set_epoch(1)
    b.on_epoch_end(1, {"val_loss": 0.3})  # worse than the restored best: no save
    assert neurona.load(tmp_path / "best.safetensors")["w"].numpy().tolist() == [0.0, 0.0]
    model.set_epoch(2)
    b.on_epoch_end(2, {"val_loss": 0.1})
    assert neurona.load(tmp_path / "best.safetensors")["w"].numpy().tolist() == [2.0, -2.0]


def test_model_checkpoint_unknown_monitor_and_format_key(tmp_path):
    cb = ModelCheckpoint(tmp_path / "x.safetensors", monitor="val_f1", save_best_only=True)
    cb.set_model(FakeModel())
    with pytest.raises(ValueError, match="val_f1.*available keys: loss, val_loss"):
        cb.on_epoch_end(0, {"loss": 1.0, "val_loss": 0.5})
    cb = ModelCheckpoint(tmp_path / "x-{val_acc:.2f}.safetensors")
    cb.set_model(FakeModel())
    with pytest.raises(ValueError, match="val_acc"):
        cb.on_epoch_end(0, {"loss": 1.0})


def test_model_checkpoint_defers_full_saves_to_the_run():
    run = RunState(FakeModel())
    written = []
    run.save_fn = lambda path, weights_only: written.append((path, weights_only))
    cb = ModelCheckpoint("ck-{epoch}.ckpt")
    CallbackList([cb], run)
    cb.on_epoch_end(4, {"val_loss": 1.0})
    assert written == [] and run.pending_saves == [("ck-5.ckpt", False)]
    run.flush_saves()
    assert written == [("ck-5.ckpt", False)] and run.pending_saves == []


# ----- ReduceLROnPlateau -------------------------------------------------------------------
def test_reduce_lr_on_plateau_patience_cooldown_min_lr():
    opt = FakeOptimizer([0.1, 0.05])
    cb = ReduceLROnPlateau(factor=0.5, patience=1, cooldown=1, min_lr=0.02, min_delta=0.0,
                           optimizer=opt)
    lrs = []
    # 0: best 1.0 | 1: no improvement, wait 1 >= 1 -> halve, cooldown 1 | 2: cooldown epoch
    # | 3: wait 1 -> halve again (second group clamps at min_lr) | 4: improvement
    for e, v in enumerate([1.0, 1.0, 1.0, 1.0, 0.5]):
        logs = {"val_loss": v}
        cb.on_epoch_end(e, logs)
        lrs.append([g["lr"] for g in opt.param_groups])
        assert logs["lr"] == opt.param_groups[0]["lr"]
    assert lrs == [[0.1, 0.05], [0.05, 0.025], [0.05, 0.025], [0.025, 0.02], [0.025, 0.02]]


def test_reduce_lr_min_delta_and_state_dict():
    opt = FakeOptimizer([1.0])
    a = ReduceLROnPlateau(factor=0.1, patience=2, min_delta=0.1, optimizer=opt)
    a.on_epoch_end(0, {"val_loss": 1.0})
    a.on_epoch_end(1, {"val_loss": 0.95})  # within min_delta: wait 1
    b = ReduceLROnPlateau(factor=0.1, patience=2, min_delta=0.1, optimizer=opt)
    b.load_state_dict(a.state_dict())
    b.on_epoch_end(2, {"val_loss": 0.93})  # wait 2 -> reduce
    assert math.isclose(opt.param_groups[0]["lr"], 0.1)


def test_reduce_lr_validates_and_needs_its_key():
    with pytest.raises(ValueError, match="factor"):
        ReduceLROnPlateau(factor=1.5)
    cb = ReduceLROnPlateau(optimizer=FakeOptimizer([0.1]))
    with pytest.raises(ValueError, match="available keys: loss"):
        cb.on_epoch_end(0, {"loss": 1.0})


# ----- CSVLogger, TerminateOnNaN, LambdaCallback ---------------------------------------------
def test_csv_logger_writes_and_appends(tmp_path):
    path = tmp_path / "log.csv"
    cb = CSVLogger(path)
    cb.on_train_begin()
    cb.on_epoch_end(0, {"loss": 0.5, "accuracy": 0.7})
    cb.on_epoch_end(1, {"loss": 0.25, "accuracy": 0.75})
    cb.on_train_end()
    cb = CSVLogger(path, append=True)
    cb.on_train_begin()
    cb.on_epoch_end(2, {"loss": 0.125, "accuracy": 0.875})
    cb.on_train_end()
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows == [["epoch", "accuracy", "loss"], ["1", "0.7", "0.5"], ["2", "0.75", "0.25"],
                    ["3", "0.875", "0.125"]]
    cb = CSVLogger(path)  # append=False starts over
    cb.on_train_begin()
    cb.on_epoch_end(0, {"loss": 1.0})
    cb.on_train_end()
    assert path.read_text().splitlines() == ["epoch,loss", "1,1.0"]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_terminate_on_nan(bad, capsys):
    cb = TerminateOnNaN()
    cb.on_batch_end(0, {"loss": 0.3})
    assert not cb.stop_training
    cb.on_batch_end(1, {"loss": bad})
    assert cb.stop_training
    assert "invalid loss" in capsys.readouterr().out


def test_lambda_callback_and_callback_list_share_stop_flag():
    seen = []
    lam = LambdaCallback(on_epoch_end=lambda e, logs: seen.append((e, logs["loss"])),
                         on_train_begin=lambda logs: seen.append("begin"))
    es = EarlyStopping(monitor="loss", patience=0)
    run = RunState(FakeModel())
    cbs = CallbackList([lam, es], run)
    cbs.on_train_begin({})
    cbs.on_epoch_end(0, {"loss": 1.0})
    cbs.on_epoch_end(1, {"loss": 2.0})
    assert seen == ["begin", (0, 1.0), (1, 2.0)]
    assert run.stop_training and lam.stop_training
    with pytest.raises(TypeError, match="callable"):
        LambdaCallback(on_epoch_end=3)


def test_callback_list_state_keys_distinguish_repeats():
    run = RunState()
    cbs = CallbackList([EarlyStopping(patience=1), EarlyStopping(patience=5), TerminateOnNaN()],
                       run)
    assert cbs.keys() == ["EarlyStopping", "EarlyStopping#2", "TerminateOnNaN"]
    cbs.callbacks[1].wait = 4
    fresh = CallbackList([EarlyStopping(patience=1), EarlyStopping(patience=5)], RunState())
    fresh.load_state_dict(cbs.state_dict())
    assert [c.wait for c in fresh.callbacks] == [0, 4]
    with pytest.raises(TypeError, match="Callback"):
        CallbackList([object()], run)
    assert np.isinf(cbs.callbacks[0].best)
