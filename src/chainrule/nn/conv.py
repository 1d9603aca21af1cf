"""Convolution layers: ``Conv1d``, ``Conv2d``, ``ConvTranspose1d``, ``ConvTranspose2d``.

Parameter names, shapes, attributes, repr and default initialisation are PyTorch's:
``weight`` is (out_channels, in_channels/groups, *kernel_size) for a convolution and
(in_channels, out_channels/groups, *kernel_size) for a transposed one; both it and ``bias``
start as U(-1/√fan_in, 1/√fan_in) (kaiming_uniform_ with a=√5), fan_in = weight.shape[1]·∏kernel.
"""

import math

from .. import creation, dtypes
from ..errors import ShapeError
from ..ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from ..ops.conv_args import as_tuple
from ..ops.join import pad
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What the convolution layers share: arguments, parameters, init, input checks and repr."""

    spatial = 2
    transposed = False

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride,
        padding,
        dilation,
        groups,
        bias,
        padding_mode,
        output_padding=0,
        device=None,
        dtype=None,
    ):
        super().__init__()
        name, n = type(self).__name__, self.spatial
        if not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups!r}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
        if self.transposed and padding_mode != "zeros":
            raise ValueError(f"{name}: only 'zeros' padding mode is supported, got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = as_tuple(kernel_size, n, "kernel_size", name, 1)
        self.stride = as_tuple(stride, n, "stride", name, 1)
        self.dilation = as_tuple(dilation, n, "dilation", name, 1)
        self.output_padding = as_tuple(output_padding, n, "output_padding", name, 0)
        self.padding_mode = padding_mode
        if isinstance(padding, str):
            if self.transposed or padding not in ("same", "valid"):
                raise ValueError(f"{name}: invalid padding string {padding!r}, should be one of 'valid', 'same'")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
            self.padding = padding
            totals = [d * (k - 1) if padding == "same" else 0 for k, d in zip(self.kernel_size, self.dilation)]
            pairs = [(t // 2, t - t // 2) for t in totals]
        else:
            self.padding = as_tuple(padding, n, "padding", name, 0)
            pairs = [(p, p) for p in self.padding]
        # F.pad's order (last dim first), for the padding modes other than zeros
        self._reversed_padding_repeated_twice = [w for pair in reversed(pairs) for w in pair]
        dtype = dtype if dtype is not None else dtypes.get_default_dtype()
        shape = (in_channels, out_channels // groups) if self.transposed else (out_channels, in_channels // groups)
        self.weight = Parameter(creation.empty(*shape, *self.kernel_size, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """Draw the weight and bias again from PyTorch's default distribution."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def _check_input(self, input):  # noqa: A002 - PyTorch's argument name
        """Name the layer, the expected channels and the input's shape when they do not fit."""
        n, name = self.spatial, type(self).__name__
        shape = tuple(getattr(input, "shape", ()))
        if len(shape) not in (n + 1, n + 2):
            raise ShapeError(
                f"{name} expected {n + 1}-D (unbatched) or {n + 2}-D (batched) input, got shape {shape} ({self!r})"
            )
        if shape[-n - 1] != self.in_channels:
            lead = f"N={shape[0]}, C={shape[1]}" if len(shape) == n + 2 else f"C={shape[0]}"
            rest = "".join(f", {s}" for s in shape[-n:])
            raise ShapeError(f"{name} expected input with {self.in_channels} channels, got ({lead}{rest}) ({self!r})")

    def extra_repr(self):
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self.spatial:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self.spatial:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self.spatial:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class _Conv(_ConvNd):
    """A convolution layer: PyTorch's Conv1d/Conv2d arguments and forward."""

    function = staticmethod(conv2d)

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias=True,
        padding_mode="zeros",
        device=None,
        dtype=None,
    ):
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
            device=device, dtype=dtype,
        )  # fmt: skip

    def forward(self, input):  # noqa: A002 - PyTorch's argument name
        self._check_input(input)
        parameters = self._parameters
        weight, bias = parameters["weight"], parameters["bias"]
        if self.padding_mode != "zeros":
            padded = pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return self.function(padded, weight, bias, self.stride, 0, self.dilation, self.groups)
        return self.function(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)


class Conv1d(_Conv):
    """1-D convolution: (N, C_in, L) -> (N, C_out, L_out), or unbatched (C_in, L) -> (C_out, L_out).

    L_out = (L + 2·padding - dilation·(kernel_size - 1) - 1) // stride + 1. ``padding``: an int, a
    1-tuple, 'valid' or 'same'; ``padding_mode``: 'zeros', 'reflect', 'replicate' or 'circular'.

    Example::

        >>> layer = nn.Conv1d(3, 8, kernel_size=5, padding="same")
        >>> layer(cr.randn(4, 3, 50)).shape                  # (4, 3, 50) -> (4, 8, 50)
        (4, 8, 50)
    """

    spatial = 1
    function = staticmethod(conv1d)


