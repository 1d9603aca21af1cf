"""Ops that pick elementwise between values: where, maximum, minimum, clamp."""

import numbers

from ..autograd.function import Function
from ..errors import DTypeError
from ..tensor import Tensor
from .operands import operands


class Where(Function):
    """z = a where c else b.   ∂z/∂a = c, ∂z/∂b = not c"""

    def forward(self, condition, a, b):
        self.save_for_backward(condition)
        return self.xp.where(condition, a, b)

    def backward(self, grad):
        (condition,) = self.saved
        _, need_a, need_b = self.needs_input_grad
        xp = self.xp
        return (
            None,
            xp.where(condition, grad, 0) if need_a else None,
            xp.where(condition, 0, grad) if need_b else None,
        )


class Maximum(Function):
    """z = max(a, b).   ∂z/∂a = 1 where a > b, ½ where a = b, else 0 (as PyTorch)"""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return self.xp.maximum(a, b)

    def backward(self, grad):
        a, b = self.saved
        return _split_by_winner(self.xp, grad, a > b, a == b, self.needs_input_grad)


class Minimum(Function):
    """z = min(a, b).   ∂z/∂a = 1 where a < b, ½ where a = b, else 0 (as PyTorch)"""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return self.xp.minimum(a, b)

    def backward(self, grad):
        a, b = self.saved
        return _split_by_winner(self.xp, grad, a < b, a == b, self.needs_input_grad)


def _split_by_winner(xp, grad, a_wins, tie, needs_input_grad):
    """The gradient goes to the winning operand; a tie splits it in half."""
    half = grad * 0.5
    grad_a = xp.where(tie, half, xp.where(a_wins, grad, 0)) if needs_input_grad[0] else None
    grad_b = xp.where(tie, half, xp.where(a_wins, 0, grad)) if needs_input_grad[1] else None
    return grad_a, grad_b


class Clamp(Function):
    """y = min(max(x, lo), hi).   dy/dx = 1 where lo ≤ x ≤ hi, else 0"""

    def __init__(self, low, high):
        self.low, self.high = low, high

    def forward(self, x):
        self.save_for_backward(x)
        return self.xp.clip(x, self.low, self.high)

    def backward(self, grad):
        (x,) = self.saved
        above_low = True if self.low is None else x >= self.low
        below_high = True if self.high is None else x <= self.high
        inside = above_low & below_high
        return self.xp.where(inside, grad, 0)


def where(condition, input, other):  # noqa: A002 - PyTorch's argument names
    """Elementwise ``input if condition else other``, broadcasting all three.

    Example::

        >>> cr.where(x > 0, x, 0.1 * x)      # x: (N,) -> (N,), a leaky ReLU
    """
    if not isinstance(condition, Tensor):
        raise TypeError(f"where: condition must be a bool Tensor, got {type(condition).__name__}")
    if condition._data.dtype.kind != "b":
        raise DTypeError(f"where: condition must have dtype bool, got {condition.dtype.name}")
    input, other = operands(input, other)
    return Where()(condition, input, other)


def maximum(a, b):
    """Elementwise maximum with broadcasting; ties share the gradient equally."""
    return Maximum()(*operands(a, b))


def minimum(a, b):
    """Elementwise minimum with broadcasting; ties share the gradient equally."""
    return Minimum()(*operands(a, b))


def clamp(x, min=None, max=None):  # noqa: A002 - PyTorch's argument names
    """Limit values to [min, max]; either bound may be None, a number or a Tensor.

    Example::

        >>> cr.clamp(cr.tensor([-2.0, 0.5, 3.0]), min=0, max=1)
        tensor([0.0000, 0.5000, 1.0000])
    """
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        # Tensor bounds: the gradient goes to whichever value was chosen, as in PyTorch.
        result = x
        if min is not None:
            result = where(x < min, min, result)
        if max is not None:
            result = where(x > max, max, result)
        return result
    for name, bound in (("min", min), ("max", max)):
        if bound is not None and not isinstance(bound, numbers.Real):
            raise TypeError(f"clamp: {name} must be a number or a Tensor, got {type(bound).__name__}")
    if x._data.dtype.kind != "f" and any(isinstance(b, float) for b in (min, max)):
        x = x.float()
    return Clamp(min, max)(x)


clip = clamp
