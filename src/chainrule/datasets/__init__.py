"""``chainrule.datasets``: real data sets loaded by real code, and small generated ones.

- ``MNIST``, ``FashionMNIST``: from their IDX files, found in ``root``, ``$CHAINRULE_DATA``, the
  cache, the system's packaged copy, or downloaded and checked by SHA-256 (see ``mnist``).
- ``load_digits``, ``load_iris``, ``load_wine``, ``load_breast_cancer``: scikit-learn's bundled
  sets (``pip install 'chainrule[datasets]'``) as ``TensorDataset``s with a stratified split.
- ``xor``, ``moons``, ``spirals``, ``linear_regression``: generated ``TensorDataset``s.
- ``read_idx``, ``write_idx``: the IDX file format; ``download_file``: a checked download.
- ``TextCorpus``, ``JargonFile``: text as characters for language models; the Jargon File from
  root, ``$CHAINRULE_DATA`` or the system's copy (``apt install jargon-text``; see ``text``).

Example::

    >>> train = cr.datasets.load_digits("train")        # x: (1437, 64) float32 in [0, 1], y: (1437,) int64
    >>> x, y = cr.datasets.xor().tensors                # x: (4, 2), y: (4, 1) float32
"""

from .download import cache_dir, download_file
from .generated import linear_regression, moons, spirals, xor
from .idx import read_idx, write_idx
from .mnist import MNIST, FashionMNIST
from .sklearn_sets import load_breast_cancer, load_digits, load_iris, load_wine
from .text import JargonFile, TextCorpus

__all__ = [
    "MNIST",
    "FashionMNIST",
    "JargonFile",
    "cache_dir",
    "download_file",
    "linear_regression",
    "load_breast_cancer",
    "load_digits",
    "load_iris",
    "load_wine",
    "moons",
    "read_idx",
    "spirals",
    "TextCorpus",
    "write_idx",
    "xor",
]
