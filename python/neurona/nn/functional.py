"""``neurona.nn.functional`` (imported as ``F``): the stateless forms of the layers, as
``torch.nn.functional``: activations, ``linear``, ``dropout``, ``batch_norm``, convolution and
pooling, the losses (``neurona.nn._losses``) and the regularisation penalties."""

from __future__ import annotations

import math

from neurona import _core
from neurona import ops as _ops
from neurona._grad_mode import no_grad
from neurona.nn._losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    l1_loss,
    mse_loss,
    multi_margin_loss,
    nll_loss,
    smooth_l1_loss,
    soft_margin_loss,
)
from neurona.nn._penalties import elastic_net_penalty, l1_penalty, l2_penalty
from neurona.tensor import Tensor, _wrap

# ----- activations -----------------------------------------------------------------------


def relu(input, inplace: bool = False):
    return _ops.relu(input)


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):
    return _ops.leaky_relu(input, negative_slope)


def sigmoid(input):
    return _ops.sigmoid(input)


def tanh(input):
    return _ops.tanh(input)


def sign(input):
    """-1, 0 or 1 elementwise (its gradient is zero almost everywhere)."""
    return _ops.sign(input)


def gelu(input, approximate: str = "none"):
    """x * Phi(x) (exact, with erf), or its tanh approximation with ``approximate='tanh'``."""
    if approximate == "none":
        return _ops.gelu(input)
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * math.sqrt(2.0 / math.pi)
        return input * 0.5 * (_ops.tanh(inner) + 1.0)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def softplus(input, beta: float = 1.0, threshold: float = 20.0):
    """(1/beta) * log(1 + exp(beta * x)), reverting to x where beta * x > threshold."""
    if beta == 1.0 and threshold == 20.0:
        return _ops.softplus(input)
    z = input * beta
    # The core's softplus is already overflow-free (linear above 20).
    return _ops.where(z > threshold, input, _ops.softplus(z) / beta)


def softmax(input, dim=None):
    return _ops.softmax(input, -1 if dim is None else dim)


def log_softmax(input, dim=None):
    return _ops.log_softmax(input, -1 if dim is None else dim)


# ----- linear, dropout, noise --------------------------------------------------------------


def linear(input, weight, bias=None):
    """input @ weight.T + bias, one GEMM with the bias in its epilogue."""
    return _ops.linear(input, weight, bias)


def _check_p(p) -> float:
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    return p


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Inverted dropout: zeroes each element with probability p and scales the rest by
    1/(1-p) while training; the identity otherwise."""
    return _ops.dropout(input, _check_p(p), training)


def gaussian_noise(input, std: float, training: bool = True):
    """Adds N(0, std^2) noise while training; the identity otherwise."""
    if std < 0:
        raise ValueError(f"gaussian_noise: std must be >= 0, got {std}")
    if not training or std == 0:
        return input
    from neurona.creation import randn

    return input + randn(input.shape) * float(std)


# ----- normalisation ------------------------------------------------------------------------


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5):
    """Normalises each channel (dim 1) over the batch and spatial dimensions, then scales by
    ``weight`` and shifts by ``bias`` (one fused kernel, forward and backward).

    Training: batch statistics (biased variance for the normalisation); the running
    statistics, when given, move by ``momentum`` toward the batch mean and the *unbiased*
    batch variance, as PyTorch. Otherwise the running statistics normalise.
    """
    if not isinstance(input, Tensor) or input.dim() < 2:
        shape = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
        raise ValueError(f"batch_norm: expected an input of shape (N, C, ...), got {shape}")
    if not training and (running_mean is None or running_var is None):
        raise ValueError("batch_norm: running_mean and running_var are needed when not training")
    c = input.shape[1]

    def core(t):
        return None if t is None else t._c

    y, mean, var = _core.batch_norm(
        input._c, core(weight), core(bias), None if training else running_mean._c,
        None if training else running_var._c, bool(training), float(eps),
    )
    if training and running_mean is not None and running_var is not None:
        count = input.numel() // max(c, 1)
        m = float(momentum)
        with no_grad():
            running_mean.copy_(running_mean * (1.0 - m) + _wrap(mean) * m)
            running_var.copy_(running_var * (1.0 - m) + _wrap(var) * (m * count / (count - 1)))
    return _wrap(y)


# ----- convolution and pooling (kernels in neurona._core) -----------------------------------


def _pair(v, name: str) -> tuple:
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {v}")
        out = (int(v[0]), int(v[1]))
    else:
        out = (int(v), int(v))
    return out


def _kernel(name: str):
    fn = getattr(_core, name, None)
    if fn is None:
        raise RuntimeError(f"{name} kernels not built: this neurona._core has no '{name}' function")
    return fn


def _batched(input, what: str):
    """(4-D input, whether a batch dimension was added) for (N, C, H, W) or (C, H, W)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{what}: expected a Tensor, got {type(input).__name__}")
    if input.dim() == 3:
        return input.unsqueeze(0), True
    if input.dim() == 4:
        return input, False
    raise ValueError(f"{what}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {tuple(input.shape)}")


