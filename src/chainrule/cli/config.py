"""The schema of a run's TOML file (``chainrule train CONFIG.toml``) and its validation.

A config has six sections; every key is optional unless marked, and has the default shown::

    [data]                  # what to learn from
    name = "digits"         # required: digits iris wine breast_cancer fashion_mnist mnist moons spirals xor
    batch_size = 32
    validation = 0.1        # fraction of the training split held out to pick the best epoch
    test_size = 0.2         # scikit-learn and generated sets: fraction held out for the test metrics
    root = "..."            # fashion_mnist, mnist: a directory holding the IDX files
    n_samples = 200         # moons, spirals: how many points to generate (default: the generator's)
    noise = 0.1             # moons, spirals: standard deviation of the noise (default: the generator's)

    [model]                 # kind = "mlp" (the default): inputs -> hidden layers -> one output per class
    layers = [128, 64]      # hidden sizes
    activation = "relu"
    dropout = 0.0

    [model]                 # kind = "cnn" (image sets: digits fashion_mnist mnist): conv blocks, then an MLP head
    kind = "cnn"
    conv = [{channels = 32, kernel = 3, padding = 1, pool = 2, norm = "batch"}, {channels = 64, pool = 2}]
    layers = [128]          # the head's hidden sizes, after flattening the last block's output
    activation = "relu"     # in the blocks and the head
    dropout = 0.0           # before each of the head's Linear layers

    [model]                 # kind = "rnn": a recurrent network over a sequence, a Linear head on its last output
    kind = "rnn"            # image sets: each row of pixels is a time step; others: each feature is one
    cell = "lstm"           # lstm gru rnn
    hidden_size = 128
    num_layers = 1
    bidirectional = false
    dropout = 0.0           # on the outputs of every recurrent layer (between layers and before the head)
    nonlinearity = "tanh"   # cell = "rnn" only: tanh relu

    [loss]
    name = "cross_entropy"  # cross_entropy nll bce_with_logits, and that loss's options

    [optimizer]
    name = "adam"           # sgd adam adamw rmsprop adagrad adadelta adamax nadam
    lr = 0.001              # and that optimizer's options, e.g. weight_decay, l1_decay, momentum

    [schedule]              # optional: name = step multistep exponential cosine linear plateau onecycle
    name = "cosine"         # and that scheduler's options, e.g. T_max

    [train]
    epochs = 10
    seed = 0
    early_stopping_patience = 5   # optional: stop after this many epochs without a better val_loss
    clip_grad_norm = 1.0          # optional: scale the gradients to this joint 2-norm at most before each step
    device = "cpu"
    checkpoint_every = 100        # optional: also save a resumable checkpoint every 100 steps (RUN_DIR/checkpoints)
    keep_last = 3                 # optional: how many of those step checkpoints to keep

A conv block (an inline table of ``model.conv``) is Conv2d -> norm -> activation -> pooling ->
Dropout2d, with the keys ``channels`` (required), ``kernel = 3``, ``stride = 1``, ``padding``
(default kernel // 2, which keeps H and W for odd kernels), ``norm = "none" | "batch" | "group"``
(BatchNorm2d, or GroupNorm of 8 groups; the conv then has no bias), ``pool = 1`` (a pooling
window and stride; 1 is none), ``pooling = "max" | "avg"``, ``dropout = 0.0``.

``model.kind``, ``train.clip_grad_norm``, ``train.checkpoint_every`` and ``train.keep_last`` came
after the first schema: they appear in a validated config only when the file gives them, so a
config written before them validates (and is written to a run directory) exactly as it did.

Validation happens before anything is trained: the first problem raises a :class:`ConfigError`
naming the key as ``section.key``, what it must be and what was found.

Example::

    >>> config = validate({"data": {"name": "digits"}})
    >>> config["model"]["layers"], config["optimizer"]["name"], model_kind(config)
    ([128, 64], 'adam', 'mlp')
"""

import copy
import math
import sys
import textwrap

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib


class ConfigError(ValueError):
    """A config key with a missing, unknown or bad value; ``key`` is ``"section.key"``."""

    def __init__(self, key, problem):
        super().__init__(f"{key}: {problem}")
        self.key = key


