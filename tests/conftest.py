"""Fixtures shared by several test files."""

import pytest

import chainrule as cr
from chainrule import parallel
from chainrule.ops import conv_im2col


@pytest.fixture(params=["one thread", "sliced over 3 threads"])
def kernel_threads(request, monkeypatch):
    """Runs a test twice: with the CPU kernels in the calling thread, and with every batch split
    into slices over 3 threads and, within a slice, convolutions in cache blocks of one sample
    (however small the arrays), so that results computed slice by slice and block by block are
    checked against the same references."""
    threads = cr.get_num_threads()
    if request.param == "one thread":
        cr.set_num_threads(1)
    else:
        cr.set_num_threads(3)
        monkeypatch.setattr(parallel, "MIN_WORK_PER_SLICE", 1)
        monkeypatch.setattr(conv_im2col, "CACHE_BYTES", 1)
    yield request.param
    cr.set_num_threads(threads)
