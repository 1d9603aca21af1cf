"""The array kernels behind every convolution: im2col, col2im and the three GEMMs.

A convolution of x (N, C, *S) with a weight w (O, C/g, *k) in g groups reads, for every output
position, a window of C/g·∏k input values. ``im2col`` copies those windows out of a strided view of
the zero-padded input into one contiguous array

    col: (N, g, C/g·∏k, P)        (P: the number of output positions)

so that the convolution is one batched GEMM, y[n, g] = w[g] · col[n, g]. Its two gradients are
GEMMs too:

    ∂L/∂w[g] = Σₙ G[n, g] · col[n, g]ᵀ                   (G = ∂L/∂y, as (N, g, O/g, P))
    ∂L/∂col[n, g] = w[g]ᵀ · G[n, g],   then col2im: each kernel offset's slice of ∂L/∂col is added
                                       back onto the input positions it was read from

col2im loops over the ∏k kernel offsets (9 for a 3×3 kernel), never over pixels: each step adds a
whole strided slice.

Wide rows. When the last spatial dim has stride 1 (the common case), the kernels compute each
output row over the padded input's full width Wp instead of the Wo valid columns: the last
Wp - Wo columns of a row are garbage, cropped from y and zero in G. In exchange, a window row at
a kernel offset and the next one are adjacent in memory, so im2col's copy and col2im's adds run
along whole planes (Ho·Wp values) instead of rows of Wo, which is several times faster for
small images. Windows of the garbage columns run up to (kW - 1)·dW values past a plane's end,
so the padded input lives in a buffer with Wp spare zeros after it.

These functions take and return plain arrays of one namespace ``xp``; the ops in ``conv.py`` wrap
them in ``Function``s. Geometry, per spatial dim: padding (before, after), stride s, dilation d,
o = (S + before + after - d·(k - 1) - 1) // s + 1.
"""

import itertools
import math

from .conv_scratch import scratch


class Geometry:
    """Sizes of one convolution: x (N, C, *size) * w (O, C/g, *kernel) -> y (N, O, *out).

    ``padding`` is one (before, after) pair per spatial dim. ``computed`` is ``out`` with the last
    size widened to the padded width when rows are wide (see the module docstring)."""

    def __init__(self, size, kernel, stride, padding, dilation, groups):
        self.size, self.kernel, self.stride = tuple(size), tuple(kernel), tuple(stride)
        self.padding, self.dilation, self.groups = tuple(padding), tuple(dilation), groups
        self.padded = tuple(s + lo + hi for s, (lo, hi) in zip(self.size, self.padding))
        self.out = tuple(
            (p - d * (k - 1) - 1) // s + 1 for p, k, s, d in zip(self.padded, self.kernel, self.stride, self.dilation)
        )
        self.wide = len(self.size) >= 2 and self.stride[-1] == 1 and self.padded[-1] > self.out[-1]
        self.computed = self.out[:-1] + (self.padded[-1],) if self.wide else self.out

    def positions(self):
        """P: the number of output positions computed per (sample, channel)."""
        return math.prod(self.computed)


def padded_input(xp, x, geometry):
    """x (N, C, *S) zero-padded to (N, C, *Sp); with wide rows, inside a buffer with spare zeros after it.

    The result is x itself or a scratch array (valid until the next call): read it, never keep it."""
    if not geometry.wide and not any(lo or hi for lo, hi in geometry.padding):
        return x
    buffer, _ = scratch(xp, "padded input", (_buffer_size(x.shape[:2], geometry),), x.dtype)
    return _scatter_interior(xp, x, geometry, buffer)  # only the interior is written: the zeros stay


def _padded_shape(lead, geometry):
    return tuple(lead) + geometry.padded


def _buffer_size(lead, geometry):
    return math.prod(lead) * math.prod(geometry.padded) + (geometry.padded[-1] if geometry.wide else 0)


def _padded_view(buffer, lead, geometry):
    return buffer[: math.prod(lead) * math.prod(geometry.padded)].reshape(tuple(lead) + geometry.padded)


def _scatter_interior(xp, x, geometry, buffer):
    padded = _padded_view(buffer, x.shape[:2], geometry)
    padded[(slice(None), slice(None)) + _interior(geometry)] = x
    return padded


def _interior(geometry):
    return tuple(slice(lo, lo + s) for s, (lo, _) in zip(geometry.size, geometry.padding))


def _windows(xp, padded, geometry, writeable=False):
    """The strided view (N, C, *k, *computed) whose [n, c, *i, *o] is padded[n, c, *(o·s + i·d)]."""
    strides = padded.strides[2:]
    return xp.as_strided(
        padded,
        shape=padded.shape[:2] + geometry.kernel + geometry.computed,
        strides=padded.strides[:2]
        + tuple(d * st for d, st in zip(geometry.dilation, strides))
        + tuple(s * st for s, st in zip(geometry.stride, strides)),
        writeable=writeable,
    )


