"""neurona.data: datasets, DataLoader, splits, scalers and augmentation transforms."""

import neurona
import numpy as np
import pytest
from neurona.data import (
    Compose,
    DataLoader,
    Dataset,
    MinMaxScale,
    NotFittedError,
    RandomCrop,
    RandomHorizontalFlip,
    Standardize,
    Subset,
    TensorDataset,
    _convert,
    _rng,
    random_split,
    train_val_test_split,
)


def _data(n=23):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64)
    return x, y


def _epoch_ids(loader):
    """The sample ids (column y) of every batch of one epoch."""
    return [np.asarray(b[1]).tolist() for b in loader]


# ---------------------------------------------------------------- datasets


def test_tensor_dataset_items_and_length():
    x, y = _data(5)
    ds = TensorDataset(x, y)
    assert len(ds) == 5
    xi, yi = ds[3]
    assert isinstance(xi, neurona.Tensor)
    np.testing.assert_array_equal(np.asarray(xi), x[3])
    assert int(np.asarray(yi)) == 3
    _, ys = ds[1:4]
    np.testing.assert_array_equal(np.asarray(ys), [1, 2, 3])
    with pytest.raises(IndexError):
        ds[5]


def test_tensor_dataset_accepts_tensors():
    x, y = _data(4)
    ds = TensorDataset(neurona.from_numpy(x), neurona.from_numpy(y))
    np.testing.assert_array_equal(np.asarray(ds[2][0]), x[2])


def test_tensor_dataset_mismatched_lengths_raise():
    with pytest.raises(ValueError, match=r"same first dimension.*\(5, 3\), \(4,\)"):
        TensorDataset(np.zeros((5, 3)), np.zeros(4))
    with pytest.raises(ValueError):
        TensorDataset()
    with pytest.raises(ValueError):
        TensorDataset(np.float32(3.0))


