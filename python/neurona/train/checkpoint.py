"""Full training checkpoints on top of `neurona.io.save_checkpoint` (atomic writes).

A checkpoint holds everything a run needs to go on as if it had never stopped: the model's
and optimizer's state_dicts, the scheduler's, every callback's state (with the History), the
number of finished epochs, and every random generator that training draws from — the neurona
global generator (initialisation, dropout, loaders without a seed), NumPy's global one, and
the NumPy generators of the data loaders and their augmentation transforms. `fit(...,
resume_from=path)` restores them all, so an interrupted and resumed run ends with bitwise the
same weights as an uninterrupted one.
"""

from __future__ import annotations

import os

import numpy as np

import neurona
from neurona.io import load_checkpoint, load_metadata, save, save_checkpoint

KIND = "neurona.train"
VERSION = 1
MODEL_KEY = "neurona.model"  # safetensors metadata of weights-only files


# ----- random generators -------------------------------------------------------------------
def _generator_slots(loader) -> list:
    """(owner, attribute) for each NumPy generator a loader draws from, in a fixed order:
    the loader's shuffling generator, then the transforms of the datasets it reads (following
    `.dataset` through Subsets)."""
    slots = []
    if hasattr(loader, "generator"):
        slots.append((loader, "generator"))
    ds = getattr(loader, "dataset", None)
    seen = set()
    while ds is not None and id(ds) not in seen:
        seen.add(id(ds))
        _transform_slots(getattr(ds, "transform", None), slots)
        ds = getattr(ds, "dataset", None)
    return slots


def _transform_slots(t, slots: list) -> None:
    if t is None:
        return
    for inner in getattr(t, "transforms", ()) or ():  # Compose
        _transform_slots(inner, slots)
    if hasattr(t, "generator") and hasattr(t, "_gen"):
        slots.append((t, "generator"))


def _generator_state(g):
    if g is None:
        return None
    if not isinstance(g, np.random.Generator):
        raise TypeError(f"cannot checkpoint a random generator of type {type(g).__name__}")
    return g.bit_generator.state


def _set_generator(owner, attr: str, state) -> None:
    if state is None:
        # Not drawn from yet: it will be seeded from the (restored) global generator, exactly
        # as it was in the original run.
        setattr(owner, attr, None)
        return
    g = getattr(owner, attr)
    if not (isinstance(g, np.random.Generator)
            and type(g.bit_generator).__name__ == state["bit_generator"]):
        g = np.random.Generator(getattr(np.random, state["bit_generator"])())
        setattr(owner, attr, g)
    g.bit_generator.state = state


def capture_rng(loaders=()) -> dict:
    np_state = np.random.get_state(legacy=False)
    np_state = dict(np_state, state={"key": [int(k) for k in np_state["state"]["key"]],
                                     "pos": int(np_state["state"]["pos"])})
    return {
        "neurona": neurona.get_rng_state(),
        "numpy": np_state,
        "loaders": [[_generator_state(getattr(o, a)) for o, a in _generator_slots(ld)]
                    for ld in loaders],
    }


def restore_rng(state: dict, loaders=()) -> None:
    neurona.set_rng_state(state["neurona"])
    np_state = dict(state["numpy"])
    np_state["state"] = {"key": np.asarray(np_state["state"]["key"], dtype=np.uint32),
                         "pos": int(np_state["state"]["pos"])}
    np.random.set_state(np_state)
    saved = state.get("loaders", [])
    if len(saved) != len(loaders):
        raise ValueError(
            f"the checkpoint holds the random state of {len(saved)} data loader(s) but this run "
            f"has {len(loaders)}: resume with the same training/validation data setup"
        )
    for ld, states in zip(loaders, saved):
        slots = _generator_slots(ld)
        if len(slots) != len(states):
            raise ValueError(
                f"the checkpoint holds {len(states)} random generator(s) for a data loader "
                f"that now has {len(slots)}: resume with the same loaders and transforms"
            )
        for (owner, attr), s in zip(slots, states):
            _set_generator(owner, attr, s)


# ----- whole runs --------------------------------------------------------------------------
def save_training_checkpoint(path, *, model, optimizer, epoch: int, scheduler=None,
                             callbacks=None, loaders=()) -> None:
    """Write a full checkpoint after `epoch` finished epochs. `callbacks` is a
    `CallbackList` (or None); `loaders` the data loaders whose generators to keep."""
    save_checkpoint(
        {
            "kind": KIND,
            "version": VERSION,
            "epoch": int(epoch),
            "model_class": type(model).__name__,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict() if optimizer is not None else None,
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "callbacks": callbacks.state_dict() if callbacks is not None else {},
            "rng": capture_rng(loaders),
        },
        path,
    )


def load_training_checkpoint(path) -> dict:
    """Read a file written by `save_training_checkpoint` (a ModelCheckpoint with
    save_weights_only=False), checking that it is one."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"resume_from: no checkpoint at {path}")
    if "neurona.checkpoint" not in load_metadata(path):
        raise ValueError(
            f"{path} holds only weights (saved with save_weights_only=True or neurona.save); "
            "resuming needs a full checkpoint (ModelCheckpoint(save_weights_only=False)). "
            "Load weights with model.load_state_dict(neurona.load(path))"
        )
    ck = load_checkpoint(path)
    if not isinstance(ck, dict) or ck.get("kind") != KIND:
        raise ValueError(f"{path} is a neurona checkpoint but not a full training checkpoint "
                         "written by fit (it lacks the optimizer and random states)")
    if ck.get("version") != VERSION:
        raise ValueError(f"{path}: unsupported training checkpoint version {ck.get('version')!r}")
    return ck


def save_model_only(model, path, weights_only: bool, epoch: int = 0, kind: str | None = None):
    """What a callback driven without `fit` saves: the weights as safetensors (with the model
    class, or `kind`, in the metadata), or a checkpoint holding the model and the epoch."""
    if weights_only:
        save(model.state_dict(), path, metadata={MODEL_KEY: kind or type(model).__name__})
    else:
        save_checkpoint({"kind": KIND + ".model", "epoch": int(epoch),
                         "model": model.state_dict()}, path)
