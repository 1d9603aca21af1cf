"""Adamax: Adam with the infinity norm in place of the second moment."""

from .. import backend
from .optimizer import Optimizer, check_betas, check_hyperparameter, coupled_grad, lerp_, scalar_state, zeros_state


class Adamax(Optimizer):
    r"""Adamax (PyTorch's ``torch.optim.Adamax``, the same update rule).

    For each parameter θ with gradient g, at step t (m = u = 0 at the start)::

        g ← g + weight_decay·θ + l1_decay·sign(θ)          (g ← −g first when maximize)
        m ← β₁·m + (1 − β₁)·g                       (as PyTorch's lerp)
        u ← max(β₂·u, |g| + eps)
        θ ← θ − lr/(1 − β₁ᵗ) · m / u

    Args:
        params: iterable of Tensors, or of dicts defining parameter groups.
        lr: learning rate (default 2e-3).
        betas: (β₁, β₂) (default (0.9, 0.999)).
        eps: added to |g| (default 1e-8).
        weight_decay: L2 penalty (default 0).
        maximize: ascend instead of descend (default False).
        l1_decay: L1 penalty (chainrule's addition; PyTorch has none): ``l1_decay·sign(θ)`` is added
            to the gradient like weight decay (sign(0) = 0). Default 0.

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_inf`` (u).

    Example::

        >>> w = cr.randn(6, requires_grad=True)                   # (6,)
        >>> opt = optim.Adamax([w], lr=2e-3)
        >>> w.abs().sum().backward(); opt.step()
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, *, maximize=False, l1_decay=0.0):
        check_hyperparameter(lr, "lr", "learning rate")
        check_hyperparameter(eps, "eps", "epsilon value")
        betas = check_betas(betas)
        check_hyperparameter(weight_decay, "weight_decay")
        check_hyperparameter(l1_decay, "l1_decay")
        defaults = {
            "lr": lr,
            "betas": betas,
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
            state["exp_avg"] = zeros_state(param)
            state["exp_inf"] = zeros_state(param)
        step = state["step"]._data
        step += 1
        t = float(step)
        beta1, beta2 = group["betas"]
        g, _ = coupled_grad(theta, grad, group["maximize"], group["weight_decay"], group["l1_decay"], xp)

        exp_avg, exp_inf = state["exp_avg"]._data, state["exp_inf"]._data
        scratch = xp.empty_like(theta)
        lerp_(exp_avg, g, 1 - beta1, scratch, xp)
        exp_inf *= beta2
        xp.abs(g, out=scratch)
        scratch += group["eps"]
        xp.maximum(exp_inf, scratch, out=exp_inf)
        clr = group["lr"] / (1 - beta1**t)
        update = xp.divide(exp_avg, exp_inf, out=scratch)
        update *= -clr
        theta += update
