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
bounded amount of memory.
"""

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


def clear():
    """Drop this thread's scratch arrays (their memory goes back to the allocator)."""
    _local.arrays = {}
