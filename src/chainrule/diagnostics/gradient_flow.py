"""``GradientFlow``: a Trainer callback that watches how gradients flow through a network.

Every ``every`` optimizer steps it records, per layer (each module with parameters of its own,
named by its module path, e.g. ``"layers.3"``):

- the gradient 2-norm ‖g‖ of the layer (all its parameters together) and of each parameter,
  measured right after ``loss.backward()`` (before any gradient clipping);
- the update-to-weight ratio ‖ΔW‖/‖W‖ of the optimizer step (ΔW = W_after - W_before; a
  healthy step is often quoted near 1e-3);

and, through forward hooks on the ``nn.ReLU`` / ``nn.Sigmoid`` / ``nn.Tanh`` modules, the
fraction of dead ReLUs, of saturated sigmoid / tanh outputs, and the activations' mean and std
(see :mod:`chainrule.diagnostics.activations` for the definitions and thresholds). Activations
applied as functions (``F.relu`` inside a ``forward``) have no module to hook and are not seen.

It warns (``warnings.warn`` with :class:`GradientFlowWarning`, and in ``callback.warnings``)
once per condition and layer, naming the layer(s) and the step:

- **vanishing**: a layer's RMS gradient ‖g‖/√n (n its number of parameters, so layers of
  different sizes compare fairly) is below ``vanish_ratio`` (1e-3) times the largest layer's at
  the same step: that layer learns at least a thousand times more slowly than the fastest one.
  The rule is relative because a small gradient everywhere is also what a converged model has.
- **exploding**: a layer's gradient norm is above ``explode_norm`` (1e3; gradient clipping is
  usually set at 1-10) or is not finite.
- **dead ReLUs**: more than ``dead_threshold`` (half) of a ReLU module's units are dead.
- **saturated**: more than ``saturation_threshold`` (half) of a sigmoid / tanh module's outputs
  are saturated.
"""

import math
import warnings

from .. import backend
from ..train.callbacks import Callback
from .activations import ActivationRecorder

__all__ = ["GradientFlow", "GradientFlowWarning"]

_ACTIVATION_KEYS = ("dead_fraction", "saturated_fraction", "activation_mean", "activation_std")


class GradientFlowWarning(UserWarning):
    """A gradient-flow problem seen during training. Besides its message it carries ``kind``
    (``"vanishing"``, ``"exploding"``, ``"dead_relu"`` or ``"saturated"``), ``layers`` (the
    module names), ``step`` (the optimizer step, from 0 over the whole run) and ``epoch``."""

    def __init__(self, message, kind=None, layers=(), step=None, epoch=None):
        super().__init__(message)
        self.kind = kind
        self.layers = list(layers)
        self.step = step
        self.epoch = epoch


