"""What every loss shares: the ``reduction`` argument, the checks at the boundary, and the base
class of the fused losses (which reduce inside their own forward).

``reduction='none'`` keeps one loss per element, ``'sum'`` adds them, ``'mean'`` divides the sum by
the number of elements (or, for class-weighted losses, by the total weight of the targets).
PyTorch's deprecated ``size_average`` and ``reduce`` flags are accepted and mapped to ``reduction``
the way PyTorch maps them.
"""

import warnings

from ..autograd.function import Function
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor

REDUCTIONS = ("none", "mean", "sum")


def legacy_reduction(size_average, reduce, reduction):
    """``reduction`` from PyTorch's deprecated flags when either is given (with PyTorch's warning)."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    reduction = "none" if not reduce else "mean" if size_average else "sum"
    warnings.warn(
        f"size_average and reduce args will be deprecated, please use reduction='{reduction}' instead.",
        stacklevel=3,
    )
    return reduction


def check_reduction(name, reduction, allowed=REDUCTIONS):
    if reduction not in allowed:
        expected = ", ".join(repr(r) for r in allowed[:-1]) + f" or {allowed[-1]!r}"
        raise ValueError(f"{name}: reduction must be {expected}, got {reduction!r}")
    return reduction


def check_tensor(name, what, value, float_only=True):
    """A Tensor (of a floating dtype, when ``float_only``), else a TypeError naming what was found."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{name}: expected {what} to be a Tensor, got {type(value).__name__}")
    if float_only and value._data.dtype.kind != "f":
        raise DTypeError(f"{name}: expected {what} of a floating-point dtype, got {value.dtype.name}")
    return value


def check_same_shape(name, input, target, what="target"):  # noqa: A002 - PyTorch's argument name
    """Elementwise losses compare element with element: broadcasting the target would silently
    compute something else (PyTorch warns; chainrule refuses)."""
    if tuple(target.shape) != tuple(input.shape):
        raise ShapeError(
            f"{name}: expected {what} of the input's shape {tuple(input.shape)}, got {tuple(target.shape)}"
            " (broadcasting them would compare every element with every other; reshape one of them)"
        )


def check_broadcasts_to(name, what, value, shape):
    """A weight that broadcasts to the loss's shape without enlarging it."""
    shape = tuple(shape)
    value_shape = tuple(value.shape)
    fits = len(value_shape) <= len(shape) and all(v in (1, s) for v, s in zip(reversed(value_shape), reversed(shape)))
    if not fits:
        raise ShapeError(f"{name}: expected {what} broadcastable to the input's shape {shape}, got {value_shape}")


def check_dtype_matches(name, what, value, input):  # noqa: A002 - PyTorch's argument name
    if value._data.dtype != input._data.dtype:
        raise DTypeError(f"{name}: expected {what} of the input's dtype {input.dtype.name}, got {value.dtype.name}")


def reduce(losses, reduction):
    """Reduce a Tensor of per-element losses with the ops (for losses built from ops)."""
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.mean()


class ReducedLoss(Function):
    """Base of the fused losses. ``forward`` computes per-element losses and calls ``reduce``;
    ``backward`` gets the gradient of each per-element loss from ``per_element(grad)``:

        'none': ∂L/∂ℓᵢ = gᵢ      'sum': ∂L/∂ℓᵢ = g      'mean': ∂L/∂ℓᵢ = g / divisor
    """

    def __init__(self, reduction):
        self.reduction = reduction

    def reduce(self, losses, divisor=None):
        """losses: (*) -> (*) for 'none', () otherwise; ``divisor`` defaults to the element count."""
        if self.reduction == "none":
            return losses
        total = self.xp.sum(losses)
        if self.reduction == "sum":
            return total
        self.divisor = losses.size if divisor is None else divisor
        with self.xp.errstate(divide="ignore", invalid="ignore"):  # nothing to average: NaN, as in PyTorch
            return total / self.divisor

    def per_element(self, grad):
        """The gradient of each per-element loss: (*) for 'none', a scalar that broadcasts otherwise."""
        return grad / self.divisor if self.reduction == "mean" else grad
