"""MNIST and Fashion-MNIST from their IDX files, found locally or downloaded and verified by SHA-256.

The two files of a split (``train-*`` or ``t10k-*``, gzip or not) are looked up in this order:

1. ``root`` if given: ``root/<folder>``, ``root/<ClassName>/raw`` (torchvision's layout), ``root`` itself;
2. ``$CHAINRULE_DATA/<folder>`` (and ``$CHAINRULE_DATA/<ClassName>/raw``);
3. the cache, ``cache_dir()/<folder>`` (``~/.cache/chainrule/<folder>`` or under ``$XDG_CACHE_HOME``);
4. the operating system's packaged copy (Debian/Ubuntu: ``apt install dataset-fashion-mnist`` puts
   Fashion-MNIST in /usr/share/datasets/fashion-mnist; Debian packages no MNIST);
5. with ``download=True``, a download from the official location (or ``mirror=``, or
   ``$CHAINRULE_DATA_MIRROR/<folder>``) into ``root/<folder>`` when ``root`` is given (as
   torchvision does), else into the cache; each file's SHA-256 is checked.

``<folder>`` is ``mnist`` or ``fashion-mnist``. Files found locally are checked for a well-formed
IDX header and payload, not by checksum (a Debian copy is re-compressed: see ``FashionMNIST``).
"""

import os
from pathlib import Path

import numpy as np

from ..data.dataset import Dataset, _index_array
from ..errors import DataFileError
from ..tensor import Tensor
from . import download as _download
from .idx import read_idx


