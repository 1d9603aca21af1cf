"""Activation statistics: dead ReLUs and saturated sigmoid / tanh units, measured on one batch.

A unit is one element of an activation's output apart from the batch dimension: a feature of a
``(N, C)`` output, one (channel, row, column) position of a ``(N, C, H, W)`` output.

- **dead ReLU**: a unit whose output is 0 for every sample of the batch. Its gradient is 0 for all
  of them too (ReLU'(z) = 0 for z < 0), so the weights feeding it get no learning signal.
- **saturated sigmoid**: an output value below ``low`` or above ``high`` (default 0.05 / 0.95),
  where σ'(z) = σ(z)(1 - σ(z)) < 0.0475, a fifth of its largest value 0.25.
- **saturated tanh**: an output value with \\|a\\| > ``tanh_threshold`` (default 0.95), where
  tanh'(z) = 1 - a² < 0.0975, a tenth of its largest value 1.

The saturated fraction counts values (samples × units), as Glorot & Bengio (2010) plot it; the
dead fraction counts units, since a ReLU that is off for some samples is working as intended.
"""

from .. import backend
from ..nn.activation import ReLU, Sigmoid, Tanh
from ..tensor import Tensor

__all__ = ["ActivationRecorder", "activation_kind", "dead_fraction", "saturated_fraction"]


def _array(values):
    return values._data if isinstance(values, Tensor) else values


def dead_fraction(output):
    """The fraction of units of a ReLU's ``output`` (N, *) that are 0 for all N samples.

    Example::

        >>> a = cr.tensor([[0.0, 1.0, 0.0], [0.0, 2.0, 3.0]])   # (N=2, 3 units)
        >>> dead_fraction(a)                                      # only unit 0 is 0 for both samples
        0.3333333333333333
    """
    array = _array(output)
    if array.ndim < 2 or array.shape[0] == 0:
        raise ValueError(f"dead_fraction expects a batch (N, *) with N >= 1, got shape {tuple(array.shape)}")
    dead, units = _dead_count(array)
    return dead / units


def _dead_count(array):
    """(units that are 0 for every sample, units) of a batch (N, *)."""
    xp = backend.namespace_of(array)
    alive = xp.any(array != 0, axis=0)
    return alive.size - int(xp.count_nonzero(alive)), alive.size


def saturated_fraction(output, kind, low=0.05, high=0.95, tanh_threshold=0.95):
    """The fraction of the values of ``output`` (any shape) in the saturated range of ``kind``:
    ``"sigmoid"``: a < low or a > high; ``"tanh"``: \\|a\\| > tanh_threshold.

    Example::

        >>> saturated_fraction(cr.tensor([0.01, 0.5, 0.99, 0.7]), "sigmoid")   # (4,) -> 2 of 4
        0.5
    """
    array = _array(output)
    if array.size == 0:
        raise ValueError("saturated_fraction got an empty output")
    return _saturated_count(array, kind, low, high, tanh_threshold) / array.size


def _saturated_count(array, kind, low, high, tanh_threshold):
    xp = backend.namespace_of(array)
    if kind == "sigmoid":
        saturated = (array < low) | (array > high)
    elif kind == "tanh":
        saturated = xp.abs(array) > tanh_threshold
    else:
        raise ValueError(f"kind must be 'sigmoid' or 'tanh', got {kind!r}")
    return int(xp.count_nonzero(saturated))


def activation_kind(module):
    """``"relu"``, ``"sigmoid"`` or ``"tanh"`` for the activation modules whose statistics are
    recorded (``nn.ReLU``, ``nn.Sigmoid``, ``nn.Tanh`` and their subclasses), else None."""
    if isinstance(module, ReLU):
        return "relu"
    if isinstance(module, Sigmoid):
        return "sigmoid"
    if isinstance(module, Tanh):
        return "tanh"
    return None


class ActivationRecorder:
    """Forward hooks on a model's ReLU / Sigmoid / Tanh modules that, while ``recording`` is on,
    add up the statistics of every call: a module called several times in one forward pass (a
    shared activation) counts all its calls. ``take()`` returns and resets them::

        {"dead_fraction": {name: f}, "saturated_fraction": {name: f}, "mean": {name: m}, "std": {name: s}}
    """

    def __init__(self, model, low=0.05, high=0.95, tanh_threshold=0.95):
        self.low, self.high, self.tanh_threshold = low, high, tanh_threshold
        self.recording = False
        self.kinds = {}  # module name -> kind, in the model's order
        self._handles = []
        self._sums = {}
        for name, module in model.named_modules():
            kind = activation_kind(module)
            if kind is not None:
                name = name or type(module).__name__
                self.kinds[name] = kind
                self._handles.append(module.register_forward_hook(self._hook_for(name, kind)))

    def _hook_for(self, name, kind):
        def hook(module, args, output):
            if self.recording and isinstance(output, Tensor) and output.ndim >= 1 and output.numel() > 0:
                self._add(name, kind, output._data)

        return hook

    def _add(self, name, kind, array):
        sums = self._sums.setdefault(name, {"units": 0, "dead": 0, "values": 0, "saturated": 0, "sum": 0.0, "sq": 0.0})
        values = array.astype("float64")
        sums["values"] += array.size
        sums["sum"] += float(values.sum())
        sums["sq"] += float((values * values).sum())
        if kind == "relu" and array.ndim >= 2:  # a (N, *) batch; an unbatched output has no dead units to count
            dead, units = _dead_count(array)
            sums["dead"] += dead
            sums["units"] += units
        elif kind != "relu":
            sums["saturated"] += _saturated_count(array, kind, self.low, self.high, self.tanh_threshold)

    def take(self):
        stats = {"dead_fraction": {}, "saturated_fraction": {}, "mean": {}, "std": {}}
        for name, kind in self.kinds.items():
            sums = self._sums.get(name)
            if sums is None:
                continue
            mean = sums["sum"] / sums["values"]
            stats["mean"][name] = mean
            stats["std"][name] = max(sums["sq"] / sums["values"] - mean * mean, 0.0) ** 0.5
            if kind == "relu":
                if sums["units"]:
                    stats["dead_fraction"][name] = sums["dead"] / sums["units"]
            else:
                stats["saturated_fraction"][name] = sums["saturated"] / sums["values"]
        self._sums = {}
        return stats

    def remove(self):
        for handle in self._handles:
            handle.remove()
        self._handles = []
