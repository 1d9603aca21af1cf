"""``Parameter``: a Tensor that a Module registers as one of its learnable weights."""

from .. import creation
from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor that asks for its gradient and that ``Module`` registers when assigned.

    ``Parameter(t)`` shares ``t``'s storage (no copy), as in PyTorch; ``Parameter()`` is an empty
    (0,) float tensor.

    Example::

        >>> w = nn.Parameter(cr.zeros(3, 2))      # (3, 2), requires_grad=True
        >>> layer.weight = w                      # registered in layer._parameters
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            array = creation.empty(0)._data
        elif isinstance(data, Tensor):
            array = data._data
        else:
            array = creation.as_array(data)
        self._data = array
        self.grad = None
        self.grad_fn = None
        self._version_counter = data._counter() if isinstance(data, Tensor) else None
        self._hooks = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        copy = Parameter(Tensor._wrap(self._data.copy()), self.requires_grad)
        if self.grad is not None:
            copy.grad = Tensor._wrap(self.grad._data.copy())
        memo[id(self)] = copy
        return copy
