"""A training run on disk: ``train`` writes a run directory, ``evaluate`` reads one back.

A run directory holds::

    config.toml         the validated config, every default written out (rebuilds the model)
    metrics.csv         one row per epoch: epoch, loss, accuracy, val_loss, val_accuracy, lr
    curves.png          the learning curves (needs the ``plot`` extra: matplotlib)
    best.safetensors    model + optimizer + epoch at the lowest val_loss (train loss without validation)
    last.safetensors    the full training state after the last epoch done (model, optimizer, scheduler,
                        RNGs, callbacks, config: see chainrule.train.resume), rewritten atomically
    checkpoints/        step-00000123.safetensors: with train.checkpoint_every, and when a run is
                        interrupted (Ctrl-C, SIGTERM); the newest train.keep_last (3) are kept

``chainrule train CONFIG --resume RUN_DIR`` continues from the newest of last.safetensors and the
step checkpoints (``train_run(..., resume=True)``) and ends with the weights an uninterrupted run
would have; metrics.csv is rewritten atomically each epoch, so it never repeats a row.

Example::

    >>> result = train_run(validate({"data": {"name": "iris"}, "train": {"epochs": 3}}), "runs/iris")
    >>> sorted(result.test)                            # metrics of each checkpoint on the test split
    ['best', 'last']
"""

import os
from dataclasses import dataclass

import numpy as np

from .. import backend, cuda, io
from .. import train as crtrain
from ..io.checkpoint import _write_atomic
from ..random import manual_seed
from ..train import metrics
from ..train.resume import config_differences, latest_checkpoint, step_files
from .config import load, to_toml
from .errors import RunError, UsageError
from .experiment import build_loss, build_model, build_optimizer, build_scheduler, load_data
from .terminal import format_confusion_matrix, format_metrics


@dataclass
class RunResult:
    """What a run produced: its pieces, its History and the test metrics of each checkpoint."""

    config: dict
    data: object
    model: object
    trainer: object
    history: object
    test: dict  # {"best": {"epoch", "loss", "accuracy", "confusion_matrix": (C, C)}, "last": {...}}
    curves: str  # path of curves.png, or None when matplotlib is missing


def has_module(name):
    """Whether ``import name`` works (False also when a test has blocked it in sys.modules)."""
    try:
        __import__(name)
    except ImportError:
        return False
    return True


def check_run_dir(run_dir, overwrite):
    """Refuse a ``run_dir`` that is a file, or that already holds a run unless ``overwrite``."""
    if os.path.exists(run_dir) and not os.path.isdir(run_dir):
        raise UsageError(f"--out {run_dir}: exists and is not a directory")
    if os.path.exists(os.path.join(run_dir, "config.toml")) and not overwrite:
        raise UsageError(f"{run_dir} already holds a run (config.toml); choose another --out or pass --overwrite")


CHECKPOINTS = "checkpoints"  # the step checkpoints' directory in a run directory
KEEP_LAST = 3  # train.keep_last's default


def train_run(config, run_dir, verbose=True, overwrite=True, say=print, resume=False):
    """Train what ``config`` describes, writing ``run_dir``; returns a :class:`RunResult`.

    ``resume=True`` continues the run already in ``run_dir`` (whose config must be ``config``)
    from its newest checkpoint, or from the start when it has none yet."""
    if resume:
        resume_from, _ = resume_point(config, run_dir)
        if resume_from is None:
            say(f"{run_dir} has no checkpoint yet: training from the start")
    else:
        check_run_dir(run_dir, overwrite)
        resume_from = None
    data = load_data(config)  # data and model before anything is written: a failure leaves no half run
    model, trainer = _build(config, data, steps_per_epoch=_steps(config, data))
    os.makedirs(run_dir, exist_ok=True)
    if resume_from is None:  # an overwritten run's step files, or unreadable ones of a run resumed from the start
        for _, path in step_files(os.path.join(run_dir, CHECKPOINTS)):
            os.remove(path)
    if not resume:
        _write_atomic(os.path.join(run_dir, "config.toml"), to_toml(config).encode("utf-8"))
    monitor = "val_loss" if data.validation is not None else "loss"
    callbacks = [
        crtrain.DurableCSVLogger(os.path.join(run_dir, "metrics.csv")),
        crtrain.ModelCheckpoint(os.path.join(run_dir, "best.safetensors"), monitor=monitor, save_best_only=True),
    ]
    patience = config["train"]["early_stopping_patience"]
    if patience is not None:
        callbacks.append(crtrain.EarlyStopping(monitor="val_loss", patience=patience))
    callbacks.append(
        crtrain.TrainingCheckpoint(
            os.path.join(run_dir, CHECKPOINTS),
            every=config["train"].get("checkpoint_every"),
            keep_last=config["train"].get("keep_last", KEEP_LAST),
            epoch_path=os.path.join(run_dir, "last.safetensors"),
            config=config,
        )
    )
    history = trainer.fit(
        data.train,
        epochs=config["train"]["epochs"],
        batch_size=config["data"]["batch_size"],
        validation=data.validation,
        seed=config["train"]["seed"],
        verbose=verbose,
        callbacks=callbacks,
        resume=resume_from,
    )
    curves = None
    if has_module("matplotlib"):
        curves = os.path.join(run_dir, "curves.png")
        history.plot(curves)
    else:
        say("learning curves not plotted: matplotlib is missing (pip install 'chainrule[plot]')")
    test = {}
    for name in ("last", "best"):  # "last" first: the model in memory is the last one
        epoch = _load_checkpoint(model, os.path.join(run_dir, f"{name}.safetensors"))
        test[name] = {"epoch": epoch, **test_metrics(trainer, data, config)}
    return RunResult(config, data, model, trainer, history, test, curves)


