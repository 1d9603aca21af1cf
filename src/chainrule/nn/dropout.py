"""``Dropout``: randomly zero activations while training, to regularise (Srivastava et al., 2014)."""

from ..ops.dropout import dropout
from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """Zero each element with probability ``p`` while training, scaling the rest by 1/(1-p); the
    identity in eval mode. (*) -> (*). ``inplace`` is accepted and ignored (always out of place).

    Example::

        >>> drop = nn.Dropout(0.2)
        >>> drop(cr.ones(4, 5)).shape            # entries 0. or 1.25 while training
        (4, 5)
        >>> drop.eval()(cr.ones(4, 5)).sum()     # eval: unchanged
        tensor(20.)
    """

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input):  # noqa: A002 - PyTorch's argument name
        return dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
