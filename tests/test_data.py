"""chainrule.data: datasets, random_split, default_collate and DataLoader, with PyTorch's semantics
(torch.utils.data): batch shapes and dtypes, drop_last, reproducible shuffling that changes every
epoch, and a batched fast path that gives exactly what collating sample by sample gives."""

import collections

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import ConcatDataset, DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split
from chainrule.errors import ShapeError


def numbered(n=10, features=3):
    """x[i] = [i, i + 0.5, ...] (float32) and y[i] = i (int64): every value says which sample it is."""
    x = np.arange(n, dtype=np.float32)[:, None] + np.arange(features, dtype=np.float32) / 2
    return TensorDataset(x, np.arange(n, dtype=np.int64))


def labels_of(loader):
    return [y.tolist() for _, y in loader]


# ---------------------------------------------------------------- datasets
def test_dataset_without_getitem_or_len_names_the_subclass():
    class Empty(Dataset):
        pass

    with pytest.raises(NotImplementedError, match="Empty must define __getitem__"):
        Empty()[0]
    with pytest.raises(NotImplementedError, match="Empty must define __len__"):
        len(Empty())


def test_tensor_dataset_rows_and_length():
    ds = numbered(5)
    x, y = ds[3]
    assert len(ds) == 5
    assert x.shape == (3,) and x.tolist() == [3.0, 3.5, 4.0]
    assert y.shape == () and y.item() == 3 and y.dtype == cr.int64


def test_tensor_dataset_accepts_tensors_and_keeps_dtypes():
    ds = TensorDataset(cr.zeros(4, 2, dtype=cr.float64), cr.tensor([1, 2, 3, 4]))
    assert ds[0][0].dtype == cr.float64 and ds[0][1].dtype == cr.int64


def test_tensor_dataset_unequal_lengths_names_each_length():
    with pytest.raises(ShapeError) as info:
        TensorDataset(cr.zeros(4, 2), cr.zeros(3), cr.zeros(4))
    message = str(info.value)
    assert "tensor 0: 4" in message and "tensor 1: 3" in message and "tensor 2: 4" in message


def test_tensor_dataset_rejects_scalars_and_nothing():
    with pytest.raises(ShapeError, match="tensor 1 is a scalar"):
        TensorDataset(cr.zeros(2), cr.tensor(1.0))
    with pytest.raises(ValueError, match="at least one tensor"):
        TensorDataset()


def test_subset_maps_indices_in_order():
    sub = Subset(numbered(10), [7, 2, 5])
    assert len(sub) == 3
    assert [sub[i][1].item() for i in range(3)] == [7, 2, 5]
    assert sub[-1][1].item() == 5


def test_concat_dataset_crosses_boundaries_and_checks_range():
    a, b = numbered(3), TensorDataset(np.full((4, 3), -1, np.float32), np.arange(100, 104))
    both = a + b
    assert isinstance(both, ConcatDataset) and len(both) == 7
    assert [both[i][1].item() for i in range(7)] == [0, 1, 2, 100, 101, 102, 103]
    assert both[-1][1].item() == 103 and both[-7][1].item() == 0
    with pytest.raises(IndexError, match="index 7 is out of range for 7"):
        both[7]


# ---------------------------------------------------------------- random_split
def test_random_split_sizes_are_disjoint_and_cover_everything():
    parts = random_split(numbered(10), [6, 3, 1], generator=cr.Generator(1))
    assert [len(p) for p in parts] == [6, 3, 1]
    indices = [i for p in parts for i in p.indices]
    assert sorted(indices) == list(range(10))
    assert [p[0][1].item() for p in parts] == [p.indices[0] for p in parts]


def test_random_split_fractions_follow_pytorch_rounding():
    # PyTorch: floor(n * f) each, then the remainder one by one from the first split on.
    assert [len(p) for p in random_split(numbered(10), [0.7, 0.2, 0.1])] == [7, 2, 1]
    assert [len(p) for p in random_split(numbered(5), [0.5, 0.5])] == [3, 2]
    assert [len(p) for p in random_split(numbered(11), [0.34, 0.33, 0.33])] == [4, 4, 3]


def test_random_split_is_reproducible_per_generator_and_differs_across_seeds():
    def split(seed):
        return [p.indices for p in random_split(numbered(20), [10, 10], generator=cr.Generator(seed))]

    assert split(0) == split(0)
    assert split(0) != split(1)
    cr.manual_seed(3)
    first = [p.indices for p in random_split(numbered(20), [10, 10])]
    cr.manual_seed(3)
    assert [p.indices for p in random_split(numbered(20), [10, 10])] == first


