"""chainrule.viz.explain_step and `chainrule explain`: the textbook δ recursion (NumPy) against the
engine, both against finite differences of a loss written out here, the printed update, the CLI."""

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.cli import main
from chainrule.errors import ShapeError
from chainrule.viz.explain import StepExplanation, explain_step

ACTIVATION_LAYERS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "identity": nn.Identity}
XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
XOR_Y = np.array([[0], [1], [1], [0]], dtype=np.float64)


def mlp(sizes, hidden, output="identity", seed=0):
    """Linear layers of ``sizes`` with ``hidden`` after each but the last, ``output`` after the last."""
    cr.manual_seed(seed)
    layers = []
    for index, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        layers.append(ACTIVATION_LAYERS[hidden if index < len(sizes) - 2 else output]())
    return nn.Sequential(*layers)


def batch(sizes, n, loss, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, sizes[0]))
    y = rng.normal(size=(n, sizes[-1])) if loss == "mse" else rng.integers(0, sizes[-1], size=n)
    return x, y


# ---------------------------------------------------------------- an independent loss, for finite differences
def np_activation(name, z):
    return {"sigmoid": lambda v: 1 / (1 + np.exp(-v)), "tanh": np.tanh, "relu": lambda v: np.maximum(v, 0.0)}.get(
        name, lambda v: v
    )(z)


def np_loss(params, activations, x, y, loss, reduction, start=0, z_start=None):
    """The loss of the MLP (params = [(W, b)]) on (x, y); with ``z_start``, Z of layer ``start`` is given."""
    a = x
    for index, ((w, b), activation) in enumerate(zip(params, activations)):
        if index < start:
            continue
        z = z_start if (index == start and z_start is not None) else a @ w.T + b
        a = np_activation(activation, z)
    if loss == "mse":
        total = np.sum((a - y) ** 2)
        return total / a.size if reduction == "mean" else total
    log_p = a - np.log(np.sum(np.exp(a), axis=1, keepdims=True))
    total = -np.sum(log_p[np.arange(len(y)), y])
    return total / len(y) if reduction == "mean" else total


def central_difference(f, array, eps=1e-6):
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + eps
        up = f()
        array[index] = saved - eps
        down = f()
        array[index] = saved
        grad[index] = (up - down) / (2 * eps)
    return grad


ARCHITECTURES = [
    # sizes,          hidden,    output,     loss,            N, reduction
    ((2, 3, 1), "sigmoid", "sigmoid", "mse", 4, "mean"),
    ((3, 4, 2), "tanh", "identity", "mse", 5, "mean"),
    ((3, 5, 2), "relu", "tanh", "mse", 6, "sum"),
    ((4, 5, 3), "sigmoid", "identity", "cross_entropy", 6, "mean"),
    ((4, 6, 3), "tanh", "identity", "cross_entropy", 3, "mean"),
    ((4, 6, 3), "relu", "identity", "cross_entropy", 8, "mean"),
    ((3, 5, 4, 2), "sigmoid", "sigmoid", "mse", 5, "mean"),
    ((3, 6, 5, 4, 3), "relu", "identity", "cross_entropy", 7, "mean"),
    ((2, 4, 4, 3), "tanh", "sigmoid", "cross_entropy", 5, "sum"),
]
IDS = [f"{'-'.join(map(str, a[0]))}-{a[1]}-{a[2]}-{a[3]}-N{a[4]}-{a[5]}" for a in ARCHITECTURES]


@pytest.mark.parametrize("sizes, hidden, output, loss, n, reduction", ARCHITECTURES, ids=IDS)
def test_textbook_deltas_and_gradients_agree_with_the_engine(sizes, hidden, output, loss, n, reduction):
    x, y = batch(sizes, n, loss)
    step = explain_step(mlp(sizes, hidden, output), x, y, loss=loss, lr=0.1, reduction=reduction)
    assert len(step.layers) == len(sizes) - 1
    for layer in step.layers:
        for name in ("z", "delta", "grad_weight", "grad_bias"):
            mine, engine = getattr(layer, name), layer.engine[name]
            assert mine.shape == engine.shape
            np.testing.assert_allclose(mine, engine, rtol=0, atol=1e-6, err_msg=f"layer {layer.l} {name}")
        assert np.abs(layer.grad_weight).max() > 1e-5  # a real gradient, not two zeros agreeing
    assert abs(step.loss - step.engine_loss) < 1e-12
    assert step.max_difference < 1e-6


