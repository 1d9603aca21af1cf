"""``chainrule.viz``: tools that make backpropagation visible.

``graph(t, params=model)`` draws the computation graph of a tensor (Graphviz DOT, SVG/PNG/PDF);
``trace_backward(loss, model=model)`` records a backward pass step by step: each node, the rule it
applied, the gradients it received and sent, and each layer's δ.
"""

from .deltas import Delta, GradStat
from .explain import LayerStep, StepExplanation, explain_step
from .graph import Graph, GraphNode, GraphvizNotFoundError, graph
from .trace import BackwardStep, BackwardTrace, trace_backward

__all__ = [
    "BackwardStep",
    "BackwardTrace",
    "Delta",
    "GradStat",
    "Graph",
    "GraphNode",
    "GraphvizNotFoundError",
    "LayerStep",
    "StepExplanation",
    "explain_step",
    "graph",
    "trace_backward",
]
