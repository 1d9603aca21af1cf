"""``Flatten`` and ``Unflatten``: reshape between a layer's flat features and a grid of them."""

import math

from ..errors import ShapeError
from ..ops.shape import flatten, reshape
from .module import Module

__all__ = ["Flatten", "Unflatten"]


class Flatten(Module):
    """Merge dims start_dim..end_dim into one: (N, C, H, W) -> (N, C·H·W) with the defaults.

    Example::

        >>> nn.Flatten()(cr.zeros(32, 1, 28, 28)).shape
        (32, 784)
    """

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input):  # noqa: A002 - PyTorch's argument name
        return flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size``: Unflatten(1, (1, 28, 28)) maps (N, 784) -> (N, 1, 28, 28).
    One entry of the sizes may be -1 (inferred)."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        if not isinstance(unflattened_size, (tuple, list)) or not all(isinstance(s, int) for s in unflattened_size):
            raise TypeError(f"unflattened_size must be a tuple of ints, but found {unflattened_size!r}")
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, input):  # noqa: A002 - PyTorch's argument name
        shape = tuple(input.shape)
        dim = self.dim + len(shape) if self.dim < 0 else self.dim
        if not 0 <= dim < len(shape):
            raise ShapeError(f"Unflatten: dim {self.dim} is out of range for an input of shape {shape}")
        known = math.prod(s for s in self.unflattened_size if s != -1)
        if -1 in self.unflattened_size:
            fits = known > 0 and shape[dim] % known == 0  # the -1 takes what is left
        else:
            fits = shape[dim] == known
        if not fits:
            raise ShapeError(
                f"Unflatten: dim {self.dim} of the input of shape {shape} has size {shape[dim]}, which cannot be "
                f"split into {self.unflattened_size}"
            )
        return reshape(input, shape[:dim] + self.unflattened_size + shape[dim + 1 :])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
