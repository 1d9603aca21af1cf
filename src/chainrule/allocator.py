"""Keep freed array memory in the process for the next training step (glibc's malloc on Linux).

A training step allocates the same large arrays every time: activations, im2col columns,
gradients, megabytes each. With glibc's default settings, arrays of more than 128 KiB (then up
to 32 MiB, as its threshold adapts) are mapped fresh from the kernel and unmapped when freed, and
freed memory at the top of the heap is returned to the kernel once it passes a trim threshold. Every
step then page-faults its arrays in again: thousands of faults per step, which cost more time than
the arithmetic in small convolutional networks.

``keep_freed_memory()`` raises both thresholds with ``mallopt``, so that NumPy's arrays come from
the heap and freed memory stays there for the next step. chainrule calls it once on import; the
environment variable ``CHAINRULE_KEEP_FREED_MEMORY=0`` turns that off. The price is that the
process keeps its peak memory until it exits, as PyTorch's and CuPy's caching allocators do. On
other C libraries (macOS, Windows, musl) nothing changes.
"""

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD_BYTES = 1 << 30  # blocks below 1 GiB come from the heap...
TRIM_THRESHOLD_BYTES = 2**31 - 1  # ...and up to 2 GiB of free heap top is kept (mallopt takes an int)


def keep_freed_memory():
    """Ask glibc's malloc to keep freed memory for reuse; True if it did, False where it cannot.

    Example::

        >>> from chainrule import allocator
        >>> allocator.keep_freed_memory()   # on Linux with glibc
        True
    """
    libc = _glibc()
    if libc is None:
        return False
    mallopt = libc.mallopt
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    kept = mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    mapped = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    return bool(kept and mapped)


def _glibc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "gnu_get_libc_version") else None  # glibc only: musl has no such symbol


def keep_freed_memory_on_import():
    """What chainrule does on import: keep freed memory unless CHAINRULE_KEEP_FREED_MEMORY is 0."""
    if os.environ.get("CHAINRULE_KEEP_FREED_MEMORY", "1").strip() in ("0", "false", "no", "off"):
        return False
    return keep_freed_memory()
