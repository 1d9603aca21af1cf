"""Activations beyond relu/sigmoid/tanh (those are in unary.py): leaky_relu, elu, gelu, silu, softplus.

Each backward rule is written with ``self.xp`` and operators, so it also runs on Tensors under
``create_graph=True``. The differentiable namespace has no tanh, sigmoid or erf, so ``_tanh``,
``_sigmoid`` and ``_erf`` pick the Tensor op or the array function by what they are given.
"""

import math

from ..autograd.function import Function
from ..tensor import Tensor
from .special import erf, erf_array
from .unary import sigmoid, tanh

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_TWO_PI = 1 / math.sqrt(2 * math.pi)
_SQRT_TWO_OVER_PI = math.sqrt(2 / math.pi)
_GELU_CUBIC = 0.044715


def _tanh(xp, x):
    return tanh(x) if isinstance(x, Tensor) else xp.tanh(x)


def _sigmoid(xp, x):
    if isinstance(x, Tensor):
        return sigmoid(x)
    return xp.exp(-xp.logaddexp(0, -x))  # never overflows


def _erf(xp, x):
    return erf(x) if isinstance(x, Tensor) else erf_array(xp, x)


class LeakyReLU(Function):
    """y = x for x > 0, else s·x.   dy/dx = 1 for x > 0, else s"""

    def __init__(self, negative_slope):
        self.negative_slope = negative_slope

    def forward(self, x):
        self.save_for_backward(x)
        return self.xp.where(x > 0, x, x * self.negative_slope)

    def backward(self, grad):
        (x,) = self.saved
        return self.xp.where(x > 0, grad, grad * self.negative_slope)


class ELU(Function):
    """y = x for x > 0, else α(eˣ - 1).   dy/dx = 1 for x > 0, else α eˣ = y + α"""

    def __init__(self, alpha):
        self.alpha = alpha

    def forward(self, x):
        xp = self.xp
        y = xp.where(x > 0, x, self.alpha * xp.expm1(xp.minimum(x, 0)))  # no overflow for large x
        self.save_for_backward(x, y)
        return y

    def backward(self, grad):
        x, y = self.saved
        return self.xp.where(x > 0, grad, grad * (y + self.alpha))


class GELU(Function):
    """y = x·Φ(x), Φ the standard normal CDF:  Φ(x) = ½(1 + erf(x/√2)).
    dy/dx = Φ(x) + x·φ(x),  φ(x) = e^(-x²/2)/√(2π)

    approximate='tanh':  y = ½x(1 + tanh u),  u = √(2/π)(x + 0.044715x³)
    dy/dx = ½(1 + tanh u) + ½x(1 - tanh²u)·√(2/π)(1 + 3·0.044715x²)
    """

    def __init__(self, approximate):
        self.approximate = approximate

    def _inner(self, x):
        return _SQRT_TWO_OVER_PI * (x + _GELU_CUBIC * x * x * x)

    def forward(self, x):
        self.save_for_backward(x)
        if self.approximate == "tanh":
            return 0.5 * x * (1 + self.xp.tanh(self._inner(x)))
        return 0.5 * x * (1 + erf_array(self.xp, x * _SQRT_HALF))

    def backward(self, grad):
        (x,) = self.saved
        xp = self.xp
        if self.approximate == "tanh":
            t = _tanh(xp, self._inner(x))
            slope = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * (_SQRT_TWO_OVER_PI * (1 + 3 * _GELU_CUBIC * x * x))
        else:
            cdf = 0.5 * (1 + _erf(xp, x * _SQRT_HALF))
            slope = cdf + x * (_INV_SQRT_TWO_PI * xp.exp(-0.5 * x * x))
        return grad * slope


class SiLU(Function):
    """y = x·σ(x).   dy/dx = σ(x)(1 + x(1 - σ(x)))"""

    def forward(self, x):
        self.save_for_backward(x)
        return x * _sigmoid(self.xp, x)

    def backward(self, grad):
        (x,) = self.saved
        s = _sigmoid(self.xp, x)
        return grad * (s * (1 + x * (1 - s)))


class Softplus(Function):
    """y = ln(1 + e^(βx))/β, and y = x where βx > threshold (PyTorch's linear tail).
    dy/dx = σ(βx), and 1 where βx > threshold"""

    def __init__(self, beta, threshold):
        self.beta = beta
        self.threshold = threshold

    def forward(self, x):
        xp = self.xp
        self.save_for_backward(x)
        scaled = x * self.beta
        return xp.where(scaled > self.threshold, x, xp.logaddexp(0, scaled) / self.beta)

    def backward(self, grad):
        (x,) = self.saved
        scaled = x * self.beta
        return self.xp.where(scaled > self.threshold, grad, grad * _sigmoid(self.xp, scaled))


def _floating(name, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point tensor, got {x.dtype.name}")
    return x


def leaky_relu(input, negative_slope=0.01, inplace=False):  # noqa: A002 - PyTorch's argument names
    """x for x > 0, else negative_slope·x: (*) -> (*). ``inplace`` is accepted and ignored (the
    result is always a new tensor)."""
    return LeakyReLU(float(negative_slope))(_floating("leaky_relu", input))


def elu(input, alpha=1.0, inplace=False):  # noqa: A002
    """x for x > 0, else alpha·(eˣ - 1): (*) -> (*). ``inplace`` is accepted and ignored."""
    return ELU(float(alpha))(_floating("elu", input))


def gelu(input, approximate="none"):  # noqa: A002
    """x·Φ(x) with Φ the standard normal CDF (``approximate='none'``, exact with erf), or PyTorch's tanh
    approximation (``approximate='tanh'``): (*) -> (*).

    Example::

        >>> F.gelu(cr.tensor([-1.0, 0.0, 1.0]))
        tensor([-0.1587,  0.0000,  0.8413])
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU(approximate)(_floating("gelu", input))


def silu(input, inplace=False):  # noqa: A002
    """x·σ(x) (also called swish): (*) -> (*). ``inplace`` is accepted and ignored."""
    return SiLU()(_floating("silu", input))


def softplus(input, beta=1.0, threshold=20.0):  # noqa: A002
    """ln(1 + e^(βx))/β, reverting to x where βx > threshold, as PyTorch does: (*) -> (*)."""
    if beta == 0:
        raise ValueError("softplus: beta must be non-zero")
    return Softplus(float(beta), float(threshold))(_floating("softplus", input))
