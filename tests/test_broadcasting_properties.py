"""Property tests (hypothesis): any pair of broadcast-compatible shapes gives NumPy's result
shape and values, and its gradient sums back to each input's shape."""

import neurona
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_broadcast_binary_matches_numpy(data):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=4))
    sa, sb = shapes.input_shapes
    a = data.draw(hnp.arrays(np.float32, sa, elements=st.floats(-3, 3, width=32)))
    b = data.draw(hnp.arrays(np.float32, sb, elements=st.floats(-3, 3, width=32)))
    ta, tb = neurona.tensor(a, requires_grad=True), neurona.tensor(b, requires_grad=True)
    out = ta * tb + ta
    expected = a * b + a
    assert out.shape == expected.shape == shapes.result_shape
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-6, atol=1e-6)
    out.sum().backward()
    # d/da of sum(a*b + a) is b + 1 summed over the broadcast axes; d/db is a summed likewise.
    ga = np.broadcast_to(b + 1, expected.shape)
    gb = np.broadcast_to(a, expected.shape)

    def reduce_to(g, shape):
        lead = g.ndim - len(shape)
        g = g.sum(axis=tuple(range(lead)))
        axes = tuple(i for i, d in enumerate(shape) if d == 1 and g.shape[i] != 1)
        return g.sum(axis=axes, keepdims=True).reshape(shape)

    np.testing.assert_allclose(ta.grad.numpy(), reduce_to(ga, sa), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(tb.grad.numpy(), reduce_to(gb, sb), rtol=1e-5, atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(hnp.array_shapes(min_dims=1, max_dims=4, max_side=5), st.data())
def test_sum_over_random_axes_matches_numpy(shape, data):
    axes = data.draw(st.lists(st.integers(0, len(shape) - 1), unique=True, min_size=1))
    keep = data.draw(st.booleans())
    a = data.draw(hnp.arrays(np.float32, shape, elements=st.floats(-3, 3, width=32)))
    got = neurona.tensor(a).sum(tuple(axes), keepdim=keep).numpy()
    np.testing.assert_allclose(got, a.astype(np.float64).sum(axis=tuple(axes), keepdims=keep), rtol=1e-5, atol=1e-5)
