"""Joining and splitting: cat, stack, split, chunk, and pad."""

import numpy as np

from ..autograd.function import Function
from ..dtypes import from_numpy, result_type
from ..errors import ShapeError
from ..tensor import Tensor
from .indexing import getitem
from .operands import normalize_dim


class Cat(Function):
    """y = [x₁ x₂ …] along dim.   ∂L/∂xₖ = the slice of g where xₖ sits"""

    def __init__(self, dim):
        self.dim = dim

    def forward(self, *arrays):
        self.bounds = np.cumsum([0] + [a.shape[self.dim] for a in arrays]).tolist()
        return self.xp.concatenate(arrays, axis=self.dim)

    def backward(self, grad):
        lead = (slice(None),) * self.dim
        return tuple(
            grad[lead + (slice(start, stop),)] if needed else None
            for start, stop, needed in zip(self.bounds, self.bounds[1:], self.needs_input_grad)
        )


class Stack(Function):
    """y = [x₁, x₂, …] along a new dim.   ∂L/∂xₖ = g[…, k, …]"""

    def __init__(self, dim):
        self.dim = dim

    def forward(self, *arrays):
        return self.xp.stack(arrays, axis=self.dim)

    def backward(self, grad):
        lead = (slice(None),) * self.dim
        return tuple(grad[lead + (k,)] if needed else None for k, needed in enumerate(self.needs_input_grad))


class ConstantPad(Function):
    """y = x surrounded by a constant.   ∂L/∂x = the middle of g"""

    def __init__(self, widths, value):
        self.widths, self.value = widths, value

    def forward(self, x):
        return self.xp.pad(x, self.widths, mode="constant", constant_values=self.value)

    def backward(self, grad):
        return grad[tuple(slice(before, size - after) for (before, after), size in zip(self.widths, grad.shape))]


def _common(tensors, name):
    if not tensors:
        raise ValueError(f"{name}: expected a non-empty sequence of tensors")
    for position, tensor in enumerate(tensors):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"{name}: expected Tensors, got {type(tensor).__name__} at position {position}")
    common = tensors[0]._data.dtype
    for tensor in tensors[1:]:
        common = result_type(common, tensor._data.dtype)
    return [t if t._data.dtype == common else t.to(from_numpy(common)) for t in tensors]


def cat(tensors, dim=0):
    """Join tensors along an existing dim: [(2, 3), (4, 3)] -> (6, 3)."""
    tensors = _common(list(tensors), "cat")
    first = tensors[0]
    axis = normalize_dim(dim, first.ndim, "cat")
    for position, tensor in enumerate(tensors):
        if tensor.ndim != first.ndim or any(
            a != b for d, (a, b) in enumerate(zip(tensor.shape, first.shape)) if d != axis
        ):
            raise ShapeError(
                f"cat: tensor {position} has shape {tensor.shape}, expected {first.shape} except in dim {axis}"
            )
    return Cat(axis)(*tensors)


concatenate = cat


def stack(tensors, dim=0):
    """Join same-shaped tensors along a new dim: 3 × (2, 4) -> (3, 2, 4) with dim=0."""
    tensors = _common(list(tensors), "stack")
    first = tensors[0]
    for position, tensor in enumerate(tensors):
        if tensor.shape != first.shape:
            raise ShapeError(f"stack: tensor {position} has shape {tensor.shape}, expected {first.shape}")
    if not -first.ndim - 1 <= dim <= first.ndim:
        raise IndexError(f"stack: dim {dim} is out of range for {first.ndim + 1} dimensions")
    return Stack(dim % (first.ndim + 1))(*tensors)


def split(x, split_size_or_sections, dim=0):
    """Cut ``x`` along ``dim`` into pieces of one size (the last may be smaller) or of the listed
    sizes: (5, 2).split(2) -> (2, 2), (2, 2), (1, 2)."""
    axis = normalize_dim(dim, x.ndim, "split")
    length = x.shape[axis]
    if isinstance(split_size_or_sections, int):
        if split_size_or_sections <= 0:
            raise ValueError(f"split: split size must be positive, got {split_size_or_sections}")
        sizes = [split_size_or_sections] * (length // split_size_or_sections)
        if length % split_size_or_sections:
            sizes.append(length % split_size_or_sections)
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != length:
            raise ShapeError(f"split: sizes {sizes} add up to {sum(sizes)}, expected dim {axis}'s size {length}")
    lead = (slice(None),) * axis
    bounds = np.cumsum([0] + sizes).tolist()
    return tuple(getitem(x, lead + (slice(start, stop),)) for start, stop in zip(bounds, bounds[1:]))


def chunk(x, chunks, dim=0):
    """Cut ``x`` into ``chunks`` nearly equal pieces along ``dim`` (as PyTorch: ceil-sized)."""
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    length = x.shape[normalize_dim(dim, x.ndim, "chunk")]
    return split(x, max(1, -(-length // chunks)), dim)


_PAD_MODES = {"constant": None, "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad(x, pad, mode="constant", value=0.0):  # noqa: A002 - PyTorch's argument name
    """Pad the last dims; ``pad`` lists (before, after) pairs starting from the last dim, as in
    PyTorch: pad((1, 1, 2, 0)) on (N, H, W) -> (N, H+2, W+2).

    Modes: ``constant`` (with ``value``), ``reflect``, ``replicate``, ``circular``.
    """
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: expected an even number of sizes, at most 2 per dim ({2 * x.ndim}), got {pad}")
    if any(int(p) < 0 for p in pad):
        raise ValueError(f"pad: negative padding is not supported, got {pad}")
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode must be one of {sorted(_PAD_MODES)}, got {mode!r}")
    pairs = [(int(pad[i]), int(pad[i + 1])) for i in range(0, len(pad), 2)]
    widths = [(0, 0)] * (x.ndim - len(pairs)) + pairs[::-1]
    if mode == "constant":
        return ConstantPad(tuple(widths), value)(x)
    # Other modes read existing elements: express them as indexing, so backward is a scatter-add.
    axes = []
    for (before, after), size in zip(widths, x.shape):
        if mode == "reflect" and (before >= size or after >= size):
            raise ValueError(f"pad: reflect padding {before, after} must be smaller than the dim's size {size}")
        axes.append(np.pad(np.arange(size), (before, after), mode=_PAD_MODES[mode]))
    return getitem(x, np.ix_(*axes))