class Conv2d(_Conv):
    """2-D convolution: (N, C_in, H, W) -> (N, C_out, H_out, W_out), or unbatched (C_in, H, W).

    H_out = (H + 2·padding - dilation·(kernel_size - 1) - 1) // stride + 1 (and W_out alike);
    ``kernel_size``, ``stride``, ``padding``, ``dilation``: an int or a pair; ``padding`` also
    'valid' or 'same' (stride 1). ``groups`` splits the channels into independent groups
    (groups = in_channels: depthwise). ``weight``: (C_out, C_in/groups, kH, kW), ``bias``: (C_out,).

    Example::

        >>> conv = nn.Conv2d(1, 8, kernel_size=3, padding=1)
        >>> conv(cr.randn(128, 1, 28, 28)).shape             # (128, 1, 28, 28) -> (128, 8, 28, 28)
        (128, 8, 28, 28)
    """


class _ConvTranspose(_ConvNd):
    """A transposed convolution layer: PyTorch's ConvTranspose1d/2d arguments (their order) and forward."""

    transposed = True
    function = staticmethod(conv_transpose2d)

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups=1,
        bias=True,
        dilation=1,
        padding_mode="zeros",
        device=None,
        dtype=None,
    ):
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
            output_padding, device, dtype,
        )  # fmt: skip

    def forward(self, input, output_size=None):  # noqa: A002 - PyTorch's argument name
        """``output_size``: the wanted output shape (its last dims are used), when the stride leaves
        several possible; it chooses the output_padding."""
        self._check_input(input)
        extra = self.output_padding if output_size is None else self._output_padding(input, output_size)
        parameters = self._parameters
        weight, bias = parameters["weight"], parameters["bias"]
        return self.function(input, weight, bias, self.stride, self.padding, extra, self.groups, self.dilation)

    def _output_padding(self, input, output_size):  # noqa: A002
        n, name = self.spatial, type(self).__name__
        wanted = tuple(output_size)[-n:]
        if len(tuple(output_size)) not in (n, n + 1, n + 2):
            raise ValueError(f"{name}: output_size must have {n}, {n + 1} or {n + 2} elements, got {output_size!r}")
        extra = []
        for size, want, k, s, p, d in zip(
            input.shape[-n:], wanted, self.kernel_size, self.stride, self.padding, self.dilation
        ):
            smallest = (size - 1) * s - 2 * p + d * (k - 1) + 1
            if not smallest <= want < smallest + s:
                raise ValueError(
                    f"{name}: requested an output size of {wanted}, but valid sizes range from "
                    f"{smallest} to {smallest + s - 1} (for an input of {tuple(input.shape[-n:])})"
                )
            extra.append(want - smallest)
        return tuple(extra)


class ConvTranspose1d(_ConvTranspose):
    """1-D transposed convolution (the gradient of Conv1d with respect to its input):
    (N, C_in, L) -> (N, C_out, L_out), L_out = (L - 1)·stride - 2·padding + dilation·(k - 1) + output_padding + 1.

    ``weight``: (C_in, C_out/groups, k), ``bias``: (C_out,).

    Example::

        >>> up = nn.ConvTranspose1d(8, 4, kernel_size=4, stride=2, padding=1)
        >>> up(cr.randn(2, 8, 25)).shape                       # (2, 8, 25) -> (2, 4, 50)
        (2, 4, 50)
    """

    spatial = 1
    function = staticmethod(conv_transpose1d)


class ConvTranspose2d(_ConvTranspose):
    """2-D transposed convolution (the gradient of Conv2d with respect to its input), e.g. to upsample:
    (N, C_in, H, W) -> (N, C_out, H_out, W_out),
    H_out = (H - 1)·stride - 2·padding + dilation·(kH - 1) + output_padding + 1 (and W_out alike).

    ``weight``: (C_in, C_out/groups, kH, kW), ``bias``: (C_out,); ``forward(input, output_size=None)``.

    Example::

        >>> up = nn.ConvTranspose2d(16, 8, kernel_size=3, stride=2, padding=1, output_padding=1)
        >>> up(cr.randn(4, 16, 7, 7)).shape                  # (4, 16, 7, 7) -> (4, 8, 14, 14)
        (4, 8, 14, 14)
    """
