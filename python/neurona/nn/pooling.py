"""Pooling layers over (N, C, H, W): ``MaxPool2d``, ``AvgPool2d`` and ``AdaptiveAvgPool2d``
(PyTorch's arguments; the stride defaults to the kernel size)."""

from __future__ import annotations

from neurona.nn import functional as F
from neurona.nn.module import Module


class MaxPool2d(Module):
    """Max over kernel_size windows. dilation, ceil_mode and return_indices other than their
    defaults are not supported (a clear error at construction)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False,
                 ceil_mode: bool = False):
        super().__init__()
        if F._pair(dilation, "dilation") != (1, 1) or return_indices or ceil_mode:
            raise ValueError("MaxPool2d: dilation != 1, return_indices=True and ceil_mode=True are not supported")
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class AvgPool2d(Module):
    """Mean over kernel_size windows (``count_include_pad`` counts the zero padding)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override=None):
        super().__init__()
        if ceil_mode or divisor_override is not None:
            raise ValueError("AvgPool2d: ceil_mode=True and divisor_override are not supported")
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding,
                            count_include_pad=self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Mean pooling to a fixed output size (an int, or a pair whose None entries keep the
    input's size), e.g. ``AdaptiveAvgPool2d(1)`` for global average pooling."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
