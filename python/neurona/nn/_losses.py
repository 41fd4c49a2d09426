"""The loss functions of ``neurona.nn.functional``, with PyTorch's names, arguments and
``reduction`` ('mean', 'sum', 'none').

Cross-entropy, NLL and the two binary cross-entropies run as one fused Rust kernel that
returns the loss and keeps its gradient (``neurona._core.cross_entropy`` & co.). Where that
kernel does not apply (class weights, ``pos_weight``, a target that requires grad) the same
formula is composed from differentiable ops. The rest are composed directly."""

from __future__ import annotations

import numpy as np

from neurona import _core
from neurona import ops as _ops
from neurona.tensor import Tensor, _wrap

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str) -> str:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction: expected 'mean', 'sum' or 'none'")
    return reduction


def _reduce(loss, reduction: str):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _as_tensor(x, like=None):
    if isinstance(x, Tensor):
        return x
    from neurona.creation import tensor

    return tensor(x)


def _float_target(input, target, name: str):
    """The target as a float tensor of the input's shape (a mismatch is an error)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: expected a Tensor input, got {type(input).__name__}")
    target = _as_tensor(target)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"{name}: target size {tuple(target.shape)} must be the same as input size {tuple(input.shape)}"
        )
    if not target.is_floating_point():
        target = target.float()
    return target


# ----- regression ------------------------------------------------------------------------------


def mse_loss(input, target, reduction: str = "mean"):
    """Mean squared error (x - y)^2."""
    _check_reduction(reduction)
    d = input - _float_target(input, target, "mse_loss")
    return _reduce(d * d, reduction)


def l1_loss(input, target, reduction: str = "mean"):
    """Mean absolute error |x - y|."""
    _check_reduction(reduction)
    return _reduce(_ops.abs(input - _float_target(input, target, "l1_loss")), reduction)


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0):
    """0.5 (x - y)^2 where |x - y| < delta, else delta (|x - y| - delta / 2)."""
    _check_reduction(reduction)
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    d = input - _float_target(input, target, "huber_loss")
    a = _ops.abs(d)
    return _reduce(_ops.where(a < delta, d * d * 0.5, (a - 0.5 * delta) * delta), reduction)


def smooth_l1_loss(input, target, reduction: str = "mean", beta: float = 1.0):
    """0.5 (x - y)^2 / beta where |x - y| < beta, else |x - y| - beta / 2."""
    _check_reduction(reduction)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    d = input - _float_target(input, target, "smooth_l1_loss")
    a = _ops.abs(d)
    if beta == 0:
        return _reduce(a, reduction)
    return _reduce(_ops.where(a < beta, d * d * (0.5 / beta), a - 0.5 * beta), reduction)


# ----- binary classification -----------------------------------------------------------------


def binary_cross_entropy(input, target, weight=None, reduction: str = "mean"):
    """-(y log x + (1 - y) log(1 - x)) for probabilities x in [0, 1], each log clamped to
    >= -100 as in PyTorch (so x = 0 or 1 gives a finite loss)."""
    _check_reduction(reduction)
    target = _float_target(input, target, "binary_cross_entropy")
    if target.requires_grad:
        # Composed (also differentiable in the target); the range check stays.
        x = input.detach().numpy()
        if x.size and not (np.all(x >= 0) and np.all(x <= 1)):
            raise ValueError("binary_cross_entropy: all elements of input should be between 0 and 1")
        lx = _ops.clamp(_ops.log(input), min=-100.0)
        l1x = _ops.clamp(_ops.log(1.0 - input), min=-100.0)
        loss = -(target * lx + (1.0 - target) * l1x)
        if weight is not None:
            loss = loss * weight
        return _reduce(loss, reduction)
    if weight is None:
        return _wrap(_core.binary_cross_entropy(input._c, target._c, reduction))
    loss = _wrap(_core.binary_cross_entropy(input._c, target._c, "none")) * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction: str = "mean", pos_weight=None):
    """Binary cross-entropy of sigmoid(x), computed from the logits x in a form that stays
    finite for any x: max(x, 0) - x y + log(1 + exp(-|x|)). ``pos_weight`` multiplies the
    positive term: pw y softplus(-x) + (1 - y) softplus(x)."""
    _check_reduction(reduction)
    target = _float_target(input, target, "binary_cross_entropy_with_logits")
    if pos_weight is not None or target.requires_grad:
        pw = 1.0 if pos_weight is None else _as_tensor(pos_weight)
        loss = pw * target * _ops.softplus(-input) + (1.0 - target) * _ops.softplus(input)
        if weight is not None:
            loss = loss * weight
        return _reduce(loss, reduction)
    if weight is None:
        return _wrap(_core.bce_with_logits(input._c, target._c, reduction))
    loss = _wrap(_core.bce_with_logits(input._c, target._c, "none")) * weight
    return _reduce(loss, reduction)


def soft_margin_loss(input, target, reduction: str = "mean"):
    """log(1 + exp(-y x)) for labels y in {-1, +1} (the logistic loss of a margin)."""
    _check_reduction(reduction)
    target = _float_target(input, target, "soft_margin_loss")
    return _reduce(_ops.softplus(-(target * input)), reduction)


# ----- multi-class -----------------------------------------------------------------------------


def _to_rows(input, target, name: str, probs_ok: bool):
    """PyTorch's layouts (C,), (N, C), (N, C, d1, ...) as a (rows, C) matrix plus the target
    as labels (rows,) or probabilities (rows, C), and the shape of the unreduced loss."""
    target = _as_tensor(target)
    if input.dim() == 0:
        raise ValueError(f"{name}: expected an input of shape (C,), (N, C) or (N, C, d1, ...), got a scalar")
    probs = probs_ok and target.is_floating_point() and tuple(target.shape) == tuple(input.shape)
    if not probs and target.dtype.name != "int64":
        raise TypeError(
            f"{name}: expected int64 class labels"
            + (" or float class probabilities of the input's shape" if probs_ok else "")
            + f", got a {target.dtype.name} target of shape {tuple(target.shape)}"
        )
    if input.dim() == 1:
        c = input.shape[0]
        want = (c,) if probs else ()
        if tuple(target.shape) != want:
            raise ValueError(f"{name}: for an unbatched input of shape ({c},) the target must have shape {want}, got {tuple(target.shape)}")
        x = input.unsqueeze(0)
        t = target.unsqueeze(0) if probs else target.reshape(1)
        return x, t, probs, ()
    n, c = input.shape[0], input.shape[1]
    rest = tuple(input.shape[2:])
    want = tuple(input.shape) if probs else (n, *rest)
    if tuple(target.shape) != want:
        raise ValueError(
            f"{name}: input of shape {tuple(input.shape)} needs a target of shape {(n, *rest)} (class labels)"
            + (f" or {tuple(input.shape)} (probabilities)" if probs_ok else "")
            + f", got {tuple(target.shape)}"
        )
    if not rest:
        return input, target, probs, (n,)
    perm = [0, *range(2, input.dim()), 1]
    x = input.permute(*perm).reshape(-1, c)
    t = target.permute(*perm).reshape(-1, c) if probs else target.reshape(-1)
    return x, t, probs, (n, *rest)


def _labels_np(t, c: int, ignore_index, name: str):
    """Labels as NumPy with a range check, a validity mask, and safe indices for gathering."""
    y = t.detach().numpy().astype(np.int64)
    valid = y != ignore_index if ignore_index is not None else np.ones_like(y, bool)
    bad = valid & ((y < 0) | (y >= c))
    if bad.any():
        i = int(np.argmax(bad))
        raise IndexError(f"{name}: target label {int(y[i])} at sample {i} is out of range for {c} classes (expected 0 <= label < {c})")
    return y, valid, np.where(valid, y, 0)


def _finish_rows(loss, reduction: str, out_shape):
    if reduction == "none":
        return loss.reshape(out_shape)
    return loss


def cross_entropy(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0):
    """Softmax cross-entropy from logits: ``-log softmax(x)[y]`` for class labels, or
    ``-sum_c q_c log softmax(x)_c`` for class probabilities q; ``label_smoothing`` eps mixes the
    target with the uniform distribution ((1 - eps) q + eps / C). Logits are (N, C), (C,) or
    (N, C, d1, ...) with the class dimension second."""
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    x, t, probs, out_shape = _to_rows(input, target, "cross_entropy", probs_ok=True)
    c = x.shape[1]
    if weight is None and not t.requires_grad:
        loss = _wrap(_core.cross_entropy(x._c, t._c, reduction, float(label_smoothing), None if probs else int(ignore_index)))
        return _finish_rows(loss, reduction, out_shape)
    w = None if weight is None else _as_tensor(weight)
    if w is not None and tuple(w.shape) != (c,):
        raise ValueError(f"cross_entropy: weight must have shape ({c},), got {tuple(w.shape)}")
    logp = _ops.log_softmax(x, 1)
    eps = float(label_smoothing)
    if probs:
        q = t * (1.0 - eps) + eps / c
        terms = q * logp if w is None else q * logp * w.reshape(1, c)
        loss = -terms.sum(1)
        return _finish_rows(_reduce(loss, reduction), reduction, out_shape)
    return _weighted_nll(logp, t, w, ignore_index, reduction, out_shape, "cross_entropy", eps)


def _weighted_nll(logp, t, w, ignore_index, reduction, out_shape, name, eps=0.0):
    """NLL with class weights and label smoothing, as PyTorch: the mean divides by the total
    weight of the non-ignored samples."""
    from neurona.creation import from_numpy

    n, c = logp.shape
    _, valid, safe = _labels_np(t, c, ignore_index, name)
    idx = from_numpy(safe.reshape(n, 1))
    mask = from_numpy(valid.astype(np.float32))
    wy = mask if w is None else _ops.index_select(w, 0, from_numpy(safe)) * mask
    nll = -_ops.gather(logp, 1, idx).reshape(n) * wy
    smooth = None
    if eps > 0:
        smooth = -(logp if w is None else logp * w.reshape(1, c)).sum(1) * mask
    if reduction == "none":
        loss = nll if smooth is None else nll * (1.0 - eps) + smooth * (eps / c)
        return loss.reshape(out_shape)
    denom = wy.sum() if reduction == "mean" else 1.0
    total = nll.sum() / denom
    if smooth is None:
        return total
    return total * (1.0 - eps) + (smooth.sum() / denom) * (eps / c)


def nll_loss(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean"):
    """Negative log-likelihood: ``-input[y]`` for log-probabilities (from log_softmax)."""
    _check_reduction(reduction)
    x, t, _, out_shape = _to_rows(input, target, "nll_loss", probs_ok=False)
    if weight is None:
        loss = _wrap(_core.nll_loss(x._c, t._c, reduction, int(ignore_index)))
        return _finish_rows(loss, reduction, out_shape)
    w = _as_tensor(weight)
    if tuple(w.shape) != (x.shape[1],):
        raise ValueError(f"nll_loss: weight must have shape ({x.shape[1]},), got {tuple(w.shape)}")
    return _weighted_nll(x, t, w, ignore_index, reduction, out_shape, "nll_loss")


def multi_margin_loss(input, target, p: int = 1, margin: float = 1.0, weight=None, reduction: str = "mean"):
    """The multi-class SVM hinge loss: sum over j != y of max(0, margin - x_y + x_j)^p / C."""
    from neurona.creation import from_numpy

    _check_reduction(reduction)
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: only p == 1 and p == 2 supported, got {p}")
    x, t, _, out_shape = _to_rows(input, target, "multi_margin_loss", probs_ok=False)
    if input.dim() > 2:
        raise ValueError(f"multi_margin_loss: expected an input of shape (N, C) or (C,), got {tuple(input.shape)}")
    n, c = x.shape
    y, _, _ = _labels_np(t, c, None, "multi_margin_loss")
    others = from_numpy((np.arange(c)[None, :] != y[:, None]).astype(np.float32))
    xy = _ops.gather(x, 1, from_numpy(y.reshape(n, 1)))
    h = _ops.relu(x - xy + float(margin))
    if p == 2:
        h = h * h
    if weight is not None:
        w = _as_tensor(weight)
        h = h * _ops.index_select(w, 0, from_numpy(y)).reshape(n, 1)
    loss = (h * others).sum(1) / c
    return _finish_rows(_reduce(loss, reduction), reduction, out_shape)
