"""Metrics: accuracy, top-k accuracy, mean absolute / squared error, confusion matrix.

Each is a streaming :class:`Metric` (``reset`` / ``update(output, target)`` / ``compute``), which
the Trainer feeds batch by batch, and a plain function of whole arrays
(``accuracy(output, target)``). Inputs are Tensors or arrays; nothing here records a graph.

How outputs become predicted classes (``accuracy`` and ``confusion_matrix``):

- ``(N, C)`` with C >= 2: the class with the largest score (logits and probabilities alike).
- ``(N,)`` or ``(N, 1)`` floats: binary. Class 1 where the output exceeds 0 if ``from_logits``,
  0.5 if not. ``from_logits=None`` (the default) decides per call: logits when any value lies
  outside [0, 1] (torchmetrics' rule). Logits that all happen to lie in [0, 1] would be read as
  probabilities, so pass ``from_logits`` when you know (the Trainer does, from its loss function).
- ``(N,)`` integers or bools: already predicted classes.

Targets are class indices ``(N,)`` (integers or bools), or one-hot / probability rows ``(N, C)``
(their largest entry is the class); binary float targets count as class 1 from 0.5 up.
"""

import re

from .. import backend
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor


def _array(value):
    """The array inside a Tensor (no graph), or ``value`` as a NumPy array."""
    if isinstance(value, Tensor):
        return value.detach()._data
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return value
    return backend.numpy_namespace.asarray(value)


def _check_rows(name, output, target):
    if output.ndim == 0 or target.ndim == 0 or output.shape[0] != target.shape[0]:
        raise ShapeError(
            f"{name}: output and target need the same number of samples (first dimension), "
            f"got output {tuple(output.shape)} and target {tuple(target.shape)}"
        )


def _is_binary(output):
    return output.ndim == 1 or (output.ndim == 2 and output.shape[1] == 1)


def predicted_classes(output, from_logits=None):
    """Predicted class per sample, by the rules in this module's docstring.

    output: (N, C) scores, (N,)/(N, 1) binary outputs, or (N,) integer classes -> (N,) int array.
    """
    output = _array(output)
    xp = backend.namespace_of(output)
    if output.ndim == 2 and output.shape[1] >= 2:
        return output.argmax(axis=1)
    if not _is_binary(output):
        raise ShapeError(f"expected outputs of shape (N, C), (N,) or (N, 1), got {tuple(output.shape)}")
    output = output.reshape(-1)
    if output.dtype.kind in "iub":
        return output.astype(xp.int64)
    if from_logits is None:
        from_logits = bool(((output < 0) | (output > 1)).any())
    return (output > (0.0 if from_logits else 0.5)).astype(xp.int64)


def target_classes(target, num_outputs):
    """Class index per sample from ``(N,)`` indices or ``(N, C)`` one-hot/probability rows."""
    target = _array(target)
    xp = backend.namespace_of(target)
    if target.ndim == 2 and target.shape[1] >= 2:
        return target.argmax(axis=1)
    if target.ndim == 2 and target.shape[1] == 1:
        target = target.reshape(-1)
    if target.ndim != 1:
        raise ShapeError(f"expected targets of shape (N,) or (N, C), got {tuple(target.shape)}")
    if target.dtype.kind == "f":
        if num_outputs > 1:
            raise DTypeError(
                f"expected class indices of an integer dtype for outputs with {num_outputs} classes, "
                f"got targets of dtype {target.dtype}"
            )
        return (target >= 0.5).astype(xp.int64)
    return target.astype(xp.int64)


def _num_outputs(output):
    return output.shape[1] if output.ndim == 2 else 1


class Metric:
    """A quantity accumulated over batches: ``reset()``, ``update(output, target)``, ``compute()``.

    ``name`` is its key in logs and History (``val_`` + name for validation data). ``scalar`` is
    False for metrics that are not one number per epoch (the confusion matrix).
    """

    name = "metric"
    scalar = True

    def __init__(self):
        self.reset()

    def reset(self):
        raise NotImplementedError

    def update(self, output, target):
        raise NotImplementedError

    def compute(self):
        raise NotImplementedError

    def _mean(self, total, count):
        if count == 0:
            raise RuntimeError(f"{type(self).__name__}.compute() before any update: there is nothing to average")
        return float(total) / count

    def __repr__(self):
        return f"{type(self).__name__}()"


