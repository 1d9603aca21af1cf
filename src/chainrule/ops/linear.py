"""The fused affine map of a fully connected layer, y = x·Wᵀ + b: the MLP's hot path.

One node instead of matmul + transpose + add: the forward is one GEMM (on a transposed view of W,
which BLAS reads without a copy) and an in-place add of b; the backward is at most two GEMMs and a
column sum. Leading (batch) dims of x are flattened into the GEMM's rows, never copied when x is
contiguous.
"""

from ..autograd.function import Function
from ..errors import DTypeError, ShapeError
from ..parallel import matmul
from ..tensor import Tensor


class Linear(Function):
    """y = x·Wᵀ + b,  x: (*, in), W: (out, in), b: (out,) -> y: (*, out).

    With G = ∂L/∂y and the batch dims flattened (X: (N, in), G: (N, out)):
    ∂L/∂x = G·W,   ∂L/∂W = Gᵀ·X,   ∂L/∂b = Σₙ Gₙ
    """

    def forward(self, x, weight, bias=None):
        self.save_for_backward(x, weight)
        if x.ndim <= 2:
            y = matmul(self.xp, x, weight.T)
        else:
            rows = x.reshape(-1, x.shape[-1])  # (N, in): a view when x is contiguous
            y = matmul(self.xp, rows, weight.T).reshape(x.shape[:-1] + (weight.shape[0],))
        if bias is not None:
            y += bias  # y is a fresh array: add in place, no copy
        return y

    def backward(self, grad):
        x, weight = self.saved
        xp = self.xp
        need = self.needs_input_grad
        grad_x = grad_weight = grad_bias = None
        flat = x.ndim > 2
        grad_rows = xp.reshape(grad, (-1, grad.shape[-1])) if flat else grad  # (N, out)
        if need[0]:
            grad_x = matmul(xp, grad_rows, weight)  # (N, in)
            if flat:
                grad_x = xp.reshape(grad_x, x.shape)
        if need[1]:
            if x.ndim == 1:  # y = W·x: ∂W is the outer product G xᵀ
                grad_weight = matmul(xp, xp.reshape(grad, (-1, 1)), xp.reshape(x, (1, -1)))
            else:
                rows = xp.reshape(x, (-1, x.shape[-1])) if flat else x
                grad_weight = matmul(xp, xp.swapaxes(grad_rows, 0, 1), rows)  # (out, in)
        if len(need) == 3 and need[2]:
            grad_bias = xp.sum(grad_rows, axis=0) if grad_rows.ndim == 2 else grad_rows
        if len(need) == 3:
            return grad_x, grad_weight, grad_bias
        return grad_x, grad_weight


def linear(input, weight, bias=None):  # noqa: A002 - PyTorch's argument name
    """The affine map y = x·Wᵀ + b (PyTorch's ``F.linear``).

    input: (*, in_features), weight: (out_features, in_features), bias: (out_features,) or None
    -> (*, out_features).

    Example::

        >>> F.linear(cr.ones(4, 3), cr.ones(2, 3), cr.zeros(2)).shape      # (4, 3) -> (4, 2)
        (4, 2)
    """
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(f"linear: expected Tensors, got {type(input).__name__} and {type(weight).__name__}")
    x, w = input._data, weight._data
    if w.ndim != 2:
        raise ShapeError(f"linear: weight must be 2-D (out_features, in_features), got shape {tuple(w.shape)}")
    if x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ShapeError(
            f"linear: input of shape {tuple(x.shape)} does not fit weight of shape {tuple(w.shape)}: "
            f"expected the last dim to be in_features={w.shape[1]}"
        )
    if x.dtype != w.dtype:
        raise DTypeError(f"linear: input is {input.dtype.name} but weight is {weight.dtype.name}; cast one of them")
    if bias is None:
        return Linear()(input, weight)
    b = bias._data
    if b.shape != (w.shape[0],):
        raise ShapeError(f"linear: bias must have shape ({w.shape[0]},) (out_features), got {tuple(b.shape)}")
    if b.dtype != w.dtype:
        raise DTypeError(f"linear: bias is {bias.dtype.name} but weight is {weight.dtype.name}")
    return Linear()(input, weight, bias)
