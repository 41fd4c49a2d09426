"""Random generators for shuffling, splitting and augmentation.

Every random choice in `neurona.data` comes from a numpy `Generator` built here. An explicit
`seed` (or a ready `np.random.Generator`) wins; otherwise the seed is drawn from the neurona
global generator, as PyTorch's DataLoader does: `neurona.manual_seed(s)` makes shuffles,
splits and augmentations reproducible, and each new consumer advances the global generator,
so two loaders (or two crops) created one after the other get different streams. The draw
goes through `global_seed_bytes`, a module attribute that tests can swap with monkeypatch.
"""

from __future__ import annotations

import hashlib

import numpy as np

import neurona


def global_seed_bytes() -> bytes:
    """128 fresh bits from the neurona global generator (advancing it)."""
    return np.asarray(neurona.randint(0, 1 << 62, (2,)), dtype="<i8").tobytes()


def check_seed(seed) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be a non-negative int, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed}")
    return int(seed)


def make_generator(seed=None, generator=None, salt: str = "") -> np.random.Generator:
    """Build the generator for one consumer.

    `generator` (an `np.random.Generator`) is used as is; `seed` (an int) gives
    `np.random.default_rng(seed)`; with neither, the seed is a hash of `salt` and a draw from
    the neurona global generator.
    """
    if generator is not None and seed is not None:
        raise ValueError("give either seed or generator, not both")
    if generator is not None:
        if not isinstance(generator, np.random.Generator):
            raise TypeError(
                f"generator must be a numpy.random.Generator, got {type(generator).__name__}"
            )
        return generator
    if seed is not None:
        return np.random.default_rng(check_seed(seed))
    digest = hashlib.sha256(salt.encode() + b"\x00" + global_seed_bytes()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))
