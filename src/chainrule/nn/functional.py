"""``chainrule.nn.functional``: stateless ops under PyTorch's ``torch.nn.functional`` names.

Example::

    >>> import chainrule.nn.functional as F
    >>> F.pad(cr.ones(2, 3), (1, 1)).shape        # (2, 3) -> (2, 5)
    (2, 5)
"""

from ..ops import log_softmax, pad, relu, sigmoid, softmax, tanh
from ..ops.activation import elu, gelu, leaky_relu, silu, softplus
from ..ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from ..ops.dropout import dropout
from ..ops.dropout2d import dropout2d
from ..ops.embedding import embedding
from ..ops.linear import linear
from ..ops.loss import (
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
from ..ops.normalization import batch_norm, group_norm, layer_norm
from ..ops.pool import adaptive_avg_pool2d, avg_pool1d, avg_pool2d, max_pool1d, max_pool2d

__all__ = ["log_softmax", "pad", "relu", "sigmoid", "softmax", "tanh"]
__all__ += ["dropout", "elu", "gelu", "leaky_relu", "linear", "silu", "softplus"]
__all__ += ["binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "huber_loss", "kl_div"]
__all__ += ["l1_loss", "mse_loss", "nll_loss", "smooth_l1_loss"]
__all__ += ["batch_norm", "group_norm", "layer_norm"]
__all__ += ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]
__all__ += ["embedding"]
__all__ += ["adaptive_avg_pool2d", "avg_pool1d", "avg_pool2d", "dropout2d", "max_pool1d", "max_pool2d"]
