"""Functions that make tensors: ``tensor``, ``zeros``, ``arange``, ``eye``, ...

Types follow PyTorch: Python floats give the default dtype (float32), Python ints give int64,
NumPy arrays keep their dtype.
"""

import numbers

import numpy as np

from . import backend, dtypes
from .tensor import Tensor


def as_array(data, dtype=None, device=None, copy=True):
    """An array on ``device`` from a Tensor, an array, a number or nested sequences of them."""
    if isinstance(data, Tensor):
        array = data._data
    elif isinstance(data, np.ndarray) or _is_cupy_array(data):
        array = data
    elif isinstance(data, np.generic):  # a NumPy scalar keeps its dtype, as in PyTorch
        array, copy = np.asarray(data), False
    else:  # Python numbers go straight to the requested dtype (0.3 as float64 is not rounded to float32)
        array = _from_python(data, keep_floats=dtype is not None)
        copy = False
    if dtype is not None:
        numpy_dtype = dtypes.to_numpy(dtype)
        if array.dtype != numpy_dtype:
            array, copy = array.astype(numpy_dtype), False
    else:
        dtypes.from_numpy(array.dtype)  # refuse unsupported types (object, complex, str) early
    target = backend.Device(device) if device is not None else backend.device_of(array)
    if target != backend.device_of(array):
        array, copy = backend.to_device(array, target), False
    return array.copy() if copy else array


def _is_cupy_array(data):
    return backend._cupy is not None and isinstance(data, backend._cupy.ndarray)


def _from_python(data, keep_floats=False):
    """NumPy's array of nested Python numbers, with PyTorch's default dtypes: floats as the default
    float dtype (kept as float64 with ``keep_floats``, for a cast that follows), integers as int64."""
    try:
        array = np.asarray(data)
    except ValueError as error:
        raise ValueError(f"expected a rectangular nested sequence of numbers, got {_describe(data)}: {error}") from None
    if array.dtype == object or array.dtype.kind in "USVc":
        raise TypeError(f"expected numbers (float, int or bool), got {_describe(data)} of dtype {array.dtype}")
    if array.dtype.kind == "f" and not keep_floats:
        return array.astype(dtypes.get_default_dtype().numpy, copy=False)
    if array.dtype.kind in "iu":
        return array.astype(np.int64, copy=False)
    return array


def _describe(data):
    return f"{type(data).__name__} {data!r}"[:120]


def tensor(data, dtype=None, requires_grad=False, device=None):
    """A new tensor holding a copy of ``data``.

    Example::

        >>> cr.tensor([[1, 2], [3, 4]]).shape, cr.tensor([0.5]).dtype
        ((2, 2), chainrule.float32)
    """
    return Tensor(data, dtype=dtype, requires_grad=requires_grad, device=device)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, sharing memory with an array or tensor where it can."""
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    result = Tensor._wrap(as_array(data, dtype, device, copy=False))
    return result


def from_numpy(array):
    """A tensor that shares memory with the NumPy array ``array`` (same dtype, no copy)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(array).__name__}")
    dtypes.from_numpy(array.dtype)
    return Tensor._wrap(array)


def from_dlpack(source):
    """A tensor sharing memory with any object that supports the DLPack protocol."""
    device_type, _ = source.__dlpack_device__()
    if device_type == 1:  # kDLCPU
        return Tensor._wrap(np.from_dlpack(source))
    return Tensor._wrap(backend.cupy_module().from_dlpack(source))


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for value in size:
        if not isinstance(value, numbers.Integral) or value < 0:
            raise ValueError(f"expected sizes to be non-negative integers, got {size}")
    return tuple(int(value) for value in size)


def _new(fill, size, dtype, device, requires_grad):
    numpy_dtype = dtypes.to_numpy(dtype) if dtype is not None else dtypes.get_default_dtype().numpy
    xp = backend.namespace_for(backend.Device(device) if device is not None else backend.CPU)
    result = Tensor._wrap(fill(xp, _size(size), numpy_dtype))
    return result.requires_grad_() if requires_grad else result


def zeros(*size, dtype=None, device=None, requires_grad=False):
    """A tensor of zeros: ``cr.zeros(2, 3)`` or ``cr.zeros((2, 3))`` -> (2, 3)."""
    return _new(lambda xp, s, d: xp.zeros(s, dtype=d), size, dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    """A tensor of ones: ``cr.ones(2, 3)`` -> (2, 3)."""
    return _new(lambda xp, s, d: xp.ones(s, dtype=d), size, dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    """An uninitialized tensor: ``cr.empty(2, 3)`` -> (2, 3)."""
    return _new(lambda xp, s, d: xp.empty(s, dtype=d), size, dtype, device, requires_grad)


def _dtype_of_value(value):
    if isinstance(value, (bool, np.bool_)):
        return dtypes.bool
    if isinstance(value, numbers.Integral):
        return dtypes.int64
    return dtypes.get_default_dtype()


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    """A tensor filled with ``fill_value``: ``cr.full((2, 3), 7.0)`` -> (2, 3) of 7."""
    dtype = dtype if dtype is not None else _dtype_of_value(fill_value)
    return _new(lambda xp, s, d: xp.full(s, fill_value, dtype=d), (size,), dtype, device, requires_grad)


def zeros_like(other, dtype=None, device=None, requires_grad=False):
    return zeros(other.shape, dtype=dtype or other.dtype, device=device or other.device, requires_grad=requires_grad)


def ones_like(other, dtype=None, device=None, requires_grad=False):
    return ones(other.shape, dtype=dtype or other.dtype, device=device or other.device, requires_grad=requires_grad)


def full_like(other, fill_value, dtype=None, device=None, requires_grad=False):
    return full(
        other.shape, fill_value, dtype=dtype or other.dtype, device=device or other.device, requires_grad=requires_grad
    )


def empty_like(other, dtype=None, device=None, requires_grad=False):
    return empty(other.shape, dtype=dtype or other.dtype, device=device or other.device, requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """Values from ``start`` to ``end`` (excluded) by ``step``: ``cr.arange(3)`` -> [0, 1, 2]."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be non-zero")
    if dtype is None:
        integral = all(isinstance(v, numbers.Integral) for v in (start, end, step))
        dtype = dtypes.int64 if integral else dtypes.get_default_dtype()
    xp = backend.namespace_for(backend.Device(device) if device is not None else backend.CPU)
    result = Tensor._wrap(xp.arange(start, end, step).astype(dtypes.to_numpy(dtype)))
    return result.requires_grad_() if requires_grad else result


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    if steps < 0:
        raise ValueError(f"linspace: steps must be non-negative, got {steps}")
    numpy_dtype = dtypes.to_numpy(dtype) if dtype is not None else dtypes.get_default_dtype().numpy
    xp = backend.namespace_for(backend.Device(device) if device is not None else backend.CPU)
    result = Tensor._wrap(xp.linspace(start, end, steps).astype(numpy_dtype))
    return result.requires_grad_() if requires_grad else result


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    """The identity matrix (n, m or n)."""
    numpy_dtype = dtypes.to_numpy(dtype) if dtype is not None else dtypes.get_default_dtype().numpy
    xp = backend.namespace_for(backend.Device(device) if device is not None else backend.CPU)
    result = Tensor._wrap(xp.eye(n, m, dtype=numpy_dtype))
    return result.requires_grad_() if requires_grad else result
