"""softmax and log_softmax along one dim, computed stably by subtracting the maximum first."""

from ..autograd.function import Function
from .operands import normalize_dim


class Softmax(Function):
    """yᵢ = e^xᵢ / Σⱼ e^xⱼ.   ∂L/∂x = y ⊙ (g - Σ g ⊙ y)"""

    def __init__(self, dim):
        self.dim = dim

    def forward(self, x):
        xp = self.xp
        e = xp.exp(x - xp.max(x, axis=self.dim, keepdims=True))
        y = e / xp.sum(e, axis=self.dim, keepdims=True)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved
        return y * (grad - self.xp.sum(grad * y, axis=self.dim, keepdims=True))


class LogSoftmax(Function):
    """yᵢ = xᵢ - ln Σⱼ e^xⱼ.   ∂L/∂x = g - softmax(x) ⊙ Σ g,  softmax(x) = e^y"""

    def __init__(self, dim):
        self.dim = dim

    def forward(self, x):
        xp = self.xp
        shifted = x - xp.max(x, axis=self.dim, keepdims=True)
        y = shifted - xp.log(xp.sum(xp.exp(shifted), axis=self.dim, keepdims=True))
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved
        xp = self.xp
        return grad - xp.exp(y) * xp.sum(grad, axis=self.dim, keepdims=True)


def _float(x, dtype):
    if dtype is not None:
        return x.to(dtype)
    return x if x._data.dtype.kind == "f" else x.float()


def softmax(x, dim, dtype=None):
    """Normalized exponentials along ``dim``: each slice sums to 1. (N, C) -> (N, C)."""
    return Softmax(normalize_dim(dim, x.ndim, "softmax"))(_float(x, dtype))


def log_softmax(x, dim, dtype=None):
    """log(softmax(x)) along ``dim``, without computing softmax first (stable). (N, C) -> (N, C)."""
    return LogSoftmax(normalize_dim(dim, x.ndim, "log_softmax"))(_float(x, dtype))