# ------------------------------------------------------------------ value kinds
class Kind:
    """What a value must be; ``check(key, value)`` returns it (normalized) or raises ConfigError."""

    description = "a value"

    def check(self, key, value):
        return value

    def fail(self, key, value):
        raise ConfigError(key, f"expected {self.description}, got {_describe(value)}")


def _describe(value):
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return f"the list {value!r}"
    return f"{type(value).__name__} {value!r}"


class Number(Kind):
    """A float (TOML integers are accepted) in [low, high], or (low, high) when ``open``."""

    def __init__(self, low=-math.inf, high=math.inf, low_open=False, high_open=False, integer=False):
        self.low, self.high, self.low_open, self.high_open, self.integer = low, high, low_open, high_open, integer
        noun = "an integer" if integer else "a number"
        bounds = []
        if low > -math.inf:
            bounds.append(f"{'>' if low_open else '>='} {low:g}")
        if high < math.inf:
            bounds.append(f"{'<' if high_open else '<='} {high:g}")
        self.description = noun + (" " + " and ".join(bounds) if bounds else "")

    def check(self, key, value):
        types = (int,) if self.integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, types) or (not self.integer and not math.isfinite(value)):
            self.fail(key, value)
        below = value <= self.low if self.low_open else value < self.low
        above = value >= self.high if self.high_open else value > self.high
        if below or above:
            self.fail(key, value)
        return value if self.integer else float(value)


def Integer(low=-math.inf, high=math.inf):  # noqa: N802 - reads like the other kinds
    return Number(low, high, integer=True)


class Boolean(Kind):
    description = "true or false"

    def check(self, key, value):
        if not isinstance(value, bool):
            self.fail(key, value)
        return value


class Text(Kind):
    description = "a string"

    def check(self, key, value):
        if not isinstance(value, str):
            self.fail(key, value)
        return value


class Choice(Kind):
    """One of a fixed set of strings."""

    def __init__(self, *choices):
        self.choices = choices
        self.description = "one of " + ", ".join(f'"{c}"' for c in choices)

    def check(self, key, value):
        if value not in self.choices:
            self.fail(key, value)
        return value


class ListOf(Kind):
    """A list of values of one kind, of a fixed length or at least ``min_length`` long."""

    def __init__(self, item, length=None, min_length=0):
        self.item, self.length, self.min_length = item, length, min_length
        if length is not None:
            self.description = f"a list of {length} values, each {item.description}"
        else:
            self.description = f"a {'non-empty ' if min_length else ''}list of values, each {item.description}"

    def check(self, key, value):
        if not isinstance(value, list):
            self.fail(key, value)
        if (self.length is not None and len(value) != self.length) or len(value) < self.min_length:
            self.fail(key, value)
        return [self.item.check(f"{key}[{i}]", v) for i, v in enumerate(value)]


class Table(Kind):
    """An inline table with the keys of ``keys`` ({key: (kind, default)}, default REQUIRED or a value);
    ``name`` says what it is in messages, ``example`` shows one."""

    def __init__(self, keys, name, example=None):
        self.keys, self.name = keys, name
        self.description = f"{name}, an inline table" + (f" such as {example}" if example else "")

    def check(self, key, value):
        if not isinstance(value, dict):
            self.fail(key, value)
        for name in value:
            if name not in self.keys:
                raise ConfigError(f"{key}.{name}", f"unknown key in {self.name}; allowed keys: {', '.join(self.keys)}")
        result = {}
        for name, (kind, default) in self.keys.items():
            if name in value:
                result[name] = kind.check(f"{key}.{name}", value[name])
            elif default is REQUIRED:
                raise ConfigError(f"{key}.{name}", f"missing; expected {kind.description}")
            else:
                result[name] = copy.deepcopy(default)
        return result


POSITIVE = Number(0, low_open=True)
NON_NEGATIVE = Number(0)
FRACTION = Number(0, 1, high_open=True)  # [0, 1)
OPEN_FRACTION = Number(0, 1, low_open=True, high_open=True)  # (0, 1)
POSITIVE_INT = Integer(1)
NON_NEGATIVE_INT = Integer(0)
BETAS = ListOf(Number(0, 1, high_open=True), length=2)


