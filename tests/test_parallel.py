"""The thread slicing of CPU kernels (chainrule.parallel) and cr.set_num_threads / get_num_threads."""

import threading
import types

import numpy as np
import pytest

import chainrule as cr
from chainrule import parallel
from chainrule.backend import numpy_namespace


@pytest.fixture
def three_threads(monkeypatch):
    threads = cr.get_num_threads()
    cr.set_num_threads(3)
    monkeypatch.setattr(parallel, "MIN_WORK_PER_SLICE", 1)
    yield
    cr.set_num_threads(threads)


@pytest.mark.parametrize("count, parts", [(7, 3), (128, 2), (2, 5), (1, 4), (0, 3), (10, 1)])
def test_slices_cover_the_range_once_with_sizes_within_one(count, parts):
    bounds = parallel.slice_bounds(count, parts)
    assert bounds[0][0] == 0 and bounds[-1][1] == count
    assert all(stop == start for (_, stop), (start, _) in zip(bounds, bounds[1:]))
    sizes = [stop - start for start, stop in bounds]
    assert max(sizes) - min(sizes) <= 1
    assert len(bounds) == max(1, min(parts, count))


def test_results_come_back_in_slice_order_and_run_on_several_threads(three_threads):
    seen = set()

    def work(start, stop):
        seen.add(threading.get_ident())
        return list(range(start, stop))

    results = parallel.map_slices(numpy_namespace, 10, work)
    assert [item for part in results for item in part] == list(range(10))
    assert len(results) == 3 and len(seen) >= 2


def test_small_work_stays_in_the_calling_thread():
    threads = cr.get_num_threads()
    cr.set_num_threads(4)
    try:
        caller = threading.get_ident()
        seen = []
        parallel.map_slices(numpy_namespace, 64, lambda a, b: seen.append(threading.get_ident()), work_per_item=1)
        assert seen == [caller]  # work 64 is far below MIN_WORK_PER_SLICE
    finally:
        cr.set_num_threads(threads)


def test_an_exception_in_any_slice_is_raised_after_every_slice_finished(three_threads):
    finished = []

    def work(start, stop):
        if start > 0:
            raise ValueError(f"slice {start}:{stop} failed")
        finished.append(start)

    with pytest.raises(ValueError, match="failed"):
        parallel.map_slices(numpy_namespace, 9, work)
    assert finished == [0]


def test_a_slice_that_splits_again_runs_its_inner_slices_serially(three_threads):
    inner_threads = []

    def inner(start, stop):
        inner_threads.append(threading.get_ident())

    def outer(start, stop):
        before = len(inner_threads)
        parallel.map_slices(numpy_namespace, 6, inner)
        return set(inner_threads[before:]) == {threading.get_ident()}

    assert all(parallel.map_slices(numpy_namespace, 6, outer))  # and no deadlock on the pool


def test_other_namespaces_are_never_split(three_threads):
    gpu_like = types.SimpleNamespace()
    assert parallel.plan_slices(gpu_like, 1000, 1000) == [(0, 1000)]
    assert len(parallel.plan_slices(numpy_namespace, 1000, 1000)) == 3


def test_set_num_threads_checks_its_argument():
    for bad in (0, -1, 2.0, True, "2"):
        with pytest.raises(ValueError, match="integer >= 1"):
            cr.set_num_threads(bad)


def test_the_default_follows_omp_num_threads(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert parallel._default_threads() == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "")
    assert parallel._default_threads() >= 1


def test_a_sliced_convolution_step_equals_the_one_thread_step(three_threads):
    """Slices of one sample each give the same output and gradients as one whole-batch call."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3, 9, 9))
    weight = rng.standard_normal((4, 3, 3, 3))

    def step():
        xs, w = cr.tensor(x, requires_grad=True), cr.tensor(weight, requires_grad=True)
        y = cr.nn.functional.max_pool2d(cr.nn.functional.conv2d(xs, w, padding=1), 2)
        (y * y).sum().backward()
        return y.detach().numpy(), xs.grad.numpy(), w.grad.numpy()

    sliced = step()
    cr.set_num_threads(1)
    for got, want in zip(sliced, step()):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_set_num_threads_sets_numpys_blas_too_and_slices_hold_it_at_one(three_threads):
    from threadpoolctl import ThreadpoolController

    def blas_threads():
        return [library["num_threads"] for library in ThreadpoolController().select(user_api="blas").info()]

    assert blas_threads() and set(blas_threads()) == {3}  # the fixture's cr.set_num_threads(3)
    inside = parallel.map_slices(numpy_namespace, 6, lambda a, b: blas_threads())
    assert all(set(threads) == {1} for threads in inside)
    assert set(blas_threads()) == {3}


def test_small_matrix_products_run_on_one_blas_thread_and_large_ones_on_all(three_threads, monkeypatch):
    from threadpoolctl import ThreadpoolController

    seen = []

    def spy(a, b):
        seen.append({library["num_threads"] for library in ThreadpoolController().select(user_api="blas").info()})
        return np.matmul(a, b)

    monkeypatch.setattr(numpy_namespace, "matmul", spy)
    small = np.ones((128, 784)), np.ones((784, 10))  # 1M multiply-adds
    large = np.ones((256, 256)), np.ones((256, 256))  # 16M multiply-adds
    np.testing.assert_array_equal(parallel.matmul(numpy_namespace, *small), np.full((128, 10), 784.0))
    parallel.matmul(numpy_namespace, *large)
    assert seen == [{1}, {3}]


@pytest.mark.parametrize(
    "a, b, multiply_adds",
    [
        ((128, 784), (784, 10), 128 * 784 * 10),
        ((5, 3, 4), (4, 2), 5 * 3 * 4 * 2),
        ((2, 1, 3, 4), (6, 4, 5), 12 * 3 * 4 * 5),  # the batch dims broadcast to (2, 6)
        ((4,), (4, 2), 8),
        ((3, 4), (4,), 12),
        ((4,), (4,), 4),
    ],
)
def test_multiply_adds_of_a_product_count_every_dot_product_of_the_broadcast_result(a, b, multiply_adds):
    assert parallel._multiply_adds(np.empty(a), np.empty(b)) == multiply_adds
