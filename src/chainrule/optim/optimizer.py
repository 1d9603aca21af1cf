"""``Optimizer``: parameter groups, per-parameter state, ``step``, ``zero_grad`` and state dicts.

An optimizer holds ``param_groups`` (a list of dicts: ``{"params": [tensors], "lr": ..., ...}``,
every hyper-parameter filled in from ``defaults``) and ``state`` (a ``defaultdict(dict)``, as in
PyTorch, keyed by the parameter object itself, holding that parameter's buffers as Tensors).
``step()`` visits every parameter whose ``.grad`` is not None and updates its array **in place**,
with the array namespace of its device, outside the graph; the parameter's version counter is
bumped so that autograd notices.

Subclasses write one method, ``_update(param, grad, state, group)``: the update rule for one
parameter, on arrays.
"""

import copy
import numbers
from collections import defaultdict

from .. import backend, dtypes
from ..autograd.grad_mode import enable_grad, no_grad
from ..errors import ShapeError
from ..tensor import Tensor


class _RequiredParameter:
    """The default of a hyper-parameter that every group must give."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()

# State entries that are host scalars (0-d, float32 as in PyTorch), not buffers shaped like the parameter.
SCALAR_STATE_KEYS = ("step", "mu_product")


def check_hyperparameter(value, name, message_name=None, upper=None, upper_inclusive=False):
    """Raise ValueError unless ``0 <= value`` (and ``value < upper``, or ``<=`` when inclusive), with
    PyTorch's message: ``check_hyperparameter(-1, "lr", "learning rate")`` -> "Invalid learning rate: -1"."""
    label = message_name or f"{name} value"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    too_big = upper is not None and (value > upper if upper_inclusive else value >= upper)
    if not value >= 0.0 or too_big:
        raise ValueError(f"Invalid {label}: {value}")


