"""The built-in models of the `neurona` command, for 28x28 grayscale images (Fashion-MNIST)
or points in the plane.

- "mlp": Flatten - Linear(784, 256) - ReLU - Linear(256, 128) - ReLU - Linear(128, 10)
- "cnn": Conv2d(1, 32, 3, padding=1) - ReLU - MaxPool2d(2) - Conv2d(32, 64, 3, padding=1) -
  ReLU - MaxPool2d(2) - Flatten - Linear(64*7*7, 128) - ReLU - Linear(128, 10)

Both output logits (use `nn.CrossEntropyLoss`). `build("mlp", in_features=2, num_classes=2)`
gives the same MLP for 2-D points. `load_model_file(path)` reads a user's Python file that
defines `model` (a Module) or `build_model()`.
"""

from __future__ import annotations

import importlib.util
import os
import sys

KINDS = ("mlp", "cnn")


def mlp(in_features: int = 784, num_classes: int = 10, hidden=(256, 128)):
    from neurona import nn

    layers = [nn.Flatten()]
    width = in_features
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


def cnn(in_channels: int = 1, num_classes: int = 10, image_size: int = 28):
    from neurona import nn

    if image_size % 4:
        raise ValueError(f"the CNN halves the image twice; image_size must be a multiple of 4, "
                         f"got {image_size}")
    side = image_size // 4
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * side * side, 128), nn.ReLU(),
        nn.Linear(128, num_classes),
    )


def build(kind: str, input_shape=(1, 28, 28), num_classes: int = 10):
    """A built-in model for samples of `input_shape` (without the batch dimension)."""
    if kind == "mlp":
        n = 1
        for s in input_shape:
            n *= int(s)
        return mlp(n, num_classes)
    if kind == "cnn":
        if len(input_shape) != 3 or input_shape[1] != input_shape[2]:
            raise ValueError(f"the CNN needs square images shaped (C, H, W), got samples "
                             f"shaped {tuple(input_shape)}")
        return cnn(int(input_shape[0]), num_classes, int(input_shape[1]))
    raise ValueError(f"unknown model {kind!r}: use one of {', '.join(KINDS)} or a .py file")


def load_model_file(path):
    """The model a Python file defines: its `build_model()` result, else its `model`."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no model file at {path}")
    name = "_neurona_user_model_" + os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ValueError(f"{path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    if callable(getattr(module, "build_model", None)):
        return module.build_model()
    if hasattr(module, "model"):
        return module.model
    raise ValueError(f"{path} must define `model` (an nn.Module) or a function `build_model()`")
