"""Pooling layers: ``MaxPool1d``, ``MaxPool2d``, ``AvgPool1d``, ``AvgPool2d``, ``AdaptiveAvgPool2d``.

They have no parameters; their attributes, defaults and repr are PyTorch's, and each forwards to
the function of ``nn.functional`` of the same name (errors name the layer).
"""

from ..ops.pool import adaptive_avg_pool2d, avg_pool1d, avg_pool2d, max_pool1d, max_pool2d
from .module import Module

__all__ = ["AdaptiveAvgPool2d", "AvgPool1d", "AvgPool2d", "MaxPool1d", "MaxPool2d"]


def _single(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


class _MaxPoolNd(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if (stride is not None) else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self):
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool1d(_MaxPoolNd):
    """Max over windows along the last dim (see ``F.max_pool1d``): (N, C, L) or (C, L) -> (N, C, L')
    or (C, L'); with ``return_indices`` also the index of each max.

    Example::

        >>> nn.MaxPool1d(3, stride=2)(cr.randn(4, 16, 50)).shape        # (4, 16, 50) -> (4, 16, 24)
        (4, 16, 24)
    """

    def forward(self, input):  # noqa: A002 - PyTorch's argument name
        return max_pool1d(
            input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode, self.return_indices,
            _name="MaxPool1d",
        )  # fmt: skip


class MaxPool2d(_MaxPoolNd):
    """Max over kH×kW windows (see ``F.max_pool2d``): (N, C, H, W) or (C, H, W) -> (N, C, H', W') or
    (C, H', W'); with ``return_indices`` also the index (h·W + w) of each max.

    Example::

        >>> pool = nn.MaxPool2d(2)                                       # kernel 2, stride 2
        >>> pool(cr.randn(8, 6, 28, 28)).shape                           # (8, 6, 28, 28) -> (8, 6, 14, 14)
        (8, 6, 14, 14)
    """

    def forward(self, input):  # noqa: A002 - PyTorch's argument name
        return max_pool2d(
            input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode, self.return_indices,
            _name="MaxPool2d",
        )  # fmt: skip


class AvgPool1d(Module):
    """Mean over windows along the last dim (see ``F.avg_pool1d``): (N, C, L) or (C, L) -> (N, C, L') or (C, L').

    Example::

        >>> nn.AvgPool1d(3, stride=2)(cr.randn(4, 16, 50)).shape        # (4, 16, 50) -> (4, 16, 24)
        (4, 16, 24)
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__()
        self.kernel_size = _single(kernel_size)
        self.stride = _single(stride if stride is not None else kernel_size)
        self.padding = _single(padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input):  # noqa: A002 - PyTorch's argument name
        return avg_pool1d(
            input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
            _name="AvgPool1d",
        )  # fmt: skip

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """Mean over kH×kW windows (see ``F.avg_pool2d``): (N, C, H, W) or (C, H, W) -> (N, C, H', W') or (C, H', W').

    Example::

        >>> nn.AvgPool2d(2)(cr.randn(8, 6, 28, 28)).shape                # (8, 6, 28, 28) -> (8, 6, 14, 14)
        (8, 6, 14, 14)
    """

    def __init__(
        self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None
    ):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if (stride is not None) else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):  # noqa: A002 - PyTorch's argument name
        return avg_pool2d(
            input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
            self.divisor_override, _name="AvgPool2d",
        )  # fmt: skip

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size (see ``F.adaptive_avg_pool2d``): (N, C, H, W) or
    (C, H, W) -> (N, C, H', W') or (C, H', W'); an entry None of ``output_size`` keeps that size.

    Example::

        >>> nn.AdaptiveAvgPool2d((5, 7))(cr.randn(1, 64, 8, 9)).shape    # (1, 64, 8, 9) -> (1, 64, 5, 7)
        (1, 64, 5, 7)
        >>> nn.AdaptiveAvgPool2d(1)(cr.randn(1, 64, 8, 9)).shape         # global average pooling
        (1, 64, 1, 1)
    """

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):  # noqa: A002 - PyTorch's argument name
        return adaptive_avg_pool2d(input, self.output_size, _name="AdaptiveAvgPool2d")

    def extra_repr(self):
        return f"output_size={self.output_size}"
