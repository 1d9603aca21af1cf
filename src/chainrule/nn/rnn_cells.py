"""One time step of a recurrent layer: ``RNNCell``, ``LSTMCell``, ``GRUCell`` (PyTorch's API).

The cells are built from ordinary differentiable ops (``linear``, ``sigmoid``, ``tanh``, slicing),
so every graph through them supports ``create_graph=True`` (higher-order gradients), unlike the
fused sequence ops that ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` use. A Python loop over a cell is the
readable (and slower) way to unroll a sequence by hand.
"""

import math

from .. import creation, dtypes
from ..errors import DTypeError, ShapeError
from ..ops.linear import linear
from ..ops.unary import relu, sigmoid, tanh
from ..tensor import Tensor
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["GRUCell", "LSTMCell", "RNNCell", "RNNCellBase"]


class RNNCellBase(Module):
    """Parameters ``weight_ih`` (chunks·hidden, input), ``weight_hh`` (chunks·hidden, hidden),
    ``bias_ih`` and ``bias_hh`` (chunks·hidden,), all U(-1/√hidden, 1/√hidden) as in PyTorch."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{type(self).__name__}: {name} must be a positive int, got {value!r}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        dtype = dtype if dtype is not None else dtypes.get_default_dtype()
        rows = num_chunks * hidden_size
        self.weight_ih = Parameter(creation.empty(rows, input_size, dtype=dtype, device=device))
        self.weight_hh = Parameter(creation.empty(rows, hidden_size, dtype=dtype, device=device))
        if bias:
            self.bias_ih = Parameter(creation.empty(rows, dtype=dtype, device=device))
            self.bias_hh = Parameter(creation.empty(rows, dtype=dtype, device=device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def _gates(self, x, h):
        """(x W_ihᵀ + b_ih, h W_hhᵀ + b_hh), each (N, chunks·hidden)."""
        parameters = self._parameters
        return (
            linear(x, parameters["weight_ih"], parameters["bias_ih"]),
            linear(h, parameters["weight_hh"], parameters["bias_hh"]),
        )

    def _batch(self, input, states):  # noqa: A002 - PyTorch's argument name
        """(input (N, in), states as (N, hidden) tensors (zeros if None), batched?)."""
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor input, got {type(input).__name__}")
        if input.ndim not in (1, 2):
            raise ShapeError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        batched = input.ndim == 2
        if input.shape[-1] != self.input_size:
            raise ShapeError(
                f"{self!r}: input has {input.shape[-1]} features (shape {tuple(input.shape)}), "
                f"expected input_size={self.input_size}"
            )
        if input.dtype != self.weight_ih.dtype:
            raise DTypeError(f"{name}: input is {input.dtype.name} but the weights are {self.weight_ih.dtype.name}")
        if not batched:
            input = input.unsqueeze(0)
        result = []
        for state in states:
            if state is None:
                state = creation.zeros(input.shape[0], self.hidden_size, dtype=input.dtype, device=input.device)
            else:
                if not isinstance(state, Tensor):
                    raise TypeError(f"{name}: expected hidden states as Tensors, got {type(state).__name__}")
                if state.ndim != (2 if batched else 1):
                    raise ShapeError(
                        f"{name}: Expected hidden to be {'2D' if batched else '1D'} like the input, "
                        f"got {state.ndim}D (shape {tuple(state.shape)})"
                    )
                if not batched:
                    state = state.unsqueeze(0)
                if tuple(state.shape) != (input.shape[0], self.hidden_size):
                    raise ShapeError(
                        f"{name}: hidden state must be ({input.shape[0]}, {self.hidden_size}), got {tuple(state.shape)}"
                    )
            result.append(state)
        return input, result, batched

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) (or relu): (N, in), (N, hidden) -> (N, hidden);
    unbatched (in,), (hidden,) -> (hidden,); h = zeros if omitted.

    Example::

        >>> cell = nn.RNNCell(10, 20)
        >>> h = cell(cr.randn(3, 10))              # (3, 10) -> (3, 20)
        >>> cell(cr.randn(3, 10), h).shape
        (3, 20)
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}; select 'tanh' or 'relu'")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's argument name
        x, (h,), batched = self._batch(input, [hx])
        from_input, from_hidden = self._gates(x, h)
        pre = from_input + from_hidden
        h_new = tanh(pre) if self.nonlinearity == "tanh" else relu(pre)
        return h_new if batched else h_new.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step, gates (i, f, g, o) as PyTorch's: (N, in), hx = (h, c) each (N, hidden)
    -> (h', c'); unbatched (in,), ((hidden,), (hidden,)); zeros if hx is omitted.

        i, f, g, o = σ, σ, tanh, σ of (x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) split in 4
        c' = f ⊙ c + i ⊙ g,   h' = o ⊙ tanh(c')

    Example::

        >>> cell = nn.LSTMCell(10, 20)
        >>> h, c = cell(cr.randn(3, 10))           # (3, 10) -> (3, 20), (3, 20)
        >>> h, c = cell(cr.randn(3, 10), (h, c))
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's argument name
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"LSTMCell: expected hx to be a tuple (h, c), got {type(hx).__name__}")
        x, (h, c), batched = self._batch(input, [None, None] if hx is None else list(hx))
        from_input, from_hidden = self._gates(x, h)
        gates = from_input + from_hidden
        H = self.hidden_size
        i = sigmoid(gates[:, :H])
        f = sigmoid(gates[:, H : 2 * H])
        g = tanh(gates[:, 2 * H : 3 * H])
        o = sigmoid(gates[:, 3 * H :])
        c_new = f * c + i * g
        h_new = o * tanh(c_new)
        if not batched:
            return h_new.squeeze(0), c_new.squeeze(0)
        return h_new, c_new


class GRUCell(RNNCellBase):
    """One GRU step, gates (r, z, n) exactly as PyTorch's: (N, in), (N, hidden) -> (N, hidden);
    unbatched (in,), (hidden,) -> (hidden,); h = zeros if omitted.

        r = σ(W_ir x + b_ir + W_hr h + b_hr),   z = σ(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),   h' = (1 - z) ⊙ n + z ⊙ h

    Example::

        >>> cell = nn.GRUCell(10, 20)
        >>> cell(cr.randn(3, 10)).shape            # (3, 10) -> (3, 20)
        (3, 20)
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's argument name
        x, (h,), batched = self._batch(input, [hx])
        from_input, from_hidden = self._gates(x, h)
        H = self.hidden_size
        r = sigmoid(from_input[:, :H] + from_hidden[:, :H])
        z = sigmoid(from_input[:, H : 2 * H] + from_hidden[:, H : 2 * H])
        n = tanh(from_input[:, 2 * H :] + r * from_hidden[:, 2 * H :])
        h_new = n + z * (h - n)
        return h_new if batched else h_new.squeeze(0)
