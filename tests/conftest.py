"""Fixtures shared by several test files."""

import pytest

import chainrule as cr
from chainrule import parallel


@pytest.fixture(params=["one thread", "sliced over 3 threads"])
def kernel_threads(request, monkeypatch):
    """Runs a test twice: with the CPU kernels in the calling thread, and with every batch split
    into slices of one or two samples over 3 threads (however small the arrays), so that results
    computed slice by slice are checked against the same references."""
    threads = cr.get_num_threads()
    if request.param == "one thread":
        cr.set_num_threads(1)
    else:
        cr.set_num_threads(3)
        monkeypatch.setattr(parallel, "MIN_ELEMENTS_PER_SLICE", 1)
    yield request.param
    cr.set_num_threads(threads)
