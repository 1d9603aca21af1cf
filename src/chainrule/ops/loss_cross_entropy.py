"""Cross-entropy and negative log-likelihood over classes, with PyTorch's ``weight``,
``ignore_index``, ``label_smoothing`` and class-probability targets.

Shapes: input (N, C), (C,) or (N, C, d1, ..., dK), the classes along dim 1 (dim 0 for (C,));
class-index targets (N,), () or (N, d1, ..., dK) of an integer dtype; class-probability targets
of the input's shape and a floating dtype.

Cross-entropy against class indices is one fused op (log-softmax, pick, weights and smoothing in
one forward; backward (Σq)·softmax - q), the hot path of classifier training.
"""

from ..errors import DTypeError, ShapeError
from ..tensor import Tensor
from .loss_reduction import (
    ReducedLoss,
    check_dtype_matches,
    check_reduction,
    check_tensor,
    legacy_reduction,
)
from .softmax import log_softmax


class ClassTargets:
    """Class indices y (N, *) prepared once, on raw arrays: which entries count (``valid``:
    y ≠ ignore_index), indices safe to pick with (ignored ones set to 0) and each entry's weight
    w_y (0 where ignored). All of it is constant: targets get no gradient."""

    def __init__(self, xp, target, weight, ignore_index, dtype):
        self.xp, self.dtype = xp, dtype
        self.valid = target != ignore_index
        self.safe = xp.where(self.valid, target, 0)
        self.row_weight = self.valid.astype(dtype) if weight is None else weight[self.safe] * self.valid
        self.all_ones = weight is None and bool(self.valid.all())  # w_y = 1 for every entry

    def pick(self, values):
        """values (N, C, *) at each entry's class -> (N, *)."""
        if values.ndim == 2:  # (N, C): plain integer indexing, twice as fast as take_along_axis
            return values[self.xp.arange(values.shape[0]), self.safe]
        return self.xp.take_along_axis(values, self.safe[:, None], axis=1)[:, 0]

    def scatter(self, shape):
        """(N, C, *) zeros with w_y at each entry's class (the transpose of ``pick``)."""
        xp = self.xp
        if len(shape) == 2:
            result = xp.zeros(shape, dtype=self.dtype)
            result[xp.arange(shape[0]), self.safe] = self.row_weight
            return result
        classes = xp.arange(shape[1]).reshape((1, shape[1]) + (1,) * (len(shape) - 2))
        return (classes == self.safe[:, None]) * self.row_weight[:, None]

    def total_weight(self):
        """Σ w_y over the entries not ignored, in the input's dtype: what 'mean' divides by."""
        return self.row_weight.sum()

    def distribution(self, shape, weight, smoothing):
        """The target distribution q (N, C, *) and its total Σ_c qᶜ (N, 1, *), or None where that
        is 1 everywhere: no weights and nothing ignored (see CrossEntropy)."""
        q = self.scatter(shape)
        row_weight = None if self.all_ones else self.row_weight[:, None]
        if not smoothing:
            return q, row_weight
        n_classes, valid = shape[1], self.valid[:, None]
        class_weight = 1 if weight is None else class_shaped(weight, len(shape))
        q = (1 - smoothing) * q + (smoothing / n_classes) * class_weight * valid
        if row_weight is None:  # Σq = (1 - ε) + ε = 1
            return q, None
        class_total = n_classes if weight is None else self.xp.sum(weight)
        return q, (1 - smoothing) * row_weight + (smoothing / n_classes) * class_total * valid


def class_shaped(weight, ndim):
    """weight (C,) as (1, C, 1, ...), to broadcast along the class dim of an ndim input."""
    return weight.reshape((1, -1) + (1,) * (ndim - 2))


