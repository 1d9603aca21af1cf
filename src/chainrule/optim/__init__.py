"""Optimizers (``chainrule.optim``) and learning-rate schedules (``chainrule.optim.lr_scheduler``).

The same names, arguments, defaults and update rules as ``torch.optim``: a trajectory of many steps
matches PyTorch's to round-off. Every optimizer also takes ``l1_decay`` (an L1 penalty, which
PyTorch lacks): ``l1_decay·sign(θ)`` is added to the gradient before the update rule.

Example::

    >>> from chainrule import optim
    >>> opt = optim.Adam(model.parameters(), lr=1e-3)
    >>> sched = optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
    >>> loss.backward(); opt.step(); opt.zero_grad(); sched.step()
"""

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .nadam import NAdam
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adadelta", "Adamax", "NAdam", "lr_scheduler"]
