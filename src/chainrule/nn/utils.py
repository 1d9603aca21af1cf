"""``chainrule.nn.utils``: gradient clipping and flat parameter vectors, with PyTorch's names.

Example::

    >>> loss.backward()
    >>> total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)   # scalar Tensor
    >>> optimizer.step()
"""

import math

from .. import backend
from ..autograd.grad_mode import no_grad
from ..errors import ShapeError
from ..ops.join import cat
from ..ops.shape import reshape
from ..tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]


def _as_list(parameters):
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def _grad_norm(array, norm_type):
    xp = backend.namespace_of(array)
    magnitudes = xp.abs(array)
    if norm_type == math.inf:
        return magnitudes.max() if array.size else xp.zeros((), dtype=array.dtype)
    if norm_type == 2:
        return xp.sqrt(xp.sum(magnitudes * magnitudes))
    return xp.sum(magnitudes**norm_type) ** (1.0 / norm_type)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale all gradients together so that their joint ``norm_type``-norm is at most ``max_norm``.

    The norm is over all gradients concatenated into one vector; each gradient is multiplied in
    place by min(1, max_norm / (norm + 1e-6)). Returns the norm before clipping, a 0-d Tensor.
    ``foreach`` is accepted for PyTorch compatibility and has no effect.
    """
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not grads:
        return Tensor._wrap(backend.numpy_namespace.zeros((), dtype="float32"))
    norms = [_grad_norm(g._data, norm_type) for g in grads]
    xp = backend.namespace_of(grads[0]._data)
    stacked = xp.stack([xp.asarray(n) for n in norms])
    total = _grad_norm(stacked, norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it cannot be "
            "clipped. To disable this error and scale the gradients by the non-finite norm anyway, set "
            "`error_if_nonfinite=False`"
        )
    coefficient = min(max_norm / (float(total) + 1e-6), 1.0) if math.isfinite(float(total)) else max_norm / float(total)
    if coefficient != 1.0:
        with no_grad():
            for grad in grads:
                grad.mul_(coefficient)
    return Tensor._wrap(xp.asarray(total))


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient elementwise to [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    with no_grad():
        for param in _as_list(parameters):
            if param.grad is not None:
                param.grad.clamp_(-clip_value, clip_value)


def parameters_to_vector(parameters):
    """All parameters flattened and concatenated into one (n,) Tensor (differentiable, as in PyTorch)."""
    parameters = _as_list(parameters)
    if not parameters:
        raise ValueError("parameters_to_vector: got no parameters")
    device = parameters[0].device
    for param in parameters:
        if param.device != device:
            raise RuntimeError(f"parameters_to_vector: parameters on {device} and {param.device}: move them to one")
    return cat([reshape(param, -1) for param in parameters])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the (n,) ``vec`` into the parameters, in order (outside the graph).

    Unlike PyTorch, which rebinds each ``param.data`` to a view of ``vec``, the values are copied
    into each parameter's own storage, so optimizers and views keep pointing at the parameters.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected a Tensor, but got: {type(vec).__name__}")
    parameters = _as_list(parameters)
    needed = sum(param.numel() for param in parameters)
    if vec.ndim != 1 or vec.shape[0] != needed:
        raise ShapeError(f"vector_to_parameters: the parameters need a ({needed},) vector, got shape {vec.shape}")
    offset = 0
    with no_grad():
        for param in parameters:
            count = param.numel()
            param.copy_(vec._data[offset : offset + count].reshape(param.shape))
            offset += count