class CrossEntropy(ReducedLoss):
    """Cross-entropy of logits x (N, C, *) against class indices y (N, *), log-softmax fused in.

    Each entry's target distribution, with ε = label_smoothing and w the class weights (all 1 if none),
        qᶜ = (1 - ε)·w_y·[c = y] + (ε/C)·w_c          (q = 0 where y = ignore_index)
        ℓ = -Σ_c qᶜ · log softmax(x)ᶜ                  ∂ℓ/∂x = (Σ_c qᶜ)·softmax(x) - q
    'mean' divides Σℓ by Σ w_y over the entries not ignored, as PyTorch does. Backward reuses the
    forward's softmax; under create_graph it computes softmax again from x, so that the whole rule
    is differentiated (double backward).
    """

    def __init__(self, target, weight, ignore_index, label_smoothing, reduction):
        super().__init__(reduction)
        self.target, self.weight = target, weight
        self.ignore_index, self.smoothing = ignore_index, label_smoothing

    def forward(self, x):
        xp, eps, n_classes = self.xp, self.smoothing, x.shape[1]
        self.shift = x.max(axis=1, keepdims=True)  # a constant: softmax does not change when x shifts
        shifted = x - self.shift
        exps = xp.exp(shifted)
        sums = exps.sum(axis=1, keepdims=True)
        log_sums = xp.log(sums)[:, 0]  # log softmax(x)ᶜ = shiftedᶜ - log_sums
        self.targets = targets = ClassTargets(xp, self.target, self.weight, self.ignore_index, x.dtype)
        losses = (log_sums - targets.pick(shifted)) * targets.row_weight
        if eps:
            weighted = shifted if self.weight is None else shifted * class_shaped(self.weight, x.ndim)
            class_total = n_classes if self.weight is None else xp.sum(self.weight)
            smooth = (class_total * log_sums - weighted.sum(axis=1)) * targets.valid  # -Σ_c w_c log softmax(x)ᶜ
            losses = (1 - eps) * losses + (eps / n_classes) * smooth
        self.save_for_backward(x, exps / sums)
        return self.reduce(losses, divisor=targets.total_weight())

    def backward(self, grad):
        x, probs = self.saved
        xp = self.xp
        if isinstance(x, Tensor):  # create_graph: softmax again, from x, so that it is differentiated too
            exps = xp.exp(x - self.shift)
            probs = exps / xp.sum(exps, axis=1, keepdims=True)
        q, q_total = self.targets.distribution(x.shape, self.weight, self.smoothing)
        g = self.per_element(grad)
        if self.reduction == "none":
            g = g[:, None]
        return (probs - q if q_total is None else probs * q_total - q) * g


class NLLLoss(ReducedLoss):
    """Negative log-likelihood of log-probabilities x (N, C, *) at class indices y (N, *).

    ℓ = -w_y · x_y  (0 where y = ignore_index).   ∂ℓ/∂x = -w_y·[c = y]
    'mean' divides Σℓ by Σ w_y over the entries not ignored.
    """

    def __init__(self, target, weight, ignore_index, reduction):
        super().__init__(reduction)
        self.target, self.weight, self.ignore_index = target, weight, ignore_index

    def forward(self, x):
        self.shape = x.shape
        self.targets = targets = ClassTargets(self.xp, self.target, self.weight, self.ignore_index, x.dtype)
        losses = -targets.pick(x) * targets.row_weight
        return self.reduce(losses, divisor=targets.total_weight())

    def backward(self, grad):
        q = self.targets.scatter(self.shape)
        g = self.per_element(grad)
        if self.reduction == "none":
            g = g[:, None]
        return -q * g


def _check_input(name, input):  # noqa: A002 - PyTorch's argument name
    check_tensor(name, "input", input)
    if input.ndim == 0:
        raise ShapeError(f"{name}: expected input of shape (C,), (N, C) or (N, C, d1, ...), got a 0-d tensor")


def _check_weight(name, weight, input):  # noqa: A002 - PyTorch's argument name
    if weight is None:
        return None
    check_tensor(name, "weight", weight)
    n_classes = input.shape[0 if input.ndim == 1 else 1]
    if tuple(weight.shape) != (n_classes,):
        raise ShapeError(
            f"{name}: expected weight of shape (C,) = ({n_classes},), one per class, got {tuple(weight.shape)}"
        )
    check_dtype_matches(name, "weight", weight, input)
    return weight._data


def _expected_target_shape(input):  # noqa: A002 - PyTorch's argument name
    shape = tuple(input.shape)
    return shape[1:] if len(shape) == 1 else shape[:1] + shape[2:]


def _check_class_indices(name, input, target, ignore_index, probabilities_allowed):  # noqa: A002
    """Integer class indices of input's shape without the class dim, each in [0, C) or ignore_index."""
    expected = _expected_target_shape(input)
    shape = tuple(target.shape)
    kind = target._data.dtype.kind
    if kind not in "iu":
        alternative = (
            f", or class probabilities of a floating dtype and the input's shape {tuple(input.shape)}"
            if probabilities_allowed
            else ""
        )
        raise DTypeError(
            f"{name}: expected class indices of an integer dtype (int64) with shape {expected}{alternative}; "
            f"got a {target.dtype.name} target of shape {shape}"
        )
    if input.ndim > 1 and shape[:1] != expected[:1]:
        found = shape[0] if shape else "none (a 0-d target)"
        raise ShapeError(
            f"{name}: expected input batch_size ({expected[0]}) to match target batch_size ({found}): "
            f"input {tuple(input.shape)}, target {shape}"
        )
    if shape != expected:
        raise ShapeError(
            f"{name}: expected target of shape {expected} for input of shape {tuple(input.shape)} "
            f"(the input's shape without the class dim), got {shape}"
        )
    n_classes = input.shape[0 if input.ndim == 1 else 1]
    values = target._data
    if values.size and not (0 <= int(values.min()) and int(values.max()) < n_classes):
        outside = (values != ignore_index) & ((values < 0) | (values >= n_classes))
        if bool(outside.any()):
            bad = int(values[outside].ravel()[0])
            raise IndexError(
                f"{name}: target {bad} is out of bounds: expected class indices in [0, {n_classes}) "
                f"or ignore_index={ignore_index}"
            )
    return values


