"""Tensor basics: creation, dtypes, NumPy in and out (shared memory), metadata, printing,
indexing and assignment, devices."""

import neurona
import numpy as np
import pytest


def test_tensor_from_lists_infers_dtypes():
    assert neurona.tensor([1.0, 2.0]).dtype == neurona.float32
    assert neurona.tensor([1, 2]).dtype == neurona.int64
    assert neurona.tensor([True, False]).dtype == neurona.bool
    assert neurona.tensor(np.arange(3, dtype=np.float64)).dtype == neurona.float32
    assert neurona.tensor([1, 2], dtype=neurona.float32).tolist() == [1.0, 2.0]


def test_unsupported_numpy_dtypes_raise_type_error():
    with pytest.raises(TypeError, match="int32"):
        neurona.from_numpy(np.arange(3, dtype=np.int32))
    with pytest.raises(TypeError, match="complex"):
        neurona.tensor(np.array([1 + 2j]))


def test_from_numpy_shares_memory_and_float64_converts():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = neurona.from_numpy(a)
    a[0, 0] = 42.0
    assert t[0, 0].item() == 42.0
    b = np.arange(3, dtype=np.float64)
    tb = neurona.from_numpy(b)
    b[0] = 7
    assert tb.dtype == neurona.float32 and tb[0].item() == 0.0
    # A non-contiguous array is copied, with the right values.
    nc = np.arange(12, dtype=np.float32).reshape(3, 4)[:, ::2]
    np.testing.assert_array_equal(neurona.from_numpy(nc).numpy(), nc)


def test_numpy_out_shares_memory_including_views():
    t = neurona.arange(12.0).reshape(3, 4)
    a = t.numpy()
    a[1, 1] = -1
    assert t[1, 1].item() == -1
    v = t.t()
    assert not v.is_contiguous()
    np.testing.assert_array_equal(v.numpy(), a.T)
    assert np.shares_memory(v.numpy(), a)


def test_numpy_refuses_tensors_that_require_grad():
    t = neurona.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        t.numpy()
    np.testing.assert_array_equal(np.asarray(t), [1.0, 1.0])


def test_dlpack_round_trip_shares_memory():
    t = neurona.arange(4.0)
    a = np.from_dlpack(t)
    a[0] = 9
    assert t[0].item() == 9
    back = neurona.from_dlpack(a)
    assert back.tolist() == [9.0, 1.0, 2.0, 3.0]


def test_metadata_item_tolist_len():
    t = neurona.zeros(2, 3)
    assert t.shape == (2, 3) and t.ndim == 2 and len(t) == 2 and t.numel() == 6
    assert t.size(1) == 3
    assert neurona.tensor(2.5).item() == 2.5
    assert neurona.tensor([[1, 2]]).tolist() == [[1, 2]]
    with pytest.raises(ValueError, match="6 elements"):
        t.item()
    with pytest.raises(TypeError):
        len(neurona.tensor(1.0))


