"""Exact resume: the full training checkpoint, where it is written, and how ``fit`` continues from it.

A training checkpoint is one safetensors file written with :func:`chainrule.save` (atomic: a
temporary file, flushed, fsynced, renamed, the directory fsynced). Nothing in it is pickled::

    model, optimizer, scheduler     the state dicts (tensors in safetensors, the rest as JSON)
    rng, loader_rng                 chainrule's default generator (parameter init, shuffling without a
                                    seed, dropout) and the training DataLoader's own generator
    position                        epoch (0-based, = epochs completed), batch (batches done in it),
                                    global_step, finished
    epoch_start                     the RNG states and learning rate when that epoch began
    totals                          the epoch's running loss sum, samples seen and metric counters
    callbacks                       History, EarlyStopping, ModelCheckpoint, ... state, in order
    fit, config                     fit's settings (batch_size, shuffle, seed, data size) and the
                                    CLI config, compared on resume

A mid-epoch resume rebuilds the epoch's batch order as the uninterrupted run drew it: the RNGs go
back to their epoch-start states, the first ``batch`` batches are drawn and dropped, then the RNGs
take their saved states and training goes on. The run therefore ends with the same weights
(bitwise with the same thread count).

Example::

    >>> saver = TrainingCheckpoint("ckpt", every=100, keep_last=3)     # every 100 steps and epoch
    >>> trainer.fit((x, y), epochs=10, seed=0, callbacks=[saver])      # killed at step 523 ...
    >>> trainer.fit((x, y), epochs=10, seed=0, callbacks=[saver], resume="ckpt")   # ... goes on from 500
"""

import warnings

import numpy as np

from .. import random as chainrule_random
from ..tensor import Tensor
from .callbacks import Callback, EarlyStopping, LearningRateScheduler, ModelCheckpoint
from .history import History
from .interrupt import SignalCatcher, TrainingInterrupted
from .training_checkpoint import (
    FORMAT,
    VERSION,
    TrainingCheckpoint,
    config_differences,
    latest_checkpoint,
    load_training_state,
    resume_source,
    step_files,
)

__all__ = [
    "FitRun",
    "ResumedBatches",
    "TrainingCheckpoint",
    "config_differences",
    "latest_checkpoint",
    "load_training_state",
    "step_files",
]


# ---------------------------------------------------------------------------------- a fit's state
def _plain(value):
    return value is None or isinstance(value, (bool, int, float, str, np.ndarray, np.generic))


def _metric_state(metric):
    return {key: value for key, value in vars(metric).items() if _plain(value)}


# callback class -> the attributes that make up its state (restored after its on_train_begin)
CALLBACK_FIELDS = (
    (EarlyStopping, ("wait", "stopped_epoch", "best_epoch", "best", "best_weights")),
    (ModelCheckpoint, ("best", "saved")),
    (History, ("history", "epoch")),
    (LearningRateScheduler, ("monitor",)),
)


def _callback_state(callback, trainer):
    """The state of one callback, or None for a callback without state."""
    if isinstance(callback, TrainingCheckpoint):
        return None
    if callable(getattr(callback, "state_dict", None)) and callable(getattr(callback, "load_state_dict", None)):
        return {"state_dict": callback.state_dict()}
    for cls, fields in CALLBACK_FIELDS:
        if isinstance(callback, cls):
            state = {field: getattr(callback, field, None) for field in fields}
            if isinstance(callback, LearningRateScheduler) and callback.scheduler is not trainer.scheduler:
                state["scheduler"] = callback.scheduler.state_dict()
            return state
    return None


def _load_callback_state(callback, state):
    if "state_dict" in state and callable(getattr(callback, "load_state_dict", None)):
        callback.load_state_dict(state["state_dict"])
        return
    for field, value in state.items():
        if field == "scheduler":
            callback.scheduler.load_state_dict(value)
        else:
            setattr(callback, field, list(value) if isinstance(value, tuple) else value)


def _lr(optimizer):
    groups = getattr(optimizer, "param_groups", None)
    if not groups or "lr" not in groups[0]:
        return None
    lr = groups[0]["lr"]
    return lr.item() if isinstance(lr, Tensor) else float(lr)


