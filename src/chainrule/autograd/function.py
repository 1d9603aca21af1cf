"""``Function``: the base class of every differentiable op, and the node it leaves in the graph.

An op subclasses ``Function`` and writes two short methods side by side:

- ``forward(*arrays) -> array`` computes the result on raw arrays and saves what the backward
  rule needs with ``save_for_backward``;
- ``backward(grad) -> grads`` is the vector-Jacobian product: one gradient per input, each of the
  output's shape or broadcastable to the input's (the engine sums broadcast dimensions away).

A backward rule is written with operators and ``self.xp`` functions only. The engine normally runs
it on arrays (fast); under ``create_graph=True`` it runs the same rule on Tensors, with ``self.xp``
the differentiable namespace, so higher-order derivatives need no extra code. Backward rules run
with NumPy's floating-point warnings off (an Inf gradient is a value; ``detect_anomaly`` finds
where it came from), so they need no ``errstate`` of their own.
"""

import operator
import traceback

from ..backend import namespace_of, numpy_namespace
from ..errors import AnomalyError, GraphError, ShapeError
from ..tensor import Tensor, VersionCounter
from .grad_mode import state


class Function:
    """Base class of differentiable ops (see the module docstring).

    Example::

        class Tanh(Function):
            '''y = tanh(x).   dy/dx = 1 - y²'''

            def forward(self, x):
                y = self.xp.tanh(x)
                self.save_for_backward(y)
                return y

            def backward(self, grad_y):
                (y,) = self.saved
                return grad_y * (1 - y * y)

        y = Tanh()(x)          # x: Tensor (N,) -> y: Tensor (N,)
    """

    # Defaults on the class keep each op object small: only what an op sets lives on it.
    xp = numpy_namespace  # the array namespace of the inputs' device
    parents = ()  # per input: its grad_fn, the input itself if it is a leaf needing grad, or None
    saved = ()
    hooks = None  # tensor hooks registered on this node's output
    retained = None  # weak reference to an output tensor that asked for retain_grad()
    creation_stack = None  # recorded under detect_anomaly()
    returns_view = False  # True for ops whose output may share memory with their first input
    _saved_sources = None  # per saved array: -1 the output, i input i, None neither
    _guarded = None  # per saved array: its tensor's version counter or the input tensor itself; or _OUTPUT_ONLY
    output_counter = None  # the output's version counter, handed over when the output first needs one
    _recorded_at = 0  # VersionCounter.changes when the node was recorded
    _freed = False

    def forward(self, *arrays):
        raise NotImplementedError(f"{type(self).__name__} must define forward(*arrays)")

    def backward(self, grad):
        raise NotImplementedError(f"{type(self).__name__} must define backward(grad)")

    def save_for_backward(self, *arrays):
        """Keep arrays that ``backward`` needs; it reads them back as ``self.saved``."""
        self.saved = arrays

    @property
    def name(self):
        """PyTorch-style node name, e.g. ``MulBackward0``."""
        return type(self).__name__ + "Backward0"

    def __repr__(self):
        return f"<{self.name}>"

    @property
    def next_functions(self):
        """The nodes (or leaf tensors) this node sends gradients to, PyTorch-style pairs."""
        return tuple((parent, 0) for parent in self.parents)

    @property
    def needs_input_grad(self):
        """Per input: does it need a gradient? (Backward rules skip the work for those that don't.)"""
        return tuple([parent is not None for parent in self.parents])

    def __call__(self, *inputs):
        """Run forward on the inputs' arrays; record this node when a gradient is needed."""
        if len(inputs) == 1:  # nearly every op has one or two inputs: their tuples spelled out
            arrays = (inputs[0]._data,)
        elif len(inputs) == 2:
            arrays = (inputs[0]._data, inputs[1]._data)
        else:
            arrays = tuple([tensor._data for tensor in inputs])
        xp = self.xp
        if type(arrays[0]) is not xp.ndarray:  # the class default (NumPy) fits CPU arrays
            xp = self.xp = namespace_of(arrays[0])
        try:
            out = self.forward(*arrays)
        except ValueError as error:
            if isinstance(error, ShapeError):
                raise
            shapes = " and ".join(str(tuple(a.shape)) for a in arrays)
            raise ShapeError(f"{type(self).__name__.lower()}: shapes {shapes} do not fit: {error}") from None
        if type(out) is not xp.ndarray:  # NumPy returns scalars for 0-d results
            out = xp.asarray(out)
        if state.anomaly:
            self._check_finite((out,), "forward")
            self.creation_stack = "".join(traceback.format_stack()[:-1])  # all but this call
        if state.enabled:
            for tensor in inputs:
                if tensor.requires_grad:
                    return self._record(inputs, arrays, out)
        result = Tensor._wrap(out)
        if self.returns_view:
            self._share_version(inputs[0], result)
        return result

    def _share_version(self, source, result):
        """A view shares its source's version counter: changing either changes both."""
        if self.xp.may_share_memory(result._data, source._data):
            result._version_counter = self.output_counter = source._counter()

    def _record(self, inputs, arrays, out):
        """Make this op a node of the graph: link it to its inputs and guard what it saved."""
        if len(inputs) == 1:  # spelled out for one and two inputs, nearly every op
            (x,) = inputs
            self.parents = (x.grad_fn or (x if x.requires_grad else None),)
        elif len(inputs) == 2:
            a, b = inputs
            self.parents = (
                a.grad_fn or (a if a.requires_grad else None),
                b.grad_fn or (b if b.requires_grad else None),
            )
        else:
            self.parents = tuple([t.grad_fn or (t if t.requires_grad else None) for t in inputs])
        self.out_shape = out.shape
        self.out_dtype = out.dtype
        result = Tensor._wrap(out, True, self)
        if self.returns_view:
            self._share_version(inputs[0], result)
        self._recorded_at = VersionCounter.changes
        saved = self.saved
        if saved:
            if len(saved) == 1 and saved[0] is out:  # the common cases: the output is saved ...
                self._saved_sources = self._guarded = _OUTPUT_ONLY  # guarded through output_counter
            elif len(saved) == len(arrays) and all(map(operator.is_, saved, arrays)):  # ... or the inputs
                self._saved_sources = range(len(arrays))
                self._guarded = inputs  # their counters looked up when checked (made then if need be)
            else:
                self._track_saved(inputs, arrays, out, result)
        return result

    def _track_saved(self, inputs, arrays, out, result):
        """Note which tensor each saved array belongs to, so that backward can refuse arrays changed
        in place since, and can rebuild them as Tensors for create_graph."""
        sources, guarded = [], []
        for array in self.saved:
            if array is out:
                sources.append(-1)
                guarded.append(result._counter())
                continue
            for index in range(len(arrays)):
                if array is arrays[index]:
                    sources.append(index)
                    guarded.append(inputs[index]._counter())
                    break
            else:
                sources.append(None)
                guarded.append(None)
        self._saved_sources = sources
        self._guarded = guarded

    def check_saved_versions(self):
        """Raise if a tensor this node saved was modified in place since the forward pass."""
        if self._freed:
            raise GraphError(
                f"{self.name}: trying to backward through the graph a second time, but its saved "
                "values were freed by the first backward; pass retain_graph=True to the first "
                "backward() if you need to backward twice"
            )
        if VersionCounter.changes == self._recorded_at:
            return  # no tensor anywhere changed in place since this node was recorded
        guarded = self._guarded
        for position, guard in enumerate((self.output_counter,) if guarded is _OUTPUT_ONLY else guarded):
            # The output and the inputs are guarded through counters they get when first needed:
            # one made later was made for a change after this node, so its changed_at is later too.
            counter = guard._version_counter if isinstance(guard, Tensor) else guard
            if counter is not None and counter.changed_at > self._recorded_at:
                raise GraphError(
                    f"{self.name}: a tensor of shape {tuple(self.saved[position].shape)} saved for backward "
                    f"was modified by an in-place operation afterwards (it is now at version {counter.value}); "
                    "clone() it before changing it, or change it after backward()"
                )

    def saved_tensors(self):
        """The saved arrays as Tensors connected to the graph (for create_graph=True)."""
        tensors = []
        for array, source in zip(self.saved, self._saved_sources or [None] * len(self.saved)):
            if source == -1:
                tensors.append(_rebuilt(array, self))
                continue
            parent = self.parents[source] if source is not None else None
            if parent is None:
                tensors.append(Tensor._wrap(array))
            elif isinstance(parent, Tensor):
                tensors.append(parent)
            else:
                tensors.append(_rebuilt(array, parent))
        return tensors

    def _check_finite(self, arrays, phase):
        for position, array in enumerate(arrays):
            if array is None or array.dtype.kind != "f":
                continue
            xp = namespace_of(array)
            if not bool(xp.isfinite(array).all()):
                where = f" ({ordinal(position)} gradient)" if phase == "backward" else ""
                stack = self.creation_stack or "".join(traceback.format_stack()[:-2])
                raise AnomalyError(
                    f"{type(self).__name__} produced NaN or Inf in its {phase}{where}; the op was created at:\n{stack}"
                )


_OUTPUT_ONLY = (-1,)


def _rebuilt(array, node):
    """A saved array as a Tensor computed by ``node`` (for create_graph). It has a version counter of
    its own from the start, so it never hands one to ``node`` in place of the real output's."""
    tensor = Tensor._wrap(array, True, node)
    tensor._version_counter = VersionCounter()
    return tensor


def ordinal(n):
    return {0: "1st", 1: "2nd", 2: "3rd"}.get(n, f"{n + 1}th")
