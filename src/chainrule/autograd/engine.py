"""The backward engine: a topological walk from the outputs, accumulating gradients.

1. Count, for every node, how many edges use its output (an iterative walk: a 10,000-step chain
   does not hit Python's recursion limit).
2. Run a node once all its users have sent their gradients: hand it their sum, call its ``backward``,
   fit each input gradient to its input's shape and dtype (the one place broadcasting is undone),
   and pass it on.
3. Leaves receive the summed gradient once, after their hooks, into ``.grad``.

Observers (``observe_backward``) see every node's backward as it runs, for tools such as
``chainrule.viz.trace_backward``; with none registered, the engine pays one test per pass.

Gradients are raw arrays, or Tensors with their own graph when ``create_graph=True``.
"""

import contextlib
import copy
import gc
import sys

import numpy as np

from .. import dtypes
from ..backend import namespace_of, quiet_floating_point
from ..errors import GraphError, ShapeError
from ..tensor import Tensor, VersionCounter
from .grad_mode import enable_grad, no_grad, state


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(tensors)/d(leaf) into each leaf's ``.grad`` (PyTorch's
    ``torch.autograd.backward``); with ``inputs``, only into those tensors."""
    tensors, grad_tensors = _as_sequences(tensors, grad_tensors)
    retain_graph = create_graph if retain_graph is None else retain_graph
    roots = _roots(tensors, grad_tensors, create_graph)
    wanted = None if inputs is None else list(_as_sequences(inputs, None)[0])
    captured = _run_without_gc(roots, retain_graph, create_graph, wanted)
    if wanted is not None:
        for tensor, grad in zip(wanted, captured):
            if grad is not None:
                _accumulate_into(tensor, grad, create_graph, private=False)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """d(outputs)/d(inputs) as a tuple of Tensors, without touching any ``.grad``.

    Example::

        >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
        >>> (g,) = cr.autograd.grad((x ** 3).sum(), x, create_graph=True)   # g = 3x²: (2,)
        >>> cr.autograd.grad(g.sum(), x)                                    # 6x
        (tensor([ 6., 12.]),)
    """
    outputs, grad_outputs = _as_sequences(outputs, grad_outputs)
    inputs = list(_as_sequences(inputs, None)[0])
    for index, tensor in enumerate(inputs):
        if not tensor.requires_grad:
            raise GraphError(f"grad(): input {index} (shape {tuple(tensor.shape)}) does not require grad")
    retain_graph = create_graph if retain_graph is None else retain_graph
    roots = _roots(outputs, grad_outputs, create_graph)
    captured = _run_without_gc(roots, retain_graph, create_graph, inputs)
    results = []
    for index, (tensor, gradient) in enumerate(zip(inputs, captured)):
        if gradient is None:
            if not allow_unused:
                raise GraphError(
                    f"grad(): input {index} (shape {tuple(tensor.shape)}) was not used to compute the "
                    "outputs; pass allow_unused=True to get None for it"
                )
            results.append(None)
        else:
            results.append(gradient if create_graph else Tensor._wrap(gradient))
    return tuple(results)


def _as_sequences(tensors, grads):
    if isinstance(tensors, Tensor):
        tensors = (tensors,)
        grads = None if grads is None else (grads,) if not isinstance(grads, (list, tuple)) else grads
    tensors = tuple(tensors)
    if grads is None:
        grads = (None,) * len(tensors)
    if len(grads) != len(tensors):
        raise ValueError(f"expected {len(tensors)} gradients, one per output, got {len(grads)}")
    return tensors, tuple(grads)


def _roots(tensors, grads, create_graph):
    """(node or leaf, initial gradient) for each output."""
    roots = []
    for index, (tensor, gradient) in enumerate(zip(tensors, grads)):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"expected a Tensor to differentiate, got {type(tensor).__name__}")
        if not tensor.requires_grad:
            raise GraphError(
                f"output {index} (shape {tuple(tensor.shape)}) does not require grad: no tensor with "
                "requires_grad=True went into it, or it was computed under no_grad()"
            )
        if gradient is None:
            if tensor._data.size != 1:
                raise GraphError(
                    f"backward() on a tensor of shape {tuple(tensor.shape)} needs a gradient: pass "
                    f"gradient= a tensor of shape {tuple(tensor.shape)} (only a single-element output "
                    "gets the implicit gradient 1)"
                )
            xp = tensor._namespace()
            array = xp.ones(tensor._data.shape, dtype=tensor._data.dtype)
        else:
            array = gradient._data if isinstance(gradient, Tensor) else gradient
            if tuple(array.shape) != tuple(tensor.shape):
                raise ShapeError(
                    f"gradient for output {index} has shape {tuple(array.shape)}, expected the "
                    f"output's shape {tuple(tensor.shape)}"
                )
            if array.dtype != tensor._data.dtype:
                array = array.astype(tensor._data.dtype)
        if create_graph:
            value = gradient if isinstance(gradient, Tensor) and array is gradient._data else Tensor._wrap(array)
        else:
            value = array
        roots.append((tensor.grad_fn or tensor, value))
    return roots


def count_uses(roots):
    """For each node below ``roots``: how many graph edges consume its output. A node may run
    its backward once this many gradients have arrived (PyTorch's dependency count)."""
    uses = {}
    stack = list({root: None for root in roots if not isinstance(root, Tensor)})
    expanded = set(stack)
    while stack:
        for parent in stack.pop().parents:
            if parent is None or isinstance(parent, Tensor):
                continue
            if parent in uses:
                uses[parent] += 1
            else:
                uses[parent] = 1
                if parent not in expanded:
                    stack.append(parent)
    return uses


def _run_without_gc(roots, retain_graph, create_graph, wanted):
    """``_run`` with Python's cyclic garbage collector paused and NumPy's floating-point warnings
    off. A backward pass makes no reference cycles, but its many short-lived objects would
    otherwise trigger collections that scan the whole (large, alive) graph again and again. And
    as in PyTorch, an Inf or NaN gradient is a value, not a warning: ``detect_anomaly`` finds
    the op that made it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        with quiet_floating_point():
            return _run(roots, retain_graph, create_graph, wanted)
    finally:
        if was_enabled:
            gc.enable()


def _run(roots, retain_graph, create_graph, wanted):
    """Walk the graph; accumulate into leaves, or return the gradients of ``wanted`` tensors.

    Gradients wait in dicts keyed by node (or leaf tensor) until all users have sent theirs.
    """
    node_grads, leaf_grads = {}, {}
    for target, gradient in roots:
        grads = leaf_grads if isinstance(target, Tensor) else node_grads
        grads[target] = gradient if target not in grads else grads[target] + gradient
    wanted_nodes = {}
    if wanted is not None:
        wanted_nodes = {t.grad_fn: None for t in wanted if t.grad_fn is not None}
    with enable_grad() if create_graph else no_grad():
        _propagate(node_grads, leaf_grads, wanted_nodes, retain_graph, create_graph)
        if wanted is not None:
            return [
                _leaf_gradient(t, leaf_grads, create_graph) if t.grad_fn is None else wanted_nodes.get(t.grad_fn)
                for t in wanted
            ]
        while leaf_grads:
            leaf, gradient = leaf_grads.popitem()
            if leaf._hooks:
                gradient = _run_tensor_hooks(leaf._hooks, gradient, create_graph)
            private = not create_graph and _is_private(gradient)
            _accumulate_into(leaf, gradient, create_graph, private)
    return None


def _propagate(node_grads, leaf_grads, wanted_nodes, retain_graph, create_graph):
    """Run every node's backward once all its users have sent their gradients."""
    uses = count_uses(node_grads)
    ready = [node for node in node_grads if node not in uses]
    checked = create_graph or state.anomaly or _observers  # every node through _call_backward's full path
    while ready:
        node = ready.pop()
        parents = node.parents
        gradient = node_grads.pop(node, None)
        if gradient is None:  # nothing flowed into this node: only release its inputs
            input_grads = (None,) * len(parents)
        else:
            if node.hooks or node.retained is not None:
                gradient = _run_hooks(node, gradient, create_graph)
            if wanted_nodes and node in wanted_nodes:
                wanted_nodes[node] = gradient
            if checked or node._freed or node._recorded_at != VersionCounter.changes:
                input_grads = _call_backward(node, gradient, create_graph)
            else:  # the common case: first order, no in-place change anywhere since the node was recorded
                input_grads = node.backward(gradient)
                if type(input_grads) is not tuple:
                    input_grads = (input_grads,)
                if len(input_grads) != len(parents):
                    _wrong_count(node, input_grads)
            if not retain_graph and node.saved:
                node.saved, node._guarded, node._freed = (), None, True  # free what backward needed
        for parent, input_grad in zip(parents, input_grads):
            if parent is None:
                continue
            if isinstance(parent, Tensor):
                grads, shape, dtype = leaf_grads, parent._data.shape, parent._data.dtype
            else:
                grads, shape, dtype = node_grads, parent.out_shape, parent.out_dtype
                remaining = uses[parent] - 1
                uses[parent] = remaining
                if remaining == 0:
                    ready.append(parent)
            if input_grad is None:
                continue
            # (dtypes are canonical objects: an equal one that is not the same one only takes _fit's path)
            if create_graph or input_grad.shape != shape or input_grad.dtype is not dtype or not shape:
                input_grad = _fit(input_grad, shape, dtype, create_graph)
            previous = grads.get(parent)
            grads[parent] = input_grad if previous is None else previous + input_grad


def _is_private(array):
    """True if nothing outside the engine holds ``array`` or the memory it is a view of, so a leaf
    may keep it as ``.grad`` without a copy. Decided by reference counts, as PyTorch's gradient
    accumulation decides by use counts: the caller's one variable is the only holder allowed (a
    gradient that another leaf still waits for in the dict has one more), and a view's base may
    be held by that view alone. The counts that mean "nobody else" are measured at import, in the
    same call shape, so they hold whatever the interpreter counts for arguments and locals."""
    if not array.flags.writeable or _references(array) > _ONE_HOLDER:
        return False
    base = array.base
    return base is None or (base.base is None and _references(base) <= _ONE_VIEW)


def _references(array):
    return sys.getrefcount(array)


def _references_within_a_call(array):
    return _references(array)


def _measure_private_counts():
    gradient = np.empty(2)  # held by one variable, as in _run's loop ...
    one_holder = _references_within_a_call(gradient)  # ... and passed on, as to _is_private
    view = gradient[:1]
    del gradient
    base = view.base  # held by the view alone (plus this variable, as in _is_private)
    return one_holder, _references(base)


_ONE_HOLDER, _ONE_VIEW = _measure_private_counts()


def _leaf_gradient(tensor, leaf_grads, create_graph):
    gradient = leaf_grads.get(tensor)
    if gradient is None:
        return None
    return _run_tensor_hooks(tensor._hooks, gradient, create_graph)


def _call_backward(node, gradient, create_graph):
    if node._guarded is not None or node._freed:
        node.check_saved_versions()
    if create_graph:
        differentiable = copy.copy(node)
        differentiable.xp = _tensor_namespace()
        differentiable.saved = node.saved_tensors()
        result = differentiable.backward(gradient)
    else:
        result = node.backward(gradient)
    if type(result) is not tuple:
        result = (result,)
    if len(result) != len(node.parents):
        _wrong_count(node, result)
    if state.anomaly:
        node._check_finite([_array(g) for g in result], "backward")
    if _observers:
        for observer in _observers:
            observer(node, gradient, result)
    return result


_observers = ()  # callbacks of the active observe_backward() blocks, innermost last


@contextlib.contextmanager
def observe_backward(callback):
    """Within the block, call ``callback(node, grad_received, grads_sent)`` after each node's backward.

    ``node`` is the ``Function``; ``grad_received`` is the gradient of its output (after the
    output's hooks); ``grads_sent`` has one gradient per input (``node.parents``), as the rule
    returned it: possibly of the output's broadcast shape (the engine then sums it to the input's
    shape), and None or ignored for an input whose parent is None (it needs no gradient).
    Gradients are arrays (Tensors under ``create_graph=True``). Leaves run no backward; a tensor
    hook sees what they accumulate. Nodes that received no gradient are skipped.

    Example::

        >>> seen = []
        >>> with observe_backward(lambda node, g, sent: seen.append((node.name, g.shape))):
        ...     (x @ w).sum().backward()              # x: (4, 3), w: (3, 2) requiring grad
        >>> seen
        [('SumBackward0', ()), ('MatMulBackward0', (4, 2))]
    """
    global _observers
    _observers = _observers + (callback,)
    try:
        yield callback
    finally:
        position = len(_observers) - 1 - _observers[::-1].index(callback)
        _observers = _observers[:position] + _observers[position + 1 :]


def _wrong_count(node, grads):
    raise RuntimeError(f"{node.name}.backward returned {len(grads)} gradients for {len(node.parents)} inputs")


def _fit(gradient, shape, dtype, create_graph):
    """Sum broadcast dimensions away and cast, so the gradient matches its input exactly."""
    array = _array(gradient)
    if not create_graph:
        xp = namespace_of(array)
        if not isinstance(array, xp.ndarray):  # NumPy returns scalars for 0-d results
            gradient = array = xp.asarray(array)
    if array.shape != shape:
        gradient = sum_to(gradient, shape, _tensor_namespace() if create_graph else xp)
    if array.dtype != dtype:
        gradient = gradient.to(dtypes.from_numpy(dtype)) if create_graph else gradient.astype(dtype)
    return gradient


def sum_to(gradient, shape, xp):
    """Undo broadcasting: sum ``gradient`` over the dimensions that broadcasting added or
    stretched from 1, giving ``shape``.  (3, 4) -> (4,) sums axis 0; (3, 4) -> (3, 1) sums axis 1."""
    lead = gradient.ndim - len(shape)
    if lead < 0:
        raise ShapeError(f"gradient of shape {tuple(gradient.shape)} cannot be summed to shape {tuple(shape)}")
    if lead:
        gradient = xp.sum(gradient, axis=tuple(range(lead)))
    stretched = tuple(i for i, size in enumerate(shape) if size == 1 and gradient.shape[i] != 1)
    if stretched:
        gradient = xp.sum(gradient, axis=stretched, keepdims=True)
    return gradient


def _run_hooks(node, gradient, create_graph):
    if node.hooks:
        gradient = _run_tensor_hooks(node.hooks, gradient, create_graph)
    if node.retained is not None:
        tensor = node.retained()
        if tensor is not None:
            _accumulate_into(tensor, gradient, create_graph, private=False)
    return gradient


def _run_tensor_hooks(hooks, gradient, create_graph):
    for hook in hooks or ():
        result = hook(gradient if create_graph else Tensor._wrap(gradient))
        if result is not None:
            if not isinstance(result, Tensor):
                raise TypeError(f"a tensor hook must return a Tensor or None, got {type(result).__name__}")
            if result.shape != _array(gradient).shape:
                raise ShapeError(
                    f"a tensor hook returned a gradient of shape {tuple(result.shape)}, "
                    f"expected {tuple(_array(gradient).shape)}"
                )
            gradient = result if create_graph else result._data
    return gradient


def _accumulate_into(tensor, gradient, create_graph, private):
    """tensor.grad += gradient; ``.grad`` always owns its memory (a copy unless ``private``)."""
    if create_graph:
        tensor.grad = gradient if tensor.grad is None else tensor.grad + gradient
        return
    if isinstance(gradient, Tensor):
        gradient = gradient._data
    existing = tensor.grad
    if existing is None:
        tensor.grad = Tensor._wrap(gradient if private else gradient.copy())
    elif existing._data.flags.writeable and existing.grad_fn is None:
        existing._data += gradient
    else:
        tensor.grad = Tensor._wrap(existing._data + gradient)


def _array(value):
    return value._data if isinstance(value, Tensor) else value


_namespace = None


def _tensor_namespace():
    global _namespace
    if _namespace is None:
        from ..ops import differentiable_namespace

        _namespace = differentiable_namespace
    return _namespace
