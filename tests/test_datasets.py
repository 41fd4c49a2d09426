"""neurona.datasets: IDX parsing, Fashion-MNIST source selection and the embedded subset,
and the synthetic course data sets."""

import gzip
import logging
import struct

import neurona
import numpy as np
import pytest
from neurona.datasets import (
    FASHION_MNIST_CLASSES,
    IdxError,
    circles,
    fashion,
    fashion_mnist,
    read_idx,
    sine,
    two_spirals,
    will_i_pass,
    xor,
)

# ---------------------------------------------------------------- IDX files written by hand


def _idx_bytes(arr: np.ndarray, code: int = 0x08) -> bytes:
    """An IDX file: magic 0x0000 <type code> <ndim>, big-endian uint32 dims, then the data."""
    head = struct.pack(">HBB", 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    dtype = {0x08: ">u1", 0x0B: ">i2", 0x0D: ">f4"}[code]
    return head + arr.astype(dtype).tobytes()


def _write_fashion(directory, n_train=3, n_test=2, gz=True, value=7):
    """Tiny fake Fashion-MNIST files: image i of a split is filled with (value + i) % 256."""
    directory.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        imgs = np.stack([np.full((28, 28), (value + i) % 256, np.uint8) for i in range(n)])
        labels = (np.arange(n) % 10).astype(np.uint8)
        for kind, arr in (("images-idx3", imgs), ("labels-idx1", labels)):
            name = f"{prefix}-{kind}-ubyte"
            data = _idx_bytes(arr)
            if gz:
                (directory / (name + ".gz")).write_bytes(gzip.compress(data))
            else:
                (directory / name).write_bytes(data)
    return directory


def test_parse_small_idx_files(tmp_path):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    raw = _idx_bytes(a)
    # header by hand: 00 00 08 03 | 00000002 00000003 00000004
    assert raw[:16] == bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4])
    (tmp_path / "a.idx").write_bytes(raw)
    (tmp_path / "a.idx.gz").write_bytes(gzip.compress(raw))
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx"), a)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx.gz", magic=0x803), a)
    # Multi-byte values are big-endian: 0x0102 = 258.
    s = np.array([258, -2], dtype=np.int16)
    (tmp_path / "s.idx").write_bytes(_idx_bytes(s, 0x0B))
    assert read_idx(tmp_path / "s.idx").tolist() == [258, -2]
    f = np.array([[1.5, -0.25]], dtype=np.float32)
    (tmp_path / "f.idx").write_bytes(_idx_bytes(f, 0x0D))
    np.testing.assert_array_equal(read_idx(tmp_path / "f.idx"), f)