def check_betas(betas):
    """Both betas in [0, 1), as PyTorch checks them."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    for index, beta in enumerate(betas):
        check_hyperparameter(beta, "betas", f"beta parameter at index {index}", upper=1.0)
    return tuple(float(beta) for beta in betas)


def scalar_state(value):
    """A 0-d host Tensor for ``step``-like state: float32, or float64 when that is the default dtype
    (PyTorch's ``_get_scalar_dtype``)."""
    dtype = "float64" if dtypes.get_default_dtype() == dtypes.float64 else "float32"
    return Tensor._wrap(backend.numpy_namespace.asarray(value, dtype=dtype))


def zeros_state(param, fill=0.0):
    """A buffer like ``param`` (shape, dtype, device), filled with ``fill``."""
    xp = backend.namespace_of(param._data)
    return Tensor._wrap(xp.full(param._data.shape, fill, dtype=param._data.dtype))


def lerp_(start, end, weight, out, xp):
    """start ← start + weight·(end − start), PyTorch's lerp formula (the other form for weight ≥ ½);
    ``out`` is scratch space shaped like ``start``."""
    xp.subtract(end, start, out=out)
    if abs(weight) < 0.5:
        out *= weight
        start += out
    else:
        out *= 1.0 - weight
        xp.subtract(end, out, out=start)


def average_squares_(average, g, beta, out, xp):
    """average ← β·average + (1 − β)·g·g, PyTorch's ``mul_(β).addcmul_(g, g, value=1 − β)``;
    ``out`` is scratch space shaped like ``average``."""
    xp.multiply(g, 1 - beta, out=out)
    out *= g
    average *= beta
    average += out


def decay_decoupled_(param, group):
    """AdamW's θ ← θ·(1 − lr·weight_decay) when the group decouples its weight decay; returns the
    weight decay still to add to the gradient (0 once applied here)."""
    weight_decay = group["weight_decay"]
    if weight_decay != 0 and group["decoupled_weight_decay"]:
        param *= 1 - group["lr"] * weight_decay
        return 0
    return weight_decay


def coupled_grad(param, grad, maximize, weight_decay, l1_decay, xp):
    """The gradient the update rule sees: ±grad + weight_decay·param + l1_decay·sign(param).

    Returns ``(array, owned)``: ``owned`` is True when the array is a fresh temporary that the rule
    may overwrite; otherwise it is the caller's ``.grad`` itself, which must never be changed.
    """
    if not (maximize or weight_decay or l1_decay):
        return grad, False
    if weight_decay:
        result = xp.multiply(param, weight_decay)
        if maximize:
            xp.subtract(result, grad, out=result)
        else:
            result += grad
    elif maximize:
        result = xp.negative(grad)
    else:
        result = grad.copy()
    if l1_decay:
        result += l1_decay * xp.sign(param)
    return result, True


class Optimizer:
    """Base class of all optimizers.

    ``params`` is an iterable of leaf Tensors (e.g. ``model.parameters()``), or of dicts that each
    give a group's ``"params"`` and any hyper-parameters that differ from ``defaults``.

    Example::

        >>> w = cr.randn(3, 2, requires_grad=True)                # (3, 2)
        >>> b = cr.zeros(2, requires_grad=True)                   # (2,)
        >>> opt = optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.1}], lr=0.01)
        >>> ((cr.ones(4, 3) @ w + b) ** 2).sum().backward()
        >>> opt.step(); opt.zero_grad()
    """

    def __init__(self, params, defaults):
        self.defaults = defaults
        self.state = defaultdict(dict)
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, but got a Tensor"
            )
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group):
        """Add a group (``{"params": [...], "lr": ...}``); missing hyper-parameters come from ``defaults``."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("param_group must have a 'params' entry")
        param_group = dict(param_group)
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering of "
                "tensors in sets will change between runs. Please use a list instead."
            )
        params = list(params)
        for index, param in enumerate(params):
            if not isinstance(param, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but parameter {index} of the group is {type(param).__name__}"
                )
            if not param.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("the parameter group contains the same parameter more than once")
        param_group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)
        existing = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in existing for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)
        self._init_group(param_group)

    def _init_group(self, group):
        """Hook for optimizers that make state when a group is added (Adagrad); nothing by default."""

    # ------------------------------------------------------------------ step
    def zero_grad(self, set_to_none=True):
        """Forget the gradients: set each ``.grad`` to None (default), or zero it in place."""
        for group in self.param_groups:
            for param in group["params"]:
                grad = param.grad
                if grad is None:
                    continue
                if set_to_none:
                    param.grad = None
                else:
                    if grad.grad_fn is not None:
                        grad.detach_()
                    else:
                        grad.requires_grad_(False)
                    grad.zero_()

    def step(self, closure=None):
        """Update every parameter that has a gradient; returns ``closure()``'s loss when given one.

        ``closure`` (optional) re-evaluates the model and returns the loss; it runs with grad enabled.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for param in group["params"]:
                    grad = param.grad
                    if grad is None:
                        continue
                    if grad._data.shape != param._data.shape:
                        raise ShapeError(
                            f"{type(self).__name__}.step(): a parameter of shape {param.shape} has a .grad of "
                            f"shape {grad.shape}"
                        )
                    self._update(param, grad._data, self.state[param], group)
                    param._bump_version()
        return loss

    def _update(self, param, grad, state, group):
        """Apply this optimizer's rule to one parameter: ``param._data`` and the arrays in ``state``
        change in place; ``grad`` (an array) must not."""
        raise NotImplementedError(f"{type(self).__name__} must implement _update(param, grad, state, group)")

    # ------------------------------------------------------------------ state dicts
    def state_dict(self):
        """The optimizer's state in PyTorch's format::

            {"state": {0: {"step": Tensor, "exp_avg": Tensor, ...}, 1: {...}},
             "param_groups": [{"lr": 0.001, ..., "params": [0, 1]}, ...]}

        Parameters are numbered in the order of the groups; only parameters that have state appear
        in ``state``. The state Tensors are the optimizer's own (not copies), as in PyTorch.
        """
        index_of = {}
        groups = []
        for group in self.param_groups:
            packed = {key: value for key, value in group.items() if key != "params"}
            for param in group["params"]:
                index_of.setdefault(id(param), len(index_of))
            packed["params"] = [index_of[id(param)] for param in group["params"]]
            groups.append(packed)
        state = {index_of[id(param)]: value for param, value in self.state.items() if id(param) in index_of}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Load a state from :meth:`state_dict` (of an optimizer with the same group sizes).

        Buffers are copied and cast to their parameter's dtype and device; arrays (NumPy/CuPy) are
        accepted where Tensors were saved, so a state read back from a checkpoint file loads too.
        """
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            found = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"expected an optimizer state dict with keys 'state' and 'param_groups', got {found}")
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has a different number of parameter groups: it has {len(saved_groups)}, "
                f"the optimizer has {len(self.param_groups)}"
            )
        for index, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(
                    f"loaded state dict contains a parameter group that doesn't match the size of optimizer's "
                    f"group: group {index} has {len(saved['params'])} parameters in the state dict, "
                    f"{len(group['params'])} in the optimizer"
                )
        param_of = {}
        for group, saved in zip(self.param_groups, saved_groups):
            param_of.update(zip(saved["params"], group["params"]))
        state = defaultdict(dict)
        for key, entry in state_dict["state"].items():
            key = int(key)
            if key not in param_of:
                raise ValueError(f"loaded state dict has state for parameter {key}, which no group lists")
            param = param_of[key]
            state[param] = {name: _cast_state(name, value, param, key) for name, value in entry.items()}
        for group, saved in zip(self.param_groups, saved_groups):
            saved["params"] = group["params"]
        self.param_groups = saved_groups
        self.state = state

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for index, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {index}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group) if key != "params")
        lines.append(")")
        return "\n".join(lines)


def _cast_state(name, value, param, index):
    """A copy of one saved state entry, fit for ``param``."""
    if name in SCALAR_STATE_KEYS:
        array = value._data if isinstance(value, Tensor) else value
        if not isinstance(array, numbers.Real):
            array = backend.to_device(array, backend.CPU)
        return scalar_state(array)
    if isinstance(value, Tensor) or hasattr(value, "__array__") or hasattr(value, "__cuda_array_interface__"):
        array = value._data if isinstance(value, Tensor) else value
        if tuple(array.shape) != tuple(param.shape):
            raise ShapeError(
                f"loaded state dict has {name!r} of shape {tuple(array.shape)} for parameter {index}, "
                f"whose shape is {tuple(param.shape)}"
            )
        array = backend.to_device(array, param.device)
        xp = backend.namespace_of(param._data)
        return Tensor._wrap(xp.array(array, dtype=param._data.dtype, copy=True))
    return copy.deepcopy(value)
