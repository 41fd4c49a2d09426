"""``neurona.autograd``: the gradient checker, plus the grad-mode switches under their
PyTorch names. ``gradcheck`` compares backward() with central finite differences."""

from __future__ import annotations

import numpy as np

from neurona._grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled


class GradcheckError(AssertionError):
    """Raised when an analytical gradient disagrees with the numerical one."""


def _outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def gradcheck(fn, inputs, eps=1e-3, atol=1e-3, rtol=1e-2, seed=0, raise_exception=True) -> bool:
    """Checks d(fn)/d(inputs) against central differences.

    ``fn`` maps the input tensors to a tensor (or a tuple of tensors); inputs with
    ``requires_grad=True`` are checked. The outputs are reduced with a fixed random weighting
    so every output element takes part. Computations are float32, so the default tolerances
    are those a float32 central difference can meet, not double precision's.
    """
    from neurona.creation import from_numpy
    from neurona.tensor import Tensor

    inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    checked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True")
    rng = np.random.default_rng(seed)
    with no_grad():
        weights = [rng.standard_normal(o.shape).astype(np.float32) for o in _outputs(fn(*inputs))]

    def objective() -> float:
        with no_grad():
            outs = _outputs(fn(*inputs))
            return float(sum(np.sum(np.asarray(o, dtype=np.float64) * w) for o, w in zip(outs, weights)))

    for t in checked:
        t.grad = None
    with enable_grad():
        outs = _outputs(fn(*inputs))
        total = None
        for o, w in zip(outs, weights):
            if not o.requires_grad:
                continue
            term = (o * from_numpy(w)).sum()
            total = term if total is None else total + term
        if total is None:
            raise GradcheckError("gradcheck: no output requires grad")
        total.backward()

    for k, t in enumerate(checked):
        analytical = np.zeros(t.shape, np.float64) if t.grad is None else np.asarray(t.grad, np.float64)
        data = t.detach().numpy()
        numerical = np.zeros(t.shape, np.float64)
        flat = data.reshape(-1) if data.flags.c_contiguous else None
        if flat is None:
            raise ValueError("gradcheck: inputs must be contiguous tensors")
        num_flat = numerical.reshape(-1)
        for i in range(flat.size):
            orig = flat[i]
            flat[i] = orig + eps
            plus = objective()
            flat[i] = orig - eps
            minus = objective()
            flat[i] = orig
            num_flat[i] = (plus - minus) / (2 * eps)
        bad = ~np.isclose(analytical, numerical, rtol=rtol, atol=atol)
        if bad.any():
            if not raise_exception:
                return False
            i = np.argwhere(bad)[0]
            raise GradcheckError(
                f"gradcheck: input {k} (shape {tuple(t.shape)}) gradient mismatch at {tuple(i)}: "
                f"analytical {analytical[tuple(i)]:.6g} vs numerical {numerical[tuple(i)]:.6g} "
                f"({int(bad.sum())} of {bad.size} elements differ)"
            )
    return True


__all__ = ["GradcheckError", "enable_grad", "gradcheck", "is_grad_enabled", "no_grad", "set_grad_enabled"]
