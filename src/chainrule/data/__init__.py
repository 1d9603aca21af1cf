"""``chainrule.data``: datasets and batching with PyTorch's names (``torch.utils.data``).

``Dataset``, ``TensorDataset``, ``Subset``, ``ConcatDataset``, ``random_split``, ``DataLoader`` and
``default_collate``. Real data sets (MNIST, Fashion-MNIST, scikit-learn's, generated toys) are in
``chainrule.datasets``.

Example::

    >>> from chainrule.data import DataLoader, TensorDataset
    >>> loader = DataLoader(TensorDataset(cr.randn(100, 3), cr.randint(0, 2, (100,))), batch_size=32, shuffle=True)
    >>> x, y = next(iter(loader))                       # x: (32, 3) float32, y: (32,) int64
"""

from .dataloader import DataLoader, default_collate
from .dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split

__all__ = ["ConcatDataset", "DataLoader", "Dataset", "Subset", "TensorDataset", "default_collate", "random_split"]
