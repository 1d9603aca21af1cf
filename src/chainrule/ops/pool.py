"""Pooling: max_pool1d/2d, avg_pool1d/2d and adaptive_avg_pool2d, with PyTorch's arguments.

Max and average pooling are ops whose backward is another op, so double backward
(``create_graph=True``) needs no extra rule:

- ``MaxPool``      y = max over each window of x            ∂L/∂x = S g  (S scatters g to the argmaxes)
- ``MaxPoolGrad``  z = S g  (the argmaxes fixed)            ∂L/∂g = Sᵀ D (gathers D at the argmaxes)
- ``AvgPool``      y = A x  (window sums / divisor)          ∂L/∂x = Aᵀ g
- ``AvgPoolGrad``  z = Aᵀ g                                  ∂L/∂g = A D

Adaptive average pooling is separable, y = Pₕ x Pᵥᵀ with averaging matrices, so it is two matmuls.
The array kernels (a loop over kernel offsets on strided slices) are in ``pool_windows.py``.
"""

import numbers

from ..autograd.function import Function
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor
from .pool_windows import (
    PoolGeometry,
    avg_divisor,
    avg_forward,
    avg_input_grad,
    max_forward,
    max_indices,
    max_input_grad,
    max_output_grad,
)

__all__ = ["adaptive_avg_pool2d", "avg_pool1d", "avg_pool2d", "max_pool1d", "max_pool2d"]


def _data(value):
    """The array of a saved value: under create_graph saved values come back as Tensors."""
    return value._data if isinstance(value, Tensor) else value


class MaxPool(Function):
    """y = max of each window of x:  x (*, *S) -> y (*, *O).   ∂L/∂x = g at each window's argmax, 0 elsewhere
    (summed where windows overlap); the argmax is PyTorch's (first max, or last NaN)."""

    def __init__(self, geometry):
        self.geometry = geometry

    def forward(self, x):
        y = max_forward(self.xp, x, self.geometry)
        self.save_for_backward(x, y)
        return y

    def backward(self, grad):
        x, y = (_data(value) for value in self.saved)
        if isinstance(grad, Tensor):  # create_graph: the scatter as an op, so that it is differentiable
            return MaxPoolGrad(self.geometry, x, y)(grad)
        return max_input_grad(self.xp, x, y, grad, self.geometry)


class MaxPoolGrad(Function):
    """z = S g, the input gradient of a max pooling whose argmaxes (from x and y) are fixed:
    g (*, *O) -> z (*, *S).   ∂L/∂g = Sᵀ D: D (*, *S) read at each window's argmax."""

    def __init__(self, geometry, x, y):
        self.geometry, self.x, self.y = geometry, x, y

    def forward(self, grad):
        return max_input_grad(self.xp, self.x, self.y, grad, self.geometry)

    def backward(self, grad):
        if isinstance(grad, Tensor):
            return MaxPoolGather(self.geometry, self.x, self.y)(grad)
        return max_output_grad(self.xp, self.x, self.y, grad, self.geometry)


class MaxPoolGather(Function):
    """g = Sᵀ D: D (*, *S) read at each window's argmax -> (*, *O).   ∂L/∂D = S G (the scatter)."""

    def __init__(self, geometry, x, y):
        self.geometry, self.x, self.y = geometry, x, y

    def forward(self, grad_x):
        return max_output_grad(self.xp, self.x, self.y, grad_x, self.geometry)

    def backward(self, grad):
        if isinstance(grad, Tensor):
            return MaxPoolGrad(self.geometry, self.x, self.y)(grad)
        return max_input_grad(self.xp, self.x, self.y, grad, self.geometry)


class AvgPool(Function):
    """y = A x: each window's sum divided by its divisor:  x (*, *S) -> y (*, *O).
    ∂L/∂x = Aᵀ g: g / divisor added onto every element of the window."""

    def __init__(self, geometry, divisor):
        self.geometry, self.divisor = geometry, divisor

    def forward(self, x):
        self.input_shape = x.shape
        return avg_forward(self.xp, x, self.geometry, self.divisor)

    def backward(self, grad):
        if isinstance(grad, Tensor):
            return AvgPoolGrad(self.geometry, self.divisor, self.input_shape)(grad)
        return avg_input_grad(self.xp, grad, self.input_shape, self.geometry, self.divisor)


class AvgPoolGrad(Function):
    """z = Aᵀ g, the input gradient of an average pooling:  g (*, *O) -> z (*, *S).   ∂L/∂g = A D."""

    def __init__(self, geometry, divisor, input_shape):
        self.geometry, self.divisor, self.input_shape = geometry, divisor, input_shape

    def forward(self, grad):
        return avg_input_grad(self.xp, grad, self.input_shape, self.geometry, self.divisor)

    def backward(self, grad):
        if isinstance(grad, Tensor):
            return AvgPool(self.geometry, self.divisor)(grad)
        return avg_forward(self.xp, grad, self.geometry, self.divisor)


# --------------------------------------------------------------------------------------- arguments


