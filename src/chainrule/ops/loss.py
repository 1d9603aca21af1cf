"""Loss functions under PyTorch's ``torch.nn.functional`` names, each with ``reduction``.

Regression losses and KL divergence are built from the differentiable ops here (their gradients,
first and second order, come from those ops); the classification losses are fused ops in
``loss_cross_entropy`` and ``loss_binary``. Input and target share one shape (*): chainrule
refuses to broadcast a target against a differently shaped input, where PyTorch only warns.
"""

import warnings

from .loss_binary import binary_cross_entropy, binary_cross_entropy_with_logits
from .loss_cross_entropy import cross_entropy, nll_loss
from .loss_reduction import (
    REDUCTIONS,
    check_reduction,
    check_same_shape,
    check_tensor,
    legacy_reduction,
)
from .loss_reduction import reduce as reduce_losses  # `reduce` is PyTorch's (deprecated) argument name
from .selection import where

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "mse_loss",
    "nll_loss",
    "smooth_l1_loss",
]


def _difference(name, input, target):  # noqa: A002 - PyTorch's argument name
    check_tensor(name, "input", input)
    check_tensor(name, "target", target)
    check_same_shape(name, input, target)
    return input - target


def _weighted_reduce(name, losses, reduction, weight, mean_by_weight=True):
    """PyTorch's elementwise ``weight`` (of the input's shape): 'mean' is Σ w·ℓ / Σ w, except for
    huber_loss, where PyTorch divides by the number of elements."""
    if weight is None:
        return reduce_losses(losses, reduction)
    check_tensor(name, "weight", weight)
    check_same_shape(name, losses, weight, what="weight")
    weighted = losses * weight
    if reduction == "mean" and mean_by_weight:
        return weighted.sum() / weight.sum()
    return reduce_losses(weighted, reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):  # noqa: A002
    """Mean squared error: ℓ = (x - y)².   input, target: (*) -> () or (*) with reduction='none'.

    Example::

        >>> F.mse_loss(cr.tensor([1.0, 2.0]), cr.tensor([0.0, 4.0]))       # (1 + 4) / 2
        tensor(2.5000)
    """
    name = "mse_loss"
    reduction = check_reduction(name, legacy_reduction(size_average, reduce, reduction))
    difference = _difference(name, input, target)
    return _weighted_reduce(name, difference * difference, reduction, weight)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):  # noqa: A002
    """Mean absolute error: ℓ = |x - y| (gradient 0 where x = y).   (*) -> () or (*).

    Example::

        >>> F.l1_loss(cr.tensor([1.0, 2.0]), cr.tensor([0.0, 4.0]))        # (1 + 2) / 2
        tensor(1.5000)
    """
    name = "l1_loss"
    reduction = check_reduction(name, legacy_reduction(size_average, reduce, reduction))
    return _weighted_reduce(name, abs(_difference(name, input, target)), reduction, weight)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):  # noqa: A002
    """Huber loss: ℓ = ½d² where |d| < δ, else δ(|d| - ½δ), d = x - y.   (*) -> () or (*).

    Example::

        >>> F.huber_loss(cr.tensor([0.5, 3.0]), cr.tensor([0.0, 0.0]))     # (0.125 + 2.5) / 2
        tensor(1.3125)
    """
    name = "huber_loss"
    reduction = check_reduction(name, reduction)
    if not delta > 0:
        raise ValueError(f"{name}: expected delta > 0, got {delta}")
    difference = _difference(name, input, target)
    size = abs(difference)
    losses = where(size < delta, 0.5 * difference * difference, delta * (size - 0.5 * delta))
    return _weighted_reduce(name, losses, reduction, weight, mean_by_weight=False)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):  # noqa: A002
    """Smooth L1: ℓ = ½d²/β where |d| < β, else |d| - ½β, d = x - y; β = 0 is L1.  (*) -> () or (*).

    Example::

        >>> F.smooth_l1_loss(cr.tensor([0.5, 3.0]), cr.tensor([0.0, 0.0]))  # (0.125 + 2.5) / 2
        tensor(1.3125)
    """
    name = "smooth_l1_loss"
    reduction = check_reduction(name, legacy_reduction(size_average, reduce, reduction))
    if beta < 0:
        raise ValueError(f"{name}: expected beta >= 0, got {beta}")
    difference = _difference(name, input, target)
    size = abs(difference)
    if beta == 0:
        return reduce_losses(size, reduction)
    return reduce_losses(where(size < beta, 0.5 * difference * difference / beta, size - 0.5 * beta), reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):  # noqa: A002
    """Kullback-Leibler divergence of the target from the input, as PyTorch's.

    input: log-probabilities (*); target: probabilities (*) or, with ``log_target``, their logs.
    ℓ = t·(ln t - x) (0 where t = 0), or e^t·(t - x) with log_target. reduction='batchmean'
    divides Σℓ by the batch size N = input.shape[0] (the KL divergence per sample); 'mean' divides
    by every element, with PyTorch's warning.

    Example::

        >>> log_q = F.log_softmax(cr.randn(4, 3), dim=1)                  # (N, C)
        >>> F.kl_div(log_q, F.softmax(cr.randn(4, 3), dim=1), reduction="batchmean")   # ()
    """
    name = "kl_div"
    reduction = check_reduction(name, legacy_reduction(size_average, reduce, reduction), REDUCTIONS + ("batchmean",))
    check_tensor(name, "input", input)
    check_tensor(name, "target", target)
    check_same_shape(name, input, target)
    if reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support size."
            "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
            "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
            stacklevel=2,
        )
    if log_target:
        losses = target.exp() * (target - input)
    else:  # t·ln t is taken as 0 at t = 0 (PyTorch's xlogy); ln of a negative t is NaN, as there
        losses = target * where(target == 0, 1.0, target).log() - target * input
    if reduction == "batchmean":
        total = losses.sum()
        return total / input.shape[0] if input.ndim else total
    return reduce_losses(losses, reduction)
