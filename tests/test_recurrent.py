"""RNN, LSTM, GRU and their cells against PyTorch (tests/fixtures/torch_rnn.npz, written by
scripts/make_torch_fixtures_rnn.py), by float64 finite differences, and their API details.
The tests never import torch."""

import ast
import functools
import json
import math
import pathlib
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.ops.recurrent import gru_sequence, lstm_sequence, rnn_sequence

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "torch_rnn.npz"
RTOL64, ATOL64 = 1e-10, 1e-12
RTOL32, ATOL32 = 1e-5, 1e-6
RECURRENT = (
    "rnn_tanh rnn_tanh_batch_first rnn_relu rnn_relu_nobias_unbatched lstm lstm_batch_first "
    "lstm_batch_first_states lstm_nobias lstm_unbatched lstm_unbatched_nohx gru gru_batch_first gru_nobias "
    "gru_unbatched rnn_cell rnn_cell_relu_nobias rnn_cell_unbatched lstm_cell lstm_cell_nobias_unbatched "
    "lstm_cell_nohx gru_cell gru_cell_nobias gru_cell_unbatched"
).split()
PRECISIONS = [
    pytest.param(cr.float64, "", RTOL64, ATOL64, id="float64"),
    pytest.param(cr.float32, "_32", RTOL32, ATOL32, id="float32"),
]


@functools.cache
def reference():
    with np.load(FIXTURE, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def config(case):
    return json.loads(str(reference()[f"{case}/config"]))


def build(case, dtype):
    """The case's module with the fixture's weights (unpacked from ``{case}/params``)."""
    ref, spec = reference(), config(case)
    module = getattr(nn, spec["class"])(*spec["args"], **spec["kwargs"]).to(dtype)
    flat, start = ref[f"{case}/params"], 0
    with cr.no_grad():
        for param in module.parameters():
            size = math.prod(param.shape)
            param.copy_(flat[start : start + size].reshape(param.shape))
            start += size
    assert start == flat.size
    return module


def flat_outputs(result):
    if isinstance(result, tuple):
        flat = []
        for item in result:
            flat.extend(item if isinstance(item, tuple) else (item,))
        return flat
    return [result]


def call(module, case, x, states):
    if not states:
        return module(x)
    if config(case)["class"].startswith("LSTM"):
        return module(x, tuple(states))
    return module(x, states[0])


def test_fixture_holds_every_case():
    assert set(RECURRENT) <= set(reference()["meta/cases"].tolist())


@pytest.mark.parametrize("dtype, suffix, rtol, atol", PRECISIONS)
@pytest.mark.parametrize("case", RECURRENT)
def test_matches_pytorch(case, dtype, suffix, rtol, atol):
    """Outputs, h_n (c_n), and the gradients of input, initial states and every parameter."""
    ref = reference()
    module = build(case, dtype)
    x = cr.tensor(ref[f"{case}/x"], dtype=dtype, requires_grad=True)
    count = 2 if config(case)["class"].startswith("LSTM") else 1
    states = []
    if config(case)["states"]:
        states = [cr.tensor(ref[f"{case}/state/{j}"], dtype=dtype, requires_grad=True) for j in range(count)]
    outputs = flat_outputs(call(module, case, x, states))
    loss = 0
    for k, out in enumerate(outputs):
        expected = ref[f"{case}/out/{k}{suffix}"]
        assert out.dtype == dtype and out.shape == expected.shape, (k, out.shape, expected.shape)
        np.testing.assert_allclose(out.detach().numpy(), expected, rtol=rtol, atol=atol, err_msg=f"output {k}")
        loss = loss + (out * cr.tensor(ref[f"{case}/v/{k}"], dtype=dtype)).sum()
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), ref[f"{case}/grad_x{suffix}"], rtol=rtol, atol=atol)
    for j, state in enumerate(states):
        np.testing.assert_allclose(
            state.grad.numpy(), ref[f"{case}/grad_state/{j}{suffix}"], rtol=rtol, atol=atol, err_msg=f"state {j}"
        )
    flat, start = ref[f"{case}/grads{suffix}"], 0
    for name, param in module.named_parameters():
        size = math.prod(param.shape)
        assert param.grad is not None and param.grad.dtype == dtype, name
        expected = flat[start : start + size].reshape(param.shape)
        np.testing.assert_allclose(param.grad.numpy(), expected, rtol=rtol, atol=atol, err_msg=name)
        start += size


