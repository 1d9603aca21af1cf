"""scikit-learn's bundled data sets as ``TensorDataset``s: ``load_digits``, ``load_iris``,
``load_wine``, ``load_breast_cancer`` (the ``datasets`` extra: ``pip install 'chainrule[datasets]'``).

Each takes ``split='train'|'test'|'all'``, ``test_size`` and ``seed``: the split is scikit-learn's
``train_test_split(..., test_size, random_state=seed, stratify=targets)``, so it is deterministic
and keeps the class proportions. Features are float32 (N, F), targets int64 (N,). The returned
dataset also carries ``num_classes``, ``classes`` (class names), ``feature_names`` and, when
standardized, ``mean`` and ``std`` (float32 (F,)).
"""

import numpy as np

from ..data.dataset import TensorDataset

SPLITS = ("train", "test", "all")


def _sklearn():
    try:
        import sklearn.datasets
        import sklearn.model_selection
    except ImportError:
        raise ImportError(
            "this data set comes from scikit-learn, which is not installed: pip install 'chainrule[datasets]'"
        ) from None
    return sklearn


def _load(loader_name, split, test_size, seed, standardize, scale=None):
    if split not in SPLITS:
        raise ValueError(f"{loader_name}: split must be one of {SPLITS}, got {split!r}")
    sklearn = _sklearn()
    bunch = getattr(sklearn.datasets, loader_name)()
    features = np.asarray(bunch.data, dtype=np.float64)
    targets = np.asarray(bunch.target, dtype=np.int64)
    if scale is not None:
        features = features / scale
    train_index, test_index = sklearn.model_selection.train_test_split(
        np.arange(len(targets)), test_size=test_size, random_state=seed, stratify=targets
    )
    mean = std = None
    if standardize:
        mean = features[train_index].mean(axis=0)
        std = features[train_index].std(axis=0)
        std = np.where(std > 0, std, 1.0)  # a constant feature stays constant (0) instead of NaN
        features = (features - mean) / std
    chosen = {"train": train_index, "test": test_index, "all": np.arange(len(targets))}[split]
    dataset = TensorDataset(
        np.ascontiguousarray(features[chosen], dtype=np.float32), np.ascontiguousarray(targets[chosen])
    )
    dataset.classes = [str(name) for name in bunch.target_names]
    dataset.num_classes = len(dataset.classes)
    dataset.feature_names = [str(name) for name in bunch.feature_names]
    dataset.num_features = features.shape[1]
    dataset.mean = None if mean is None else mean.astype(np.float32)
    dataset.std = None if std is None else std.astype(np.float32)
    return dataset


def load_digits(split="train", test_size=0.2, seed=0, standardize=False):
    """8 x 8 handwritten digits: 1,797 samples, features (N, 64) = pixel / 16 in [0, 1], 10 classes.

    Example::

        >>> train = load_digits("train")                 # x: (1437, 64) float32, y: (1437,) int64
        >>> len(train), len(load_digits("test")), train.num_classes
        (1437, 360, 10)
    """
    return _load("load_digits", split, test_size, seed, standardize, scale=16.0)


def load_iris(split="train", test_size=0.2, seed=0, standardize=True):
    """Fisher's iris flowers: 150 samples, 4 features (standardized by the training split's mean
    and std unless ``standardize=False``), 3 classes.

    Example::

        >>> x, y = load_iris("test")[:]                  # x: (30, 4) float32, y: (30,) int64
    """
    return _load("load_iris", split, test_size, seed, standardize)


def load_wine(split="train", test_size=0.2, seed=0, standardize=True):
    """Wine cultivars: 178 samples, 13 chemical features (standardized by the training split), 3 classes.

    Example::

        >>> load_wine("train").tensors[0].shape          # (142, 13)
        (142, 13)
    """
    return _load("load_wine", split, test_size, seed, standardize)


def load_breast_cancer(split="train", test_size=0.2, seed=0, standardize=True):
    """Wisconsin breast cancer: 569 samples, 30 features (standardized by the training split),
    2 classes (0 malignant, 1 benign).

    Example::

        >>> load_breast_cancer("test").tensors[1].shape  # (114,)
        (114,)
    """
    return _load("load_breast_cancer", split, test_size, seed, standardize)
