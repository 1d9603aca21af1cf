"""``chainrule.diagnostics``: see how gradients flow while a network trains.

:class:`GradientFlow` is a Trainer callback that records per-layer gradient norms,
update-to-weight ratios and activation statistics (dead ReLUs, saturated sigmoid / tanh units),
and warns with :class:`GradientFlowWarning` when gradients vanish or explode, naming the layer;
:func:`plot_gradient_flow` draws the record as a PNG.

Example::

    >>> from chainrule.diagnostics import GradientFlow
    >>> flow = GradientFlow()
    >>> trainer.fit((x, y), epochs=3, callbacks=[flow])     # x: (N, features), y: (N,)
    >>> print(flow.summary())
    >>> flow.plot("gradient_flow.png")
"""

from .activations import ActivationRecorder, activation_kind, dead_fraction, saturated_fraction
from .gradient_flow import GradientFlow, GradientFlowWarning
from .plots import plot_gradient_flow

__all__ = [
    "ActivationRecorder",
    "GradientFlow",
    "GradientFlowWarning",
    "activation_kind",
    "dead_fraction",
    "plot_gradient_flow",
    "saturated_fraction",
]
