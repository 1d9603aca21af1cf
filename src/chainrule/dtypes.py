"""Data types: PyTorch's names over NumPy's dtypes, and PyTorch's promotion rules.

NumPy and PyTorch promote differently: ``int64 + float32`` is float64 in NumPy but float32 in
PyTorch, and a Python float never widens a float32 tensor in PyTorch. chainrule follows PyTorch,
so a float32 graph stays float32.
"""

import builtins

import numpy as np


class dtype:
    """A tensor element type, e.g. ``chainrule.float32``.

    Example::

        >>> cr.zeros(2, dtype=cr.float64).dtype
        chainrule.float64
    """

    __slots__ = ("name", "numpy", "is_floating_point", "itemsize")

    def __init__(self, name, numpy_dtype):
        self.name = name
        self.numpy = np.dtype(numpy_dtype)
        self.is_floating_point = self.numpy.kind == "f"
        self.itemsize = self.numpy.itemsize

    def __repr__(self):
        return f"chainrule.{self.name}"

    def __reduce__(self):
        return self.name


float16 = dtype("float16", np.float16)
float32 = dtype("float32", np.float32)
float64 = dtype("float64", np.float64)
int8 = dtype("int8", np.int8)
int16 = dtype("int16", np.int16)
int32 = dtype("int32", np.int32)
int64 = dtype("int64", np.int64)
uint8 = dtype("uint8", np.uint8)
bool = dtype("bool", np.bool_)  # noqa: A001 - PyTorch's name

half, float, double = float16, float32, float64  # noqa: A001
short, int, long = int16, int32, int64  # noqa: A001

ALL = (float16, float32, float64, int8, int16, int32, int64, uint8, bool)
_BY_NUMPY = {d.numpy: d for d in ALL}

_default_float = float32


def from_numpy(numpy_dtype):
    """The chainrule dtype of a NumPy dtype; TypeError for types chainrule does not support."""
    found = _BY_NUMPY.get(numpy_dtype)
    if found is None:
        found = _BY_NUMPY.get(np.dtype(numpy_dtype))
        if found is None:
            supported = ", ".join(d.name for d in ALL)
            raise TypeError(f"unsupported dtype {np.dtype(numpy_dtype)}; expected one of {supported}")
    return found


def to_numpy(value):
    """NumPy dtype for a chainrule dtype, a NumPy dtype or a type such as ``float``."""
    if isinstance(value, dtype):
        return value.numpy
    return from_numpy(np.dtype(value)).numpy


def get_default_dtype():
    """The dtype of tensors made from Python floats (float32 unless changed)."""
    return _default_float


def set_default_dtype(d):
    """Set the dtype of tensors made from Python floats: float32 or float64."""
    global _default_float
    if d not in (float32, float64):
        raise TypeError(f"default dtype must be chainrule.float32 or chainrule.float64, got {d!r}")
    _default_float = d


def _category(np_dtype):
    kind = np_dtype.kind
    return 2 if kind == "f" else 0 if kind == "b" else 1


def result_type(a, b):
    """NumPy dtype of an elementwise op on two arrays, by PyTorch's rules.

    Within a category (bool < integer < floating) the wider type wins; across categories the
    higher category's type wins, so ``int64 + float32 -> float32``.
    """
    if a is b or a == b:
        return a
    ca, cb = _category(a), _category(b)
    if ca == cb:
        return np.promote_types(a, b)
    return a if ca > cb else b


def scalar_type(value, tensor_dtype):
    """NumPy dtype for a Python scalar combined with a tensor of ``tensor_dtype``.

    A Python number never widens a tensor of the same category; it lifts an integer tensor to the
    default float dtype only when it is a float (``int_tensor * 0.5`` is float32).
    """
    kind = tensor_dtype.kind
    if isinstance(value, (builtins.bool, np.bool_)):
        return tensor_dtype
    if isinstance(value, (builtins.int, np.integer)):
        return tensor_dtype if kind != "b" else np.dtype(np.int64)
    if isinstance(value, (builtins.float, np.floating)):
        return tensor_dtype if kind == "f" else _default_float.numpy
    raise TypeError(f"expected a Tensor or a Python number, got {type(value).__name__}")
