"""``chainrule lr-find CONFIG.toml``: the learning-rate range test on a config's training split.

The model, loss, optimizer and data are built from the config exactly as ``chainrule train``
builds them (same seed, same initial weights, same batches), then
:func:`chainrule.train.lr_find` sweeps the learning rate. Writes ``OUT/lr_find.png`` (the curve,
needs the ``plot`` extra) and ``OUT/lr_find.csv`` (step, lr, loss, smoothed), and prints a table of
the curve and the suggested learning rate to put in the config's ``[optimizer] lr``.

Example::

    >>> result, files = run_lr_find(load("examples/configs/digits_mlp.toml"), "runs/digits", num_iter=100)
    >>> result.suggestion                       # the LR where the smoothed loss falls fastest
    0.045
    >>> files
    ['runs/digits/lr_find.csv', 'runs/digits/lr_find.png']
"""

import csv
import os

from .errors import UsageError


def run_lr_find(config, out, start_lr=None, end_lr=None, num_iter=None, say=print):
    """Run the range test that ``config`` (validated) describes and write its files into ``out``.

    ``start_lr``, ``end_lr``, ``num_iter``: None for :func:`~chainrule.train.lr_find`'s defaults
    (1e-7, 10, 100). Returns ``(LRFinderResult, [paths written])``.
    """
    from ..train import lr_find
    from .experiment import load_data
    from .run import _build, _steps, has_module

    options = {"start_lr": start_lr, "end_lr": end_lr, "num_iter": num_iter}
    options = {key: value for key, value in options.items() if value is not None}
    low, high = options.get("start_lr", 1e-7), options.get("end_lr", 10.0)
    if low >= high:
        raise UsageError(f"--start-lr must be below --end-lr, got --start-lr {low:g} and --end-lr {high:g}")
    if os.path.exists(out) and not os.path.isdir(out):
        raise UsageError(f"--out {out}: exists and is not a directory")
    data = load_data(config)
    _, trainer = _build(config, data, steps_per_epoch=_steps(config, data))  # as `chainrule train` builds it
    result = lr_find(
        trainer.model,
        trainer.loss_fn,
        trainer.optimizer,
        data.train,
        batch_size=config["data"]["batch_size"],
        seed=config["train"]["seed"],
        **options,
    )
    os.makedirs(out, exist_ok=True)
    written = [_write_csv(result, os.path.join(out, "lr_find.csv"))]
    if has_module("matplotlib"):
        written.append(result.plot(os.path.join(out, "lr_find.png")))
    else:
        say("lr_find.png not plotted: matplotlib is missing (pip install 'chainrule[plot]')")
    return result, written


def _write_csv(result, path):
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["step", "lr", "loss", "smoothed"])
        for step, row in enumerate(zip(result.lrs, result.losses, result.smoothed), start=1):
            writer.writerow([step, *(repr(float(value)) for value in row)])
    return path


def report(result, config, files, say=print):
    """Print the curve as a table, how the test ended, the suggestion and the files written."""
    optimizer = config["optimizer"]["name"]
    steps = len(result.lrs)
    say(
        f"learning-rate range test on {config['data']['name']} ({optimizer}, batch {config['data']['batch_size']}): "
        f"{steps} steps, lr {result.lrs[0]:.3g} to {result.lrs[-1]:.3g}"
    )
    say(result.table())
    if result.stop_reason == "diverged":
        say(f"stopped after {steps} of {result.num_iter} steps: the smoothed loss diverged")
    elif result.stop_reason == "nan":
        say(f"stopped after {steps} of {result.num_iter} steps: the loss was NaN or infinite")
    steepest, minimum = result.suggest("steepest"), result.suggest("minimum")
    if steepest is None:
        say("no suggestion: the smoothed loss never fell; try a wider range (--start-lr, --end-lr) or --num-iter")
    else:
        say(f"suggested lr: {steepest:.3g} (steepest descent of the smoothed loss); lowest loss / 10: {minimum:.3g}")
        say(f"to train with it, set in the config:  [optimizer] lr = {steepest:.3g}")
    say("written: " + ", ".join(files))


def main(args):
    """The ``lr-find`` command (``args`` from the parser in :mod:`chainrule.cli`); returns 0."""
    from .config import load

    if not os.path.isfile(args.config):
        raise UsageError(f"{args.config}: no such config file")
    config = load(args.config)
    out = args.out or os.path.join("runs", os.path.splitext(os.path.basename(args.config))[0])
    result, files = run_lr_find(config, out, args.start_lr, args.end_lr, args.num_iter)
    report(result, config, files)
    return 0
