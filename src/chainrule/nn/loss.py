"""Loss modules with PyTorch's names, constructor arguments and defaults.

Each is a ``Module`` without parameters that calls its ``nn.functional`` form; ``weight`` and
``pos_weight`` are registered as buffers (so they follow ``.to()`` and appear in ``state_dict``),
as in PyTorch.

Example::

    >>> loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    >>> loss = loss_fn(model(x), y)          # logits (N, C), y (N,) int64 -> ()
    >>> loss.backward()
"""

from ..ops import loss as F
from ..ops.loss_reduction import legacy_reduction
from .module import Module

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "HuberLoss",
    "KLDivLoss",
    "L1Loss",
    "MSELoss",
    "NLLLoss",
    "SmoothL1Loss",
]


class _Loss(Module):
    """Base of the losses: holds ``reduction`` ('none' | 'mean' | 'sum'; PyTorch's deprecated
    ``size_average`` and ``reduce`` flags map onto it)."""

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        self.reduction = legacy_reduction(size_average, reduce, reduction)


class _WeightedLoss(_Loss):
    """A loss with a per-class (or per-element) ``weight`` buffer."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class MSELoss(_Loss):
    """Mean squared error (x - y)².   input, target: (*) -> () or (*) with reduction='none'."""

    def forward(self, input, target):  # noqa: A002 - PyTorch's argument name
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error |x - y|.   input, target: (*) -> () or (*) with reduction='none'."""

    def forward(self, input, target):  # noqa: A002
        return F.l1_loss(input, target, reduction=self.reduction)


class HuberLoss(_Loss):
    """Huber loss with threshold ``delta``: ½d² inside, δ(|d| - ½δ) outside.   (*) -> () or (*)."""

    def __init__(self, reduction="mean", delta=1.0):
        if not isinstance(delta, (float, int)):
            raise TypeError(f"HuberLoss: delta must be a float or int, got {type(delta).__name__}")
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):  # noqa: A002
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class SmoothL1Loss(_Loss):
    """Smooth L1 with threshold ``beta``: ½d²/β inside, |d| - ½β outside.   (*) -> () or (*)."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input, target):  # noqa: A002
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class CrossEntropyLoss(_WeightedLoss):
    """Cross-entropy of logits against class indices or class probabilities (see
    ``F.cross_entropy``).   input (N, C) or (N, C, d1, ...), target (N,) int64 or (N, C) -> ()."""

    def __init__(
        self,
        weight=None,
        size_average=None,
        ignore_index=-100,
        reduce=None,  # noqa: A002 - PyTorch's argument name
        reduction="mean",
        label_smoothing=0.0,
    ):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):  # noqa: A002
        return F.cross_entropy(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities at class indices.   (N, C), (N,) int64 -> ()."""

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):  # noqa: A002
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):  # noqa: A002
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index, reduction=self.reduction)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities in [0, 1].   input, target: (*) -> () or (*)."""

    def forward(self, input, target):  # noqa: A002
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy from logits, stable; ``pos_weight`` (e.g. (C,)) weighs positives.
    input (logits), target: (*) -> () or (*)."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None):  # noqa: A002
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):  # noqa: A002
        return F.binary_cross_entropy_with_logits(
            input, target, self.weight, pos_weight=self.pos_weight, reduction=self.reduction
        )


class KLDivLoss(_Loss):
    """KL divergence of the target from log-probabilities ``input``; ``reduction`` may also be
    'batchmean' (Σ / N, the true KL per sample); ``log_target`` when the target is log-probabilities."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):  # noqa: A002
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input, target):  # noqa: A002
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)
