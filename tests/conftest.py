"""Shared pytest fixtures: a seeded NumPy generator per test and a reset neurona seed."""

import neurona
import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(autouse=True)
def _seed_neurona():
    neurona.manual_seed(0)
    yield
