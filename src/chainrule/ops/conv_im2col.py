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

Strides of 1. There ∂L/∂x, the transposed convolution of G, is itself a convolution: of G
zero-padded by d·(k - 1) - p on each side, with the kernel flipped and each group's in and out
channels swapped (``Geometry.adjoint``, ``adjoint_weight``). Made like a forward (one im2col copy
and one GEMM per block) it costs less than col2im's ∏k strided adds, so col2im is left to strides
above 1 (and to padding wider than the kernel reaches).

Wide rows. When the last spatial dim has stride 1 (the common case), the kernels compute each
output row over the padded input's full width Wp instead of the Wo valid columns: the last
Wp - Wo columns of a row are garbage, cropped from y and zero in G. In exchange, a window row at
a kernel offset and the next one are adjacent in memory, so im2col's copy and col2im's adds run
along whole planes (Ho·Wp values) instead of rows of Wo, which is several times faster for
small images. Windows of the garbage columns run up to (kW - 1)·dW values past a plane's end,
so the padded input lives in a buffer with Wp spare zeros after it.

Threads. Every kernel works sample by sample, so it is written for a slice of samples and
``parallel.map_slices`` runs the slices on all of chainrule's threads: each slice does its own
im2col copy, GEMMs and col2im adds, and the weight gradient is the sum of the slices' partial sums.
Within a slice, the samples go in cache blocks (``CACHE_BYTES`` of column array each): a block's
columns are made in a workspace array and used by its GEMMs (and its column gradient by col2im)
while they are still in the core's cache. No column array of a whole batch is ever made or kept:
the backward makes each block's columns again from x, a copy from cache that costs far less than
writing ∏k times x's size out to memory in the forward and reading it back in the backward.