class Accuracy(Metric):
    """Fraction of samples whose predicted class equals the target class.

    Example::

        >>> metric = Accuracy()
        >>> metric.update(cr.tensor([[2.0, 0.1], [0.3, 0.9]]), cr.tensor([0, 0]))   # (N=2, C=2), (2,)
        >>> metric.compute()
        0.5
    """

    name = "accuracy"

    def __init__(self, from_logits=None):
        self.from_logits = from_logits
        super().__init__()

    def reset(self):
        self.correct, self.count = 0, 0

    def update(self, output, target):
        output, target = _array(output), _array(target)
        _check_rows("accuracy", output, target)
        predicted = predicted_classes(output, self.from_logits)
        self.correct += int((predicted == target_classes(target, _num_outputs(output))).sum())
        self.count += int(output.shape[0])

    def compute(self):
        return self._mean(self.correct, self.count)


class TopKAccuracy(Metric):
    """Fraction of samples whose target class is among the ``k`` highest scores.

    Ties count in the sample's favour (as ``tf.math.in_top_k``): the target is in the top k when
    fewer than k classes score strictly higher. output: (N, C), target: (N,) class indices.
    """

    def __init__(self, k=5):
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"TopKAccuracy: k must be a positive integer, got {k!r}")
        self.k = k
        self.name = f"top{k}_accuracy"
        super().__init__()

    def reset(self):
        self.correct, self.count = 0, 0

    def update(self, output, target):
        output, target = _array(output), _array(target)
        _check_rows(self.name, output, target)
        if output.ndim != 2:
            raise ShapeError(f"{self.name}: expected outputs of shape (N, C), got {tuple(output.shape)}")
        if self.k > output.shape[1]:
            raise ValueError(f"{self.name}: k={self.k} is more than the {output.shape[1]} classes of the outputs")
        labels = target_classes(target, output.shape[1])
        if labels.size and (labels.min() < 0 or labels.max() >= output.shape[1]):
            raise ValueError(f"{self.name}: target classes must lie in [0, {output.shape[1]}), got {labels.tolist()}")
        xp = backend.namespace_of(output)
        target_score = xp.take_along_axis(output, labels[:, None], axis=1)
        higher = (output > target_score).sum(axis=1)
        self.correct += int((higher < self.k).sum())
        self.count += int(output.shape[0])

    def compute(self):
        return self._mean(self.correct, self.count)

    def __repr__(self):
        return f"TopKAccuracy(k={self.k})"


class _ErrorMean(Metric):
    """Mean over all elements of some function of (output - target)."""

    def reset(self):
        self.total, self.count = 0.0, 0

    def update(self, output, target):
        output, target = _array(output), _array(target)
        if output.shape != target.shape:
            if output.ndim == target.ndim + 1 and output.shape[-1] == 1 and output.shape[:-1] == target.shape:
                output = output.reshape(target.shape)  # (N, 1) against (N,)
            elif target.ndim == output.ndim + 1 and target.shape[-1] == 1 and target.shape[:-1] == output.shape:
                target = target.reshape(output.shape)
            else:
                raise ShapeError(
                    f"{self.name}: output and target need the same shape, "
                    f"got output {tuple(output.shape)} and target {tuple(target.shape)}"
                )
        xp = backend.namespace_of(output)
        difference = output.astype(xp.float64) - target.astype(xp.float64)
        self.total += float(self._error(xp, difference).sum())
        self.count += int(difference.size)

    def compute(self):
        return self._mean(self.total, self.count)


class MeanAbsoluteError(_ErrorMean):
    """mean |output - target| over all elements. output, target: (N, *) of the same shape."""

    name = "mae"

    def _error(self, xp, difference):
        return xp.abs(difference)


