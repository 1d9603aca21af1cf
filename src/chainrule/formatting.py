"""PyTorch-style ``repr`` of tensors, character for character.

The rules are PyTorch's (``torch/_tensor_str.py``), applied to NumPy arrays:

- floats whose non-zero finite values are all integers print as ``1.``; otherwise with 4
  decimals; in scientific notation (``1.0000e-05``) when max/min of the non-zero magnitudes
  exceeds 1000, the largest exceeds 1e8, or (non-integers only) the smallest is below 1e-4;
- every element is right-aligned to the widest one; rows wrap at 80 columns;
- more than 1000 elements are summarized with the first and last 3 along each dim and ``...``;
- then ``dtype=`` (unless float32/int64/bool), ``device=``, ``grad_fn=<...>`` or
  ``requires_grad=True``.
"""

import math

import numpy as np

from . import dtypes

PRECISION, THRESHOLD, EDGE_ITEMS, LINE_WIDTH = 4, 1000, 3, 80


class _Formatter:
    """Chooses one format (integer, fixed or scientific) and one width for all elements."""

    def __init__(self, array):
        self.floating = array.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.max_width = True, False, 1
        flat = array.reshape(-1)
        if not self.floating:
            for value in flat.tolist():
                self.max_width = max(self.max_width, len(f"{value}"))
            return
        values = flat[np.isfinite(flat) & (flat != 0)]
        if values.size == 0:
            return
        magnitudes = np.abs(values).astype(np.float64)
        smallest, largest = magnitudes.min(), magnitudes.max()
        self.int_mode = bool(np.all(values == np.ceil(values)))
        ratio_too_large = largest / smallest > 1000.0 or largest > 1.0e8
        if ratio_too_large or (not self.int_mode and smallest < 1.0e-4):
            self.sci_mode = True
            pattern, extra = f"{{:.{PRECISION}e}}", 0
        elif self.int_mode:
            pattern, extra = "{:.0f}", 1  # room for the trailing "."
        else:
            pattern, extra = f"{{:.{PRECISION}f}}", 0
        for value in values.tolist():
            self.max_width = max(self.max_width, len(pattern.format(value)) + extra)

    def format(self, value):
        if not self.floating:
            text = f"{value}"
        elif self.sci_mode:
            text = f"{value:{self.max_width}.{PRECISION}e}"
        elif self.int_mode:
            text = f"{value:.0f}"
            if math.isfinite(value):
                text += "."
        else:
            text = f"{value:.{PRECISION}f}"
        return text.rjust(self.max_width)


def _summarized(array):
    """The elements that a summarized print shows (first and last EDGE_ITEMS along each dim)."""
    if array.ndim == 0:
        return array
    if array.ndim == 1:
        if array.shape[0] > 2 * EDGE_ITEMS:
            return np.concatenate((array[:EDGE_ITEMS], array[-EDGE_ITEMS:]))
        return array
    rows = range(array.shape[0])
    if array.shape[0] > 2 * EDGE_ITEMS:
        rows = list(range(EDGE_ITEMS)) + list(range(array.shape[0] - EDGE_ITEMS, array.shape[0]))
    return np.stack([_summarized(array[i]) for i in rows])


def _vector(array, indent, summarize, formatter):
    per_line = max(1, (LINE_WIDTH - indent) // (formatter.max_width + 2))
    if summarize and array.shape[0] > 2 * EDGE_ITEMS:
        items = (
            [formatter.format(v) for v in array[:EDGE_ITEMS].tolist()]
            + [" ..."]
            + [formatter.format(v) for v in array[-EDGE_ITEMS:].tolist()]
        )
    else:
        items = [formatter.format(v) for v in array.tolist()]
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(array, indent, summarize, formatter):
    if array.ndim == 0:
        return formatter.format(array.item())
    if array.ndim == 1:
        return _vector(array, indent, summarize, formatter)
    n = array.shape[0]
    if summarize and n > 2 * EDGE_ITEMS:
        slices = (
            [_nested(array[i], indent + 1, summarize, formatter) for i in range(EDGE_ITEMS)]
            + ["..."]
            + [_nested(array[i], indent + 1, summarize, formatter) for i in range(n - EDGE_ITEMS, n)]
        )
    else:
        slices = [_nested(array[i], indent + 1, summarize, formatter) for i in range(n)]
    return "[" + ("," + "\n" * (array.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def format_values(array, indent):
    """The values of ``array`` as nested brackets, continuation lines indented by ``indent``."""
    if array.size == 0:
        return "[]"
    if array.dtype == np.float16:
        array = array.astype(np.float32)  # as PyTorch: format half precision through float
    summarize = array.size > THRESHOLD
    formatter = _Formatter(_summarized(array) if summarize else array)
    return _nested(array, indent, summarize, formatter)


def _add_suffixes(text, suffixes, indent):
    """Append ``, suffix`` to ``text``, starting a new line when one would pass LINE_WIDTH."""
    parts = [text]
    last_line = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line + len(suffix) + 2 > LINE_WIDTH:
            parts.append(",\n" + " " * indent + suffix)
            last_line = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def tensor_repr(tensor):
    from .backend import CPU, to_device

    array = to_device(tensor._data, CPU)
    prefix = "tensor("
    default = dtypes.get_default_dtype().numpy
    suffixes = []
    if tensor.device.type != "cpu":
        suffixes.append(f"device='{tensor.device}'")
    if array.size == 0:
        if array.ndim != 1:
            suffixes.append(f"size={tuple(array.shape)}")
        if array.dtype != default:
            suffixes.append(f"dtype={tensor.dtype!r}")
    elif array.dtype not in (default, np.int64, np.bool_):
        suffixes.append(f"dtype={tensor.dtype!r}")
    if tensor.grad_fn is not None:
        suffixes.append(f"grad_fn=<{tensor.grad_fn.name}>")
    elif tensor.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + format_values(array, len(prefix)), suffixes, len(prefix))
