"""Batch, layer and group normalisation: each one fused node, with one shared rule.

All three standardise x over some axes R and apply a learned affine map:

    μ = mean_R x,   σ² = mean_R (x - μ)²  (biased),   s = 1/√(σ² + ε),   x̂ = (x - μ)·s,   y = x̂·w + b

They differ only in how x is viewed, so that R and the axes of w are plain axes of the view:

    batch_norm   x (N, C, *)  viewed (N, C, L)          R = (0, 2)   w, b (C,)  as (1, C, 1)
    layer_norm   x (*, D...)  viewed (M, D)             R = (1,)     w, b (D...) as (1, D)
    group_norm   x (N, C, *)  viewed (N, G, C/G, L)     R = (2, 3)   w, b (C,)  as (1, G, C/G, 1)

With g = ∂L/∂y, ĝ = g·w and n = |R|, the backward is the closed form

    ∂L/∂x = s·(ĝ - mean_R ĝ - x̂·mean_R(ĝ·x̂)),   ∂L/∂w = Σ g·x̂,   ∂L/∂b = Σ g

(the sums over the axes along which w is broadcast). Evaluation-mode batch norm uses given
(running) statistics, constants of the graph: then y = x·(w·s) + (b - μ·w·s) in two passes and
∂L/∂x = ĝ·s. Sums over the reduced axes are single ``einsum`` calls on arrays (no temporary
products); float32 sums are not pairwise, as they are not in NumPy over non-contiguous axes
either. The backward rule is written with
``self.xp`` and operators only, and under ``create_graph`` it rebuilds x̂ and s from x, so that
double backward differentiates through the statistics too.
"""

import math

from ..autograd.function import Function
from ..autograd.grad_mode import no_grad
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor


class Normalize(Function):
    """y = x̂·w + b, x̂ = (x - μ)/√(σ² + ε) over ``stat_axes`` of x viewed as ``view`` (module docstring).

    ``affine_shape``: the shape weight and bias take to broadcast against the view; ``param_shape``
    their own. ``stats``: None to use the batch's own μ and σ² (which forward leaves in ``batch_mean`` and
    ``batch_var``, shaped for the view, for running averages), or constant arrays (μ, s) that
    broadcast against the view. Inputs: x, then weight if ``has_weight``, then bias if ``has_bias``.
    """

    def __init__(self, view, stat_axes, affine_shape, param_shape, eps, has_weight, has_bias, stats=None):
        self.view, self.stat_axes, self.eps = view, stat_axes, eps
        self.affine_shape, self.param_shape = affine_shape, param_shape  # w as it broadcasts, and its own shape
        self.has_weight, self.has_bias, self.stats = has_weight, has_bias, stats
        self.param_axes = tuple(i for i, size in enumerate(affine_shape) if size == 1)
        # BatchNorm: statistics and parameters share their axes, so Σg and Σg·x̂ serve both gradients.
        self.shared_axes = self.param_axes == stat_axes

    def forward(self, x, *params):
        xp, axes = self.xp, self.stat_axes
        v = x.reshape(self.view)
        weight = params[0].reshape(self.affine_shape) if self.has_weight else None
        bias = params[-1].reshape(self.affine_shape) if self.has_bias else None
        saved_weight = params[:1] if self.has_weight else ()
        if self.stats is not None:  # constant statistics: y = x·(w·s) + (b - μ·w·s), two passes over x
            mean, inv_std = self.stats
            scale = inv_std if weight is None else weight * inv_std
            shift = -mean * scale if bias is None else bias - mean * scale
            y = v * scale
            y += shift
            self.save_for_backward(x, inv_std, *saved_weight)  # x̂ only if ∂w is asked for: from x then
            return y.reshape(x.shape)
        n = math.prod(self.view[axis] for axis in axes)
        mean = sum_over(xp, axes, v) / n
        xhat = v - mean
        var = sum_over(xp, axes, xhat, xhat) / n  # two passes: no cancellation when |μ| ≫ σ
        inv_std = 1 / xp.sqrt(var + self.eps)
        self.batch_mean, self.batch_var = mean, var
        xhat *= inv_std
        if weight is not None:
            y = xhat * weight
            if bias is not None:
                y += bias
        else:
            y = xhat + bias if bias is not None else xhat.copy()  # a copy: the output may be changed in place
        self.save_for_backward(x, inv_std, *saved_weight, xhat)
        return y.reshape(x.shape)

    def backward(self, grad):
        x, inv_std, *rest = self.saved
        xp, axes = self.xp, self.stat_axes
        batch = self.stats is None  # the statistics depend on x (training), or are constants (eval)
        weight = rest[0] if self.has_weight else None
        need = self.needs_input_grad
        need_x, need_w, need_b = need[0], self.has_weight and need[1], self.has_bias and need[-1]
        if isinstance(x, Tensor):  # create_graph: x̂ and s again, from x, so that they are differentiated too
            xhat, inv_std = self._standardized(xp.reshape(x, self.view))
        elif batch:
            xhat = rest[-1]
        else:
            xhat = (xp.reshape(x, self.view) - self.stats[0]) * inv_std if need_w else None
        g = xp.reshape(grad, self.view)
        w = None if weight is None else xp.reshape(weight, self.affine_shape)
        grad_x = grad_weight = grad_bias = None
        n = math.prod(self.view[axis] for axis in axes)
        if self.shared_axes:  # ∂x = w·s·(g - Σg/n - x̂·Σ(g·x̂)/n), ∂w = Σg·x̂, ∂b = Σg
            sum_g = sum_over(xp, axes, g) if need_b or (need_x and batch) else None
            sum_gx = sum_over(xp, axes, g, xhat) if need_w or (need_x and batch) else None
            if need_x:
                scale = inv_std if w is None else w * inv_std
                grad_x = combine(g, scale, xhat, -scale * sum_gx / n, -scale * sum_g / n) if batch else g * scale
            grad_weight, grad_bias = sum_gx, sum_g
        else:  # ĝ = g·w:  ∂x = s·(ĝ - Σĝ/n - x̂·Σ(ĝ·x̂)/n)
            if need_x:
                g_hat = g if w is None else g * w
                if batch:
                    mean_g = sum_over(xp, axes, g_hat) / n
                    mean_gx = sum_over(xp, axes, g_hat, xhat) / n
                    grad_x = combine(g_hat, inv_std, xhat, -inv_std * mean_gx, -inv_std * mean_g)
                else:
                    grad_x = g_hat * inv_std
            if need_w:
                grad_weight = sum_over(xp, self.param_axes, g, xhat)
            if need_b:
                grad_bias = sum_over(xp, self.param_axes, g)
        grads = [xp.reshape(grad_x, x.shape) if need_x else None]
        if self.has_weight:
            grads.append(xp.reshape(grad_weight, self.param_shape) if need_w else None)
        if self.has_bias:
            grads.append(xp.reshape(grad_bias, self.param_shape) if need_b else None)
        return tuple(grads)

    def _standardized(self, v):
        """(x̂, s) of the view v, with the same formulas as forward, on whatever v is (array or Tensor)."""
        xp = self.xp
        if self.stats is None:
            n = math.prod(self.view[axis] for axis in self.stat_axes)
            centered = v - sum_over(xp, self.stat_axes, v) / n
            inv_std = (sum_over(xp, self.stat_axes, centered, centered) / n + self.eps) ** -0.5
        else:
            mean, inv_std = self.stats
            centered = v - mean
        return centered * inv_std, inv_std


