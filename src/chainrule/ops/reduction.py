"""Reductions over dimensions (``dim``, ``keepdim``): sum, mean, var, std, prod, amax/amin,
max/min, logsumexp, argmax/argmin.

Backward rules first restore the reduced dimensions (``_unreduce``) so the output gradient
broadcasts against the input.
"""

import collections

from ..autograd.function import Function
from ..tensor import Tensor
from .operands import normalize_dim, normalize_dims

ValuesIndices = collections.namedtuple("ValuesIndices", ["values", "indices"])


class Reduction(Function):
    """Base of reductions over ``dims`` (a tuple of axes) with ``keepdim``. Each forward notes
    the input's ``shape``."""

    def __init__(self, dims, keepdim):
        self.dims, self.keepdim = dims, keepdim

    def _unreduce(self, value):
        """Re-insert the reduced axes (size 1) so ``value`` broadcasts against the input."""
        if self.keepdim:
            return value
        return self.xp.reshape(value, tuple(1 if d in self.dims else n for d, n in enumerate(self.shape)))

    def _count(self, shape):
        count = 1
        for d in self.dims:
            count *= shape[d]
        return count


class Sum(Reduction):
    """y = Σ x.   ∂y/∂x = 1"""

    def forward(self, x):
        self.shape = x.shape
        return self.xp.sum(x, axis=self.dims, keepdims=self.keepdim)

    def backward(self, grad):
        return self.xp.broadcast_to(self._unreduce(grad), self.shape)


class Mean(Reduction):
    """y = Σ x / n.   ∂y/∂x = 1/n"""

    def forward(self, x):
        self.shape = x.shape
        return self.xp.sum(x, axis=self.dims, keepdims=self.keepdim) / self._count(x.shape)

    def backward(self, grad):
        return self.xp.broadcast_to(self._unreduce(grad) / self._count(self.shape), self.shape)


class Spread(Reduction):
    """Base of var and std: they divide by n - ``correction`` (1: Bessel's correction)."""

    def __init__(self, dims, keepdim, correction):
        super().__init__(dims, keepdim)
        self.correction = correction


class Var(Spread):
    """y = Σ (x - x̄)² / (n - c).   ∂y/∂x = 2(x - x̄)/(n - c)"""

    def forward(self, x):
        self.shape = x.shape
        self.save_for_backward(x)
        with self.xp.errstate(divide="ignore", invalid="ignore"):
            return self.xp.var(x, axis=self.dims, keepdims=self.keepdim, ddof=self.correction)

    def backward(self, grad):
        (x,) = self.saved
        centered = x - self.xp.mean(x, axis=self.dims, keepdims=True)
        # n = c divides by zero: NaN (or ±inf), as in PyTorch
        return self._unreduce(grad) * centered * 2 / (self._count(x.shape) - self.correction)


class Std(Spread):
    """y = √var(x).   ∂y/∂x = (x - x̄) / ((n - c)·y)"""

    def forward(self, x):
        self.shape = x.shape
        with self.xp.errstate(divide="ignore", invalid="ignore"):
            y = self.xp.std(x, axis=self.dims, keepdims=self.keepdim, ddof=self.correction)
        self.save_for_backward(x, y)
        return y

    def backward(self, grad):
        x, y = self.saved
        centered = x - self.xp.mean(x, axis=self.dims, keepdims=True)
        return self._unreduce(grad) * centered / (self._unreduce(y) * (self._count(x.shape) - self.correction))


