"""``LRScheduler``: the base of the learning-rate schedules; it sets each group's ``"lr"``.

A scheduler computes the next learning rate of every parameter group when ``step()`` is called
(after ``optimizer.step()``), counting ``last_epoch`` up from 0. Constructing one takes the first
step (epoch 0) and records ``group["initial_lr"]`` (the ``base_lrs``), as PyTorch does.
"""

import copy
import warnings

from ..optimizer import Optimizer


def format_per_group(name, optimizer, value):
    """``value`` repeated for every group, or a list checked to have one entry per group."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(
                f"{name} must have the same length as optimizer.param_groups. {name} has {len(value)} values, "
                f"param_groups has {len(optimizer.param_groups)}."
            )
        return list(value)
    return [value] * len(optimizer.param_groups)


def check_optimizer(optimizer):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")


class LRScheduler:
    """Base class of all learning-rate schedulers (PyTorch's ``LRScheduler``).

    Subclasses implement ``get_lr()``: the learning rates for epoch ``last_epoch``, one per group
    (chainable ones compute them from the groups' current ``"lr"``).

    Args:
        optimizer: the :class:`~chainrule.optim.Optimizer` whose groups' ``"lr"`` it sets.
        last_epoch: the index of the last epoch; -1 (default) starts the schedule. A value ≥ 0
            resumes one and needs ``"initial_lr"`` in every group.

    Example::

        >>> sched = optim.lr_scheduler.StepLR(opt, step_size=30, gamma=0.1)
        >>> for epoch in range(100):
        ...     train(...); opt.step(); sched.step()
        >>> sched.get_last_lr()            # [lr of group 0, ...]
    """

    _is_initial = False

    def __init__(self, optimizer, last_epoch=-1):
        check_optimizer(optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for index, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{index}] when resuming scheduler "
                        f"with last_epoch={last_epoch}: load the optimizer's state dict first, or use last_epoch=-1"
                    )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self):
        """Reset the step count and take the first step (epoch 0)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self):
        """The learning rates for epoch ``last_epoch``, one per parameter group."""
        raise NotImplementedError(f"{type(self).__name__} must implement get_lr()")

    def get_last_lr(self):
        """The learning rates the last ``step()`` set, one per parameter group (a list of floats)."""
        return self._last_lr

    def step(self, epoch=None):
        """Advance one epoch and set every group's ``"lr"``. Call it after ``optimizer.step()``.

        ``epoch`` (deprecated, as in PyTorch) jumps to that epoch, with the closed form where the
        schedule has one.
        """
        self._step_count += 1
        if epoch is not None:
            warnings.warn(
                "The epoch parameter in `scheduler.step()` is deprecated, as in PyTorch: call scheduler.step()",
                UserWarning,
                stacklevel=2,
            )
        self._update_lr(epoch)

    def _update_lr(self, epoch=None):
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            closed_form = getattr(self, "_get_closed_form_lr", None)
            values = closed_form() if closed_form is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _group_lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        """The scheduler's state: every attribute except the optimizer (copied)."""
        return {key: copy.deepcopy(value) for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict):
        """Restore a state from :meth:`state_dict`."""
        self.__dict__.update(copy.deepcopy(state_dict))

    def __repr__(self):
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={getattr(self, '_last_lr', None)})"
