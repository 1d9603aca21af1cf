"""``Dropout``: randomly zero activations while training, to regularise (Srivastava et al., 2014)."""

from ..ops.dropout import dropout
from ..ops.dropout2d import dropout2d
from .module import Module

__all__ = ["Dropout", "Dropout2d"]


class _DropoutNd(Module):
    """What the dropout layers share, as PyTorch's ``_DropoutNd``: ``p``, ``inplace`` and the repr."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability ``p`` while training, scaling the rest by 1/(1-p); the
    identity in eval mode. (*) -> (*). ``inplace`` is accepted and ignored (always out of place).

    Example::

        >>> drop = nn.Dropout(0.2)
        >>> drop(cr.ones(4, 5)).shape            # entries 0. or 1.25 while training
        (4, 5)
        >>> drop.eval()(cr.ones(4, 5)).sum()     # eval: unchanged
        tensor(20.)
    """

    def forward(self, input):  # noqa: A002 - PyTorch's argument name
        return dropout(input, self.p, self.training)


class Dropout2d(_DropoutNd):
    """Zero each channel (a whole H×W feature map) with probability ``p`` while training, scaling the
    rest by 1/(1-p); the identity in eval mode. (N, C, H, W) or (C, H, W) -> the same (see
    ``F.dropout2d``; a 3-D input is one (C, H, W) sample). ``inplace`` is accepted and ignored.

    Example::

        >>> drop = nn.Dropout2d(0.5)
        >>> y = drop(cr.ones(8, 16, 5, 5))       # each y[n, c] is all 0. or all 2. while training
        >>> drop.eval()(cr.ones(8, 16, 5, 5)).sum()
        tensor(3200.)
    """

    def forward(self, input):  # noqa: A002 - PyTorch's argument name
        return dropout2d(input, self.p, self.training)
