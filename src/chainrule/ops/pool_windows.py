"""The array kernels behind max and average pooling: a loop over kernel offsets, never over pixels.

A pooling of x (*, *S) over its last n = len(S) dims (1 or 2) reads, for output position o and
kernel offset i, the value padded[*(o·s + i·d)] of the padded input. For one fixed offset i those
values, over all o, are one strided slice of the padded input

    padded[..., i·d : i·d + (O - 1)·s + 1 : s]          (per spatial dim)

so a pooling is ∏k whole-array operations (4 for a 2×2 window): y = max or Σ over the offsets'
slices. The backward adds each offset's share of the gradient back onto its slice; within one
offset the positions are distinct, so ``+=`` on the slice is exact even when windows overlap.

Non-overlapping windows (stride = kernel, no padding or dilation, sizes divisible), the common
``max_pool2d(x, 2)``, are the same loop on x itself: offset (i, j)'s slice is
``x.reshape(N, C, H/k, k, W/k, k)[:, :, :, i, :, j]`` and the slices tile x, so nothing is
padded or copied and the backward writes each slice once instead of adding into zeros.

Max pooling sends the gradient of a window to the element PyTorch picks: the first maximum in the
window's row-major order, or, in a window holding NaN, the last NaN (PyTorch keeps a value when
``val > max || isnan(val)``). These functions take and return plain arrays of one namespace ``xp``;
the ops in ``pool.py`` wrap them in ``Function``s.
"""

import itertools
import math


class PoolGeometry:
    """Sizes of one pooling over the last n dims: x (*, *size) -> y (*, *out), per dim a kernel k,
    stride s, padding p (both sides), dilation d and PyTorch's ceil_mode rule.

    ``extent`` is how many (padded) positions the windows span per dim, (o - 1)·s + d·(k - 1) + 1;
    the padded input holds exactly those, so with ceil_mode it is padded further on the right, and a
    floor that drops a remainder crops it instead."""

    def __init__(self, size, kernel, stride, padding, dilation=None, ceil_mode=False):
        n = len(size)
        self.size, self.kernel, self.stride, self.padding = tuple(size), tuple(kernel), tuple(stride), tuple(padding)
        self.dilation = tuple(dilation) if dilation is not None else (1,) * n
        self.out = tuple(
            output_size(*args, ceil_mode)
            for args in zip(self.size, self.kernel, self.stride, self.padding, self.dilation)
        )
        self.extent = tuple(
            (o - 1) * s + d * (k - 1) + 1 for o, k, s, d in zip(self.out, self.kernel, self.stride, self.dilation)
        )
        # positions of x inside the padded input, per dim: x[:kept] lands at padded[p : p + kept]
        self.kept = tuple(min(size, e - p) for size, e, p in zip(self.size, self.extent, self.padding))
        self.padded = any(self.padding) or any(e > size + p for e, size, p in zip(self.extent, self.size, self.padding))
        self.tiles = (
            self.kernel == self.stride and not self.padded and set(self.dilation) == {1} and self.extent == self.size
        )

    def window_size(self):
        return math.prod(self.kernel)

    def offsets(self):
        """Each kernel offset (row-major, as PyTorch walks a window) and the slice of the padded
        input its value comes from in every window."""
        for offset in itertools.product(*(range(k) for k in self.kernel)):
            dims = zip(offset, self.out, self.stride, self.dilation)
            yield offset, (Ellipsis,) + tuple(slice(i * d, i * d + (o - 1) * s + 1, s) for i, o, s, d in dims)

    def output_shape(self, shape):
        return tuple(shape[: -len(self.size)]) + self.out


