"""The computation graph of a tensor as Graphviz DOT (and SVG/PNG/PDF when Graphviz is installed).

``graph(loss, params=model)`` walks ``grad_fn`` → ``parents`` from the tensor, iteratively (a
10,000-op chain is fine), and draws the forward direction: leaves (parameters, labelled by their
module path such as ``layers.0.weight``) → ops (labelled with the op's name and output shape) →
the output. Like torchviz's ``make_dot``, tensors that need no gradient (the data) are not drawn.
"""

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import GraphError
from ..tensor import Tensor

FORMATS = ("svg", "png", "pdf", "dot")

_STYLES = {  # node kind -> DOT attributes
    "op": 'shape=box, style="rounded,filled", fillcolor=white',
    "parameter": "shape=box, style=filled, fillcolor=lightblue",
    "leaf": "shape=box, style=filled, fillcolor=lightgrey",
    "output": "shape=box, style=filled, fillcolor=darkolivegreen1",
}

INSTALL_HINT = (
    "Graphviz's `dot` program was not found on PATH; install Graphviz to render the graph "
    "(Debian/Ubuntu: `sudo apt install graphviz`; macOS: `brew install graphviz`; conda: "
    "`conda install -c conda-forge graphviz`; others: https://graphviz.org/download/). "
    "Writing a .dot file (graph.render('graph.dot')) or reading graph.source needs nothing."
)


class GraphvizNotFoundError(RuntimeError):
    """Graphviz's ``dot`` is needed to render SVG/PNG/PDF and is not installed."""


@dataclass(frozen=True)
class GraphNode:
    """One node of a drawn graph.

    id: DOT id, ``n0``, ``n1``, … in forward (topological) order; label: the text drawn (name and
    shape on two lines); kind: ``"op"``, ``"parameter"`` (a named leaf), ``"leaf"`` (an unnamed
    leaf that requires grad) or ``"output"``; shape: the tensor's shape (an op's output shape);
    name: the op's class name (``"Linear"``) or the parameter's name (``"0.weight"``, or ``"leaf"``).
    """

    id: str
    label: str
    kind: str
    shape: tuple
    name: str


def parameter_names(params):
    """``{id(tensor): name}`` from a mapping name → Tensor, an ``nn.Module`` (its
    ``named_parameters()``), an iterable of (name, tensor) pairs, or None."""
    if params is None:
        return {}
    named = getattr(params, "named_parameters", None)
    if callable(named):
        pairs = named()
    elif hasattr(params, "items"):
        pairs = params.items()
    else:
        pairs = params
    names = {}
    for pair in pairs:
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[1], Tensor)):
            raise TypeError(
                "params must be an nn.Module, a mapping name -> Tensor or (name, Tensor) pairs, "
                f"got an item {type(pair).__name__}"
            )
        names.setdefault(id(pair[1]), str(pair[0]))
    return names


def forward_order(tensor):
    """Every node (``Function``) and leaf tensor needing grad below ``tensor``, each once, in
    forward (topological) order: each appears after all the nodes and leaves it reads. Iterative
    post-order depth-first walk, parents visited in input order, so the order is deterministic."""
    root = tensor.grad_fn if tensor.grad_fn is not None else tensor
    order, done, seen = [], set(), {id(root)}
    stack = [(root, 0)]
    while stack:
        item, position = stack.pop()
        parents = () if isinstance(item, Tensor) else item.parents
        while position < len(parents) and (parents[position] is None or id(parents[position]) in seen):
            position += 1
        if position < len(parents):
            parent = parents[position]
            seen.add(id(parent))
            stack.append((item, position + 1))
            stack.append((parent, 0))
        elif id(item) not in done:
            done.add(id(item))
            order.append(item)
    return order


