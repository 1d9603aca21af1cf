"""Stochastic gradient descent, with momentum, dampening, Nesterov momentum and weight decay."""

from .. import backend
from ..tensor import Tensor
from .optimizer import Optimizer, check_hyperparameter, coupled_grad


class SGD(Optimizer):
    r"""Stochastic gradient descent (PyTorch's ``torch.optim.SGD``, the same update rule).

    For each parameter θ with gradient g, at step t::

        g ← g + weight_decay·θ + l1_decay·sign(θ)          (g ← −g first when maximize)
        if momentum ≠ 0:
            b ← g                                  at t = 1
            b ← momentum·b + (1 − dampening)·g     afterwards
            g ← g + momentum·b   if nesterov   else   g ← b
        θ ← θ − lr·g

    Args:
        params: iterable of Tensors, or of dicts defining parameter groups.
        lr: learning rate (default 1e-3).
        momentum: momentum factor (default 0).
        dampening: dampening of the momentum (default 0).
        weight_decay: L2 penalty added to the gradient (default 0).
        nesterov: Nesterov momentum; needs ``momentum > 0`` and ``dampening == 0``.
        maximize: ascend instead of descend (default False).
        l1_decay: L1 penalty (chainrule's addition; PyTorch has none): ``l1_decay·sign(θ)`` is added
            to the gradient like weight decay, which is the gradient of ``l1_decay·Σ|θ|`` (with
            sign(0) = 0). Default 0.

    State per parameter: ``momentum_buffer`` (when momentum ≠ 0).

    Example::

        >>> w = cr.randn(10, 5, requires_grad=True)               # (10, 5)
        >>> opt = optim.SGD([w], lr=0.1, momentum=0.9, nesterov=True)
        >>> (w ** 2).sum().backward(); opt.step(); opt.zero_grad()
    """

    def __init__(
        self,
        params,
        lr=1e-3,
        momentum=0,
        dampening=0,
        weight_decay=0,
        nesterov=False,
        *,
        maximize=False,
        l1_decay=0.0,
    ):
        check_hyperparameter(lr, "lr", "learning rate")
        check_hyperparameter(momentum, "momentum")
        check_hyperparameter(weight_decay, "weight_decay")
        check_hyperparameter(l1_decay, "l1_decay")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
            "l1_decay": l1_decay,
        }
        super().__init__(params, defaults)

    def _update(self, param, grad, state, group):
        theta = param._data
        xp = backend.namespace_of(theta)
        momentum = group["momentum"]
        direction, owned = coupled_grad(theta, grad, group["maximize"], group["weight_decay"], group["l1_decay"], xp)
        if momentum != 0:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                # the first step's buffer is the gradient itself (a copy)
                buffer = direction if owned else direction.copy()
                state["momentum_buffer"] = Tensor._wrap(buffer)
                owned = False
            else:
                buffer = buffer._data
                buffer *= momentum
                dampening = group["dampening"]
                if dampening == 0:
                    buffer += direction
                elif owned:
                    direction *= 1 - dampening  # nesterov needs the undamped g, but it forbids dampening
                    buffer += direction
                else:
                    buffer += (1 - dampening) * direction
            if group["nesterov"]:
                step = xp.multiply(buffer, momentum)
                step += direction
                direction, owned = step, True
            else:
                direction, owned = buffer, False
        if owned:
            direction *= -group["lr"]
            theta += direction
        else:
            theta += direction * -group["lr"]