def test_random_split_bad_lengths_say_what_is_wrong():
    with pytest.raises(ValueError, match="sum to 9, but the dataset has 10"):
        random_split(numbered(10), [5, 4])
    with pytest.raises(ValueError, match="non-negative integers or fractions"):
        random_split(numbered(10), [0.5, 0.3])


# ---------------------------------------------------------------- default_collate
def test_default_collate_dtypes_follow_the_sample_types():
    samples = [(np.full(2, i, np.float32), np.full(2, i, np.float64), i, i / 2, i % 2 == 0) for i in range(3)]
    f32, f64, ints, floats, bools = default_collate(samples)
    assert (f32.shape, f32.dtype) == ((3, 2), cr.float32)
    assert (f64.shape, f64.dtype) == ((3, 2), cr.float64)
    assert ints.dtype == cr.int64 and ints.tolist() == [0, 1, 2]
    assert floats.dtype == cr.float32 and floats.tolist() == [0.0, 0.5, 1.0]  # PyTorch: float64
    assert bools.dtype == cr.bool and bools.tolist() == [True, False, True]


def test_default_collate_structures():
    Pair = collections.namedtuple("Pair", "image label")
    batch = default_collate([Pair(cr.zeros(2), 1), Pair(cr.ones(2), 2)])
    assert isinstance(batch, Pair) and batch.image.shape == (2, 2) and batch.label.tolist() == [1, 2]
    as_dict = default_collate([{"x": np.zeros(3, np.float32), "name": "a"}, {"x": np.ones(3, np.float32), "name": "b"}])
    assert as_dict["x"].shape == (2, 3) and as_dict["name"] == ["a", "b"]
    as_tuple = default_collate([(cr.zeros(1), 0)])
    assert isinstance(as_tuple, tuple)
    assert isinstance(default_collate([[cr.zeros(1), 0]]), list)


def test_default_collate_shape_mismatch_names_both_shapes_and_the_sample():
    with pytest.raises(ShapeError, match=r"field 0 .*\(3,\) at sample 0 and \(4,\) at sample 2"):
        default_collate([(cr.zeros(3), 0), (cr.zeros(3), 1), (cr.zeros(4), 2)])


def test_default_collate_unknown_type_says_what_it_accepts():
    with pytest.raises(TypeError, match="cannot batch samples of type object.*collate_fn"):
        default_collate([object(), object()])


def test_default_collate_keeps_the_graph_of_tensors_that_require_grad():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    batch = default_collate([w * 2, w * 3])  # (2, 2)
    batch.sum().backward()
    assert w.grad.tolist() == [5.0, 5.0]


