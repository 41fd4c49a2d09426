"""`neurona.train.fit` end to end on tiny problems: the loss falls, validation_split holds
out the last samples, metric keys, errors, progress output, schedulers, History.plot."""

import neurona
import numpy as np
import pytest
from neurona import nn, optim
from neurona.data import DataLoader, TensorDataset
from neurona.train import (
    EarlyStopping,
    LambdaCallback,
    ReduceLROnPlateau,
    TerminateOnNaN,
    evaluate,
    fit,
    predict,
)


def blobs(n=120, seed=0):
    """Three well separated Gaussian blobs in the plane."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centers = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    x = centers[y] + rng.normal(0, 0.4, (n, 2))
    return x.astype(np.float32), y.astype(np.int64)


def small_mlp(seed=0, dropout=0.0):
    neurona.manual_seed(seed)
    layers = [nn.Linear(2, 16), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers, nn.Linear(16, 3))


def test_fit_reduces_the_loss_and_learns():
    x, y = blobs()
    model = small_mlp()
    h = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.05), (x, y),
            epochs=15, batch_size=16, metrics=["accuracy"], verbose=0, seed=0)
    loss = h.history["loss"]
    assert len(loss) == 15 and h.epoch == list(range(15))
    assert loss[-1] < 0.5 * loss[0]
    assert h.history["accuracy"][-1] > 0.9
    ev = evaluate(model, nn.CrossEntropyLoss(), (x, y), metrics=["accuracy"])
    assert ev["accuracy"] > 0.9 and ev["loss"] < loss[0]
    assert h.params["samples"] == 120 and h.params["steps"] == 8 and h.params["epochs"] == 15


def test_metric_keys_names_and_callables():
    x, y = blobs()

    def top_score(y_pred, y_true):
        assert isinstance(y_pred, np.ndarray) and y_pred.shape[1] == 3
        return float(y_true.shape[0])

    model = small_mlp()
    h = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), (x, y),
            val_data=blobs(30, seed=1), epochs=2, batch_size=32,
            metrics=["accuracy", "f1", top_score], verbose=0)
    assert set(h.history) == {"loss", "accuracy", "f1", "top_score", "val_loss",
                              "val_accuracy", "val_f1", "val_top_score"}
    assert all(len(v) == 2 for v in h.history.values())
    # metrics are computed on the whole epoch's predictions, not averaged per batch
    assert h.history["top_score"] == [120.0, 120.0]
    assert h.history["val_top_score"] == [30.0, 30.0]
    assert list(h.history)[:2] == ["loss", "accuracy"]


def test_accuracy_of_a_single_logit_thresholds_at_zero_for_logit_losses():
    x, y = blobs()
    yb = (y == 0).astype(np.float32).reshape(-1, 1)
    neurona.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 1))
    h = fit(model, nn.BCEWithLogitsLoss(), optim.Adam(model.parameters(), lr=0.1), (x, yb),
            epochs=10, batch_size=16, metrics=["accuracy"], verbose=0, seed=0)
    out, _ = predict(model, (x, yb))
    assert h.history["accuracy"][-1] > 0.9
    assert evaluate(model, None, (x, yb), metrics=["accuracy"])["accuracy"] == pytest.approx(
        float(((out[:, 0] >= 0) == (yb[:, 0] == 1)).mean()))


def test_validation_split_holds_out_the_last_samples_before_shuffling():
    n = 40
    x = np.arange(n, dtype=np.float32).reshape(-1, 1)
    y = np.arange(n, dtype=np.float32).reshape(-1, 1)
    seen = []

    def record(y_pred, y_true):
        seen.append(y_true[:, 0].copy())
        return 0.0

    neurona.manual_seed(0)
    model = nn.Linear(1, 1)
    fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=1e-4), (x, y),
        validation_split=0.25, epochs=1, batch_size=4, shuffle=True, metrics=[record],
        verbose=0, seed=3)
    train_seen, val_seen = seen
    assert sorted(train_seen.tolist()) == list(range(30))
    assert train_seen.tolist() != list(range(30))  # the training part was shuffled
    assert val_seen.tolist() == list(range(30, 40))  # the last 25%, in order


def test_validation_split_rounds_like_keras():
    from neurona.train._data import split_last

    tr, va = split_last(TensorDataset(np.zeros((10, 1))), 0.25)
    assert (len(tr), len(va)) == (8, 2)  # ceil(10 * 0.75) = 8 for training
    with pytest.raises(ValueError, match="fraction"):
        split_last(TensorDataset(np.zeros((10, 1))), 1.0)


def test_data_argument_forms_and_errors():
    x, y = blobs(60)
    model = small_mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    ce = nn.CrossEntropyLoss()
    loader = DataLoader(TensorDataset(x, y), batch_size=20, shuffle=True, seed=1)
    h = fit(model, ce, opt, loader, epochs=1, verbose=0)
    assert h.params["steps"] == 3 and h.params["batch_size"] == 20
    h = fit(model, ce, opt, TensorDataset(x, y), val_data=loader, epochs=1, verbose=0)
    assert "val_loss" in h.history
    with pytest.raises(ValueError, match="not both"):
        fit(model, ce, opt, (x, y), val_data=(x, y), validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match="DataLoader"):
        fit(model, ce, opt, loader, validation_split=0.2, verbose=0)
    with pytest.raises(TypeError, match="train_data"):
        fit(model, ce, opt, 42, verbose=0)
    with pytest.raises(ValueError, match="unknown metric 'acuracy'"):
        fit(model, ce, opt, (x, y), metrics=["acuracy"], verbose=0)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, ce, opt, (x, y), epochs=-1, verbose=0)


def test_unknown_monitored_key_is_an_error_naming_the_keys():
    x, y = blobs(60)
    model = small_mlp()
    with pytest.raises(ValueError, match="val_accuracy.*available keys: loss, val_loss"):
        fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), (x, y),
            validation_split=0.2, epochs=3, callbacks=[EarlyStopping(monitor="val_accuracy")],
            verbose=0)
    with pytest.raises(ValueError, match="need validation data"):
        fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), (x, y),
            epochs=3, callbacks=[EarlyStopping()], verbose=0)


def test_early_stopping_in_fit_stops_and_restores_best_weights():
    x, y = blobs(60)
    model = small_mlp()
    snapshots = []
    # min_delta so large that no epoch after the first counts as an improvement
    es = EarlyStopping(monitor="loss", min_delta=100.0, patience=2, restore_best_weights=True,
                       baseline=1e9)
    keep = LambdaCallback(on_epoch_end=lambda e, logs: snapshots.append(
        {k: v.numpy().copy() for k, v in model.state_dict().items()}))
    h = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.05), (x, y),
            epochs=10, callbacks=[es, keep], verbose=0)
    assert len(h.epoch) == 3 and es.stopped_epoch == 2 and es.best_epoch == 0
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), snapshots[0][k])
        assert not np.array_equal(v.numpy(), snapshots[-1][k])


def test_terminate_on_nan_stops_within_the_epoch():
    x, y = blobs(64)
    model = small_mlp()
    ce = nn.CrossEntropyLoss()
    calls = []

    def loss_fn(out, target):
        calls.append(1)
        loss = ce(out, target)
        return loss * float("nan") if len(calls) == 3 else loss

    h = fit(model, loss_fn, optim.SGD(model.parameters(), lr=0.1), (x, y), epochs=5,
            batch_size=8, callbacks=[TerminateOnNaN()], verbose=0)
    assert len(calls) == 3 and len(h.epoch) == 1
    assert np.isnan(h.history["loss"][0])


def test_reduce_lr_callback_and_scheduler_step_the_optimizer():
    x, y = blobs(60)
    model = small_mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    h = fit(model, nn.CrossEntropyLoss(), opt, (x, y), epochs=3, scheduler=sched, verbose=0)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** 3)
    assert len(h.epoch) == 3

    opt = optim.SGD(model.parameters(), lr=0.1)
    cb = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=100.0)
    h = fit(model, nn.CrossEntropyLoss(), opt, (x, y), epochs=3, callbacks=[cb], verbose=0)
    # epoch 0 improves on inf; epochs 1 and 2 do not beat it by 100 -> two halvings
    assert h.history["lr"] == pytest.approx([0.1, 0.05, 0.025])

    opt = optim.SGD(model.parameters(), lr=0.1)
    plateau = optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0,
                                                   threshold=10.0, threshold_mode="abs")
    fit(model, nn.CrossEntropyLoss(), opt, (x, y), validation_split=0.2, epochs=3,
        scheduler=plateau, verbose=0)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.025)


def test_verbose_levels(capsys):
    x, y = blobs(60)
    model = small_mlp()
    kw = dict(epochs=2, batch_size=16)  # noqa: C408
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), (x, y),
        verbose=0, **kw)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), (x, y),
        verbose=2, **kw)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("Epoch 1/2") and "samples/s" in lines[0]
    assert "loss:" in lines[1]
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), (x, y),
        verbose=1, **kw)
    err = capsys.readouterr().err
    assert "Epoch 1/2" in err and "Epoch 2/2" in err and "samples/s" in err and "loss" in err
    with pytest.raises(ValueError, match="verbose"):
        fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), (x, y),
            verbose=3)


def test_fit_with_seed_is_reproducible_and_dropout_follows_the_seed():
    x, y = blobs()

    def run(seed):
        model = small_mlp(seed=0, dropout=0.3)
        fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01), (x, y),
            epochs=2, batch_size=16, verbose=0, seed=seed)
        return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])

    a, b, c = run(5), run(5), run(6)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_history_plot_writes_a_png(tmp_path):
    x, y = blobs(60)
    model = small_mlp()
    h = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), (x, y),
            validation_split=0.2, epochs=3, metrics=["accuracy"], verbose=0)
    path = h.plot(tmp_path / "curves.png")
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "curves.png").stat().st_size > 1000


def test_history_plot_without_matplotlib_says_how_to_install(monkeypatch):
    import sys

    from neurona.train import History

    h = History()
    h.on_epoch_end(0, {"loss": 1.0})
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    with pytest.raises(ImportError, match=r"pip install neurona\[plot\]"):
        h.plot("x.png")


def test_train_is_reachable_from_the_top_level_package():
    import neurona as nr

    assert "train" in nr.__all__
    assert nr.train.fit is fit