class GradientFlow(Callback):
    """Record per-layer gradient norms, update ratios and activation statistics during ``fit``,
    and warn about vanishing / exploding gradients, dead ReLUs and saturated units.

    ``history`` holds lists aligned with ``history["step"]`` (and ``history["epoch"]``)::

        history["grad_norm"][layer]            ‖g‖ of the layer's parameters together
        history["update_ratio"][layer]         ‖ΔW‖/‖W‖ of the optimizer step
        history["param_grad_norm"][name]       per parameter ("layers.3.weight")
        history["param_update_ratio"][name]
        history["dead_fraction"][relu]         per nn.ReLU module
        history["saturated_fraction"][act]     per nn.Sigmoid / nn.Tanh module
        history["activation_mean"][act], history["activation_std"][act]

    A value that could not be measured (a parameter without a gradient, an activation not called)
    is NaN. Each ``fit`` starts a new record; measuring copies the parameters once per recorded
    step (for ΔW), so ``every`` > 1 makes it cheaper.

    Args:
        every: record every ``every``-th optimizer step (default 1: all of them).
        vanish_ratio, explode_norm, dead_threshold, saturation_threshold: the warning rules above.
        sigmoid_low, sigmoid_high, tanh_threshold: where sigmoid / tanh outputs count as saturated.
        warn: False collects the warnings in ``self.warnings`` without issuing them.
        verbose: True prints :meth:`summary` when training ends.

    Example::

        >>> model = nn.Sequential(nn.Linear(64, 32), nn.Sigmoid(), nn.Linear(32, 10))
        >>> flow = GradientFlow()
        >>> Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1)).fit(
        ...     (x, y), epochs=1, batch_size=32, callbacks=[flow])            # x: (N, 64), y: (N,)
        >>> flow.layers
        ['0', '2']
        >>> len(flow.history["grad_norm"]["0"]) == len(flow.history["step"])   # one value per recorded step
        True
        >>> print(flow.summary())
        >>> flow.plot("gradient_flow.png")
    """

    def __init__(self, every=1, vanish_ratio=1e-3, explode_norm=1e3, dead_threshold=0.5, saturation_threshold=0.5,
                 sigmoid_low=0.05, sigmoid_high=0.95, tanh_threshold=0.95, warn=True, verbose=False):  # fmt: skip
        super().__init__()
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise ValueError(f"every must be a positive integer (record every n-th step), got {every!r}")
        for name, value in (("vanish_ratio", vanish_ratio), ("explode_norm", explode_norm)):
            if not value > 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        for name, value in (("dead_threshold", dead_threshold), ("saturation_threshold", saturation_threshold)):
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be a fraction in [0, 1], got {value!r}")
        if not 0 < sigmoid_low < sigmoid_high < 1:
            raise ValueError(f"need 0 < sigmoid_low < sigmoid_high < 1, got {sigmoid_low!r} and {sigmoid_high!r}")
        if not 0 < tanh_threshold < 1:
            raise ValueError(f"tanh_threshold must be in (0, 1), got {tanh_threshold!r}")
        self.every = every
        self.vanish_ratio = vanish_ratio
        self.explode_norm = explode_norm
        self.dead_threshold = dead_threshold
        self.saturation_threshold = saturation_threshold
        self.sigmoid_low, self.sigmoid_high, self.tanh_threshold = sigmoid_low, sigmoid_high, tanh_threshold
        self.warn = warn
        self.verbose = verbose
        self.layers = []  # layer names, in the model's order
        self.layer_types = {}  # layer name -> module class name
        self.layer_sizes = {}  # layer name -> number of parameters
        self.activation_kinds = {}  # activation module name -> "relu" / "sigmoid" / "tanh"
        self.history = _empty_history()
        self.warnings = []  # GradientFlowWarning instances, in order
        self._params = {}  # layer name -> [(parameter name, Parameter)]
        self._recorder = None
        self._measured = {}  # layer -> its gradient norm at the last recorded step (layers with a gradient)

    # ----------------------------------------------------------------- Trainer hooks
    def on_train_begin(self, logs=None):
        self._find_layers(self.model)
        self.history = _empty_history()
        for layer in self.layers:
            self.history["grad_norm"][layer] = []
            self.history["update_ratio"][layer] = []
        for name, _ in self._all_params():
            self.history["param_grad_norm"][name] = []
            self.history["param_update_ratio"][name] = []
        if self._recorder is not None:
            self._recorder.remove()
        self._recorder = ActivationRecorder(self.model, self.sigmoid_low, self.sigmoid_high, self.tanh_threshold)
        self.activation_kinds = dict(self._recorder.kinds)
        for name, kind in self.activation_kinds.items():
            self.history["dead_fraction" if kind == "relu" else "saturated_fraction"][name] = []
            self.history["activation_mean"][name] = []
            self.history["activation_std"][name] = []
        self.warnings = []
        self._warned = set()  # (kind, layer) pairs already warned about
        self._step = 0
        self._epoch = 0
        self._measuring = False
        self._pending = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_batch_begin(self, batch, logs=None):
        self._measuring = self._step % self.every == 0
        self._recorder.recording = self._measuring
        self._pending = None

    def on_after_backward(self, batch, logs=None):
        if self._measuring:
            self._pending = self._measure_gradients()

    def on_batch_end(self, batch, logs=None):
        if self._measuring:
            self._recorder.recording = False
            pending = self._pending if self._pending is not None else self._measure_gradients(snapshot=False)
            self._record(pending)
            self._pending = None
        self._measuring = False
        self._step += 1

    def on_train_end(self, logs=None):
        if self._recorder is not None:
            self._recorder.remove()
            self._recorder = None
        self._pending = None
        if self.verbose:
            print(self.summary())

    # ----------------------------------------------------------------- measuring
    def _find_layers(self, model):
        """Each module with trainable parameters of its own is a layer; a shared parameter
        belongs to the first module that holds it."""
        self.layers, self.layer_types, self.layer_sizes, self._params = [], {}, {}, {}
        seen = set()
        for prefix, module in model.named_modules():
            params = []
            for name, param in module.named_parameters(recurse=False):
                if param.requires_grad and id(param) not in seen:
                    seen.add(id(param))
                    params.append((f"{prefix}.{name}" if prefix else name, param))
            if params:
                layer = prefix or type(module).__name__
                self.layers.append(layer)
                self.layer_types[layer] = type(module).__name__
                self.layer_sizes[layer] = sum(param.numel() for _, param in params)
                self._params[layer] = params
        if not self.layers:
            raise ValueError(f"GradientFlow: the model {type(model).__name__} has no trainable parameters to watch")

    def _all_params(self):
        for layer in self.layers:
            yield from self._params[layer]

    def _measure_gradients(self, snapshot=True):
        """Squared gradient norms per parameter (None without a gradient) and, with ``snapshot``,
        copies of the weights before the step."""
        squares, before = {}, {}
        for name, param in self._all_params():
            squares[name] = None if param.grad is None else _squared_norm(param.grad._data)
            if snapshot:
                before[name] = param._data.copy()
        return squares, before

    def _record(self, pending):
        squares, before = pending
        history = self.history
        history["step"].append(self._step)
        history["epoch"].append(self._epoch)
        self._measured = {}
        for layer in self.layers:
            grad_sq = delta_sq = weight_sq = 0.0
            measured = False
            for name, param in self._params[layer]:
                history["param_grad_norm"][name].append(math.nan if squares[name] is None else math.sqrt(squares[name]))
                if squares[name] is not None:
                    grad_sq += squares[name]
                    measured = True
                if name in before:
                    d_sq, w_sq = _squared_norm(param._data - before[name]), _squared_norm(before[name])
                    delta_sq, weight_sq = delta_sq + d_sq, weight_sq + w_sq
                    history["param_update_ratio"][name].append(_ratio(d_sq, w_sq))
                else:
                    history["param_update_ratio"][name].append(math.nan)
            history["grad_norm"][layer].append(math.sqrt(grad_sq) if measured else math.nan)
            if measured:
                self._measured[layer] = history["grad_norm"][layer][-1]
            history["update_ratio"][layer].append(_ratio(delta_sq, weight_sq) if before else math.nan)
        stats = self._recorder.take()
        for key, source in zip(_ACTIVATION_KEYS, ("dead_fraction", "saturated_fraction", "mean", "std")):
            for name, values in history[key].items():
                values.append(stats[source].get(name, math.nan))
        self._check()

    # ----------------------------------------------------------------- warnings
    def _check(self):
        step, norms = f"step {self._step} (epoch {self._epoch})", self._measured
        exploding = self._new(
            "exploding", {layer: norm for layer, norm in norms.items() if not norm <= self.explode_norm}
        )
        if exploding:
            self._warn("exploding", exploding, (
                f"exploding gradients at {step} in {_listing(exploding, 'norm')}: the gradient 2-norm is above "
                f"explode_norm={self.explode_norm:g} or not finite; lower the learning rate, clip gradients "
                "(Trainer(clip_grad_norm=...)) or scale the initial weights down"))  # fmt: skip
        rms = {layer: norm / math.sqrt(self.layer_sizes[layer]) for layer, norm in norms.items() if math.isfinite(norm)}
        if rms:
            largest = max(rms, key=rms.get)
            limit = self.vanish_ratio * rms[largest]
            vanishing = self._new("vanishing", {layer: value for layer, value in rms.items()
                                                if value < limit or rms[largest] == 0})  # fmt: skip
            if vanishing:
                self._warn("vanishing", vanishing, (
                    f"vanishing gradients at {step} in {_listing(vanishing, 'RMS gradient')}: below "
                    f"vanish_ratio={self.vanish_ratio:g} × the largest layer's RMS gradient ({rms[largest]:.3g}, "
                    f"layer '{largest}'), so these layers barely learn; try ReLU with He (kaiming) initialisation, "
                    "normalisation layers or a shallower network"))  # fmt: skip
        last = {name: values[-1] for name, values in self.history["dead_fraction"].items()}
        dead = self._new("dead_relu", {name: value for name, value in last.items() if value > self.dead_threshold})
        if dead:
            self._warn("dead_relu", dead, (
                f"dying ReLUs at {step} in {_listing(dead, 'dead', percent=True)}: more than "
                f"{self.dead_threshold:.0%} of the units output 0 for every sample of the batch and get no gradient; "
                "try a lower learning rate, He initialisation or LeakyReLU"))  # fmt: skip
        last = {name: values[-1] for name, values in self.history["saturated_fraction"].items()}
        saturated = self._new("saturated", {name: v for name, v in last.items() if v > self.saturation_threshold})
        if saturated:
            self._warn("saturated", saturated, (
                f"saturated units at {step} in {_listing(saturated, 'saturated', percent=True)}: more than "
                f"{self.saturation_threshold:.0%} of the outputs are in the flat part (sigmoid < {self.sigmoid_low:g} "
                f"or > {self.sigmoid_high:g}, |tanh| > {self.tanh_threshold:g}), where the derivative is nearly 0; "
                "try smaller initial weights, normalised inputs or ReLU"))  # fmt: skip

    def _new(self, kind, found):
        """The entries of ``found`` not yet warned about for ``kind`` (one warning per condition and layer)."""
        return {layer: value for layer, value in found.items() if (kind, layer) not in self._warned}

    def _warn(self, kind, found, message):
        self._warned.update((kind, layer) for layer in found)
        warning = GradientFlowWarning(message, kind=kind, layers=list(found), step=self._step, epoch=self._epoch)
        self.warnings.append(warning)
        if self.warn:
            warnings.warn(warning, stacklevel=2)

    # ----------------------------------------------------------------- reading the record
    def summary(self):
        """A table of the last recorded step: per layer its type, size, gradient norm (last and
        mean over the run) and update ratio; per activation module its dead or saturated fraction;
        then the warnings."""
        if not self.history["step"]:
            return "GradientFlow: nothing recorded yet (pass it to Trainer.fit(callbacks=[...]))"
        history = self.history
        lines = [f"Gradient flow over {len(history['step'])} recorded steps (last: step {history['step'][-1]})"]
        rows = [("layer", "type", "params", "‖g‖ last", "‖g‖ mean", "‖ΔW‖/‖W‖ last", "warning")]
        gradient_warnings = [w for w in self.warnings if w.kind in ("vanishing", "exploding")]
        for layer in self.layers:
            norms = history["grad_norm"][layer]
            flags = sorted({w.kind for w in gradient_warnings if layer in w.layers})
            size = f"{self.layer_sizes[layer]:,}"
            last, mean, ratio = (
                _number(norms[-1]),
                _number(_nanmean(norms)),
                _number(history["update_ratio"][layer][-1]),
            )
            rows.append((layer, self.layer_types[layer], size, last, mean, ratio, ", ".join(flags)))
        lines += _table(rows)
        if self.activation_kinds:
            rows = [("activation", "type", "statistic", "last", "mean", "activation mean", "activation std")]
            for name, kind in self.activation_kinds.items():
                key, statistic = ("dead_fraction", "dead") if kind == "relu" else ("saturated_fraction", "saturated")
                values = history[key][name]
                mean, std = history["activation_mean"][name][-1], history["activation_std"][name][-1]
                rows.append((name, kind, statistic, _percent(values[-1]), _percent(_nanmean(values)),
                             _number(mean), _number(std)))  # fmt: skip
            lines += [""] + _table(rows)
        lines.append("")
        lines += [f"warning: {w}" for w in self.warnings] or ["no warnings"]
        return "\n".join(lines)

    def plot(self, path):
        """Write :func:`chainrule.diagnostics.plot_gradient_flow` of this record to ``path`` (PNG)."""
        from .plots import plot_gradient_flow

        return plot_gradient_flow(self, path)

    def __repr__(self):
        return (f"GradientFlow(every={self.every}, layers={len(self.layers)}, steps={len(self.history['step'])}, "
                f"warnings={len(self.warnings)})")  # fmt: skip


