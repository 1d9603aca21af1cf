"""Activation layers: ReLU, Sigmoid, Tanh, LeakyReLU, ELU, GELU, SiLU, Softplus, Softmax, LogSoftmax.

Each is a thin Module over its op in ``chainrule.ops`` (also in ``nn.functional``), with PyTorch's
arguments and ``repr``. ``inplace=True`` is accepted for compatibility and computes out of place
(the result is the same; only memory reuse differs).
"""

import warnings

from ..ops.activation import elu, gelu, leaky_relu, silu, softplus
from ..ops.softmax import log_softmax, softmax
from ..ops.unary import relu, sigmoid, tanh
from .module import Module

__all__ = ["ELU", "GELU", "LeakyReLU", "LogSoftmax", "ReLU", "SiLU", "Sigmoid", "Softmax", "Softplus", "Tanh"]


class ReLU(Module):
    """max(x, 0) elementwise: (*) -> (*)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):  # noqa: A002 - PyTorch's argument name
        return relu(input)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class Sigmoid(Module):
    """1/(1 + e⁻ˣ) elementwise: (*) -> (*)."""

    def forward(self, input):  # noqa: A002
        return sigmoid(input)


class Tanh(Module):
    """tanh x elementwise: (*) -> (*)."""

    def forward(self, input):  # noqa: A002
        return tanh(input)


class LeakyReLU(Module):
    """x for x > 0, else negative_slope·x: (*) -> (*)."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input):  # noqa: A002
        return leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """x for x > 0, else alpha·(eˣ - 1): (*) -> (*)."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input):  # noqa: A002
        return elu(input, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GELU(Module):
    """x·Φ(x), Φ the standard normal CDF (exact, via erf), or its tanh approximation with
    ``approximate='tanh'``: (*) -> (*)."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input):  # noqa: A002
        return gelu(input, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """x·σ(x) elementwise (swish): (*) -> (*)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):  # noqa: A002
        return silu(input)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class Softplus(Module):
    """ln(1 + e^(βx))/β, and x where βx > threshold: (*) -> (*)."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input):  # noqa: A002
        return softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    """Normalized exponentials along ``dim`` (each slice sums to 1): (*) -> (*).

    Example::

        >>> nn.Softmax(dim=1)(cr.zeros(2, 4))     # (2, 4), every entry 0.25
    """

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):  # noqa: A002
        return softmax(input, _implicit_dim(self.dim, input))

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log(softmax(x)) along ``dim``, computed stably: (*) -> (*)."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):  # noqa: A002
        return log_softmax(input, _implicit_dim(self.dim, input))

    def extra_repr(self):
        return f"dim={self.dim}"


def _implicit_dim(dim, input):  # noqa: A002
    """PyTorch's legacy rule for dim=None: dim 0 for 0-, 1- and 3-D inputs, else dim 1, with a warning
    as in PyTorch (pass dim explicitly)."""
    if dim is not None:
        return dim
    warnings.warn("Implicit dimension choice for softmax has been deprecated: pass dim", UserWarning, stacklevel=3)
    return 0 if input.ndim in (0, 1, 3) else 1
