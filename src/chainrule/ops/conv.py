"""Convolutions: conv1d, conv2d and their transposes, as three ops that are each other's gradients.

With A the linear map x ↦ conv(x, w) of one geometry (stride, padding, dilation, groups):

- ``Convolution``          y = A x + b                     (F.conv1d, F.conv2d)
- ``ConvolutionTranspose`` y = Aᵀ g + b                    (F.conv_transpose1d/2d; also ∂L/∂x of a convolution)
- ``ConvolutionWeightGrad`` W = ∂⟨G, conv(x, w)⟩/∂w        (∂L/∂w of a convolution)

Each op's backward is made of the other two, so double backward (``create_graph=True``) needs no
extra rule: under ``create_graph`` the backward calls the ops on Tensors; otherwise it calls their
array kernels (``conv_im2col``) directly.
"""

from ..autograd.function import Function
from ..tensor import Tensor
from .conv_args import check_bias, check_tensors, conv_geometry, transpose_geometry
from .conv_im2col import conv_backward, conv_forward, conv_input_grad, conv_weight_grad
from .join import pad
from .shape import reshape, squeeze, unsqueeze


def _bias_sum(xp, grad):
    """∂L/∂b of y + b (b broadcast along the channel dim): Σ over samples and positions."""
    return xp.sum(grad, axis=(0,) + tuple(range(2, grad.ndim)))


def _bias_shaped(bias, ndim):
    return bias.reshape((1, -1) + (1,) * (ndim - 2))


class Convolution(Function):
    """y = conv(x, w) + b:  x (N, C, *S), w (O, C/g, *k), b (O,) -> y (N, O, *o).

    With G = ∂L/∂y:  ∂L/∂x = Aᵀ G (transposed convolution),  ∂L/∂w = Σ G·colᵀ,  ∂L/∂b = Σ G
    over samples and positions.
    """

    def __init__(self, geometry):
        self.geometry = geometry

    def forward(self, x, weight, bias=None):
        self.save_for_backward(x, weight)
        return conv_forward(self.xp, x, weight, self.geometry, bias)

    def backward(self, grad):
        x, weight = self.saved
        need, xp, geometry = self.needs_input_grad, self.xp, self.geometry
        grad_x = grad_weight = None
        if isinstance(grad, Tensor):  # create_graph: the gradients as ops, so they are differentiable
            if need[0]:
                grad_x = ConvolutionTranspose(geometry, x.shape)(grad, weight)
            if need[1]:
                grad_weight = ConvolutionWeightGrad(geometry)(x, grad)
        else:
            grad_x, grad_weight = conv_backward(
                xp, grad, geometry, weight if need[0] else None, x.shape, x if need[1] else None
            )
        if len(need) == 2:
            return grad_x, grad_weight
        return grad_x, grad_weight, _bias_sum(xp, grad) if need[2] else None


class ConvolutionTranspose(Function):
    """y = Aᵀ g + b:  g (N, O, *o), w (O, C/g, *k), b (C,) -> y (N, C, *S), S = ``output_shape[2:]``.

    A is the convolution (N, C, *S) -> (N, O, *o) of ``geometry``. With D = ∂L/∂y:
    ∂L/∂g = A D = conv(D, w),   ∂L/∂w = ∂⟨g, conv(D, w)⟩/∂w,   ∂L/∂b = Σ D.
    """

    def __init__(self, geometry, output_shape):
        self.geometry, self.output_shape = geometry, tuple(output_shape)

    def forward(self, g, weight, bias=None):
        self.save_for_backward(g, weight)
        y = conv_input_grad(self.xp, g, weight, self.output_shape, self.geometry)
        if bias is not None:
            y += _bias_shaped(bias, y.ndim)
        return y

    def backward(self, grad):
        g, weight = self.saved
        need, xp, geometry = self.needs_input_grad, self.xp, self.geometry
        grad_g = grad_weight = None
        if isinstance(grad, Tensor):
            if need[0]:
                grad_g = Convolution(geometry)(grad, weight)
            if need[1]:
                grad_weight = ConvolutionWeightGrad(geometry)(grad, g)
        else:
            grad_g = conv_forward(xp, grad, weight, geometry) if need[0] else None
            if need[1]:
                grad_weight = conv_weight_grad(xp, grad, g, geometry)
        if len(need) == 2:
            return grad_g, grad_weight
        return grad_g, grad_weight, _bias_sum(xp, grad) if need[2] else None