def _empty_history():
    history = {"step": [], "epoch": []}
    for key in ("grad_norm", "update_ratio", "param_grad_norm", "param_update_ratio", *_ACTIVATION_KEYS):
        history[key] = {}
    return history


def _nanmean(values):
    values = [value for value in values if not math.isnan(value)]
    return sum(values) / len(values) if values else math.nan


def _squared_norm(array):
    """Σ x² in float64 (a float32 sum of squares overflows for norms above ~1e19)."""
    xp = backend.namespace_of(array)
    values = array.astype("float64")
    return float(xp.sum(values * values))


def _ratio(delta_sq, weight_sq):
    if weight_sq > 0:
        return math.sqrt(delta_sq / weight_sq)
    return math.inf if delta_sq > 0 else math.nan


def _listing(found, what, percent=False):
    parts = [f"'{layer}' ({what} {_percent(value) if percent else _number(value)})" for layer, value in found.items()]
    return ("layer " if len(parts) == 1 else "layers ") + ", ".join(parts)


def _number(value):
    return "nan" if math.isnan(value) else f"{value:.3g}" if 1e-3 <= abs(value) < 1e4 or value == 0 else f"{value:.2e}"


def _percent(value):
    return "nan" if math.isnan(value) else f"{value:.0%}"


def _table(rows):
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines
