"""PyTorch-style ``repr`` of tensors: values with 4 decimals (scientific notation when the
magnitudes call for it), then dtype (if not the default), ``grad_fn`` or ``requires_grad``."""

import numpy as np

from . import dtypes

_THRESHOLD, _EDGE_ITEMS, _LINE_WIDTH = 1000, 3, 80


def _float_formatter(values):
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return lambda v: _special(v) or "0."
    magnitudes = np.abs(finite[finite != 0])
    if finite.size and np.all(finite == np.round(finite)) and (magnitudes.size == 0 or magnitudes.max() < 1e8):
        digits = max(len(f"{v:.0f}") for v in finite) if finite.size else 1
        return lambda v: _special(v) or f"{v:.0f}.".rjust(digits + 1)
    scientific = magnitudes.size and (magnitudes.max() >= 1e8 or magnitudes.min() < 1e-4)
    if scientific and magnitudes.max() / magnitudes.min() >= 1000 or (magnitudes.size and magnitudes.max() >= 1e8):
        return lambda v: _special(v) or f"{v:.4e}"
    width = max(len(f"{v:.4f}") for v in finite)
    return lambda v: (_special(v) or f"{v:.4f}").rjust(width)


def _special(value):
    if np.isnan(value):
        return "nan"
    if np.isinf(value):
        return "inf" if value > 0 else "-inf"
    return None


def format_values(array, prefix):
    """The values of ``array`` as nested brackets, aligned after ``prefix``."""
    if array.size == 0:
        return "[]"
    summarize = array.size > _THRESHOLD
    if array.dtype.kind == "f":
        shown = array.astype(np.float64)
        formatter = {"float_kind": _float_formatter(_visible(shown, summarize))}
    elif array.dtype.kind == "b":
        formatter = {"bool": lambda v: "True" if v else "False"}
    else:
        formatter = None
        shown = array
    if array.dtype.kind != "f":
        shown = array
    return np.array2string(
        shown,
        separator=", ",
        prefix=prefix,
        formatter=formatter,
        threshold=_THRESHOLD,
        edgeitems=_EDGE_ITEMS,
        max_line_width=_LINE_WIDTH,
    )


def _visible(array, summarize):
    if not summarize or array.ndim == 0:
        return array.ravel()
    index = tuple(
        np.r_[0 : min(_EDGE_ITEMS, n), max(n - _EDGE_ITEMS, 0) : n] if n > 2 * _EDGE_ITEMS else slice(None)
        for n in array.shape
    )
    return array[np.ix_(*[np.arange(n)[i] for n, i in zip(array.shape, index)])].ravel()


def tensor_repr(tensor):
    from .backend import to_device, CPU

    array = to_device(tensor._data, CPU)
    prefix = "tensor("
    parts = [format_values(array, prefix)]
    if array.size == 0 and array.shape != (0,):
        parts.append(f"size={tuple(array.shape)}")
    default = dtypes.get_default_dtype().numpy
    if array.dtype not in (default, np.int64, np.bool_) or (array.size == 0 and array.dtype != default):
        parts.append(f"dtype={tensor.dtype!r}")
    if tensor.device.type != "cpu":
        parts.append(f"device='{tensor.device}'")
    if tensor.grad_fn is not None:
        parts.append(f"grad_fn=<{tensor.grad_fn.name}>")
    elif tensor.requires_grad:
        parts.append("requires_grad=True")
    return prefix + ", ".join(parts) + ")"