class ConvolutionWeightGrad(Function):
    """W = Σₙ G·col(x)ᵀ, the weight gradient of y = conv(x, w):  x (N, C, *S), G (N, O, *o) -> W (O, C/g, *k).

    W is bilinear in (x, G) with ⟨D, W⟩ = ⟨G, conv(x, D)⟩, so with D = ∂L/∂W:
    ∂L/∂x = Aᵀ G with D as the weight (a transposed convolution),   ∂L/∂G = conv(x, D).
    """

    def __init__(self, geometry):
        self.geometry = geometry

    def forward(self, x, grad_y):
        self.save_for_backward(x, grad_y)
        return conv_weight_grad(self.xp, x, grad_y, self.geometry)

    def backward(self, grad):
        x, grad_y = self.saved
        need, xp, geometry = self.needs_input_grad, self.xp, self.geometry
        if isinstance(grad, Tensor):
            grad_x = ConvolutionTranspose(geometry, x.shape)(grad_y, grad) if need[0] else None
            grad_grad_y = Convolution(geometry)(x, grad) if need[1] else None
        else:
            grad_x = conv_input_grad(xp, grad_y, grad, x.shape, geometry) if need[0] else None
            grad_grad_y = conv_forward(xp, x, grad, geometry) if need[1] else None
        return grad_x, grad_grad_y


def _convolution(function, spatial, input, weight, bias, stride, padding, dilation, groups):  # noqa: A002
    unbatched = check_tensors(function, input, weight, bias, spatial)
    x = unsqueeze(input, 0) if unbatched else input
    geometry = conv_geometry(function, x.shape, weight.shape, stride, padding, dilation, groups)
    check_bias(function, bias, weight.shape[0])
    inputs = (x, weight) if bias is None else (x, weight, bias)
    y = Convolution(geometry)(*inputs)
    return squeeze(y, 0) if unbatched else y


def _transposed(function, spatial, input, weight, bias, stride, padding, output_padding, groups, dilation):  # noqa: A002
    unbatched = check_tensors(function, input, weight, bias, spatial)
    x = unsqueeze(input, 0) if unbatched else input
    geometry, output_shape, appended = transpose_geometry(
        function, x.shape, weight.shape, stride, padding, output_padding, dilation, groups
    )
    check_bias(function, bias, output_shape[1])
    if any(appended):  # positions the convolution never reads: zeros, then the bias on every position
        y = pad(
            ConvolutionTranspose(geometry, output_shape)(x, weight), [w for a in reversed(appended) for w in (0, a)]
        )
        if bias is not None:
            y = y + reshape(bias, (1, -1) + (1,) * spatial)
    else:
        inputs = (x, weight) if bias is None else (x, weight, bias)
        y = ConvolutionTranspose(geometry, output_shape)(*inputs)
    return squeeze(y, 0) if unbatched else y


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """1-D convolution (cross-correlation, as in PyTorch) over (N, C_in, L) or unbatched (C_in, L).

    weight: (C_out, C_in/groups, k), bias: (C_out,) or None; padding an int, a 1-tuple, 'valid' or
    'same' (stride 1 only). -> (N, C_out, L_out), L_out = (L + 2p - d·(k - 1) - 1) // s + 1.

    Example::

        >>> F.conv1d(cr.randn(4, 3, 10), cr.randn(6, 3, 3), padding=1).shape   # (4, 3, 10) -> (4, 6, 10)
        (4, 6, 10)
    """
    return _convolution("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """2-D convolution (cross-correlation, as in PyTorch) over (N, C_in, H, W) or unbatched (C_in, H, W).

    weight: (C_out, C_in/groups, kH, kW), bias: (C_out,) or None; stride, padding, dilation an int
    or a pair; padding also 'valid' or 'same' (stride 1 only; for even kernels the extra zero goes
    after, as PyTorch pads). -> (N, C_out, H_out, W_out), H_out = (H + 2p - d·(kH - 1) - 1) // s + 1.

    Example::

        >>> F.conv2d(cr.randn(8, 1, 28, 28), cr.randn(16, 1, 3, 3), padding="same").shape
        (8, 16, 28, 28)
    """
    return _convolution("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):  # noqa: A002
    """1-D transposed convolution (the gradient of conv1d with respect to its input) over (N, C_in, L).

    weight: (C_in, C_out/groups, k) -> (N, C_out, L_out), L_out = (L - 1)·s - 2p + d·(k - 1) + output_padding + 1.

    Example::

        >>> F.conv_transpose1d(cr.randn(4, 6, 5), cr.randn(6, 3, 3), stride=2).shape  # (4, 6, 5) -> (4, 3, 11)
        (4, 3, 11)
    """
    return _transposed("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):  # noqa: A002
    """2-D transposed convolution (the gradient of conv2d with respect to its input) over (N, C_in, H, W).

    weight: (C_in, C_out/groups, kH, kW), bias: (C_out,) or None ->
    (N, C_out, H_out, W_out), H_out = (H - 1)·s - 2p + d·(kH - 1) + output_padding + 1.

    Example::

        >>> F.conv_transpose2d(cr.randn(2, 16, 7, 7), cr.randn(16, 8, 3, 3), stride=2, padding=1,
        ...                    output_padding=1).shape                      # (2, 16, 7, 7) -> (2, 8, 14, 14)
        (2, 8, 14, 14)
    """
    return _transposed("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups, dilation)


__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]
