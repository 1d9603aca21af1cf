"""``Trainer``: Keras's ``fit`` / ``evaluate`` / ``predict`` over a chainrule model.

One training step is PyTorch's loop, written out::

    model.train(); optimizer.zero_grad()
    out = model(x); loss = loss_fn(out, y)
    loss.backward(); optimizer.step()

An epoch's loss is the mean over its samples (each batch weighted by its size), as are the
metrics; validation runs after each epoch in ``model.eval()`` under ``no_grad``.
"""

import contextlib
import copy
import math
import warnings

import numpy as np

from .. import backend
from .. import random as chainrule_random
from ..autograd import no_grad
from ..creation import as_tensor
from ..data import DataLoader
from ..errors import AnomalyError, ShapeError
from ..io import checkpoint
from ..nn.utils import clip_grad_norm_
from ..ops import cat
from ..tensor import Tensor
from .callbacks import Callback, CallbackList, LearningRateScheduler
from .guards import ClassTargetCheck, make_guard
from .history import History
from .metrics import Metric, get_metric
from .progress import make_progress
from .resume import FitRun


class Trainer:
    """Fits ``model`` to data with ``loss_fn`` and ``optimizer``.

    - ``metrics``: names (``"accuracy"``, ``"top5_accuracy"``, ``"mae"``, ``"mse"``) or
      :class:`~chainrule.train.metrics.Metric` objects, logged for training and validation data.
    - ``scheduler``: an ``optim.lr_scheduler`` scheduler, stepped after every epoch or, with
      ``scheduler_interval="step"`` (the default for OneCycleLR), after every batch;
      ReduceLROnPlateau gets ``val_loss`` (``loss`` without validation data).
    - ``callbacks``: :class:`~chainrule.train.callbacks.Callback` objects used by every ``fit``.
    - ``device``: moves the model there and every batch with it; by default batches go to the
      device of the model's parameters.
    - ``clip_grad_norm``: a max norm; before each optimizer step the gradients of all the model's
      parameters are scaled together so that their joint 2-norm is at most this
      (``nn.utils.clip_grad_norm_``, as a PyTorch loop calls it between ``backward`` and ``step``).
    - ``on_nonfinite``: what a step whose loss or gradients hold NaN or Inf does: ``"stop"``
      (raise NonFiniteError naming the epoch, step, batch and what was non-finite, before the
      optimizer step and before any callback saves), ``"skip"`` (drop the step and go on), None
      (no check: train on, as a plain PyTorch loop does) or a
      :class:`~chainrule.train.guards.NonFiniteGuard` for more options.

    Data (``fit``'s ``train`` and ``validation``, ``evaluate``'s ``data``) is a tuple
    ``(inputs, targets)`` of Tensors or arrays (batched here, shuffled with ``seed``), a Dataset
    (wrapped in a DataLoader) or a DataLoader (used as it is; ``batch_size`` and ``shuffle`` are
    then the loader's).

    Example::

        >>> model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
        >>> trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters()),
        ...                   metrics=["accuracy"])
        >>> history = trainer.fit((x, y), epochs=20, validation=(x_val, y_val))   # x: (N, 4), y: (N,)
        >>> trainer.evaluate((x_test, y_test))
        {'loss': 0.21, 'accuracy': 0.94}
        >>> trainer.predict(x_test).shape
        (N_test, 3)
    """

    def __init__(self, model, loss_fn, optimizer, metrics=(), scheduler=None, callbacks=(), device=None,
                 scheduler_interval=None, clip_grad_norm=None, on_nonfinite="stop"):  # fmt: skip
        if not callable(model):
            raise TypeError(f"model must be callable (an nn.Module), got {type(model).__name__}")
        if not callable(loss_fn):
            raise TypeError(f"loss_fn must be callable (e.g. nn.CrossEntropyLoss()), got {type(loss_fn).__name__}")
        self.model = model
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.device = backend.Device(device) if device is not None else None
        if self.device is not None:
            model.to(self.device)
        self.metrics = self._make_metrics(metrics)
        self.scheduler = scheduler
        self.scheduler_callback = None
        if scheduler is not None:
            self.scheduler_callback = LearningRateScheduler(scheduler, interval=scheduler_interval)
        elif scheduler_interval is not None:
            raise ValueError("scheduler_interval needs a scheduler")
        self.callbacks = list(callbacks)
        self.stop_training = False
        self.history = None
        if clip_grad_norm is not None:
            if isinstance(clip_grad_norm, bool) or not isinstance(clip_grad_norm, (int, float)) or clip_grad_norm <= 0:
                raise ValueError(f"clip_grad_norm must be a number > 0 or None, got {clip_grad_norm!r}")
            if not hasattr(model, "parameters"):
                raise TypeError(f"clip_grad_norm needs a model with parameters(), got {type(model).__name__}")
        self.clip_grad_norm = clip_grad_norm
        self.nonfinite_guard = make_guard(on_nonfinite)

    def _make_metrics(self, metrics):
        if isinstance(metrics, (str, Metric)):
            metrics = [metrics]
        made = [get_metric(metric, from_logits=_loss_takes_logits(self.loss_fn)) for metric in metrics]
        names = [metric.name for metric in made]
        for metric in made:
            if not metric.scalar:
                raise TypeError(
                    f"{type(metric).__name__} is not one number per epoch; compute it from trainer.predict(...) "
                    "with chainrule.train.metrics instead"
                )
            if names.count(metric.name) > 1 or metric.name in ("loss", "lr", "size") or metric.name.startswith("val_"):
                raise ValueError(f"metric name {metric.name!r} is used twice or clashes with a logged quantity")
        return made

    # ------------------------------------------------------------------ fit
    def fit(self, train, epochs=1, batch_size=32, validation=None, shuffle=True, seed=None, verbose=True,
            callbacks=(), initial_epoch=0, resume=None):  # fmt: skip
        """Train for ``epochs`` epochs (from ``initial_epoch``, e.g. a checkpoint's ``epoch``);
        returns the :class:`History`.

        Exact resume: with a :class:`~chainrule.train.resume.TrainingCheckpoint` in ``callbacks``
        full training checkpoints are written (every N steps and at epoch ends), and SIGINT /
        SIGTERM finish the step, save and raise ``TrainingInterrupted``. ``resume`` (a checkpoint
        file, or a directory: its newest loadable one) continues such a run where it stopped,
        mid-epoch included, ending with the weights an uninterrupted run would have; pass the
        same data, settings and callbacks.

        ``seed`` fixes the shuffling order (epoch e's order depends only on seed and e, so a
        resumed run shuffles as the uninterrupted one would); without it the order comes from
        chainrule's default generator (``cr.manual_seed``). ``verbose``: True for a progress bar
        on a terminal and one line per epoch elsewhere, 2 for lines always, False for silence.
        ``callbacks`` are added to the trainer's own for this run only.
        """
        if not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
        if not isinstance(initial_epoch, int) or not 0 <= initial_epoch <= epochs:
            raise ValueError(f"initial_epoch must be an integer in [0, epochs={epochs}], got {initial_epoch!r}")
        if seed is not None and (not isinstance(seed, int) or seed < 0):
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.history = History()
        callback_list = [] if self.scheduler_callback is None else [self.scheduler_callback]
        callback_list.insert(0, self.nonfinite_guard)  # first: it knows the step before the others run
        callback_list += [*self.callbacks, *callbacks, self.history]  # History after them, as in Keras
        probe = _Batches(train, batch_size, shuffle=False, seed=None, epoch=0)
        settings = {"epochs": epochs, "batch_size": batch_size, "shuffle": bool(shuffle), "seed": seed,
                    "batches_per_epoch": probe.count, "samples": _sample_count(train)}  # fmt: skip
        run = FitRun(self, train, settings, [*self.callbacks, *callbacks], resume, initial_epoch)
        initial_epoch = run.initial_epoch
        callback_list = [callback for callback in callback_list if callback is not run.saver]  # it goes last
        self.class_targets = ClassTargetCheck(self.loss_fn, train)  # a bad label anywhere, before step 0
        progress = make_progress(verbose, epochs, probe.count)
        if progress is not None:
            callback_list.append(progress)
        callback_list += run.hooks  # last: they count the step, then save it
        hooks = CallbackList(callback_list)
        hooks.set_trainer(self)
        self.stop_training = False
        logs = {}
        run.catch_signals()
        try:
            hooks.on_train_begin()
            run.restore_callbacks(hooks.callbacks)  # after on_train_begin reset them
            for epoch in range(initial_epoch, epochs):
                hooks.on_epoch_begin(epoch)
                lr = run.epoch_lr(epoch, _learning_rate(self.optimizer))
                logs = self._train_epoch(run.batches(epoch, _Batches(train, batch_size, shuffle, seed, epoch)), hooks)
                if validation is not None:
                    logs.update({f"val_{key}": value for key, value in self.evaluate(validation, batch_size).items()})
                logs["lr"] = lr
                hooks.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
            hooks.on_train_end(logs)
        except AnomalyError as error:  # detect_anomaly named the op; say which step it was
            raise self.nonfinite_guard.anomaly(error) from error
        finally:
            run.release_signals()
            if progress is not None:
                progress.close()
        return self.history

    def _train_epoch(self, batches, hooks):
        for metric in self.metrics:
            metric.reset()
        total_loss, seen, start = 0.0, 0, 0
        if hasattr(batches, "restore"):  # the rest of an epoch a checkpoint stopped in (resume.ResumedBatches)
            total_loss, seen, start = batches.restore(self.metrics)
        device = self._batch_device()
        for index, (x, y) in enumerate(batches.pairs("fit"), start=start):
            hooks.on_batch_begin(index, {"size": len(x)})
            self.model.train()
            self.optimizer.zero_grad()
            x, y = _to_device(x, device), _to_device(y, device)
            out = self.model(x)
            self.class_targets.check_output(out)
            loss = _scalar_loss(self.loss_fn(out, y))
            loss.backward()
            hooks.on_after_backward(index, {"size": len(x)})  # diagnostics see a bad step's gradients too
            if not self.nonfinite_guard.step_is_finite(loss, self.model, x):
                continue
            if self.clip_grad_norm is not None:
                clip_grad_norm_(self.model.parameters(), self.clip_grad_norm)
            self.optimizer.step()
            size = len(x)
            total_loss += loss.item() * size
            seen += size
            self._epoch_totals = (total_loss, seen)  # what a checkpoint saved in on_batch_end resumes from
            with no_grad():
                for metric in self.metrics:
                    metric.update(out.detach(), y)
            running = {"size": size, "loss": total_loss / seen}
            running.update({metric.name: metric.compute() for metric in self.metrics})
            hooks.on_batch_end(index, running)
        self.nonfinite_guard.end_epoch(seen)
        if seen == 0:
            raise ValueError("fit: the training data gave no batches")
        logs = {"loss": total_loss / seen}
        logs.update({metric.name: metric.compute() for metric in self.metrics})
        return logs

    # ------------------------------------------------------------------ evaluate / predict
    def evaluate(self, data, batch_size=32):
        """The mean loss and metrics over ``data`` in eval mode, without gradients:
        ``{"loss": float, "accuracy": float, ...}``."""
        metrics = [copy.deepcopy(metric) for metric in self.metrics]
        for metric in metrics:
            metric.reset()
        total_loss, seen = 0.0, 0
        device = self._batch_device()
        with _eval_mode(self.model), no_grad():
            for x, y in _Batches(data, batch_size, shuffle=False, seed=None, epoch=0).pairs("evaluate"):
                x, y = _to_device(x, device), _to_device(y, device)
                out = self.model(x)
                loss = _scalar_loss(self.loss_fn(out, y))
                total_loss += loss.item() * len(x)
                seen += len(x)
                for metric in metrics:
                    metric.update(out, y)
        if seen == 0:
            raise ValueError("evaluate: the data gave no batches")
        logs = {"loss": total_loss / seen}
        logs.update({metric.name: metric.compute() for metric in metrics})
        return logs

    def predict(self, data, batch_size=32):
        """The model's outputs for every sample, in order, as one Tensor (eval mode, no
        gradients). ``data``: inputs (Tensor or array, (N, ...)), a tuple (inputs, targets), a
        Dataset or a DataLoader -> (N, ...) outputs."""
        outputs = []
        device = self._batch_device()
        with _eval_mode(self.model), no_grad():
            for x in _Batches(data, batch_size, shuffle=False, seed=None, epoch=0).inputs():
                out = self.model(_to_device(x, device))
                if not isinstance(out, Tensor):
                    raise TypeError(f"predict: the model returned a {type(out).__name__}, expected one Tensor")
                outputs.append(out)
        if not outputs:
            raise ValueError("predict: the data gave no batches")
        return cat(outputs, dim=0)

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self, path, epoch, logs=None):
        """Write model, optimizer (and scheduler) state, ``epoch`` and the RNG state to ``path``
        with :func:`chainrule.save`."""
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "epoch": int(epoch),
            "logs": {k: v for k, v in (logs or {}).items() if isinstance(v, (int, float, str))},
            "rng": chainrule_random.get_rng_state(),
        }
        if self.scheduler is not None and hasattr(self.scheduler, "state_dict"):
            state["scheduler"] = self.scheduler.state_dict()
        try:
            checkpoint.save(state, path)
        except TypeError as error:  # a scheduler of the user's own may hold values a checkpoint cannot
            if "scheduler" not in state or "scheduler" not in str(error):
                raise
            warnings.warn(f"the scheduler's state is not saved in {path}: {error}", stacklevel=2)
            del state["scheduler"]
            checkpoint.save(state, path)

    def load_checkpoint(self, path):
        """Restore model, optimizer, scheduler and RNG state from ``path``; returns the epoch to
        pass as ``fit(..., initial_epoch=...)``."""
        state = checkpoint.load(path)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if "scheduler" in state and self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        if "rng" in state:
            chainrule_random.set_rng_state(state["rng"])
        return state["epoch"]

    # ------------------------------------------------------------------ helpers
    def _batch_device(self):
        """Where batches go: ``device`` if given, else where the model's parameters are."""
        return self.device if self.device is not None else _model_device(self.model)

    def add_callback(self, callback):
        if not isinstance(callback, Callback):
            raise TypeError(f"expected a Callback, got {type(callback).__name__}")
        self.callbacks.append(callback)


