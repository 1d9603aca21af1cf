"""Callbacks: code the Trainer calls at fixed points of ``fit``, with Keras's hooks.

``on_train_begin(logs)`` / ``on_train_end(logs)``, ``on_epoch_begin(epoch, logs)`` /
``on_epoch_end(epoch, logs)``, ``on_batch_begin(batch, logs)`` / ``on_batch_end(batch, logs)``,
and ``on_after_backward(batch, logs)`` (PyTorch Lightning's name), called between
``loss.backward()`` and gradient clipping / ``optimizer.step()``: the gradients are fresh and the
weights not yet updated (``logs`` holds ``size``).
``epoch`` and ``batch`` count from 0. The epoch logs hold ``loss``, the metrics, ``val_loss``,
the ``val_`` metrics and ``lr``; the batch logs hold ``size`` (samples in the batch) and the
running means of the epoch so far (``loss`` and the metrics). A callback reaches the trainer as
``self.trainer`` (``self.model``, ``self.optimizer``) and stops training with
``self.trainer.stop_training = True``.
"""

import copy
import csv
import math
import os

from ..optim.lr_scheduler import OneCycleLR, ReduceLROnPlateau
from ..tensor import Tensor


class Callback:
    """Base class: every hook does nothing. Override the ones you need."""

    def __init__(self):
        self.trainer = None

    def set_trainer(self, trainer):
        self.trainer = trainer

    @property
    def model(self):
        return self.trainer.model

    @property
    def optimizer(self):
        return self.trainer.optimizer

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_batch_begin(self, batch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass

    def on_after_backward(self, batch, logs=None):
        pass


class CallbackList(Callback):
    """Several callbacks called in order, as one."""

    def __init__(self, callbacks):
        super().__init__()
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"expected Callback instances, got {type(callback).__name__} {callback!r}")

    def set_trainer(self, trainer):
        for callback in self.callbacks:
            callback.set_trainer(trainer)

    def on_train_begin(self, logs=None):
        for callback in self.callbacks:
            callback.on_train_begin(logs)

    def on_train_end(self, logs=None):
        for callback in self.callbacks:
            callback.on_train_end(logs)

    def on_epoch_begin(self, epoch, logs=None):
        for callback in self.callbacks:
            callback.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        for callback in self.callbacks:
            callback.on_epoch_end(epoch, logs)

    def on_batch_begin(self, batch, logs=None):
        for callback in self.callbacks:
            callback.on_batch_begin(batch, logs)

    def on_batch_end(self, batch, logs=None):
        for callback in self.callbacks:
            callback.on_batch_end(batch, logs)

    def on_after_backward(self, batch, logs=None):
        for callback in self.callbacks:
            callback.on_after_backward(batch, logs)


def _monitored(callback, logs):
    """The value of ``callback.monitor`` in ``logs``; a clear error when it is not logged."""
    if callback.monitor not in logs:
        hint = " (val_ quantities need fit(..., validation=...))" if callback.monitor.startswith("val_") else ""
        raise KeyError(
            f"{type(callback).__name__} monitors {callback.monitor!r}, which is not in the logs{hint}; "
            f"logged: {', '.join(logs)}"
        )
    return float(logs[callback.monitor])


