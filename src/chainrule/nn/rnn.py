"""Recurrent layers over whole sequences: ``RNN``, ``LSTM``, ``GRU``, with PyTorch's API.

Each layer and direction runs as one fused graph node (``ops/recurrent.py``): one GEMM projects
the inputs of all time steps, one GEMM per step carries the state, and the backward pass is
backpropagation through time in a loop, with the weight gradients one GEMM each. Parameter names,
shapes, gate order and initialisation are PyTorch's, so PyTorch state dicts load unchanged.
"""

import math
import numbers
import warnings

from .. import creation, dtypes
from ..errors import DTypeError, ShapeError
from ..ops.dropout import dropout as dropout_op
from ..ops.join import cat, stack
from ..ops.recurrent import gru_sequence, lstm_sequence, rnn_sequence
from ..tensor import Tensor
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["GRU", "LSTM", "RNN", "RNNBase"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class RNNBase(Module):
    """What RNN, LSTM and GRU share: arguments, parameters, shape checks and the loop over layers
    and directions. Not used directly (PyTorch's base class of the same name)."""

    def __init__(
        self,
        mode,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        proj_size=0,
        device=None,
        dtype=None,
    ):
        super().__init__()
        _check_arguments(input_size, hidden_size, num_layers, bias, batch_first, dropout, proj_size)
        if mode not in _GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        dtype = dtype if dtype is not None else dtypes.get_default_dtype()
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for direction in range(directions):
                suffix = "_reverse" if direction == 1 else ""
                shapes = [(f"weight_ih_l{layer}{suffix}", (gate_size, layer_input))]
                shapes.append((f"weight_hh_l{layer}{suffix}", (gate_size, hidden_size)))
                if bias:
                    shapes += [(f"bias_ih_l{layer}{suffix}", (gate_size,)), (f"bias_hh_l{layer}{suffix}", (gate_size,))]
                for name, shape in shapes:
                    setattr(self, name, Parameter(creation.empty(*shape, dtype=dtype, device=device)))
                    self._flat_weights_names.append(name)
        self.reset_parameters()

    def reset_parameters(self):
        """Every weight and bias from U(-1/√hidden_size, 1/√hidden_size), PyTorch's default."""
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    @property
    def all_weights(self):
        """Per layer and direction: [weight_ih, weight_hh(, bias_ih, bias_hh)] (PyTorch's property)."""
        per = 4 if self.bias else 2
        weights = [getattr(self, name) for name in self._flat_weights_names]
        return [weights[i : i + per] for i in range(0, len(weights), per)]

    def _layer_weights(self, layer, direction):
        suffix = "_reverse" if direction == 1 else ""
        parameters = self._parameters
        weights = [parameters[f"weight_ih_l{layer}{suffix}"], parameters[f"weight_hh_l{layer}{suffix}"]]
        if self.bias:
            weights += [parameters[f"bias_ih_l{layer}{suffix}"], parameters[f"bias_hh_l{layer}{suffix}"]]
        else:
            weights += [None, None]
        return weights

    def _run_layer(self, x, states, weights, reverse):
        """One layer, one direction: (output (T, N, H), final states tuple)."""
        raise NotImplementedError

    # ----------------------------------------------------------------- forward
    def _prepare(self, input, hx):  # noqa: A002 - PyTorch's argument name
        """Input as (T, N, in), initial states as a list of (D·L, N, H) tensors (or None)."""
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor input, got {type(input).__name__}")
        if input.ndim not in (2, 3):
            raise ShapeError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D instead")
        batched = input.ndim == 3
        states = None if hx is None else (list(hx) if isinstance(hx, (tuple, list)) else [hx])
        count = 2 if self.mode == "LSTM" else 1
        if states is not None:
            if len(states) != count or not all(isinstance(s, Tensor) for s in states):
                what = "a tuple (h_0, c_0) of Tensors" if count == 2 else "a Tensor h_0"
                raise TypeError(f"{name}: expected hx to be {what}, got {type(hx).__name__}")
            dims = [s.ndim for s in states]
            if any(d != input.ndim for d in dims):
                kind = "batched 3-D" if batched else "unbatched 2-D"
                raise ShapeError(
                    f"{name}: for {kind} input, hx should also be {input.ndim}-D but got "
                    f"{', '.join(f'{d}-D' for d in dims)} tensor(s)"
                )
            if not batched:
                states = [s.unsqueeze(1) for s in states]
        if not batched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        weight = self._parameters["weight_ih_l0"]
        if input.dtype != weight.dtype:
            raise DTypeError(
                f"{name}: input dtype ({input.dtype.name}) does not match weight dtype ({weight.dtype.name}); "
                f"convert the input (input.to({weight.dtype.name})) or the model (model.to({input.dtype.name}))"
            )
        if input.shape[-1] != self.input_size:
            raise ShapeError(
                f"{self!r}: input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                f"got {input.shape[-1]} (input shape {tuple(input.shape)})"
            )
        if input.shape[0] == 0:
            raise ShapeError(f"{name}: the sequence is empty (input shape {tuple(input.shape)})")
        expected = (self.num_layers * (2 if self.bidirectional else 1), input.shape[1], self.hidden_size)
        for state in states or ():
            if tuple(state.shape) != expected:
                shown = expected if batched else (expected[0], expected[2])
                found = tuple(state.shape) if batched else (state.shape[0], state.shape[2])
                raise ShapeError(f"{name}: Expected hidden size {shown}, got {found}")
            if state.dtype != weight.dtype:
                raise DTypeError(f"{name}: hx is {state.dtype.name} but the weights are {weight.dtype.name}")
        return input, states, batched

    def _forward(self, input, hx):  # noqa: A002 - PyTorch's argument name
        """Shared forward: returns (output, list of final-state tensors (D·L, N, H))."""
        x, states, batched = self._prepare(input, hx)
        directions = 2 if self.bidirectional else 1
        count = 2 if self.mode == "LSTM" else 1
        zeros = None
        finals = [[] for _ in range(count)]
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                k = layer * directions + direction
                if states is None:
                    if zeros is None:
                        zeros = creation.zeros(x.shape[1], self.hidden_size, dtype=x.dtype, device=x.device)
                    initial = [zeros] * count
                else:
                    initial = [state[k] for state in states]
                output, final = self._run_layer(x, initial, self._layer_weights(layer, direction), direction == 1)
                outputs.append(output)
                for kept, state in zip(finals, final):
                    kept.append(state)
            x = outputs[0] if directions == 1 else cat(outputs, dim=2)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                x = dropout_op(x, self.dropout, True)
        finals = [stack(kept, dim=0) for kept in finals]
        if not batched:
            return x.squeeze(1), [state.squeeze(1) for state in finals]
        if self.batch_first:
            x = x.transpose(0, 1)
        return x, finals

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


def _check_arguments(input_size, hidden_size, num_layers, bias, batch_first, dropout, proj_size):
    if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
        raise ValueError(
            "dropout should be a number in range [0, 1] representing the probability of an element being zeroed, "
            f"got {dropout!r}"
        )
    if dropout > 0 and num_layers == 1:
        warnings.warn(
            "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
            f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
            stacklevel=4,
        )
    for name, value in (("bias", bias), ("batch_first", batch_first)):
        if not isinstance(value, bool):
            raise TypeError(f"{name} should be of type bool, got: {type(value).__name__}")
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
        if value <= 0:
            raise ValueError(f"{name} must be greater than zero, got {value}")
    if proj_size != 0:
        raise NotImplementedError(f"LSTM with proj_size={proj_size}: projections are not implemented in chainrule")


class RNN(RNNBase):
    """Multi-layer Elman RNN: h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh) (or relu).

    input (T, N, input_size), or (N, T, input_size) with ``batch_first``, or unbatched (T, input_size);
    h_0 (D·num_layers, N, hidden_size) or unbatched (D·num_layers, hidden_size), zeros if omitted
    (D = 2 if bidirectional else 1) -> (output (T, N, D·hidden_size), h_n like h_0). Parameters
    ``weight_ih_l{k}`` (hidden, in), ``weight_hh_l{k}`` (hidden, hidden), ``bias_ih_l{k}``,
    ``bias_hh_l{k}`` (hidden,), with suffix ``_reverse`` for the backward direction; all from
    U(-1/√hidden, 1/√hidden). ``dropout`` applies between layers while training.

    Example::

        >>> rnn = nn.RNN(10, 20, num_layers=2)
        >>> output, h_n = rnn(cr.randn(5, 3, 10))          # (T=5, N=3, 10)
        >>> output.shape, h_n.shape
        ((5, 3, 20), (2, 3, 20))
    """

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        nonlinearity="tanh",
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        device=None,
        dtype=None,
    ):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(
            mode, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0, device, dtype
        )
        self.nonlinearity = nonlinearity

    def _run_layer(self, x, states, weights, reverse):
        output, h_n = rnn_sequence(x, states[0], *weights, nonlinearity=self.nonlinearity, reverse=reverse)
        return output, (h_n,)

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's argument name
        output, (h_n,) = self._forward(input, hx)
        return output, h_n


