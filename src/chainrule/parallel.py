"""The batch of a heavy CPU kernel split over threads, one slice of samples per thread.

NumPy runs every call on one core; only its BLAS uses more, and only for large matrix products.
A convolution's batched GEMMs are many small matrix products, so on their own they would leave
every other core idle. The kernels describe their work per slice of samples instead,
``work(start, stop)``, and ``map_slices`` runs the slices on a pool of threads: NumPy releases the
GIL inside its loops and BLAS calls, so the slices run at the same time. It pays only for large
calls: handing a slice to a thread costs about 0.1 ms, and NumPy holds the GIL while it sets up
each call, so kernels of many small calls (a recurrent layer's steps) gain nothing, and copies
and elementwise passes are limited by memory bandwidth more than by cores. Hence the work
estimate below. On a GPU (CuPy) the whole batch is one call: the device is already parallel.

The number of threads is PyTorch's setting: ``cr.set_num_threads(n)`` and ``cr.get_num_threads()``.
It starts as ``$OMP_NUM_THREADS`` when that is set, otherwise the number of cores this process may
run on; ``set_num_threads`` also sets the thread count of NumPy's BLAS (through threadpoolctl), as
PyTorch's sets its BLAS's, which otherwise keeps what it read at start-up (``OPENBLAS_NUM_THREADS``).
BLAS threads the large matrix products chainrule makes outside slices; while slices run, BLAS is
held at one thread, so that each slice's products run in its own thread alone and two slices never
start four BLAS threads on two cores. Small products (``matmul`` below) are held at one thread too:
waking an idle BLAS thread costs more than it saves on them, and once woken it spins on a core
that chainrule's own slices then have to share.
"""

import contextlib
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

from .backend import numpy_namespace

# A slice is worth a thread when its work (in multiply-adds; a copied or compared element counts
# as one) takes well over what the split costs: ~0.1 ms to hand a slice to another thread and
# back, and a wait for the GIL at each of the slice's NumPy calls while the other slice holds it.
# Measured in whole training steps (LeNet's convolutions, whose inputs come from memory rather
# than from the cache), slices below 2^25 ran slower on two threads than the batch on one.
MIN_WORK_PER_SLICE = 1 << 25

# A matrix product is worth BLAS's other threads from this many multiply-adds on. OpenBLAS's own
# threshold is 2^18 (below it, it stays on one thread by itself), which on a 2-core machine made a
# (128 x 784)·(784 x 10) product 4x slower; products in between are held at one thread.
MIN_WORK_FOR_BLAS_THREADS = 1 << 22
BLAS_SERIAL_BELOW = 1 << 18

_lock = threading.Lock()
_threads = None
_pool = None
_inside = threading.local()  # set while a thread runs a slice: a slice's own map_slices runs serially


def get_num_threads():
    """The number of threads chainrule's CPU kernels split their work over.

    Example::

        >>> cr.get_num_threads()   # on a 2-core machine with no OMP_NUM_THREADS set
        2
    """
    global _threads
    if _threads is None:
        _threads = _default_threads()
    return _threads


def set_num_threads(threads):
    """Use ``threads`` (>= 1) threads in chainrule's CPU kernels and in NumPy's BLAS from now on
    (PyTorch's ``torch.set_num_threads``). ``cr.set_num_threads(1)`` runs everything in the
    calling thread.
    """
    global _threads, _pool
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"set_num_threads expects an integer >= 1, got {threads!r}")
    with _lock:
        _threads = threads
        old, _pool = _pool, None
    if old is not None:
        old.shutdown(wait=True)
    for library in _blas(rescan=True):  # a BLAS loaded since the last call (SciPy's, say) is set too
        library.set_num_threads(threads)


def _default_threads():
    configured = os.environ.get("OMP_NUM_THREADS", "").strip()
    if configured.isdigit() and int(configured) >= 1:
        return int(configured)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows have no affinity masks
        return max(1, os.cpu_count() or 1)


def _worker_pool(workers):
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chainrule")
        return _pool


def slice_bounds(count, parts):
    """``parts`` (start, stop) pairs that cover range(count) in slices whose sizes differ by at most 1."""
    parts = max(1, min(parts, count))
    size, extra = divmod(count, parts)
    bounds, start = [], 0
    for part in range(parts):
        stop = start + size + (part < extra)
        bounds.append((start, stop))
        start = stop
    return bounds


