"""One training step of a small MLP, every number shown: the textbook δ recursion next to the engine.

:func:`explain_step` takes an ``nn.Sequential`` of ``nn.Linear`` layers, each optionally followed by
Sigmoid, Tanh, ReLU or Identity, a batch and a loss, and computes one step twice:

- the **textbook** way, in plain NumPy float64 from the formulas of backpropagation and nothing else;
- the **engine** way: the model's forward pass, ``loss.backward()`` and ``optim.SGD(lr).step()`` on a
  float64 copy of the model (the model itself is left unchanged).

A batch is a matrix with one sample per row, and a Linear layer's weight is (out, in) as in
PyTorch, so layer l computes, for the whole batch at once (N samples)::

    Z^l = A^(l-1) W^lᵀ + b^l            (N, out)      A^0 = X, the inputs (N, in)
    A^l = σ(Z^l)                        (N, out)      σ: the layer's activation, elementwise

and δ^l = ∂L/∂Z^l is also (N, out), one row per sample. The textbook's column-vector formulas for
one sample, and the row-batch form they become (the loss's 1/N of ``reduction="mean"`` is part of
∂L/∂A^L, hence of every δ, so gradients *sum* over the rows)::

    δ^L = ∂L/∂a^L ⊙ σ'(z^L)                 Δ^L = ∂L/∂A^L ⊙ σ'(Z^L)
    δ^l = (W^(l+1))ᵀ δ^(l+1) ⊙ σ'(z^l)      Δ^l = (Δ^(l+1) W^(l+1)) ⊙ σ'(Z^l)
    ∂L/∂W^l = δ^l (a^(l-1))ᵀ                ∂L/∂W^l = (Δ^l)ᵀ A^(l-1)   = Σ_n δ_n (a_n^(l-1))ᵀ
    ∂L/∂b^l = δ^l                           ∂L/∂b^l = Σ_n (row n of Δ^l)

with ∂L/∂A^L = 2(A^L − Y)/(N·K) for the mean squared error over N·K outputs, and
(softmax(A^L) − onehot(Y))/N for cross-entropy (with an Identity output layer, A^L = Z^L and this
is the combined δ^L = (softmax(Z^L) − onehot(Y))/N). The update is plain SGD: W ← W − lr·∂L/∂W.

Example::

    >>> cr.manual_seed(0)
    >>> model = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1), nn.Sigmoid())
    >>> x = [[0, 0], [0, 1], [1, 0], [1, 1]]          # (4, 2)
    >>> y = [[0], [1], [1], [0]]                      # (4, 1)
    >>> step = explain_step(model, x, y, loss="mse", lr=0.5)
    >>> step.layers[0].delta.shape, step.max_difference < 1e-12
    ((4, 3), True)
    >>> print(step)                                   # the four stages, every matrix printed
"""

import copy
from dataclasses import dataclass, field

import numpy as np

from .. import nn, optim
from ..dtypes import float64
from ..errors import ShapeError
from ..tensor import Tensor
from .explain_math import LOSSES, backward, forward
from .explain_text import format_step

__all__ = ["LayerStep", "StepExplanation", "explain_step"]

# the activations explain_step knows -> their names in explain_math
ACTIVATIONS = {nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.ReLU: "relu", nn.Identity: "identity"}

SUPPORTED = "an nn.Sequential of nn.Linear layers, each optionally followed by one of " + ", ".join(
    f"nn.{cls.__name__}" for cls in ACTIVATIONS
)


@dataclass
class LayerStep:
    """One Linear layer (+ its activation) in one step; arrays are float64 NumPy, N = batch size.

    ``l`` counts the Linear layers from 1; ``path`` is the Linear's name in the model (e.g. "0").
    Textbook side: ``weight`` (out, in), ``bias`` (out,) or None, ``z``, ``a``, ``grad_a`` (∂L/∂A^l),
    ``slope`` (σ'(Z^l)), ``delta`` (δ^l = grad_a ⊙ slope), all (N, out), ``grad_weight`` (out, in),
    ``grad_bias`` (out,), ``new_weight``, ``new_bias`` (after W ← W − lr·∂L/∂W).
    Engine side, ``engine``: {"z", "delta" (∂L/∂Z^l), "grad_weight", "grad_bias", "new_weight",
    "new_bias" (after ``optim.SGD``'s step)}, the same shapes (no bias entries without a bias).
    """

    l: int  # noqa: E741 - the layer index of the formulas
    path: str
    activation: str
    weight: np.ndarray
    bias: np.ndarray
    z: np.ndarray
    a: np.ndarray
    grad_a: np.ndarray = None
    slope: np.ndarray = None
    delta: np.ndarray = None
    grad_weight: np.ndarray = None
    grad_bias: np.ndarray = None
    new_weight: np.ndarray = None
    new_bias: np.ndarray = None
    engine: dict = field(default_factory=dict)  # "z", "delta", "grad_weight", "grad_bias", "new_weight", "new_bias"

    def differences(self):
        """{quantity: max |textbook − engine|} for z, delta, grad_weight, grad_bias, new_weight, new_bias."""
        out = {}
        for name, engine in self.engine.items():
            mine = getattr(self, name)
            if mine is not None:
                out[name] = float(np.max(np.abs(mine - engine))) if mine.size else 0.0
        return out