These functions take and return plain arrays of one namespace ``xp``; the ops in ``conv.py`` wrap
them in ``Function``s. Geometry, per spatial dim: padding (before, after), stride s, dilation d,
o = (S + before + after - d·(k - 1) - 1) // s + 1.
"""

import itertools
import math

from ..backend import numpy_namespace
from ..parallel import map_slices
from .conv_scratch import scratch, workspace


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

    def adjoint(self):
        """The geometry of this convolution's transpose as a convolution, when the strides are 1:
        ∂L/∂x = conv(G, w̃), G zero-padded by d·(k - 1) - p on each side and w̃ the kernel flipped
        with its in and out channels swapped (``adjoint_weight``). None for strides above 1 (or
        padding beyond the kernel's reach), whose transpose col2im makes instead."""
        if any(s != 1 for s in self.stride):
            return None
        padding = tuple(
            (d * (k - 1) - lo, d * (k - 1) - hi) for (lo, hi), k, d in zip(self.padding, self.kernel, self.dilation)
        )
        if any(p < 0 for pair in padding for p in pair):
            return None
        return Geometry(self.out, self.kernel, self.stride, padding, self.dilation, self.groups)

    def positions(self):
        """P: the number of output positions computed per (sample, channel)."""
        return math.prod(self.computed)


def padded_input(xp, x, geometry):
    """x (N, C, *S) zero-padded to (N, C, *Sp); with wide rows, inside a buffer with spare zeros after it.

    The result is x itself or a scratch array (valid until the next call): read it, never keep it."""
    if not geometry.wide and not any(lo or hi for lo, hi in geometry.padding):
        return x
    layout = ("padded input", geometry.size, geometry.padding, geometry.wide)  # where its zeros are
    buffer, _ = scratch(xp, layout, (_buffer_size(x.shape[:2], geometry),), x.dtype)
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


def im2col_block(xp, x, geometry):
    """Windows of a block of samples x (n, C, *S) as col (n, g, C/g·∏k, P), contiguous, in a
    workspace array (valid until the next call in this thread): read it, never keep it."""
    col = workspace(xp, "columns", _col_shape(x.shape, geometry), x.dtype)
    _im2col_into(xp, x, geometry, col)
    return col


def _col_shape(input_shape, geometry):
    n, channels = input_shape[:2]
    groups = geometry.groups
    return n, groups, channels // groups * math.prod(geometry.kernel), geometry.positions()


def _im2col_into(xp, x, geometry, col):
    windows = _windows(xp, padded_input(xp, x, geometry), geometry)  # (n, C, *k, *computed)
    col.reshape(windows.shape)[...] = windows


def col2im_into(xp, col, geometry, out):
    """The adjoint of ``im2col``: col (n, C·∏k, P) summed back into ``out`` (n, C, *S)."""
    lead = tuple(out.shape[:2])
    col = col.reshape(lead + geometry.kernel + geometry.computed)
    in_place = not geometry.wide and _padded_shape(lead, geometry) == tuple(out.shape)
    if in_place:  # no padding and no spare columns: out itself is the padded buffer
        out.fill(0)
        padded = out
    else:  # the sums are copied out of a scratch buffer, zeroed here
        buffer, fresh = scratch(xp, "col2im", (_buffer_size(lead, geometry),), col.dtype)
        if not fresh:
            buffer.fill(0)
        padded = _padded_view(buffer, lead, geometry)
    windows = _windows(xp, padded, geometry, writeable=True)
    everything = (slice(None), slice(None))
    for offset in itertools.product(*(range(k) for k in geometry.kernel)):
        windows[everything + offset] += col[everything + offset]  # one offset never reads a position twice
    if not in_place:
        out[...] = padded[everything + _interior(geometry)]


def widen(xp, grad, geometry):
    """G (n, O, *out) as (n, O, P): with wide rows, zeros in the garbage columns.

    With wide rows the result is a scratch array (valid until the next call in this thread): read
    it, never keep it."""
    n, channels = grad.shape[:2]
    if not geometry.wide:
        return grad.reshape(n, channels, -1)
    layout = ("wide gradient", geometry.out[-1])  # columns from out[-1] on stay zero
    wide, _ = scratch(xp, layout, (n, channels) + geometry.computed, grad.dtype)
    wide[..., : geometry.out[-1]] = grad  # the garbage columns are never written: they stay zero
    return wide.reshape(n, channels, -1)


def conv_forward(xp, x, weight, geometry, bias=None):
    """y = conv(x, w) + b: x (N, C, *S), w (O, C/g, *k), b (O,) or None -> y (N, O, *out).
    Per cache block of samples: one im2col, one batched GEMM, the bias added while the block's
    products are still in the cache."""
    groups, out_channels = geometry.groups, weight.shape[0]
    rows = weight.reshape(groups, out_channels // groups, -1)  # (g, O/g, C/g·∏k)
    window = rows.shape[2]
    y = xp.empty((len(x), out_channels) + geometry.out, dtype=x.dtype)
    bias = None if bias is None else bias.reshape(groups, out_channels // groups, 1)  # along whole rows of P

    def forward_block(a, b):
        col = im2col_block(xp, x[a:b], geometry)
        product_shape = (b - a, groups, out_channels // groups, geometry.positions())
        if geometry.wide:  # the wide result is cropped into y: it can be scratch
            product = workspace(xp, "wide output", product_shape, y.dtype)
        else:
            product = y[a:b].reshape(product_shape)
        xp.matmul(rows, col, out=product)
        if bias is not None:
            product += bias
        if geometry.wide:
            y[a:b] = product.reshape((b - a, out_channels) + geometry.computed)[..., : geometry.out[-1]]

    def forward_slice(a, b):
        for start, stop in _cache_blocks(xp, a, b, groups * window * geometry.positions() * y.itemsize):
            forward_block(start, stop)

    columns = groups * window * geometry.positions()
    map_slices(xp, len(x), forward_slice, columns + out_channels // groups * columns)  # the copy + the GEMM
    return y


def adjoint_weight(xp, weight, groups):
    """w̃ (C, O/g, *k) of w (O, C/g, *k): each group's in and out channels swapped, the kernel flipped
    in every spatial dim (the weight of ``Geometry.adjoint``'s convolution)."""
    out_channels, group_channels = weight.shape[:2]
    kernel = weight.shape[2:]
    per_group = weight.reshape((groups, out_channels // groups, group_channels) + kernel)
    swapped = xp.swapaxes(per_group, 1, 2).reshape((groups * group_channels, out_channels // groups) + kernel)
    return xp.ascontiguousarray(xp.flip(swapped, axis=tuple(range(2, weight.ndim))))


def conv_backward(xp, grad, geometry, weight=None, input_shape=None, x=None):
    """(∂L/∂x, ∂L/∂w) of y = conv(x, w) from G = ∂L/∂y (N, O, *out): ∂L/∂x needs w and x's shape
    (N, C, *S), ∂L/∂w needs x; each is None when what it needs is not given.

    ∂L/∂x is the transposed convolution of G with w. With strides of 1 it is a convolution,
    conv(G, w̃) of ``Geometry.adjoint``: one im2col and one GEMM per block. Otherwise
    ∂L/∂x[n] = col2im(w[g]ᵀ·G[n, g]), whose ∏k strided adds cost more.
    ∂L/∂w[g] = Σₙ G[n, g]·col[n, g]ᵀ, with x's columns made again block by block."""
    adjoint = geometry.adjoint() if weight is not None else None
    if adjoint is not None:
        grad_x = conv_forward(xp, grad, adjoint_weight(xp, weight, geometry.groups), adjoint)
        grad_weight = _col2im_backward(xp, grad, geometry, None, None, x)[1] if x is not None else None
        return grad_x, grad_weight
    return _col2im_backward(xp, grad, geometry, weight, input_shape, x)


def _col2im_backward(xp, grad, geometry, weight, input_shape, x):
    """``conv_backward`` with ∂L/∂x (when w is given) made by col2im, for any stride. Each slice of
    samples widens its G once for both gradients."""
    groups = geometry.groups
    n, out_channels = grad.shape[:2]
    grad_x = xp.empty(input_shape, dtype=grad.dtype) if weight is not None else None
    rows = weight.reshape(groups, out_channels // groups, -1) if weight is not None else None  # (g, O/g, C/g·∏k)
    channels = input_shape[1] if weight is not None else x.shape[1]
    window = channels // groups * math.prod(geometry.kernel)

    def backward_block(a, b):
        g = widen(xp, grad[a:b], geometry).reshape(b - a, groups, out_channels // groups, -1)
        if rows is not None:
            shape = (b - a, groups, window, g.shape[3])
            col_grad = workspace(xp, "column gradient", shape, grad.dtype)
            xp.matmul(xp.swapaxes(rows, 1, 2), g, out=col_grad)  # (n, g, C/g·∏k, P), only read by col2im
            col2im_into(xp, col_grad, geometry, grad_x[a:b])
        if x is not None:
            col = im2col_block(xp, x[a:b], geometry)
            return xp.matmul(g, xp.swapaxes(col, 2, 3)).sum(axis=0)  # (g, O/g, C/g·∏k)
        return None

    # blocks are sized by one column array: col2im has used up the column gradient before the
    # columns are made (sized by both, the blocks halve and their NumPy calls double)
    bytes_per_sample = groups * window * geometry.positions() * grad.itemsize

    def backward_slice(a, b):
        partial_sum = None
        for start, stop in _cache_blocks(xp, a, b, bytes_per_sample):
            block_sum = backward_block(start, stop)
            if block_sum is not None:
                partial_sum = block_sum if partial_sum is None else xp.add(partial_sum, block_sum, out=partial_sum)
        return partial_sum

    columns = groups * window * geometry.positions()
    arrays = (rows is not None) + (x is not None)  # the column gradient and the columns
    work = arrays * (out_channels // groups) * columns + arrays * columns  # the GEMMs + col2im / im2col
    partial_sums = map_slices(xp, n, backward_slice, work)
    if x is None:
        return grad_x, None
    weight_shape = (out_channels, window // math.prod(geometry.kernel)) + geometry.kernel
    return grad_x, sum(partial_sums[1:], partial_sums[0]).reshape(weight_shape)


CACHE_BYTES = 1 << 20  # the column arrays of a block of samples, sized to stay in a core's cache


def _cache_blocks(xp, a, b, bytes_per_sample):
    """Samples a:b in blocks whose column arrays (``bytes_per_sample`` each) fit in CACHE_BYTES; one
    block on a GPU, where many small calls would only add launches."""
    if xp is not numpy_namespace:
        return [(a, b)]
    block = max(1, CACHE_BYTES // max(1, bytes_per_sample))
    return [(start, min(b, start + block)) for start in range(a, b, block)]


def conv_input_grad(xp, grad, weight, input_shape, geometry):
    """∂L/∂x of y = conv(x, w) from G = ∂L/∂y (N, O, *out) -> (N, C, *S): the transposed convolution."""
    return conv_backward(xp, grad, geometry, weight=weight, input_shape=input_shape)[0]


def conv_weight_grad(xp, x, grad, geometry):
    """∂L/∂w (O, C/g, *k) of y = conv(x, w) from x (N, C, *S) and G = ∂L/∂y (N, O, *out)."""
    return conv_backward(xp, grad, geometry, x=x)[1]
