"""The δ of each layer: forward hooks on a model's submodules put a tensor hook on each output,
which catches ∂L/∂(that output) when the backward pass reaches it."""

from dataclasses import dataclass

from ..backend import namespace_of
from ..tensor import Tensor


@dataclass(frozen=True)
class GradStat:
    """A gradient's ``shape`` and ``norm`` (2-norm over all entries, computed in float64)."""

    shape: tuple
    norm: float


@dataclass
class Delta:
    """The δ of one layer: the gradient of the loss w.r.t. one output of one submodule call.

    module: its path in the model (``"layers.0"``); type: its class (``"Linear"``); call: 0 for the
    module's first call in the forward pass, 1 for its second, …; output: the position in a tuple
    output, None for a single tensor; shape: the output's shape; norm: δ's 2-norm, None when no
    gradient reached that output; grad: δ itself (a Tensor), or None.
    """

    module: str
    type: str
    call: int
    output: int
    shape: tuple
    norm: float = None
    grad: Tensor = None


def gradient_stat(array):
    """``GradStat`` of an array or Tensor: its shape and float64 2-norm."""
    if isinstance(array, Tensor):
        array = array._data
    xp = namespace_of(array)
    wide = array.astype(xp.float64)
    return GradStat(tuple(array.shape), float(xp.sqrt(xp.sum(wide * wide))))


def capture_deltas(compute_loss, model, deltas, handles):
    """Call ``compute_loss()`` with a forward hook on every submodule of ``model`` that registers a
    tensor hook on each output, so that δ = ∂L/∂output is caught when backward reaches it."""
    named = getattr(model, "named_modules", None)
    if model is not None and callable(named):
        calls = {}
        for path, module in named():
            if path:  # the model itself: its output is the loss's input, seen in the steps
                handles.append(module.register_forward_hook(_delta_catcher(path, calls, deltas, handles)))
    return compute_loss()


def _delta_catcher(path, calls, deltas, handles):
    def hook(module, args, output):
        call = calls.get(path, 0)
        calls[path] = call + 1
        if isinstance(output, Tensor):
            outputs = [(None, output)]
        else:  # e.g. an LSTM's (output, (h, c)): the tensors at its top level
            outputs = list(enumerate(output)) if isinstance(output, (tuple, list)) else []
        for position, tensor in outputs:
            if isinstance(tensor, Tensor) and tensor.requires_grad:
                delta = Delta(path, type(module).__name__, call, position, tuple(tensor.shape))
                deltas.append(delta)
                handles.append(tensor.register_hook(_delta_setter(delta)))

    return hook


def _delta_setter(delta):
    def record(grad):
        delta.grad = grad.detach().clone()
        delta.norm = gradient_stat(grad).norm

    return record
