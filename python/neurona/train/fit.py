"""`fit`: Keras' training loop for neurona models, plus `evaluate` and `predict`.

Each epoch trains on every batch (model.train(), zero_grad, forward, loss, backward, step),
then scores the validation data under `no_grad` with model.eval(), steps the scheduler, and
runs the callbacks' `on_epoch_end`; a full checkpoint asked for by a `ModelCheckpoint` is
written after all of them, so it holds the run's state at the end of that epoch.
"""

from __future__ import annotations

import numpy as np

import neurona

from . import _data, _metrics
from .callbacks.base import Callback, CallbackList, RunState
from .checkpoint import (
    load_training_checkpoint,
    restore_rng,
    save_model_only,
    save_training_checkpoint,
)
from .history import History
from .progress import ProgressBar


# ----- devices -----------------------------------------------------------------------------
def _model_device(model):
    for p in model.parameters():
        return p.device
    return None


def _prepare_device(model, device):
    """Moves the model to `device` if given; returns the device batches must go to (None:
    leave them where they are, the model is on the CPU)."""
    if device is not None:
        model.to(device)
    dev = _model_device(model)
    if dev is None or str(dev) == "cpu":
        return None
    return dev


def _to(t, dev):
    if dev is None or not hasattr(t, "to"):
        return t
    return t.to(dev)


def _host(t) -> np.ndarray:
    """A NumPy copy of a (detached) output or target, wherever it lives."""
    if hasattr(t, "detach"):
        t = t.detach()
        if getattr(t, "is_cuda", False):
            t = t.cpu()
    return np.array(t)


def _check_loss(loss, who: str):
    if not hasattr(loss, "backward") or loss.numel() != 1:
        shape = getattr(loss, "shape", None)
        raise ValueError(f"{who}: loss_fn must return a scalar Tensor (reduction='mean' or "
                         f"'sum'), got {type(loss).__name__} of shape {shape}")


# ----- one pass over the data --------------------------------------------------------------
def _train_epoch(model, loss_fn, optimizer, loader, metric_fns, dev, cbs, run) -> dict:
    model.train()
    seen, loss_sum = 0, 0.0
    preds, targets = [], []
    for b, batch in enumerate(loader):
        x, y = _data.split_batch(batch, "train_data")
        x, y = _to(x, dev), _to(y, dev)
        cbs.on_batch_begin(b, {})
        optimizer.zero_grad()
        out = model(x)
        loss = loss_fn(out, y)
        if b == 0:
            _check_loss(loss, "fit")
        loss.backward()
        optimizer.step()
        value = loss.item()
        n = int(x.shape[0])
        seen += n
        loss_sum += value * n
        if metric_fns:
            preds.append(_host(out))
            targets.append(_host(y))
        cbs.on_batch_end(b, {"loss": value, "size": n})
        if run.stop_training:
            break
    logs = {"loss": loss_sum / max(seen, 1)}
    if metric_fns and preds:
        p, t = np.concatenate(preds), np.concatenate(targets)
        for name, fn in metric_fns:
            logs[name] = float(fn(p, t))
    return logs


def _score(model, loss_fn, loader, metric_fns, dev, keep_outputs=False):
    """Mean loss and metrics over a loader, in eval mode and without gradients."""
    was_training = getattr(model, "training", True)
    model.eval()
    seen, loss_sum = 0, 0.0
    preds, targets = [], []
    try:
        with neurona.no_grad():
            for batch in loader:
                x, y = _data.split_batch(batch, "validation data")
                x, y = _to(x, dev), _to(y, dev)
                out = model(x)
                n = int(x.shape[0])
                if loss_fn is not None:
                    loss_sum += loss_fn(out, y).item() * n
                seen += n
                if metric_fns or keep_outputs:
                    preds.append(_host(out))
                    targets.append(_host(y))
    finally:
        model.train(was_training)
    logs = {} if loss_fn is None else {"loss": loss_sum / max(seen, 1)}
    if preds:
        p, t = np.concatenate(preds), np.concatenate(targets)
        for name, fn in metric_fns:
            logs[name] = float(fn(p, t))
    else:
        p = t = None
    return (logs, p, t) if keep_outputs else logs


def evaluate(model, loss_fn, data, metrics=None, batch_size: int = 256, device=None) -> dict:
    """Loss (if `loss_fn` is given) and metrics of `model` on `data` (a Dataset, a DataLoader
    or an (X, y) tuple), computed under `no_grad` in eval mode: {"loss": ..., "accuracy": ...}.
    """
    loader, _ = _data.make_loaders(data, None, None, batch_size, False, None)
    dev = _prepare_device(model, device)
    return _score(model, loss_fn, loader, _metrics.resolve(metrics, loss_fn), dev)


def predict(model, data, batch_size: int = 256, device=None):
    """The model's outputs on `data` ((X, y), a Dataset of (x, y) samples, or a DataLoader),
    batch by batch under `no_grad` in eval mode, as one NumPy array; also returns the targets:
    `(outputs, targets)`."""
    loader, _ = _data.make_loaders(data, None, None, batch_size, False, None)
    dev = _prepare_device(model, device)
    _, p, t = _score(model, None, loader, [], dev, keep_outputs=True)
    return p, t


