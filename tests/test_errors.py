"""Bad input becomes a clear Python exception naming what was expected and what was given;
never a crash or a PanicException."""

import neurona
import numpy as np
import pytest


def test_matmul_shape_mismatch_message():
    with pytest.raises(ValueError, match=r"matmul: shapes \(3, 4\) and \(5, 6\) cannot be multiplied \(4 != 5\)"):
        neurona.zeros(3, 4) @ neurona.zeros(5, 6)


def test_broadcast_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(3,\) and \(4,\)"):
        neurona.zeros(3) + neurona.zeros(4)


def test_reshape_to_wrong_size():
    with pytest.raises(ValueError, match=r"shape \(4, 4\) is invalid for input of size 6"):
        neurona.zeros(2, 3).reshape(4, 4)


def test_axis_out_of_range():
    with pytest.raises(IndexError, match="out of range"):
        neurona.zeros(2, 3).sum(2)


def test_float_ops_on_int_tensors():
    with pytest.raises(TypeError, match="float32"):
        neurona.tensor([1, 2]).exp()


def test_int_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating point"):
        neurona.tensor([1, 2]).requires_grad_()


def test_cat_with_mismatched_shapes():
    with pytest.raises(ValueError, match=r"tensor 1 has shape \(2, 4\)"):
        neurona.cat([neurona.zeros(2, 3), neurona.zeros(2, 4)], 0)


def test_gather_index_out_of_range_and_wrong_dtype():
    x = neurona.zeros(2, 3)
    with pytest.raises(IndexError, match="index 5"):
        x.gather(1, neurona.tensor([[5], [0]]))
    with pytest.raises(TypeError, match="int64"):
        x.gather(1, neurona.tensor([[0.0], [1.0]]))


def test_operand_of_wrong_type():
    with pytest.raises(TypeError, match="Tensor or a number"):
        neurona.zeros(2) + "a"


def test_empty_reductions():
    with pytest.raises(ValueError, match="empty"):
        neurona.zeros(0).max()
    with pytest.raises(ValueError, match="zero elements"):
        neurona.zeros(0, 3).mean(0)


def test_set_num_threads_rejects_zero():
    with pytest.raises(ValueError, match="positive"):
        neurona.set_num_threads(0)


def test_bad_rng_state():
    with pytest.raises(ValueError, match="32 bytes"):
        neurona.set_rng_state(b"xx")


def test_ragged_data():
    with pytest.raises((ValueError, TypeError)):
        neurona.tensor([[1.0, 2.0], [3.0]])


def test_arange_bad_step():
    with pytest.raises(ValueError, match="step"):
        neurona.arange(0, 5, 0)


def test_nan_does_not_crash_anything():
    x = neurona.tensor([np.nan, 1.0, 2.0], requires_grad=True)
    y = (x.exp() * 2).sum() + x.max()
    assert np.isnan(y.item())
    y.backward()