class Prod(Reduction):
    """y = Π x.   ∂y/∂xᵢ = Π_{j≠i} xⱼ  (exact with zeros: no division by a zero xᵢ)"""

    def forward(self, x):
        self.shape = x.shape
        self.save_for_backward(x)
        return self.xp.prod(x, axis=self.dims, keepdims=self.keepdim)

    def backward(self, grad):
        (x,) = self.saved
        xp = self.xp
        is_zero = x == 0
        zeros = xp.sum(is_zero, axis=self.dims, keepdims=True)
        # Product of the non-zero entries: the derivative at a lone zero, and y/xᵢ elsewhere.
        nonzero_product = xp.prod(xp.where(is_zero, 1, x), axis=self.dims, keepdims=True)
        others = xp.where(
            is_zero,
            xp.where(zeros == 1, nonzero_product, 0),
            xp.where(zeros == 0, nonzero_product / xp.where(is_zero, 1, x), 0),
        )
        return self._unreduce(grad) * others


class AMax(Reduction):
    """y = max x.   ∂y/∂x = 1/k at the k entries equal to the maximum, else 0"""

    reduce = "max"

    def forward(self, x):
        self.shape = x.shape
        y = getattr(self.xp, self.reduce)(x, axis=self.dims, keepdims=self.keepdim)
        self.save_for_backward(x, y)
        return y

    def backward(self, grad):
        x, y = self.saved
        xp = self.xp
        is_extreme = x == self._unreduce(y)
        count = xp.sum(is_extreme, axis=self.dims, keepdims=True)
        return xp.where(is_extreme, self._unreduce(grad) / xp.astype(count, grad.dtype), 0)


class AMin(AMax):
    """y = min x.   ∂y/∂x = 1/k at the k entries equal to the minimum, else 0"""

    reduce = "min"


class MaxAlongDim(Function):
    """y = x[argmax] along one dim.   ∂y/∂x = 1 at the returned index, else 0"""

    def __init__(self, dim, keepdim, find):
        self.dim, self.keepdim, self.find = dim, keepdim, find

    def forward(self, x):
        xp = self.xp
        self.indices = xp.expand_dims(getattr(xp, self.find)(x, axis=self.dim), self.dim)
        self.shape = x.shape
        values = xp.take_along_axis(x, self.indices, axis=self.dim)
        return values if self.keepdim else xp.squeeze(values, axis=self.dim)

    def backward(self, grad):
        xp = self.xp
        if not self.keepdim:
            grad = xp.expand_dims(grad, self.dim)
        positions = xp.arange(self.shape[self.dim]).reshape(
            [-1 if d == self.dim else 1 for d in range(len(self.shape))]
        )
        return xp.where(positions == self.indices, grad, 0)


class LogSumExp(Reduction):
    """y = m + ln Σ e^(x - m), m = max x.   ∂y/∂x = e^(x - y)  (softmax)"""

    def forward(self, x):
        self.shape = x.shape
        xp = self.xp
        m = xp.max(x, axis=self.dims, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)  # all -inf (or inf) rows: keep e^(x - m) meaningful
        with xp.errstate(divide="ignore"):
            y = xp.log(xp.sum(xp.exp(x - m), axis=self.dims, keepdims=True)) + m
        if not self.keepdim:
            y = xp.squeeze(y, axis=self.dims)
        self.save_for_backward(x, y)
        return y

    def backward(self, grad):
        x, y = self.saved
        return self._unreduce(grad) * self.xp.exp(x - self._unreduce(y))


def _reduce(op_class, x, dim, keepdim, name, *extra):
    return op_class(normalize_dims(dim, x.ndim, name), keepdim, *extra)(x)


def _float(x):
    return x if x._data.dtype.kind == "f" else x.float()


def sum(x, dim=None, keepdim=False, dtype=None):  # noqa: A001 - PyTorch's name
    """Sum over ``dim`` (all by default): (2, 3).sum(dim=1) -> (2,)."""
    if dtype is not None:
        x = x.to(dtype)
    elif x._data.dtype.kind in "bi" and x._data.dtype.itemsize < 8:
        x = x.long()
    return _reduce(Sum, x, dim, keepdim, "sum")


