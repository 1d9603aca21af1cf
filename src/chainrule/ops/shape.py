"""Ops that rearrange elements without changing them: reshape, permute, broadcast, cast, copy.

Their backward rules only move the gradient back: reshape it, permute it inversely, or (for
``expand``) leave it to the engine, which sums broadcast dimensions away.
"""

import math

from .. import backend
from ..autograd.function import Function
from ..autograd.grad_mode import no_grad
from ..errors import ShapeError
from .operands import normalize_dim, normalize_dims


class Reshape(Function):
    """y = x with a new shape.   ∂L/∂x = g reshaped back"""

    returns_view = True

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.input_shape = x.shape
        return self.xp.reshape(x, self.shape)

    def backward(self, grad):
        return self.xp.reshape(grad, self.input_shape)


class Permute(Function):
    """y = x with axes reordered.   ∂L/∂x = g with the inverse order"""

    returns_view = True

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return self.xp.transpose(x, self.axes)

    def backward(self, grad):
        inverse = sorted(range(len(self.axes)), key=self.axes.__getitem__)
        return self.xp.transpose(grad, tuple(inverse))


class BroadcastTo(Function):
    """y = x repeated along broadcast dimensions.   ∂L/∂x = g summed over them (by the engine)"""

    returns_view = True

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return self.xp.broadcast_to(x, self.shape)

    def backward(self, grad):
        return grad


class Cast(Function):
    """y = x as another dtype.   ∂L/∂x = g cast back (by the engine)"""

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        return x.astype(self.dtype)

    def backward(self, grad):
        return grad


class Clone(Function):
    """y = a copy of x.   ∂L/∂x = g"""

    def forward(self, x):
        return x.copy()

    def backward(self, grad):
        return grad


class ToDevice(Function):
    """y = x on another device.   ∂L/∂x = g moved back"""

    def __init__(self, device):
        self.device = device

    def forward(self, x):
        self.source = backend.device_of(x)
        return backend.to_device(x, self.device)

    def backward(self, grad):
        return self.xp.to_device(grad, self.source)


def _shape_argument(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def _resolve_shape(x, shape, name):
    """``shape`` with one -1 inferred; ShapeError naming both shapes if sizes differ."""
    unknown = [i for i, s in enumerate(shape) if s == -1]
    known = math.prod(s for s in shape if s != -1)
    size = x._data.size
    if len(unknown) > 1 or any(s < -1 for s in shape):
        raise ShapeError(f"{name}: invalid shape {shape}: at most one -1 and no other negative sizes")
    if unknown:
        if known == 0 or size % known:
            raise ShapeError(f"{name}: shape {shape} is invalid for a tensor of shape {x.shape} ({size} elements)")
        shape = tuple(size // known if s == -1 else s for s in shape)
    elif known != size:
        raise ShapeError(f"{name}: shape {shape} is invalid for a tensor of shape {x.shape} ({size} elements)")
    return shape


def reshape(x, *shape):
    """The same elements in a new shape; one size may be -1: (2, 6).reshape(3, -1) -> (3, 4)."""
    shape = _resolve_shape(x, _shape_argument(shape), "reshape")
    return x if shape == x.shape else Reshape(shape)(x)


view = reshape


def flatten(x, start_dim=0, end_dim=-1):
    """Merge dims start_dim..end_dim into one: (N, C, H, W).flatten(1) -> (N, C·H·W)."""
    if x.ndim == 0:
        return reshape(x, 1)
    start = normalize_dim(start_dim, x.ndim, "flatten")
    end = normalize_dim(end_dim, x.ndim, "flatten")
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = x.shape[:start] + (math.prod(x.shape[start : end + 1]),) + x.shape[end + 1 :]
    return reshape(x, shape)


def unsqueeze(x, dim):
    """Insert a size-1 dim at ``dim``: (3,).unsqueeze(0) -> (1, 3)."""
    if not -x.ndim - 1 <= dim <= x.ndim:
        raise IndexError(f"unsqueeze: dim {dim} is out of range for a tensor with {x.ndim} dimensions")
    dim = dim % (x.ndim + 1)
    return reshape(x, x.shape[:dim] + (1,) + x.shape[dim:])


def squeeze(x, dim=None):
    """Remove size-1 dims (all, or those in ``dim`` that have size 1): (1, 3, 1) -> (3,)."""
    dims = normalize_dims(dim, x.ndim, "squeeze")
    shape = tuple(s for d, s in enumerate(x.shape) if not (d in dims and s == 1))
    return reshape(x, shape)


def permute(x, *dims):
    """Reorder the dims: (N, H, W, C).permute(0, 3, 1, 2) -> (N, C, H, W)."""
    dims = _shape_argument(dims)
    if len(dims) != x.ndim:
        raise ShapeError(f"permute: expected {x.ndim} dims for a tensor of shape {x.shape}, got {dims}")
    axes = tuple(normalize_dim(d, x.ndim, "permute") for d in dims)
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"permute: {dims} is not a permutation of the {x.ndim} dims")
    return Permute(axes)(x)


def transpose(x, dim0, dim1):
    """Swap two dims: (B, M, N).transpose(1, 2) -> (B, N, M)."""
    axes = list(range(x.ndim))
    d0, d1 = normalize_dim(dim0, x.ndim, "transpose"), normalize_dim(dim1, x.ndim, "transpose")
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return Permute(tuple(axes))(x) if x.ndim > 1 else x


def t(x):
    """Transpose of a matrix (a 0-d or 1-d tensor is returned as is)."""
    if x.ndim > 2:
        raise ShapeError(f"t() expects a tensor with at most 2 dims, got shape {x.shape}; use transpose()")
    return transpose(x, 0, 1) if x.ndim == 2 else x


def reversed_dims(x):
    """All dims in reverse order (the ``.T`` property)."""
    return Permute(tuple(reversed(range(x.ndim))))(x) if x.ndim > 1 else x


def broadcast_to(x, *shape):
    """Repeat size-1 (or missing leading) dims to ``shape``, without copying: (3, 1) -> (3, 4)."""
    shape = _shape_argument(shape)
    if len(shape) < x.ndim:
        raise ShapeError(f"broadcast_to: cannot broadcast shape {x.shape} to fewer dims {shape}")
    lead = len(shape) - x.ndim
    resolved = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(shape))
    for i, size in enumerate(x.shape):
        if size != 1 and size != resolved[i + lead]:
            raise ShapeError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}")
    return x if resolved == x.shape else BroadcastTo(resolved)(x)


def expand(x, *sizes):
    """PyTorch's name for broadcast_to; -1 keeps a size: (3, 1).expand(-1, 4) -> (3, 4)."""
    return broadcast_to(x, *sizes)


def expand_as(x, other):
    return broadcast_to(x, other.shape)


def cast(x, numpy_dtype):
    """``x`` converted to another dtype; the gradient is converted back."""
    if numpy_dtype.kind != "f":  # integers and bools carry no gradient, as in PyTorch
        with no_grad():
            return Cast(numpy_dtype)(x)
    return Cast(numpy_dtype)(x)


def clone(x):
    """A copy of ``x`` that stays in the graph."""
    return Clone()(x)


def contiguous(x):
    """``x`` with its elements in row-major order (a copy only when needed)."""
    return x if x._data.flags.c_contiguous else clone(x)


def to_device(x, device):
    return ToDevice(device)(x)
