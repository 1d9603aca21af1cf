"""Comparisons and logical ops. They return bool tensors and have no gradient."""

from ..tensor import Tensor


def _array(value):
    return value._data if isinstance(value, Tensor) else value


def _elementwise(function_name):
    def op(a, b):
        xp = a._namespace() if isinstance(a, Tensor) else b._namespace()
        return Tensor._wrap(getattr(xp, function_name)(_array(a), _array(b)))

    op.__name__ = function_name
    op.__doc__ = f"Elementwise {function_name} with broadcasting; a bool tensor, no gradient."
    return op


eq = _elementwise("equal")
ne = _elementwise("not_equal")
lt = _elementwise("less")
le = _elementwise("less_equal")
gt = _elementwise("greater")
ge = _elementwise("greater_equal")
logical_and = _elementwise("logical_and")
logical_or = _elementwise("logical_or")
logical_xor = _elementwise("logical_xor")
bitwise_and = _elementwise("bitwise_and")
bitwise_or = _elementwise("bitwise_or")
bitwise_xor = _elementwise("bitwise_xor")


def _unary(function_name, doc):
    def op(x):
        return Tensor._wrap(getattr(x._namespace(), function_name)(x._data))

    op.__name__ = function_name
    op.__doc__ = doc
    return op


logical_not = _unary("logical_not", "Elementwise not; a bool tensor.")
bitwise_not = _unary("invert", "Elementwise not of bools, bitwise not of integers.")
isnan = _unary("isnan", "True where x is NaN.")
isinf = _unary("isinf", "True where x is +inf or -inf.")
isfinite = _unary("isfinite", "True where x is neither NaN nor infinite.")


def all(x, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    """True where every element (along ``dim``) is non-zero."""
    return Tensor._wrap(x._namespace().asarray(x._data.all(axis=dim, keepdims=keepdim)))


def any(x, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    """True where some element (along ``dim``) is non-zero."""
    return Tensor._wrap(x._namespace().asarray(x._data.any(axis=dim, keepdims=keepdim)))


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True if |a - b| ≤ atol + rtol·|b| everywhere (a Python bool)."""
    return bool(a._namespace().allclose(_array(a), _array(b), rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(a, b):
    """True if both tensors have the same shape and elements (a Python bool)."""
    return a.shape == b.shape and bool((_array(a) == _array(b)).all())
