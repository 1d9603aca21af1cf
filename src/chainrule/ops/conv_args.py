"""Checking a convolution's arguments as PyTorch accepts them, and turning them into a ``Geometry``.

Every message names the function, what it expected and what it got.
"""

import numbers

from ..errors import DTypeError, ShapeError
from ..tensor import Tensor
from .conv_im2col import Geometry


def as_tuple(value, n, name, function, minimum):
    """An int or a sequence of n ints (each >= minimum) as a tuple of n ints."""
    values = (value,) * n if isinstance(value, numbers.Integral) else tuple(value)
    if len(values) == 1 and n > 1:
        values = values * n
    if len(values) != n or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
        raise ValueError(f"{function}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    if any(v < minimum for v in values):
        raise ValueError(f"{function}: {name} must be >= {minimum}, got {value!r}")
    return tuple(int(v) for v in values)


def padding_pairs(padding, kernel, stride, dilation, function):
    """(before, after) per spatial dim from an int, a tuple, 'valid' or 'same'.

    'same' pads d·(k - 1) in all, half before (rounded down) and the rest after, as PyTorch does
    for even kernels; it needs stride 1."""
    n = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding != "same":
            raise ValueError(f"{function}: invalid padding string {padding!r}, should be one of 'valid', 'same'")
        if any(s != 1 for s in stride):
            raise ValueError(f"{function}: padding='same' is not supported for strided convolutions (stride={stride})")
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((total // 2, total - total // 2) for total in totals)
    return tuple((p, p) for p in as_tuple(padding, n, "padding", function, 0))


def check_tensors(function, input, weight, bias, spatial):  # noqa: A002 - PyTorch's argument name
    """Refuse non-Tensors, wrong ranks and mixed or non-float dtypes. Returns True for unbatched input."""
    for name, value in (("input", input), ("weight", weight)):
        if not isinstance(value, Tensor):
            raise TypeError(f"{function}: expected {name} to be a Tensor, got {type(value).__name__}")
    if bias is not None and not isinstance(bias, Tensor):
        raise TypeError(f"{function}: expected bias to be a Tensor or None, got {type(bias).__name__}")
    if input.ndim not in (spatial + 1, spatial + 2):
        raise ShapeError(
            f"{function}: expected {spatial + 1}-D (unbatched) or {spatial + 2}-D (batched) input, "
            f"got input of shape {tuple(input.shape)}"
        )
    if weight.ndim != spatial + 2:
        raise ShapeError(f"{function}: expected a {spatial + 2}-D weight, got shape {tuple(weight.shape)}")
    if input.dtype.name not in ("float32", "float64", "float16"):
        raise DTypeError(f"{function}: expected a floating-point input, got {input.dtype.name}")
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and value.dtype != input.dtype:
            raise DTypeError(
                f"{function}: input is {input.dtype.name} but {name} is {value.dtype.name}; cast one of them"
            )
    return input.ndim == spatial + 1


def check_bias(function, bias, channels):
    if bias is not None and tuple(bias.shape) != (channels,):
        raise ShapeError(f"{function}: expected bias of shape ({channels},), got {tuple(bias.shape)}")


def conv_geometry(function, x_shape, w_shape, stride, padding, dilation, groups):
    """The Geometry of conv(x, w), after checking channels, groups and sizes."""
    spatial = len(w_shape) - 2
    stride = as_tuple(stride, spatial, "stride", function, 1)
    dilation = as_tuple(dilation, spatial, "dilation", function, 1)
    kernel = tuple(w_shape[2:])
    pairs = padding_pairs(padding, kernel, stride, dilation, function)
    check_groups(function, groups, w_shape[0], "weight's first dim (out_channels)")
    if x_shape[1] != w_shape[1] * groups:
        raise ShapeError(
            f"{function}: expected input with {w_shape[1] * groups} channels (groups={groups} x weight's "
            f"{w_shape[1]} per group, weight of shape {tuple(w_shape)}), got input of shape {tuple(x_shape)}"
        )
    geometry = Geometry(x_shape[2:], kernel, stride, pairs, dilation, groups)
    reach = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(p < r for p, r in zip(geometry.padded, reach)):
        raise ShapeError(
            f"{function}: the padded input's size {geometry.padded} (input {tuple(x_shape)}) is smaller than "
            f"the dilated kernel's {reach}"
        )
    return geometry


def transpose_geometry(function, x_shape, w_shape, stride, padding, output_padding, dilation, groups):
    """(Geometry of the convolution A that conv_transpose(x, w) is the transpose of, output shape,
    zeros to append after each spatial dim). The output size per dim is
    (S - 1)·s - 2p + d·(k - 1) + output_padding + 1."""
    spatial = len(w_shape) - 2
    stride = as_tuple(stride, spatial, "stride", function, 1)
    dilation = as_tuple(dilation, spatial, "dilation", function, 1)
    pads = as_tuple(padding, spatial, "padding", function, 0)
    extra = as_tuple(output_padding, spatial, "output_padding", function, 0)
    if any(op >= s and op >= d for op, s, d in zip(extra, stride, dilation)):
        raise ValueError(
            f"{function}: output_padding {extra} must be smaller than either stride {stride} or dilation {dilation}"
        )
    check_groups(function, groups, w_shape[0], "weight's first dim (in_channels)")
    if x_shape[1] != w_shape[0]:
        raise ShapeError(
            f"{function}: expected input with {w_shape[0]} channels (weight of shape {tuple(w_shape)}), "
            f"got input of shape {tuple(x_shape)}"
        )
    kernel = tuple(w_shape[2:])
    size = tuple(
        (s_in - 1) * s - 2 * p + d * (k - 1) + op + 1
        for s_in, s, p, d, k, op in zip(x_shape[2:], stride, pads, dilation, kernel, extra)
    )
    if any(s < 1 for s in size):
        raise ShapeError(f"{function}: input of shape {tuple(x_shape)} gives an empty output of size {size}")
    # A reads the output with padding p before and p - output_padding after. Where that is
    # negative, the last positions get nothing from A: compute without them and append zeros.
    appended = tuple(max(0, op - p) for op, p in zip(extra, pads))
    computed = tuple(s - a for s, a in zip(size, appended))
    pairs = tuple((p, max(0, p - op)) for p, op in zip(pads, extra))
    geometry = Geometry(computed, kernel, stride, pairs, dilation, groups)
    output_shape = (x_shape[0], w_shape[1] * groups) + computed
    return geometry, output_shape, appended


def check_groups(function, groups, channels, what):
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{function}: groups must be a positive int, got {groups!r}")
    if channels % groups:
        raise ShapeError(f"{function}: {what} {channels} is not divisible by groups={groups}")