def sum_over(xp, axes, a, b=None):
    """Σ a (or Σ a·b) over ``axes``, keeping them as size 1. On arrays one ``einsum``: no temporary
    product and, over several axes, several times faster than ``sum``; on Tensors (create_graph)
    differentiable ops."""
    if isinstance(a, Tensor):
        return xp.sum(a if b is None else a * b, axis=axes, keepdims=True)
    letters = "abcdefgh"[: a.ndim]
    kept = "".join(letter for axis, letter in enumerate(letters) if axis not in axes)
    spec = f"{letters}->{kept}" if b is None else f"{letters},{letters}->{kept}"
    total = xp.einsum(spec, a) if b is None else xp.einsum(spec, a, b)
    return total.reshape(tuple(1 if axis in axes else size for axis, size in enumerate(a.shape)))


def combine(a, p, b, q, c):
    """a·p + b·q + c for full-size a, b and broadcasting p, q, c: on arrays with one temporary
    instead of four; on Tensors (create_graph) differentiable ops."""
    if isinstance(a, Tensor):
        return a * p + b * q + c
    out = a * p
    out += b * q
    out += c
    return out


class BatchNorm(Normalize):
    """Normalize over (N, *) per channel: the node ``BatchNormBackward0`` in a graph."""


class LayerNorm(Normalize):
    """Normalize over the trailing normalized_shape dims: the node ``LayerNormBackward0``."""


class GroupNorm(Normalize):
    """Normalize over each (sample, group of channels): the node ``GroupNormBackward0``."""


def _normalize(op, input, weight, bias, name):  # noqa: A002 - PyTorch's argument name
    """Check weight and bias against ``op.param_shape`` and the input's dtype, then apply ``op``."""
    params = []
    for label, param in (("weight", weight), ("bias", bias)):
        if param is None:
            continue
        if not isinstance(param, Tensor):
            raise TypeError(f"{name}: {label} must be a Tensor or None, got {type(param).__name__}")
        if tuple(param.shape) != op.param_shape:
            raise ShapeError(f"{name}: {label} must have shape {op.param_shape}, got {tuple(param.shape)}")
        if param.dtype != input.dtype:
            raise DTypeError(f"{name}: {label} is {param.dtype.name} but the input is {input.dtype.name}")
        params.append(param)
    return op(input, *params)


def _check_input(input, name, min_ndim):  # noqa: A002 - PyTorch's argument name
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(input).__name__}")
    if not input.is_floating_point():
        raise DTypeError(f"{name}: expected a floating-point input, got {input.dtype.name}")
    if input.ndim < min_ndim:
        raise ShapeError(f"{name}: expected an input with at least {min_ndim} dims, got shape {tuple(input.shape)}")