@dataclass
class StepExplanation:
    """One training step of an MLP computed by the textbook formulas and by the engine.

    ``inputs`` X (N, in), ``targets`` Y ((N, K) for mse, class indices (N,) for cross_entropy),
    ``loss_name`` ("mse" | "cross_entropy"), ``reduction`` ("mean" | "sum"), ``lr``, ``layers``
    (a :class:`LayerStep` per Linear), ``loss`` (textbook) and ``engine_loss``, ``grad_output``
    (∂L/∂A^L, (N, K)), ``probabilities`` (softmax(A^L) for cross_entropy, else None),
    ``loss_after`` (the textbook loss with the updated weights). ``str(step)`` or
    ``step.text(precision)`` prints it all (see :mod:`.explain_text`).
    """

    inputs: np.ndarray
    targets: np.ndarray
    loss_name: str
    reduction: str
    lr: float
    layers: list
    loss: float
    engine_loss: float
    grad_output: np.ndarray
    probabilities: np.ndarray
    loss_after: float

    @property
    def max_difference(self):
        """The largest |textbook − engine| over the loss and every layer's z, δ, gradients and update."""
        values = [abs(self.loss - self.engine_loss)]
        for layer in self.layers:
            values.extend(layer.differences().values())
        return max(values)

    def text(self, precision=6, width=80, max_rows=8, max_cols=6):
        """The step as text: 1. forward pass, 2. loss, 3. backward pass (δ recursion), 4. update.

        Numbers are fixed-point with ``precision`` digits after the point; matrices larger than
        ``max_rows`` x ``max_cols`` are shown in part (the differences always cover all entries).
        """
        return format_step(self, precision=precision, width=width, max_rows=max_rows, max_cols=max_cols)

    def __str__(self):
        return self.text()


def explain_step(model, x, y, loss="mse", lr=0.5, reduction="mean"):
    """One step of plain SGD on ``model`` for the batch (``x``, ``y``), by the textbook and by the engine.

    model: an ``nn.Sequential`` of ``nn.Linear`` layers, each optionally followed by ``nn.Sigmoid``,
        ``nn.Tanh``, ``nn.ReLU`` or ``nn.Identity`` (not changed: the engine runs on a float64 copy).
    x: (N, in_features), array-like or Tensor.
    y: for ``loss="mse"`` targets (N, K) with K = the last layer's out_features; for
        ``loss="cross_entropy"`` class indices (N,) in [0, K) (the loss applies softmax to A^L).
    lr: the SGD learning rate of the update W ← W − lr·∂L/∂W.
    reduction: "mean" (as ``nn.MSELoss()`` / ``nn.CrossEntropyLoss()``) or "sum".

    Returns a :class:`StepExplanation`; ``print(it)`` shows every number of the step.

    Example::

        >>> model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))   # 2-4-2, logits out
        >>> step = explain_step(model, cr.randn(5, 2), [0, 1, 1, 0, 1], loss="cross_entropy", lr=0.1)
        >>> step.layers[-1].delta.shape                   # δ^2 = (softmax(Z^2) − onehot(Y))/N: (5, 2)
        (5, 2)
    """
    if loss not in LOSSES:
        raise ValueError(f"explain_step: loss must be one of {', '.join(map(repr, LOSSES))}, got {loss!r}")
    if reduction not in ("mean", "sum"):
        raise ValueError(f"explain_step: reduction must be 'mean' or 'sum', got {reduction!r}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"explain_step: lr must be a positive number, got {lr!r}")
    structure = _layers_of(model)
    x, y = _batch(x, y, model.get_submodule(structure[0][0]), model.get_submodule(structure[-1][0]), loss)

    engine = copy.deepcopy(model).to(device="cpu", dtype=float64)
    layers = []
    for index, (path, _, activation) in enumerate(structure):
        linear = engine.get_submodule(path)
        bias = None if linear.bias is None else _numpy(linear.bias)
        layers.append(LayerStep(index + 1, path, activation, _numpy(linear.weight), bias, z=None, a=None))
    # the textbook: forward, loss, δ recursion, update -- NumPy only (explain_math)
    for layer, (z, a) in zip(layers, forward(x, [(s.weight, s.bias, s.activation) for s in layers])):
        layer.z, layer.a = z, a
    loss_value, grad_output, probabilities = LOSSES[loss](layers[-1].a, y, reduction)
    for layer, result in zip(layers, backward(x, layers, grad_output)):
        layer.grad_a, layer.slope, layer.delta, layer.grad_weight, layer.grad_bias = result
    for layer in layers:
        layer.new_weight = layer.weight - lr * layer.grad_weight
        layer.new_bias = None if layer.bias is None else layer.bias - lr * layer.grad_bias
    updated = forward(x, [(s.new_weight, s.new_bias, s.activation) for s in layers])
    loss_after = LOSSES[loss](updated[-1][1], y, reduction)[0]

    engine_loss = _engine_step(engine, layers, x, y, loss, reduction, lr)
    return StepExplanation(
        x, y, loss, reduction, float(lr), layers, loss_value, engine_loss, grad_output, probabilities, loss_after
    )


def _layers_of(model):
    """[(path of the Linear, path of its activation or None, activation name)] or a clear error."""
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"explain_step supports {SUPPORTED}; got a {type(model).__name__}")
    structure = []
    for position, (path, module) in enumerate(model.named_children()):
        kind = type(module)
        if kind is nn.Linear:
            structure.append([path, None, "identity"])
        elif kind in ACTIVATIONS and (kind is nn.Identity or (structure and structure[-1][1] is None)):
            if kind is not nn.Identity:
                structure[-1][1:] = [path, ACTIVATIONS[kind]]
        else:
            where = "before the first Linear" if not structure else "after an activation"
            reason = "is not supported" if kind not in ACTIVATIONS else f"comes {where}"
            raise ValueError(f"explain_step supports {SUPPORTED}; model[{position}] ({kind.__name__}) {reason}")
    if not structure:
        raise ValueError(f"explain_step supports {SUPPORTED}; the model has no nn.Linear layer")
    for (path, _, _), (next_path, _, _) in zip(structure, structure[1:]):
        out, into = model.get_submodule(path).out_features, model.get_submodule(next_path).in_features
        if out != into:
            raise ShapeError(f"explain_step: model[{path}] gives {out} features but model[{next_path}] takes {into}")
    return [tuple(entry) for entry in structure]


