"""Random tensors from a seedable generator: ``manual_seed``, ``rand``, ``randn``, ``randint``,
``randperm``.

chainrule draws from NumPy's PCG64 generator, so a seed gives the same numbers on every run and
platform; they are not PyTorch's numbers for the same seed.
"""

import numpy as np

from . import backend, dtypes
from .creation import _size
from .tensor import Tensor


class Generator:
    """A source of random numbers with its own seed and state.

    Example::

        >>> g = cr.Generator().manual_seed(0)
        >>> cr.rand(2, generator=g).shape
        (2,)
    """

    def __init__(self, seed=None):
        self.manual_seed(np.random.SeedSequence().entropy if seed is None else seed)

    def manual_seed(self, seed):
        """Restart the sequence from ``seed``; returns self."""
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self._seed = int(seed)
        self.numpy = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def initial_seed(self):
        return self._seed

    def get_state(self):
        """The generator's state as plain JSON-compatible data."""
        return self.numpy.bit_generator.state

    def set_state(self, state):
        self.numpy.bit_generator.state = state
        return self


default_generator = Generator(0)


def manual_seed(seed):
    """Seed chainrule's default generator, so runs repeat exactly; returns it."""
    return default_generator.manual_seed(seed)


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)


def _float_dtype(dtype):
    numpy_dtype = dtypes.to_numpy(dtype) if dtype is not None else dtypes.get_default_dtype().numpy
    if numpy_dtype.kind != "f":
        raise TypeError(f"expected a floating-point dtype, got {numpy_dtype}")
    return numpy_dtype


def _finish(array, device, requires_grad):
    if device is not None and backend.Device(device) != backend.CPU:
        array = backend.to_device(array, backend.Device(device))
    result = Tensor._wrap(array)
    return result.requires_grad_() if requires_grad else result


def _generator(generator):
    return (generator or default_generator).numpy


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform samples in [0, 1): ``cr.rand(2, 3)`` -> (2, 3)."""
    numpy_dtype = _float_dtype(dtype)
    sample_dtype = numpy_dtype if numpy_dtype in (np.float32, np.float64) else np.float32
    array = _generator(generator).random(_size(size), dtype=sample_dtype).astype(numpy_dtype, copy=False)
    return _finish(array, device, requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal samples: ``cr.randn(2, 3)`` -> (2, 3)."""
    numpy_dtype = _float_dtype(dtype)
    sample_dtype = numpy_dtype if numpy_dtype in (np.float32, np.float64) else np.float32
    array = _generator(generator).standard_normal(_size(size), dtype=sample_dtype).astype(numpy_dtype, copy=False)
    return _finish(array, device, requires_grad)


def randint(low, high=None, size=(), generator=None, dtype=None, device=None):
    """Integers in [low, high): ``cr.randint(0, 10, (3,))`` -> (3,) int64."""
    if isinstance(high, (tuple, list)):  # randint(high, size), PyTorch's short form
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint: expected low < high, got low={low}, high={high}")
    numpy_dtype = dtypes.to_numpy(dtype) if dtype is not None else np.int64
    array = _generator(generator).integers(low, high, size=_size((size,)), dtype=np.int64).astype(numpy_dtype)
    return _finish(array, device, False)


def randperm(n, generator=None, dtype=None, device=None):
    """A random permutation of 0..n-1: ``cr.randperm(4)`` -> (4,) int64."""
    numpy_dtype = dtypes.to_numpy(dtype) if dtype is not None else np.int64
    return _finish(_generator(generator).permutation(n).astype(numpy_dtype), device, False)


def _like(sampler, other, dtype, device, requires_grad):
    return sampler(other.shape, dtype=dtype or other.dtype, device=device or other.device, requires_grad=requires_grad)


def rand_like(other, dtype=None, device=None, requires_grad=False):
    return _like(rand, other, dtype, device, requires_grad)


def randn_like(other, dtype=None, device=None, requires_grad=False):
    return _like(randn, other, dtype, device, requires_grad)