def batch_norm(
    input,  # noqa: A002 - PyTorch's argument names
    running_mean,
    running_var,
    weight=None,
    bias=None,
    training=False,
    momentum=0.1,
    eps=1e-5,
):
    """Batch normalisation over every dim but the channels (dim 1): (N, C, *) -> (N, C, *).

    training=True: normalise with the batch's mean and biased variance, and (if given) update
    ``running_mean`` and ``running_var`` in place: r ← (1 - momentum)·r + momentum·batch_stat,
    the variance's running average taking the unbiased batch variance (× n/(n - 1)), as PyTorch
    does. training=False: normalise with ``running_mean`` and ``running_var``. weight, bias: (C,).

    Example::

        >>> x = cr.randn(8, 3, 5, 5)                                     # (N, C, H, W)
        >>> mean, var = cr.zeros(3), cr.ones(3)
        >>> F.batch_norm(x, mean, var, training=True).shape             # updates mean and var
        (8, 3, 5, 5)
    """
    _check_input(input, "batch_norm", 2)
    shape = tuple(input.shape)
    channels = shape[1]
    for label, stat in (("running_mean", running_mean), ("running_var", running_var)):
        if stat is not None and tuple(stat.shape) != (channels,):
            raise ShapeError(
                f"batch_norm: {label} must have shape ({channels},) for an input with {channels} channels (dim 1), "
                f"got {tuple(stat.shape)} for input of shape {shape}"
            )
    spatial = math.prod(shape[2:])
    view, affine_shape = (shape[0], channels, spatial), (1, channels, 1)
    if training:
        if shape[0] * spatial == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {shape}")
        stats = None
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var must be defined in evaluation mode")
        dtype = input._data.dtype
        mean = running_mean._data.astype(dtype).reshape(affine_shape)  # a copy: later updates don't reach it
        inv_std = 1 / input._namespace().sqrt(running_var._data.astype(dtype).reshape(affine_shape) + eps)
        stats = (mean, inv_std)
    op = BatchNorm(view, (0, 2), affine_shape, (channels,), eps, weight is not None, bias is not None, stats)
    out = _normalize(op, input, weight, bias, "batch_norm")
    if training and (running_mean is not None or running_var is not None):
        _update_running_stats(op, running_mean, running_var, momentum, shape[0] * spatial)
    return out


def _update_running_stats(op, running_mean, running_var, momentum, n):
    """r ← (1 - momentum)·r + momentum·batch statistic, in place; the variance unbiased (× n/(n-1))."""
    with no_grad():
        if running_mean is not None:
            batch_mean = op.batch_mean.reshape(-1).astype(running_mean._data.dtype)
            running_mean.mul_(1 - momentum).add_(batch_mean * momentum)
        if running_var is not None:
            unbiased = op.batch_var.reshape(-1) * (n / (n - 1))
            running_var.mul_(1 - momentum).add_(unbiased.astype(running_var._data.dtype) * momentum)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):  # noqa: A002 - PyTorch's names
    """Layer normalisation over the last len(normalized_shape) dims: (*, *normalized_shape) -> same.

    weight, bias: normalized_shape (or None).

    Example::

        >>> F.layer_norm(cr.randn(4, 10, 32), (32,)).shape             # each (32,) row standardised
        (4, 10, 32)
    """
    _check_input(input, "layer_norm", 1)
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    shape, k = tuple(input.shape), len(normalized_shape)
    if k == 0 or k > len(shape) or shape[len(shape) - k :] != normalized_shape:
        raise ShapeError(
            f"layer_norm: given normalized_shape={normalized_shape}, expected input with shape "
            f"(*, {', '.join(map(str, normalized_shape))}), but got input of shape {shape}"
        )
    features = math.prod(normalized_shape)
    view = (math.prod(shape[: len(shape) - k]), features)
    op = LayerNorm(view, (1,), (1, features), normalized_shape, eps, weight is not None, bias is not None)
    return _normalize(op, input, weight, bias, "layer_norm")


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):  # noqa: A002 - PyTorch's names
    """Group normalisation: the C channels split into ``num_groups`` groups, each (sample, group)
    standardised over its channels and every dim after them. (N, C, *) -> (N, C, *).

    weight, bias: (C,) (or None).

    Example::

        >>> F.group_norm(cr.randn(2, 6, 5, 5), 3).shape                 # groups of 2 channels
        (2, 6, 5, 5)
    """
    _check_input(input, "group_norm", 2)
    shape = tuple(input.shape)
    channels = shape[1]
    if not isinstance(num_groups, int) or num_groups <= 0 or channels % num_groups:
        raise ShapeError(
            f"group_norm: expected the number of channels in the input to be divisible by num_groups, "
            f"but got input of shape {shape} and num_groups={num_groups}"
        )
    per_group = channels // num_groups
    view = (shape[0], num_groups, per_group, math.prod(shape[2:]))
    affine_shape = (1, num_groups, per_group, 1)
    op = GroupNorm(view, (2, 3), affine_shape, (channels,), eps, weight is not None, bias is not None)
    return _normalize(op, input, weight, bias, "group_norm")
