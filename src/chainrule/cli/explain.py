"""``chainrule explain``: one training step of a tiny network, printed in full.

By default a 2-3-1 network (sigmoid hidden and output units) on the four XOR points, mean squared
error, one plain SGD step with lr 0.5, weights drawn with seed 0; ``--activation``, ``--hidden``,
``--loss``, ``--lr``, ``--seed`` change it, ``--config`` takes the MLP and the first few training
samples of a ``chainrule train`` config instead. The numbers come from
:func:`chainrule.viz.explain.explain_step`: the textbook δ recursion next to the engine's gradients.

Example::

    >>> run_explain(build_parser().parse_args(["explain", "--activation", "tanh", "--hidden", "4", "3"]))
    0
"""

import inspect
import math
import os

import numpy as np

from .. import datasets, nn, optim
from ..random import manual_seed
from .config import OPTIMIZERS, model_kind
from .errors import UsageError

DEFAULTS = {"activation": "sigmoid", "loss": "mse", "hidden": [3], "lr": 0.5, "samples": 4}
HIDDEN = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}
LOSS_NAMES = {"mse": "mean squared error", "cross_entropy": "cross-entropy"}


def run_explain(args, say=print):
    """Print one explained step for the parsed ``args`` of ``chainrule explain``; returns 0."""
    from ..viz.explain import explain_step

    if args.lr is not None and not (math.isfinite(args.lr) and args.lr > 0):
        raise UsageError(f"--lr: expected a positive number, got {args.lr}")
    if not 0 <= args.precision <= 15:
        raise UsageError(f"--precision: expected digits after the point in 0..15, got {args.precision}")
    if args.config is not None:
        header, model, x, y, loss, lr = _from_config(args)
    else:
        header, model, x, y, loss, lr = _xor(args)
    try:
        step = explain_step(model, x, y, loss=loss, lr=lr)
    except (TypeError, ValueError) as error:  # a model explain cannot show, e.g. one with Dropout
        raise UsageError(str(error)) from None
    for line in header:
        say(line)
    say("")
    say(step.text(precision=args.precision).rstrip("\n"))
    return 0


def _xor(args):
    if args.samples is not None:
        raise UsageError("--samples goes with --config; XOR always has its 4 points")
    activation = args.activation or DEFAULTS["activation"]
    loss = args.loss or DEFAULTS["loss"]
    hidden = args.hidden or DEFAULTS["hidden"]
    lr = DEFAULTS["lr"] if args.lr is None else args.lr
    x, y = (np.asarray(t, dtype=np.float64) for t in datasets.xor().tensors)
    seed = 0 if args.seed is None else args.seed
    manual_seed(seed)
    layers, width = [], 2
    for size in hidden:
        layers += [nn.Linear(width, size), HIDDEN[activation]()]
        width = size
    if loss == "mse":
        layers += [nn.Linear(width, 1), nn.Sigmoid()]  # outputs in (0, 1), like the targets
        outputs, output = 1, "1 sigmoid unit"
    else:
        layers.append(nn.Linear(width, 2))  # logits of class 0 and class 1
        y = y.reshape(-1).astype(np.int64)
        outputs, output = 2, "2 logits (classes 0 and 1, no activation)"
    model = nn.Sequential(*layers)
    sizes = "-".join(str(n) for n in [2, *hidden, outputs])
    header = [
        f"chainrule explain: one training step of a {sizes} network, every number shown",
        "  data: the 4 XOR points, one per row: (x1, x2) -> x1 xor x2",
        f"  hidden units: {activation}; output: {output}",
        f"  loss: {LOSS_NAMES[loss]}; weights: PyTorch's default init with seed {seed} (--seed)",
        f"  one plain SGD step with lr = {lr:g} (--lr)",
    ]
    return header, model, x, y, loss, lr


def _from_config(args):
    from .config import load
    from .experiment import build_model, load_data

    given = [f"--{name}" for name in ("activation", "loss", "hidden") if getattr(args, name) is not None]
    if given:
        raise UsageError(f"{', '.join(given)}: the model and loss come from --config; leave these out")
    if not os.path.isfile(args.config):
        raise UsageError(f"{args.config}: no such config file")
    config = load(args.config)
    if model_kind(config) != "mlp":
        raise UsageError(f'explain shows MLPs; {args.config} has model.kind = "{model_kind(config)}"')
    loss_spec = config["loss"]
    if loss_spec["name"] != "cross_entropy" or loss_spec.get("label_smoothing", 0.0):
        raise UsageError(
            f'explain shows loss.name = "cross_entropy" (without label_smoothing) for a config; '
            f"{args.config} has {_loss_text(loss_spec)}"
        )
    seed = config["train"]["seed"] if args.seed is None else args.seed
    config["train"]["seed"] = seed
    data = load_data(config)
    manual_seed(seed)  # the initial weights, as `chainrule train` draws them
    model = build_model(config, data)
    count = args.samples or DEFAULTS["samples"]
    inputs, targets = (np.asarray(t) for t in data.train.tensors)
    x, y = inputs[:count].astype(np.float64), targets[:count].astype(np.int64)
    lr = args.lr if args.lr is not None else _config_lr(config)
    name = config["optimizer"]["name"]
    sizes = "-".join(str(n) for n in [data.num_features, *config["model"]["layers"], data.num_classes])
    header = [
        f"chainrule explain: one training step of a {sizes} MLP, every number shown",
        f"  model: {args.config} (hidden units: {config['model']['activation']}; {data.num_classes} logits out)",
        f"  data: {config['data']['name']}, the first {len(x)} training samples, one per row",
        f"  loss: cross-entropy; weights: PyTorch's default init with seed {seed}",
        f"  one plain SGD step with lr = {lr:g}" + ("" if name == "sgd" else f" (explain shows SGD, not {name})"),
    ]
    return header, model, x, y, "cross_entropy", lr


def _loss_text(spec):
    options = ", ".join(f"{key} = {value}" for key, value in spec.items() if key != "name")
    return f'loss.name = "{spec["name"]}"' + (f", {options}" if options else "")


def _config_lr(config):
    """The config's optimizer.lr, or that optimizer's default lr when the config leaves it out."""
    spec = config["optimizer"]
    if spec.get("lr") is not None:
        return spec["lr"]
    cls = getattr(optim, OPTIMIZERS[spec["name"]][0])
    return inspect.signature(cls).parameters["lr"].default
