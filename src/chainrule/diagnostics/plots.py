"""Plots of a :class:`~chainrule.diagnostics.GradientFlow` record (matplotlib, the ``plot`` extra)."""

import math

__all__ = ["plot_gradient_flow"]


def _matplotlib():
    try:
        from matplotlib import colormaps
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            "plot_gradient_flow needs matplotlib: install it with pip install 'chainrule[plot]'"
        ) from error
    return colormaps, FigureCanvasAgg, Figure


def _positive(values):
    """Values for a log axis: zero, negative and non-finite ones become gaps (NaN)."""
    return [value if math.isfinite(value) and value > 0 else math.nan for value in values]


def plot_gradient_flow(flow, path, title=None):
    """Write a PNG of a GradientFlow record to ``path`` and return ``path``.

    Panels, x = optimizer step: the gradient 2-norm of each layer (log scale), the
    update-to-weight ratio ‖ΔW‖/‖W‖ of each layer (log scale, with the 1e-3 rule of thumb
    dotted), and, when the model has ReLU / Sigmoid / Tanh modules, the fraction of dead ReLUs
    and saturated units. Layers are coloured from dark (first) to light (last), so a vanishing
    gradient shows as dark lines far below light ones.

    Example::

        >>> flow = GradientFlow()
        >>> trainer.fit((x, y), epochs=2, callbacks=[flow])
        >>> plot_gradient_flow(flow, "gradient_flow.png")
        'gradient_flow.png'
    """
    colormaps, FigureCanvasAgg, Figure = _matplotlib()
    history = flow.history
    steps = history["step"]
    if not steps:
        raise ValueError("plot_gradient_flow: the GradientFlow recorded no steps (was it passed to Trainer.fit?)")
    activations = list(flow.activation_kinds)
    panels = 3 if activations else 2
    figure = Figure(figsize=(5.2 * panels + 1.6, 4.2), layout="constrained")
    FigureCanvasAgg(figure)  # render with Agg, without touching pyplot's global backend
    axes = figure.subplots(1, panels, squeeze=False)[0]
    marker = "o" if len(steps) <= 40 else None
    colours = colormaps["viridis"]

    def colour(index, count):
        return colours(0.9 * index / max(count - 1, 1))

    grad_axis, ratio_axis = axes[0], axes[1]
    for index, layer in enumerate(flow.layers):
        style = {"color": colour(index, len(flow.layers)), "marker": marker, "markersize": 3, "linewidth": 1.4}
        label = f"{layer} ({flow.layer_types[layer]})"
        grad_axis.plot(steps, _positive(history["grad_norm"][layer]), label=label, **style)
        ratio_axis.plot(steps, _positive(history["update_ratio"][layer]), **style)
    grad_axis.set_yscale("log")
    grad_axis.set_title("gradient norm per layer")
    grad_axis.set_ylabel("‖∂L/∂W‖ (2-norm)")
    ratio_axis.set_yscale("log")
    ratio_axis.axhline(1e-3, color="grey", linestyle=":", linewidth=1, label="1e-3 (rule of thumb)")
    ratio_axis.set_title("update-to-weight ratio per layer")
    ratio_axis.set_ylabel("‖ΔW‖ / ‖W‖")
    ratio_axis.legend(loc="best", fontsize="small")
    figure.legend(*grad_axis.get_legend_handles_labels(), loc="outside right upper", fontsize="small", title="layer")
    if activations:
        axis = axes[2]
        for index, name in enumerate(activations):
            kind = flow.activation_kinds[name]
            key, what = ("dead_fraction", "dead") if kind == "relu" else ("saturated_fraction", "saturated")
            axis.plot(steps, history[key][name], color=colour(index, len(activations)), marker=marker,
                      markersize=3, linewidth=1.4, label=f"{name} ({kind}, {what})")  # fmt: skip
        axis.set_ylim(-0.03, 1.03)
        axis.set_title("dead ReLUs / saturated units")
        axis.set_ylabel("fraction")
        axis.legend(loc="best", fontsize="small")
    for axis in axes:
        axis.set_xlabel("optimizer step")
        axis.grid(alpha=0.3)
    figure.suptitle(title or f"Gradient flow ({len(flow.layers)} layers, {len(steps)} recorded steps)")
    figure.savefig(path, format="png", dpi=100)
    return path
