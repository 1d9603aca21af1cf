"""chainrule.viz.graph: the computation graph as DOT text, nodes and edges; render()."""

import importlib
import re
import shutil

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
import chainrule.viz as viz
from chainrule import nn

graph_module = importlib.import_module("chainrule.viz.graph")  # the module (viz.graph is the function)

NODE = re.compile(r'^\s+(n\d+) \[label="((?:[^"\\]|\\.)*)"', re.M)
EDGE = re.compile(r"^\s+(n\d+) -> (n\d+)$", re.M)


def parse_dot(source):
    """(id -> label, [(from label, to label)]) read back from the DOT text itself."""
    labels = {node_id: label.replace("\\n", "\n") for node_id, label in NODE.findall(source)}
    edges = [(labels[a], labels[b]) for a, b in EDGE.findall(source)]
    return labels, edges


def mlp_loss(model, n=5):
    cr.manual_seed(0)
    x = cr.randn(n, 2)
    target = cr.tensor(np.array([0, 1, 0, 1, 1][:n]))
    return F.cross_entropy(model(x), target)


class Named(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2))

    def forward(self, x):
        return self.layers(x)


def test_mlp_loss_dot_text_has_ops_labelled_parameters_and_edges():
    model = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 2))
    g = viz.graph(mlp_loss(model), params=dict(model.named_parameters()))
    labels, edges = parse_dot(g.source)
    assert sorted(labels.values()) == sorted(
        [
            "0.weight\n(3, 2)",
            "0.bias\n(3,)",
            "Linear\n(5, 3)",
            "Sigmoid\n(5, 3)",
            "2.weight\n(2, 3)",
            "2.bias\n(2,)",
            "Linear\n(5, 2)",
            "CrossEntropy\n()",
            "output\n()",
        ]
    )
    assert sorted(edges) == sorted(
        [
            ("0.weight\n(3, 2)", "Linear\n(5, 3)"),
            ("0.bias\n(3,)", "Linear\n(5, 3)"),
            ("Linear\n(5, 3)", "Sigmoid\n(5, 3)"),
            ("Sigmoid\n(5, 3)", "Linear\n(5, 2)"),
            ("2.weight\n(2, 3)", "Linear\n(5, 2)"),
            ("2.bias\n(2,)", "Linear\n(5, 2)"),
            ("Linear\n(5, 2)", "CrossEntropy\n()"),
            ("CrossEntropy\n()", "output\n()"),
        ]
    )
    assert g.source.startswith("digraph {") and g.source.rstrip().endswith("}")
    kinds = {node.label: node.kind for node in g.nodes}
    assert kinds["0.weight\n(3, 2)"] == "parameter" and kinds["Sigmoid\n(5, 3)"] == "op"
    assert kinds["output\n()"] == "output"
    assert [(a, b) for a, b in EDGE.findall(g.source)] == g.edges


def test_module_as_params_gives_dotted_module_paths():
    model = Named()
    g = viz.graph(mlp_loss(model), params=model)
    names = sorted(node.name for node in g.nodes if node.kind == "parameter")
    assert names == ["layers.0.bias", "layers.0.weight", "layers.2.bias", "layers.2.weight"]
    assert [node.name for node in g.nodes if node.kind == "op"] == ["Linear", "ReLU", "Linear", "CrossEntropy"]
    assert 'label="layers.0.weight\\n(3, 2)"' in g.source


def test_ids_are_in_forward_order_and_the_text_is_deterministic():
    model = Named()
    loss = mlp_loss(model)
    first, second = viz.graph(loss, params=model), viz.graph(loss, params=model)
    assert first.source == second.source
    position = {node.id: index for index, node in enumerate(first.nodes)}
    assert [node.id for node in first.nodes] == [f"n{i}" for i in range(len(first.nodes))]
    assert all(position[a] < position[b] for a, b in first.edges)  # inputs before what reads them


def test_branching_graph_shares_the_leaf_and_labels_unnamed_leaves():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = cr.tensor([3.0, 4.0], requires_grad=True)
    g = viz.graph(x * y + x, params={"x": x})
    labels, edges = parse_dot(g.source)
    assert sorted(labels.values()) == sorted(["x\n(2,)", "leaf\n(2,)", "Mul\n(2,)", "Add\n(2,)", "output\n(2,)"])
    assert sorted(edges) == sorted(
        [
            ("x\n(2,)", "Mul\n(2,)"),
            ("leaf\n(2,)", "Mul\n(2,)"),
            ("Mul\n(2,)", "Add\n(2,)"),
            ("x\n(2,)", "Add\n(2,)"),
            ("Add\n(2,)", "output\n(2,)"),
        ]
    )


