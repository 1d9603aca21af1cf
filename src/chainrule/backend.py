"""The one place that knows which array library holds a tensor's data: NumPy on the CPU, CuPy on
an NVIDIA GPU.

Ops never import NumPy; they ask for ``self.xp``, the namespace of their inputs' device. A
namespace is the array library's own functions plus the few extras the ops need (``scatter_add``)
under the same names on every device.
"""

import contextlib
import types

import numpy as np

from .allocator import keep_freed_memory_on_import

keep_freed_memory_on_import()


class Device:
    """Where a tensor's data lives: ``Device("cpu")`` or ``Device("cuda", 0)``.

    Example::

        >>> cr.device("cuda:1")
        device(type='cuda', index=1)
    """

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):  # noqa: A002 - PyTorch's argument name
        if isinstance(type, Device):
            type, index = type.type, type.index
        elif ":" in type:
            type, _, number = type.partition(":")
            index = int(number)
        if type not in ("cpu", "cuda"):
            raise ValueError(f"expected device 'cpu', 'cuda' or 'cuda:N', got {type!r}")
        if type == "cuda" and index is None:
            index = 0
        self.type = type
        self.index = index

    def __eq__(self, other):
        if isinstance(other, str):
            other = Device(other)
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __repr__(self):
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"


CPU = Device("cpu")


def _repeats_possible(index):
    """True if ``index`` may name one element twice (only integer arrays can)."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(getattr(part, "dtype", None) is not None and part.dtype.kind in "iu" and part.size > 1 for part in parts)


def _numpy_scatter_add(shape, index, values):
    """zeros(shape) with ``values`` added at ``index`` (repeated indices add up)."""
    out = np.zeros(shape, dtype=values.dtype)
    if _repeats_possible(index):
        np.add.at(out, index, values)
    else:
        out[index] = values
    return out


def _numpy_as_strided(array, shape, strides, writeable=False):
    """A view of ``array``'s memory with the given shape and strides (in bytes), read-only unless
    ``writeable``: the sliding windows of convolutions and pooling."""
    return np.lib.stride_tricks.as_strided(array, shape, strides, writeable=writeable)


def _astype(array, dtype):
    return array.astype(dtype, copy=False)


# NumPy's reduction functions wrap the array methods in Python-level checks that cost more than the
# reduction itself on small arrays; the namespace calls the methods directly.
def _sum(array, axis=None, keepdims=False, dtype=None):
    return array.sum(axis=axis, keepdims=keepdims, dtype=dtype)


def _max(array, axis=None, keepdims=False):
    return array.max(axis=axis, keepdims=keepdims)


def _min(array, axis=None, keepdims=False):
    return array.min(axis=axis, keepdims=keepdims)


def _make_namespace(module, **extras):
    names = {name: getattr(module, name) for name in dir(module) if not name.startswith("_")}
    names.update(astype=_astype, sum=_sum, max=_max, min=_min)
    names.update(extras)
    return types.SimpleNamespace(**names)


def _no_errstate(**_):
    """CuPy raises no floating-point warnings, so there is nothing to silence."""
    return contextlib.nullcontext()


_cupy = None
_cupy_namespace = None


def cupy_module():
    """CuPy, imported on first use; a clear error when it is not installed."""
    global _cupy
    if _cupy is None:
        try:
            import cupy
        except ImportError as error:
            raise RuntimeError(
                "device 'cuda' needs CuPy: install chainrule with the gpu extra "
                "(pip install 'chainrule[gpu]') on a machine with an NVIDIA GPU"
            ) from error
        _cupy = cupy
    return _cupy


def _cupy_namespace_get():
    global _cupy_namespace
    if _cupy_namespace is None:
        cupy = cupy_module()
        import cupyx

        def scatter_add(shape, index, values):
            out = cupy.zeros(shape, dtype=values.dtype)
            if _repeats_possible(index):
                cupyx.scatter_add(out, index, values)
            else:
                out[index] = values
            return out

        def as_strided(array, shape, strides, writeable=False):  # CuPy's views are always writeable
            return cupy.lib.stride_tricks.as_strided(array, shape, strides)

        _cupy_namespace = _make_namespace(cupy, scatter_add=scatter_add, to_device=to_device, errstate=_no_errstate)
        _cupy_namespace.as_strided = as_strided
    return _cupy_namespace


def namespace_of(array):
    """The array namespace (``xp``) for an array's device."""
    if type(array) is np.ndarray:
        return numpy_namespace
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy_namespace_get()
    return numpy_namespace


def namespace_for(device):
    """The array namespace for a :class:`Device`."""
    return numpy_namespace if device.type == "cpu" else _cupy_namespace_get()


def device_of(array):
    """The :class:`Device` an array lives on."""
    if type(array) is np.ndarray or _cupy is None or not isinstance(array, _cupy.ndarray):
        return CPU
    return Device("cuda", array.device.id)


def to_device(array, device):
    """Copy ``array`` to ``device`` (no copy when it is already there)."""
    if device.type == "cpu":
        return array if isinstance(array, np.ndarray) else array.get()
    cupy = cupy_module()
    with cupy.cuda.Device(device.index):
        return cupy.asarray(array)


numpy_namespace = _make_namespace(np, scatter_add=_numpy_scatter_add, to_device=to_device)
numpy_namespace.as_strided = _numpy_as_strided


def quiet_floating_point():
    """A context in which NumPy does not warn about overflow, division by zero or invalid values
    (CuPy never does)."""
    return np.errstate(all="ignore")


def cuda_is_available():
    """True when CuPy is installed and sees at least one GPU."""
    try:
        cupy = cupy_module()
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001 - any CuPy/driver failure means "no GPU"
        return False
