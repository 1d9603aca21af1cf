"""``chainrule.nn.init``: fill a tensor in place with the initial values deep nets need.

Names, arguments, fans and gains are PyTorch's (``torch.nn.init``). Every function writes into the
tensor's storage outside the graph (as under ``no_grad``), draws from chainrule's default generator
(or ``generator=``; ``cr.manual_seed`` repeats the values) and returns the tensor.

Why the scales: a layer y = W x with n inputs of unit variance and weights of variance σ² gives
outputs of variance n σ². Keeping activations (forward) or gradients (backward) at a constant
scale through depth asks for σ² = 1/fan_in or 1/fan_out (Xavier/Glorot takes their mean;
Kaiming/He adds the activation's gain, e.g. 2 for ReLU, which zeroes half its inputs).

Example::

    >>> w = cr.empty(256, 784)                         # (out_features, in_features)
    >>> nn.init.kaiming_normal_(w, nonlinearity="relu")  # std = √2 / √784
    >>> nn.init.zeros_(layer.bias)
"""

import math
import warnings

import numpy as np

from .. import backend
from ..autograd.grad_mode import no_grad
from ..ops.special import erf_array
from ..random import default_generator
from ..tensor import Tensor

__all__ = [
    "calculate_gain",
    "constant_",
    "eye_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "orthogonal_",
    "trunc_normal_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]

_UNIT_GAIN = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")


def calculate_gain(nonlinearity, param=None):
    """The factor by which a nonlinearity changes a signal's standard deviation, as PyTorch defines it:
    linear/conv/sigmoid 1, tanh 5/3, relu √2, leaky_relu √(2/(1 + slope²)) (slope ``param``, default
    0.01), selu 3/4."""
    if nonlinearity in _UNIT_GAIN or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight (out, in, *kernel): in·∏kernel and out·∏kernel."""
    if tensor.ndim < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions, "
            f"got shape {tuple(tensor.shape)}"
        )
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


# ----------------------------------------------------------------- drawing and writing


def _check(tensor, name):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"nn.init.{name}: expected a Tensor, got {type(tensor).__name__}")
    return tensor


def _rng(generator):
    return (generator or default_generator).numpy


def _sample_dtype(tensor):
    return np.float32 if tensor._data.dtype == np.float32 else np.float64


def _write(tensor, values):
    """Copy host ``values`` into the tensor's storage (on its device), outside the graph."""
    if tensor.device != backend.CPU:
        values = backend.to_device(np.asarray(values), tensor.device)
    with no_grad():
        tensor.copy_(values)
    return tensor


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with samples from U(a, b)."""
    _check(tensor, "uniform_")
    if not a <= b:
        raise ValueError(f"uniform_ expects a <= b, got a={a}, b={b}")
    sample = _rng(generator).random(tensor.shape, dtype=_sample_dtype(tensor))
    return _write(tensor, sample * (b - a) + a)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with samples from N(mean, std²)."""
    _check(tensor, "normal_")
    if std < 0:
        raise ValueError(f"normal_ expects std >= 0, got {std}")
    sample = _rng(generator).standard_normal(tensor.shape, dtype=_sample_dtype(tensor))
    return _write(tensor, sample * std + mean)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with samples from N(mean, std²) conditioned on [a, b] (a and b are absolute bounds, as in
    PyTorch). Drawn by rejection: exact, and fast while [a, b] holds a fair share of the mass."""
    _check(tensor, "trunc_normal_")
    if not a < b:
        raise ValueError(f"trunc_normal_ expects a < b, got a={a}, b={b}")
    if std <= 0:
        raise ValueError(f"trunc_normal_ expects std > 0, got {std}")
    rng = _rng(generator)
    lower, upper = (a - mean) / std, (b - mean) / std
    erf_upper, erf_lower = erf_array(np, np.array([upper, lower]) / math.sqrt(2)).tolist()
    mass = 0.5 * (erf_upper - erf_lower)  # Φ(upper) - Φ(lower)
    if mass < 1e-6:
        raise ValueError(f"trunc_normal_: [a, b] = [{a}, {b}] holds only {mass:.2e} of N({mean}, {std}²)")
    count = math.prod(tensor.shape)
    accepted = np.empty(0)
    while accepted.size < count:
        draw = rng.standard_normal(int((count - accepted.size) / mass * 1.1) + 16)
        accepted = np.concatenate([accepted, draw[(draw >= lower) & (draw <= upper)]])
    values = accepted[:count].reshape(tensor.shape) * std + mean
    return _write(tensor, np.clip(values, a, b))


def constant_(tensor, val):
    """Fill with ``val``."""
    _check(tensor, "constant_")
    with no_grad():
        return tensor.fill_(val)


def ones_(tensor):
    return constant_(tensor, 1.0)


def zeros_(tensor):
    return constant_(tensor, 0.0)


def eye_(tensor):
    """Fill a 2-D tensor with the identity matrix (ones on the diagonal; rectangular allowed)."""
    _check(tensor, "eye_")
    if tensor.ndim != 2:
        raise ValueError(f"Only tensors with 2 dimensions are supported, got shape {tuple(tensor.shape)}")
    return _write(tensor, np.eye(*tensor.shape))


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot & Bengio (2010): U(-a, a), a = gain·√(6/(fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_check(tensor, "xavier_uniform_"))
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Glorot & Bengio (2010): N(0, std²), std = gain·√(2/(fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_check(tensor, "xavier_normal_"))
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def _kaiming_std(tensor, a, mode, nonlinearity):
    return calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He et al. (2015): U(-b, b), b = gain·√(3/fan), gain = calculate_gain(nonlinearity, a).
    ``nn.Linear`` uses a=√5, which gives b = 1/√fan_in."""
    _check(tensor, "kaiming_uniform_")
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He et al. (2015): N(0, std²), std = gain/√fan."""
    _check(tensor, "kaiming_normal_")
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


def orthogonal_(tensor, gain=1, generator=None):
    """Saxe et al. (2013): a (semi-)orthogonal matrix from the QR decomposition of a Gaussian one,
    times ``gain``; a tensor of more than 2 dims is seen as (shape[0], rest)."""
    _check(tensor, "orthogonal_")
    if tensor.ndim < 2:
        raise ValueError(f"Only tensors with 2 or more dimensions are supported, got shape {tuple(tensor.shape)}")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = _rng(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))  # makes the decomposition unique, so q is uniformly distributed
    if rows < cols:
        q = q.T
    return _write(tensor, (q * gain).reshape(tensor.shape))