# ------------------------------------------------------------------ what each section may hold
DATASETS = ("digits", "iris", "wine", "breast_cancer", "fashion_mnist", "mnist", "moons", "spirals", "xor")
SKLEARN_SETS = ("digits", "iris", "wine", "breast_cancer")
IDX_SETS = ("fashion_mnist", "mnist")
GENERATED_SETS = ("moons", "spirals", "xor")
BINARY_SETS = ("breast_cancer", "moons", "xor")  # two classes: bce_with_logits fits them
GENERATED_SIZES = ("moons", "spirals")  # generated with n_samples points and noise
SPLIT_SETS = SKLEARN_SETS + GENERATED_SIZES  # split into train and test by test_size

ACTIVATIONS = {
    "relu": "ReLU",
    "tanh": "Tanh",
    "sigmoid": "Sigmoid",
    "leaky_relu": "LeakyReLU",
    "elu": "ELU",
    "gelu": "GELU",
    "silu": "SiLU",
    "softplus": "Softplus",
}

# name in the config -> (class in chainrule.nn, {option: kind})
LOSSES = {
    "cross_entropy": ("CrossEntropyLoss", {"label_smoothing": FRACTION}),
    "nll": ("NLLLoss", {}),  # the model then ends in LogSoftmax
    "bce_with_logits": ("BCEWithLogitsLoss", {}),  # two-class sets only: one output, float targets
}

_DECAY = {"weight_decay": NON_NEGATIVE, "l1_decay": NON_NEGATIVE}
# name in the config -> (class in chainrule.optim, {option: kind}); every one takes lr
OPTIMIZERS = {
    "sgd": ("SGD", {"momentum": NON_NEGATIVE, "dampening": NON_NEGATIVE, "nesterov": Boolean(), **_DECAY}),
    "adam": ("Adam", {"betas": BETAS, "eps": POSITIVE, "amsgrad": Boolean(), **_DECAY}),
    "adamw": ("AdamW", {"betas": BETAS, "eps": POSITIVE, "amsgrad": Boolean(), **_DECAY}),
    "rmsprop": (
        "RMSprop",
        {"alpha": NON_NEGATIVE, "eps": POSITIVE, "momentum": NON_NEGATIVE, "centered": Boolean(), **_DECAY},
    ),
    "adagrad": (
        "Adagrad",
        {"lr_decay": NON_NEGATIVE, "initial_accumulator_value": NON_NEGATIVE, "eps": POSITIVE, **_DECAY},
    ),
    "adadelta": ("Adadelta", {"rho": Number(0, 1), "eps": POSITIVE, **_DECAY}),
    "adamax": ("Adamax", {"betas": BETAS, "eps": POSITIVE, **_DECAY}),
    "nadam": ("NAdam", {"betas": BETAS, "eps": POSITIVE, "momentum_decay": NON_NEGATIVE, **_DECAY}),
}

# name in the config -> (class in chainrule.optim.lr_scheduler, {option: kind}, required options, interval)
SCHEDULES = {
    "step": ("StepLR", {"step_size": POSITIVE_INT, "gamma": POSITIVE}, ("step_size",), "epoch"),
    "multistep": (
        "MultiStepLR",
        {"milestones": ListOf(POSITIVE_INT, min_length=1), "gamma": POSITIVE},
        ("milestones",),
        "epoch",
    ),
    "exponential": ("ExponentialLR", {"gamma": POSITIVE}, ("gamma",), "epoch"),
    "cosine": ("CosineAnnealingLR", {"T_max": POSITIVE_INT, "eta_min": NON_NEGATIVE}, (), "epoch"),
    "linear": (
        "LinearLR",
        {"start_factor": Number(0, 1, low_open=True), "end_factor": Number(0, 1), "total_iters": POSITIVE_INT},
        (),
        "epoch",
    ),
    "plateau": (
        "ReduceLROnPlateau",
        {
            "factor": OPEN_FRACTION,
            "patience": NON_NEGATIVE_INT,
            "threshold": NON_NEGATIVE,
            "cooldown": NON_NEGATIVE_INT,
            "min_lr": NON_NEGATIVE,
        },
        (),
        "epoch",
    ),
    "onecycle": (
        "OneCycleLR",
        {
            "max_lr": POSITIVE,
            "pct_start": OPEN_FRACTION,
            "anneal_strategy": Choice("cos", "linear"),
            "div_factor": POSITIVE,
            "final_div_factor": POSITIVE,
        },
        (),
        "step",
    ),
}

