"""Random generators for shuffling, splitting and augmentation.

Every random choice in `neurona.data` comes from a numpy `Generator` built here. An explicit
`seed` (or a ready `np.random.Generator`) wins; otherwise the seed is derived from the neurona
global RNG state, so `neurona.manual_seed(s)` makes shuffles, splits and augmentations
reproducible. The state is read through `global_rng_state`, a module attribute that tests can
swap with monkeypatch.
"""

from __future__ import annotations

import hashlib

import numpy as np

import neurona


def global_rng_state() -> bytes:
    """The neurona global generator's state, as bytes."""
    return bytes(neurona.get_rng_state())


def check_seed(seed) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be a non-negative int, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed}")
    return int(seed)


def make_generator(seed=None, generator=None, salt: str = "") -> np.random.Generator:
    """Build the generator for one consumer.

    `generator` (an `np.random.Generator`) is used as is; `seed` (an int) gives
    `np.random.default_rng(seed)`; with neither, the seed is a hash of `salt` and the global
    RNG state, so two different consumers (say a shuffle and a crop) seeded from the same
    global state do not draw the same stream.
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
    digest = hashlib.sha256(salt.encode() + b"\x00" + global_rng_state()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))