class MNIST(Dataset):
    """The MNIST handwritten digits: 60,000 training and 10,000 test images of 28 x 28 grey pixels.

    A sample is ``(image, label)``: image a float32 tensor (1, 28, 28) with values in [0, 1]
    (pixel / 255), label an int64 scalar tensor in 0..9; ``transform`` and ``target_transform``,
    if given, are applied to them. ``.data`` holds every image as a uint8 array (N, 28, 28),
    ``.targets`` the labels as an int64 array (N,), ``.classes`` the class names. ``DataLoader``
    fetches whole batches from the arrays (``get_batch``) when there are no transforms.

    See the module docstring for where the files are looked up. If they are found nowhere, one
    ``FileNotFoundError`` lists every place searched and every way to provide them.

    Example::

        >>> test = cr.datasets.MNIST(train=False)
        >>> image, label = test[0]                     # image: (1, 28, 28) float32, label: () int64
        >>> test.data.shape, len(test.classes)
        ((10000, 28, 28), 10)
    """

    folder = "mnist"
    # The official location first, then the mirror torchvision uses (the official site often refuses).
    mirrors = ("http://yann.lecun.com/exdb/mnist/", "https://ossci-datasets.s3.amazonaws.com/mnist/")
    # SHA-256 of the official gzip files.
    resources = {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    }
    system_dirs = ()
    apt_package = None
    classes = [
        "0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
        "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine",
    ]  # fmt: skip

    def __init__(self, root=None, train=True, transform=None, target_transform=None, download=True, mirror=None):
        self.root = Path(root).expanduser() if root is not None else None
        self.train = bool(train)
        self.transform = transform
        self.target_transform = target_transform
        split = "train" if self.train else "t10k"
        self._names = (f"{split}-images-idx3-ubyte.gz", f"{split}-labels-idx1-ubyte.gz")
        images_path, labels_path = self._locate(download, mirror)
        self.data, self.targets = self._load(images_path, labels_path)
        self.files = (images_path, labels_path)

    # ---------------------------------------------------------------- samples
    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        image = Tensor._wrap(self.data[index][None].astype(np.float32) / np.float32(255))
        label = Tensor._wrap(np.asarray(self.targets[index], dtype=np.int64))
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label

    def get_batch(self, indices):
        """Images (B, 1, 28, 28) float32 and labels (B,) int64 at ``indices``, in one indexing each."""
        index = _index_array(indices, len(self), type(self).__name__)
        images = self.data[index][:, None].astype(np.float32) / np.float32(255)
        return Tensor._wrap(images), Tensor._wrap(self.targets[index])

    @property
    def _can_batch(self):
        return self.transform is None and self.target_transform is None

    def __repr__(self):
        split = "train" if self.train else "test"
        return f"{type(self).__name__}(split={split}, samples={len(self)}, files={self.files[0].parent})"

    # ---------------------------------------------------------------- finding the files
    def _places(self):
        """(description, [directories]) in lookup order."""
        name = type(self).__name__
        places = []
        if self.root is not None:
            places.append((f"root={self.root}", [self.root / self.folder, self.root / name / "raw", self.root]))
        env = _download.data_dir()
        if env is not None:
            places.append((f"${_download.DATA_ENV}={env}", [env / self.folder, env / name / "raw"]))
        places.append(("the cache", [_download.cache_dir() / self.folder]))
        if self.system_dirs:
            places.append(("the system's packaged copy", [Path(d) for d in self.system_dirs]))
        return places

    @staticmethod
    def _file_in(directory, name):
        for candidate in (directory / name, directory / name[: -len(".gz")]):
            if candidate.is_file():
                return candidate
        return None

    def _find(self, directories):
        for directory in directories:
            found = [self._file_in(directory, name) for name in self._names]
            if all(found):
                return found
        return None

    def _locate(self, download, mirror):
        searched = []
        for description, directories in self._places():
            found = self._find(directories)
            if found:
                return found
            searched.append(f"  - {description}: " + ", ".join(str(d) for d in directories))
        if not self.system_dirs:
            searched.append(
                f"  - the system's packaged copy: none exists for {type(self).__name__} (no Debian package)"
            )
        if not download:
            failures = ["  - download=False, so nothing was downloaded"]
        else:
            target = (self.root if self.root is not None else _download.cache_dir()) / self.folder
            wanted = {name: self.resources[name] for name in self._names}
            done, reasons = _download.fetch_all(wanted, self._mirrors(mirror), target)
            if done:
                return [target / name for name in self._names]
            failures = [f"  - download into {target} failed:"] + [f"      {reason}" for reason in reasons]
        raise FileNotFoundError(self._not_found(searched, failures))

    def _mirrors(self, mirror):
        if mirror is not None:
            return [mirror] if isinstance(mirror, (str, os.PathLike)) else list(mirror)
        env = os.environ.get(_download.MIRROR_ENV)
        if env:
            return [_download.join_url(env, self.folder)]
        return list(self.mirrors)

    def _not_found(self, searched, failures):
        name, files = type(self).__name__, " and ".join(self._names)
        ways = [
            f"  - pass root=DIR, with the files in DIR or DIR/{self.folder}",
            f"  - set ${_download.DATA_ENV}=DIR, with the files in DIR/{self.folder}",
            f"  - put them in the cache, {_download.cache_dir() / self.folder}",
        ]
        if self.apt_package is not None:
            ways.append(f"  - install the system's copy: apt install {self.apt_package}")
        ways.append(
            f"  - download (download=True) from {', '.join(self.mirrors)} on a machine with a network, or from "
            f"a copy: mirror=BASE_URL or ${_download.MIRROR_ENV}=BASE_URL (files under BASE_URL/{self.folder}; "
            "file:// URLs work)"
        )
        return "\n".join(
            [f"{name}: cannot find {files} (the .gz suffix is optional). Looked in:"]
            + searched
            + failures
            + ["Ways to provide the data:"]
            + ways
        )

    # ---------------------------------------------------------------- reading them
    def _load(self, images_path, labels_path):
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
            raise DataFileError(
                f"{images_path}: expected uint8 images of shape (N, 28, 28), got {images.dtype} {images.shape}"
            )
        if labels.dtype != np.uint8 or labels.ndim != 1:
            raise DataFileError(
                f"{labels_path}: expected uint8 labels of shape (N,), got {labels.dtype} {labels.shape}"
            )
        if len(images) != len(labels):
            raise DataFileError(
                f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels; "
                "they must be equal"
            )
        if labels.size and labels.max() >= len(self.classes):
            raise DataFileError(f"{labels_path}: label {labels.max()} is out of range for {len(self.classes)} classes")
        return images, labels.astype(np.int64)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 60,000 training and 10,000 test images of clothes, 28 x 28 grey
    pixels, in 10 classes; a drop-in replacement for MNIST, with the same samples and attributes.

    Debian's ``dataset-fashion-mnist`` package installs it in /usr/share/datasets/fashion-mnist.
    Its gzip files hold the official data with the gzip header's file name removed and its time
    stamp reset; putting them back gives the official files' SHA-256 byte for byte (the tests check
    this), so the copy is the official data.

    Example::

        >>> train = cr.datasets.FashionMNIST(train=True)
        >>> image, label = train[0]                    # image: (1, 28, 28) float32, label: () int64
        >>> train.classes[label.item()]
        'Ankle boot'
    """

    folder = "fashion-mnist"
    mirrors = (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    )
    # SHA-256 of the official gzip files.
    resources = {
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    }
    system_dirs = ("/usr/share/datasets/fashion-mnist",)
    apt_package = "dataset-fashion-mnist"
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
