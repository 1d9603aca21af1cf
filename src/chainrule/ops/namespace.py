"""NumPy's function names over chainrule's differentiable ops.

Under ``create_graph=True`` the engine hands this namespace to backward rules as ``self.xp``, so a
rule such as ``grad * self.xp.cos(x)`` records its own graph and can be differentiated again.
Only the names that backward rules (and the engine's ``sum_to``) use are here.
"""

import types

import numpy as np

from ..dtypes import dtype as chainrule_dtype
from ..dtypes import from_numpy
from ..tensor import Tensor
from . import arithmetic, compare, indexing, linalg, reduction, selection, shape, unary


def _sum(x, axis=None, keepdims=False):
    return reduction.sum(x, axis, keepdims)


def _mean(x, axis=None, keepdims=False):
    return reduction.mean(x, axis, keepdims)


def _prod(x, axis=None, keepdims=False):
    return reduction.prod(x, axis, keepdims)


def _expand_dims(x, axis):
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    ndim = x.ndim + len(axes)
    axes = sorted(a % ndim for a in axes)
    new_shape = list(x.shape)
    for a in axes:
        new_shape.insert(a, 1)
    return shape.reshape(x, tuple(new_shape))


def _squeeze(x, axis=None):
    return shape.squeeze(x, axis)


def _swapaxes(x, axis1, axis2):
    return shape.transpose(x, axis1, axis2)


def _transpose(x, axes=None):
    return shape.permute(x, axes if axes is not None else tuple(reversed(range(x.ndim))))


def _astype(x, dtype):
    return x.to(dtype if isinstance(dtype, chainrule_dtype) else from_numpy(dtype))


def _zeros_like(x):
    return Tensor._wrap(x._namespace().zeros_like(x._data))


def _arange(*args):
    return Tensor._wrap(np.arange(*args))


def _where(condition, a, b):
    return selection.where(condition, a, b)


differentiable_namespace = types.SimpleNamespace(
    errstate=np.errstate,
    sum=_sum,
    mean=_mean,
    prod=_prod,
    expand_dims=_expand_dims,
    squeeze=_squeeze,
    swapaxes=_swapaxes,
    transpose=_transpose,
    reshape=lambda x, new_shape: shape.reshape(x, new_shape),
    broadcast_to=lambda x, new_shape: shape.broadcast_to(x, new_shape),
    astype=_astype,
    zeros_like=_zeros_like,
    arange=_arange,
    where=_where,
    matmul=linalg.matmul,
    exp=unary.exp,
    log=unary.log,
    sin=unary.sin,
    cos=unary.cos,
    sign=unary.sign,
    isfinite=compare.isfinite,
    negative=arithmetic.neg,
    scatter_add=indexing.scatter_add,
    to_device=shape.to_device,
)