def resume_point(config, run_dir):
    """(path, training state) of the checkpoint that resuming ``run_dir`` continues from, or
    (None, None) when it has none yet. Refuses (UsageError) a directory without a run, and a
    ``config`` that differs from the run's own (its config.toml and the checkpoint's copy)."""
    if not os.path.isdir(run_dir):
        raise UsageError(f"--resume {run_dir}: no such run directory")
    config_path = os.path.join(run_dir, "config.toml")
    if not os.path.isfile(config_path):
        raise UsageError(f"--resume {run_dir}: not a run directory (it has no config.toml)")
    path, state = latest_checkpoint(os.path.join(run_dir, CHECKPOINTS), os.path.join(run_dir, "last.safetensors"))
    for where, saved in (("config.toml", load(config_path)), (path, (state or {}).get("config"))):
        lines = config_differences(saved, config) if saved is not None else []
        if lines:
            raise UsageError(
                f"--resume {run_dir}: the config differs from the run's ({where}): {'; '.join(lines)}. "
                "Resume with the run's own config, or start a new run with --out"
            )
    return path, state


def evaluate_run(run_dir, checkpoint="best"):
    """Rebuild the model of ``run_dir``, load its ``checkpoint`` and measure it on the test split.

    Returns (config, data, test metrics) where the metrics are those of :func:`test_metrics`.
    """
    config_path = os.path.join(run_dir, "config.toml")
    if not os.path.isdir(run_dir):
        raise UsageError(f"{run_dir}: no such run directory")
    if not os.path.isfile(config_path):
        raise UsageError(f"{run_dir} is not a run directory: it has no config.toml")
    path = os.path.join(run_dir, f"{checkpoint}.safetensors")
    if not os.path.isfile(path):
        raise UsageError(f"{run_dir} has no {checkpoint}.safetensors checkpoint")
    config = load(config_path)
    data = load_data(config)
    model, trainer = _build(config, data, steps_per_epoch=_steps(config, data))
    epoch = _load_checkpoint(model, path)
    return config, data, {"epoch": epoch, **test_metrics(trainer, data, config)}


def _steps(config, data):
    return -(-len(data.train) // config["data"]["batch_size"])


def _build(config, data, steps_per_epoch):
    device = config["train"]["device"]
    if device == "cuda" and not cuda.is_available():
        raise RunError(
            "train.device = \"cuda\" needs CuPy and an NVIDIA GPU (pip install 'chainrule[gpu]'); "
            'none is available here, so set device = "cpu"'
        )
    manual_seed(config["train"]["seed"])  # the initial weights
    model = build_model(config, data).to(device)  # before the optimizer takes its parameters
    loss_fn = build_loss(config)
    optimizer = build_optimizer(config, model.parameters())
    scheduler, interval = build_scheduler(config, optimizer, steps_per_epoch)
    trainer = crtrain.Trainer(
        model,
        loss_fn,
        optimizer,
        metrics=["accuracy"],
        scheduler=scheduler,
        scheduler_interval=interval,
        device=device,
        clip_grad_norm=config["train"].get("clip_grad_norm"),  # absent: no clipping
    )
    return model, trainer


def _load_checkpoint(model, path):
    """Load the model weights of the checkpoint at ``path``; returns its epoch (1-based)."""
    state = io.load(path)
    if not isinstance(state, dict) or "model" not in state:
        raise RunError(f"{path}: not a chainrule training checkpoint (no 'model' entry)")
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, KeyError, ValueError) as error:  # names each missing, unexpected or misshapen entry
        raise RunError(f"{path} does not fit the model that config.toml describes: {error}") from None
    return state.get("epoch")


def predict_classes(trainer, data, config):
    """Predicted class indices (N,) for the test inputs (logits > 0 for ``bce_with_logits``)."""
    outputs = trainer.predict(data.test.tensors[0], batch_size=config["data"]["batch_size"])
    from_logits = True if config["loss"]["name"] == "bce_with_logits" else None
    return np.asarray(backend.to_device(metrics.predicted_classes(outputs, from_logits), backend.CPU))


def test_metrics(trainer, data, config):
    """{"loss", "accuracy", "confusion_matrix" (C, C) counts, rows = true class} on the test split."""
    results = dict(trainer.evaluate(data.test, batch_size=config["data"]["batch_size"]))
    true = np.asarray(data.test.tensors[1]).reshape(-1).astype(np.int64)
    predicted = predict_classes(trainer, data, config)
    results["confusion_matrix"] = metrics.confusion_matrix(predicted, true, data.num_classes)
    return results


def report(metrics, data, checkpoint, matrix=True, say=print):
    """Print the test metrics of ``checkpoint`` ("best" or "last"), and the confusion matrix unless
    ``matrix`` is False, the way train and evaluate show them."""
    epoch = f", epoch {metrics['epoch']}" if metrics.get("epoch") is not None else ""
    say(f"test metrics ({checkpoint}.safetensors{epoch}): {format_metrics(metrics, skip=('epoch',))}")
    if matrix and "confusion_matrix" in metrics:
        say(format_confusion_matrix(metrics["confusion_matrix"], data.class_names))