def test_a_tensor_used_twice_by_one_op_gives_two_edges():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    g = viz.graph(x * x)
    assert len(g.nodes) == 3 and len(g.edges) == 3
    assert g.edges.count(("n0", "n1")) == 2


def test_a_leaf_is_its_own_graph():
    w = cr.zeros(3, requires_grad=True)
    g = viz.graph(w, params={"w": w})
    assert [(node.label, node.kind) for node in g.nodes] == [("w\n(3,)", "output")]
    assert g.edges == []


def test_a_long_chain_needs_no_recursion():
    x = cr.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    g = viz.graph(y)
    assert len(g.nodes) == 5002 and len(g.edges) == 5001


def test_labels_are_escaped_for_dot():
    assert graph_module.quote('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'
    w = cr.ones(2, requires_grad=True)
    g = viz.graph(w * 2, params={'odd "name"\\': w})
    assert 'label="odd \\"name\\"\\\\\\n(2,)"' in g.source


def test_str_and_repr():
    x = cr.tensor([1.0], requires_grad=True)
    g = viz.graph((x * 2).sum())
    assert str(g) == g.source
    assert repr(g) == "<Graph: 4 nodes (2 ops), 3 edges>"


def test_bad_inputs_have_clear_errors():
    with pytest.raises(TypeError, match="expects a Tensor"):
        viz.graph(np.ones(3))
    with pytest.raises(cr.GraphError, match="does not require grad"):
        viz.graph(cr.ones(3) * 2)
    x = cr.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match="params must be"):
        viz.graph(x * 2, params=[x])


def test_render_dot_needs_no_graphviz(tmp_path, monkeypatch):
    monkeypatch.setattr(graph_module.shutil, "which", lambda name: None)
    x = cr.ones(2, requires_grad=True)
    g = viz.graph(x * 2)
    path = g.render(tmp_path / "g.dot")
    assert path.read_text(encoding="utf-8") == g.source
    assert g.render(tmp_path / "g.txt", format="dot").read_text(encoding="utf-8") == g.source


def test_render_without_graphviz_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(graph_module.shutil, "which", lambda name: None)
    g = viz.graph(cr.ones(2, requires_grad=True) * 2)
    with pytest.raises(viz.GraphvizNotFoundError) as caught:
        g.render(tmp_path / "g.svg")
    message = str(caught.value)
    assert "apt install graphviz" in message and "brew install graphviz" in message and ".dot" in message
    assert not (tmp_path / "g.svg").exists()
    assert g._repr_svg_() is None


def test_render_rejects_unknown_formats(tmp_path):
    g = viz.graph(cr.ones(2, requires_grad=True) * 2)
    with pytest.raises(ValueError, match="cannot tell the format"):
        g.render(tmp_path / "g.jpeg")
    with pytest.raises(ValueError, match="format must be one of"):
        g.render(tmp_path / "g.svg", format="gif")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_render_svg_and_png_with_graphviz(tmp_path):
    model = Named()
    g = viz.graph(mlp_loss(model), params=model)
    svg = g.render(tmp_path / "mlp.svg").read_text(encoding="utf-8")
    assert "<svg" in svg and "layers.0.weight" in svg and "CrossEntropy" in svg
    png = g.render(tmp_path / "mlp.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert "<svg" in g._repr_svg_()


def test_conv_net_graph():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 2))
    cr.manual_seed(0)
    loss = F.cross_entropy(model(cr.randn(3, 1, 4, 4)), cr.tensor(np.array([0, 1, 1])))
    g = viz.graph(loss, params=model)
    ops = [node.label for node in g.nodes if node.kind == "op"]
    assert ops[:2] == ["Convolution\n(3, 2, 2, 2)", "ReLU\n(3, 2, 2, 2)"]
    assert ops[-2:] == ["Linear\n(3, 2)", "CrossEntropy\n()"]
    assert sorted(node.name for node in g.nodes if node.kind == "parameter") == [
        "0.bias",
        "0.weight",
        "3.bias",
        "3.weight",
    ]