# ---------------------------------------------------------------- DataLoader
def test_loader_batches_shapes_dtypes_and_len():
    loader = DataLoader(numbered(10), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and len(batches) == 3
    assert [x.shape for x, _ in batches] == [(4, 3), (4, 3), (2, 3)]
    assert all(x.dtype == cr.float32 and y.dtype == cr.int64 for x, y in batches)
    assert isinstance(batches[0], tuple)
    assert labels_of(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert batches[1][0].tolist()[0] == [4.0, 4.5, 5.0]


def test_loader_drop_last_drops_the_short_batch():
    loader = DataLoader(numbered(10), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert labels_of(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(DataLoader(numbered(8), batch_size=4, drop_last=True)) == 2


def test_loader_shuffle_visits_every_sample_once_per_epoch():
    loader = DataLoader(numbered(10), batch_size=3, shuffle=True, seed=0)
    for _ in range(3):
        seen = [i for batch in labels_of(loader) for i in batch]
        assert sorted(seen) == list(range(10)) and seen != list(range(10))


def test_loader_shuffle_is_reproducible_per_seed_and_new_each_epoch():
    def epochs(**kwargs):
        loader = DataLoader(numbered(20), batch_size=5, shuffle=True, **kwargs)
        return [labels_of(loader) for _ in range(3)]

    same_seed = epochs(seed=7)
    assert same_seed == epochs(seed=7)
    assert same_seed[0] != same_seed[1] != same_seed[2]
    assert epochs(seed=8) != same_seed
    assert epochs(generator=cr.Generator(7)) == same_seed  # seed=7 is a private cr.Generator(7)


def test_loader_shuffle_without_seed_follows_manual_seed():
    cr.manual_seed(11)
    first = labels_of(DataLoader(numbered(20), batch_size=5, shuffle=True))
    cr.manual_seed(11)
    assert labels_of(DataLoader(numbered(20), batch_size=5, shuffle=True)) == first


def test_loader_fast_path_equals_sample_by_sample_collation():
    ds = numbered(23, features=4)
    fast = DataLoader(ds, batch_size=5, shuffle=True, seed=3)
    slow = DataLoader(ds, batch_size=5, shuffle=True, seed=3, collate_fn=default_collate)
    for (xf, yf), (xs, ys) in zip(fast, slow, strict=True):
        assert xf.shape == xs.shape and xf.dtype == xs.dtype and yf.dtype == ys.dtype
        np.testing.assert_array_equal(xf.numpy(), xs.numpy())
        np.testing.assert_array_equal(yf.numpy(), ys.numpy())


def test_loader_fast_path_equals_slow_path_for_subsets_of_subsets():
    ds = Subset(Subset(numbered(30), list(range(29, -1, -2))), [0, 3, 4, 7, 9, 14, 2])
    fast = [tuple(t.numpy() for t in batch) for batch in DataLoader(ds, batch_size=3, shuffle=True, seed=1)]
    slow = DataLoader(ds, batch_size=3, shuffle=True, seed=1, collate_fn=default_collate)
    for (xf, yf), (xs, ys) in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(xf, xs.numpy())
        np.testing.assert_array_equal(yf, ys.numpy())
    assert [i for _, y in fast for i in y.tolist()] != ds.indices  # shuffled, yet the same samples
    assert sorted(i for _, y in fast for i in y.tolist()) == sorted(29 - 2 * i for i in ds.indices)


def test_loader_fast_path_is_taken_for_tensor_datasets(monkeypatch):
    def no_single_items(self, index):
        raise AssertionError("the fast path must not fetch samples one by one")

    monkeypatch.setattr(TensorDataset, "__getitem__", no_single_items)
    batches = list(DataLoader(Subset(numbered(10), range(10)), batch_size=4, shuffle=True, seed=0))
    assert [len(y) for _, y in batches] == [4, 4, 2]


def test_loader_fast_path_batches_do_not_alias_the_dataset():
    ds = numbered(4)
    x, _ = next(iter(DataLoader(ds, batch_size=4)))
    x.zero_()
    assert ds.tensors[0].tolist()[1] == [1.0, 1.5, 2.0]


def test_loader_with_tensors_that_require_grad_keeps_the_graph():
    weights = cr.ones(4, 2, requires_grad=True)
    x, _ = next(iter(DataLoader(TensorDataset(weights, cr.arange(4)), batch_size=2)))
    x.sum().backward()
    assert weights.grad.tolist() == [[1.0, 1.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0]]


def test_loader_over_a_plain_dataset_and_batch_size_none():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.array([i], np.float32), i * i

    x, y = next(iter(DataLoader(Squares(), batch_size=5)))
    assert x.shape == (5, 1) and y.tolist() == [0, 1, 4, 9, 16]
    singles = list(DataLoader(Squares(), batch_size=None))
    assert len(singles) == 5 and singles[2][1] == 4


def test_loader_sampler_gives_the_order():
    loader = DataLoader(numbered(10), batch_size=2, sampler=[9, 0, 4])
    assert labels_of(loader) == [[9, 0], [4]] and len(loader) == 2


def test_loader_argument_errors():
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        DataLoader(numbered(), batch_size=0)
    with pytest.raises(ValueError, match="either generator= or seed="):
        DataLoader(numbered(), shuffle=True, seed=0, generator=cr.Generator(0))
    with pytest.raises(TypeError, match="must be a cr.Generator"):
        DataLoader(numbered(), shuffle=True, generator=np.random.default_rng(0))
    with pytest.raises(ValueError, match="sampler and shuffle"):
        DataLoader(numbered(), shuffle=True, sampler=[0])


def test_loader_batch_sampler_gives_the_batches():
    loader = DataLoader(numbered(10), batch_sampler=[[3, 1], [0, 9, 8]])
    assert labels_of(loader) == [[3, 1], [0, 9, 8]] and len(loader) == 2
    with pytest.raises(ValueError, match="batch_sampler gives the batches"):
        DataLoader(numbered(10), batch_size=4, batch_sampler=[[0]])


def test_loader_accepts_pytorch_worker_arguments_in_pytorch_positions():
    # DataLoader(dataset, batch_size, shuffle, sampler, batch_sampler, num_workers, collate_fn,
    #            pin_memory, drop_last, timeout, worker_init_fn, multiprocessing_context, generator)
    loader = DataLoader(numbered(10), 4, True, None, None, 2, None, True, True, 0, None, None, cr.Generator(5))
    assert len(loader) == 2 and labels_of(loader) == labels_of(
        DataLoader(numbered(10), 4, True, drop_last=True, seed=5)
    )


def test_default_collate_mixed_kinds_in_a_field_name_the_field():
    with pytest.raises(TypeError, match="field 1: the first sample is an array or Tensor.*got int"):
        default_collate([(0, np.zeros(2)), (1, 5)])