@pytest.mark.parametrize("case", RECURRENT)
def test_state_dict_keys_and_shapes_are_pytorchs(case):
    ref = reference()
    state = build(case, cr.float32).state_dict()
    assert list(state) == ref[f"{case}/state_dict"].tolist()
    shapes = [ast.literal_eval(text) for text in ref[f"{case}/state_shapes"].tolist()]
    assert [tuple(value.shape) for value in state.values()] == shapes
    fresh = getattr(nn, config(case)["class"])(*config(case)["args"], **config(case)["kwargs"])
    fresh.load_state_dict(state)  # a state dict in PyTorch's layout loads strictly
    for key, value in fresh.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), state[key].numpy())


# ----------------------------------------------------------------- finite differences (float64)


def _layer_inputs(module, x_shape, count, seed=0):
    rng = np.random.default_rng(seed)
    D = 2 if module.bidirectional else 1
    batch = x_shape[0] if module.batch_first else x_shape[1]
    x = cr.tensor(rng.standard_normal(x_shape), requires_grad=True)
    states = [
        cr.tensor(rng.standard_normal((D * module.num_layers, batch, module.hidden_size)) * 0.5, requires_grad=True)
        for _ in range(count)
    ]
    return x, states


LAYER_GRADCHECKS = [
    pytest.param(lambda: nn.RNN(2, 2, num_layers=2, bidirectional=True, dtype=cr.float64), 1, id="rnn_tanh"),
    pytest.param(lambda: nn.RNN(2, 3, nonlinearity="relu", batch_first=True, dtype=cr.float64), 1, id="rnn_relu"),
    pytest.param(lambda: nn.LSTM(2, 2, num_layers=2, bidirectional=True, dtype=cr.float64), 2, id="lstm"),
    pytest.param(lambda: nn.LSTM(2, 3, bias=False, batch_first=True, dtype=cr.float64), 2, id="lstm_nobias"),
    pytest.param(lambda: nn.GRU(2, 2, num_layers=2, bidirectional=True, dtype=cr.float64), 1, id="gru"),
    pytest.param(lambda: nn.GRU(2, 3, bias=False, dtype=cr.float64), 1, id="gru_nobias"),
]


@pytest.mark.parametrize("make, count", LAYER_GRADCHECKS)
def test_layer_gradcheck_inputs_states_and_parameters(make, count):
    """Through the fused sequence ops' backward: every output w.r.t. input, states and weights."""
    cr.manual_seed(1)
    module = make()
    x_shape = (1, 3, 2) if module.batch_first else (3, 1, 2)  # T=3, N=1, in=2 either way
    x, states = _layer_inputs(module, x_shape, count)
    names = [name for name, _ in module.named_parameters()]

    def run(x, *rest):
        states, weights = rest[:count], rest[count:]
        saved = {name: module._parameters[name] for name in names}
        module._parameters.update(dict(zip(names, weights)))
        try:
            result = module(x, tuple(states) if count == 2 else states[0])
        finally:
            module._parameters.update(saved)
        return tuple(flat_outputs(result))

    params = [cr.tensor(p.detach().numpy(), requires_grad=True) for p in module.parameters()]
    assert cr.autograd.gradcheck(run, (x, *states, *params))


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("kind", ["tanh", "relu", "lstm", "gru"])
def test_fused_sequence_gradcheck(kind, reverse):
    """The sequence functions directly (4 steps, one direction), each output on its own."""
    rng = np.random.default_rng(3)
    gates = {"tanh": 1, "relu": 1, "lstm": 4, "gru": 3}[kind]

    def leaf(*shape, scale=1.0):
        return cr.tensor(rng.standard_normal(shape) * scale, requires_grad=True)

    x, h0, c0 = leaf(4, 2, 3), leaf(2, 3, scale=0.5), leaf(2, 3, scale=0.5)
    w_ih, w_hh = leaf(gates * 3, 3, scale=0.6), leaf(gates * 3, 3, scale=0.6)
    b_ih, b_hh = leaf(gates * 3), leaf(gates * 3)
    if kind == "lstm":
        assert cr.autograd.gradcheck(lambda *a: lstm_sequence(*a, reverse=reverse), (x, h0, c0, w_ih, w_hh, b_ih, b_hh))
    elif kind == "gru":
        assert cr.autograd.gradcheck(lambda *a: gru_sequence(*a, reverse=reverse), (x, h0, w_ih, w_hh, b_ih, b_hh))
    else:
        assert cr.autograd.gradcheck(
            lambda *a: rnn_sequence(*a, nonlinearity=kind, reverse=reverse), (x, h0, w_ih, w_hh, b_ih, b_hh)
        )


