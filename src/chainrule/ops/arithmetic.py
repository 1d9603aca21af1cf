"""Elementwise arithmetic: + - * / ** and negation, broadcasting as NumPy and PyTorch do.

Each backward returns gradients of the broadcast output's shape; the engine sums them back to
each input's shape.
"""

from ..autograd.function import Function
from ..dtypes import get_default_dtype
from ..tensor import Tensor
from .operands import operands


class Add(Function):
    """z = a + b.   ∂z/∂a = 1, ∂z/∂b = 1"""

    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        return grad, grad


class Sub(Function):
    """z = a - b.   ∂z/∂a = 1, ∂z/∂b = -1"""

    def forward(self, a, b):
        return a - b

    def backward(self, grad):
        return grad, -grad


class Mul(Function):
    """z = a · b.   ∂z/∂a = b, ∂z/∂b = a"""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    def backward(self, grad):
        a, b = self.saved
        need_a, need_b = self.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)


class Div(Function):
    """z = a / b.   ∂z/∂a = 1/b, ∂z/∂b = -a/b²"""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        with self.xp.errstate(divide="ignore", invalid="ignore"):
            return a / b

    def backward(self, grad):
        a, b = self.saved
        need_a, need_b = self.needs_input_grad
        return (grad / b if need_a else None), (-grad * a / (b * b) if need_b else None)


class Neg(Function):
    """z = -a.   ∂z/∂a = -1"""

    def forward(self, a):
        return -a

    def backward(self, grad):
        return -grad


class Pow(Function):
    """z = aᵇ.   ∂z/∂a = b·aᵇ⁻¹ (0 where b = 0),  ∂z/∂b = aᵇ·ln a (0 where a = 0 and b ≥ 0)"""

    def forward(self, a, b):
        with self.xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
            z = a**b
        self.save_for_backward(a, b, z)
        return z

    def backward(self, grad):
        a, b, z = self.saved
        need_a, need_b = self.needs_input_grad
        xp = self.xp
        grad_a = grad_b = None
        if need_a:
            grad_a = xp.where(b == 0, 0, grad * b * a ** (b - 1))
        if need_b:
            grad_b = xp.where((a == 0) & (b >= 0), 0, grad * z * xp.log(a))
        return grad_a, grad_b


def add(a, b, alpha=1):
    """a + alpha·b with broadcasting: (3, 1) + (1, 4) -> (3, 4)."""
    if alpha != 1:
        b = mul(b, alpha)
    return Add()(*operands(a, b))


def sub(a, b, alpha=1):
    """a - alpha·b with broadcasting."""
    if alpha != 1:
        b = mul(b, alpha)
    return Sub()(*operands(a, b))


def mul(a, b):
    """a · b elementwise with broadcasting."""
    return Mul()(*operands(a, b))


def div(a, b):
    """a / b elementwise with broadcasting (true division, a float result)."""
    a, b = operands(a, b)
    if a._data.dtype.kind != "f":
        float_type = get_default_dtype().numpy
        a, b = Tensor._wrap(a._data.astype(float_type)), Tensor._wrap(b._data.astype(float_type))
    return Div()(a, b)


def neg(a):
    """-a."""
    return Neg()(a)


def pow(a, b):  # noqa: A001 - PyTorch's name
    """a ** b elementwise; either may be a Python number."""
    return Pow()(*operands(a, b))


def rsub(a, b):
    return sub(b, a)


def rdiv(a, b):
    return div(b, a)


def rpow(a, b):
    return pow(b, a)
