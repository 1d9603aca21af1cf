"""NAdam: Adam with Nesterov momentum and a momentum schedule (Dozat, 2016)."""

from .. import backend
from .optimizer import (
    Optimizer,
    average_squares_,
    check_betas,
    check_hyperparameter,
    coupled_grad,
    decay_decoupled_,
    lerp_,
    scalar_state,
    zeros_state,
)


class NAdam(Optimizer):
    r"""NAdam (PyTorch's ``torch.optim.NAdam``, the same update rule).

    For each parameter θ with gradient g, at step t (m = v = 0, Π₀ = 1)::

        θ ← θ·(1 − lr·weight_decay)     if decoupled_weight_decay
        g ← g + weight_decay·θ          otherwise            (g ← −g first when maximize)
        g ← g + l1_decay·sign(θ)
        μₜ = β₁·(1 − ½·0.96^(t·momentum_decay)),   μₜ₊₁ likewise
        Πₜ = Πₜ₋₁·μₜ                    (kept as a float32 scalar, as PyTorch does)
        m ← β₁·m + (1 − β₁)·g;   v ← β₂·v + (1 − β₂)·g²
        d = √(v / (1 − β₂ᵗ)) + eps
        θ ← θ − lr·(1 − μₜ)/(1 − Πₜ) · g/d − lr·μₜ₊₁/(1 − Πₜ·μₜ₊₁) · m/d

    Args:
        params: iterable of Tensors, or of dicts defining parameter groups.
        lr: learning rate (default 2e-3).
        betas: (β₁, β₂) (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty (default 0).
        momentum_decay: ψ of the momentum schedule (default 4e-3).
        decoupled_weight_decay: decay θ directly, as AdamW does (default False).
        maximize: ascend instead of descend (default False).
        l1_decay: L1 penalty (chainrule's addition; PyTorch has none): ``l1_decay·sign(θ)`` is added
            to the gradient (coupled, sign(0) = 0). Default 0.

    State per parameter: ``step``, ``mu_product`` (Π), ``exp_avg``, ``exp_avg_sq``.

    Example::

        >>> w = cr.randn(8, 2, requires_grad=True)                # (8, 2)
        >>> opt = optim.NAdam([w], lr=2e-3, momentum_decay=4e-3)
        >>> (w ** 2).sum().backward(); opt.step()
    """

    def __init__(
        self,
        params,
        lr=2e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        momentum_decay=4e-3,
        decoupled_weight_decay=False,
        *,
        maximize=False,
        l1_decay=0.0,
    ):
        check_hyperparameter(lr, "lr", "learning rate")
        check_hyperparameter(eps, "eps", "epsilon value")
        betas = check_betas(betas)
        check_hyperparameter(weight_decay, "weight_decay")
        check_hyperparameter(momentum_decay, "momentum_decay")
        check_hyperparameter(l1_decay, "l1_decay")
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum_decay": momentum_decay,
            "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize,
            "l1_decay": l1_decay,
        }
        super().__init__(params, defaults)

    def _update(self, param, grad, state, group):
        theta = param._data
        xp = backend.namespace_of(theta)
        if not state:
            state["step"] = scalar_state(0.0)
            state["mu_product"] = scalar_state(1.0)
            state["exp_avg"] = zeros_state(param)
            state["exp_avg_sq"] = zeros_state(param)
        step = state["step"]._data
        step += 1
        t = float(step)
        lr, momentum_decay = group["lr"], group["momentum_decay"]
        beta1, beta2 = group["betas"]
        weight_decay = decay_decoupled_(theta, group)
        g, _ = coupled_grad(theta, grad, group["maximize"], weight_decay, group["l1_decay"], xp)

        mu = beta1 * (1.0 - 0.5 * (0.96 ** (t * momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * momentum_decay)))
        mu_product = state["mu_product"]._data
        mu_product *= mu  # rounded to the scalar's dtype, as PyTorch's 0-d tensor is
        mu_product = float(mu_product)
        mu_product_next = mu_product * mu_next

        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        scratch = xp.empty_like(theta)
        lerp_(exp_avg, g, 1 - beta1, scratch, xp)
        average_squares_(exp_avg_sq, g, beta2, scratch, xp)
        denom = xp.divide(exp_avg_sq, 1 - beta2**t, out=scratch)
        xp.sqrt(denom, out=denom)
        denom += group["eps"]
        update = xp.divide(g, denom)  # the rule's second temporary: two terms share the denominator
        update *= -lr * (1.0 - mu) / (1.0 - mu_product)
        theta += update
        xp.divide(exp_avg, denom, out=update)
        update *= -lr * mu_next / (1.0 - mu_product_next)
        theta += update