CELL_GRADCHECKS = [
    pytest.param(lambda: nn.RNNCell(3, 2, dtype=cr.float64), 1, id="rnn_cell"),
    pytest.param(lambda: nn.RNNCell(3, 2, nonlinearity="relu", dtype=cr.float64), 1, id="rnn_cell_relu"),
    pytest.param(lambda: nn.LSTMCell(3, 2, dtype=cr.float64), 2, id="lstm_cell"),
    pytest.param(lambda: nn.GRUCell(3, 2, dtype=cr.float64), 1, id="gru_cell"),
]


@pytest.mark.parametrize("make, count", CELL_GRADCHECKS)
def test_cell_gradcheck_and_double_backward(make, count):
    cr.manual_seed(2)
    cell = make()
    rng = np.random.default_rng(4)
    x = cr.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    states = [cr.tensor(rng.standard_normal((2, 2)), requires_grad=True) for _ in range(count)]

    def run(x, *states):
        return tuple(flat_outputs(cell(x, tuple(states) if count == 2 else states[0])))

    assert cr.autograd.gradcheck(run, (x, *states))
    # second order: d/dx of the squared norm of dL/dx, against finite differences of that gradient
    out = run(x, *states)[0]
    (grad_x,) = cr.autograd.grad((out * out).sum(), x, create_graph=True)
    assert grad_x.requires_grad

    def first_grad(x):
        (g,) = cr.autograd.grad((run(x, *states)[0] ** 2).sum(), x, create_graph=True)
        return g

    assert cr.autograd.gradcheck(first_grad, (x,))


def test_fused_backward_refuses_create_graph_with_a_clear_error():
    lstm = nn.LSTM(2, 3, dtype=cr.float64)
    x = cr.randn(4, 1, 2, dtype=cr.float64, requires_grad=True)
    out, _ = lstm(x)
    with pytest.raises(NotImplementedError, match="first-order only.*LSTMCell"):
        cr.autograd.grad(out.sum(), x, create_graph=True)


def test_fused_layer_equals_its_cell_unrolled():
    """nn.LSTM/GRU/RNN (one node per layer) and a Python loop over the matching cell agree."""
    cr.manual_seed(5)
    for layer_cls, cell_cls in ((nn.LSTM, nn.LSTMCell), (nn.GRU, nn.GRUCell), (nn.RNN, nn.RNNCell)):
        layer = layer_cls(3, 4, dtype=cr.float64)
        cell = cell_cls(3, 4, dtype=cr.float64)
        cell.load_state_dict({name[: -len("_l0")]: value for name, value in layer.state_dict().items()})
        x = cr.randn(6, 2, 3, dtype=cr.float64)
        output, _ = layer(x)
        state = None
        for t in range(6):
            state = cell(x[t], state)
            h = state[0] if isinstance(state, tuple) else state
            np.testing.assert_allclose(output[t].detach().numpy(), h.detach().numpy(), rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------- dropout between layers


def test_dropout_between_layers():
    cr.manual_seed(0)
    lstm = nn.LSTM(3, 5, num_layers=3, dropout=0.5)
    plain = nn.LSTM(3, 5, num_layers=3)
    plain.load_state_dict(lstm.state_dict())
    x = cr.randn(4, 2, 3)
    lstm.eval()
    np.testing.assert_array_equal(lstm(x)[0].detach().numpy(), plain(x)[0].detach().numpy())  # eval: identity
    lstm.train()
    cr.manual_seed(7)
    first = lstm(x)[0].detach().numpy()
    cr.manual_seed(7)
    again = lstm(x)[0].detach().numpy()
    cr.manual_seed(8)
    other = lstm(x)[0].detach().numpy()
    np.testing.assert_array_equal(first, again)  # reproducible per seed
    assert not np.allclose(first, plain(x)[0].detach().numpy())  # training: dropout changes the output
    assert not np.allclose(first, other)
    out, _ = lstm(cr.randn(4, 2, 3, requires_grad=True))
    out.sum().backward()  # and gradients flow through the dropped activations
    assert all(p.grad is not None for p in lstm.parameters())


def test_dropout_argument_checks_and_warning():
    with pytest.raises(ValueError, match=r"dropout should be a number in range \[0, 1\]"):
        nn.GRU(2, 2, num_layers=2, dropout=1.5)
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.LSTM(2, 3, dropout=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.LSTM(2, 2, num_layers=2, dropout=0.2)


# ----------------------------------------------------------------- init, repr, errors


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU, nn.RNNCell, nn.LSTMCell, nn.GRUCell])
def test_default_init_is_uniform_within_one_over_sqrt_hidden(cls):
    cr.manual_seed(0)
    module = cls(30, 64)
    bound = 1 / math.sqrt(64)
    values = np.concatenate([p.detach().numpy().ravel() for p in module.parameters()])
    assert np.abs(values).max() <= bound and np.abs(values).max() > 0.99 * bound
    std = bound / math.sqrt(3)  # U(-b, b)
    assert abs(values.mean()) < 5 * std / math.sqrt(values.size)
    assert abs(values.std() - std) < 5 * 0.45 * std / math.sqrt(values.size)
    assert all(p.dtype == cr.float32 for p in module.parameters())


