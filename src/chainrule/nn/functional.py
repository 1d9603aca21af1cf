"""``chainrule.nn.functional``: stateless ops under PyTorch's ``torch.nn.functional`` names.

Example::

    >>> import chainrule.nn.functional as F
    >>> F.pad(cr.ones(2, 3), (1, 1)).shape        # (2, 3) -> (2, 5)
    (2, 5)
"""

from ..ops import log_softmax, pad, relu, sigmoid, softmax, tanh

__all__ = ["log_softmax", "pad", "relu", "sigmoid", "softmax", "tanh"]