def test_corrupt_idx_files(tmp_path):
    a = np.zeros((2, 28, 28), np.uint8)
    good = _idx_bytes(a)
    cases = {
        "magic.idx": b"\x12\x34" + good[2:],  # first two bytes must be zero
        "type.idx": good[:2] + b"\x07" + good[3:],  # 0x07 is no IDX type code
        "short.idx": good[:-5],  # data shorter than the header says
        "long.idx": good + b"\0",
        "header.idx": good[:9],  # cut inside the dimensions
        "tiny.idx": b"\0\0",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(IdxError, match=name):
            read_idx(tmp_path / name)
    # A gzip stream cut in half.
    (tmp_path / "cut.gz").write_bytes(gzip.compress(good)[:40])
    with pytest.raises(IdxError, match="corrupt gzip"):
        read_idx(tmp_path / "cut.gz")
    # Right format, wrong kind: labels where images are expected.
    (tmp_path / "labels.idx").write_bytes(_idx_bytes(np.zeros(3, np.uint8)))
    with pytest.raises(IdxError, match="expected 0x00000803, found 0x00000801"):
        read_idx(tmp_path / "labels.idx", magic=0x803)
    assert issubclass(IdxError, ValueError)


def test_fashion_files_inconsistent(tmp_path):
    d = _write_fashion(tmp_path / "bad")
    (d / "train-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(_idx_bytes(np.zeros(5, np.uint8)))
    )
    with pytest.raises(IdxError, match="3 images but 5 labels"):
        fashion_mnist(path=d)
    (d / "train-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(_idx_bytes(np.array([0, 10, 1], np.uint8)))
    )
    with pytest.raises(IdxError, match="out of range"):
        fashion_mnist(path=d)


# ---------------------------------------------------------------- where the data comes from


@pytest.fixture
def no_sources(tmp_path, monkeypatch):
    """No Fashion-MNIST anywhere: empty system dir, empty home, no $NEURONA_DATA."""
    monkeypatch.setattr(fashion, "SYSTEM_DIR", tmp_path / "system")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NEURONA_DATA", raising=False)
    return tmp_path


def test_source_selection_order(no_sources, monkeypatch):
    tmp = no_sources
    cache = _write_fashion(tmp / "home" / ".cache" / "neurona" / "fashion-mnist", value=40)
    assert fashion_mnist().source == str(cache)
    system = _write_fashion(tmp / "system", value=30)
    assert fashion_mnist().source == str(system)
    env_root = tmp / "envdata"
    env = _write_fashion(env_root / "fashion-mnist", value=20)
    monkeypatch.setenv("NEURONA_DATA", str(env_root))
    assert fashion_mnist().source == str(env)
    explicit = _write_fashion(tmp / "explicit", value=10, gz=False)
    got = fashion_mnist(path=explicit)
    assert got.source == str(explicit)
    # The data really comes from that directory: image 1 of "explicit" is filled with 11.
    assert np.asarray(got.images)[1].max() == pytest.approx(11 / 255)


def test_neurona_data_may_point_at_the_files_directly(no_sources, monkeypatch):
    d = _write_fashion(no_sources / "flat")
    monkeypatch.setenv("NEURONA_DATA", str(d))
    assert fashion_mnist(split="test").source == str(d)


def test_explicit_path_without_files_is_an_error(no_sources):
    _write_fashion(no_sources / "system")
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.gz"):
        fashion_mnist(path=no_sources / "nowhere")


def test_loaded_split_format_and_log(no_sources, caplog, capsys):
    d = _write_fashion(no_sources / "system", n_train=4, n_test=3, value=254)
    with caplog.at_level(logging.INFO, logger="neurona.datasets"):
        train, test = fashion_mnist(split="both", verbose=True)
    assert str(d) in caplog.text and "system directory" in caplog.text
    assert str(d) in capsys.readouterr().out
    x, y = train
    assert isinstance(x, neurona.Tensor) and isinstance(y, neurona.Tensor)
    x, y = np.asarray(x), np.asarray(y)
    assert x.shape == (4, 1, 28, 28) and x.dtype == np.float32
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 2, 3]
    # pixel values 254, 255, 0, 1 scaled by 1/255
    np.testing.assert_allclose(x.reshape(4, -1).max(1), np.array([254, 255, 0, 1]) / 255, rtol=1e-6)
    assert len(test) == 3 and test.split == "test"
    assert train.classes == FASHION_MNIST_CLASSES and train.classes[9] == "Ankle boot"
    with pytest.raises(ValueError):
        fashion_mnist(split="validation")


def test_embedded_subset(no_sources, caplog):
    with caplog.at_level(logging.INFO, logger="neurona.datasets"):
        train, test = fashion_mnist(split="both")
    assert train.source == "embedded" and test.source == "embedded"
    assert "embedded" in caplog.text
    x, y = np.asarray(train.images), np.asarray(train.labels)
    assert x.shape == (10_000, 1, 28, 28) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() > 0.99
    assert np.bincount(y, minlength=10).tolist() == [1000] * 10
    assert np.bincount(np.asarray(test.labels), minlength=10).tolist() == [200] * 10
    assert np.asarray(test.images).shape == (2000, 1, 28, 28)
    # Pixels are multiples of 1/255 (uint8 source data).
    np.testing.assert_allclose(x[:5] * 255, np.round(x[:5] * 255), atol=1e-4)
    assert fashion.EMBEDDED_FILE.stat().st_size < 6 * 1024 * 1024


def test_embedded_subset_matches_full_files_when_present():
    """The shipped subset is rows of the real files at the recorded indices (checked where the
    full set is installed; the recorded indices are checked everywhere)."""
    with np.load(fashion.EMBEDDED_FILE) as z:
        subset = {k: z[k] for k in z.files}
    for split, n_full in (("train", 60_000), ("test", 10_000)):
        idx = subset[f"{split}_indices"]
        assert (np.diff(idx) > 0).all() and idx[0] >= 0 and idx[-1] < n_full
        if fashion._has_split(fashion.SYSTEM_DIR, split):
            images, labels = fashion.read_split(fashion.SYSTEM_DIR, split)
            np.testing.assert_array_equal(subset[f"{split}_images"], images[idx])
            np.testing.assert_array_equal(subset[f"{split}_labels"], labels[idx])