class LSTM(RNNBase):
    """Multi-layer LSTM (Hochreiter & Schmidhuber, 1997), PyTorch's equations and gate order:

        i, f, g, o = σ, σ, tanh, σ of (x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh), split in 4 (i f g o)
        c_t = f ⊙ c_{t-1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)

    input (T, N, input_size) / (N, T, input_size) with ``batch_first`` / unbatched (T, input_size);
    hx = (h_0, c_0), each (D·num_layers, N, hidden) or unbatched (D·num_layers, hidden), zeros if
    omitted -> (output (T, N, D·hidden), (h_n, c_n)). Parameters as ``RNN``'s with 4·hidden rows
    (gates i, f, g, o). ``proj_size`` other than 0 is not implemented.

    Example::

        >>> lstm = nn.LSTM(28, 128, batch_first=True)
        >>> output, (h_n, c_n) = lstm(cr.randn(64, 28, 28))   # (N=64, T=28, 28)
        >>> output.shape, h_n.shape, c_n.shape
        ((64, 28, 128), (1, 64, 128), (1, 64, 128))
    """

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        proj_size=0,
        device=None,
        dtype=None,
    ):
        super().__init__(
            "LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, proj_size,
            device, dtype,
        )  # fmt: skip

    def _run_layer(self, x, states, weights, reverse):
        output, h_n, c_n = lstm_sequence(x, states[0], states[1], *weights, reverse=reverse)
        return output, (h_n, c_n)

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's argument name
        output, (h_n, c_n) = self._forward(input, hx)
        return output, (h_n, c_n)


class GRU(RNNBase):
    """Multi-layer GRU (Cho et al., 2014), PyTorch's equations and gate order (r, z, n):

        r = σ(W_ir x + b_ir + W_hr h + b_hr),   z = σ(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),   h' = (1 - z) ⊙ n + z ⊙ h

    Shapes as ``RNN``'s, with 3·hidden rows in each weight (gates r, z, n).

    Example::

        >>> gru = nn.GRU(10, 20, bidirectional=True)
        >>> output, h_n = gru(cr.randn(5, 3, 10))
        >>> output.shape, h_n.shape                        # D = 2
        ((5, 3, 40), (2, 3, 20))
    """

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        device=None,
        dtype=None,
    ):
        super().__init__(
            "GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0, device, dtype
        )

    def _run_layer(self, x, states, weights, reverse):
        output, h_n = gru_sequence(x, states[0], *weights, reverse=reverse)
        return output, (h_n,)

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's argument name
        output, (h_n,) = self._forward(input, hx)
        return output, h_n
