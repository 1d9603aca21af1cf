"""The learning-rate range test (Leslie Smith's, as fastai's ``lr_find`` and pytorch-lr-finder run it).

Train for ``num_iter`` mini-batches while the learning rate grows exponentially from ``start_lr``
to ``end_lr``; record each batch's loss and an exponential moving average of it. Where the smoothed
loss falls fastest, the network learns fastest: a good learning rate to train with. Past that
point the loss stops falling and then explodes, and the test stops (``diverge_threshold``).

The test changes the model and the optimizer while it runs; afterwards every parameter, buffer and
gradient, every module's train/eval mode, the optimizer's state and param groups (its learning
rates) and chainrule's random generator are put back exactly as they were, bit for bit.

Example::

    >>> model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    >>> optimizer = optim.Adam(model.parameters())
    >>> result = lr_find(model, nn.CrossEntropyLoss(), optimizer, (x, y))   # x: (N, 64), y: (N,)
    >>> result.suggestion                    # the LR where the smoothed loss falls fastest
    0.0031
    >>> result.plot("lr_find.png")
    'lr_find.png'
"""

import copy
import math
import numbers
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from .. import backend
from .. import random as chainrule_random
from ..nn import Module
from .trainer import _Batches, _model_device, _scalar_loss, _to_device

SUGGESTION_METHODS = ("steepest", "minimum")


