"""chainrule.viz.trace_backward and the engine's observe_backward: order, norms, δs, rules, errors."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
import chainrule.viz as viz
from chainrule import nn
from chainrule.autograd import Function, engine
from chainrule.autograd.engine import observe_backward
from chainrule.tensor import Tensor


def consumers_of(loss):
    """node or leaf -> the nodes that read its output, by an independent walk over grad_fn/parents."""
    consumers, stack, seen = {}, [loss.grad_fn], {id(loss.grad_fn)}
    while stack:
        node = stack.pop()
        for parent in node.parents:
            if parent is None:
                continue
            consumers.setdefault(id(parent), []).append(node)
            if not isinstance(parent, Tensor) and id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)
    return consumers, seen


def assert_reverse_topological(trace, loss):
    consumers, functions = consumers_of(loss)
    position = {id(step.node): step.index for step in trace.steps}
    assert [step.index for step in trace.steps] == list(range(len(trace.steps)))
    assert len(position) == len(trace.steps)  # each node runs once
    assert {id(s.node) for s in trace.steps if s.parameter is None} == functions  # every node ran
    for step in trace.steps:
        for consumer in consumers.get(id(step.node), []):
            assert position[id(consumer)] < step.index, (step.name, type(consumer).__name__)


def norm(tensor):
    return float(np.linalg.norm(np.asarray(tensor.detach()).ravel()))


def double_mlp(activation=nn.Sigmoid):
    cr.manual_seed(1)
    model = nn.Sequential(nn.Linear(2, 3), activation(), nn.Linear(3, 1)).double()
    x = cr.randn(4, 2, dtype=cr.float64)
    y = cr.randn(4, 1, dtype=cr.float64)
    return model, x, y


@pytest.mark.parametrize("activation", [nn.Sigmoid, nn.Tanh, nn.ReLU])
def test_mlp_order_norms_and_deltas_match_direct_gradients(activation):
    model, x, y = double_mlp(activation)
    z1 = model[0](x)
    a1 = model[1](z1)
    z2 = model[2](a1)
    loss = F.mse_loss(z2, y)
    params = dict(model.named_parameters())
    direct = cr.autograd.grad(loss, [z1, a1, z2, *params.values()], retain_graph=True)
    d_z1, d_a1, d_z2 = direct[:3]
    d_params = dict(zip(params, direct[3:]))

    trace = viz.trace_backward(loss, model=model)
    assert_reverse_topological(trace, loss)
    by_node = {id(step.node): step for step in trace.steps}
    assert by_node[id(z2.grad_fn)].received.norm == pytest.approx(norm(d_z2), rel=1e-12)
    assert by_node[id(a1.grad_fn)].received.norm == pytest.approx(norm(d_a1), rel=1e-12)
    assert by_node[id(z1.grad_fn)].received.norm == pytest.approx(norm(d_z1), rel=1e-12)
    second = by_node[id(z2.grad_fn)]  # Linear(3, 1) sends to a1, 2.weight, 2.bias
    assert [trace.names[t] for t in second.targets] == [
        "Sigmoid" if activation is nn.Sigmoid else activation.__name__,
        "2.weight",
        "2.bias",
    ]
    assert [s.shape for s in second.sent] == [(4, 3), (1, 3), (1,)]
    assert second.sent[0].norm == pytest.approx(norm(d_a1), rel=1e-12)
    assert second.sent[1].norm == pytest.approx(norm(d_params["2.weight"]), rel=1e-12)
    assert second.sent[2].norm == pytest.approx(norm(d_params["2.bias"]), rel=1e-12)
    first = by_node[id(z1.grad_fn)]
    assert first.sent[0] is None and first.targets[0] is None  # x needs no grad
    leaves = {step.parameter: step for step in trace.steps if step.parameter is not None}
    assert sorted(leaves) == sorted(params)
    assert all(trace.steps[-1 - i].parameter is not None for i in range(4))  # accumulation comes last
    for name, param in params.items():
        assert leaves[name].name == "AccumulateGrad" and leaves[name].received.shape == tuple(param.shape)
        assert leaves[name].received.norm == pytest.approx(norm(param.grad), rel=1e-12)
        np.testing.assert_allclose(np.asarray(leaves[name].grad), np.asarray(d_params[name]), rtol=1e-12)
    assert trace.deltas == []  # a loss tensor, computed before the call: no forward hooks ran


def test_deltas_from_a_loss_function_match_direct_gradients():
    model, x, y = double_mlp(nn.Tanh)
    z1 = model[0](x)
    a1 = model[1](z1)
    loss = F.mse_loss(model[2](a1), y)
    d_z1, d_a1 = cr.autograd.grad(loss, [z1, a1])
    trace = viz.trace_backward(lambda: F.mse_loss(model(x), y), model=model)
    assert [(d.module, d.type, d.call, d.output, d.shape) for d in trace.deltas] == [
        ("0", "Linear", 0, None, (4, 3)),
        ("1", "Tanh", 0, None, (4, 3)),
        ("2", "Linear", 0, None, (4, 1)),
    ]
    np.testing.assert_allclose(np.asarray(trace.deltas[0].grad), np.asarray(d_z1), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(trace.deltas[1].grad), np.asarray(d_a1), rtol=1e-12)
    assert trace.deltas[1].norm == pytest.approx(norm(d_a1), rel=1e-12)
    # the δ of the last layer is ∂L/∂ŷ = 2(ŷ - y)/n for the mean squared error
    expected = 2 * (np.asarray(model(x).detach()) - np.asarray(y)) / 4
    np.testing.assert_allclose(np.asarray(trace.deltas[2].grad), expected, rtol=1e-12)
    assert_reverse_topological(trace, trace.loss)


def test_hooks_are_removed_afterwards():
    model, x, y = double_mlp()
    trace = viz.trace_backward(lambda: F.mse_loss(model(x), y), model=model, retain_graph=True)
    assert all(not m._forward_hooks for m in model.modules())
    assert all(not p._hooks for p in model.parameters())
    assert all(not step.node.hooks for step in trace.steps if step.parameter is None)
    assert engine._observers == ()


def test_branching_graph_and_broadcasting():
    a = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=cr.float64, requires_grad=True)
    b = cr.tensor([0.5, -1.0, 2.0], dtype=cr.float64, requires_grad=True)
    loss = ((a * b + a) ** 2).sum()
    trace = viz.trace_backward(loss, model={"a": a, "b": b})
    assert_reverse_topological(trace, loss)
    assert [s.name for s in trace.steps[:3]] == ["Sum", "Pow", "Add"]
    add, mul = trace.steps[2], trace.steps[3]
    assert mul.name == "Mul"
    g = 2 * (np.asarray(a.detach()) * np.asarray(b.detach()) + np.asarray(a.detach()))  # ∂L/∂(a·b + a)
    assert add.received.norm == pytest.approx(np.linalg.norm(g), rel=1e-12)
    assert [trace.names[t] for t in add.targets] == ["Mul", "a"]
    assert mul.sent[1].shape == (3,)  # broadcasting undone, as for b.grad
    assert mul.sent[1].norm == pytest.approx(np.linalg.norm((g * np.asarray(a.detach())).sum(0)), rel=1e-12)
    leaves = {s.parameter: s for s in trace.steps if s.parameter}
    assert leaves["a"].received.norm == pytest.approx(norm(a.grad), rel=1e-12)  # the sum of both paths
    assert leaves["b"].received.norm == pytest.approx(norm(b.grad), rel=1e-12)
    np.testing.assert_allclose(np.asarray(a.grad), g * (np.asarray(b.detach()) + 1), rtol=1e-12)


def test_conv_net_trace():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3)).double()
    x = cr.randn(2, 1, 4, 4, dtype=cr.float64)
    target = cr.tensor(np.array([0, 2]))
    trace = viz.trace_backward(lambda: F.cross_entropy(model(x), target), model=model)
    assert_reverse_topological(trace, trace.loss)
    assert trace.steps[0].name == "CrossEntropy" and "Convolution" in [s.name for s in trace.steps]
    for name, param in model.named_parameters():
        (step,) = [s for s in trace.steps if s.parameter == name]
        assert step.received.norm == pytest.approx(norm(param.grad), rel=1e-12)
    assert [(d.module, d.shape) for d in trace.deltas] == [
        ("0", (2, 2, 2, 2)),
        ("1", (2, 2, 2, 2)),
        ("2", (2, 8)),
        ("3", (2, 3)),
    ]
    assert trace.deltas[2].norm == pytest.approx(trace.deltas[1].norm, rel=1e-12)  # flatten keeps the values


def test_rules_come_from_the_ops_docstrings():
    x = cr.randn(3, 4, dtype=cr.float64, requires_grad=True)
    w = cr.randn(4, 2, dtype=cr.float64, requires_grad=True)
    trace = viz.trace_backward((x @ w).sigmoid().sum())
    rules = {step.name: step.rule for step in trace.steps}
    assert rules["MatMul"].startswith("C = A·B.") and "∂L/∂A = G·Bᵀ" in rules["MatMul"]
    assert "dy/dx = y(1 - y)" in rules["Sigmoid"]

    class Double(Function):
        """y = 2x.   dy/dx = 2"""

        def forward(self, x):
            return 2 * x

        def backward(self, grad):
            return 2 * grad

    trace = viz.trace_backward(Double()(x).sum())
    assert trace.steps[1].rule == "y = 2x.   dy/dx = 2"
    model = nn.Linear(4, 2).double()
    trace = viz.trace_backward(model(x).sum())
    linear = [s for s in trace.steps if s.name == "Linear"][0]
    assert "∂L/∂W = Gᵀ·X" in linear.rule and "y = x·Wᵀ + b" in linear.rule


def test_twice_with_retain_graph_and_then_freed():
    model, x, y = double_mlp()
    loss = F.mse_loss(model(x), y)
    first = viz.trace_backward(loss, model=model, retain_graph=True)
    grads = {name: np.asarray(p.grad).copy() for name, p in model.named_parameters()}
    second = viz.trace_backward(loss, model=model)
    assert [(s.name, s.received) for s in first.steps] == [(s.name, s.received) for s in second.steps]
    for name, param in model.named_parameters():  # gradients accumulate, as with backward()
        np.testing.assert_allclose(np.asarray(param.grad), 2 * grads[name], rtol=1e-12)
    with pytest.raises(cr.GraphError, match="second time"):
        viz.trace_backward(loss)
    assert engine._observers == ()


def test_bad_losses_have_clear_errors():
    w = cr.randn(3, requires_grad=True)
    with pytest.raises(cr.ShapeError, match=r"scalar loss.*shape \(3,\)"):
        viz.trace_backward(w * 2)
    with pytest.raises(cr.GraphError, match="does not require grad"):
        viz.trace_backward(cr.ones(3).sum())
    with pytest.raises(TypeError, match="expects a scalar loss Tensor"):
        viz.trace_backward(1.5)
    with pytest.raises(TypeError, match="expects a scalar loss Tensor"):
        viz.trace_backward(lambda: 1.5)


def test_printed_table():
    model, x, y = double_mlp()
    text = str(viz.trace_backward(lambda: F.mse_loss(model(x), y), model=model))
    lines = text.splitlines()
    assert lines[0].startswith("Backward pass of a loss of shape (), value ")
    steps_table = lines[: lines.index("δ of each layer: ∂L/∂(each submodule's output), in forward order")]
    rows = [line for line in steps_table if line[:4].strip().isdigit()]
    assert len(rows) == 10
    op_column = {line.index(name) for line, name in zip(rows, ["Mean", "Mul", "Sub", "Linear", "Sigmoid"])}
    assert len(op_column) == 1  # aligned
    assert "rule: y = σ(x) = 1/(1 + e⁻ˣ).   dy/dx = y(1 - y)" in text
    assert "0.weight.grad" in text and "- (needs no grad)" in text
    assert "δ of each layer" in text and any(line.split()[:2] == ["1", "Sigmoid"] for line in lines)
    plain = str(viz.trace_backward(F.mse_loss(model(x), y), model=model))
    assert "pass the loss as a function" in plain


def test_observe_backward_sees_each_node_and_is_removed():
    x = cr.randn(4, 3, requires_grad=True)
    w = cr.randn(3, 2, requires_grad=True)
    outer, inner = [], []
    with observe_backward(lambda node, g, sent: outer.append((node.name, g.shape, [s.shape for s in sent]))):
        with observe_backward(lambda node, g, sent: inner.append(node.name)):
            (x @ w + 1.0).sum().backward()
        assert len(engine._observers) == 1
    assert engine._observers == ()
    assert outer == [
        ("SumBackward0", (), [(4, 2)]),
        ("AddBackward0", (4, 2), [(4, 2), (4, 2)]),
        ("MatMulBackward0", (4, 2), [(4, 3), (3, 2)]),
    ]
    assert inner == [name for name, _, _ in outer]
    expected_x, expected_w = np.asarray(x.grad).copy(), np.asarray(w.grad).copy()
    x.grad = w.grad = None
    (x @ w + 1.0).sum().backward()  # the same gradients without an observer
    np.testing.assert_array_equal(np.asarray(x.grad), expected_x)
    np.testing.assert_array_equal(np.asarray(w.grad), expected_w)
    with pytest.raises(ZeroDivisionError), observe_backward(lambda *args: None):
        raise ZeroDivisionError
    assert engine._observers == ()


def test_a_long_chain_traces_without_recursion():
    x = cr.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0
    trace = viz.trace_backward(y.sum())
    assert len(trace) == 3002 and trace.steps[-1].parameter == "leaf"