class _Batches:
    """Batches of a tuple (inputs, targets), a bare inputs array, a Dataset or a DataLoader."""

    def __init__(self, data, batch_size, shuffle, seed, epoch):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = epoch
        self.arrays = None
        self.loader = None
        if isinstance(data, (tuple, list)):
            if len(data) not in (1, 2):
                raise ValueError(
                    f"expected data as a tuple (inputs, targets), got a {type(data).__name__} of {len(data)}"
                )
            self.arrays = [as_tensor(part) for part in data]
            if len(self.arrays) == 2 and len(self.arrays[0]) != len(self.arrays[1]):
                raise ShapeError(
                    f"inputs and targets need the same number of samples, got inputs {self.arrays[0].shape} "
                    f"and targets {self.arrays[1].shape}"
                )
        elif isinstance(data, (Tensor, np.ndarray)) or backend.device_of(data).type == "cuda":
            self.arrays = [as_tensor(data)]
        elif hasattr(data, "__getitem__") and hasattr(data, "__len__"):  # a Dataset
            self.loader = self._data_loader(data)
        elif hasattr(data, "__iter__"):  # a DataLoader or any iterable of batches
            self.loader = data
        else:
            raise TypeError(
                f"expected data as a tuple (inputs, targets), a Dataset or a DataLoader, got {type(data).__name__}"
            )

    def _data_loader(self, dataset):
        generator = None
        if self.shuffle and self.seed is not None:
            generator = chainrule_random.Generator(_epoch_seed(self.seed, self.epoch))
        return DataLoader(dataset, batch_size=self.batch_size, shuffle=self.shuffle, generator=generator)

    @property
    def count(self):
        """Batches per epoch, or None when the loader does not say."""
        if self.arrays is not None:
            return math.ceil(len(self.arrays[0]) / self.batch_size)
        try:
            return len(self.loader)
        except TypeError:
            return None

    def _array_batches(self):
        n = len(self.arrays[0])
        if self.shuffle:
            rng = np.random.default_rng(_epoch_seed(self.seed, self.epoch)) if self.seed is not None else None
            order = (rng or chainrule_random.default_generator.numpy).permutation(n)
            for start in range(0, n, self.batch_size):
                index = order[start : start + self.batch_size]
                yield [array[index] for array in self.arrays]
        else:
            for start in range(0, n, self.batch_size):
                yield [array[start : start + self.batch_size] for array in self.arrays]

    def pairs(self, caller):
        """(inputs, targets) per batch."""
        if self.arrays is not None:
            if len(self.arrays) != 2:
                raise ValueError(f"{caller} needs targets: pass (inputs, targets)")
            yield from self._array_batches()
            return
        for batch in self.loader:
            if not isinstance(batch, (tuple, list)) or len(batch) != 2:
                found = f"a {type(batch).__name__}" + (f" of {len(batch)}" if isinstance(batch, (tuple, list)) else "")
                raise ValueError(f"{caller}: expected each batch to be (inputs, targets), got {found}")
            yield batch

    def inputs(self):
        """Inputs per batch (targets, if any, are dropped)."""
        if self.arrays is not None:
            for batch in self._array_batches():
                yield batch[0]
            return
        for batch in self.loader:
            yield batch[0] if isinstance(batch, (tuple, list)) else batch