@dataclass
class LRFinderResult:
    """The curve of a range test and the learning rates it suggests.

    - ``lrs``: the learning rate of each step, (n,) floats; ``losses``: each step's mini-batch loss
      (computed before that step's update); ``smoothed``: their bias-corrected exponential moving
      average (``smooth`` = beta); n = ``num_iter`` unless the test stopped early.
    - ``stop_reason``: None when all ``num_iter`` steps ran, ``"diverged"`` when the smoothed loss
      passed ``diverge_threshold`` × its best, ``"nan"`` when a loss was NaN or infinite.
    - ``skip_start``, ``skip_end``: how many points at each end the suggestions ignore: the first
      ones are mostly the average warming up, the last ones the blow-up.
    """

    lrs: list
    losses: list
    smoothed: list
    stop_reason: str = None
    skip_start: int = 0
    skip_end: int = 5
    num_iter: int = field(default=None, repr=False)

    @property
    def best_loss(self):
        """The lowest smoothed loss of the test (NaN when there was none)."""
        finite = [value for value in self.smoothed if math.isfinite(value)]
        return min(finite) if finite else math.nan

    @property
    def suggestion(self):
        """The suggested learning rate: ``suggest("steepest")``."""
        return self.suggest("steepest")

    def suggest(self, method="steepest"):
        """A learning rate read off the smoothed curve, or None when the curve does not give one.

        - ``"steepest"`` (the usual rule; fastai's ``steep``, pytorch-lr-finder's suggestion): the LR
          where the smoothed loss falls fastest per decade, d(smoothed)/d(log lr) most negative,
          from central differences (``np.gradient``). None when the loss never falls.
        - ``"minimum"`` (fastai's ``minimum``): a tenth of the LR of the lowest smoothed loss, one
          order of magnitude below the point where the loss stops falling.

        Both ignore the first ``skip_start`` and the last ``skip_end`` points, unless that would
        leave fewer than 3; non-finite points are always ignored.

        The moving average lags the raw losses by about ``smooth / (1 - smooth)`` steps (49 for
        0.98): with 100 steps over 8 decades that is 4 decades, so the steepest point of the smoothed
        curve comes late and the suggestion errs high. More steps (``num_iter=200`` or more) or a
        narrower range give a sharper suggestion; the plot shows both curves.
        """
        if method not in SUGGESTION_METHODS:
            raise ValueError(f"method must be one of {', '.join(map(repr, SUGGESTION_METHODS))}, got {method!r}")
        lrs, smoothed = self._window()
        if len(lrs) < 2:
            return None
        if method == "minimum":
            return float(lrs[int(np.argmin(smoothed))] / 10.0)
        lowest = int(np.argmin(smoothed))
        if lowest == 0:
            return None  # the loss never fell
        slopes = np.gradient(smoothed, np.log(lrs))[: lowest + 1]  # the descent to the lowest loss only
        steepest = int(np.argmin(slopes))
        return float(lrs[steepest]) if slopes[steepest] < 0 else None

    def _window(self):
        """(lrs, smoothed) as float64 arrays over the points the suggestions look at."""
        lrs, smoothed = np.asarray(self.lrs, dtype=np.float64), np.asarray(self.smoothed, dtype=np.float64)
        stop = len(lrs) - self.skip_end
        if stop - self.skip_start >= 3:
            lrs, smoothed = lrs[self.skip_start : stop], smoothed[self.skip_start : stop]
        finite = np.isfinite(smoothed)
        return lrs[finite], smoothed[finite]

    def table(self, rows=10):
        """The curve as a text table of about ``rows`` evenly spaced steps (the last one included)."""
        if not isinstance(rows, int) or rows < 1:
            raise ValueError(f"rows must be a positive integer, got {rows!r}")
        count = len(self.lrs)
        picked = sorted({round(i * (count - 1) / max(rows - 1, 1)) for i in range(min(rows, count))})
        lines = [f"{'step':>5}  {'lr':>10}  {'loss':>10}  {'smoothed':>10}"]
        for i in picked:
            lines.append(f"{i + 1:>5}  {self.lrs[i]:>10.3e}  {self.losses[i]:>10.4g}  {self.smoothed[i]:>10.4g}")
        return "\n".join(lines)

    def __str__(self):
        ran = f"{len(self.lrs)} steps" + (f", stopped early: {self.stop_reason}" if self.stop_reason else "")
        suggestion = self.suggestion
        said = f"{suggestion:.3g}" if suggestion is not None else "none (the smoothed loss never fell)"
        return f"learning-rate range test, {ran}\n{self.table()}\nsuggested lr (steepest descent): {said}"

    def plot(self, path, title="Learning-rate range test"):
        """Write the curve as a PNG to ``path``: loss against learning rate on a log axis, the raw
        losses faint, the smoothed loss bold, the suggested LR marked. Needs matplotlib
        (``pip install 'chainrule[plot]'``). Returns ``path``."""
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
        except ImportError as error:
            raise ImportError(
                "LRFinderResult.plot needs matplotlib: install it with pip install 'chainrule[plot]'"
            ) from error
        if not self.lrs:
            raise ValueError("LRFinderResult.plot: there is nothing to plot, the test recorded no step")
        figure = Figure(figsize=(6.4, 4.2), layout="constrained")
        FigureCanvasAgg(figure)  # render with Agg, without touching pyplot's global backend
        axes = figure.subplots()
        axes.plot(self.lrs, self.losses, color="tab:blue", alpha=0.3, linewidth=1, label="loss per batch")
        axes.plot(self.lrs, self.smoothed, color="tab:blue", linewidth=2, label="smoothed loss")
        steepest, minimum = self.suggest("steepest"), self.suggest("minimum")
        if steepest is not None:
            at = int(np.argmin(np.abs(np.log(self.lrs) - math.log(steepest))))
            axes.axvline(steepest, color="tab:red", linestyle="--", linewidth=1)
            axes.scatter([steepest], [self.smoothed[at]], s=60, color="tab:red", zorder=3,
                         label=f"suggested lr {steepest:.2g} (steepest descent)")  # fmt: skip
        if minimum is not None:
            label = f"lowest loss / 10: {minimum:.2g}"
            axes.axvline(minimum, color="tab:green", linestyle=":", linewidth=1, label=label)
        axes.set_xscale("log")
        axes.set_ylim(*self._y_limits())
        axes.set_xlabel("learning rate (log scale)")
        axes.set_ylabel("training loss")
        stopped = {"diverged": " — stopped: loss diverged", "nan": " — stopped: loss was NaN"}
        axes.set_title(title + stopped.get(self.stop_reason, ""))
        axes.grid(alpha=0.3)
        axes.legend(loc="upper left")
        figure.savefig(path, format="png", dpi=100)
        return path

    def _y_limits(self):
        """From just under the lowest loss to a little over the starting loss, so that the blow-up
        at the end does not squash the interesting part."""
        values = np.asarray([*self.losses, *self.smoothed], dtype=np.float64)
        values = values[np.isfinite(values)]
        if values.size == 0:
            return 0.0, 1.0
        low, high = float(values.min()), float(values.max())
        start = [value for value in self.smoothed[: max(self.skip_start, 1)] if math.isfinite(value)]
        if start:
            high = min(high, max(start) + 0.5 * (max(start) - low) + 1e-12)
        margin = 0.05 * (high - low) or 0.05 * abs(high) or 0.05
        return low - margin, high + margin


