"""The ``chainrule`` command: ``demo``, ``train CONFIG.toml``, ``evaluate RUN_DIR``.

A thin shell over the library: the config schema is in :mod:`.config`, building a run from it in
:mod:`.experiment`, the run directory in :mod:`.run`, the demo in :mod:`.demo`, text pictures in
:mod:`.terminal`.

Exit status: 0 on success, 2 for a usage error (bad arguments, a bad config, a missing run
directory), 1 when a right command could not be carried out (data or an extra missing, a broken
checkpoint). User mistakes print one line on stderr, never a traceback. ``train`` stopped by
Ctrl-C or SIGTERM saves a checkpoint, prints the ``--resume`` command and exits with 130 / 143.

Example::

    >>> main(["train", "examples/configs/digits_mlp.toml", "--out", "runs/digits"])
    0
"""

import argparse
import math
import shlex
import sys
import textwrap

from .. import __version__
from ..errors import CheckpointError, DataFileError, DTypeError, NonFiniteError, ShapeError
from ..train.interrupt import TrainingInterrupted
from .config import ConfigError, describe
from .errors import RunError, UsageError

# What a right command meets when the world is not as it needs: an extra not installed, data not
# found or corrupt, a broken checkpoint, a model that does not fit its data, a loss gone NaN.
# Printed in one line.
RUNTIME_ERRORS = (ImportError, OSError, CheckpointError, DataFileError, ShapeError, DTypeError, NonFiniteError)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="chainrule: backpropagation made real. Train and evaluate networks from the command line.",
        epilog="Run `chainrule COMMAND --help` for a command's options. "
        "Exit status: 0 success, 1 runtime error, 2 usage error.",
    )
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    demo = commands.add_parser(
        "demo",
        help="train an MLP on handwritten digits in seconds and show what it learned",
        description="Train an MLP (64-128-64-10, ReLU, Adam) on scikit-learn's bundled 8x8 digits, then print "
        "the test accuracy, a confusion matrix and a few test digits with the network's guesses, and save "
        "the learning curves as a PNG. Needs the `datasets` extra (scikit-learn); the plot needs `plot`.",
    )
    demo.add_argument("--epochs", type=_positive_int, default=20, help="passes over the training set (default 20)")
    demo.add_argument("--seed", type=_non_negative_int, default=0, help="seed of weights, split, order (default 0)")
    demo.add_argument(
        "--out", default="chainrule-demo", metavar="DIR", help="where the run is written (default ./chainrule-demo)"
    )

    train = commands.add_parser(
        "train",
        help="train the network a TOML config describes",
        description=textwrap.fill(
            "Train the network that CONFIG.toml describes ([data], [model], [loss], [optimizer], "
            "[schedule], [train]; see examples/configs/). Writes RUN_DIR with config.toml, metrics.csv, "
            "curves.png, best.safetensors and last.safetensors, and prints the test metrics of both "
            "checkpoints and the confusion matrix of the best.",
            width=79,
        ),
        epilog=describe(width=79),
        formatter_class=argparse.RawDescriptionHelpFormatter,  # the text above is wrapped already
    )
    train.add_argument("config", metavar="CONFIG.toml", help="the run's config file")
    train.add_argument("--out", metavar="RUN_DIR", help="the run directory (default runs/<config name>)")
    train.add_argument("--overwrite", action="store_true", help="replace a run already in RUN_DIR")
    train.add_argument("--quiet", action="store_true", help="no progress output, only the final metrics")
    train.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR (stopped by Ctrl-C, SIGTERM or a crash) from its newest checkpoint; "
        "CONFIG must be the run's config",
    )

    evaluate = commands.add_parser(
        "evaluate",
        help="measure a trained run on its test split",
        description="Rebuild the model from RUN_DIR/config.toml, load a checkpoint and report its test "
        "metrics: loss, accuracy and the confusion matrix.",
    )
    evaluate.add_argument("run_dir", metavar="RUN_DIR", help="a directory written by `chainrule train`")
    evaluate.add_argument(
        "--checkpoint", choices=("best", "last"), default="best", help="which checkpoint to load (default best)"
    )

    explain = commands.add_parser(
        "explain",
        help="print one training step of a tiny network: forward pass, loss, δ recursion, update",
        description="Print one training step of a tiny network with every number shown: the inputs, z and a of "
        "every layer, the loss, each layer's δ by the textbook formulas next to the engine's gradients (and their "
        "difference), and the weights after one plain SGD step. Default: a 2-3-1 sigmoid network on XOR, mean "
        "squared error, lr 0.5, seed 0.",
    )
    explain.add_argument(
        "--seed", type=_non_negative_int, help="seed of the initial weights (default 0, or the config's train.seed)"
    )
    explain.add_argument("--lr", type=float, help="learning rate of the SGD step (default 0.5)")
    explain.add_argument("--activation", choices=("sigmoid", "tanh", "relu"), help="hidden units (default sigmoid)")
    explain.add_argument(
        "--loss", choices=("mse", "cross_entropy"), help="mse: 1 sigmoid output; cross_entropy: 2 logits (default mse)"
    )
    explain.add_argument("--hidden", type=_positive_int, nargs="+", metavar="SIZE", help="hidden sizes (default 3)")
    explain.add_argument("--precision", type=_non_negative_int, default=6, help="digits after the point (default 6)")
    explain.add_argument(
        "--config", metavar="CONFIG.toml", help="explain the MLP of a `chainrule train` config on a few samples"
    )
    explain.add_argument("--samples", type=_positive_int, help="with --config: how many training samples (default 4)")

    lr_find = commands.add_parser(
        "lr-find",
        help="find a learning rate with the range test on a TOML config",
        description="Build the model, loss, optimizer and data of CONFIG.toml as `chainrule train` does, then "
        "train on the training split while the learning rate grows exponentially from --start-lr to --end-lr, "
        "stopping when the loss diverges. The model is not saved. Prints the loss curve and the suggested "
        "learning rate (steepest descent of the smoothed loss) and writes OUT/lr_find.png and OUT/lr_find.csv.",
    )
    lr_find.add_argument("config", metavar="CONFIG.toml", help="the run's config file")
    lr_find.add_argument("--out", metavar="DIR", help="where the plot and the CSV go (default runs/<config name>)")
    lr_find.add_argument("--start-lr", type=_positive_float, metavar="LR", help="the first learning rate (1e-7)")
    lr_find.add_argument("--end-lr", type=_positive_float, metavar="LR", help="the last learning rate (10)")
    lr_find.add_argument(
        "--num-iter", type=lambda text: _int_at_least(text, 2), metavar="N", help="steps (default 100)"
    )
    return parser