def _to_device(value, device):
    if not isinstance(value, Tensor):
        value = as_tensor(value)
    if device is not None and value.device != device:
        value = value.to(device)
    return value


def _epoch_seed(seed, epoch):
    """A seed for one epoch's shuffling that depends only on (seed, epoch)."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


def _sample_count(data):
    """Samples in ``data`` (a tuple of arrays, a Dataset or a DataLoader), or None when unknown."""
    if isinstance(data, (tuple, list)) and data:
        data = data[0]
    data = getattr(data, "dataset", data)
    try:
        return len(data)
    except TypeError:
        return None


def _learning_rate(optimizer):
    groups = getattr(optimizer, "param_groups", None)
    if not groups or "lr" not in groups[0]:
        return None
    lr = groups[0]["lr"]
    return lr.item() if isinstance(lr, Tensor) else float(lr)


def _scalar_loss(loss):
    if not isinstance(loss, Tensor):
        raise TypeError(f"loss_fn must return a Tensor, got {type(loss).__name__}")
    if loss.numel() != 1:
        raise ShapeError(
            f"loss_fn must return one number, got a tensor of shape {loss.shape} (a loss with reduction='none'?)"
        )
    return loss


def _loss_takes_logits(loss_fn):
    """True for BCEWithLogitsLoss, False for BCELoss, None when the loss does not tell."""
    names = {cls.__name__ for cls in type(loss_fn).__mro__} | {getattr(loss_fn, "__name__", "")}
    if names & {"BCEWithLogitsLoss", "binary_cross_entropy_with_logits"}:
        return True
    if names & {"BCELoss", "binary_cross_entropy"}:
        return False
    return None


def _model_device(model):
    parameters = getattr(model, "parameters", None)
    if parameters is None:
        return None
    for parameter in parameters():
        return parameter.device
    return None


@contextlib.contextmanager
def _eval_mode(model):
    """``model.eval()`` inside the block, the previous mode restored after it."""
    was_training = getattr(model, "training", None)
    if hasattr(model, "eval"):
        model.eval()
    try:
        yield
    finally:
        if was_training is not None and hasattr(model, "train"):
            model.train(was_training)
