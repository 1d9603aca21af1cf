"""Matrix multiplication with NumPy/PyTorch semantics: 1-D operands are promoted to a row or a
column and the added dim removed again; leading (batch) dims broadcast."""

from ..autograd.function import Function
from ..errors import ShapeError
from ..parallel import matmul as blas_matmul
from ..tensor import Tensor
from .operands import same_dtype


class MatMul(Function):
    """C = A·B.   ∂L/∂A = G·Bᵀ,  ∂L/∂B = Aᵀ·G"""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return blas_matmul(self.xp, a, b)

    def backward(self, grad):
        a, b = self.saved
        need_a, need_b = self.needs_input_grad
        xp = self.xp
        if a.ndim == 1 and b.ndim == 1:  # dot product: grad is a scalar
            return (grad * b if need_a else None), (grad * a if need_b else None)
        a2 = xp.expand_dims(a, 0) if a.ndim == 1 else a  # (n,) -> (1, n)
        b2 = xp.expand_dims(b, 1) if b.ndim == 1 else b  # (n,) -> (n, 1)
        grad2 = xp.expand_dims(grad, -2) if a.ndim == 1 else grad
        grad2 = xp.expand_dims(grad2, -1) if b.ndim == 1 else grad2
        grad_a = grad_b = None
        if need_a:
            grad_a = blas_matmul(xp, grad2, xp.swapaxes(b2, -1, -2))
            grad_a = xp.squeeze(grad_a, axis=-2) if a.ndim == 1 else grad_a
        if need_b:
            grad_b = blas_matmul(xp, xp.swapaxes(a2, -1, -2), grad2)
            grad_b = xp.squeeze(grad_b, axis=-1) if b.ndim == 1 else grad_b
        return grad_a, grad_b


def matmul(a, b):
    """Matrix product with batching: (B, N, K) @ (K, M) -> (B, N, M); (K,) @ (K, M) -> (M,).

    Both operands must have the same dtype, as in PyTorch.
    """
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"matmul: expected two Tensors, got {type(a).__name__} and {type(b).__name__}")
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: both operands need at least 1 dim, got shapes {a.shape} and {b.shape}")
    same_dtype("matmul", a, b)
    inner_a = a.shape[-1]
    inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if inner_a != inner_b:
        raise ShapeError(
            f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied ({inner_a} columns vs {inner_b} rows)"
        )
    return MatMul()(a, b)