def _conv_padding(padding, weight, stride, dilation):
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError("padding='same' is not supported for strided convolutions")
            pads = []
            for k, d in zip(weight.shape[2:], dilation):
                total = d * (k - 1)
                if total % 2:
                    raise ValueError(
                        f"padding='same' with kernel {tuple(weight.shape[2:])} and dilation {dilation} needs "
                        "asymmetric padding, which is not supported; use an odd kernel or explicit padding"
                    )
                pads.append(total // 2)
            return tuple(pads)
        raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
    return _pair(padding, "padding")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1):
    """2-D cross-correlation of (N, C_in, H, W) with weight (C_out, C_in/groups, kH, kW).

    Calls ``neurona._core.conv2d(input, weight, bias_or_None, stride, padding, dilation,
    groups)`` with (h, w) pairs; differentiable in input, weight and bias."""
    fn = _kernel("conv2d")
    x, added = _batched(input, "conv2d")
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    pad = _conv_padding(padding, weight, stride, dilation)
    out = _wrap(fn(x._c, weight._c, None if bias is None else bias._c, stride, pad, dilation, int(groups)))
    return out.squeeze(0) if added else out


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """Max over (kH, kW) windows; ``stride`` defaults to the kernel size.

    Calls ``neurona._core.max_pool2d(input, kernel, stride, padding)`` with (h, w) pairs."""
    fn = _kernel("max_pool2d")
    if _pair(dilation, "dilation") != (1, 1) or ceil_mode or return_indices:
        raise ValueError("max_pool2d: dilation != 1, ceil_mode=True and return_indices=True are not supported")
    x, added = _batched(input, "max_pool2d")
    k = _pair(kernel_size, "kernel_size")
    s = k if stride is None or stride == [] else _pair(stride, "stride")
    out = _wrap(fn(x._c, k, s, _pair(padding, "padding")))
    return out.squeeze(0) if added else out


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None):
    """Mean over (kH, kW) windows; ``stride`` defaults to the kernel size.

    Calls ``neurona._core.avg_pool2d(input, kernel, stride, padding, count_include_pad)``."""
    fn = _kernel("avg_pool2d")
    if ceil_mode or divisor_override is not None:
        raise ValueError("avg_pool2d: ceil_mode=True and divisor_override are not supported")
    x, added = _batched(input, "avg_pool2d")
    k = _pair(kernel_size, "kernel_size")
    s = k if stride is None or stride == [] else _pair(stride, "stride")
    out = _wrap(fn(x._c, k, s, _pair(padding, "padding"), bool(count_include_pad)))
    return out.squeeze(0) if added else out


def adaptive_avg_pool2d(input, output_size):
    """Mean pooling to a fixed (oH, oW) whatever the input size (None keeps that dimension).

    Calls ``neurona._core.adaptive_avg_pool2d(input, (oH, oW))``."""
    fn = _kernel("adaptive_avg_pool2d")
    x, added = _batched(input, "adaptive_avg_pool2d")
    if isinstance(output_size, (tuple, list)):
        oh, ow = output_size
    else:
        oh = ow = output_size
    oh = x.shape[2] if oh is None else int(oh)
    ow = x.shape[3] if ow is None else int(ow)
    out = _wrap(fn(x._c, (oh, ow)))
    return out.squeeze(0) if added else out


def flatten(input, start_dim: int = 0, end_dim: int = -1):
    return input.flatten(start_dim, end_dim)


def one_hot(tensor, num_classes: int = -1):
    """int64 labels to a one-hot int64 tensor with a new last dimension."""
    import numpy as np

    from neurona.creation import from_numpy

    labels = np.asarray(tensor.detach().numpy() if isinstance(tensor, Tensor) else tensor)
    if labels.dtype.kind not in "iu":
        raise TypeError("one_hot is only applicable to index tensor (int64)")
    n = int(labels.max()) + 1 if num_classes == -1 else int(num_classes)
    if labels.size and (labels.min() < 0 or labels.max() >= n):
        raise IndexError(f"one_hot: class values must be in [0, {n}), got range [{labels.min()}, {labels.max()}]")
    out = (labels[..., None] == np.arange(n)).astype(np.int64)
    return from_numpy(np.ascontiguousarray(out))


__all__ = [
    "adaptive_avg_pool2d",
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "conv2d",
    "cross_entropy",
    "dropout",
    "elastic_net_penalty",
    "flatten",
    "gaussian_noise",
    "gelu",
    "huber_loss",
    "l1_loss",
    "l1_penalty",
    "l2_penalty",
    "leaky_relu",
    "linear",
    "log_softmax",
    "max_pool2d",
    "mse_loss",
    "multi_margin_loss",
    "nll_loss",
    "one_hot",
    "relu",
    "sigmoid",
    "sign",
    "smooth_l1_loss",
    "soft_margin_loss",
    "softmax",
    "softplus",
    "tanh",
]
