"""Scratch arrays that the convolution kernels reuse from one call to the next.

Why: a training step allocates the same large temporaries (the zero-padded input, the widened
output gradient, the column gradient before col2im) on every call. Fresh multi-megabyte NumPy
arrays come from new pages that the OS must fault in and zero, which cost as much as the copies
themselves; reusing one array per (role, shape, dtype) removes that cost. Only arrays that never
leave a kernel live here: outputs, and arrays saved for backward, are always fresh.

A scratch array keeps what was written into it. The kernels rely on that: the borders of a padded
input and the garbage columns of a widened gradient are zeroed once, when the array is made, and
are never written afterwards (only the interior is). Arrays are per thread, and at most
``LIMIT`` are kept (the oldest goes first), so a program that runs many geometries holds a
bounded amount of memory. A workspace is the other kind: one buffer per role, for arrays that
are overwritten before they are read, whatever their shape.
"""

import math
import threading

LIMIT = 24

_local = threading.local()


def scratch(xp, role, shape, dtype):
    """A zero-initialised array of ``shape`` for ``role``, the same one on every call with these
    arguments (in this thread), holding whatever the previous call left in it. A caller that relies
    on zeros it never writes makes ``role`` name where they are (e.g. a tuple with the padding).

    Returns (array, fresh): ``fresh`` is True when the array was just made (all zeros)."""
    arrays = getattr(_local, "arrays", None)
    if arrays is None:
        arrays = _local.arrays = {}
    device = xp.cuda.runtime.getDevice() if hasattr(xp, "cuda") else None  # CuPy: one set per GPU
    key = (role, tuple(shape), dtype, id(xp), device)
    array = arrays.get(key)
    if array is not None:
        return array, False
    if len(arrays) >= LIMIT:
        del arrays[next(iter(arrays))]  # dicts keep insertion order: the oldest first
    array = arrays[key] = xp.zeros(shape, dtype=dtype)
    return array, True


def workspace(xp, role, shape, dtype):
    """An array of ``shape`` for ``role`` whose contents the caller overwrites before reading (the
    columns of a cache block, say): a view of one buffer per role (in this thread) that grows to
    the largest size asked for, so that blocks and layers of every size share it."""
    buffers = getattr(_local, "workspaces", None)
    if buffers is None:
        buffers = _local.workspaces = {}
    device = xp.cuda.runtime.getDevice() if hasattr(xp, "cuda") else None
    key = (role, dtype, id(xp), device)
    size = math.prod(shape)
    buffer = buffers.get(key)
    if buffer is None or buffer.size < size:
        buffer = buffers[key] = xp.empty(size, dtype=dtype)
    return buffer[:size].reshape(shape)


def clear():
    """Drop this thread's scratch and workspace arrays (their memory goes back to the allocator)."""
    _local.arrays = {}
    _local.workspaces = {}