def _with_batch_dim(input, target):  # noqa: A002 - PyTorch's argument name
    """(C,) input and () target as a batch of one: (1, C) and (1,)."""
    return input.reshape(1, input.shape[0]), target.reshape(1)


def cross_entropy(
    input,  # noqa: A002 - PyTorch's argument names
    target,
    weight=None,
    size_average=None,
    ignore_index=-100,
    reduce=None,  # noqa: A002
    reduction="mean",
    label_smoothing=0.0,
):
    """Cross-entropy between logits and class indices or class probabilities, as PyTorch's.

    input: logits (N, C), (C,) or (N, C, d1, ..., dK). target: int64 class indices (N,), () or
    (N, d1, ..., dK), each in [0, C) or ``ignore_index``; or class probabilities of the input's
    shape. ``weight`` (C,) weighs each class; ``label_smoothing`` ε mixes the target with the
    uniform distribution, (1 - ε)·target + ε/C. Returns () or, with reduction='none', (N, d1, ...).
    ``weight`` is a constant: it gets no gradient.

    Example::

        >>> logits = cr.randn(4, 3, requires_grad=True)            # (N, C)
        >>> F.cross_entropy(logits, cr.tensor([0, 2, 1, 2]))      # () -> a mean over the batch
    """
    name = "cross_entropy"
    reduction = check_reduction(name, legacy_reduction(size_average, reduce, reduction))
    _check_input(name, input)
    check_tensor(name, "target", target, float_only=False)
    weights = _check_weight(name, weight, input)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: expected label_smoothing in [0, 1], got {label_smoothing}")
    if target._data.dtype.kind == "f" and tuple(target.shape) == tuple(input.shape):
        return _cross_entropy_probabilities(input, target, weight, ignore_index, reduction, label_smoothing)
    indices = _check_class_indices(name, input, target, ignore_index, probabilities_allowed=True)
    if input.ndim == 1:
        loss = cross_entropy(
            *_with_batch_dim(input, target), weight, None, ignore_index, None, reduction, label_smoothing
        )
        return loss.reshape(()) if reduction == "none" else loss
    return CrossEntropy(indices, weights, ignore_index, float(label_smoothing), reduction)(input)


def _cross_entropy_probabilities(input, target, weight, ignore_index, reduction, label_smoothing):  # noqa: A002
    """-Σ_c w_c·qᶜ·log softmax(x)ᶜ per entry, q = (1 - ε)·target + ε/C, built from ops (the target
    gets a gradient too); 'mean' divides by the number of entries N·d1···dK, as PyTorch does."""
    name = "cross_entropy"
    if ignore_index >= 0:  # PyTorch's rule: a negative ignore_index (the default -100) is accepted and unused
        raise ValueError(
            f"{name}: ignore_index is not supported for class-probability targets: expected a negative "
            f"ignore_index (the default -100), got {ignore_index}"
        )
    check_dtype_matches(name, "target", target, input)
    class_dim = 0 if input.ndim == 1 else 1
    n_classes = input.shape[class_dim]
    q = target if not label_smoothing else target * (1 - label_smoothing) + label_smoothing / n_classes
    if weight is not None:
        q = q * weight.reshape((n_classes,) + (1,) * (input.ndim - class_dim - 1))
    losses = -(log_softmax(input, dim=class_dim) * q).sum(dim=class_dim)
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.sum() / (input._data.size // n_classes)


def nll_loss(
    input,  # noqa: A002 - PyTorch's argument names
    target,
    weight=None,
    size_average=None,
    ignore_index=-100,
    reduce=None,  # noqa: A002
    reduction="mean",
):
    """Negative log-likelihood of log-probabilities at class indices, as PyTorch's.

    input: log-probabilities (N, C), (C,) or (N, C, d1, ..., dK) (e.g. from ``log_softmax``);
    target: int64 class indices (N,), () or (N, d1, ..., dK) in [0, C) or ``ignore_index``;
    ``weight`` (C,), a constant. Returns () or, with reduction='none', the target's shape.

    Example::

        >>> log_probs = F.log_softmax(cr.randn(4, 3, requires_grad=True), dim=1)   # (N, C)
        >>> F.nll_loss(log_probs, cr.tensor([0, 2, 1, 2]))                          # ()
    """
    name = "nll_loss"
    reduction = check_reduction(name, legacy_reduction(size_average, reduce, reduction))
    _check_input(name, input)
    check_tensor(name, "target", target, float_only=False)
    weights = _check_weight(name, weight, input)
    indices = _check_class_indices(name, input, target, ignore_index, probabilities_allowed=False)
    if input.ndim == 1:
        loss = nll_loss(*_with_batch_dim(input, target), weight, None, ignore_index, None, reduction)
        return loss.reshape(()) if reduction == "none" else loss
    return NLLLoss(indices, weights, ignore_index, reduction)(input)
