"""RMSprop: gradients divided by a running root-mean-square, optionally centred, with momentum."""

from .. import backend
from .optimizer import Optimizer, average_squares_, check_hyperparameter, coupled_grad, lerp_, scalar_state, zeros_state


class RMSprop(Optimizer):
    r"""RMSprop (PyTorch's ``torch.optim.RMSprop``, the same update rule).

    For each parameter θ with gradient g (all buffers start at 0)::

        g ← g + weight_decay·θ + l1_decay·sign(θ)          (g ← −g first when maximize)
        v ← α·v + (1 − α)·g²
        if centered:  ḡ ← α·ḡ + (1 − α)·g  (lerp);   d ← √(v − ḡ²) + eps
        else:         d ← √v + eps
        if momentum > 0:  b ← momentum·b + g/d;   θ ← θ − lr·b
        else:             θ ← θ − lr·g/d

    Args:
        params: iterable of Tensors, or of dicts defining parameter groups.
        lr: learning rate (default 1e-2).
        alpha: smoothing constant (default 0.99).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty (default 0).
        momentum: momentum factor (default 0).
        centered: normalise by the estimated variance instead of the second moment (default False).
        maximize: ascend instead of descend (default False).
        l1_decay: L1 penalty (chainrule's addition; PyTorch has none): ``l1_decay·sign(θ)`` is added
            to the gradient like weight decay (sign(0) = 0). Default 0.

    State per parameter: ``step``, ``square_avg``, ``momentum_buffer`` (momentum > 0), ``grad_avg``
    (centered).

    Example::

        >>> w = cr.randn(4, 3, requires_grad=True)                # (4, 3)
        >>> opt = optim.RMSprop([w], lr=1e-2, momentum=0.9, centered=True)
        >>> (w ** 2).sum().backward(); opt.step()
    """

    def __init__(
        self,
        params,
        lr=1e-2,
        alpha=0.99,
        eps=1e-8,
        weight_decay=0,
        momentum=0,
        centered=False,
        *,
        maximize=False,
        l1_decay=0.0,
    ):
        check_hyperparameter(lr, "lr", "learning rate")
        check_hyperparameter(eps, "eps", "epsilon value")
        check_hyperparameter(momentum, "momentum")
        check_hyperparameter(weight_decay, "weight_decay")
        check_hyperparameter(alpha, "alpha")
        check_hyperparameter(l1_decay, "l1_decay")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "l1_decay": l1_decay,
        }
        super().__init__(params, defaults)

    def _update(self, param, grad, state, group):
        theta = param._data
        xp = backend.namespace_of(theta)
        momentum, alpha = group["momentum"], group["alpha"]
        if not state:
            state["step"] = scalar_state(0.0)
            state["square_avg"] = zeros_state(param)
            if momentum > 0:
                state["momentum_buffer"] = zeros_state(param)
            if group["centered"]:
                state["grad_avg"] = zeros_state(param)
        step = state["step"]._data
        step += 1
        g, _ = coupled_grad(theta, grad, group["maximize"], group["weight_decay"], group["l1_decay"], xp)

        square_avg = state["square_avg"]._data
        scratch = xp.empty_like(theta)  # the one temporary of the step
        average_squares_(square_avg, g, alpha, scratch, xp)  # v ← αv + (1 − α)·g·g
        if group["centered"]:
            grad_avg = state["grad_avg"]._data
            lerp_(grad_avg, g, 1 - alpha, scratch, xp)
            xp.multiply(grad_avg, grad_avg, out=scratch)
            avg = xp.subtract(square_avg, scratch, out=scratch)
            xp.sqrt(avg, out=avg)
        else:
            avg = xp.sqrt(square_avg, out=scratch)
        avg += group["eps"]
        ratio = xp.divide(g, avg, out=scratch)
        if momentum > 0:
            buffer = state["momentum_buffer"]._data
            buffer *= momentum
            buffer += ratio
            xp.multiply(buffer, -group["lr"], out=scratch)
            theta += scratch
        else:
            ratio *= -group["lr"]
            theta += ratio