def test_repr_like_pytorch():
    assert repr(nn.LSTM(28, 128, num_layers=2, batch_first=True, dropout=0.1, bidirectional=True)) == (
        "LSTM(28, 128, num_layers=2, batch_first=True, dropout=0.1, bidirectional=True)"
    )
    assert repr(nn.GRU(3, 4, bias=False)) == "GRU(3, 4, bias=False)"
    assert repr(nn.RNNCell(3, 4, nonlinearity="relu")) == "RNNCell(3, 4, nonlinearity=relu)"
    assert repr(nn.LSTMCell(3, 4)) == "LSTMCell(3, 4)"


def test_all_weights_groups_per_layer_and_direction():
    gru = nn.GRU(3, 4, num_layers=2, bidirectional=True)
    assert len(gru.all_weights) == 4
    assert [tuple(w.shape) for w in gru.all_weights[1]] == [(12, 3), (12, 4), (12,), (12,)]
    assert gru.all_weights[2][0] is gru.weight_ih_l1 and tuple(gru.weight_ih_l1.shape) == (12, 8)


def test_shape_and_dtype_errors():
    lstm = nn.LSTM(3, 4, num_layers=2)
    with pytest.raises(cr.ShapeError, match="Expected input to be 2D or 3D, got 4D"):
        lstm(cr.randn(2, 3, 4, 3))
    with pytest.raises(cr.ShapeError, match="Expected 3, got 5"):
        lstm(cr.randn(6, 2, 5))
    with pytest.raises(cr.ShapeError, match=r"Expected hidden size \(2, 2, 4\), got \(1, 2, 4\)"):
        lstm(cr.randn(6, 2, 3), (cr.zeros(1, 2, 4), cr.zeros(1, 2, 4)))
    with pytest.raises(cr.ShapeError, match="unbatched 2-D input, hx should also be 2-D"):
        lstm(cr.randn(6, 3), (cr.zeros(2, 1, 4), cr.zeros(2, 1, 4)))
    with pytest.raises(TypeError, match=r"tuple \(h_0, c_0\)"):
        lstm(cr.randn(6, 2, 3), cr.zeros(2, 2, 4))
    with pytest.raises(cr.DTypeError, match="float64"):
        lstm(cr.randn(6, 2, 3, dtype=cr.float64))
    with pytest.raises(ValueError, match="Unknown nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(NotImplementedError, match="proj_size"):
        nn.LSTM(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
        nn.GRU(3, 0)
    with pytest.raises(cr.ShapeError, match="Expected input to be 1D or 2D"):
        nn.GRUCell(3, 4)(cr.randn(2, 2, 3))
    with pytest.raises(cr.ShapeError, match="input_size=3"):
        nn.RNNCell(3, 4)(cr.randn(2, 5))
    with pytest.raises(cr.ShapeError, match=r"\(2, 4\)"):
        nn.RNNCell(3, 4)(cr.randn(2, 3), cr.zeros(3, 4))
    with pytest.raises(cr.ShapeError, match="weight_ih must be"):
        lstm_sequence(cr.randn(5, 2, 3), cr.zeros(2, 4), cr.zeros(2, 4), cr.randn(12, 3), cr.randn(16, 4))


def test_long_sequence_is_one_node_per_layer():
    """A 3000-step sequence: no recursion, and the graph holds one fused node per layer and direction."""
    rnn = nn.GRU(2, 2, num_layers=2)
    out, h_n = rnn(cr.randn(3000, 1, 2))
    out.sum().backward()
    assert rnn.weight_hh_l1.grad is not None and np.isfinite(rnn.weight_hh_l0.grad.numpy()).all()
    node = out.grad_fn
    while node is not None and type(node).__name__ != "GRUSequence":
        node = node.parents[0]
    assert node is not None
