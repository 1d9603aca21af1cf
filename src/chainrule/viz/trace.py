"""A backward pass recorded step by step: ``trace_backward(loss)``.

Each step is one node's backward in the order the engine ran it: the op, the rule it applied
(from the op's docstring), the gradient it received (∂L/∂ its output) and the gradient it sent to
each input, with shapes and 2-norms; then each leaf's accumulation into ``.grad`` (PyTorch calls
that node ``AccumulateGrad``). With a model and a loss given as a function, forward hooks also
capture each layer's δ: the gradient of the loss w.r.t. each submodule's output.
"""

from dataclasses import dataclass

from ..autograd.engine import observe_backward, sum_to
from ..backend import namespace_of
from ..errors import GraphError, ShapeError
from ..tensor import Tensor
from .deltas import GradStat, capture_deltas, gradient_stat
from .graph import forward_order, parameter_names
from .rules import rule_of
from .trace_table import format_trace

LEAF_RULE = "leaf.grad += g   (g: the sum of the gradients sent to this leaf)"


@dataclass
class BackwardStep:
    """One step of a backward pass.

    index: position in execution order (from 0); id: the node's id in ``viz.graph(loss)``
    (``"n5"``); name: the op (``"Linear"``), or ``"AccumulateGrad"`` for a leaf; rule: the rule
    applied; received: ``GradStat`` of ∂L/∂(the node's output); sent: per input, ``GradStat`` of the
    gradient sent (of that input's shape, broadcasting undone) or None if it needs none; targets:
    per input, the id of the node or leaf it went to, or None; parameter: for a leaf, its name in
    the model (``"0.weight"``) or ``"leaf"``, None for an op; grad: for a leaf, the gradient it
    accumulated in this pass (a Tensor), None for an op; node: the ``Function`` or leaf Tensor.
    """

    index: int
    id: str
    name: str
    rule: str
    received: GradStat
    sent: tuple
    targets: tuple
    parameter: str = None
    grad: Tensor = None
    node: object = None


class BackwardTrace:
    """What ``trace_backward`` recorded: ``steps`` (``BackwardStep``s in execution order),
    ``deltas`` (``Delta``s in forward order, empty without a model and a loss function), ``names``
    (node id → name, as in ``viz.graph``) and ``loss`` (the loss tensor). ``print(trace)`` shows
    the steps and the δs as aligned tables; ``len(trace)`` and iteration go over the steps."""

    def __init__(self, loss, steps, deltas, names, deltas_captured):
        self.loss, self.steps, self.deltas, self.names = loss, steps, deltas, names
        self.deltas_captured = deltas_captured

    def __len__(self):
        return len(self.steps)

    def __iter__(self):
        return iter(self.steps)

    def __getitem__(self, index):
        return self.steps[index]

    def __str__(self):
        return format_trace(self)

    def __repr__(self):
        return f"<BackwardTrace: {len(self.steps)} steps, {len(self.deltas)} deltas>"


def trace_backward(loss, model=None, retain_graph=False):
    """Run ``loss.backward()`` while recording every step; return a ``BackwardTrace``.

    loss: a scalar Tensor, or a function of no arguments that computes it (then, with a model,
    forward hooks capture each layer's δ while it runs). model: an ``nn.Module`` (or a mapping
    name → Tensor) that names the parameters. retain_graph: passed to ``backward``. Gradients
    accumulate into ``.grad`` exactly as with ``loss.backward()``.

    Example::

        >>> model = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1))
        >>> x, y = cr.randn(4, 2), cr.randn(4, 1)             # x: (4, 2) -> model(x): (4, 1)
        >>> trace = cr.viz.trace_backward(lambda: F.mse_loss(model(x), y), model=model)
        >>> print(trace)                                      # the steps, then δ per layer
        >>> [(s.name, s.received.shape) for s in trace.steps][:2]
        [('Mean', ()), ('Mul', (4, 1))]
        >>> [(d.module, d.shape) for d in trace.deltas]
        [('0', (4, 3)), ('1', (4, 3)), ('2', (4, 1))]
    """
    deltas, handles = [], []
    try:
        if callable(loss) and not isinstance(loss, Tensor):
            loss, captured = capture_deltas(loss, model, deltas, handles), model is not None
        else:
            captured = False
        _check_loss(loss)
        names = parameter_names(model)
        order = forward_order(loss)
        ids = {id(item): f"n{index}" for index, item in enumerate(order)}
        labels = {ids[id(item)]: _label(item, names) for item in order}
        steps = []
        for item in order:
            if isinstance(item, Tensor):
                handles.append(item.register_hook(_leaf_recorder(item, steps, ids, names)))
        with observe_backward(_node_recorder(steps, ids)):
            loss.backward(retain_graph=retain_graph)
    finally:
        for handle in handles:
            handle.remove()
    return BackwardTrace(loss, steps, deltas, labels, captured)


def _check_loss(loss):
    if not isinstance(loss, Tensor):
        raise TypeError(
            f"trace_backward() expects a scalar loss Tensor (or a function returning one), got {type(loss).__name__}"
        )
    if loss.numel() != 1:
        raise ShapeError(
            f"trace_backward() needs a scalar loss (one element), got a tensor of shape {tuple(loss.shape)}: "
            "reduce it first, e.g. loss.mean() or loss.sum()"
        )
    if not loss.requires_grad:
        raise GraphError(
            "trace_backward(): the loss does not require grad, so there is no backward pass to trace: "
            "compute it from parameters with requires_grad=True, outside no_grad()"
        )


def _label(item, names):
    if isinstance(item, Tensor):
        return names.get(id(item), "leaf")
    return type(item).__name__


def _node_recorder(steps, ids):
    """The observer: one ``BackwardStep`` per node's backward, gradients fitted to their inputs."""

    def record(node, received, sent):
        stats, targets = [], []
        for parent, gradient in zip(node.parents, sent):
            if parent is None or gradient is None:
                stats.append(None)
                targets.append(None)
                continue
            shape = parent._data.shape if isinstance(parent, Tensor) else parent.out_shape
            array = gradient._data if isinstance(gradient, Tensor) else gradient
            xp = namespace_of(array)
            array = xp.asarray(array)  # NumPy may return a scalar for a 0-d result
            if array.shape != tuple(shape):  # as the engine does: undo broadcasting
                array = sum_to(array, shape, xp)
            stats.append(gradient_stat(array))
            targets.append(ids.get(id(parent)))
        name = type(node).__name__
        steps.append(
            BackwardStep(
                len(steps),
                ids.get(id(node)),
                name,
                rule_of(node),
                gradient_stat(received),
                tuple(stats),
                tuple(targets),
                node=node,
            )
        )

    return record


def _leaf_recorder(leaf, steps, ids, names):
    """A tensor hook on ``leaf``: it sees the summed gradient just before it goes into ``.grad``."""

    def record(grad):
        steps.append(
            BackwardStep(
                len(steps),
                ids[id(leaf)],
                "AccumulateGrad",
                LEAF_RULE,
                gradient_stat(grad),
                (),
                (),
                parameter=names.get(id(leaf), "leaf"),
                grad=grad.detach().clone(),
                node=leaf,
            )
        )

    return record
