"""``DataLoader``: batches of a dataset, in order or shuffled, and ``default_collate``, which stacks
samples into a batch.

One epoch is one ``for batch in loader`` loop. Shuffled orders come from a ``cr.Generator``: the
same seed gives the same sequence of epochs, and each epoch draws a new order.
"""

import collections.abc
import numbers

import numpy as np

from .. import backend, dtypes, ops
from ..errors import ShapeError
from ..random import Generator, default_generator
from ..tensor import Tensor
from .dataset import _can_batch


def _check_shapes(arrays, what):
    first = arrays[0].shape
    for position, array in enumerate(arrays):
        if array.shape != first:
            raise ShapeError(
                f"default_collate: {what} must have one shape to be stacked, got {first} at sample 0 "
                f"and {array.shape} at sample {position}"
            )


def _stack(arrays, what):
    _check_shapes(arrays, what)
    return backend.namespace_of(arrays[0]).stack(arrays)


def default_collate(batch):
    """Stack a list of samples into one batch, field by field.

    Tensors and NumPy arrays of shape S become one tensor (B, *S) of their dtype; Python ints
    become int64, Python floats the default dtype (float32; PyTorch gives float64), bools bool;
    tuples, lists and dicts are collated per field (a tuple of samples gives a tuple of batches;
    PyTorch gives a list); strings stay a list.

    Example::

        >>> x, y = default_collate([(np.zeros(3, np.float32), 1), (np.ones(3, np.float32), 0)])
        >>> x.shape, x.dtype, y.dtype                       # x: (2, 3), y: (2,)
        ((2, 3), chainrule.float32, chainrule.int64)
    """
    if not isinstance(batch, (list, tuple)) or not batch:
        raise ValueError(
            f"default_collate expects a non-empty list of samples, got {type(batch).__name__} {batch!r}"[:200]
        )
    return _collate(batch, "the samples")


def _collate(batch, what):
    first = batch[0]
    if isinstance(first, Tensor):
        arrays = [_array_of(sample, what) for sample in batch]
        if any(sample.requires_grad for sample in batch):  # the batch stays in the graph, as in PyTorch
            _check_shapes(arrays, what)
            return ops.stack(batch)
        return Tensor._wrap(_stack(arrays, what))
    if isinstance(first, (np.ndarray, np.generic)) or _is_cupy_array(first):
        return Tensor._wrap(_stack([_array_of(sample, what) for sample in batch], what))
    if isinstance(first, bool):
        return Tensor._wrap(np.asarray(batch, dtype=np.bool_))
    if isinstance(first, numbers.Integral):
        return Tensor._wrap(np.asarray(batch, dtype=np.int64))
    if isinstance(first, numbers.Real):
        return Tensor._wrap(np.asarray(batch, dtype=dtypes.get_default_dtype().numpy))
    if isinstance(first, (str, bytes)):
        return list(batch)
    if isinstance(first, collections.abc.Mapping):
        return {key: _collate([sample[key] for sample in batch], f"field {key!r}") for key in first}
    if isinstance(first, collections.abc.Sequence):
        sizes = {len(sample) for sample in batch}
        if len(sizes) > 1:
            raise ValueError(
                f"default_collate: every sample must have the same number of fields, got sizes {sorted(sizes)}"
            )
        fields = [_collate([sample[i] for sample in batch], f"field {i}") for i in range(len(first))]
        if isinstance(first, tuple) and hasattr(first, "_fields"):  # a namedtuple keeps its type
            return type(first)(*fields)
        return tuple(fields) if isinstance(first, tuple) else fields
    raise TypeError(
        f"default_collate: cannot batch samples of type {type(first).__name__}; expected Tensors, NumPy arrays, "
        "numbers, strings, or tuples/lists/dicts of them (pass collate_fn= for anything else)"
    )


def _is_cupy_array(value):
    return backend.device_of(value) != backend.CPU


def _array_of(sample, what):
    if isinstance(sample, Tensor):
        return sample._data
    if isinstance(sample, (np.ndarray, np.generic)):
        return np.asarray(sample)
    if _is_cupy_array(sample):
        return sample
    raise TypeError(
        f"default_collate: {what}: the first sample is an array or Tensor, so every sample must be one; "
        f"got {type(sample).__name__}"
    )