def im2col(xp, x, geometry):
    """Windows of x (N, C, *S) as col (N, g, C/g·∏k, P), contiguous: one copy of a strided view."""
    n, channels = x.shape[:2]
    windows = _windows(xp, padded_input(xp, x, geometry), geometry)  # (N, C, *k, *computed)
    col = xp.empty(windows.shape, dtype=windows.dtype)  # always a copy: the padded input is scratch
    col[...] = windows
    groups = geometry.groups
    return col.reshape(n, groups, channels // groups * math.prod(geometry.kernel), geometry.positions())


def col2im(xp, col, input_shape, geometry):
    """The adjoint of ``im2col``: col (N, C·∏k, P) summed back into an array of input_shape (N, C, *S)."""
    lead = tuple(input_shape[:2])
    col = col.reshape(lead + geometry.kernel + geometry.computed)
    size = _buffer_size(lead, geometry)
    cropped = _padded_shape(lead, geometry) != tuple(input_shape)
    if cropped:  # the sums are copied out of the buffer: it can be scratch, zeroed here
        buffer, fresh = scratch(xp, "col2im", (size,), col.dtype)
        if not fresh:
            buffer.fill(0)
    else:  # the buffer is the result
        buffer = xp.zeros(size, dtype=col.dtype)
    padded = _padded_view(buffer, lead, geometry)
    windows = _windows(xp, padded, geometry, writeable=True)
    everything = (slice(None), slice(None))
    for offset in itertools.product(*(range(k) for k in geometry.kernel)):
        windows[everything + offset] += col[everything + offset]  # one offset never reads a position twice
    if not cropped:
        return padded
    return xp.ascontiguousarray(padded[everything + _interior(geometry)])


def widen(xp, grad, geometry):
    """G (N, O, *out) as (N, O, P): with wide rows, zeros in the garbage columns.

    With wide rows the result is a scratch array (valid until the next call): read it, never keep it."""
    n, channels = grad.shape[:2]
    if not geometry.wide:
        return grad.reshape(n, channels, -1)
    wide, _ = scratch(xp, "wide gradient", (n, channels) + geometry.computed, grad.dtype)
    wide[..., : geometry.out[-1]] = grad  # the garbage columns are never written: they stay zero
    return wide.reshape(n, channels, -1)


def conv_forward(xp, x, weight, geometry):
    """y = conv(x, w): x (N, C, *S), w (O, C/g, *k) -> (y (N, O, *out), col). One im2col, one batched GEMM."""
    groups = geometry.groups
    col = im2col(xp, x, geometry)
    rows = weight.reshape(groups, weight.shape[0] // groups, -1)  # (g, O/g, C/g·∏k)
    shape = (x.shape[0], groups, weight.shape[0] // groups, geometry.positions())
    if geometry.wide:  # the wide result is cropped into a fresh array: it can be scratch
        wide, _ = scratch(xp, "wide output", shape, col.dtype)
        y = xp.matmul(rows, col, out=wide).reshape((x.shape[0], weight.shape[0]) + geometry.computed)
        return xp.ascontiguousarray(y[..., : geometry.out[-1]]), col
    y = xp.matmul(rows, col).reshape((x.shape[0], weight.shape[0]) + geometry.computed)  # (N, O, *computed)
    return y, col


def conv_input_grad(xp, grad, weight, input_shape, geometry, wide_grad=None):
    """∂L/∂x of y = conv(x, w) from G = ∂L/∂y (N, O, *out): w[g]ᵀ·G[n, g], then col2im -> (N, C, *S).

    It is also the transposed convolution of G with w. ``wide_grad``: G already widened."""
    groups = geometry.groups
    n, out_channels = grad.shape[:2]
    g = (widen(xp, grad, geometry) if wide_grad is None else wide_grad).reshape(n, groups, out_channels // groups, -1)
    rows = weight.reshape(groups, out_channels // groups, -1)  # (g, O/g, C/g·∏k)
    col, _ = scratch(xp, "column gradient", (n, groups, rows.shape[2], g.shape[3]), grad.dtype)
    xp.matmul(xp.swapaxes(rows, 1, 2), g, out=col)  # (N, g, C/g·∏k, P), only read by col2im
    return col2im(xp, col, input_shape, geometry)


def conv_weight_grad(xp, col, grad, weight_shape, geometry, wide_grad=None):
    """∂L/∂w of y = conv(x, w) from x's col (N, g, C/g·∏k, P) and G (N, O, *out): Σₙ G[n, g]·col[n, g]ᵀ."""
    groups = geometry.groups
    n, out_channels = grad.shape[:2]
    g = (widen(xp, grad, geometry) if wide_grad is None else wide_grad).reshape(n, groups, out_channels // groups, -1)
    per_sample = xp.matmul(g, xp.swapaxes(col, 2, 3))  # (N, g, O/g, C/g·∏k)
    return per_sample.sum(axis=0).reshape(weight_shape)