def lr_find(model, loss_fn, optimizer, data, start_lr=1e-7, end_lr=10.0, num_iter=100, smooth=0.98,
            diverge_threshold=4.0, batch_size=32, shuffle=True, seed=None):  # fmt: skip
    """Run the learning-rate range test; returns an :class:`LRFinderResult`.

    Step i (0-based) trains one mini-batch with every param group's lr set to
    ``start_lr * (end_lr / start_lr) ** (i / (num_iter - 1))``, so the sweep ends exactly at
    ``end_lr``; the data is cycled when it has fewer than ``num_iter`` batches. After each batch
    the smoothed loss is ``avg_i / (1 - smooth ** (i + 1))`` with ``avg_i = smooth · avg_(i-1) +
    (1 - smooth) · loss_i`` (bias-corrected, as fastai). The test stops when the smoothed loss
    exceeds ``diverge_threshold`` × the best so far (None: never) or a loss is NaN or infinite.

    - ``model``: an ``nn.Module``; ``loss_fn(model(x), y)`` -> a one-number Tensor; ``optimizer``
      any chainrule optimizer over the model's parameters (its current lr does not matter).
    - ``data`` as ``Trainer.fit`` takes it: a tuple ``(inputs, targets)`` (batched here with
      ``batch_size``, shuffled unless ``shuffle=False``, in an order fixed by ``seed``), a Dataset
      or a DataLoader.

    Afterwards the model, the optimizer and chainrule's random generator are as they were before
    (bit for bit), so training from here is not affected by the test.

    Example::

        >>> result = lr_find(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
        ...                  (x, y), end_lr=1.0, num_iter=50)              # x: (N, 64), y: (N,)
        >>> len(result.lrs), result.lrs[0], result.lrs[-1]
        (50, 1e-07, 1.0)
    """
    _check_arguments(model, loss_fn, optimizer, start_lr, end_lr, num_iter, smooth, diverge_threshold, batch_size,
                     seed)  # fmt: skip
    _Batches(data, batch_size, shuffle=False, seed=None, epoch=0)  # a clear error now for data of a wrong kind
    saved = _Snapshot(model, optimizer)
    lrs, losses, smoothed = [], [], []
    stop_reason = None
    try:
        device = _model_device(model)
        batches = _cycle(data, batch_size, shuffle, seed)
        average, best = 0.0, math.inf
        for step in range(num_iter):
            lr = start_lr * (end_lr / start_lr) ** (step / (num_iter - 1))
            for group in optimizer.param_groups:
                group["lr"] = lr
            x, y = next(batches)
            x, y = _to_device(x, device), _to_device(y, device)
            model.train()
            optimizer.zero_grad()
            loss = _scalar_loss(loss_fn(model(x), y))
            value = float(loss.item())
            average = smooth * average + (1.0 - smooth) * value
            current = average / (1.0 - smooth ** (step + 1))
            lrs.append(lr)
            losses.append(value)
            smoothed.append(current)
            if not math.isfinite(value) or not math.isfinite(current):
                stop_reason = "nan"
                break
            if diverge_threshold is not None and step > 0 and best > 0 and current > diverge_threshold * best:
                stop_reason = "diverged"
                break
            best = min(best, current)
            loss.backward()
            optimizer.step()
    finally:
        saved.restore()
    skip_start = num_iter // 10
    return LRFinderResult(lrs, losses, smoothed, stop_reason, skip_start=skip_start, skip_end=5, num_iter=num_iter)


def _cycle(data, batch_size, shuffle, seed):
    """(inputs, targets) batches without end: pass after pass over ``data`` (pass e shuffled as
    ``Trainer.fit`` shuffles epoch e)."""
    epoch = 0
    while True:
        empty = True
        for x, y in _Batches(data, batch_size, shuffle, seed, epoch).pairs("lr_find"):
            empty = False
            yield x, y
        if empty:
            raise ValueError("lr_find: the data gave no batches")
        epoch += 1