@pytest.mark.parametrize("sizes, hidden, output, loss, n, reduction", ARCHITECTURES, ids=IDS)
def test_textbook_side_matches_finite_differences_of_the_loss(sizes, hidden, output, loss, n, reduction):
    x, y = batch(sizes, n, loss)
    step = explain_step(mlp(sizes, hidden, output), x, y, loss=loss, lr=0.1, reduction=reduction)
    params = [(layer.weight.copy(), layer.bias.copy()) for layer in step.layers]
    activations = [layer.activation for layer in step.layers]

    def f():
        return np_loss(params, activations, x, y, loss, reduction)

    assert step.loss == pytest.approx(f(), abs=1e-12)
    for layer, (w, b) in zip(step.layers, params):
        np.testing.assert_allclose(layer.grad_weight, central_difference(f, w), rtol=0, atol=1e-7)
        np.testing.assert_allclose(layer.grad_bias, central_difference(f, b), rtol=0, atol=1e-7)
        z = layer.z.copy()  # δ^l = ∂L/∂Z^l: perturb Z^l and run the rest of the network

        def from_z(start=layer.l - 1, z=z):
            return np_loss(params, activations, x, y, loss, reduction, start, z)

        delta = central_difference(from_z, z)
        np.testing.assert_allclose(layer.delta, delta, rtol=0, atol=1e-7)


def test_combined_softmax_cross_entropy_delta_is_softmax_minus_onehot_over_n():
    x, y = batch((3, 4, 3), 5, "cross_entropy")
    step = explain_step(mlp((3, 4, 3), "tanh"), x, y, loss="cross_entropy")
    z = step.layers[-1].z
    softmax = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(step.layers[-1].delta, (softmax - np.eye(3)[y]) / 5, rtol=0, atol=1e-12)
    np.testing.assert_allclose(step.probabilities.sum(axis=1), 1.0)


def test_update_is_one_plain_sgd_step_and_the_model_is_left_unchanged():
    model = mlp((2, 3, 1), "sigmoid", "sigmoid")
    before = {name: p.detach().numpy().copy() for name, p in model.named_parameters()}
    step = explain_step(model, XOR_X, XOR_Y, loss="mse", lr=0.5)
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(p.detach().numpy(), before[name])
        assert p.dtype == cr.float32
    for layer in step.layers:
        w = before[f"{layer.path}.weight"].astype(np.float64)
        b = before[f"{layer.path}.bias"].astype(np.float64)
        np.testing.assert_allclose(layer.weight, w, rtol=0, atol=0)
        np.testing.assert_allclose(layer.new_weight, w - 0.5 * layer.grad_weight, rtol=0, atol=1e-15)
        np.testing.assert_allclose(layer.new_bias, b - 0.5 * layer.grad_bias, rtol=0, atol=1e-15)
        np.testing.assert_allclose(layer.engine["new_weight"], layer.new_weight, rtol=0, atol=1e-12)
    assert step.loss_after < step.loss  # a small step down the gradient lowers the loss


def test_layers_without_bias_and_identity_modules_are_explained():
    cr.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 4, bias=False), nn.Identity(), nn.Tanh(), nn.Linear(4, 2), nn.Identity())
    x, y = batch((3, 4, 2), 4, "mse")
    step = explain_step(model, x, y)
    assert step.layers[0].bias is None and step.layers[0].grad_bias is None
    assert [layer.activation for layer in step.layers] == ["tanh", "identity"]
    assert step.max_difference < 1e-6
    assert "b^1" not in step.text() and "b^2" in step.text()


def test_a_tensor_batch_and_a_float64_model_are_accepted():
    model = mlp((2, 3, 2), "relu").double()
    step = explain_step(model, cr.tensor(XOR_X), cr.tensor([0, 1, 1, 0]), loss="cross_entropy")
    assert isinstance(step, StepExplanation) and step.max_difference < 1e-6


@pytest.mark.parametrize(
    "model, error, words",
    [
        (nn.Linear(2, 1), TypeError, ["nn.Sequential", "Linear"]),
        (nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.5), nn.Linear(3, 1)), ValueError, ["Dropout", "model[1]"]),
        (nn.Sequential(nn.Conv2d(1, 2, 3)), ValueError, ["Conv2d", "nn.Linear", "Sigmoid", "Tanh", "ReLU"]),
        (nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Tanh()), ValueError, ["Tanh", "after an activation"]),
        (nn.Sequential(nn.Sigmoid(), nn.Linear(2, 1)), ValueError, ["before the first Linear"]),
        (nn.Sequential(nn.Linear(2, 3), nn.GELU(), nn.Linear(3, 1)), ValueError, ["GELU", "not supported"]),
        (nn.Sequential(nn.Linear(2, 3), nn.Linear(4, 1)), ShapeError, ["3 features", "takes 4"]),
    ],
)
def test_unsupported_models_get_an_error_naming_what_is_supported(model, error, words):
    with pytest.raises(error) as raised:
        explain_step(model, XOR_X, XOR_Y)
    for word in words:
        assert word in str(raised.value)


