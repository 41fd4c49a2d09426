"""The op-test helper (micrograd/tinygrad style): run one expression in neurona and in NumPy
on the same data, compare the values, then gradcheck neurona's backward. Adding an op to the
suite is one line with this."""

from __future__ import annotations

import neurona
import numpy as np
from neurona.autograd import gradcheck


def as_inputs(arrays, requires_grad=True, transpose_last=False):
    """neurona tensors for the arrays; with transpose_last, non-contiguous views of the same
    values (built from a transposed copy), to exercise strided kernels."""
    out = []
    for a in arrays:
        if transpose_last and a.ndim >= 2:
            base = neurona.tensor(np.ascontiguousarray(np.swapaxes(a, -1, -2)))
            t = base.transpose(-1, -2)
            assert t.is_contiguous() == (min(a.shape[-2:]) <= 1)
            t = t.detach().requires_grad_(requires_grad) if requires_grad else t
        else:
            t = neurona.tensor(a, requires_grad=requires_grad)
        out.append(t)
    return out


def check_op(fn_neurona, fn_numpy, *arrays, rtol=1e-5, atol=1e-6, grad=True, grad_atol=2e-2, grad_rtol=2e-2, strided=True):
    """Values of fn_neurona(*tensors) against fn_numpy(*arrays) (in float64), then gradcheck,
    on contiguous inputs and (when strided) on non-contiguous views of the same values."""
    expected = fn_numpy(*[a.astype(np.float64) for a in arrays])
    variants = [False, True] if strided and any(a.ndim >= 2 for a in arrays) else [False]
    for transposed in variants:
        ts = as_inputs(arrays, requires_grad=grad, transpose_last=transposed)
        got = fn_neurona(*ts)
        np.testing.assert_allclose(np.asarray(got, dtype=np.float64), expected, rtol=rtol, atol=atol)
        if grad:
            ts = [t.detach().contiguous().requires_grad_(True) for t in ts]
            assert gradcheck(fn_neurona, ts, eps=1e-2, atol=grad_atol, rtol=grad_rtol)
