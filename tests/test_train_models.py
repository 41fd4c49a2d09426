"""The CLI's built-in models (`neurona.models`): architecture, parameter counts, output
shapes, and models read from a user's Python file."""

import neurona
import pytest
from neurona import models, nn


def count(model):
    return sum(p.numel() for p in model.parameters())


def test_mlp_is_784_256_128_10():
    m = models.mlp()
    linears = [layer for layer in m.modules() if isinstance(layer, nn.Linear)]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [(784, 256), (256, 128),
                                                                        (128, 10)]
    assert count(m) == 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10
    assert m(neurona.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert models.build("mlp", (2,), 2)(neurona.zeros(5, 2)).shape == (5, 2)


def test_cnn_layers_and_output_shape():
    m = models.cnn()
    convs = [layer for layer in m.modules() if isinstance(layer, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.padding) for c in convs] == [
        (1, 32, (3, 3), (1, 1)), (32, 64, (3, 3), (1, 1))]
    conv_params = (9 * 1 * 32 + 32) + (9 * 32 * 64 + 64)
    dense_params = (64 * 7 * 7 * 128 + 128) + (128 * 10 + 10)
    assert count(m) == conv_params + dense_params
    assert m(neurona.zeros(2, 1, 28, 28)).shape == (2, 10)
    with pytest.raises(ValueError, match="square images"):
        models.build("cnn", (2,), 2)


def test_load_model_file_prefers_build_model_then_model(tmp_path):
    f = tmp_path / "a.py"
    f.write_text("from neurona import nn\nmodel = nn.Linear(3, 2)\n")
    assert isinstance(models.load_model_file(f), nn.Linear)
    f.write_text("from neurona import nn\nmodel = None\n"
                 "def build_model():\n    return nn.Linear(4, 1)\n")
    assert models.load_model_file(f).in_features == 4
    with pytest.raises(FileNotFoundError):
        models.load_model_file(tmp_path / "missing.py")