@pytest.mark.parametrize(
    "x, y, loss, error, words",
    [
        (XOR_X[:, :1], XOR_Y, "mse", ShapeError, ["(N, 2)", "(4, 1)"]),
        (XOR_X, XOR_Y.reshape(-1), "mse", ShapeError, ["(4, 1)", "(4,)"]),
        (XOR_X, XOR_Y, "cross_entropy", ShapeError, ["class indices", "(4,)"]),
        (XOR_X, np.array([0, 1, 3, 0]), "cross_entropy", ValueError, ["[0, 1)"]),
        (XOR_X, XOR_Y, "hinge", ValueError, ["'mse'", "'cross_entropy'", "'hinge'"]),
    ],
)
def test_bad_batches_get_an_error_naming_expected_and_found(x, y, loss, error, words):
    model = mlp((2, 3, 1), "sigmoid", "sigmoid")
    with pytest.raises(error) as raised:
        explain_step(model, x, y, loss=loss)
    for word in words:
        assert word in str(raised.value)


def test_bad_lr_and_reduction_are_refused():
    model = mlp((2, 3, 1), "sigmoid")
    with pytest.raises(ValueError, match="lr must be a positive number"):
        explain_step(model, XOR_X, XOR_Y, lr=0)
    with pytest.raises(ValueError, match="reduction"):
        explain_step(model, XOR_X, XOR_Y, reduction="none")


# ---------------------------------------------------------------- the text
STAGES = ["1. Forward pass", "2. Loss", "3. Backward pass (δ recursion", "4. Update"]


def test_text_shows_the_stages_in_order_and_cuts_large_matrices():
    x, y = batch((9, 12, 3), 11, "cross_entropy")
    text = explain_step(mlp((9, 12, 3), "relu"), x, y, loss="cross_entropy").text(precision=3, max_rows=5, max_cols=4)
    positions = [text.index(stage) for stage in STAGES]
    assert positions == sorted(positions)
    assert "… (7 more rows)" in text and " …" in text  # 11 rows shown as 4; 12 columns as 3
    assert "δ^1 = ∂L/∂Z^1" in text and "max |textbook − engine|" in text
    assert all(len(line) <= 80 for line in text.splitlines())


def test_precision_is_validated():
    step = explain_step(mlp((2, 3, 1), "sigmoid", "sigmoid"), XOR_X, XOR_Y)
    with pytest.raises(ValueError, match="precision"):
        step.text(precision=-1)


def matrix_rows_after(lines, title, start=0):
    """The rows of numbers (lists of floats) printed under the first line from ``start`` that starts
    with ``title`` (stripped)."""
    start = next(i for i in range(start, len(lines)) if lines[i].strip().startswith(title))
    rows = []
    for line in lines[start + 1 :]:
        numbers = line.split()
        if not numbers or not all(re.fullmatch(r"-?\d+\.\d+", n) for n in numbers):
            break
        rows.append([float(n) for n in numbers])
    return rows


def printed_update(lines, l):  # noqa: E741 - the layer index of the formulas
    """W^l, ∂L/∂W^l and W^l − lr·∂L/∂W^l as printed in stage 4, side by side or one under the other."""
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(f"W^{l} before"))
    if f"∂L/∂W^{l}" in lines[start]:  # side by side: each row holds the three
        return np.split(np.array(matrix_rows_after(lines, f"W^{l} before", start)), 3, axis=1)
    titles = (f"W^{l} before", f"∂L/∂W^{l}", f"W^{l} − ")
    return [np.array(matrix_rows_after(lines, title, start)) for title in titles]


@pytest.mark.parametrize("precision, atol", [(4, 2e-4), (10, 2e-10)])
def test_printed_update_equals_printed_w_minus_lr_times_printed_gradient(precision, atol, capsys):
    assert main(["explain", "--precision", str(precision), "--lr", "0.5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for l, shape in ((1, (3, 2)), (2, (1, 3))):  # noqa: E741
        w, grad, new = printed_update(lines, l)
        assert w.shape == grad.shape == new.shape == shape
        assert np.abs(grad).max() > 1e-3
        np.testing.assert_allclose(new, w - 0.5 * grad, rtol=0, atol=atol)


# ---------------------------------------------------------------- the command
def test_explain_default_xor_prints_every_stage_and_the_right_numbers(capsys):
    assert main(["explain"]) == 0
    out = capsys.readouterr().out
    for stage in STAGES:
        assert stage in out
    assert "2-3-1" in out and "XOR" in out and "seed 0" in out and "lr = 0.5" in out
    assert all(len(line) <= 80 for line in out.splitlines()), "lines wider than an 80-column terminal"
    lines = out.splitlines()
    np.testing.assert_array_equal(np.array(matrix_rows_after(lines, "X = A^0")), XOR_X)
    np.testing.assert_array_equal(np.array(matrix_rows_after(lines, "Y, the targets")), XOR_Y)
    # the loss of the seed-0 2-3-1 sigmoid network, computed here from its weights
    model = mlp((2, 3, 1), "sigmoid", "sigmoid", seed=0)
    params = [
        (linear.weight.detach().numpy().astype(np.float64), linear.bias.detach().numpy().astype(np.float64))
        for linear in (model[0], model[2])
    ]
    expected = np_loss(params, ["sigmoid", "sigmoid"], XOR_X, XOR_Y, "mse", "mean")
    assert f"L = 1/(N·K) Σ (A^2 − Y)² over the N·K = 4 outputs = {expected:.6f}" in out
    first_w = np.array([row[:2] for row in matrix_rows_after(lines, "W^1 (3, 2)")])  # b^1 sits beside it
    np.testing.assert_allclose(first_w, params[0][0], rtol=0, atol=5e-7)
    numbers = re.findall(r"(?<![\w.^])-?\d+\.\d+(?![\w.])", out.split("1. Forward pass")[1].split("textbook vs")[0])
    assert numbers and all(len(n.split(".")[1]) == 6 for n in numbers)  # one number format throughout


def test_explain_options_change_the_network(capsys):
    argv = ["explain", "--activation", "tanh", "--loss", "cross_entropy", "--hidden", "4", "3", "--seed", "2"]
    assert main(argv + ["--precision", "3"]) == 0
    out = capsys.readouterr().out
    assert "2-4-3-2" in out and "then tanh" in out and "layer 3 (output)" in out and "seed 2" in out
    assert "(softmax(Z^3) − onehot(Y))/N" in out
    assert re.search(r"L = −1/N .* L = \d\.\d{3}\n", out)


TINY_IRIS = """
[data]
name = "iris"
[model]
layers = [5]
activation = "{activation}"
dropout = {dropout}
[optimizer]
name = "adam"
lr = 0.01
"""


def test_explain_a_config_uses_its_mlp_and_a_few_samples(tmp_path, capsys):
    path = tmp_path / "iris.toml"
    path.write_text(TINY_IRIS.format(activation="tanh", dropout=0.0))
    assert main(["explain", "--config", str(path), "--samples", "3"]) == 0
    out = capsys.readouterr().out
    assert "4-5-3 MLP" in out and "iris, the first 3 training samples" in out and "not adam" in out
    assert "lr = 0.01" in out and "X = A^0, the inputs (3, 4)" in out
    for stage in STAGES:
        assert stage in out


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--samples", "2"], ["--samples goes with --config"]),
        (["--lr", "-1"], ["--lr", "positive"]),
        (["--config", "missing.toml"], ["missing.toml", "no such config file"]),
        (["--config", "{iris}", "--hidden", "4"], ["--hidden", "come from --config"]),
        (["--config", "{dropout}"], ["Dropout", "nn.Linear"]),
        (["--config", "{gelu}"], ["GELU", "not supported"]),
    ],
)
def test_explain_usage_errors_exit_2_with_one_line(argv, words, tmp_path, capsys):
    configs = {"iris": ("tanh", 0.0), "dropout": ("relu", 0.5), "gelu": ("gelu", 0.0)}
    for name, (activation, dropout) in configs.items():
        (tmp_path / f"{name}.toml").write_text(TINY_IRIS.format(activation=activation, dropout=dropout))
    argv = [str(tmp_path / f"{a[1:-1]}.toml") if a.startswith("{") else a for a in argv]
    assert main(["explain", *argv]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    for word in words:
        assert word in err