def mean(x, dim=None, keepdim=False, dtype=None):
    """Mean over ``dim`` (all by default): (2, 3).mean(dim=0) -> (3,)."""
    if dtype is not None:
        x = x.to(dtype)
    if x._data.dtype.kind != "f":
        raise TypeError(f"mean: expected a floating-point tensor, got dtype {x.dtype.name}; use .float() first")
    return _reduce(Mean, x, dim, keepdim, "mean")


def _correction(unbiased, correction):
    if correction is None:
        return 1 if unbiased is None or unbiased else 0
    return correction


def var(x, dim=None, unbiased=None, keepdim=False, correction=None):
    """Variance over ``dim``, dividing by n - correction (default 1, Bessel's correction)."""
    return _reduce(Var, _float(x), dim, keepdim, "var", _correction(unbiased, correction))


def std(x, dim=None, unbiased=None, keepdim=False, correction=None):
    """Standard deviation over ``dim``, dividing by n - correction (default 1)."""
    return _reduce(Std, _float(x), dim, keepdim, "std", _correction(unbiased, correction))


def prod(x, dim=None, keepdim=False):
    """Product over ``dim`` (one dim, or all by default)."""
    return _reduce(Prod, x, dim, keepdim, "prod")


def amax(x, dim=None, keepdim=False):
    """Maximum over ``dim`` (an int or a tuple); ties share the gradient equally."""
    return _reduce(AMax, x, dim, keepdim, "amax")


def amin(x, dim=None, keepdim=False):
    """Minimum over ``dim`` (an int or a tuple); ties share the gradient equally."""
    return _reduce(AMin, x, dim, keepdim, "amin")


def _extreme(x, dim, keepdim, other, pairwise, full, find, name):
    if isinstance(dim, Tensor) or other is not None:
        return pairwise(x, dim if other is None else other)
    if dim is None:
        return _reduce(full, x, None, False, name)
    axis = normalize_dim(dim, x.ndim, name)
    if x.ndim == 0:  # one element: it is the extreme, at index 0
        return ValuesIndices(x.clone(), Tensor._wrap(x._namespace().zeros((), dtype="int64")))
    values = MaxAlongDim(axis, keepdim, find)(x)
    indices = argmax(x, axis, keepdim) if find == "argmax" else argmin(x, axis, keepdim)
    return ValuesIndices(values, indices)


def max(x, dim=None, keepdim=False, other=None):  # noqa: A001 - PyTorch's name
    """``max(x)``: the largest value; ``max(x, dim)``: (values, indices) along ``dim``;
    ``max(x, y)``: the elementwise maximum."""
    from .selection import maximum

    return _extreme(x, dim, keepdim, other, maximum, AMax, "argmax", "max")


def min(x, dim=None, keepdim=False, other=None):  # noqa: A001 - PyTorch's name
    """``min(x)``: the smallest value; ``min(x, dim)``: (values, indices); ``min(x, y)``."""
    from .selection import minimum

    return _extreme(x, dim, keepdim, other, minimum, AMin, "argmin", "min")


def logsumexp(x, dim, keepdim=False):
    """ln Σ eˣ over ``dim``, computed stably (no overflow for large x)."""
    return _reduce(LogSumExp, _float(x), dim, keepdim, "logsumexp")


def _arg(find, x, dim, keepdim, name):
    xp = x._namespace()
    if dim is None:
        result = getattr(xp, find)(x._data)
        if keepdim:
            result = xp.reshape(result, (1,) * x.ndim)
    else:
        axis = normalize_dim(dim, x.ndim, name)
        result = getattr(xp, find)(x._data, axis=axis, keepdims=keepdim)
    return Tensor._wrap(xp.asarray(result, dtype=xp.int64))


def argmax(x, dim=None, keepdim=False):
    """Index of the largest value (of the flattened tensor when ``dim`` is None); int64, no grad."""
    return _arg("argmax", x, dim, keepdim, "argmax")


def argmin(x, dim=None, keepdim=False):
    """Index of the smallest value (of the flattened tensor when ``dim`` is None); int64, no grad."""
    return _arg("argmin", x, dim, keepdim, "argmin")