# section -> {key: (kind, default)}; a default of REQUIRED must be given, None means "not set",
# UNSET leaves the key out of the validated config unless the file gives it
REQUIRED = object()
UNSET = object()
SECTIONS = {
    "data": {
        "name": (Choice(*DATASETS), REQUIRED),
        "batch_size": (POSITIVE_INT, 32),
        "validation": (FRACTION, 0.1),
        "test_size": (OPEN_FRACTION, 0.2),
        "root": (Text(), None),
        "n_samples": (Integer(10), None),  # None: the generator's own default
        "noise": (NON_NEGATIVE, None),
    },
    "model": {
        "kind": (Choice("mlp", "cnn", "rnn"), UNSET),  # UNSET is "mlp"; the other keys depend on it
        "layers": (ListOf(POSITIVE_INT), [128, 64]),
        "activation": (Choice(*ACTIVATIONS), "relu"),
        "dropout": (FRACTION, 0.0),
    },
    "loss": {"name": (Choice(*LOSSES), "cross_entropy")},  # + the loss's options
    "optimizer": {"name": (Choice(*OPTIMIZERS), "adam"), "lr": (POSITIVE, None)},  # + the optimizer's options
    "schedule": {"name": (Choice(*SCHEDULES), REQUIRED)},  # + the scheduler's options
    "train": {
        "epochs": (POSITIVE_INT, 10),
        "seed": (NON_NEGATIVE_INT, 0),
        "early_stopping_patience": (POSITIVE_INT, None),
        "clip_grad_norm": (POSITIVE, UNSET),
        "device": (Choice("cpu", "cuda"), "cpu"),
        "checkpoint_every": (POSITIVE_INT, UNSET),  # steps between checkpoints in RUN_DIR/checkpoints
        "keep_last": (POSITIVE_INT, UNSET),  # how many of those to keep (UNSET: 3)
    },
}


# ------------------------------------------------------------------ the model kinds
class ConvBlock(Table):
    """One block of a CNN: Conv2d -> norm -> activation -> pooling -> Dropout2d."""

    GROUPS = 8  # GroupNorm's number of groups for norm = "group"

    def __init__(self):
        super().__init__(
            {
                "channels": (POSITIVE_INT, REQUIRED),
                "kernel": (POSITIVE_INT, 3),
                "stride": (POSITIVE_INT, 1),
                "padding": (NON_NEGATIVE_INT, None),  # None: kernel // 2
                "norm": (Choice("none", "batch", "group"), "none"),
                "pool": (POSITIVE_INT, 1),
                "pooling": (Choice("max", "avg"), "max"),
                "dropout": (FRACTION, 0.0),
            },
            "a conv block",
            example="{channels = 32, kernel = 3, pool = 2}",
        )

    def check(self, key, value):
        block = super().check(key, value)
        if block["padding"] is None:
            block["padding"] = block["kernel"] // 2
        if block["norm"] == "group" and block["channels"] % self.GROUPS:
            raise ConfigError(
                f"{key}.norm",
                f'"group" normalizes {self.GROUPS} groups of channels; expected channels divisible by {self.GROUPS}, '
                f"got {block['channels']}",
            )
        return block


CONV_BLOCKS = ListOf(ConvBlock(), min_length=1)
# model.kind -> {key: (kind, default)}: the keys of [model] besides kind
MODEL_KINDS = {
    "mlp": {key: spec for key, spec in SECTIONS["model"].items() if key != "kind"},
    "cnn": {
        "conv": (
            CONV_BLOCKS,
            CONV_BLOCKS.check("model.conv", [{"channels": 32, "pool": 2}, {"channels": 64, "pool": 2}]),
        ),
        "layers": (ListOf(POSITIVE_INT), [128]),
        "activation": (Choice(*ACTIVATIONS), "relu"),
        "dropout": (FRACTION, 0.0),
    },
    "rnn": {
        "cell": (Choice("lstm", "gru", "rnn"), "lstm"),
        "hidden_size": (POSITIVE_INT, 128),
        "num_layers": (POSITIVE_INT, 1),
        "bidirectional": (Boolean(), False),
        "dropout": (FRACTION, 0.0),
        "nonlinearity": (Choice("tanh", "relu"), UNSET),  # cell = "rnn" only
    },
}
# image sets -> (H, W); a cnn sees (1, H, W), an rnn H time steps of W features
IMAGE_SHAPES = {"digits": (8, 8), "fashion_mnist": (28, 28), "mnist": (28, 28)}