class DataLoader:
    """Iterate over ``dataset`` in batches: each batch is what ``collate_fn`` makes of ``batch_size`` samples.

    With ``shuffle=True`` each epoch (each ``iter(loader)``) visits the samples in a new random
    order drawn from ``generator`` (a ``cr.Generator``), or from a private generator seeded with
    ``seed``, or else from chainrule's default generator (``cr.manual_seed``). The same seed gives
    the same sequence of epochs. ``drop_last=True`` drops a last batch smaller than ``batch_size``.
    ``batch_size=None`` yields single samples, uncollated.

    Without a ``collate_fn``, a dataset that has ``get_batch`` (``TensorDataset``, ``Subset``s of
    it, ``MNIST``) is indexed once per batch with the batch's index array instead of sample by
    sample. ``sampler`` (an iterable of indices, e.g. a list) replaces the order that ``shuffle``
    makes; ``batch_sampler`` (an iterable of lists of indices) gives the batches themselves.
    ``num_workers``, ``pin_memory``, ``timeout``, ``worker_init_fn`` and ``multiprocessing_context``
    are accepted so that PyTorch programs run unchanged, and change nothing: chainrule loads in the
    calling process.

    Example::

        >>> ds = TensorDataset(cr.randn(10, 3), cr.arange(10))
        >>> loader = DataLoader(ds, batch_size=4, shuffle=True, seed=0)
        >>> [x.shape for x, y in loader], len(loader)             # x: (B, 3), y: (B,)
        ([(4, 3), (4, 3), (2, 3)], 3)
    """

    def __init__(
        self,
        dataset,
        batch_size=1,
        shuffle=False,
        sampler=None,
        batch_sampler=None,
        num_workers=0,
        collate_fn=None,
        pin_memory=False,
        drop_last=False,
        timeout=0,
        worker_init_fn=None,
        multiprocessing_context=None,
        generator=None,
        *,
        seed=None,
    ):
        if batch_size is not None and (not isinstance(batch_size, (int, np.integer)) or batch_size < 1):
            raise ValueError(f"DataLoader: batch_size must be a positive integer or None, got {batch_size!r}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler and shuffle=True are exclusive (the sampler gives the order)")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
            raise ValueError(
                "DataLoader: batch_sampler gives the batches, so batch_size, shuffle, sampler and drop_last "
                "must keep their defaults"
            )
        if generator is not None and seed is not None:
            raise ValueError("DataLoader: pass either generator= or seed=, not both")
        if generator is not None and not isinstance(generator, Generator):
            raise TypeError(f"DataLoader: generator must be a cr.Generator, got {type(generator).__name__}")
        self.dataset = dataset
        self.batch_size = None if batch_sampler is not None else batch_size
        self.shuffle = bool(shuffle)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.collate_fn = collate_fn
        self.pin_memory = pin_memory
        self.drop_last = bool(drop_last)
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = Generator(seed) if seed is not None else generator

    def _order(self):
        """The sample indices of one epoch, an int64 array."""
        if self.sampler is not None:
            return np.fromiter((int(i) for i in self.sampler), dtype=np.int64)
        if self.shuffle:
            return (self.generator or default_generator).numpy.permutation(len(self.dataset)).astype(np.int64)
        return np.arange(len(self.dataset), dtype=np.int64)

    def _index_batches(self):
        """The index arrays of one epoch's batches."""
        if self.batch_sampler is not None:
            for indices in self.batch_sampler:
                yield np.asarray(indices, dtype=np.int64)
            return
        order = self._order()
        stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
        for start in range(0, stop, self.batch_size):
            yield order[start : start + self.batch_size]

    def __len__(self):
        """Batches per epoch: ceil(N / batch_size), or floor with ``drop_last``."""
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        samples = len(self.sampler) if self.sampler is not None else len(self.dataset)
        if self.batch_size is None:
            return samples
        return samples // self.batch_size if self.drop_last else -(-samples // self.batch_size)

    def __iter__(self):
        if self.batch_size is None and self.batch_sampler is None:
            for index in self._order():
                yield self.dataset[int(index)]
            return
        fast = self.collate_fn is None and _can_batch(self.dataset)
        collate = self.collate_fn or default_collate
        for indices in self._index_batches():
            if fast:
                yield self.dataset.get_batch(indices)
            else:
                yield collate([self.dataset[int(i)] for i in indices])

    def __repr__(self):
        return (
            f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last})"
        )
