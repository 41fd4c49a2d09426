"""Results are bitwise identical for any thread count."""

import os
import subprocess
import sys

import neurona
import numpy as np
import pytest


@pytest.fixture
def restore_threads():
    n = neurona.get_num_threads()
    yield
    neurona.set_num_threads(n)


def _run_all(rng):
    a = neurona.tensor(rng.standard_normal((300, 257)).astype(np.float32), requires_grad=True)
    b = neurona.tensor(rng.standard_normal((257, 190)).astype(np.float32), requires_grad=True)
    big = neurona.tensor(rng.standard_normal(200_000).astype(np.float32))
    y = neurona.tanh(a @ b)
    loss = neurona.log_softmax(y, 1).mean() + (big.exp() * 0.5).sum() / 1e5
    loss.backward()
    return [loss.detach().numpy().copy(), y.detach().numpy().copy(), a.grad.numpy().copy(),
            b.grad.numpy().copy(), big.sum(0).numpy().copy()]


def test_set_and_get_num_threads(restore_threads):
    neurona.set_num_threads(3)
    assert neurona.get_num_threads() == 3


def test_bitwise_identical_across_thread_counts(restore_threads):
    results = []
    for n in [1, 2, 3]:
        neurona.set_num_threads(n)
        results.append(_run_all(np.random.default_rng(7)))
    for other in results[1:]:
        for x, y in zip(results[0], other):
            assert np.array_equal(x, y)


_ONE_THREAD_SCRIPT = """
import os, neurona
neurona.set_num_threads(1)
x = neurona.randn(512, 512)
x + x  # the pool's one worker exists from here on
before = len(os.listdir("/proc/self/task"))
for _ in range(3):
    (x @ x).sum()
    neurona.nn.functional.linear(x, x, neurona.zeros(512)).relu()
    neurona.randn(4, 256, 256) @ neurona.randn(4, 256, 256)
print(len(os.listdir("/proc/self/task")) - before)
"""


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads through Linux /proc")
def test_one_thread_means_no_other_threads_start():
    # set_num_threads(1) must hold for every kernel: a large product that slipped out to
    # rayon's global pool would start that pool's threads (one per core) in the middle.
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", _ONE_THREAD_SCRIPT], env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "0", out.stdout + out.stderr
