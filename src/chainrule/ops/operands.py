"""Turning op arguments into Tensors of one dtype, by PyTorch's promotion rules."""

import numbers

from ..creation import as_array
from ..dtypes import result_type, scalar_type
from ..errors import DTypeError
from ..tensor import Tensor


def constant(value, dtype, like):
    """A Python number as a 0-d tensor of ``dtype`` on ``like``'s device; an array or a nested
    sequence as a tensor of its own dtype (as PyTorch treats a NumPy array next to a tensor)."""
    if isinstance(value, numbers.Number):
        return Tensor._wrap(like._namespace().asarray(value, dtype=dtype))
    return Tensor._wrap(as_array(value, device=like.device, copy=False))


def operands(a, b):
    """(a, b) as Tensors that an elementwise op can combine.

    A Python number takes the tensor's dtype (``float32_tensor * 0.5`` stays float32); an integer
    tensor meeting a float one becomes that float type, as in PyTorch (NumPy would give float64).
    """
    if not isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            raise TypeError(f"expected at least one Tensor, got {type(a).__name__} and {type(b).__name__}")
        a = constant(a, _scalar_type(a, b), b)
    elif not isinstance(b, Tensor):
        b = constant(b, _scalar_type(b, a), a)
    da, db = a._data.dtype, b._data.dtype
    if da != db and (da.kind == "f") != (db.kind == "f"):
        common = result_type(da, db)
        if da != common:
            a = Tensor._wrap(a._data.astype(common))
        if db != common:
            b = Tensor._wrap(b._data.astype(common))
    return a, b


def _scalar_type(value, tensor):
    return scalar_type(value, tensor._data.dtype) if isinstance(value, numbers.Number) else None


def same_dtype(name, *tensors):
    """Refuse tensors of different dtypes, for ops that (like PyTorch's) do not promote."""
    first = tensors[0]._data.dtype
    for tensor in tensors[1:]:
        if tensor._data.dtype != first:
            found = ", ".join(str(t._data.dtype) for t in tensors)
            raise DTypeError(f"{name}: expected operands of one dtype, got {found}")


def as_tensor_like(value, like):
    """``value`` as a Tensor: Tensors pass through, numbers take ``like``'s dtype."""
    if isinstance(value, Tensor):
        return value
    return constant(value, _scalar_type(value, like), like)


def normalize_dims(dim, ndim, name):
    """``dim`` (None, an int or a sequence) as a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    normalized = []
    for d in dims:
        if not isinstance(d, int) or not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"{name}: dim {d} is out of range for a tensor with {ndim} dimensions")
        normalized.append(d % ndim if ndim else 0)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"{name}: dim {dim} repeats a dimension")
    if not ndim:  # a 0-d tensor accepts dim 0 or -1, as in PyTorch, but has no axis to reduce
        return ()
    return tuple(sorted(normalized))


def normalize_dim(dim, ndim, name):
    """One ``dim`` as a non-negative axis."""
    return normalize_dims(dim, ndim, name)[0] if ndim else 0