def model_kind(config):
    """The validated config's model kind: "mlp", "cnn" or "rnn" (an MLP config need not say)."""
    return config["model"].get("kind", "mlp")


def conv_output_shape(block, height, width):
    """(H', W') after a conv block: the convolution, then a pooling window of stride ``pool``."""
    k, s, p = block["kernel"], block["stride"], block["padding"]
    height, width = ((n + 2 * p - k) // s + 1 for n in (height, width))
    return height // block["pool"], width // block["pool"]


OPTIONAL_SECTIONS = ("schedule",)
# sections whose "name" picks a table of further options
NAMED_OPTIONS = {
    "loss": lambda name: LOSSES[name][1],
    "optimizer": lambda name: OPTIMIZERS[name][1],
    "schedule": lambda name: SCHEDULES[name][1],
}


# ------------------------------------------------------------------ validation
def load(path):
    """Read and validate the TOML file at ``path``; returns the validated config (a dict)."""
    try:
        with open(path, "rb") as file:
            raw = tomllib.load(file)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("(file)", f"not valid TOML: {error}") from None
    return validate(raw)


def validate(raw):
    """Check a parsed config against the schema; returns a new dict with every default filled in.

    raw: {section: {key: value}} as ``tomllib`` parses it. Sections left out get their defaults;
    ``[schedule]`` left out means no schedule (``config["schedule"]`` is None).
    """
    if not isinstance(raw, dict):
        raise ConfigError("(top level)", f"expected a table of sections, got {_describe(raw)}")
    for section, table in raw.items():
        if section not in SECTIONS:
            raise ConfigError(section, f"unknown section [{section}]; allowed sections: {', '.join(SECTIONS)}")
        if not isinstance(table, dict):
            raise ConfigError(section, f"expected a table [{section}], got {_describe(table)}")
    if "data" not in raw:
        raise ConfigError("data", "missing section [data]; it needs at least name = one of " + _quoted(DATASETS))
    config = {}
    for section, keys in SECTIONS.items():
        if section in OPTIONAL_SECTIONS and section not in raw:
            config[section] = None
            continue
        table = copy.deepcopy(raw.get(section, {}))
        if section == "model":
            keys = _model_keys(table)
        config[section] = _validate_section(section, keys, table)
    _check_combinations(config, raw)
    return config


def _model_keys(table):
    """The keys [model] may hold: kind, and those of the kind the table names."""
    kind_spec = SECTIONS["model"]["kind"]
    kind = kind_spec[0].check("model.kind", table["kind"]) if "kind" in table else "mlp"
    return {"kind": kind_spec, **MODEL_KINDS[kind]}


def _validate_section(section, keys, table):
    result = {}
    for key, (kind, default) in keys.items():
        if key in table:
            result[key] = kind.check(f"{section}.{key}", table.pop(key))
        elif default is REQUIRED:
            raise ConfigError(f"{section}.{key}", f"missing; expected {kind.description}")
        elif default is not UNSET:
            result[key] = copy.deepcopy(default)
    options = NAMED_OPTIONS[section](result["name"]) if section in NAMED_OPTIONS else {}
    for key, value in table.items():
        if key not in options:
            allowed = sorted(keys) + sorted(options)
            if section in NAMED_OPTIONS:
                what = f'for {section} "{result["name"]}"'
            elif section == "model":
                what = f'for model kind "{result.get("kind", "mlp")}"'
            else:
                what = f"in [{section}]"
            raise ConfigError(f"{section}.{key}", f"unknown key {what}; allowed keys: {', '.join(allowed)}")
        result[key] = options[key].check(f"{section}.{key}", value)
    return result


def _check_combinations(config, raw):
    """Rules that involve more than one key."""
    data, loss = config["data"], config["loss"]
    given = raw.get("data", {})
    if data["name"] == "xor" and given.get("validation", 0) > 0:
        raise ConfigError("data.validation", "xor has only its 4 points, which are also its test set; expected 0")
    if data["name"] == "xor":
        data["validation"] = 0.0
    if "test_size" in given and data["name"] not in SPLIT_SETS:
        raise ConfigError("data.test_size", f"{data['name']!r} comes with its own test set; remove the key")
    for key, sets in (("root", IDX_SETS), ("n_samples", GENERATED_SIZES), ("noise", GENERATED_SIZES)):
        if key in given and data["name"] not in sets:
            raise ConfigError(f"data.{key}", f"only for data.name = {_quoted(sets)}, not {data['name']!r}")
    for key, sets in (("test_size", SPLIT_SETS), ("n_samples", GENERATED_SIZES), ("noise", GENERATED_SIZES)):
        if data["name"] not in sets:
            data[key] = None  # does not apply to this data set
    if loss["name"] == "bce_with_logits" and data["name"] not in BINARY_SETS:
        raise ConfigError(
            "loss.name", f'"bce_with_logits" needs a two-class data set ({_quoted(BINARY_SETS)}), not {data["name"]!r}'
        )
    schedule = config["schedule"]
    if schedule is not None:
        for key in SCHEDULES[schedule["name"]][2]:
            if key not in schedule:
                kind = SCHEDULES[schedule["name"]][1][key]
                raise ConfigError(f"schedule.{key}", f'missing; schedule "{schedule["name"]}" needs {kind.description}')
        if schedule["name"] == "plateau" and data["validation"] == 0:
            raise ConfigError("schedule.name", '"plateau" watches val_loss; expected data.validation > 0')
    if config["train"]["early_stopping_patience"] is not None and data["validation"] == 0:
        raise ConfigError("train.early_stopping_patience", "watches val_loss; expected data.validation > 0")
    _check_model(config)
    _check_nesterov(config["optimizer"])
    _check_split_sizes(config)


def _check_model(config):
    """A cnn needs images, and every block must leave at least one pixel; nonlinearity is for cell = "rnn"."""
    model, name = config["model"], config["data"]["name"]
    kind = model_kind(config)
    if kind == "cnn":
        if name not in IMAGE_SHAPES:
            raise ConfigError("model.kind", f'"cnn" needs an image data set ({_quoted(IMAGE_SHAPES)}), not {name!r}')
        height, width = IMAGE_SHAPES[name]
        for index, block in enumerate(model["conv"]):
            before = (height, width)
            height, width = conv_output_shape(block, height, width)
            if height < 1 or width < 1:
                raise ConfigError(
                    f"model.conv[{index}]",
                    f"{name}'s images are {before[0]}x{before[1]} when they reach this block, which leaves "
                    f"{max(height, 0)}x{max(width, 0)}; expected at least 1x1 (fewer blocks, a smaller kernel, "
                    "stride or pool, or more padding)",
                )
    if kind == "rnn" and "nonlinearity" in model and model["cell"] != "rnn":
        raise ConfigError("model.nonlinearity", f'only for model.cell = "rnn", not "{model["cell"]}"')


def _check_nesterov(optimizer):
    """PyTorch's SGD refuses Nesterov momentum without momentum or with dampening; say so here."""
    if optimizer["name"] != "sgd" or not optimizer.get("nesterov"):
        return
    momentum, dampening = optimizer.get("momentum", 0.0), optimizer.get("dampening", 0.0)
    if momentum <= 0 or dampening != 0:
        raise ConfigError(
            "optimizer.nesterov",
            f"Nesterov momentum needs momentum > 0 and dampening = 0, got momentum = {momentum:g} and "
            f"dampening = {dampening:g}",
        )


# scikit-learn's bundled sets: (samples, classes); their train/test split is stratified
SKLEARN_SIZES = {"digits": (1797, 10), "iris": (150, 3), "wine": (178, 3), "breast_cancer": (569, 2)}


def _check_split_sizes(config):
    """Every split that test_size and validation cut must keep at least one sample per class to
    train on (and, for the stratified scikit-learn splits, one per class to test on)."""
    data = config["data"]
    name, test_size, validation = data["name"], data["test_size"], data["validation"]
    if name in SKLEARN_SIZES:
        total, classes = SKLEARN_SIZES[name]
        n_test = math.ceil(test_size * total)  # scikit-learn's train_test_split
        n_train = total - n_test
        if min(n_test, n_train) < classes:
            raise ConfigError(
                "data.test_size",
                f"{name} has {total} samples of {classes} classes; test_size = {test_size:g} leaves {n_train} to train "
                f"on and {n_test} to test on, expected at least {classes} in each (the split is stratified)",
            )
    elif name in GENERATED_SIZES:
        total, classes = data["n_samples"] or _generator_default(name, "n_samples"), _generated_classes(name)
        n_train = total - max(1, round(total * test_size))  # experiment._split's rule
    else:
        return
    if validation > 0:
        held_out = max(1, round(n_train * validation))
        if n_train - held_out < classes:
            raise ConfigError(
                "data.validation",
                f"{name}'s {n_train} training samples less validation = {validation:g} of them ({held_out}) leave "
                f"{n_train - held_out} to train on; expected at least {classes}, one per class",
            )
    elif n_train < classes:
        raise ConfigError(
            "data.test_size",
            f"{name}'s {total} samples less test_size = {test_size:g} of them leave {n_train} to train on; expected "
            f"at least {classes}, one per class",
        )


def _generator_default(name, parameter):
    import inspect

    from .. import datasets

    return inspect.signature(getattr(datasets, name)).parameters[parameter].default


def _generated_classes(name):
    return 2 if name == "moons" else _generator_default(name, "n_classes")


def describe(width=79):
    """A summary of the schema, a paragraph per section (``chainrule train --help`` shows it)."""
    named = {"loss": LOSSES, "optimizer": OPTIMIZERS, "schedule": SCHEDULES}
    lines = ["config sections (every key is optional but data.name; unknown keys are errors):"]

    def paragraph(text):
        lines.append(
            textwrap.fill(text, width, initial_indent="  ", subsequent_indent="      ", break_on_hyphens=False)
        )

    for section, keys in SECTIONS.items():
        if section == "model":
            paragraph("[model]: kind = mlp | cnn | rnn (default mlp), and the keys of that kind:")
            for kind, kind_keys in MODEL_KINDS.items():
                paragraph(f"  {kind}: " + "; ".join(_describe_keys(kind_keys)))
            block = ConvBlock().keys
            paragraph("  a conv block: {" + "; ".join(_describe_keys(block)) + "}, e.g. {channels = 32, pool = 2}")
            continue
        parts = _describe_keys(keys)
        if section in named:
            parts.append("and the options of that " + ("loss" if section == "loss" else section))
        optional = " (optional)" if section in OPTIONAL_SECTIONS else ""
        paragraph(f"[{section}]{optional}: " + "; ".join(parts))
    return "\n".join(lines)


def _describe_keys(keys):
    parts = []
    for key, (kind, default) in keys.items():
        if isinstance(kind, Choice):
            parts.append(f"{key}{' (required)' if default is REQUIRED else ''} = {' | '.join(kind.choices)}")
        else:
            parts.append(f"{key}{' (required)' if default is REQUIRED else ''}")
    return parts


def _quoted(names):
    return ", ".join(f'"{name}"' for name in names)


def to_toml(config):
    """The validated config as TOML text (what a run directory's config.toml holds).

    Keys left unset (None) are left out, so reading the text back gives the same config.
    """
    lines = []
    for section, table in config.items():
        if table is None:
            continue
        if lines:
            lines.append("")
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in table.items() if value is not None)
    return "\n".join(lines) + "\n"


def _toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float):
        return repr(value)  # round-trips exactly
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):  # one table a line
        return "[\n" + "".join(f"    {_toml_value(v)},\n" for v in value) + "]"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):  # an inline table, e.g. a conv block
        return "{" + ", ".join(f"{key} = {_toml_value(v)}" for key, v in value.items() if v is not None) + "}"
    return str(value)