# ----- fit ---------------------------------------------------------------------------------
def _is_plateau_scheduler(scheduler) -> bool:
    return type(scheduler).__name__ == "ReduceLROnPlateau" and not isinstance(scheduler, Callback)


def fit(model, loss_fn, optimizer, train_data, val_data=None, validation_split=None,
        epochs: int = 1, batch_size: int = 32, shuffle: bool = True, callbacks=None,
        metrics=None, device=None, resume_from=None, scheduler=None, verbose: int = 1,
        seed=None) -> History:
    """Train `model` (Keras' `fit`, PyTorch's objects) and return a `History`.

    - `train_data`: a Dataset of (x, y) samples, an (X, y) tuple of arrays/Tensors, an
      `ImageSplit` from `neurona.datasets`, or a DataLoader (then `batch_size` and `shuffle`
      are the loader's own).
    - `val_data` (same forms) or `validation_split`: a fraction of the training data held out
      for validation — the LAST samples, taken before any shuffling, exactly as Keras does;
      shuffle the data first if its order is not random.
    - `metrics`: names ("accuracy", "f1", "precision", "recall", "mse", "mae", "rmse", "r2")
      or callables `(y_pred, y_true) -> float` (logged under their `__name__`), computed on
      the whole epoch's predictions; validation values get a "val_" prefix.
    - `callbacks`: `neurona.train.callbacks` instances (EarlyStopping, ModelCheckpoint, ...).
    - `scheduler`: a `neurona.optim.lr_scheduler` scheduler, stepped once per epoch after
      validation (ReduceLROnPlateau gets "val_loss", or "loss" without validation data).
    - `resume_from`: a full checkpoint written by `ModelCheckpoint(save_weights_only=False)`;
      training continues after its epoch up to `epochs` in all, with the model, optimizer,
      scheduler, callback states, history and random generators restored, so the result is
      bitwise the same as a run that was never interrupted. Build the model, optimizer,
      scheduler, callbacks and data the same way as in the first run.
    - `seed`: seeds the neurona global generator and the shuffling, for a reproducible run.
    - `verbose`: 0 silent, 1 a progress bar per epoch, 2 one line per epoch.
    - `device`: moves the model there ("cpu", "cuda"); batches follow the model.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"epochs must be an int >= 0, got {epochs!r}")
    verbose = int(verbose)
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1 or 2, got {verbose}")
    if seed is not None:
        neurona.manual_seed(seed)
    train_loader, val_loader = _data.make_loaders(train_data, val_data, validation_split,
                                                  batch_size, shuffle, seed)
    loaders = [ld for ld in (train_loader, val_loader) if ld is not None]
    metric_fns = _metrics.resolve(metrics, loss_fn)
    dev = _prepare_device(model, device)

    run = RunState(model, optimizer)
    history = History()
    history.params = {"epochs": int(epochs), "steps": len(train_loader),
                      "batch_size": train_loader.batch_size,
                      "samples": len(train_loader.dataset)}
    extra = [] if verbose == 0 else [ProgressBar(verbose, epochs, len(train_loader.dataset))]
    cbs = CallbackList([*(callbacks or []), *extra, history], run)

    def save_fn(path, weights_only):
        if weights_only:
            save_model_only(model, path, weights_only=True)
        else:
            save_training_checkpoint(path, model=model, optimizer=optimizer, epoch=run.epoch + 1,
                                     scheduler=scheduler, callbacks=cbs, loaders=loaders)

    run.save_fn = save_fn

    initial_epoch = 0
    ck = None
    if resume_from is not None:
        ck = load_training_checkpoint(resume_from)
        model.load_state_dict(ck["model"])
        if ck.get("optimizer") is not None:
            optimizer.load_state_dict(ck["optimizer"])
        if scheduler is not None and ck.get("scheduler") is not None:
            scheduler.load_state_dict(ck["scheduler"])
        restore_rng(ck["rng"], loaders)
        initial_epoch = int(ck["epoch"])

    cbs.on_train_begin({})
    if ck is not None:
        cbs.load_state_dict(ck.get("callbacks", {}))
    try:
        for epoch in range(initial_epoch, int(epochs)):
            run.epoch = epoch
            cbs.on_epoch_begin(epoch, {})
            logs = _train_epoch(model, loss_fn, optimizer, train_loader, metric_fns, dev, cbs,
                                run)
            if val_loader is not None:
                val_logs = _score(model, loss_fn, val_loader, metric_fns, dev)
                logs.update({f"val_{k}": v for k, v in val_logs.items()})
            if scheduler is not None:
                if _is_plateau_scheduler(scheduler):
                    scheduler.step(logs.get("val_loss", logs["loss"]))
                else:
                    scheduler.step()
            cbs.on_epoch_end(epoch, logs)
            run.flush_saves()
            if run.stop_training:
                break
    finally:
        for cb in extra:
            cb.on_train_end({})
    cbs.on_train_end({})
    return history