def _ints(value, n, name, function, minimum):
    """An int or a sequence of 1 or n ints (each >= minimum) as a tuple of n ints."""
    values = (value,) * n if isinstance(value, numbers.Integral) else tuple(value)
    if len(values) == 1:
        values = values * n
    if len(values) != n or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
        raise ValueError(f"{function}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    if any(v < minimum for v in values):
        raise ValueError(f"{function}: {name} must be >= {minimum}, got {value!r}")
    return tuple(int(v) for v in values)


def _check_input(input, spatial, function):  # noqa: A002 - PyTorch's argument name
    if not isinstance(input, Tensor):
        raise TypeError(f"{function}: expected input to be a Tensor, got {type(input).__name__}")
    if input.ndim not in (spatial + 1, spatial + 2) or 0 in input.shape[-spatial - 1 :]:
        layout = "(C, L) or (N, C, L)" if spatial == 1 else "(C, H, W) or (N, C, H, W)"
        raise ShapeError(
            f"{function}: expected a {spatial + 1}-D (unbatched) or {spatial + 2}-D (batched) input {layout} "
            f"with non-zero channel and spatial sizes, got input of shape {tuple(input.shape)}"
        )
    if not input.is_floating_point():
        raise DTypeError(f"{function}: expected a floating-point input, got {input.dtype.name}")


def pool_geometry(input, spatial, kernel_size, stride, padding, dilation, ceil_mode, function):  # noqa: A002
    """The PoolGeometry of a pooling of ``input``, after PyTorch's checks (pool2d_shape_check)."""
    _check_input(input, spatial, function)
    kernel = _ints(kernel_size, spatial, "kernel_size", function, 1)
    stride = kernel if stride is None or (not isinstance(stride, numbers.Integral) and len(stride) == 0) else stride
    stride = _ints(stride, spatial, "stride", function, 1)
    padding = _ints(padding, spatial, "padding", function, 0)
    dilation = _ints(dilation, spatial, "dilation", function, 1)
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(
            f"{function}: padding should be at most half of kernel size, but got padding={padding} "
            f"for kernel_size={kernel}"
        )
    size = tuple(input.shape[-spatial:])
    geometry = PoolGeometry(size, kernel, stride, padding, dilation, ceil_mode)
    if any(o < 1 for o in geometry.out):
        raise ShapeError(
            f"{function}: input of shape {tuple(input.shape)} is too small for kernel_size={kernel}, "
            f"stride={stride}, padding={padding}, dilation={dilation}: calculated output size "
            f"{geometry.output_shape(input.shape)[-spatial:]} has a size below 1"
        )
    return geometry


# --------------------------------------------------------------------------------------- max


def _max_pool(input, spatial, kernel_size, stride, padding, dilation, ceil_mode, return_indices, function):  # noqa: A002
    geometry = pool_geometry(input, spatial, kernel_size, stride, padding, dilation, ceil_mode, function)
    output = MaxPool(geometry)(input)
    if not return_indices:
        return output
    indices = max_indices(input._namespace(), input._data, output._data, geometry)
    return output, Tensor._wrap(indices)


def max_pool1d(
    input,  # noqa: A002 - PyTorch's argument names
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode=False,
    return_indices=False,
    *,
    _name="max_pool1d",
):
    """The max of each window along the last dim: (N, C, L) or (C, L) -> (N, C, L') or (C, L').

    L' = ⌊(L + 2·padding - dilation·(kernel_size - 1) - 1) / stride⌋ + 1 (⌈⌉ with ``ceil_mode``,
    dropping a last window that would start in the right padding); ``stride`` defaults to
    ``kernel_size``; padding (at most half the kernel) counts as -inf. With ``return_indices``
    also the int64 index along L of each window's max. The gradient of a window goes to its first
    maximum, as in PyTorch.

    Example::

        >>> F.max_pool1d(cr.tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2)          # (1, 1, 4) -> (1, 1, 2)
        tensor([[[3., 2.]]])
    """
    return _max_pool(input, 1, kernel_size, stride, padding, dilation, ceil_mode, return_indices, _name)


def max_pool2d(
    input,  # noqa: A002 - PyTorch's argument names
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode=False,
    return_indices=False,
    *,
    _name="max_pool2d",
):
    """The max of each kH×kW window: (N, C, H, W) or (C, H, W) -> (N, C, H', W') or (C, H', W').

    Per spatial dim, H' = ⌊(H + 2·padding - dilation·(kernel_size - 1) - 1) / stride⌋ + 1 (⌈⌉ with
    ``ceil_mode``, dropping a last window that would start in the right padding). ``kernel_size``,
    ``stride`` (default: ``kernel_size``), ``padding`` (at most half the kernel, counting as -inf)
    and ``dilation`` are ints or pairs. With ``return_indices`` also the int64 index into the
    H×W plane (h·W + w) of each window's max. The gradient of a window goes to its first maximum in
    row-major order (to the last NaN if it holds NaN), as in PyTorch.

    Example::

        >>> x = cr.randn(8, 3, 28, 28)
        >>> F.max_pool2d(x, 2).shape                                        # (8, 3, 28, 28) -> (8, 3, 14, 14)
        (8, 3, 14, 14)
        >>> F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True).shape
        (8, 3, 15, 15)
    """
    return _max_pool(input, 2, kernel_size, stride, padding, dilation, ceil_mode, return_indices, _name)


# --------------------------------------------------------------------------------------- average


def _avg_pool(input, spatial, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, function):  # noqa: A002
    geometry = pool_geometry(input, spatial, kernel_size, stride, padding, 1, ceil_mode, function)
    if divisor_override is not None and (
        not isinstance(divisor_override, numbers.Integral)
        or isinstance(divisor_override, bool)
        or divisor_override == 0
    ):
        raise ValueError(f"{function}: divisor_override must be a non-zero int or None, got {divisor_override!r}")
    divisor = avg_divisor(input._namespace(), geometry, count_include_pad, divisor_override, input._data.dtype)
    return AvgPool(geometry, divisor)(input)


def avg_pool1d(
    input,  # noqa: A002 - PyTorch's argument names
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    *,
    _name="avg_pool1d",
):
    """The mean of each window along the last dim: (N, C, L) or (C, L) -> (N, C, L') or (C, L').

    L' as in ``max_pool1d`` (without dilation). Padding is zeros; with ``count_include_pad`` (the
    default) a window's divisor counts its padded positions, otherwise only the input's. A
    ``ceil_mode`` window reaching past the padding divides by its size clipped to it, as in PyTorch.

    Example::

        >>> F.avg_pool1d(cr.tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2)          # (1, 1, 4) -> (1, 1, 2)
        tensor([[[2., 1.]]])
    """
    return _avg_pool(input, 1, kernel_size, stride, padding, ceil_mode, count_include_pad, None, _name)


def avg_pool2d(
    input,  # noqa: A002 - PyTorch's argument names
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
    *,
    _name="avg_pool2d",
):
    """The mean of each kH×kW window: (N, C, H, W) or (C, H, W) -> (N, C, H', W') or (C, H', W').

    H', W' as in ``max_pool2d`` (without dilation). Padding is zeros; with ``count_include_pad``
    (the default) a window's divisor counts its padded positions, otherwise only the input's;
    ``divisor_override`` (a non-zero int) replaces the divisor of every window.

    Example::

        >>> F.avg_pool2d(cr.ones(2, 3, 4, 4), 2, padding=1, count_include_pad=False).shape   # -> (2, 3, 3, 3)
        (2, 3, 3, 3)
    """
    return _avg_pool(input, 2, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, _name)


# --------------------------------------------------------------------------------------- adaptive


def _averaging_matrix(xp, out, size, dtype):
    """P (out, size): row i averages x[start_i : end_i], start_i = ⌊i·size/out⌋, end_i = ⌈(i+1)·size/out⌉."""
    rows = xp.arange(out)
    start = (rows * size) // out
    end = ((rows + 1) * size + out - 1) // out
    columns = xp.arange(size)
    inside = (columns >= start[:, None]) & (columns < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def adaptive_avg_pool2d(input, output_size, *, _name="adaptive_avg_pool2d"):  # noqa: A002 - PyTorch's names
    """Average pooling to a fixed size: (N, C, H, W) or (C, H, W) -> (N, C, H', W') or (C, H', W').

    ``output_size`` is an int or a pair (H', W'), an entry None keeping the input's size. Output
    row i averages input rows ⌊i·H/H'⌋ to ⌈(i+1)·H/H'⌉ - 1 (PyTorch's formula), likewise columns;
    windows of neighbouring outputs overlap when H' does not divide H.

    Example::

        >>> F.adaptive_avg_pool2d(cr.randn(2, 16, 7, 5), (3, None)).shape   # (2, 16, 7, 5) -> (2, 16, 3, 5)
        (2, 16, 3, 5)
        >>> F.adaptive_avg_pool2d(cr.randn(2, 16, 7, 5), 1).shape           # global average
        (2, 16, 1, 1)
    """
    _check_input(input, 2, _name)
    sizes = (
        (output_size, output_size) if output_size is None or isinstance(output_size, numbers.Integral) else output_size
    )
    sizes = tuple(sizes)
    if len(sizes) == 1:
        sizes = sizes * 2
    if len(sizes) != 2 or not all(
        s is None or (isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 1) for s in sizes
    ):
        raise ValueError(
            f"{_name}: output_size must be a positive int or a pair of positive ints or None, got {output_size!r}"
        )
    height, width = input.shape[-2:]
    out = tuple(size if s is None else int(s) for s, size in zip(sizes, (height, width)))
    if height % out[0] == 0 and width % out[1] == 0:  # equal windows: an average pooling of tiles
        kernel = (height // out[0], width // out[1])
        geometry = PoolGeometry((height, width), kernel, kernel, (0, 0))
        return AvgPool(geometry, geometry.window_size())(input)
    xp, dtype = input._namespace(), input._data.dtype
    rows = Tensor._wrap(_averaging_matrix(xp, out[0], height, dtype))  # (H', H)
    columns = Tensor._wrap(_averaging_matrix(xp, out[1], width, dtype).T)  # (W, W')
    return (rows @ input) @ columns
