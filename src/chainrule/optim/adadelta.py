"""Adadelta: step sizes from running averages of squared gradients and squared updates."""

from .. import backend
from .optimizer import Optimizer, check_hyperparameter, coupled_grad, scalar_state, zeros_state


class Adadelta(Optimizer):
    r"""Adadelta (PyTorch's ``torch.optim.Adadelta``, the same update rule).

    For each parameter θ with gradient g (v = u = 0 at the start)::

        g ← g + weight_decay·θ + l1_decay·sign(θ)          (g ← −g first when maximize)
        v ← ρ·v + (1 − ρ)·g²
        Δ ← √(u + eps) / √(v + eps) · g
        u ← ρ·u + (1 − ρ)·Δ²
        θ ← θ − lr·Δ

    Args:
        params: iterable of Tensors, or of dicts defining parameter groups.
        lr: scale of the update Δ (default 1.0).
        rho: smoothing constant of both running averages (default 0.9).
        eps: added inside both square roots (default 1e-6).
        weight_decay: L2 penalty (default 0).
        maximize: ascend instead of descend (default False).
        l1_decay: L1 penalty (chainrule's addition; PyTorch has none): ``l1_decay·sign(θ)`` is added
            to the gradient like weight decay (sign(0) = 0). Default 0.

    State per parameter: ``step``, ``square_avg`` (v), ``acc_delta`` (u).

    Example::

        >>> w = cr.randn(3, requires_grad=True)                   # (3,)
        >>> opt = optim.Adadelta([w], rho=0.9, eps=1e-6)
        >>> (w ** 2).sum().backward(); opt.step()
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, *, maximize=False, l1_decay=0.0):
        check_hyperparameter(lr, "lr", "learning rate")
        check_hyperparameter(rho, "rho", upper=1.0, upper_inclusive=True)
        check_hyperparameter(eps, "eps", "epsilon value")
        check_hyperparameter(weight_decay, "weight_decay")
        check_hyperparameter(l1_decay, "l1_decay")
        defaults = {
            "lr": lr,
            "rho": rho,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "l1_decay": l1_decay,
        }
        super().__init__(params, defaults)

    def _update(self, param, grad, state, group):
        theta = param._data
        xp = backend.namespace_of(theta)
        if not state:
            state["step"] = scalar_state(0.0)
            state["square_avg"] = zeros_state(param)
            state["acc_delta"] = zeros_state(param)
        step = state["step"]._data
        step += 1
        rho, eps = group["rho"], group["eps"]
        g, _ = coupled_grad(theta, grad, group["maximize"], group["weight_decay"], group["l1_decay"], xp)

        square_avg, acc_delta = state["square_avg"]._data, state["acc_delta"]._data
        scratch = xp.multiply(g, 1 - rho)
        scratch *= g
        square_avg *= rho
        square_avg += scratch
        std = xp.add(square_avg, eps, out=scratch)  # the rule needs two temporaries: std and Δ
        xp.sqrt(std, out=std)
        delta = xp.add(acc_delta, eps)
        xp.sqrt(delta, out=delta)
        delta /= std
        delta *= g
        xp.multiply(delta, 1 - rho, out=scratch)
        scratch *= delta
        acc_delta *= rho
        acc_delta += scratch
        delta *= -group["lr"]
        theta += delta