class MeanSquaredError(_ErrorMean):
    """mean (output - target)² over all elements. output, target: (N, *) of the same shape."""

    name = "mse"

    def _error(self, xp, difference):
        return difference * difference


class ConfusionMatrix(Metric):
    """Counts of (true class, predicted class): ``compute()[i, j]`` is how many samples of class i
    were predicted as class j (scikit-learn's orientation). Returns a (C, C) int64 NumPy array.
    """

    name = "confusion_matrix"
    scalar = False

    def __init__(self, num_classes, from_logits=None):
        if not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"ConfusionMatrix: num_classes must be an integer >= 2, got {num_classes!r}")
        self.num_classes = num_classes
        self.from_logits = from_logits
        super().__init__()

    def reset(self):
        self.counts = backend.numpy_namespace.zeros((self.num_classes, self.num_classes), dtype="int64")

    def update(self, output, target):
        output, target = _array(output), _array(target)
        _check_rows("confusion_matrix", output, target)
        predicted = backend.to_device(predicted_classes(output, self.from_logits), backend.CPU)
        actual = backend.to_device(target_classes(target, _num_outputs(output)), backend.CPU)
        for name, labels in (("predicted", predicted), ("target", actual)):
            if labels.size and (labels.min() < 0 or labels.max() >= self.num_classes):
                raise ValueError(
                    f"confusion_matrix: {name} classes must lie in [0, {self.num_classes}), "
                    f"got values from {labels.min()} to {labels.max()}"
                )
        pairs = actual * self.num_classes + predicted
        self.counts += backend.numpy_namespace.bincount(pairs, minlength=self.num_classes**2).reshape(
            self.num_classes, self.num_classes
        )

    def compute(self):
        return self.counts.copy()

    def __repr__(self):
        return f"ConfusionMatrix(num_classes={self.num_classes})"


def _once(metric, output, target):
    metric.update(output, target)
    return metric.compute()


def accuracy(output, target, from_logits=None):
    """Fraction of correct predictions: ``accuracy(logits (N, C), labels (N,)) -> float``."""
    return _once(Accuracy(from_logits), output, target)


def top_k_accuracy(output, target, k=5):
    """Fraction of targets among the k highest scores: ``(N, C), (N,) -> float``."""
    return _once(TopKAccuracy(k), output, target)


def mae(output, target):
    """Mean absolute error over all elements: ``(N, *), (N, *) -> float``."""
    return _once(MeanAbsoluteError(), output, target)


def mse(output, target):
    """Mean squared error over all elements: ``(N, *), (N, *) -> float``."""
    return _once(MeanSquaredError(), output, target)


def confusion_matrix(output, target, num_classes, from_logits=None):
    """(C, C) int64 counts, rows true classes, columns predicted: ``(N, C) or (N,), (N,) -> (C, C)``."""
    return _once(ConfusionMatrix(num_classes, from_logits), output, target)


_NAMED = {"accuracy": Accuracy, "mae": MeanAbsoluteError, "mse": MeanSquaredError}
_TOP_K = re.compile(r"top(\d+)_accuracy")


def get_metric(metric, from_logits=None):
    """A fresh Metric from a name (``"accuracy"``, ``"top5_accuracy"``, ``"mae"``, ``"mse"``) or
    ``metric`` itself if it already is one. ``from_logits`` applies to ``"accuracy"``."""
    if isinstance(metric, Metric):
        return metric
    if not isinstance(metric, str):
        raise TypeError(f"expected a Metric or a metric name, got {type(metric).__name__} {metric!r}")
    top_k = _TOP_K.fullmatch(metric)
    if top_k:
        return TopKAccuracy(int(top_k.group(1)))
    if metric == "accuracy":
        return Accuracy(from_logits)
    if metric in _NAMED:
        return _NAMED[metric]()
    raise ValueError(
        f"unknown metric {metric!r}; expected one of accuracy, topK_accuracy (e.g. top5_accuracy), mae, mse"
    )
