"""Small generated data sets for first networks: ``xor``, ``moons``, ``spirals``, ``linear_regression``.

Each returns a ``TensorDataset`` of (inputs, targets); the same ``seed`` gives the same data. The
random numbers come from NumPy's PCG64 seeded with ``seed``, independent of ``cr.manual_seed``.
"""

import numpy as np

from ..data.dataset import TensorDataset


def _check_count(name, n_samples, at_least=1):
    if not isinstance(n_samples, (int, np.integer)) or n_samples < at_least:
        raise ValueError(f"{name}: n_samples must be an integer >= {at_least}, got {n_samples!r}")


def xor():
    """The four points of XOR: inputs float32 (4, 2) = [[0,0], [0,1], [1,0], [1,1]], targets float32
    (4, 1) = [[0], [1], [1], [0]] (the shape BCELoss/MSELoss want for one output unit).

    Example::

        >>> x, y = xor().tensors                        # x: (4, 2), y: (4, 1)
        >>> y.flatten().tolist()
        [0.0, 1.0, 1.0, 0.0]
    """
    inputs = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    targets = np.array([[0], [1], [1], [0]], dtype=np.float32)
    return TensorDataset(inputs, targets)


def moons(n_samples=200, noise=0.1, seed=0):
    """Two interleaving half circles (scikit-learn's ``make_moons``): inputs float32 (N, 2), targets
    int64 (N,) in {0, 1}; class 0 is the upper moon. Gaussian noise of std ``noise`` is added to
    every coordinate; the samples are shuffled.

    Example::

        >>> x, y = moons(100, noise=0.1, seed=0).tensors  # x: (100, 2) float32, y: (100,) int64
    """
    _check_count("moons", n_samples, 2)
    rng = np.random.default_rng(seed)
    n_outer = n_samples // 2
    n_inner = n_samples - n_outer
    angle_outer = np.linspace(0, np.pi, n_outer)
    angle_inner = np.linspace(0, np.pi, n_inner)
    outer = np.stack([np.cos(angle_outer), np.sin(angle_outer)], axis=1)
    inner = np.stack([1 - np.cos(angle_inner), 1 - np.sin(angle_inner) - 0.5], axis=1)
    inputs = np.concatenate([outer, inner])
    targets = np.concatenate([np.zeros(n_outer, np.int64), np.ones(n_inner, np.int64)])
    inputs = inputs + noise * rng.standard_normal(inputs.shape)
    order = rng.permutation(n_samples)
    return TensorDataset(inputs[order].astype(np.float32), targets[order])


def spirals(n_samples=300, n_classes=3, noise=0.2, seed=0):
    """``n_classes`` interleaved spiral arms (the CS231n spiral): inputs float32 (N, 2), targets int64
    (N,) in 0..n_classes-1, ``n_samples`` in all, split evenly (the first arms get one more when it
    does not divide). Arm k has radius r in [0, 1] and angle 4k + 4r (+ Gaussian noise of std ``noise``),
    so no straight line separates the classes.

    Example::

        >>> x, y = spirals(300, 3, seed=0).tensors        # x: (300, 2) float32, y: (300,) int64
    """
    _check_count("spirals", n_samples)
    if not isinstance(n_classes, (int, np.integer)) or n_classes < 1:
        raise ValueError(f"spirals: n_classes must be a positive integer, got {n_classes!r}")
    rng = np.random.default_rng(seed)
    counts = [n_samples // n_classes + (k < n_samples % n_classes) for k in range(n_classes)]
    inputs, targets = [], []
    for k, count in enumerate(counts):
        radius = np.linspace(0.0, 1.0, count)
        angle = 4.0 * k + 4.0 * radius + noise * rng.standard_normal(count)
        inputs.append(np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1))
        targets.append(np.full(count, k, dtype=np.int64))
    order = rng.permutation(n_samples)
    return TensorDataset(np.concatenate(inputs)[order].astype(np.float32), np.concatenate(targets)[order])


def linear_regression(n_samples=100, weight=2.0, bias=0.0, noise=0.0, seed=0):
    """Points on a line: x float32 (N, D) uniform in [-1, 1], y float32 (N, 1) = x @ weight + bias
    (+ Gaussian noise of std ``noise``). ``weight`` is a number (D = 1: y = 2x by default) or a
    sequence of D numbers.

    Example::

        >>> x, y = linear_regression(50, weight=2.0).tensors   # x: (50, 1), y: (50, 1) = 2 x
        >>> bool(((y - 2 * x).abs() < 1e-6).all())
        True
    """
    _check_count("linear_regression", n_samples)
    rng = np.random.default_rng(seed)
    weights = np.atleast_1d(np.asarray(weight, dtype=np.float64))
    if weights.ndim != 1:
        raise ValueError(f"linear_regression: weight must be a number or a 1-D sequence, got shape {weights.shape}")
    inputs = rng.uniform(-1.0, 1.0, size=(n_samples, weights.size))
    targets = inputs @ weights[:, None] + bias + noise * rng.standard_normal((n_samples, 1))
    return TensorDataset(inputs.astype(np.float32), targets.astype(np.float32))
