"""Full checkpoints: an interrupted and resumed run ends bitwise where an uninterrupted one
does; callback states (ModelCheckpoint's best) survive; a process killed while writing a
checkpoint leaves the previous one loadable."""

import os
import signal
import subprocess
import sys
import textwrap

import neurona
import numpy as np
import pytest
from neurona import nn, optim
from neurona.data import DataLoader, RandomHorizontalFlip, TensorDataset
from neurona.train import (
    EarlyStopping,
    LambdaCallback,
    ModelCheckpoint,
    ReduceLROnPlateau,
    fit,
    load_training_checkpoint,
)


def images(n=96, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.normal(0, 1, (n, 1, 4, 4)).astype(np.float32)
    x[:, 0, :, 0] += (y[:, None] - 1) * 1.5  # a column whose brightness tells the class
    return x, y.astype(np.int64)


def make_run(init_seed):
    """Model, optimizer, scheduler, callbacks and data built as a fresh process would."""
    neurona.manual_seed(init_seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 32), nn.ReLU(), nn.Dropout(0.25),
                          nn.Linear(32, 3))
    opt = optim.Adam(model.parameters(), lr=0.01)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.8)
    x, y = images()
    # An unseeded augmentation: its generator is drawn from the global one at first use.
    train = TensorDataset(x, y, transform=RandomHorizontalFlip())
    callbacks = [EarlyStopping(monitor="val_loss", patience=10, restore_best_weights=True),
                 ReduceLROnPlateau(monitor="val_loss", patience=1, factor=0.5)]
    return model, opt, sched, train, images(30, seed=1), callbacks