def test_repr_looks_like_pytorch():
    assert repr(neurona.tensor([1.0, 2.5])) == "tensor([1.0000, 2.5000])"
    assert repr(neurona.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(neurona.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert "grad_fn=<mul>" in repr(neurona.tensor([1.0], requires_grad=True) * 2)
    assert repr(neurona.tensor([True])) == "tensor([ True], dtype=neurona.bool)"


def test_creation_functions():
    np.testing.assert_array_equal(neurona.arange(5).numpy(), np.arange(5))
    assert neurona.arange(5).dtype == neurona.int64
    np.testing.assert_allclose(neurona.arange(0, 1, 0.25).numpy(), [0, 0.25, 0.5, 0.75])
    np.testing.assert_allclose(neurona.linspace(0, 1, 5).numpy(), np.linspace(0, 1, 5), rtol=1e-7)
    np.testing.assert_array_equal(neurona.eye(3).numpy(), np.eye(3))
    np.testing.assert_array_equal(neurona.full((2, 2), 7.0).numpy(), np.full((2, 2), 7.0))
    assert neurona.ones(2, 3).shape == neurona.zeros((2, 3)).shape == (2, 3)


def test_random_functions_are_seeded_and_distributed():
    neurona.manual_seed(3)
    a = neurona.randn(10000)
    neurona.manual_seed(3)
    b = neurona.randn(10000)
    assert a.tolist() == b.tolist()
    assert abs(a.mean().item()) < 0.05 and abs(a.std().item() - 1) < 0.05
    u = neurona.rand(10000).numpy()
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.02
    r = neurona.randint(0, 5, (1000,)).numpy()
    assert set(np.unique(r)) == {0, 1, 2, 3, 4}
    assert sorted(neurona.randperm(10).tolist()) == list(range(10))
    state = neurona.get_rng_state()
    x = neurona.rand(3).tolist()
    neurona.set_rng_state(state)
    assert neurona.rand(3).tolist() == x


def test_views_share_storage_and_contiguous_copies():
    t = neurona.arange(24.0).reshape(2, 3, 4)
    for v in [t.reshape(6, 4), t.permute(2, 0, 1), t[:, 1], t.unsqueeze(0), t[:1].squeeze(0), t.expand(2, 2, 3, 4)[0]]:
        assert v.data_ptr() >= t.data_ptr() and t.data_ptr() <= v.data_ptr() < t.data_ptr() + 24 * 4
    p = t.permute(2, 0, 1)
    assert not p.is_contiguous()
    c = p.contiguous()
    assert c.is_contiguous() and c.data_ptr() != t.data_ptr()
    np.testing.assert_array_equal(c.numpy(), np.arange(24.0).reshape(2, 3, 4).transpose(2, 0, 1))
    # A reshape the strides cannot express copies, with the right values.
    np.testing.assert_array_equal(p.reshape(-1).numpy(), np.arange(24.0).reshape(2, 3, 4).transpose(2, 0, 1).reshape(-1))


def test_indexing_matches_numpy(rng):
    a = rng.standard_normal((4, 5, 6)).astype(np.float32)
    t = neurona.tensor(a)
    for idx in [1, -1, (1, 2), (slice(1, 3), 0), (Ellipsis, 2), (None, 1), (slice(None, None, 2), slice(1, None, 3)),
                ([0, 3, 3],), (slice(None), [4, 0]), (a[:, 0, 0] > 0,), (1, slice(2, 100))]:
        np.testing.assert_array_equal(t[idx].numpy(), a[idx], err_msg=str(idx))


def test_setitem_writes_in_place(rng):
    t = neurona.zeros(3, 4)
    t[1] = 5.0
    t[:, 0] = neurona.tensor([1.0, 2.0, 3.0])
    t[t > 4] = -1.0
    expected = np.zeros((3, 4), np.float32)
    expected[1] = 5
    expected[:, 0] = [1, 2, 3]
    expected[expected > 4] = -1
    np.testing.assert_array_equal(t.numpy(), expected)


def test_index_errors():
    t = neurona.zeros(3, 4)
    with pytest.raises(IndexError, match="out of bounds for dimension 0 with size 3"):
        t[3]
    with pytest.raises(IndexError, match="too many indices"):
        t[0, 0, 0]
    with pytest.raises(IndexError, match="out of bounds"):
        t[[0, 7]]
    with pytest.raises(IndexError, match="mask"):
        t[neurona.tensor([True, False])]


def test_dtype_conversions():
    t = neurona.tensor([1.7, -2.2])
    assert t.long().tolist() == [1, -2]
    assert t.to(neurona.int64).dtype == neurona.int64
    assert (t > 0).float().tolist() == [1.0, 0.0]
    assert (neurona.tensor([1, 2]) * 2.5).dtype == neurona.float32
    assert (neurona.tensor([1, 2]) + 1).dtype == neurona.int64
    assert (neurona.tensor([1, 2]) / 2).tolist() == [0.5, 1.0]


def test_devices_and_asking_for_cuda_where_it_cannot_run():
    t = neurona.ones(2)
    assert t.device == "cpu" and str(t.device) == "cpu"
    assert t.to("cpu").data_ptr() == t.data_ptr()
    with pytest.raises(ValueError, match="unknown device"):
        t.to("tpu")
    if neurona.backends.cuda.is_built() and neurona.cuda.is_available():
        assert t.to("cuda").device == "cuda:0"
        return
    assert neurona.cuda.is_available() is False
    assert neurona.cuda.device_count() == 0
    # Without the feature the error says how to rebuild; with it but no GPU, that none is there.
    message = "no CUDA|not available|driver" if neurona.backends.cuda.is_built() else "not compiled with CUDA"
    with pytest.raises(RuntimeError, match=message):
        t.to("cuda")


def test_read_only_and_misaligned_arrays_are_copied_not_shared():
    ro = np.frombuffer(np.arange(4, dtype=np.float32).tobytes(), dtype=np.float32)
    assert not ro.flags.writeable
    t = neurona.from_numpy(ro)
    t += 1  # must not write into the immutable buffer
    assert ro.tolist() == [0.0, 1.0, 2.0, 3.0] and t.tolist() == [1.0, 2.0, 3.0, 4.0]
    raw = np.zeros(4 * 4 + 1, dtype=np.uint8)
    mis = raw[1:].view(np.float32)
    assert mis.ctypes.data % 4 != 0
    mis[:] = [1, 2, 3, 4]
    assert neurona.from_numpy(mis).tolist() == [1.0, 2.0, 3.0, 4.0]


def test_deepcopy_and_pickle_round_trip():
    import copy
    import pickle

    t = neurona.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    c = copy.deepcopy(t)
    assert c.requires_grad and c.is_leaf and c.tolist() == t.tolist()
    with neurona.no_grad():
        c[0, 0] = 9.0
    assert t[0, 0].item() == 1.0
    p = pickle.loads(pickle.dumps(t))
    assert p.requires_grad and p.tolist() == t.tolist() and p.data_ptr() != t.data_ptr()
    i = pickle.loads(pickle.dumps(neurona.tensor([1, 2])))
    assert i.dtype == neurona.int64 and i.tolist() == [1, 2]
