"""Indexing: ``x[index]`` with ints, slices, None, Ellipsis, integer arrays and boolean masks.

The backward of a selection scatters the gradient back into zeros of the input's shape; entries
picked more than once (repeated integer indices) receive the sum of their gradients.
"""

import numpy as np

from ..autograd.function import Function
from ..backend import CPU, to_device
from ..tensor import Tensor


class GetItem(Function):
    """y = x[i].   ∂L/∂x = zeros with g added at i"""

    returns_view = True

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.shape = x.shape
        return x[self.index]

    def backward(self, grad):
        return self.xp.scatter_add(self.shape, self.index, grad)


class ScatterAdd(Function):
    """y = zeros(shape) with v added at i.   ∂L/∂v = g[i]"""

    def __init__(self, shape, index):
        self.shape, self.index = shape, index

    def forward(self, values):
        return self.xp.scatter_add(self.shape, self.index, values)

    def backward(self, grad):
        return grad[self.index]


def array_index(index, device=CPU):
    """An index with Tensors and lists turned into arrays on ``device``, ready for an ndarray."""
    if isinstance(index, tuple):
        return tuple(_index_part(part, device) for part in index)
    return _index_part(index, device)


def _index_part(part, device):
    if isinstance(part, Tensor):
        part = part._data
    elif isinstance(part, list):
        part = np.asarray(part)
        if part.dtype.kind not in "biu":
            raise IndexError(f"index lists must hold ints or bools, got {part.tolist()!r}"[:200])
    if device != CPU and isinstance(part, np.ndarray):
        part = to_device(part, device)
    return part


def getitem(x, index):
    """``x[index]`` as an op: basic and advanced indexing, differentiable.

    Example::

        >>> logp[cr.arange(n), targets]      # logp: (N, C), targets: (N,) int64 -> (N,)
    """
    index = array_index(index, x.device)
    try:
        return GetItem(index)(x)
    except IndexError as error:
        raise IndexError(f"index {_describe(index)} does not fit a tensor of shape {x.shape}: {error}") from None


def scatter_add(shape, index, values):
    """zeros(shape) with ``values`` added at ``index`` (the transpose of indexing)."""
    return ScatterAdd(tuple(shape), array_index(index, values.device))(values)


def _describe(index):
    parts = index if isinstance(index, tuple) else (index,)
    shown = []
    for part in parts:
        if hasattr(part, "shape") and hasattr(part, "dtype"):
            shown.append(f"array{tuple(part.shape)} of {part.dtype}")
        else:
            shown.append(repr(part))
    return "[" + ", ".join(shown) + "]"
