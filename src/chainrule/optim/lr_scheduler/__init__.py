"""Learning-rate schedules with PyTorch's names, arguments and sequences (``torch.optim.lr_scheduler``).

Example::

    >>> from chainrule.optim import lr_scheduler
    >>> sched = lr_scheduler.CosineAnnealingLR(opt, T_max=100)
    >>> opt.step(); sched.step(); sched.get_last_lr()
"""

from .base import LRScheduler
from .one_cycle import OneCycleLR
from .plateau import ReduceLROnPlateau
from .schedules import CosineAnnealingLR, ExponentialLR, LambdaLR, LinearLR, MultiStepLR, StepLR
from .sequential import SequentialLR

__all__ = [
    "LRScheduler",
    "LambdaLR",
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "LinearLR",
    "CosineAnnealingLR",
    "ReduceLROnPlateau",
    "OneCycleLR",
    "SequentialLR",
]
