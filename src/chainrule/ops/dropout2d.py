"""Channel dropout (Tompson et al., 2015): zero whole feature maps with probability p and scale the
survivors by 1/(1 - p). Neighbouring pixels of a feature map are strongly correlated, so dropping
single pixels regularises a convolutional network little; dropping whole channels does."""

from .. import backend
from ..errors import ShapeError
from ..random import default_generator
from ..tensor import Tensor
from .dropout import Dropout


def _channel_mask(x, p, generator):
    """The scaled keep-mask (N, C, 1, 1) or (C, 1, 1), one draw per channel, from ``generator`` on the
    host (so seeds repeat on every device), moved to x's device."""
    dtype = x._data.dtype
    sample_dtype = dtype if dtype.itemsize >= 4 else "float32"
    shape = tuple(x.shape[:-2]) + (1, 1)
    uniform = (generator or default_generator).numpy.random(shape, dtype=sample_dtype)
    mask = ((uniform >= p).astype(dtype) * (1 / (1 - p))).astype(dtype, copy=False)
    if x.device != backend.CPU:
        mask = backend.to_device(mask, x.device)
    return mask


def dropout2d(input, p=0.5, training=True, inplace=False, generator=None):  # noqa: A002 - PyTorch's names
    """Zero each channel (a whole H×W map) with probability ``p`` and scale the rest by 1/(1-p) when
    ``training``; the identity otherwise (and for p = 0). (N, C, H, W) or (C, H, W) -> the same.

    A 3-D input is one sample (C, H, W), as PyTorch documents; PyTorch 2.x itself still treats it as
    (N, C, L) with a warning (its issue 77081) — chainrule follows the documented behaviour. Other
    ranks are refused (PyTorch warns that they will be). ``inplace`` is accepted and ignored.

    Example::

        >>> cr.manual_seed(0); y = F.dropout2d(cr.ones(8, 16, 5, 5), p=0.25)   # (8, 16, 5, 5)
        >>> sorted(set(y.numpy().ravel().tolist()))                           # whole maps of 0 or 4/3
        [0.0, 1.3333333730697632]
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"dropout2d: expected a Tensor, got {type(input).__name__}")
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if input.ndim not in (3, 4):
        raise ShapeError(
            f"dropout2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got input of shape {tuple(input.shape)}"
        )
    if not training or p == 0:
        return input
    if not input.is_floating_point():
        raise TypeError(f"dropout2d: expected a floating-point tensor, got {input.dtype.name}")
    if p == 1:
        return input * 0.0  # keeps the graph: the gradient is zero everywhere
    return Dropout(_channel_mask(input, p, generator))(input)