def weights(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("seed", [0, None])
def test_resume_is_bitwise_identical_to_an_uninterrupted_run(tmp_path, seed):
    kw = dict(batch_size=16, metrics=["accuracy"], verbose=0, seed=seed)  # noqa: C408

    neurona.manual_seed(7)  # fixes the loader's generator when seed is None
    model, opt, sched, train, val, cbs = make_run(0)
    straight = fit(model, nn.CrossEntropyLoss(), opt, train, val_data=val, epochs=4,
                   scheduler=sched, callbacks=cbs, **kw)
    expected = weights(model)
    straight_lr = opt.param_groups[0]["lr"]

    ck = tmp_path / "run.ckpt"
    neurona.manual_seed(7)
    model, opt, sched, train, val, cbs = make_run(0)
    fit(model, nn.CrossEntropyLoss(), opt, train, val_data=val, epochs=2, scheduler=sched,
        callbacks=[*cbs, ModelCheckpoint(ck)], **kw)
    assert load_training_checkpoint(ck)["epoch"] == 2

    # A new "process": other initial weights, other global generator state.
    neurona.manual_seed(12345)
    np.random.seed(99)
    model, opt, sched, train, val, cbs = make_run(1)
    resumed = fit(model, nn.CrossEntropyLoss(), opt, train, val_data=val, epochs=4,
                  scheduler=sched, callbacks=[*cbs, ModelCheckpoint(ck)], resume_from=ck, **kw)

    got = weights(model)
    assert got.keys() == expected.keys()
    for k in expected:
        np.testing.assert_array_equal(got[k], expected[k], err_msg=k)
    assert resumed.history == straight.history
    assert resumed.epoch == [0, 1, 2, 3]
    assert opt.param_groups[0]["lr"] == straight_lr


def test_resume_with_a_user_loader_restores_its_generator(tmp_path):
    x, y = images()
    ck = tmp_path / "c.ckpt"

    def run(epochs, resume, init):
        neurona.manual_seed(init)
        model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        loader = DataLoader(TensorDataset(x, y), batch_size=10, shuffle=True, seed=4)
        fit(model, nn.CrossEntropyLoss(), opt, loader, epochs=epochs, verbose=0,
            callbacks=[ModelCheckpoint(ck)], resume_from=ck if resume else None)
        return weights(model)

    expected = run(3, False, 0)
    run(1, False, 0)
    got = run(3, True, 5)
    for k in expected:
        np.testing.assert_array_equal(got[k], expected[k])


def test_model_checkpoint_best_survives_a_resume(tmp_path):
    ck, best = tmp_path / "last.ckpt", tmp_path / "best.safetensors"

    def callbacks():
        return [ModelCheckpoint(best, save_best_only=True, save_weights_only=True),
                ModelCheckpoint(ck)]

    neurona.manual_seed(0)
    model, opt, _, train, val, _ = make_run(0)
    first = fit(model, nn.CrossEntropyLoss(), opt, train, val_data=val, epochs=2,
                callbacks=callbacks(), verbose=0)
    best_so_far = min(first.history["val_loss"])

    model, opt, _, train, val, _ = make_run(0)
    cbs = callbacks()
    seen = []
    probe = LambdaCallback(on_epoch_begin=lambda e, logs: seen.append((e, cbs[0].best)))
    fit(model, nn.CrossEntropyLoss(), opt, train, val_data=val, epochs=3,
        callbacks=[*cbs, probe], resume_from=ck, verbose=0)
    assert seen == [(2, best_so_far)]  # a fresh callback would start from inf
    assert cbs[1].last_saved == str(ck)


def test_resume_errors(tmp_path):
    model, opt, _, train, val, _ = make_run(0)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        fit(model, nn.CrossEntropyLoss(), opt, train, resume_from=tmp_path / "nope", verbose=0)
    neurona.save(model.state_dict(), tmp_path / "w.safetensors")
    with pytest.raises(ValueError, match="only weights"):
        fit(model, nn.CrossEntropyLoss(), opt, train, resume_from=tmp_path / "w.safetensors",
            verbose=0)
    ck = tmp_path / "c.ckpt"
    fit(model, nn.CrossEntropyLoss(), opt, train, val_data=val, epochs=1, verbose=0,
        callbacks=[ModelCheckpoint(ck)])
    with pytest.raises(ValueError, match="data loader"):  # the validation loader is missing
        fit(model, nn.CrossEntropyLoss(), opt, train, epochs=2, resume_from=ck, verbose=0)


CHILD = textwrap.dedent("""
    import sys, time
    import neurona
    from neurona import nn, optim
    from neurona.io import _safetensors
    from neurona.train import fit, ModelCheckpoint, LambdaCallback

    path = sys.argv[1]
    neurona.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 512), nn.ReLU(), nn.Linear(512, 4))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x = neurona.randn(64, 64)
    y = neurona.randint(0, 4, (64,))
    real = _safetensors._write_bytes

    def slow(f, a):
        real(f, a)
        # The second checkpoint hangs after its first tensor, the file half written.
        if saves["n"] == 2:
            f.flush()
            print("MID-SAVE", flush=True)
            time.sleep(60)

    saves = {"n": 0}
    count = LambdaCallback(on_epoch_end=lambda e, logs: saves.__setitem__("n", saves["n"] + 1))
    _safetensors._write_bytes = slow
    fit(model, nn.CrossEntropyLoss(), opt, (x, y), epochs=3, batch_size=16, verbose=0,
        callbacks=[count, ModelCheckpoint(path)])
    print("FINISHED", flush=True)
""")


def test_sigkill_during_a_checkpoint_save_leaves_the_previous_one_loadable(tmp_path):
    path = tmp_path / "run.ckpt"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "MID-SAVE", proc.stderr.read()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) == 1  # the half-written second checkpoint, never renamed
    ck = load_training_checkpoint(path)
    assert ck["epoch"] == 1
    neurona.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 512), nn.ReLU(), nn.Linear(512, 4))
    model.load_state_dict(ck["model"])
    opt = optim.Adam(model.parameters(), lr=1e-3)
    opt.load_state_dict(ck["optimizer"])
    assert len(opt.state) == 4