def map_slices(xp, count, work, work_per_item=1):
    """[work(start, stop) for each slice of range(count)], the slices run in parallel on the CPU.

    ``work_per_item`` (one sample's work in multiply-adds, a copied element counting as one) sets
    how many slices are worth a thread each: none with less than ``MIN_WORK_PER_SLICE``. The
    results come back in the order of the slices; an exception in any slice is raised here.
    ``work`` must only write memory that belongs to its own slice.

    Example::

        >>> y = xp.empty((n, o, p))                          # y[i] = w · col[i], per slice of samples
        >>> map_slices(xp, n, lambda a, b: xp.matmul(w, col[a:b], out=y[a:b]), work_per_item=o * k * p)
    """
    return run_slices(plan_slices(xp, count, work_per_item), work)


def plan_slices(xp, count, work_per_item=1):
    """The (start, stop) slices ``map_slices`` would run: one per thread, none with less work than
    ``MIN_WORK_PER_SLICE``, and a single slice on a GPU or inside another slice."""
    serial = xp is not numpy_namespace or getattr(_inside, "active", False)
    threads = 1 if serial else get_num_threads()
    worthwhile = max(1, count * work_per_item // MIN_WORK_PER_SLICE)
    return slice_bounds(count, min(threads, worthwhile))


def run_slices(bounds, work):
    """[work(start, stop) for (start, stop) in bounds], on chainrule's threads when there are several."""
    if len(bounds) == 1:
        return [work(*bounds[0])]
    pool = _worker_pool(get_num_threads() - 1)
    with _blas_in_one_thread():
        futures = [pool.submit(_run_slice, work, start, stop) for start, stop in bounds[1:]]
        try:
            first = _run_slice(work, *bounds[0])  # the calling thread takes the first slice
        finally:
            wait(futures)  # no slice outlives the call, even when one of them failed
    return [first] + [future.result() for future in futures]


def matmul(xp, a, b):
    """``xp.matmul(a, b)``, on one BLAS thread when the product has fewer than
    ``MIN_WORK_FOR_BLAS_THREADS`` multiply-adds (below ``BLAS_SERIAL_BELOW`` BLAS keeps to one
    thread by itself, and the call goes straight through).

    Example::

        >>> y = matmul(xp, x, w.T)     # x (128, 784), w (10, 784) -> y (128, 10): 1M multiply-adds, one thread
    """
    if xp is numpy_namespace and get_num_threads() > 1:
        if BLAS_SERIAL_BELOW <= _multiply_adds(a, b) < MIN_WORK_FOR_BLAS_THREADS:
            with _blas_in_one_thread():
                return xp.matmul(a, b)
    return xp.matmul(a, b)


def _multiply_adds(a, b):
    """m·k·n per matrix of a (*, m, k) @ b (*, k, n), times the broadcast batch (1-D operands: one row or column)."""
    k = a.shape[-1] if a.ndim else 1
    m = a.shape[-2] if a.ndim > 1 else 1
    n = b.shape[-1] if b.ndim > 1 else 1
    batch = math.prod(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
    return batch * m * k * n


_blas_libraries = None


def _blas(rescan=False):
    """threadpoolctl's controllers of the BLAS libraries loaded (NumPy's OpenBLAS, MKL, ...), found
    on the first call and again when ``rescan`` is set."""
    global _blas_libraries
    if _blas_libraries is None or rescan:
        from threadpoolctl import ThreadpoolController

        _blas_libraries = ThreadpoolController().select(user_api="blas").lib_controllers
    return _blas_libraries


@contextlib.contextmanager
def _blas_in_one_thread():
    """Within the block, every loaded BLAS uses one thread per call."""
    libraries = _blas()
    before = [library.get_num_threads() for library in libraries]
    for library, threads in zip(libraries, before):
        if threads != 1:
            library.set_num_threads(1)
    try:
        yield
    finally:
        for library, threads in zip(libraries, before):
            if threads != 1:
                library.set_num_threads(threads)


def _run_slice(work, start, stop):
    _inside.active = True
    try:
        return work(start, stop)
    finally:
        _inside.active = False
