"""Inverted dropout: zero each element with probability p and scale the survivors by 1/(1 - p), so the
expected output equals the input and evaluation needs no rescaling."""

from .. import backend
from ..autograd.function import Function
from ..random import default_generator
from ..tensor import Tensor


class Dropout(Function):
    """y = x ⊙ m,  m = 1/(1-p) with probability 1-p, else 0.   ∂L/∂x = g ⊙ m"""

    def __init__(self, mask):
        self.mask = mask  # (*) in the input's dtype: 0 or 1/(1-p)

    def forward(self, x):
        return x * self.mask

    def backward(self, grad):
        return grad * self.mask


def _mask(x, p, generator):
    """The scaled keep-mask, drawn from ``generator`` on the host (so seeds repeat on every device)
    and moved to x's device."""
    dtype = x._data.dtype
    sample_dtype = dtype if dtype.itemsize >= 4 else "float32"
    uniform = (generator or default_generator).numpy.random(x.shape, dtype=sample_dtype)
    mask = (uniform >= p).astype(dtype) * (1 / (1 - p))
    mask = mask.astype(dtype, copy=False)
    if x.device != backend.CPU:
        mask = backend.to_device(mask, x.device)
    return mask


def dropout(input, p=0.5, training=True, inplace=False, generator=None):  # noqa: A002 - PyTorch's names
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) when ``training``;
    the identity otherwise (and for p = 0); all zeros for p = 1. (*) -> (*).

    The mask comes from chainrule's default generator (``cr.manual_seed`` repeats it), drawn on the
    host and moved to the input's device. ``inplace`` is accepted and ignored (always out of place).

    Example::

        >>> cr.manual_seed(0); F.dropout(cr.ones(2, 4), p=0.5)        # (2, 4): entries 0. or 2.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"dropout: expected a Tensor, got {type(input).__name__}")
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    if not input.is_floating_point():
        raise TypeError(f"dropout: expected a floating-point tensor, got {input.dtype.name}")
    if p == 1:
        return input * 0.0  # keeps the graph: the gradient is zero everywhere
    return Dropout(_mask(input, p, generator))(input)
