"""Adagrad: per-coordinate learning rates from the running sum of squared gradients."""

from .. import backend
from .optimizer import Optimizer, check_hyperparameter, coupled_grad, scalar_state, zeros_state


class Adagrad(Optimizer):
    r"""Adagrad (PyTorch's ``torch.optim.Adagrad``, the same update rule).

    For each parameter θ with gradient g, at step t (the sum starts at ``initial_accumulator_value``)::

        g ← g + weight_decay·θ + l1_decay·sign(θ)          (g ← −g first when maximize)
        lr_t ← lr / (1 + (t − 1)·lr_decay)
        sum ← sum + g²
        θ ← θ − lr_t · g / (√sum + eps)

    Args:
        params: iterable of Tensors, or of dicts defining parameter groups.
        lr: learning rate (default 1e-2).
        lr_decay: learning-rate decay (default 0).
        weight_decay: L2 penalty (default 0).
        initial_accumulator_value: starting value of the sum (default 0).
        eps: added to the denominator (default 1e-10).
        maximize: ascend instead of descend (default False).
        l1_decay: L1 penalty (chainrule's addition; PyTorch has none): ``l1_decay·sign(θ)`` is added
            to the gradient like weight decay (sign(0) = 0). Default 0.

    State per parameter, made when the group is added (as in PyTorch): ``step``, ``sum``.

    Example::

        >>> w = cr.randn(5, requires_grad=True)                   # (5,)
        >>> opt = optim.Adagrad([w], lr=0.1, lr_decay=1e-3)
        >>> (w ** 4).sum().backward(); opt.step()
    """

    def __init__(
        self,
        params,
        lr=1e-2,
        lr_decay=0,
        weight_decay=0,
        initial_accumulator_value=0,
        eps=1e-10,
        *,
        maximize=False,
        l1_decay=0.0,
    ):
        check_hyperparameter(lr, "lr", "learning rate")
        check_hyperparameter(lr_decay, "lr_decay")
        check_hyperparameter(weight_decay, "weight_decay")
        check_hyperparameter(initial_accumulator_value, "initial_accumulator_value")
        check_hyperparameter(eps, "eps", "epsilon value")
        check_hyperparameter(l1_decay, "l1_decay")
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "maximize": maximize,
            "l1_decay": l1_decay,
        }
        super().__init__(params, defaults)

    def _init_group(self, group):
        for param in group["params"]:
            self._init_state(param, self.state.setdefault(param, {}), group)

    @staticmethod
    def _init_state(param, state, group):
        state["step"] = scalar_state(0.0)
        state["sum"] = zeros_state(param, group["initial_accumulator_value"])

    def _update(self, param, grad, state, group):
        theta = param._data
        xp = backend.namespace_of(theta)
        if not state:
            self._init_state(param, state, group)
        step = state["step"]._data
        step += 1
        t = float(step)
        g, _ = coupled_grad(theta, grad, group["maximize"], group["weight_decay"], group["l1_decay"], xp)
        clr = group["lr"] / (1 + (t - 1) * group["lr_decay"])

        total = state["sum"]._data
        scratch = xp.multiply(g, g)
        total += scratch
        std = xp.sqrt(total, out=scratch)
        std += group["eps"]
        update = xp.divide(g, std, out=scratch)
        update *= -clr
        theta += update
