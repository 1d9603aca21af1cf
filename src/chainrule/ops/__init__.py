"""Every differentiable op, one module per family, and the Tensor methods that delegate to them.

Each op is a ``Function`` subclass with ``forward`` and ``backward`` side by side and its
derivative in the docstring; the functions here check arguments and apply it.
"""

from .activation import elu, gelu, leaky_relu, silu, softplus
from .arithmetic import add, div, mul, neg, pow, rdiv, rpow, rsub, sub
from .compare import (
    all,
    allclose,
    any,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    eq,
    equal,
    ge,
    gt,
    isfinite,
    isinf,
    isnan,
    le,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    ne,
)
from .conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from .dropout import dropout
from .dropout2d import dropout2d
from .embedding import embedding
from .indexing import array_index, getitem, scatter_add
from .join import cat, chunk, concatenate, pad, split, stack
from .linalg import matmul
from .linear import linear
from .loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)
from .namespace import differentiable_namespace
from .normalization import batch_norm, group_norm, layer_norm
from .operands import as_tensor_like
from .pool import adaptive_avg_pool2d, avg_pool1d, avg_pool2d, max_pool1d, max_pool2d
from .recurrent import gru_sequence, lstm_sequence, rnn_sequence
from .reduction import amax, amin, argmax, argmin, logsumexp, max, mean, min, prod, std, sum, var
from .selection import clamp, clip, maximum, minimum, where
from .shape import (
    broadcast_to,
    cast,
    clone,
    contiguous,
    expand,
    expand_as,
    flatten,
    permute,
    reshape,
    reversed_dims,
    squeeze,
    t,
    to_device,
    transpose,
    unsqueeze,
    view,
)
from .softmax import log_softmax, softmax
from .special import erf
from .unary import abs, cos, exp, log, log1p, relu, rsqrt, sigmoid, sign, sin, sqrt, tanh

# Tensor methods that are the op functions themselves (the tensor is the first argument).
METHODS = (
    "add sub mul div neg pow matmul exp log log1p sqrt rsqrt abs sign sin cos tanh sigmoid relu "
    "clamp clip maximum minimum softmax log_softmax sum mean var std prod amax amin max min "
    "logsumexp argmax argmin all any reshape view flatten unsqueeze squeeze transpose permute t "
    "expand expand_as broadcast_to clone contiguous split chunk eq ne lt le gt ge isnan isinf "
    "isfinite logical_not logical_and logical_or logical_xor"
).split()

OPERATORS = {
    "__add__": add,
    "__radd__": lambda a, b: add(b, a),
    "__sub__": sub,
    "__rsub__": rsub,
    "__mul__": mul,
    "__rmul__": lambda a, b: mul(b, a),
    "__truediv__": div,
    "__rtruediv__": rdiv,
    "__pow__": pow,
    "__rpow__": rpow,
    "__matmul__": lambda a, b: matmul(a, as_tensor_like(b, a)),
    "__rmatmul__": lambda a, b: matmul(as_tensor_like(b, a), a),
    "__neg__": neg,
    "__pos__": lambda a: a,
    "__abs__": abs,
    "__getitem__": getitem,
    "__eq__": eq,
    "__ne__": ne,
    "__lt__": lt,
    "__le__": le,
    "__gt__": gt,
    "__ge__": ge,
    "__and__": bitwise_and,
    "__rand__": lambda a, b: bitwise_and(b, a),
    "__or__": bitwise_or,
    "__ror__": lambda a, b: bitwise_or(b, a),
    "__xor__": bitwise_xor,
    "__rxor__": lambda a, b: bitwise_xor(b, a),
    "__invert__": bitwise_not,
}


def _where_method(self, condition, other):
    """``x.where(condition, y)``: x where condition, else y."""
    return where(condition, self, other)


def install_methods(tensor_class):
    """Give Tensor its math methods and operators, all delegating to the functions above."""
    for name in METHODS:
        setattr(tensor_class, name, globals()[name])
    for name, function in OPERATORS.items():
        setattr(tensor_class, name, function)
    tensor_class.where = _where_method
    tensor_class.T = property(reversed_dims, doc="All dims reversed (the transpose of a matrix).")
    tensor_class.mT = property(lambda x: transpose(x, -2, -1), doc="The last two dims swapped.")