def output_size(size, kernel, stride, padding, dilation, ceil_mode):
    """PyTorch's pooling_output_shape: floor (or ceil) of the window count, and with ceil_mode no
    window that starts past the input's last element."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def pad(xp, x, geometry, fill):
    """x (*, *size) inside a (*, *extent) array of ``fill``; a view of x when nothing is padded."""
    n = len(geometry.size)
    kept = (Ellipsis,) + tuple(slice(0, k) for k in geometry.kept)
    if not geometry.padded:
        return x[kept]
    padded = xp.full(x.shape[:-n] + geometry.extent, fill, dtype=x.dtype)
    padded[(Ellipsis,) + tuple(slice(p, p + k) for p, k in zip(geometry.padding, geometry.kept))] = x[kept]
    return padded


def unpad(xp, grad_padded, shape, geometry):
    """The gradient of ``pad``: the interior of grad_padded (*, *extent) as (*, *size); cropped
    positions (a floor that drops a remainder) get zero."""
    n = len(geometry.size)
    if geometry.extent == geometry.size and not any(geometry.padding):
        return grad_padded
    interior = grad_padded[(Ellipsis,) + tuple(slice(p, p + k) for p, k in zip(geometry.padding, geometry.kept))]
    if geometry.kept == geometry.size:
        return interior
    grad = xp.zeros(tuple(shape[:-n]) + geometry.size, dtype=grad_padded.dtype)
    grad[(Ellipsis,) + tuple(slice(0, k) for k in geometry.kept)] = interior
    return grad


# --------------------------------------------------------------------------------------- max


def max_forward(xp, x, geometry):
    """y (*, *out): the max of every window of x (*, *size), padding counting as -inf.

    A window's max is taken one dim at a time: the max over its rows of each row's max. The
    leading dims go first, because their slices are whole contiguous rows; a kH×kW window then
    costs (kH - 1) + (kW - 1) elementwise maximums instead of kH·kW - 1."""
    y = pad(xp, x, geometry, -math.inf)
    for dim in range(len(geometry.size)):
        y = _max_along(xp, y, geometry, dim)
    return y.copy() if xp.may_share_memory(y, x) else y  # a 1-wide kernel is a view of x


def _max_along(xp, a, geometry, dim):
    """The max over the kernel offsets of spatial dim ``dim`` alone: that dim shrinks to out[dim]."""
    axis = a.ndim - len(geometry.size) + dim
    k, s, d, o = geometry.kernel[dim], geometry.stride[dim], geometry.dilation[dim], geometry.out[dim]

    def offset_slice(i):  # the offset's value in every window, along this dim
        index = [slice(None)] * a.ndim
        index[axis] = slice(i * d, i * d + (o - 1) * s + 1, s)
        return a[tuple(index)]

    if k == 1:
        return offset_slice(0)
    y = xp.maximum(offset_slice(0), offset_slice(1))  # propagates NaN, as PyTorch's max does
    for i in range(2, k):
        xp.maximum(y, offset_slice(i), out=y)
    return y


def max_hits(xp, padded, y, geometry):
    """Per kernel offset: its slice of the padded input and a bool mask (*, *out) of the windows
    whose max PyTorch takes from that offset (the first max; in a window with NaN, the last NaN).

    Each window's max goes to the first offset that holds it; ``unclaimed`` marks the windows whose
    max no offset has taken yet (None: all of them). Without NaN every window holds its max, so the
    last offset takes what is left without a comparison."""
    nan = y != y
    any_nan = bool(nan.any())
    windows = [window for _, window in geometry.offsets()]
    unclaimed = ~nan if any_nan else None
    hits = []
    for window in windows[:-1]:
        hit = padded[window] == y
        if unclaimed is None:
            unclaimed = ~hit
        else:
            hit &= unclaimed
            unclaimed ^= hit  # hit ⊆ unclaimed: xor takes the windows just claimed out
        hits.append((window, hit))
    if any_nan or unclaimed is None:  # a window of NaN may hold no max; a one-element window has one offset
        hit = padded[windows[-1]] == y
        if unclaimed is not None:
            hit &= unclaimed
    else:
        hit = unclaimed
    hits.append((windows[-1], hit))
    if any_nan:
        for window, hit in reversed(hits):
            values = padded[window]
            nan_hit = (values != values) & nan
            hit |= nan_hit
            nan &= ~nan_hit
    return hits


def max_input_grad(xp, x, y, grad, geometry):
    """∂L/∂x (*, *size): each window's gradient grad (*, *out) at the element its max came from."""
    padded = pad(xp, x, geometry, -math.inf)
    grad_padded = (xp.empty if geometry.tiles else xp.zeros)(padded.shape, dtype=grad.dtype)
    for window, hit in max_hits(xp, padded, y, geometry):
        if geometry.tiles:
            xp.multiply(grad, hit, out=grad_padded[window])
        else:
            grad_padded[window] += grad * hit
    return unpad(xp, grad_padded, x.shape, geometry)


