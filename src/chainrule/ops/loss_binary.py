"""Binary cross-entropy, on probabilities (BCELoss) and on logits (BCEWithLogitsLoss, fused, stable).

Shapes: input and target of one shape (*); ``weight`` and ``pos_weight`` broadcast to it.
"""

from .loss_reduction import (
    ReducedLoss,
    check_broadcasts_to,
    check_dtype_matches,
    check_reduction,
    check_same_shape,
    check_tensor,
    legacy_reduction,
)

# PyTorch's bounds: log terms clamped at -100 (so 0·log 0 is 0, not NaN) and, in the gradient,
# x(1 - x) kept above 1e-12.
LOG_FLOOR = -100.0
EPSILON = 1e-12


class BinaryCrossEntropy(ReducedLoss):
    """ℓ = -w·(t·max(ln x, -100) + (1 - t)·max(ln(1 - x), -100))   for probabilities x ∈ [0, 1].

    ∂ℓ/∂x = w·(x - t) / max(x(1 - x), 1e-12)        ∂ℓ/∂t = w·(ln(1 - x) - ln x)   (PyTorch's rules)
    """

    def __init__(self, weight, reduction):
        super().__init__(reduction)
        self.weight = weight

    def forward(self, x, t):
        xp = self.xp
        with xp.errstate(divide="ignore"):
            log_x = xp.maximum(xp.log(x), LOG_FLOOR)
            log_rest = xp.maximum(xp.log1p(-x), LOG_FLOOR)
        losses = -(t * log_x + (1 - t) * log_rest)
        if self.weight is not None:
            losses = losses * self.weight
        self.save_for_backward(x, t)
        return self.reduce(losses)

    def backward(self, grad):
        x, t = self.saved
        xp = self.xp
        g = self.per_element(grad)
        if self.weight is not None:
            g = g * self.weight
        spread = x * (1 - x)
        grad_x = g * (x - t) / xp.where(spread > EPSILON, spread, EPSILON)
        grad_t = g * (xp.log(1 - x) - xp.log(x)) if self.needs_input_grad[1] else None
        return grad_x, grad_t


class BinaryCrossEntropyWithLogits(ReducedLoss):
    """BCE of σ(x) against t, from the logits x without computing σ(x) first:

        ℓ = w·((1 - t)·x + (1 + (p - 1)·t)·softplus(-x)),   softplus(-x) = max(-x, 0) + ln(1 + e^-|x|)
        ∂ℓ/∂x = w·((1 + (p - 1)·t)·σ(x) - p·t)              ∂ℓ/∂t = w·((p - 1)·softplus(-x) - x)
    with p = pos_weight (1 if none). e^-|x| ≤ 1, so nothing overflows for any x.
    """

    def __init__(self, weight, pos_weight, reduction):
        super().__init__(reduction)
        self.weight, self.pos_weight = weight, pos_weight

    def forward(self, x, t):
        xp = self.xp
        # Added in PyTorch's order: (1 - t)·x + max(-x, 0) cancels exactly before the small log term.
        max_neg, log_term = xp.maximum(-x, 0), xp.log1p(xp.exp(-xp.abs(x)))
        if self.pos_weight is None:
            losses = (1 - t) * x + max_neg + log_term
        else:
            losses = (1 - t) * x + (1 + (self.pos_weight - 1) * t) * (log_term + max_neg)
        if self.weight is not None:
            losses = losses * self.weight
        self.save_for_backward(x, t)
        return self.reduce(losses)

    def backward(self, grad):
        x, t = self.saved
        xp, p = self.xp, self.pos_weight
        g = self.per_element(grad)
        if self.weight is not None:
            g = g * self.weight
        small = xp.exp(-abs(x))  # e^-|x| ∈ (0, 1]
        sigmoid = xp.where(x >= 0, 1, small) / (1 + small)
        grad_x = g * (sigmoid - t) if p is None else g * ((1 + (p - 1) * t) * sigmoid - p * t)
        grad_t = None
        if self.needs_input_grad[1]:
            if p is None:
                grad_t = -g * x
            else:
                softplus_neg = xp.where(x < 0, -x, 0) + xp.log(1 + small)
                grad_t = g * ((p - 1) * softplus_neg - x)
        return grad_x, grad_t


def _check_weight(name, what, weight, input):  # noqa: A002 - PyTorch's argument name
    if weight is None:
        return None
    check_tensor(name, what, weight)
    check_broadcasts_to(name, what, weight, input.shape)
    check_dtype_matches(name, what, weight, input)
    return weight._data


def _check_pair(name, input, target):  # noqa: A002 - PyTorch's argument name
    check_tensor(name, "input", input)
    check_tensor(name, "target", target)
    check_same_shape(name, input, target)
    check_dtype_matches(name, "target", target, input)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):  # noqa: A002
    """Binary cross-entropy of probabilities ``input`` ∈ [0, 1] against targets, as PyTorch's.

    input, target: (*), one shape; ``weight`` broadcasts to it (a constant, no gradient).
    Each log is clamped at -100, as in PyTorch. For logits use ``binary_cross_entropy_with_logits``
    (stable, and faster). Returns () or, with reduction='none', (*).

    Example::

        >>> p = cr.rand(4, 1, requires_grad=True)                           # (N, 1) probabilities
        >>> F.binary_cross_entropy(p, cr.tensor([[1.0], [0.0], [1.0], [0.0]]))   # ()
    """
    name = "binary_cross_entropy"
    reduction = check_reduction(name, legacy_reduction(size_average, reduce, reduction))
    _check_pair(name, input, target)
    weights = _check_weight(name, "weight", weight, input)
    values = input._data
    if values.size:
        xp = input._namespace()
        inside = (values >= 0) & (values <= 1)
        if not bool(xp.all(inside)):
            outside = values[~inside]
            raise ValueError(
                f"{name}: expected input values in [0, 1] (probabilities), found {outside.size} outside, "
                f"e.g. {float(outside.ravel()[0])}; for logits use binary_cross_entropy_with_logits"
            )
    return BinaryCrossEntropy(weights, reduction)(input, target)


def binary_cross_entropy_with_logits(
    input,  # noqa: A002 - PyTorch's argument names
    target,
    weight=None,
    size_average=None,
    reduce=None,  # noqa: A002
    reduction="mean",
    pos_weight=None,
):
    """Binary cross-entropy of σ(input) against targets, computed from the logits stably, as PyTorch's.

    input (logits), target: (*), one shape. ``weight`` broadcasts to it; ``pos_weight`` (e.g. (C,)
    for input (N, C)) weighs the positive term of each class, broadcast along the last dims.
    Both are constants (no gradient). Returns () or, with reduction='none', (*).

    Example::

        >>> logits = cr.randn(4, 3, requires_grad=True)                    # (N, C)
        >>> F.binary_cross_entropy_with_logits(logits, cr.rand(4, 3), pos_weight=cr.full((3,), 2.0))
    """
    name = "binary_cross_entropy_with_logits"
    reduction = check_reduction(name, legacy_reduction(size_average, reduce, reduction))
    _check_pair(name, input, target)
    weights = _check_weight(name, "weight", weight, input)
    pos_weights = _check_weight(name, "pos_weight", pos_weight, input)
    return BinaryCrossEntropyWithLogits(weights, pos_weights, reduction)(input, target)