def _mode(monitor, mode):
    """'min' or 'max'; 'auto' means 'max' for accuracies, 'min' for everything else (Keras's rule)."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        return "max" if "acc" in monitor else "min"
    return mode


class _Monitor(Callback):
    """A callback that tracks the best value so far of one logged quantity."""

    def __init__(self, monitor, mode, min_delta=0.0):
        super().__init__()
        self.monitor = monitor
        self.mode = _mode(monitor, mode)
        self.min_delta = abs(min_delta)
        self.best = math.inf if self.mode == "min" else -math.inf

    def _improves(self, value, reference):
        if self.mode == "min":
            return value < reference - self.min_delta
        return value > reference + self.min_delta


class EarlyStopping(_Monitor):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs.

    An epoch improves when its value beats the best so far by more than ``min_delta`` (lower for
    ``mode="min"``, higher for ``"max"``; ``"auto"`` picks max for accuracies). After ``patience``
    epochs in a row without improvement training stops (Keras's rule). ``baseline``: training
    also stops if the monitor does not beat it within ``patience`` epochs.

    ``restore_best_weights=True`` loads the model's weights from the best epoch when training
    ends, whether it stopped early or ran all its epochs (Keras 2 restores only on an early stop).

    Example::

        >>> stop = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
        >>> history = trainer.fit(train, epochs=100, validation=val, callbacks=[stop])
        >>> stop.stopped_epoch, stop.best_epoch
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, mode="auto", baseline=None,
                 restore_best_weights=False):  # fmt: skip
        super().__init__(monitor, mode, min_delta)
        if not isinstance(patience, int) or patience < 0:
            raise ValueError(f"patience must be a non-negative integer, got {patience!r}")
        self.patience = patience
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = None
        self.best_epoch = None
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        value = _monitored(self, logs or {})
        self.wait += 1
        if self._improves(value, self.best):
            self.best, self.best_epoch = value, epoch
            if self.restore_best_weights:
                self.best_weights = _copy_state(self.model.state_dict())
            if self.baseline is None or self._improves(value, self.baseline):
                self.wait = 0
                return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.trainer.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)


def _copy_state(state):
    return {key: value.detach().clone() if isinstance(value, Tensor) else copy.deepcopy(value)
            for key, value in state.items()}  # fmt: skip


class ModelCheckpoint(_Monitor):
    """Save a checkpoint (``cr.save``) at the end of epochs.

    The file holds ``{"model": model.state_dict(), "optimizer": optimizer.state_dict(),
    "epoch": epochs completed, "logs": that epoch's logs}``, plus ``"scheduler"`` when the
    trainer has one and the RNG state (``"rng"``), so ``Trainer.fit(..., initial_epoch=epoch)``
    resumes. ``path`` may hold ``{epoch}`` (1-based, the epochs completed) and logged quantities:
    ``"ckpt-{epoch:02d}-{val_loss:.3f}.safetensors"``. ``save_best_only=True`` saves only when
    ``monitor`` improves on the best so far.

    Example::

        >>> best = ModelCheckpoint("best.safetensors", monitor="val_accuracy", save_best_only=True)
        >>> trainer.fit(train, epochs=10, validation=val, callbacks=[best])
        >>> model.load_state_dict(cr.load("best.safetensors")["model"])
    """

    def __init__(self, path, monitor="val_loss", save_best_only=False, mode="auto"):
        super().__init__(monitor, mode)
        self.path = os.fspath(path)
        self.save_best_only = save_best_only
        self.saved = []  # paths written, in order

    def on_train_begin(self, logs=None):
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            value = _monitored(self, logs)
            if not self._improves(value, self.best):
                return
            self.best = value
        path = self.path.format(epoch=epoch + 1, **logs)
        self.trainer.save_checkpoint(path, epoch=epoch + 1, logs=logs)
        self.saved.append(path)


class CSVLogger(Callback):
    """Append one CSV row per epoch to ``path``: ``epoch`` (1-based, as in the progress lines),
    then the logged quantities in the order they are logged. ``append=True`` continues an
    existing file (for resumed runs) instead of starting a new one. Each row is flushed.

    Example::

        >>> trainer.fit(train, epochs=5, callbacks=[CSVLogger("log.csv")])
        >>> open("log.csv").readline()
        'epoch,loss,accuracy,lr\\n'
    """

    def __init__(self, path, separator=",", append=False):
        super().__init__()
        self.path = os.fspath(path)
        self.separator = separator
        self.append = append
        self._file = None
        self._writer = None

    def on_train_begin(self, logs=None):
        resume = self.append and os.path.exists(self.path) and os.path.getsize(self.path) > 0
        self._file = open(self.path, "a" if resume else "w", newline="")  # noqa: SIM115 - closed on_train_end
        self._writer = None
        self._resume = resume

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, **(logs or {})}
        if self._writer is None:
            self._writer = csv.DictWriter(self._file, fieldnames=list(row), delimiter=self.separator)
            if not self._resume:
                self._writer.writeheader()
        self._writer.writerow({key: row.get(key, "") for key in self._writer.fieldnames})
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None


class LearningRateScheduler(Callback):
    """Step an ``optim.lr_scheduler`` scheduler during ``fit``.

    ``interval="epoch"`` steps it after every epoch (after validation), ``"step"`` after every
    batch; the default is ``"step"`` for OneCycleLR, which counts optimizer steps, and ``"epoch"``
    for the others. ``ReduceLROnPlateau`` is stepped with the value of ``monitor``
    (default: ``val_loss`` when there is validation data, else ``loss``). ``Trainer(scheduler=)``
    wraps its scheduler in this callback.

    Example::

        >>> scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)
        >>> trainer.fit(train, epochs=30, callbacks=[LearningRateScheduler(scheduler)])
    """

    def __init__(self, scheduler, interval=None, monitor=None):
        super().__init__()
        if not hasattr(scheduler, "step"):
            raise TypeError(f"expected a learning-rate scheduler with .step(), got {type(scheduler).__name__}")
        self.scheduler = scheduler
        self.plateau = isinstance(scheduler, ReduceLROnPlateau)
        if interval is None:
            interval = "step" if isinstance(scheduler, OneCycleLR) else "epoch"
        if interval not in ("epoch", "step"):
            raise ValueError(f"interval must be 'epoch' or 'step', got {interval!r}")
        if self.plateau and interval == "step":
            raise ValueError("ReduceLROnPlateau reacts to an epoch's monitored value: use interval='epoch'")
        self.interval = interval
        self.monitor = monitor

    def on_batch_end(self, batch, logs=None):
        if self.interval == "step":
            self.scheduler.step()

    def on_epoch_end(self, epoch, logs=None):
        if self.interval != "epoch":
            return
        if self.plateau:
            logs = logs or {}
            if self.monitor is None:
                self.monitor = "val_loss" if "val_loss" in logs else "loss"
            self.scheduler.step(_monitored(self, logs))
        else:
            self.scheduler.step()