def max_output_grad(xp, x, y, grad_x, geometry):
    """The adjoint of ``max_input_grad``: each window's entry of grad_x (*, *size) at its max, (*, *out)."""
    padded_grad = pad(xp, grad_x, geometry, 0)
    out = xp.zeros(y.shape, dtype=grad_x.dtype)
    for window, hit in max_hits(xp, pad(xp, x, geometry, -math.inf), y, geometry):
        out += padded_grad[window] * hit
    return out


def max_indices(xp, x, y, geometry):
    """PyTorch's return_indices: per window, the flat index (int64) into x's spatial plane of its max."""
    padded = pad(xp, x, geometry, -math.inf)
    offsets = [offset for offset, _ in geometry.offsets()]
    indices = xp.zeros(y.shape, dtype="int64")
    for offset, (_, hit) in zip(offsets, max_hits(xp, padded, y, geometry)):
        flat = 0
        for dim, (i, o, s, d, p, size) in enumerate(
            zip(offset, geometry.out, geometry.stride, geometry.dilation, geometry.padding, geometry.size)
        ):
            position = xp.arange(o, dtype="int64") * s + (i * d - p)  # input coordinate along this dim
            flat = flat * size + position.reshape((o,) + (1,) * (len(geometry.out) - dim - 1))
        indices += hit * flat
    return indices


# --------------------------------------------------------------------------------------- average


def avg_divisor(xp, geometry, count_include_pad, divisor_override, dtype):
    """What PyTorch divides each window's sum by: ``divisor_override``, else the window's size clipped
    to the padded input (count_include_pad) or to the input itself. A number or an array (*out)."""
    if divisor_override:
        return divisor_override
    counts = []
    for o, k, s, p, size in zip(geometry.out, geometry.kernel, geometry.stride, geometry.padding, geometry.size):
        start = xp.arange(o) * s - p
        end = xp.minimum(start + k, size + p)
        if not count_include_pad:
            start, end = xp.maximum(start, 0), xp.minimum(end, size)
        counts.append(xp.maximum(end - start, 1))  # an all-padding window sums to 0 either way
    if all(bool((c == k).all()) for c, k in zip(counts, geometry.kernel)):
        return geometry.window_size()
    divisor = counts[0]
    for c in counts[1:]:
        divisor = divisor[..., None] * c
    return divisor.astype(dtype)


def avg_forward(xp, x, geometry, divisor):
    """y (*, *out): each window's sum over x (*, *size), zero-padded, divided by ``divisor``."""
    padded = pad(xp, x, geometry, 0)
    y = None
    for _, window in geometry.offsets():
        if y is None:
            y = padded[window].copy()
        else:
            y += padded[window]
    y /= divisor
    return y


def avg_input_grad(xp, grad, shape, geometry, divisor):
    """∂L/∂x (shape) of ``avg_forward``: grad (*, *out) / divisor added onto every offset's slice."""
    n = len(geometry.size)
    share = grad / divisor
    grad_padded = (xp.empty if geometry.tiles else xp.zeros)(tuple(shape[:-n]) + geometry.extent, dtype=grad.dtype)
    for _, window in geometry.offsets():
        if geometry.tiles:
            grad_padded[window] = share
        else:
            grad_padded[window] += share
    return unpad(xp, grad_padded, shape, geometry)
