"""The `neurona` command: train -> eval end to end on the embedded Fashion-MNIST subset, a
model from a Python file, a synthetic set, and `info`."""

import re
import subprocess
import sys
import textwrap

import neurona
import pytest
from neurona import cli
from neurona.io import load_metadata


def test_train_then_eval_mlp_on_the_subset(tmp_path, capsys):
    out = tmp_path / "mlp.safetensors"
    rc = cli.main(["train", "--model", "mlp", "--subset", "--epochs", "1", "--output", str(out),
                   "--verbose", "0"])
    assert rc == 0
    printed = capsys.readouterr().out
    m = re.search(r"test accuracy: (\d\.\d+) \(2000 samples\)", printed)
    assert m, printed
    train_acc = float(m.group(1))
    assert train_acc > 0.6  # one epoch on 10 000 images; chance is 0.1
    meta = load_metadata(out)
    assert meta["neurona.model"] == "mlp" and meta["neurona.dataset"] == "fashion-mnist"
    # the inputs were standardized with the training images' mean and std (about 0.29, 0.35)
    assert 0.2 < float(meta["neurona.input_mean"]) < 0.4
    assert 0.25 < float(meta["neurona.input_std"]) < 0.45
    weights = neurona.load(out)
    assert weights["1.weight"].shape == (256, 784) and weights["5.weight"].shape == (10, 128)

    assert cli.main(["eval", str(out), "--subset"]) == 0
    printed = capsys.readouterr().out
    assert f"test accuracy: {train_acc:.4f}" in printed  # the same weights, the same split
    for name in ("T-shirt/top", "Ankle boot", "macro avg", "weighted avg", "precision"):
        assert name in printed


def test_train_a_model_file_on_spirals(tmp_path, capsys):
    model_file = tmp_path / "net.py"
    model_file.write_text(textwrap.dedent("""
        from neurona import nn

        def build_model():
            return nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(),
                                 nn.Linear(32, 2))
    """))
    out = tmp_path / "spirals.safetensors"
    rc = cli.main(["train", "--model", str(model_file), "--dataset", "spirals", "--epochs", "40",
                   "--batch-size", "32", "--lr", "0.01", "--output", str(out), "--verbose", "0"])
    assert rc == 0
    acc = float(re.search(r"test accuracy: (\d\.\d+)", capsys.readouterr().out).group(1))
    assert acc > 0.7
    assert load_metadata(out)["neurona.model"] == str(model_file)
    assert cli.main(["eval", str(out)]) == 0
    assert f"test accuracy: {acc:.4f}" in capsys.readouterr().out


def test_bad_model_names_fail_clearly(tmp_path):
    with pytest.raises(ValueError, match="unknown model 'resnet'"):
        cli.main(["train", "--model", "resnet", "--subset", "--verbose", "0",
                  "--output", str(tmp_path / "x")])
    with pytest.raises(ValueError, match="square images"):
        cli.main(["train", "--model", "cnn", "--dataset", "xor", "--verbose", "0",
                  "--output", str(tmp_path / "x")])
    bad = tmp_path / "empty.py"
    bad.write_text("x = 1\n")
    with pytest.raises(ValueError, match="build_model"):
        cli.main(["train", "--model", str(bad), "--dataset", "xor", "--verbose", "0",
                  "--output", str(tmp_path / "x")])


def test_info_prints_version_threads_isa_and_cuda():
    done = subprocess.run([sys.executable, "-m", "neurona", "info"], capture_output=True,
                          text=True, timeout=120, check=True)
    lines = done.stdout.splitlines()
    assert lines[0] == f"neurona {neurona.__version__}"
    assert f"threads: {neurona.get_num_threads()}" in lines
    assert f"ISA (matmul kernel): {neurona.isa()}" in lines
    assert f"cuda available: {neurona.cuda.is_available()}" in lines


def test_help_lists_the_commands():
    done = subprocess.run([sys.executable, "-m", "neurona", "--help"], capture_output=True,
                          text=True, timeout=120, check=True)
    for cmd in ("train", "eval", "info", "demo"):
        assert cmd in done.stdout