def graph(tensor, params=None):
    """The computation graph that produced ``tensor``, as a ``Graph`` (DOT text; renderable).

    params: names for the leaves, like torchviz's ``make_dot``: ``dict(model.named_parameters())``
    or the ``nn.Module`` itself. Unnamed leaves that require grad are labelled ``leaf``.

    Example::

        >>> model = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1))
        >>> loss = F.mse_loss(model(cr.randn(4, 2)), cr.randn(4, 1))    # x: (4, 2) -> loss: ()
        >>> g = cr.viz.graph(loss, params=model)
        >>> [n.label for n in g.nodes][:4]
        ['0.weight\\n(3, 2)', '0.bias\\n(3,)', 'Linear\\n(4, 3)', 'Sigmoid\\n(4, 3)']
        >>> g.render("mlp.svg")       # needs Graphviz's `dot`; "mlp.dot" needs nothing
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"graph() expects a Tensor, got {type(tensor).__name__}")
    if not tensor.requires_grad:
        raise GraphError(
            f"graph(): the tensor (shape {tuple(tensor.shape)}) does not require grad, so no graph "
            "was recorded for it: compute it from tensors with requires_grad=True (e.g. a model's "
            "parameters), outside no_grad()"
        )
    names = parameter_names(params)
    order = forward_order(tensor)
    ids = {id(item): f"n{index}" for index, item in enumerate(order)}
    nodes, edges = [], []
    for item in order:
        if isinstance(item, Tensor):
            name = names.get(id(item), "leaf")
            kind = "parameter" if id(item) in names else "leaf"
            shape = tuple(item.shape)
        else:
            name, kind, shape = type(item).__name__, "op", tuple(item.out_shape)
            edges.extend((ids[id(parent)], ids[id(item)]) for parent in item.parents if parent is not None)
        nodes.append(GraphNode(ids[id(item)], f"{name}\n{shape}", kind, shape, name))
    if tensor.grad_fn is None:  # the tensor is itself a leaf: it is the whole graph
        nodes[-1] = GraphNode(nodes[-1].id, nodes[-1].label, "output", nodes[-1].shape, nodes[-1].name)
    else:
        shape = tuple(tensor.shape)
        output = GraphNode(f"n{len(order)}", f"output\n{shape}", "output", shape, "output")
        edges.append((ids[id(tensor.grad_fn)], output.id))
        nodes.append(output)
    return Graph(nodes, edges)


class Graph:
    """A drawn computation graph: ``nodes`` (``GraphNode``s), ``edges`` (``(from_id, to_id)``
    pairs in the forward direction, one per use: ``x * x`` has two edges x → Mul), ``source`` (the
    DOT text) and ``render(path)``."""

    def __init__(self, nodes, edges):
        self.nodes = list(nodes)
        self.edges = list(edges)

    @property
    def source(self):
        """The graph in Graphviz's DOT language (deterministic: the same graph gives the same text)."""
        lines = [
            "digraph {",
            '    graph [rankdir=TB, fontname="Helvetica"]',
            '    node [fontname="Helvetica", fontsize=11]',
        ]
        for node in self.nodes:
            lines.append(f"    {node.id} [label={quote(node.label)}, {_STYLES[node.kind]}]")
        lines.extend(f"    {source} -> {target}" for source, target in self.edges)
        lines.append("}")
        return "\n".join(lines) + "\n"

    def __str__(self):
        return self.source

    def __repr__(self):
        ops = sum(node.kind == "op" for node in self.nodes)
        return f"<Graph: {len(self.nodes)} nodes ({ops} ops), {len(self.edges)} edges>"

    def _repr_svg_(self):
        """Jupyter's rich display: the SVG when Graphviz is installed (else Jupyter shows repr)."""
        dot = shutil.which("dot")
        if dot is None:
            return None
        done = subprocess.run([dot, "-Tsvg"], input=self.source.encode(), capture_output=True, check=False)
        return done.stdout.decode() if done.returncode == 0 else None

    def render(self, path, format=None):  # noqa: A002 - graphviz's argument name
        """Write the graph to ``path`` and return it as a ``Path``.

        format: ``"svg"``, ``"png"``, ``"pdf"`` (run Graphviz's ``dot``) or ``"dot"`` (the text,
        no Graphviz needed); by default from the path's suffix. Raises ``GraphvizNotFoundError``,
        saying how to install Graphviz, when ``dot`` is needed and not on PATH.
        """
        path = Path(path)
        if format is None:
            format = path.suffix.lstrip(".").lower()  # noqa: A001
            if format not in FORMATS:
                raise ValueError(
                    f"render(): cannot tell the format from the file name {path.name!r}: use a suffix "
                    f"among {', '.join('.' + f for f in FORMATS)} or pass format="
                )
        elif format not in FORMATS:
            raise ValueError(f"render(): format must be one of {', '.join(FORMATS)}, got {format!r}")
        if format == "dot":
            path.write_text(self.source, encoding="utf-8")
            return path
        dot = shutil.which("dot")
        if dot is None:
            raise GraphvizNotFoundError(INSTALL_HINT)
        done = subprocess.run(
            [dot, f"-T{format}", "-o", str(path)], input=self.source.encode(), capture_output=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"Graphviz's dot failed to write {path}: {done.stderr.decode().strip()}")
        return path


def quote(text):
    """``text`` as a DOT quoted string: backslashes and quotes escaped, newlines as ``\\n``."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "\\n")
    return f'"{escaped}"'
