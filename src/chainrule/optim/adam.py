"""Adam and AdamW: adaptive moment estimation, with coupled or decoupled weight decay."""

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


class Adam(Optimizer):
    r"""Adam (PyTorch's ``torch.optim.Adam``, the same update rule).

    For each parameter θ with gradient g, at step t (m₀ = v₀ = 0)::

        θ ← θ·(1 − lr·weight_decay)                 if decoupled_weight_decay (AdamW)
        g ← g + weight_decay·θ                      otherwise            (g ← −g first when maximize)
        g ← g + l1_decay·sign(θ)
        m ← β₁·m + (1 − β₁)·g                       (as PyTorch's lerp)
        v ← β₂·v + (1 − β₂)·g²
        v̂ ← max(v̂, v) if amsgrad else v
        θ ← θ − lr/(1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + eps)

    Args:
        params: iterable of Tensors, or of dicts defining parameter groups.
        lr: learning rate (default 1e-3).
        betas: (β₁, β₂), decay rates of the moment estimates (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty (default 0); decoupled from the gradient when
            ``decoupled_weight_decay`` is True.
        amsgrad: use the maximum of past second moments (default False).
        maximize: ascend instead of descend (default False).
        decoupled_weight_decay: AdamW's decay θ ← θ(1 − lr·wd) (default False).
        l1_decay: L1 penalty (chainrule's addition; PyTorch has none): ``l1_decay·sign(θ)`` is added
            to the gradient before the moments, the gradient of ``l1_decay·Σ|θ|`` (sign(0) = 0).
            It is coupled even when the weight decay is decoupled. Default 0.

    State per parameter: ``step`` (0-d float32), ``exp_avg``, ``exp_avg_sq``, and ``max_exp_avg_sq``
    with amsgrad.

    Example::

        >>> w = cr.randn(784, 256, requires_grad=True)            # (784, 256)
        >>> opt = optim.Adam([w], lr=1e-3, betas=(0.9, 0.999))
        >>> (w.tanh() ** 2).mean().backward(); opt.step(); opt.zero_grad()
    """

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        amsgrad=False,
        *,
        maximize=False,
        decoupled_weight_decay=False,
        l1_decay=0.0,
    ):
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
            "amsgrad": amsgrad,
            "maximize": maximize,
            "decoupled_weight_decay": decoupled_weight_decay,
            "l1_decay": l1_decay,
        }
        super().__init__(params, defaults)

    def _update(self, param, grad, state, group):
        theta = param._data
        xp = backend.namespace_of(theta)
        if not state:
            state["step"] = scalar_state(0.0)
            state["exp_avg"] = zeros_state(param)
            state["exp_avg_sq"] = zeros_state(param)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = zeros_state(param)
        step = state["step"]._data
        step += 1
        t = float(step)
        lr, eps = group["lr"], group["eps"]
        beta1, beta2 = group["betas"]
        weight_decay = decay_decoupled_(theta, group)
        g, _ = coupled_grad(theta, grad, group["maximize"], weight_decay, group["l1_decay"], xp)

        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        scratch = xp.empty_like(theta)  # the one temporary of the step
        lerp_(exp_avg, g, 1 - beta1, scratch, xp)  # m ← m + (1 − β₁)(g − m)
        average_squares_(exp_avg_sq, g, beta2, scratch, xp)  # v ← β₂v + (1 − β₂)·g·g

        step_size = lr / (1 - beta1**t)
        bias_correction2_sqrt = (1 - beta2**t) ** 0.5
        second_moment = exp_avg_sq
        if group["amsgrad"]:
            second_moment = state["max_exp_avg_sq"]._data
            xp.maximum(second_moment, exp_avg_sq, out=second_moment)
        denom = xp.sqrt(second_moment, out=scratch)  # √v̂/√(1 − β₂ᵗ) + eps
        denom /= bias_correction2_sqrt
        denom += eps
        update = xp.divide(exp_avg, denom, out=scratch)
        update *= -step_size
        theta += update


class AdamW(Adam):
    r"""AdamW: Adam with decoupled weight decay θ ← θ·(1 − lr·weight_decay) (PyTorch's
    ``torch.optim.AdamW``; ``weight_decay`` defaults to 1e-2). See :class:`Adam` for the rule and
    the arguments; ``l1_decay`` is added to the gradient (coupled).

    Example::

        >>> opt = optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    """

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=1e-2,
        amsgrad=False,
        *,
        maximize=False,
        l1_decay=0.0,
    ):
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize=maximize,
            decoupled_weight_decay=True,
            l1_decay=l1_decay,
        )