def _batch(x, y, first, last, loss):
    """x as float64 (N, in); y as float64 (N, K) for mse or int64 (N,) for cross_entropy; ``first``
    and ``last`` are the first and last Linear layers."""
    x = _numpy(x)
    if x.ndim != 2 or x.shape[1] != first.in_features:
        raise ShapeError(f"explain_step: expected inputs x of shape (N, {first.in_features}), got {x.shape}")
    n, k = x.shape[0], last.out_features
    y_raw = np.asarray(y.detach().cpu().numpy() if isinstance(y, Tensor) else y)
    if loss == "mse":
        y = y_raw.astype(np.float64)
        if y.shape != (n, k):
            raise ShapeError(f"explain_step: mse expects targets y of shape ({n}, {k}) like the outputs, got {y.shape}")
    else:
        if y_raw.shape != (n,) or y_raw.dtype.kind not in "iu":
            raise ShapeError(
                f"explain_step: cross_entropy expects integer class indices y of shape ({n},), "
                f"got {y_raw.dtype} {y_raw.shape}"
            )
        y = y_raw.astype(np.int64)
        if y.min() < 0 or y.max() >= k:
            raise ValueError(f"explain_step: class indices must be in [0, {k}), got {y.min()}..{y.max()}")
    return x, y


def _engine_step(engine, layers, x, y, loss, reduction, lr):
    """The model's forward, backward and optim.SGD step on the float64 copy; fills ``layer.engine``."""
    parameters = list(engine.parameters())
    for p in parameters:
        p.requires_grad_(True)  # a frozen layer of the user's model still shows its gradient here
    h = Tensor(x)
    zs = {}
    for path, module in engine.named_children():
        h = module(h)
        if type(module) is nn.Linear:
            h.retain_grad()
            zs[path] = h
    criterion = nn.MSELoss(reduction=reduction) if loss == "mse" else nn.CrossEntropyLoss(reduction=reduction)
    value = criterion(h, Tensor(y))
    value.backward()
    for layer in layers:
        linear = engine.get_submodule(layer.path)
        layer.engine = {
            "z": _numpy(zs[layer.path]),
            "delta": _numpy(zs[layer.path].grad),
            "grad_weight": _numpy(linear.weight.grad),
        }
        if linear.bias is not None:
            layer.engine["grad_bias"] = _numpy(linear.bias.grad)
    optim.SGD(parameters, lr=lr).step()
    for layer in layers:
        linear = engine.get_submodule(layer.path)
        layer.engine["new_weight"] = _numpy(linear.weight)
        if linear.bias is not None:
            layer.engine["new_bias"] = _numpy(linear.bias)
    return float(value.item())


def _numpy(value):
    """A float64 NumPy copy of a Tensor or array-like."""
    if isinstance(value, Tensor):
        value = value.detach().cpu().numpy()
    return np.array(value, dtype=np.float64)
