"""``chainrule.nn``: neural-network building blocks with PyTorch's names.

``Module`` and ``Parameter``, containers, layers, activations and losses; ``nn.functional`` holds
the stateless ops, ``nn.init`` the initialisers and ``nn.utils`` gradient clipping.
"""

from . import functional, init, utils
from .activation import *  # noqa: F403
from .containers import *  # noqa: F403
from .conv import *  # noqa: F403
from .dropout import *  # noqa: F403
from .flatten import *  # noqa: F403
from .linear import *  # noqa: F403
from .loss import *  # noqa: F403
from .module import Module, RemovableHandle
from .normalization import *  # noqa: F403
from .parameter import Parameter
from .pool import *  # noqa: F403
from .rnn import *  # noqa: F403
from .rnn_cells import *  # noqa: F403
from .sparse import *  # noqa: F403