# ---------------------------------------------------------------- DataLoader


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("n,bs", [(23, 5), (20, 5), (3, 7), (1, 1)])
def test_epoch_visits_every_sample_once(shuffle, drop_last, n, bs):
    x, y = _data(n)
    loader = DataLoader(TensorDataset(x, y), batch_size=bs, shuffle=shuffle,
                        drop_last=drop_last, seed=0)
    batches = list(loader)
    assert len(batches) == len(loader)
    expected_batches = n // bs if drop_last else -(-n // bs)
    assert len(loader) == expected_batches
    ids = [i for xb, yb in batches for i in np.asarray(yb).tolist()]
    # x and y stay aligned: row i of x is [3i, 3i+1, 3i+2].
    for xb, yb in batches:
        np.testing.assert_array_equal(np.asarray(xb), x[np.asarray(yb)])
        assert np.asarray(xb).shape[0] <= bs
        if drop_last:
            assert np.asarray(xb).shape[0] == bs
    if drop_last:
        assert len(ids) == (n // bs) * bs
        assert len(set(ids)) == len(ids)
    else:
        assert sorted(ids) == list(range(n))
    if not shuffle:
        assert ids == list(range(len(ids)))


def test_shuffle_same_seed_same_order_different_seed_different():
    x, y = _data(50)
    ds = TensorDataset(x, y)
    a = _epoch_ids(DataLoader(ds, batch_size=8, shuffle=True, seed=7))
    b = _epoch_ids(DataLoader(ds, batch_size=8, shuffle=True, seed=7))
    c = _epoch_ids(DataLoader(ds, batch_size=8, shuffle=True, seed=8))
    assert a == b
    assert a != c
    flat = [i for batch in a for i in batch]
    assert flat != list(range(50))  # actually shuffled (50! orders; identity is impossible)


def test_successive_epochs_differ_but_replay_with_seed():
    x, y = _data(40)
    loader = DataLoader(TensorDataset(x, y), batch_size=40, shuffle=True, seed=3)
    e1, e2 = _epoch_ids(loader), _epoch_ids(loader)
    assert e1 != e2
    again = DataLoader(TensorDataset(x, y), batch_size=40, shuffle=True, seed=3)
    assert [_epoch_ids(again), _epoch_ids(again)] == [e1, e2]


def test_shuffle_follows_global_generator(monkeypatch):
    x, y = _data(40)
    state = {"v": b"draw-A"}
    monkeypatch.setattr(_rng, "global_seed_bytes", lambda: state["v"])
    a1 = _epoch_ids(DataLoader(TensorDataset(x, y), batch_size=10, shuffle=True))
    a2 = _epoch_ids(DataLoader(TensorDataset(x, y), batch_size=10, shuffle=True))
    state["v"] = b"draw-B"
    b = _epoch_ids(DataLoader(TensorDataset(x, y), batch_size=10, shuffle=True))
    assert a1 == a2
    assert a1 != b


def test_manual_seed_makes_shuffle_reproducible():
    x, y = _data(40)

    def two_loaders():
        first = _epoch_ids(DataLoader(TensorDataset(x, y), batch_size=10, shuffle=True))
        second = _epoch_ids(DataLoader(TensorDataset(x, y), batch_size=10, shuffle=True))
        return first, second

    neurona.manual_seed(123)
    a, b = two_loaders()
    neurona.manual_seed(123)
    assert two_loaders() == (a, b)
    assert a != b  # each loader draws its own seed from the global generator
    neurona.manual_seed(124)
    assert two_loaders()[0] != a


def test_augmentation_and_split_follow_manual_seed():
    x = np.random.default_rng(0).random((64, 1, 6, 6)).astype(np.float32)

    def run():
        crop = np.asarray(RandomCrop(4, padding=1)(x))
        split = random_split(TensorDataset(x), [0.5, 0.5])[0].indices.tolist()
        return crop, split

    neurona.manual_seed(7)
    c1, s1 = run()
    neurona.manual_seed(7)
    c2, s2 = run()
    np.testing.assert_array_equal(c1, c2)
    assert s1 == s2


def test_explicit_generator():
    x, y = _data(30)
    a = _epoch_ids(DataLoader(TensorDataset(x, y), batch_size=30, shuffle=True,
                              generator=np.random.default_rng(5)))
    assert a == [np.random.default_rng(5).permutation(30).tolist()]
    with pytest.raises(ValueError):
        DataLoader(TensorDataset(x, y), shuffle=True, seed=1, generator=np.random.default_rng(1))


def test_array_backed_batches_use_one_indexing_step_per_tensor():
    class CountingArray(np.ndarray):
        gets = 0

        def __getitem__(self, idx):
            type(self).gets += 1
            return np.asarray(super().__getitem__(idx))

    x, y = _data(20)
    ds = TensorDataset(x, y)
    ds.arrays = tuple(a.view(CountingArray) for a in ds.arrays)
    loader = DataLoader(ds, batch_size=6, shuffle=True, seed=0)
    CountingArray.gets = 0
    n_batches = sum(1 for _ in loader)
    assert n_batches == 4
    assert CountingArray.gets == 2 * n_batches


def test_bare_array_loader_yields_single_tensors():
    x, _ = _data(10)
    batches = list(DataLoader(x, batch_size=4))
    assert [np.asarray(b).shape for b in batches] == [(4, 3), (4, 3), (2, 3)]
    np.testing.assert_array_equal(np.concatenate([np.asarray(b) for b in batches]), x)


class SquaresDataset(Dataset):
    """A generic (non-array) dataset: sample i is (a 2-vector, a label)."""

    def __init__(self, n):
        self.n = n
        self.reads = 0

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        self.reads += 1
        return np.array([i, i * i], dtype=np.float32), i % 3


def test_generic_dataset_is_collated():
    ds = SquaresDataset(7)
    loader = DataLoader(ds, batch_size=3, shuffle=True, seed=2)
    seen = []
    for xb, yb in loader:
        xb, yb = np.asarray(xb), np.asarray(yb)
        assert xb.dtype == np.float32 and yb.dtype == np.int64
        np.testing.assert_array_equal(xb[:, 1], xb[:, 0] ** 2)
        np.testing.assert_array_equal(yb, xb[:, 0].astype(np.int64) % 3)
        seen += xb[:, 0].astype(int).tolist()
    assert sorted(seen) == list(range(7))
    assert ds.reads == 7


def test_loader_argument_errors():
    x, y = _data(5)
    with pytest.raises(ValueError):
        DataLoader(TensorDataset(x, y), batch_size=0)
    with pytest.raises(TypeError):
        DataLoader(TensorDataset(x, y), batch_size=2.5)
    with pytest.raises(TypeError):
        DataLoader(42)


def test_batches_never_alias_the_dataset():
    x, y = _data(10)
    ds = TensorDataset(x, y)
    for shuffle in (False, True):
        for xb, yb in DataLoader(ds, batch_size=4, shuffle=shuffle, seed=0):
            assert not np.shares_memory(np.asarray(xb), x)
            assert not np.shares_memory(np.asarray(yb), y)
    xs, _ = ds[2:5]
    assert not np.shares_memory(np.asarray(xs), x)
    assert not any(np.shares_memory(np.asarray(b), x) for b in DataLoader(x, batch_size=3))


def test_boundary_copies_unaligned_or_read_only_memory():
    raw = np.arange(9, dtype=np.float32).tobytes()
    read_only = np.frombuffer(raw, dtype=np.float32)
    t = _convert.to_tensor(read_only)
    assert np.asarray(t).tolist() == list(range(9))
    assert not np.shares_memory(np.asarray(t), read_only)
    buf = bytearray(4 * 9 + 1)
    unaligned = np.frombuffer(buf, dtype=np.uint8)[1:].view(np.float32)
    unaligned[:] = np.arange(9)
    assert not unaligned.flags.aligned
    t = _convert.to_tensor(unaligned)
    assert np.asarray(t).tolist() == list(range(9)) and np.asarray(t).flags.aligned
    # dtype rule: float -> float32, int -> int64, bool -> bool; 0-d stays 0-d
    assert np.asarray(_convert.to_tensor(np.array([1.5]))).dtype == np.float32
    assert np.asarray(_convert.to_tensor(np.array([1], np.uint8))).dtype == np.int64
    assert np.asarray(_convert.to_tensor(np.array([True]))).dtype == np.bool_
    assert np.asarray(_convert.to_tensor(np.float64(2.0))).shape == ()
    with pytest.raises(TypeError):
        _convert.to_tensor(np.array(["a"]))


def test_empty_dataset_gives_no_batches():
    loader = DataLoader(TensorDataset(np.zeros((0, 2))), batch_size=4, shuffle=True, seed=0)
    assert len(loader) == 0
    assert list(loader) == []


# ---------------------------------------------------------------- splits


def test_random_split_counts_no_overlap_cover():
    x, y = _data(50)
    ds = TensorDataset(x, y)
    parts = random_split(ds, [30, 15, 5], seed=0)
    assert [len(p) for p in parts] == [30, 15, 5]
    ids = [set(p.indices.tolist()) for p in parts]
    assert not ids[0] & ids[1] and not ids[0] & ids[2] and not ids[1] & ids[2]
    assert set().union(*ids) == set(range(50))
    # Subsets read through to the parent, in one step per tensor when batched.
    xb, yb = next(iter(DataLoader(parts[1], batch_size=15)))
    np.testing.assert_array_equal(np.asarray(yb), parts[1].indices)
    np.testing.assert_array_equal(np.asarray(xb), x[parts[1].indices])


def test_random_split_fractions_and_seed():
    ds = TensorDataset(*_data(23))
    parts = random_split(ds, [0.5, 0.3, 0.2], seed=4)
    # floor(11.5)=11, floor(6.9)=6, floor(4.6)=4 -> 21; the 2 left go to parts 0 and 1.
    assert [len(p) for p in parts] == [12, 7, 4]
    again = random_split(ds, [0.5, 0.3, 0.2], seed=4)
    other = random_split(ds, [0.5, 0.3, 0.2], seed=5)
    assert all((a.indices == b.indices).all() for a, b in zip(parts, again))
    assert any((a.indices != b.indices).any() for a, b in zip(parts, other))
    with pytest.raises(ValueError):
        random_split(ds, [10, 10])
    with pytest.raises(ValueError):
        random_split(ds, [0.5, 0.6])


def test_subset_of_generic_dataset_falls_back_to_collate():
    ds = SquaresDataset(10)
    part = Subset(ds, [9, 2, 5])
    xb, _ = next(iter(DataLoader(part, batch_size=3)))
    np.testing.assert_array_equal(np.asarray(xb)[:, 0], [9, 2, 5])


def test_train_val_test_split_shuffles_no_overlap_cover():
    x, y = _data(100)
    (xtr, ytr), (_, yva), (xte, yte) = train_val_test_split(x, y, val=0.2, test=0.1, seed=0)
    ytr, yva, yte = np.asarray(ytr), np.asarray(yva), np.asarray(yte)
    assert (len(ytr), len(yva), len(yte)) == (70, 20, 10)
    assert sorted(np.concatenate([ytr, yva, yte]).tolist()) == list(range(100))
    np.testing.assert_array_equal(np.asarray(xtr), x[ytr])
    np.testing.assert_array_equal(np.asarray(xte), x[yte])
    assert ytr.tolist() != sorted(ytr.tolist())  # shuffled before splitting
    # Same seed, same split; different seed, different split.
    again = train_val_test_split(y, val=0.2, test=0.1, seed=0)
    np.testing.assert_array_equal(np.asarray(again[2]), yte)
    other = train_val_test_split(y, val=0.2, test=0.1, seed=1)
    assert np.asarray(other[2]).tolist() != yte.tolist()


def test_train_val_test_split_without_shuffle_and_counts():
    y = np.arange(10)
    tr, va, te = train_val_test_split(y, val=3, test=2, shuffle=False)
    assert np.asarray(tr).tolist() == [0, 1, 2, 3, 4]
    assert np.asarray(va).tolist() == [5, 6, 7]
    assert np.asarray(te).tolist() == [8, 9]
    with pytest.raises(ValueError):
        train_val_test_split(y, np.arange(9))
    with pytest.raises(ValueError):
        train_val_test_split(y, val=0.6, test=0.5)


# ---------------------------------------------------------------- scalers


def test_standardize_fits_on_train_only():
    rng = np.random.default_rng(0)
    train = rng.normal(5.0, 2.0, size=(200, 3))
    test = rng.normal(-1.0, 0.5, size=(50, 3))
    sc = Standardize().fit(train)
    z_train = np.asarray(sc.transform(train)).astype(np.float64)
    z_test = np.asarray(sc.transform(test)).astype(np.float64)
    np.testing.assert_allclose(z_train.mean(0), 0, atol=1e-6)
    np.testing.assert_allclose(z_train.std(0), 1, atol=1e-6)
    # test is transformed with the *training* statistics, not its own.
    expected = (test - train.mean(0)) / train.std(0)
    np.testing.assert_allclose(z_test, expected, rtol=1e-6, atol=1e-6)
    assert abs(z_test.mean()) > 1.0
    back = np.asarray(sc.inverse_transform(z_test))
    np.testing.assert_allclose(back, test, rtol=1e-5, atol=1e-5)


def test_standardize_zero_variance_and_per_channel():
    x = np.stack([np.full(10, 3.0), np.arange(10.0)], axis=1).astype(np.float32)
    z = np.asarray(Standardize().fit_transform(x))
    np.testing.assert_array_equal(z[:, 0], 0.0)
    assert np.isfinite(z).all()
    imgs = np.random.default_rng(1).random((8, 2, 4, 4)) * np.array([1.0, 10.0])[None, :, None, None]
    sc = Standardize(axis=(0, 2, 3)).fit(imgs)
    assert sc.mean_.shape == (1, 2, 1, 1)
    z = np.asarray(sc.transform(imgs)).astype(np.float64)
    np.testing.assert_allclose(z.mean(axis=(0, 2, 3)), 0, atol=1e-6)
    np.testing.assert_allclose(z.std(axis=(0, 2, 3)), 1, atol=1e-5)


def test_minmax_fits_on_train_only_and_inverts():
    train = np.array([[0.0, 10.0], [5.0, 10.0], [10.0, 10.0]])
    test = np.array([[20.0, 12.0]])
    sc = MinMaxScale(feature_range=(-1, 1)).fit(train)
    np.testing.assert_allclose(np.asarray(sc.transform(train))[:, 0], [-1, 0, 1])
    # Column 1 is constant (range 0 -> scale 1): it maps to low + (x - min).
    np.testing.assert_allclose(np.asarray(sc.transform(train))[:, 1], [-1, -1, -1])
    # 20 is twice the training range away: (20 - 0) / 10 * 2 - 1 = 3; (12-10)/1*2-1 = 3.
    np.testing.assert_allclose(np.asarray(sc.transform(test)), [[3.0, 3.0]])
    np.testing.assert_allclose(np.asarray(sc.inverse_transform(sc.transform(test))), test)


@pytest.mark.parametrize("cls", [Standardize, MinMaxScale])
def test_scaler_errors(cls):
    sc = cls()
    with pytest.raises(NotFittedError, match="fit"):
        sc.transform(np.zeros((3, 2)))
    with pytest.raises(NotFittedError):
        sc.inverse_transform(np.zeros((3, 2)))
    sc.fit(np.random.default_rng(0).random((5, 2)))
    with pytest.raises(ValueError, match="shape"):
        sc.transform(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="NaN"):
        cls().fit(np.array([[1.0], [np.nan]]))


def test_scaler_state_dict_round_trip():
    train = np.random.default_rng(2).random((20, 3))
    sc = Standardize().fit(train)
    sc2 = Standardize()
    sc2.load_state_dict(sc.state_dict())
    np.testing.assert_array_equal(np.asarray(sc2.transform(train)), np.asarray(sc.transform(train)))


# ---------------------------------------------------------------- augmentation


def _images(n=6, c=2, h=5, w=7):
    return np.arange(n * c * h * w, dtype=np.float32).reshape(n, c, h, w)


def test_flip_correctness_and_p():
    x = _images()
    np.testing.assert_array_equal(np.asarray(RandomHorizontalFlip(p=1.0, seed=0)(x)),
                                  x[..., ::-1])
    np.testing.assert_array_equal(np.asarray(RandomHorizontalFlip(p=0.0, seed=0)(x)), x)
    out = np.asarray(RandomHorizontalFlip(p=0.5, seed=3)(x))
    assert out.shape == x.shape
    for i in range(len(x)):
        # every image is either untouched or exactly mirrored
        assert np.array_equal(out[i], x[i]) or np.array_equal(out[i], x[i, :, :, ::-1])


def test_flip_fraction_and_determinism():
    x = np.random.default_rng(0).random((2000, 3, 3)).astype(np.float32)
    a = np.asarray(RandomHorizontalFlip(p=0.3, seed=11)(x))
    b = np.asarray(RandomHorizontalFlip(p=0.3, seed=11)(x))
    np.testing.assert_array_equal(a, b)
    flipped = np.array([not np.array_equal(a[i], x[i]) for i in range(len(x))])
    # Binomial(2000, 0.3): mean 600, sd ~20.5; 5 sd either side.
    assert 497 < flipped.sum() < 703
    c = np.asarray(RandomHorizontalFlip(p=0.3, seed=12)(x))
    assert not np.array_equal(a, c)


def test_random_crop_shapes_and_content():
    x = _images(n=5, c=3, h=6, w=6)
    out = np.asarray(RandomCrop(4, seed=0)(x))
    assert out.shape == (5, 3, 4, 4)
    for i in range(5):
        # each crop is a window of the original image, the same window for every channel
        found = [(r, c) for r in range(3) for c in range(3)
                 if np.array_equal(out[i], x[i, :, r:r + 4, c:c + 4])]
        assert len(found) == 1
    np.testing.assert_array_equal(np.asarray(RandomCrop(4, seed=0)(x)), out)


def test_random_crop_padding_nhw():
    x = np.ones((400, 4, 4), dtype=np.float32)
    out = np.asarray(RandomCrop(4, padding=2, seed=1)(x))
    assert out.shape == (400, 4, 4)
    # Padding is zeros; offsets range over 0..4 so some crops reach into it and some don't.
    zeros = (out == 0).reshape(400, -1).sum(1)
    assert zeros.min() == 0 and zeros.max() > 0
    # An offset of (0, 0) takes rows/cols -2..1: exactly 2 rows + 2 cols of zeros (12 pixels).
    assert zeros.max() == 12
    with pytest.raises(ValueError):
        RandomCrop(9, padding=2, seed=0)(x)
    with pytest.raises(ValueError, match="batch"):
        RandomCrop(2, seed=0)(np.ones((4, 4)))


def test_compose_and_dataset_transform():
    x = _images(n=8, c=1, h=4, w=4)
    aug = Compose([RandomCrop(4, padding=1, seed=0), RandomHorizontalFlip(p=1.0, seed=0)])
    out = np.asarray(aug(x))
    ref = np.asarray(RandomCrop(4, padding=1, seed=0)(x))[..., ::-1]
    np.testing.assert_array_equal(out, ref)
    # A TensorDataset applies its transform to the inputs of each batch only.
    y = np.arange(8)
    ds = TensorDataset(x, y, transform=RandomHorizontalFlip(p=1.0, seed=0))
    xb, yb = next(iter(DataLoader(ds, batch_size=8)))
    np.testing.assert_array_equal(np.asarray(xb), x[..., ::-1])
    np.testing.assert_array_equal(np.asarray(yb), y)