# ---------------------------------------------------------------- synthetic sets


def test_xor():
    x, y = xor()
    x, y = np.asarray(x), np.asarray(y)
    assert x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(y, np.logical_xor(x[:, 0], x[:, 1]).astype(np.int64))
    assert sorted(map(tuple, x.tolist())) == [(0, 0), (0, 1), (1, 0), (1, 1)]


def test_two_spirals():
    x, y = (np.asarray(t) for t in two_spirals(301, noise=0.0, seed=1))
    assert x.shape == (301, 2) and y.shape == (301,)
    assert np.bincount(y).tolist() == [150, 151]
    # Noise-free points lie on the spirals: r = angle / (3 pi), class 1 turned by 180 degrees.
    r = np.hypot(x[:, 0], x[:, 1])
    assert r.max() <= 1.0 + 1e-6
    ang = np.where(y == 0, np.arctan2(x[:, 1], x[:, 0]), np.arctan2(-x[:, 1], -x[:, 0]))
    t = r * 3 * np.pi  # the parameter; its angle mod 2 pi must match the point's angle
    np.testing.assert_allclose(np.cos(ang - t), 1.0, atol=1e-4)
    a2, _ = two_spirals(301, noise=0.0, seed=1)
    np.testing.assert_array_equal(np.asarray(a2), x)
    xn = np.asarray(two_spirals(301, noise=0.1, seed=1)[0])
    assert 0.08 < (xn - x).std() < 0.12


def test_circles():
    x, y = (np.asarray(t) for t in circles(100, noise=0.0, factor=0.3, seed=0))
    r = np.hypot(x[:, 0], x[:, 1])
    np.testing.assert_allclose(r[y == 0], 1.0, rtol=1e-6)
    np.testing.assert_allclose(r[y == 1], 0.3, rtol=1e-6)
    assert np.bincount(y).tolist() == [50, 50]
    # A noisy set is the same points, in the same order, plus Gaussian jitter of sd 0.05.
    xn, yn = (np.asarray(t) for t in circles(100, noise=0.05, factor=0.3, seed=0))
    np.testing.assert_array_equal(yn, y)
    assert 0.04 < (xn - x).std() < 0.06
    with pytest.raises(ValueError):
        circles(10, factor=1.5)


def test_sine():
    x, y = (np.asarray(t) for t in sine(50, noise=0.0, seed=2))
    assert x.shape == y.shape == (50, 1) and x.dtype == y.dtype == np.float32
    assert (np.diff(x[:, 0]) >= 0).all() and x.min() >= -np.pi and x.max() <= np.pi
    np.testing.assert_allclose(y, np.sin(x), atol=1e-6)
    _, yn = sine(2000, noise=0.1, seed=2)
    xn = np.asarray(sine(2000, noise=0.1, seed=2)[0])
    resid = np.asarray(yn)[:, 0] - np.sin(xn[:, 0])
    assert 0.09 < resid.std() < 0.11


def test_will_i_pass_is_deterministic_and_follows_its_rule():
    x, y = (np.asarray(t) for t in will_i_pass(2000, seed=0))
    x2, y2 = (np.asarray(t) for t in will_i_pass(2000, seed=0))
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    hours, lectures = x[:, 0], x[:, 1]
    assert hours.min() >= 0 and hours.max() <= 10 and (hours * 2 == np.round(hours * 2)).all()
    assert set(np.unique(lectures).tolist()) <= set(range(13))
    assert set(np.unique(y).tolist()) == {0, 1}
    # Students who study hard pass far more often than those who do not.
    assert y[hours >= 8].mean() > 0.9 and y[hours <= 2].mean() < 0.3
    # Pass rate among lecture-goers is higher at equal study time.
    mid = (hours >= 3) & (hours <= 5)
    assert y[mid & (lectures >= 9)].mean() > y[mid & (lectures <= 3)].mean()