def _positive_int(text):
    return _int_at_least(text, 1)


def _non_negative_int(text):
    return _int_at_least(text, 0)


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text}")
    return value


def _int_at_least(text, low):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {value}")
    return value


def main(argv=None):
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version (0) and argparse's usage errors (2)
        return stop.code if isinstance(stop.code, int) else 2
    try:
        return COMMANDS[args.command](args)
    except ConfigError as error:
        return _fail(f"{args.command}: config error in {getattr(args, 'config', 'the run')}: {error}", 2)
    except (UsageError, RunError) as error:
        return _fail(f"{args.command}: {error}", error.exit_status)
    except RUNTIME_ERRORS as error:
        return _fail(f"{args.command}: {error}", 1)
    except KeyboardInterrupt:
        return _fail(f"{args.command}: interrupted", 130)


def _fail(message, status):
    print(f"chainrule {message}", file=sys.stderr)
    return status


def _demo(args):
    from .demo import run_demo

    run_demo(epochs=args.epochs, seed=args.seed, out=args.out)
    return 0


def _train(args):
    import os

    from .config import load
    from .run import report, train_run

    if not os.path.isfile(args.config):
        raise UsageError(f"{args.config}: no such config file")
    config = load(args.config)
    stem = os.path.splitext(os.path.basename(args.config))[0]
    run_dir = args.out or os.path.join("runs", stem)
    if args.resume is not None:
        run_dir = _resume_dir(args, config)
        if run_dir is None:
            return 0  # the run had finished: said so
    try:
        result = train_run(
            config, run_dir, verbose=not args.quiet, overwrite=args.overwrite, resume=args.resume is not None
        )
    except TrainingInterrupted as stop:
        hint = f"chainrule train {shlex.quote(args.config)} --resume {shlex.quote(run_dir)}"
        where = f"{stop.step} batches into epoch {stop.epoch + 1}" if stop.step else f"after epoch {stop.epoch}"
        print(f"chainrule train: stopped by {stop.signal_name} ({where}); checkpoint written to "
              f"{stop.checkpoint}\nresume with: {hint}", file=sys.stderr)  # fmt: skip
        return stop.exit_status
    print(f"run written to {os.path.join(run_dir, '')}")
    report(result.test["last"], result.data, "last", matrix=False)
    report(result.test["best"], result.data, "best")
    return 0


def _resume_dir(args, config):
    """The run directory of ``train --resume``, or None (after saying so) when that run had finished."""
    from .run import resume_point

    if args.overwrite or (args.out is not None and args.out != args.resume):
        raise UsageError("--resume RUN_DIR continues that run: leave out --out and --overwrite")
    _, state = resume_point(config, args.resume)
    if state is not None and state["position"]["finished"]:
        position = state["position"]
        print(
            f"{args.resume}: the run already finished (epoch {position['epoch']} of {config['train']['epochs']}"
            f"{', stopped early' if position['stopped_early'] else ''}); nothing to resume. "
            f"Its test metrics: chainrule evaluate {shlex.quote(args.resume)}"
        )
        return None
    return args.resume


def _explain(args):
    from .explain import run_explain

    return run_explain(args)


def _evaluate(args):
    from .run import evaluate_run, report

    _, data, metrics = evaluate_run(args.run_dir, args.checkpoint)
    report(metrics, data, args.checkpoint)
    return 0


def _lr_find(args):
    from .lr_find import main as lr_find_main

    return lr_find_main(args)


COMMANDS = {"demo": _demo, "train": _train, "evaluate": _evaluate, "explain": _explain, "lr-find": _lr_find}