class FitRun(Callback):
    """One ``fit`` call's view of resuming and checkpointing: where training is (epoch, batch,
    global step: batches begun, skipped ones included), every RNG that affects it, and the checks
    and restores of a resume. ``Trainer.fit`` makes one per call and runs it after every other
    callback but the TrainingCheckpoint; it keeps ``trainer.global_step`` (the step being run,
    from 0) up to date."""

    def __init__(self, trainer, train, settings, callbacks, resume, initial_epoch):
        super().__init__()
        self.trainer = trainer
        self.settings = settings  # epochs, batch_size, shuffle, seed, batches_per_epoch, samples
        self.loader_generator = getattr(train, "generator", None)
        if not isinstance(self.loader_generator, chainrule_random.Generator):
            self.loader_generator = None
        savers = [callback for callback in callbacks if isinstance(callback, TrainingCheckpoint)]
        if len(savers) > 1:
            raise ValueError(f"fit takes at most one TrainingCheckpoint callback, got {len(savers)}")
        self.saver = savers[0] if savers else None
        if self.saver is not None:
            self.saver.run = self
        self.catcher = SignalCatcher() if self.saver is not None else None
        self.epoch, self.batch, self.global_step = initial_epoch, 0, 0
        self.epoch_start = None
        self.logs = {}
        self.callbacks = []
        self.finished = False
        self.resumed_from, self.resumed = None, None
        self.initial_epoch = initial_epoch
        if resume is not None:
            if initial_epoch != 0:
                raise ValueError("fit: pass either resume= or initial_epoch=, not both")
            self._resume(resume)
        elif self.saver is not None and self.saver.step_files():
            raise ValueError(
                f"TrainingCheckpoint: {self.saver.directory} already holds checkpoints of a run; pass "
                f"resume={self.saver.directory!r} to continue it, or use an empty directory"
            )

    # ------------------------------------------------------------------ RNGs
    def rng_state(self):
        loader = self.loader_generator.get_state() if self.loader_generator is not None else None
        return {"default": chainrule_random.get_rng_state(), "loader": loader}

    def set_rng(self, state):
        chainrule_random.set_rng_state(state["default"])
        if self.loader_generator is not None and state.get("loader") is not None:
            self.loader_generator.set_state(state["loader"])

    # ------------------------------------------------------------------ position
    @property
    def hooks(self):
        """The callbacks ``fit`` runs last, in this order."""
        return [self] if self.saver is None else [self, self.saver]

    def on_epoch_begin(self, epoch, logs=None):
        if self._resumes_within(epoch):
            return  # a mid-epoch resume keeps the epoch's saved start
        self.epoch, self.batch = epoch, 0
        self.epoch_start = {"rng": self.rng_state(), "lr": _lr(self.trainer.optimizer)}

    def on_batch_begin(self, batch, logs=None):
        self.trainer.global_step = self.global_step
        self.global_step += 1

    def on_batch_end(self, batch, logs=None):
        self.batch = batch + 1

    def on_epoch_end(self, epoch, logs=None):
        self.epoch, self.batch = epoch + 1, 0
        self.logs = dict(logs or {})
        self.finished = bool(self.trainer.stop_training) or epoch + 1 >= self.settings["epochs"]

    def capture(self):
        """The full training state now, as ``cr.save`` stores it."""
        trainer = self.trainer
        loss_sum, seen = getattr(trainer, "_epoch_totals", (0.0, 0)) if self.batch else (0.0, 0)
        state = {
            "format": FORMAT,
            "version": VERSION,
            "model": trainer.model.state_dict(),
            "optimizer": trainer.optimizer.state_dict(),
            "epoch": self.epoch,
            "logs": {key: value for key, value in self.logs.items() if isinstance(value, (int, float, str))},
            "rng": chainrule_random.get_rng_state(),
            "loader_rng": self.rng_state()["loader"],
            "position": {
                "epoch": self.epoch,
                "batch": self.batch,
                "global_step": self.global_step,
                "finished": self.finished,
                "stopped_early": bool(trainer.stop_training),
            },
            "epoch_start": self.epoch_start if self.batch else None,
            "totals": {
                "loss_sum": float(loss_sum),
                "seen": int(seen),
                "metrics": [_metric_state(metric) for metric in trainer.metrics] if self.batch else [],
            },
            "callbacks": [[type(cb).__name__, s] for cb, s in self._stateful(self.callbacks)],
            "fit": dict(self.settings),
            "config": self.saver.config if self.saver is not None else None,
        }
        if trainer.scheduler is not None and hasattr(trainer.scheduler, "state_dict"):
            state["scheduler"] = trainer.scheduler.state_dict()
        return state

    def stop(self, path):
        position = (
            f"epoch {self.epoch + 1}, {self.batch} batches into it" if self.batch else f"after epoch {self.epoch}"
        )
        raise TrainingInterrupted(
            f"training stopped by {self.catcher.requested} ({position}, step {self.global_step}); checkpoint "
            f"written to {path}. Resume with trainer.fit(..., resume={self.saver.directory!r}) and the same "
            "arguments and callbacks",
            self.catcher.requested,
            path,
            self.epoch,
            self.batch,
        )

    def catch_signals(self):
        """While a TrainingCheckpoint saves, SIGINT / SIGTERM only set a flag (see interrupt.py)."""
        if self.catcher is not None:
            self.catcher.__enter__()

    def release_signals(self):
        """Give the signals back to their previous handlers."""
        if self.catcher is not None:
            self.catcher.__exit__(None, None, None)

    # ------------------------------------------------------------------ resume
    def _stateful(self, callbacks):
        pairs = [(callback, _callback_state(callback, self.trainer)) for callback in callbacks]
        return [(callback, state) for callback, state in pairs if state is not None]

    def _resume(self, resume):
        path, state = resume_source(resume)
        self.resumed_from, self.resumed = path, state
        position, saved = state["position"], state["fit"]
        given = self.settings
        different = [f"{key}: checkpoint {saved.get(key)!r}, now {given[key]!r}"
                     for key in ("batch_size", "shuffle", "seed", "batches_per_epoch", "samples")
                     if saved.get(key) != given[key]]  # fmt: skip
        if different:
            raise ValueError(f"resume: {path} was written by a fit with other settings: {'; '.join(different)}")
        if self.saver is not None and state.get("config") is not None and self.saver.config is not None:
            lines = config_differences(state["config"], self.saver.config)
            if lines:
                raise ValueError(f"resume: {path} was written with another config: {'; '.join(lines)}")
        if position["epoch"] > given["epochs"]:
            raise ValueError(f"resume: {path} is at epoch {position['epoch']}, beyond epochs={given['epochs']}")
        trainer = self.trainer
        for name, target in (("model", trainer.model), ("optimizer", trainer.optimizer)):
            try:
                target.load_state_dict(state[name])
            except (KeyError, ValueError, TypeError, RuntimeError) as error:
                raise ValueError(f"resume: the {name} state in {path} does not fit this {name}: {error}") from None
        has_scheduler = trainer.scheduler is not None and hasattr(trainer.scheduler, "state_dict")
        if ("scheduler" in state) != has_scheduler:
            saved_has, now_has = ("a", "no") if "scheduler" in state else ("no", "a")
            raise ValueError(
                f"resume: {path} holds {saved_has} scheduler state, but this Trainer has {now_has} scheduler"
            )
        if "scheduler" in state:
            trainer.scheduler.load_state_dict(state["scheduler"])
        self.set_rng({"default": state["rng"], "loader": state.get("loader_rng")})
        self.epoch, self.batch, self.global_step = position["epoch"], position["batch"], position["global_step"]
        self.epoch_start, self.logs = state["epoch_start"], dict(state.get("logs") or {})
        self.finished = bool(position["finished"]) and (
            position["stopped_early"] or position["epoch"] >= given["epochs"]
        )
        self.initial_epoch = given["epochs"] if self.finished else position["epoch"]
        if self.finished:
            warnings.warn(f"resume: the run in {path} already finished (epoch {position['epoch']}); nothing to train",
                          stacklevel=3)  # fmt: skip

    def restore_callbacks(self, callbacks):
        """After the callbacks' on_train_begin: give them back their saved state."""
        self.callbacks = list(callbacks)
        if self.resumed is None:
            return
        current = self._stateful(self.callbacks)
        saved = self.resumed["callbacks"]
        names = [type(callback).__name__ for callback, _ in current]
        if names != [name for name, _ in saved]:
            raise ValueError(
                f"resume: {self.resumed_from} was written with the callbacks {[name for name, _ in saved]}, "
                f"this fit has {names}"
            )
        for (callback, _), (_, state) in zip(current, saved):
            _load_callback_state(callback, state)

    def epoch_lr(self, epoch, lr):
        """The learning rate logged for ``epoch``: the one at its start, also after a mid-epoch resume."""
        if self._resumes_within(epoch):
            return self.epoch_start["lr"]
        return lr

    def batches(self, epoch, batches):
        """``batches`` of ``epoch``, or for the epoch a mid-epoch checkpoint stopped in, the rest of it."""
        if self._resumes_within(epoch):
            return ResumedBatches(batches, self)
        return batches

    def _resumes_within(self, epoch):
        return (
            self.resumed is not None
            and self.resumed["position"]["batch"] > 0
            and epoch == self.resumed["position"]["epoch"]
        )


