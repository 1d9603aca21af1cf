"""Datasets with PyTorch's names (``torch.utils.data``): ``Dataset``, ``TensorDataset``, ``Subset``,
``ConcatDataset`` and ``random_split``.

A dataset maps an index to one sample. A dataset that can also fetch many samples in one go
defines ``get_batch(indices)``, which ``DataLoader`` uses instead of collating item by item: for a
``TensorDataset`` a batch is one fancy-indexing per stored array.
"""

import bisect
import math
import warnings

import numpy as np

from .. import backend
from ..creation import as_tensor
from ..errors import ShapeError
from ..random import default_generator
from ..tensor import Tensor


class Dataset:
    """A map from indices ``0..len(self)-1`` to samples; subclasses define ``__getitem__`` and ``__len__``.

    Example::

        >>> class Squares(Dataset):
        ...     def __len__(self):
        ...         return 4
        ...     def __getitem__(self, i):
        ...         return cr.tensor([float(i)]), cr.tensor(i * i)   # ((1,), ())
        >>> len(Squares() + Squares())
        8
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index) -> sample")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__() -> number of samples")

    def __add__(self, other):
        return ConcatDataset([self, other])


def _index_array(indices, length, owner):
    """``indices`` as an int64 NumPy array with negatives wrapped, each checked against ``length``."""
    index = np.asarray(indices, dtype=np.int64).reshape(-1)
    if index.size and (index.min() < -length or index.max() >= length):
        bad = index[(index < -length) | (index >= length)][0]
        raise IndexError(f"{owner}: index {int(bad)} is out of range for {length} samples")
    return np.where(index < 0, index + length, index)


class TensorDataset(Dataset):
    """Samples are the rows of tensors that share their first dimension: ``ds[i] == (t[i] for t in tensors)``.

    NumPy arrays and nested lists are accepted too and become tensors (without a copy where
    possible); PyTorch accepts only tensors.

    Example::

        >>> ds = TensorDataset(cr.randn(100, 3), cr.randint(0, 2, (100,)))   # x: (100, 3), y: (100,)
        >>> x, y = ds[0]                                                    # x: (3,), y: ()
        >>> len(ds)
        100
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        self.tensors = tuple(as_tensor(t) for t in tensors)
        for position, tensor in enumerate(self.tensors):
            if tensor.ndim == 0:
                raise ShapeError(
                    f"TensorDataset: tensor {position} is a scalar (shape ()); each needs a first dimension"
                )
        lengths = [tensor.shape[0] for tensor in self.tensors]
        if len(set(lengths)) > 1:
            listed = ", ".join(f"tensor {i}: {n}" for i, n in enumerate(lengths))
            raise ShapeError(f"TensorDataset: all tensors must have the same first dimension (size), got {listed}")

    def __getitem__(self, index):
        return tuple(tensor[index] for tensor in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]

    def get_batch(self, indices):
        """The samples at ``indices`` already stacked: a tuple of tensors of shape (B, ...), each
        one fancy-indexing of a stored array (no per-sample work). Outside the autograd graph."""
        index = _index_array(indices, len(self), "TensorDataset")
        batch = []
        for tensor in self.tensors:
            array = tensor._data
            if backend.device_of(array) != backend.CPU:
                index_here = backend.to_device(index, backend.device_of(array))
            else:
                index_here = index
            batch.append(Tensor._wrap(array[index_here]))
        return tuple(batch)

    @property
    def _can_batch(self):
        # A batch cut from tensors that require grad must stay in the graph: let collation do it.
        return not any(tensor.requires_grad for tensor in self.tensors)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order: ``Subset(ds, [4, 0])[1] == ds[0]``.

    Example::

        >>> head = Subset(TensorDataset(cr.arange(10)), range(3))
        >>> len(head), head[2][0].item()
        (3, 2)
    """

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self):
        return len(self.indices)

    def get_batch(self, indices):
        """The samples at ``indices`` of this subset, fetched in one go from the underlying dataset."""
        index = _index_array(indices, len(self), "Subset")
        return self.dataset.get_batch(np.asarray(self.indices, dtype=np.int64)[index])

    @property
    def _can_batch(self):
        return _can_batch(self.dataset)


def _can_batch(dataset):
    """True if ``dataset.get_batch`` gives what collating its samples one by one would give."""
    return hasattr(dataset, "get_batch") and getattr(dataset, "_can_batch", True)


class ConcatDataset(Dataset):
    """The samples of several datasets one after another: indices 0..len(a)-1 are ``a``'s, then ``b``'s.

    Example::

        >>> both = ConcatDataset([TensorDataset(cr.zeros(2, 3)), TensorDataset(cr.ones(5, 3))])
        >>> len(both), both[2][0].shape           # sample 2 is the first of the second dataset
        (7, (3,))
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset needs at least one dataset, got an empty sequence")
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]).tolist())

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        length = len(self)
        if not -length <= index < length:
            raise IndexError(f"ConcatDataset: index {index} is out of range for {length} samples")
        if index < 0:
            index += length
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which > 0 else 0
        return self.datasets[which][index - start]


def _split_lengths(lengths, total):
    """Integer lengths from ``lengths``, which are counts or fractions summing to 1 (PyTorch's rule:
    floor of each fraction, the remainder handed out one by one from the first subset on)."""
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        if any(not 0 <= n <= 1 for n in lengths):
            raise ValueError(f"random_split: fractions must lie in [0, 1], got {lengths}")
        counts = [math.floor(total * n) for n in lengths]
        for i in range(total - sum(counts)):
            counts[i % len(counts)] += 1
        for i, count in enumerate(counts):
            if count == 0:
                warnings.warn(f"random_split: length of split {i} is 0", stacklevel=3)
        return counts
    if any(not isinstance(n, (int, np.integer)) or n < 0 for n in lengths):
        raise ValueError(
            f"random_split: lengths must be non-negative integers or fractions summing to 1, got {lengths}"
        )
    if sum(lengths) != total:
        raise ValueError(f"random_split: the lengths sum to {sum(lengths)}, but the dataset has {total} samples")
    return [int(n) for n in lengths]


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping random ``Subset``s of the given lengths.

    ``lengths`` are counts summing to ``len(dataset)`` or fractions summing to 1. The permutation
    comes from ``generator`` (a ``cr.Generator``; default: chainrule's default generator, which
    ``cr.manual_seed`` seeds).

    Example::

        >>> train, val = random_split(TensorDataset(cr.randn(10, 2)), [0.8, 0.2], generator=cr.Generator(0))
        >>> len(train), len(val)
        (8, 2)
    """
    counts = _split_lengths(lengths, len(dataset))
    order = (generator or default_generator).numpy.permutation(sum(counts))
    bounds = np.cumsum([0] + counts)
    return [Subset(dataset, order[start:stop].tolist()) for start, stop in zip(bounds[:-1], bounds[1:])]
