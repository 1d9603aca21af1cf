"""``Tensor``: an array, its gradient, and the node of the graph that produced it.

A Tensor holds its data as a NumPy (or CuPy) array. Math on tensors goes through
``chainrule.ops``; the methods and operators here only delegate, so every op has one home.
"""

import weakref

from . import backend, dtypes
from .autograd.grad_mode import no_grad, state
from .errors import DTypeError, GraphError, ShapeError


class VersionCounter:
    """Counts in-place changes to a storage; tensors that are views of it share the counter.

    ``changed_at`` is the number of the storage's last change among all in-place changes so far
    (``VersionCounter.changes``), so a graph node can tell with one comparison whether anything
    at all changed since it saved its arrays.
    """

    __slots__ = ("value", "changed_at")
    changes = 0  # in-place changes so far, over all tensors

    def __init__(self):
        self.value = 0
        self.changed_at = 0

    def bump(self):
        VersionCounter.changes += 1
        self.value += 1
        self.changed_at = VersionCounter.changes


class RemovableHandle:
    """Returned by ``register_hook``; ``handle.remove()`` unregisters the hook."""

    def __init__(self, hooks, hook):
        self._hooks = hooks
        self._hook = hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


class Tensor:
    """An n-dimensional array that can record the ops applied to it, for backpropagation.

    Make one with :func:`chainrule.tensor` (or ``zeros``, ``randn``, ...).

    Example::

        >>> w = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)   # (2, 2)
        >>> loss = (w @ cr.ones(2)).sum()                                  # scalar
        >>> loss.backward()
        >>> w.grad
        tensor([[1., 1.],
                [1., 1.]])
    """

    __slots__ = ("_data", "requires_grad", "grad", "grad_fn", "_version_counter", "_hooks", "__weakref__")
    __array_priority__ = 1000  # ndarray <op> Tensor defers to Tensor's reflected operator

    def __init__(self, data, dtype=None, requires_grad=False, device=None):
        from .creation import as_array

        self._data = as_array(data, dtype, device)
        self.grad = None
        self.grad_fn = None
        self._version_counter = None
        self._hooks = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array, requires_grad=False, grad_fn=None):
        """A Tensor around an existing array, without checks (the ops' fast path)."""
        tensor = object.__new__(cls)
        tensor._data = array
        tensor.requires_grad = requires_grad
        tensor.grad = None
        tensor.grad_fn = grad_fn
        tensor._version_counter = None  # made on first need: see _counter
        tensor._hooks = None
        return tensor

    def _counter(self):
        """This tensor's version counter, made when first needed (most tensors never need one).
        The node that computed the tensor gets it too: it guards a saved output through it."""
        counter = self._version_counter
        if counter is None:
            counter = self._version_counter = VersionCounter()
            if self.grad_fn is not None:
                self.grad_fn.output_counter = counter
        return counter

    @property
    def _version(self):
        """How many times this tensor's storage was changed in place (PyTorch's ``_version``)."""
        return 0 if self._version_counter is None else self._version_counter.value

    # ----------------------------------------------------------------- attributes
    @property
    def shape(self):
        """The size of each dimension, a tuple: ``cr.zeros(2, 3).shape == (2, 3)``."""
        return self._data.shape

    @property
    def ndim(self):
        return self._data.ndim

    @property
    def dtype(self):
        return dtypes.from_numpy(self._data.dtype)

    @property
    def device(self):
        return backend.device_of(self._data)

    @property
    def is_leaf(self):
        """True for tensors made by the user, not by an op that records a gradient."""
        return self.grad_fn is None

    @property
    def is_cuda(self):
        return self.device.type == "cuda"

    @property
    def data(self):
        """The same storage as a Tensor outside the graph (changes to it are not tracked)."""
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value):
        self._data = value._data if isinstance(value, Tensor) else value

    def size(self, dim=None):
        """The shape, or the size of dimension ``dim``."""
        return self._data.shape if dim is None else self._data.shape[dim]

    def dim(self):
        return self._data.ndim

    def numel(self):
        return int(self._data.size)

    def element_size(self):
        return self._data.itemsize

    def is_floating_point(self):
        return self._data.dtype.kind == "f"

    def _namespace(self):
        return backend.namespace_of(self._data)

    # ----------------------------------------------------------------- autograd
    def requires_grad_(self, requires_grad=True):
        """Ask (or stop asking) for this leaf's gradient; returns self."""
        if not self.is_leaf and not requires_grad:
            raise GraphError(
                "requires_grad_(False) on a tensor computed by an op: use .detach() to get a tensor outside the graph"
            )
        if requires_grad and self._data.dtype.kind != "f":
            raise DTypeError(
                f"only floating-point tensors can require gradients, got a tensor of dtype {self.dtype.name}"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Backpropagate from this tensor: add d(self)/d(leaf) into every leaf's ``.grad``.

        ``gradient`` is required unless the tensor has one element. The graph's saved values are
        freed afterwards unless ``retain_graph=True``; ``create_graph=True`` records the backward
        pass itself, for higher-order derivatives.
        """
        from .autograd import engine

        engine.backward(self, gradient, retain_graph, create_graph, inputs)

    def detach(self):
        """The same data, cut from the graph (shares storage and version counter)."""
        tensor = Tensor._wrap(self._data)
        tensor._version_counter = self._counter()
        return tensor

    def detach_(self):
        """Cut this tensor from the graph in place; it becomes a leaf."""
        self._counter()  # while grad_fn still sees it: the node may have saved this tensor
        self.grad_fn = None
        self.requires_grad = False
        return self

    def retain_grad(self):
        """Keep ``.grad`` for this non-leaf tensor after backward (leaves always keep it)."""
        if self.grad_fn is None:
            if not self.requires_grad:
                raise GraphError("retain_grad() on a tensor that does not require grad")
            return
        self.grad_fn.retained = weakref.ref(self)

    @property
    def retains_grad(self):
        return self.grad_fn is not None and self.grad_fn.retained is not None and self.grad_fn.retained() is self

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a Tensor it returns
        replaces the gradient. Returns a handle with ``.remove()``.
        """
        if not self.requires_grad:
            raise GraphError("cannot register a hook on a tensor that does not require grad")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            if self.grad_fn.hooks is None:
                self.grad_fn.hooks = []
            hooks = self.grad_fn.hooks
        hooks.append(hook)
        return RemovableHandle(hooks, hook)

    # ----------------------------------------------------------------- conversion
    def numpy(self, force=False):
        """The data as a NumPy array (shares memory on the CPU)."""
        if self.requires_grad and not force:
            raise GraphError("numpy() on a tensor that requires grad: call tensor.detach().numpy()")
        if self.device.type != "cpu":
            if not force:
                raise RuntimeError(f"numpy() on a tensor on {self.device}: call tensor.cpu().numpy()")
            return backend.to_device(self._data, backend.CPU)
        return self._data

    def __array__(self, dtype=None, copy=None):
        array = self.numpy()
        if dtype is not None and array.dtype != dtype:
            return array.astype(dtype)
        return array.copy() if copy else array

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ShapeError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self._data.reshape(()).item()

    def tolist(self):
        return self._data.tolist()

    def __dlpack__(self, *args, **kwargs):
        if self.requires_grad:
            raise GraphError("DLPack export of a tensor that requires grad: call tensor.detach() first")
        return self._data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    def to(self, *args, dtype=None, device=None, copy=False):
        """A tensor with the given dtype and/or device: ``t.to(cr.float64)``, ``t.to("cuda")``."""
        for arg in args:
            if isinstance(arg, dtypes.dtype):
                dtype = arg
            elif isinstance(arg, (str, backend.Device)):
                device = arg
            elif isinstance(arg, Tensor):
                dtype, device = arg.dtype, arg.device
            else:
                raise TypeError(f"to() expects a dtype, a device or a Tensor, got {type(arg).__name__}")
        result = self
        if device is not None and backend.Device(device) != self.device:
            result = _ops.to_device(result, backend.Device(device))
        if dtype is not None and dtypes.to_numpy(dtype) != result._data.dtype:
            result = _ops.cast(result, dtypes.to_numpy(dtype))
        if copy and result is self:
            result = _ops.clone(self)
        return result

    def cpu(self):
        return self.to(device="cpu")

    def cuda(self, device=None):
        """A copy on a GPU: ``t.cuda()``, ``t.cuda(1)`` or ``t.cuda("cuda:1")`` (needs CuPy)."""
        if device is None or isinstance(device, int):
            device = backend.Device("cuda", device)
        return self.to(device=device)

    def float(self):
        return self.to(dtypes.float32)

    def double(self):
        return self.to(dtypes.float64)

    def half(self):
        return self.to(dtypes.float16)

    def long(self):
        return self.to(dtypes.int64)

    def int(self):
        return self.to(dtypes.int32)

    def bool(self):
        return self.to(dtypes.bool)

    def type_as(self, other):
        return self.to(other.dtype)

    # ----------------------------------------------------------------- Python protocol
    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor with {self._data.size} elements is ambiguous: use .any() or .all()"
            )
        return bool(self._data.reshape(()))

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError(
                f"only one-element integer tensors can be used as an index, got {self.dtype.name} {self.shape}"
            )
        return int(self.item())

    __hash__ = object.__hash__

    def __repr__(self):
        from .formatting import tensor_repr

        return tensor_repr(self)

    # ----------------------------------------------------------------- in place, outside the graph
    def _check_inplace(self):
        if self.requires_grad and state.enabled:
            where = "a leaf tensor that requires grad" if self.is_leaf else "a tensor that is part of the graph"
            raise GraphError(
                f"in-place change of {where} while recording; do it under `with cr.no_grad():` or "
                "build a new tensor out of place (e.g. x = x + y, cr.where)"
            )

    def _bump_version(self):
        self._counter().bump()

    def __setitem__(self, index, value):
        self._check_inplace()
        if isinstance(value, Tensor):
            value = value._data
        self._data[_ops.array_index(index, self.device)] = value
        self._bump_version()

    def _apply_inplace(self, result):
        """Write ``result`` (same shape) into this tensor's storage, keeping its dtype."""
        array = result._data if isinstance(result, Tensor) else result
        if array.shape != self._data.shape:
            raise ShapeError(
                f"in-place result of shape {tuple(array.shape)} does not fit a tensor of shape {self.shape}"
            )
        if self._data.dtype.kind != "f" and array.dtype.kind == "f":
            raise DTypeError(f"result of dtype {array.dtype} cannot be stored in place in a {self.dtype.name} tensor")
        self._data[...] = array
        self._bump_version()
        return self

    def _ufunc_inplace(self, method, ufunc, other, alpha=1):
        """self = ufunc(self, alpha·other), computed straight into this tensor's storage."""
        self._check_inplace()
        operand = other._data if isinstance(other, Tensor) else other
        if alpha != 1:
            operand = operand * alpha
        try:
            getattr(self._namespace(), ufunc)(self._data, operand, out=self._data)
        except TypeError:
            found = getattr(operand, "dtype", type(operand).__name__)
            raise DTypeError(
                f"{method}: the result of a {self.dtype.name} tensor and {found} cannot be stored in place "
                f"in the {self.dtype.name} tensor"
            ) from None
        except ValueError:
            raise ShapeError(
                f"{method}: an operand of shape {tuple(getattr(operand, 'shape', ()))} does not broadcast to "
                f"this tensor's shape {self.shape}"
            ) from None
        self._bump_version()
        return self

    def add_(self, other, alpha=1):
        """self += alpha·other, in place (outside the graph): ``p.add_(p.grad, alpha=-lr)``."""
        return self._ufunc_inplace("add_", "add", other, alpha)

    def sub_(self, other, alpha=1):
        """self -= alpha·other, in place (outside the graph)."""
        return self._ufunc_inplace("sub_", "subtract", other, alpha)

    def mul_(self, other):
        """self *= other, in place (outside the graph)."""
        return self._ufunc_inplace("mul_", "multiply", other)

    def div_(self, other):
        """self /= other, in place (outside the graph); a float tensor is required."""
        return self._ufunc_inplace("div_", "true_divide", other)

    def clamp_(self, min=None, max=None):  # noqa: A002 - PyTorch's argument names
        """Limit values to [min, max], in place (outside the graph)."""
        self._check_inplace()  # before no_grad(), which would hide that we are recording
        with no_grad():
            return self._apply_inplace(_ops.clamp(self, min, max))

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        self._check_inplace()
        self._data.fill(value.item() if isinstance(value, Tensor) else value)
        self._bump_version()
        return self

    def copy_(self, source):
        """Copy ``source``'s values (broadcast to this shape) into this tensor."""
        self._check_inplace()
        array = source._data if isinstance(source, Tensor) else source
        xp = self._namespace()
        self._data[...] = xp.broadcast_to(xp.asarray(array, dtype=self._data.dtype), self._data.shape)
        self._bump_version()
        return self

    def _recording_non_leaf(self):
        return self.requires_grad and state.enabled and not self.is_leaf

    # x += y on a tensor in the graph builds a new node (x is rebound); elsewhere it is in place.
    def __iadd__(self, other):
        return self + other if self._recording_non_leaf() else self.add_(other)

    def __isub__(self, other):
        return self - other if self._recording_non_leaf() else self.sub_(other)

    def __imul__(self, other):
        return self * other if self._recording_non_leaf() else self.mul_(other)

    def __itruediv__(self, other):
        return self / other if self._recording_non_leaf() else self.div_(other)


from . import ops as _ops  # noqa: E402 - ops build on Tensor, and Tensor's methods delegate to ops

_ops.install_methods(Tensor)