class ResumedBatches:
    """The rest of an epoch that a checkpoint stopped in: the first ``start`` batches are drawn (with
    the RNGs as they were when the epoch began, so the order is the same) and dropped."""

    def __init__(self, batches, run):
        self.batches = batches
        self.run = run
        self.state = run.resumed
        self.start = run.resumed["position"]["batch"]

    @property
    def count(self):
        return self.batches.count

    def restore(self, metrics):
        """(loss sum, samples seen, first batch index) of the epoch so far; the metrics' counters
        are set back as they were."""
        totals = self.state["totals"]
        if len(totals["metrics"]) != len(metrics):
            raise ValueError(
                f"resume: {self.run.resumed_from} holds {len(totals['metrics'])} metrics, "
                f"this Trainer has {len(metrics)}"
            )
        for metric, values in zip(metrics, totals["metrics"]):
            for key, value in values.items():
                setattr(metric, key, value)
        return totals["loss_sum"], totals["seen"], self.start

    def pairs(self, caller):
        self.run.set_rng(self.state["epoch_start"]["rng"])
        iterator = iter(self.batches.pairs(caller))
        for done in range(self.start):
            if next(iterator, None) is None:
                raise ValueError(
                    f"resume: {self.run.resumed_from} stopped after batch {self.start} of its epoch, "
                    f"but this data gives only {done} batches"
                )
        self.run.set_rng({"default": self.state["rng"], "loader": self.state.get("loader_rng")})
        yield from iterator
