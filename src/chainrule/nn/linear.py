"""``Linear`` (the fully connected layer) and ``Identity``."""

import math

from .. import creation, dtypes
from ..errors import ShapeError
from ..ops.linear import linear
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["Identity", "Linear"]


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. for a removed head); any constructor
    arguments are accepted and ignored, as in PyTorch. (*) -> (*)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):  # noqa: A002 - PyTorch's argument name
        return input


class Linear(Module):
    """y = x·Wᵀ + b: (*, in_features) -> (*, out_features).

    ``weight`` is (out_features, in_features) and ``bias`` (out_features,), PyTorch's names and
    shapes. Both start as U(-1/√in_features, 1/√in_features), PyTorch's default (kaiming_uniform_
    with a=√5), drawn from chainrule's default generator.

    Example::

        >>> layer = nn.Linear(784, 10)
        >>> layer(cr.randn(32, 784)).shape                    # (32, 784) -> (32, 10)
        (32, 10)
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        dtype = dtype if dtype is not None else dtypes.get_default_dtype()
        self.weight = Parameter(creation.empty(out_features, in_features, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_features, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """Draw the weight and bias again from PyTorch's default distribution."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_features
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):  # noqa: A002 - PyTorch's argument name
        parameters = self._parameters  # one dict lookup instead of two trips through Module.__getattr__
        try:
            return linear(input, parameters["weight"], parameters["bias"])
        except ShapeError as error:
            raise ShapeError(f"{self!r}: {error}") from None

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