class _Snapshot:
    """Copies of everything the test changes, put back by :meth:`restore`: the arrays of every
    parameter and buffer (into the same array objects, so views stay valid) and their gradients,
    each module's ``training`` flag, the optimizer's state and param groups, the RNG state."""

    def __init__(self, model, optimizer):
        tensors = {}
        for tensor in [*model.parameters(), *model.buffers()]:
            tensors.setdefault(id(tensor), tensor)
        for group in optimizer.param_groups:
            for tensor in group["params"]:
                tensors.setdefault(id(tensor), tensor)
        self.tensors = [(tensor, _TensorCopy(tensor)) for tensor in tensors.values()]
        self.modes = [(module, module.training) for module in model.modules()]
        self.optimizer = optimizer
        self.group_list = optimizer.param_groups
        self.groups = [(group, dict(group)) for group in optimizer.param_groups]
        self.state = {param: _state_copy(entries) for param, entries in optimizer.state.items()}
        self.rng = chainrule_random.get_rng_state()

    def restore(self):
        for tensor, saved in self.tensors:
            saved.restore(tensor)
        for module, training in self.modes:
            module.training = training
        for group, saved in self.groups:
            group.clear()
            group.update(saved)
        self.optimizer.param_groups = self.group_list
        self.group_list[:] = [group for group, _ in self.groups]
        state = defaultdict(dict)  # as Optimizer keeps it
        for param, (entries, copies) in self.state.items():
            state[param] = {name: _restored(entries[name], copies[name]) for name in entries}
        self.optimizer.state = state
        chainrule_random.set_rng_state(self.rng)


class _TensorCopy:
    """A tensor's array and gradient as they are now."""

    def __init__(self, tensor):
        self.array = tensor._data
        self.values = _copy_array(tensor._data)
        self.grad = tensor.grad
        if tensor.grad is not None:
            self.grad_array, self.grad_values = tensor.grad._data, _copy_array(tensor.grad._data)

    def restore(self, tensor):
        tensor._data = self.array
        _write(self.array, self.values)
        tensor._bump_version()
        tensor.grad = self.grad
        if self.grad is not None:
            self.grad._data = self.grad_array
            _write(self.grad_array, self.grad_values)


def _copy_array(array):
    return backend.namespace_of(array).array(array, copy=True)


def _write(target, values):
    backend.namespace_of(target).copyto(target, values)


def _state_copy(entries):
    """An optimizer's state of one parameter: (the entries themselves, copies of their values)."""
    entries = dict(entries)
    copies = {}
    for name, value in entries.items():
        if hasattr(value, "_data") and hasattr(value, "_bump_version"):  # a Tensor: restored in place
            copies[name] = (value._data, _copy_array(value._data))
        else:
            copies[name] = copy.deepcopy(value)
    return entries, copies


def _restored(value, saved):
    if hasattr(value, "_data") and hasattr(value, "_bump_version"):
        array, values = saved
        value._data = array
        _write(array, values)
        value._bump_version()
        return value
    return copy.deepcopy(saved)


def _check_arguments(model, loss_fn, optimizer, start_lr, end_lr, num_iter, smooth, diverge_threshold, batch_size,
                     seed):  # fmt: skip
    if not isinstance(model, Module):
        raise TypeError(f"lr_find: model must be an nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"lr_find: loss_fn must be callable (e.g. nn.CrossEntropyLoss()), got {type(loss_fn).__name__}")
    if not getattr(optimizer, "param_groups", None) or not hasattr(optimizer, "step"):
        raise TypeError(f"lr_find: optimizer must be a chainrule optimizer with param_groups, got {optimizer!r}")
    for name, value in (("start_lr", start_lr), ("end_lr", end_lr)):
        if not _is_real(value) or not math.isfinite(value) or value <= 0:
            raise ValueError(f"lr_find: {name} must be a finite number > 0, got {value!r}")
    if start_lr >= end_lr:
        raise ValueError(f"lr_find: start_lr must be below end_lr, got start_lr={start_lr!r} >= end_lr={end_lr!r}")
    if isinstance(num_iter, bool) or not isinstance(num_iter, numbers.Integral) or num_iter < 2:
        raise ValueError(f"lr_find: num_iter must be an integer >= 2, got {num_iter!r}")
    if not _is_real(smooth) or not 0 <= smooth < 1:
        raise ValueError(f"lr_find: smooth (the moving average's beta) must be in [0, 1), got {smooth!r}")
    if diverge_threshold is not None and (not _is_real(diverge_threshold) or not diverge_threshold > 1):
        raise ValueError(f"lr_find: diverge_threshold must be a number > 1 or None, got {diverge_threshold!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"lr_find: batch_size must be a positive integer, got {batch_size!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"lr_find: seed must be a non-negative integer or None, got {seed!r}")


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
