"""The demo behind ``neurona demo``: a small network learns the two-spirals problem with
nothing but tensors, autograd and a hand-written momentum update, printing its loss as it
falls. It is the course's first training loop, written out."""

from __future__ import annotations

import math
import time

import numpy as np

import neurona


def two_spirals(n_per_class: int = 200, noise: float = 0.1, seed: int = 0):
    """Two interleaved spirals in the plane, labels 0 and 1."""
    rng = np.random.default_rng(seed)
    t = np.sqrt(rng.uniform(0, 1, n_per_class)) * 3 * math.pi
    arm = np.stack([t * np.cos(t), t * np.sin(t)], 1) / (3 * math.pi)
    x = np.concatenate([arm, -arm]) + rng.normal(0, noise / 3, (2 * n_per_class, 2))
    y = np.concatenate([np.zeros(n_per_class), np.ones(n_per_class)])
    return x.astype(np.float32), y.astype(np.float32)


def run(epochs: int = 2000, hidden: int = 64, lr: float = 0.1, seed: int = 0, every: int = 200) -> list:
    """Trains a 2-hidden-hidden-1 tanh network with full-batch momentum SGD; returns losses."""
    neurona.manual_seed(seed)
    x_np, y_np = two_spirals(seed=seed)
    x, y = neurona.tensor(x_np), neurona.tensor(y_np).reshape(-1, 1)
    sizes = [2, hidden, hidden, 1]
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        w = (neurona.randn(fan_out, fan_in) * math.sqrt(1.0 / fan_in)).requires_grad_()
        b = neurona.zeros(fan_out, requires_grad=True)
        params += [w, b]
    velocity = [neurona.zeros_like(p) for p in params]
    losses = []
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        h = x
        for i in range(0, len(params) - 2, 2):
            h = neurona.tanh(neurona.linear(h, params[i], params[i + 1]))
        logits = neurona.linear(h, params[-2], params[-1])
        # Binary cross-entropy from logits: softplus(z) - y*z, stable for any z.
        loss = (neurona.softplus(logits) - y * logits).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with neurona.no_grad():
            for p, v in zip(params, velocity):
                v.mul_(0.9).add_(p.grad)
                p.sub_(v * lr)
        losses.append(loss.item())
        if epoch % every == 0 or epoch == 1:
            acc = ((logits > 0).float() == y).float().mean().item()
            print(f"epoch {epoch:5d}  loss {loss.item():.4f}  accuracy {acc:.3f}")
    print(f"trained in {time.perf_counter() - start:.2f} s")
    return losses
