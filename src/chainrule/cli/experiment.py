"""From a validated config (see :mod:`chainrule.cli.config`) to the objects a run trains: the data
splits, the MLP, the loss, the optimizer and the schedule. Both ``train`` and ``evaluate`` build
through here, so a run directory's config.toml rebuilds exactly the model that was trained.

Example::

    >>> config = validate({"data": {"name": "iris"}, "model": {"layers": [16]}})
    >>> data = load_data(config)
    >>> model = build_model(config, data)             # (N, 4) -> (N, 3)
    >>> model(data.test.tensors[0]).shape
    (30, 3)

Every split holds flat inputs (N, F) whatever the model: a CNN or an RNN reshapes them itself
(``data.image_shape`` says how), so evaluation, prediction and the pictures are the same for all.
"""

from dataclasses import dataclass

import numpy as np

from .. import data as crdata
from .. import datasets, nn, optim
from ..random import Generator
from . import models
from .config import LOSSES, OPTIMIZERS, SCHEDULES, model_kind


@dataclass
class Data:
    """The three splits of a run, as TensorDatasets of float32 inputs (N, F) and targets."""

    train: object
    validation: object  # None when data.validation = 0
    test: object
    num_features: int
    num_classes: int
    class_names: list
    image_shape: tuple = None  # (H, W) for image sets: to draw them, and how a cnn or rnn reads them


def load_data(config):
    """The train / validation / test splits that ``config["data"]`` describes.

    Targets are int64 class indices (N,), or float32 (N, 1) in {0, 1} for ``bce_with_logits``.
    Every split is a deterministic function of the config (``train.seed`` picks the splits).
    """
    spec, seed = config["data"], config["train"]["seed"]
    name = spec["name"]
    image_shape = None
    if name in ("digits", "iris", "wine", "breast_cancer"):
        load = getattr(datasets, f"load_{name}")
        train = load(split="train", test_size=spec["test_size"], seed=seed)
        test = load(split="test", test_size=spec["test_size"], seed=seed)
        image_shape = (8, 8) if name == "digits" else None
        class_names = _class_names(train)
    elif name in ("fashion_mnist", "mnist"):
        cls = datasets.FashionMNIST if name == "fashion_mnist" else datasets.MNIST
        train_set, test_set = (cls(root=spec["root"], train=flag) for flag in (True, False))
        train, test = _flat_images(train_set), _flat_images(test_set)
        image_shape = (28, 28)
        class_names = list(getattr(train_set, "classes", None) or range(10))
    elif name == "xor":
        train = test = datasets.xor()
        class_names = [0, 1]
    else:
        given = {key: spec[key] for key in ("n_samples", "noise") if spec[key] is not None}
        whole = _as_tensor_dataset(getattr(datasets, name)(seed=seed, **given))
        train, test = _split(whole, spec["test_size"], seed + 1)
        # counted on the whole set: a random training split may miss a class, the model may not
        class_names = list(range(int(np.asarray(whole.tensors[1]).max()) + 1))
    train, test = (_as_tensor_dataset(split) for split in (train, test))
    num_classes = len(class_names)
    class_names = list(class_names)
    binary = config["loss"]["name"] == "bce_with_logits"
    train, test = (_with_targets(split, binary) for split in (train, test))
    validation = None
    if spec["validation"] > 0:
        train, validation = _split(train, spec["validation"], seed + 2)
        train, validation = _as_tensor_dataset(train), _as_tensor_dataset(validation)
    features = int(np.prod(train.tensors[0].shape[1:]))
    return Data(train, validation, test, features, num_classes, class_names, image_shape)


def _class_names(dataset):
    names = getattr(dataset, "classes", None)  # scikit-learn's target_names
    return [str(name) for name in names] if names is not None else None


def _flat_images(images):
    """An MNIST-like set (N, 28, 28) uint8 -> TensorDataset of float32 (N, 784) in [0, 1], int64 (N,)."""
    pixels = np.asarray(images.data, dtype=np.float32).reshape(len(images.data), -1) / 255.0
    return crdata.TensorDataset(pixels, np.asarray(images.targets, dtype=np.int64))


def _split(dataset, fraction, seed):
    """Hold out ``fraction`` of ``dataset`` at random -> (rest, held_out)."""
    held_out = max(1, int(round(len(dataset) * fraction)))
    return crdata.random_split(dataset, [len(dataset) - held_out, held_out], generator=Generator(seed))


def _as_tensor_dataset(dataset):
    """A TensorDataset, or a Subset of one -> a TensorDataset holding just those rows (NumPy arrays)."""
    if isinstance(dataset, crdata.TensorDataset):
        return dataset
    indices = np.asarray(dataset.indices)
    return crdata.TensorDataset(*(np.asarray(t)[indices] for t in _as_tensor_dataset(dataset.dataset).tensors))


def _with_targets(dataset, binary):
    inputs, targets = (np.asarray(t) for t in dataset.tensors)
    targets = targets.reshape(-1, 1).astype(np.float32) if binary else targets.reshape(-1).astype(np.int64)
    return crdata.TensorDataset(inputs.reshape(len(inputs), -1).astype(np.float32), targets)


def build_model(config, data):
    """The network of ``config["model"]`` (see :mod:`.models`): (N, num_features) -> (N, num_classes)
    logits; (N, 1) for ``bce_with_logits``; ``nll`` appends LogSoftmax so the model's outputs are
    log-probabilities.

    - ``mlp``: Linear -> activation (-> Dropout) for each hidden size, then Linear to the outputs;
    - ``cnn``: the inputs as images (N, 1, H, W), conv blocks, then such an MLP head;
    - ``rnn``: image rows as time steps (H steps of W pixels), or for other sets each feature as
      one step, a recurrent network, a Linear head on its last output.
    """
    spec = config["model"]
    loss = config["loss"]["name"]
    outputs = 1 if loss == "bce_with_logits" else data.num_classes
    kind = model_kind(config)
    if kind == "mlp":
        model = models.build_mlp(spec, data.num_features, outputs)
    elif kind == "cnn":
        model = models.build_cnn(spec, data.image_shape, outputs)
    else:
        steps, features = data.image_shape if data.image_shape is not None else (data.num_features, 1)
        model = models.build_rnn(spec, steps, features, outputs)
    if loss == "nll":
        if not isinstance(model, nn.Sequential):
            model = nn.Sequential(model)
        model.append(nn.LogSoftmax(dim=1))
    return model


def build_loss(config):
    spec = dict(config["loss"])
    cls = getattr(nn, LOSSES[spec.pop("name")][0])
    return cls(**spec)


def build_optimizer(config, parameters):
    spec = {key: value for key, value in config["optimizer"].items() if value is not None}
    name = spec.pop("name")
    if "betas" in spec:
        spec["betas"] = tuple(spec["betas"])
    return getattr(optim, OPTIMIZERS[name][0])(parameters, **spec)


def build_scheduler(config, optimizer, steps_per_epoch):
    """The configured LR scheduler and how often it steps ("epoch" or "step"), or (None, None)."""
    spec = config["schedule"]
    if spec is None:
        return None, None
    spec = dict(spec)
    class_name, _, _, interval = SCHEDULES[spec.pop("name")]
    epochs = config["train"]["epochs"]
    if class_name == "CosineAnnealingLR":
        spec.setdefault("T_max", epochs)
    elif class_name == "OneCycleLR":
        spec.setdefault("max_lr", optimizer.param_groups[0]["lr"])
        spec["total_steps"] = epochs * steps_per_epoch
    return getattr(optim.lr_scheduler, class_name)(optimizer, **spec), interval
