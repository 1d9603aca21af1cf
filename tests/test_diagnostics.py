"""chainrule.diagnostics: the GradientFlow callback, its warnings, activation statistics and plots."""

import math
import sys
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.diagnostics import (
    GradientFlow,
    GradientFlowWarning,
    dead_fraction,
    plot_gradient_flow,
    saturated_fraction,
)
from chainrule.train import Callback, Trainer


# ----------------------------------------------------------------------------------------- helpers
def digits_like(n=256, features=64, classes=10, seed=0):
    """Gaussian clusters shaped like sklearn's digits: x (n, 64) float32, y (n,) int64."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    centres = rng.standard_normal((classes, features))
    x = centres[y] + 0.5 * rng.standard_normal((n, features))
    return x.astype(np.float32), y.astype(np.int64)


def deep_mlp(activation, depth=10, width=32, he=False, seed=0):
    """``depth`` Linear layers (64 -> width -> ... -> 10) with ``activation`` between them;
    PyTorch's default init, or He (kaiming normal, zero bias) with ``he=True``."""
    cr.manual_seed(seed)
    layers, fan_in = [], 64
    for _ in range(depth - 1):
        linear = nn.Linear(fan_in, width)
        if he:
            nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
            nn.init.zeros_(linear.bias)
        layers += [linear, activation()]
        fan_in = width
    layers.append(nn.Linear(fan_in, 10))
    return nn.Sequential(*layers)


def fit(model, flow, data=None, lr=0.1, epochs=1, batch_size=64, shuffle=True, **trainer_options):
    x, y = digits_like() if data is None else data
    loss = trainer_options.pop("loss_fn", nn.CrossEntropyLoss())
    trainer = Trainer(model, loss, optim.SGD(model.parameters(), lr=lr), **trainer_options)
    trainer.fit((x, y), epochs=epochs, batch_size=batch_size, shuffle=shuffle, callbacks=[flow], verbose=False)
    return trainer


def flow_warnings(record, kind=None):
    found = [w.message for w in record if issubclass(w.category, GradientFlowWarning)]
    return [w for w in found if kind is None or w.kind == kind]


def linear_layer_names(model):
    return [name for name, module in model.named_children() if isinstance(module, nn.Linear)]


# ----------------------------------------------------------------------------------------- acceptance: vanishing
def test_deep_sigmoid_mlp_warns_of_vanishing_gradients_in_its_early_layers():
    model = deep_mlp(nn.Sigmoid)
    flow = GradientFlow()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        fit(model, flow)
    vanishing = flow_warnings(record, "vanishing")
    assert vanishing, "a 10-layer sigmoid MLP should warn of vanishing gradients"
    layers = linear_layer_names(model)
    assert flow.layers == layers  # named by module path, in the model's order
    named = [layer for warning in vanishing for layer in warning.layers]
    assert layers[0] in named and layers[1] in named  # the first layers
    assert layers[-1] not in named
    # the flagged layers are the early ones: a prefix of the network, never a late layer alone
    assert named == layers[: len(named)]
    first = vanishing[0]
    assert first.step == 0 and first.epoch == 0
    assert f"'{layers[0]}'" in str(first) and "step 0" in str(first)
    assert flow.warnings[0] is first  # collected too
    # the record shows the reason: the first layer's gradient is orders of magnitude below the last's
    assert flow.history["grad_norm"][layers[0]][0] < 1e-4 * flow.history["grad_norm"][layers[-1]][0]


def test_deep_relu_mlp_with_he_init_does_not_warn():
    model = deep_mlp(nn.ReLU, he=True)
    flow = GradientFlow()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        fit(model, flow)
    assert flow_warnings(record) == []
    assert flow.warnings == []
    norms = [flow.history["grad_norm"][layer][0] for layer in flow.layers]
    assert max(norms) < 100 * min(norms)  # gradients of one order of magnitude through all 10 layers


def test_each_condition_warns_once_per_layer():
    flow = GradientFlow(warn=False)
    fit(deep_mlp(nn.Sigmoid), flow, epochs=3)
    assert len(flow.history["step"]) == 12  # 256 samples / 64 per batch × 3 epochs
    pairs = [(w.kind, layer) for w in flow.warnings for layer in w.layers]
    assert pairs and len(pairs) == len(set(pairs))


# ----------------------------------------------------------------------------------------- acceptance: exploding
def test_huge_initial_weights_warn_of_exploding_gradients():
    model = deep_mlp(nn.ReLU, depth=6)
    for module in model:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=3.0)  # ~17x the He scale at every layer
    flow = GradientFlow()
    with pytest.warns(GradientFlowWarning, match="exploding gradients at step 0") as record:
        fit(model, flow, batch_size=256)  # one step (a second one would overflow float32)
    exploding = flow_warnings(record, "exploding")
    assert exploding and exploding[0].layers
    for layer in exploding[0].layers:
        assert not flow.history["grad_norm"][layer][0] <= flow.explode_norm


def test_a_diverging_learning_rate_warns_of_exploding_gradients():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [3.0], [0.5]], dtype=np.float32)) * 10
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 1))
    flow = GradientFlow(warn=False)
    # four steps: each one multiplies the gradient by 10-10⁴; a few more would overflow float32
    fit(model, flow, data=(x, y), lr=0.5, batch_size=16, shuffle=False, loss_fn=nn.MSELoss())
    kinds = [w.kind for w in flow.warnings]
    assert "exploding" in kinds
    exploding = flow.warnings[kinds.index("exploding")]
    assert exploding.step > 0  # it gets there by diverging, not at once
    assert f"at step {exploding.step} " in str(exploding)


# ----------------------------------------------------------------------------------------- recorded numbers
def test_recorded_gradient_norms_equal_the_parameters_grad_norms():
    x, y = digits_like(n=48)
    cr.manual_seed(3)
    model = nn.Sequential(nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 10))
    before = {name: p.detach().numpy().copy() for name, p in model.named_parameters()}
    flow = GradientFlow()
    lr = 0.5
    fit(model, flow, data=(x, y), lr=lr, batch_size=48)  # one step: the .grad left is that step's
    assert flow.history["step"] == [0]
    for layer in ("0", "2"):
        weight, bias = model.get_parameter(f"{layer}.weight"), model.get_parameter(f"{layer}.bias")
        g_weight, g_bias = np.linalg.norm(weight.grad.numpy()), np.linalg.norm(bias.grad.numpy())
        assert flow.history["param_grad_norm"][f"{layer}.weight"][0] == pytest.approx(g_weight, rel=1e-5)
        assert flow.history["param_grad_norm"][f"{layer}.bias"][0] == pytest.approx(g_bias, rel=1e-5)
        assert flow.history["grad_norm"][layer][0] == pytest.approx(math.hypot(g_weight, g_bias), rel=1e-5)
        # plain SGD moves W by lr·g, so ‖ΔW‖/‖W‖ = lr·‖g‖/‖W_before‖
        w0 = before[f"{layer}.weight"]
        ratio = flow.history["param_update_ratio"][f"{layer}.weight"][0]
        assert ratio == pytest.approx(lr * g_weight / np.linalg.norm(w0), rel=1e-4)
        assert ratio == pytest.approx(np.linalg.norm(weight.detach().numpy() - w0) / np.linalg.norm(w0), rel=1e-4)
        w_all = math.hypot(np.linalg.norm(w0), np.linalg.norm(before[f"{layer}.bias"]))
        expected = lr * math.hypot(g_weight, g_bias) / w_all
        assert flow.history["update_ratio"][layer][0] == pytest.approx(expected, rel=1e-4)


def test_gradient_norms_are_measured_before_clipping():
    x, y = digits_like(n=32)
    cr.manual_seed(4)
    model = nn.Sequential(nn.Linear(64, 10))
    reference = nn.Sequential(nn.Linear(64, 10))
    reference.load_state_dict(model.state_dict())
    nn.CrossEntropyLoss()(reference(cr.tensor(x)), cr.tensor(y)).backward()
    unclipped = np.linalg.norm(reference[0].weight.grad.numpy())
    flow = GradientFlow(warn=False)
    fit(model, flow, data=(x, y), batch_size=32, clip_grad_norm=1e-3)
    assert np.linalg.norm(model[0].weight.grad.numpy()) < 1.01e-3  # the trainer clipped the .grad
    assert flow.history["param_grad_norm"]["0.weight"][0] == pytest.approx(unclipped, rel=1e-5)


def test_every_records_every_nth_step_with_its_epoch():
    flow = GradientFlow(every=3)
    fit(deep_mlp(nn.ReLU, depth=3, he=True), flow, epochs=2)  # 4 batches per epoch: steps 0..7
    assert flow.history["step"] == [0, 3, 6]
    assert flow.history["epoch"] == [0, 0, 1]
    for layer in flow.layers:
        assert len(flow.history["grad_norm"][layer]) == 3
        assert len(flow.history["update_ratio"][layer]) == 3
    for values in flow.history["dead_fraction"].values():
        assert len(values) == 3


def test_dead_relu_fraction_equals_a_direct_count():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((40, 6)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    cr.manual_seed(5)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    with cr.no_grad():
        model[0].bias[np.array([1, 4, 6])] = -100.0  # three units that are off for every input
    weight, bias = model[0].weight.detach().numpy().copy(), model[0].bias.detach().numpy().copy()
    flow = GradientFlow(warn=False)
    fit(model, flow, data=(x, y), lr=0.01, batch_size=40)  # one batch: the initial weights
    hidden = np.maximum(x @ weight.T + bias, 0)
    expected = np.mean(np.all(hidden == 0, axis=0))
    assert expected >= 3 / 8
    assert flow.history["dead_fraction"]["1"][0] == pytest.approx(expected)
    assert flow.history["activation_mean"]["1"][0] == pytest.approx(hidden.mean(), rel=1e-5)
    assert flow.history["activation_std"]["1"][0] == pytest.approx(hidden.std(), rel=1e-4)


def test_mostly_dead_relus_warn_naming_the_module():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((32, 6)).astype(np.float32)
    y = rng.integers(0, 3, 32)
    cr.manual_seed(6)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    with cr.no_grad():
        model[0].bias[np.arange(6)] = -100.0  # 6 of 8 units dead
    with pytest.warns(GradientFlowWarning, match=r"dying ReLUs at step 0 .*layer '1' \(dead 75%\)"):
        fit(model, GradientFlow(), data=(x, y), lr=0.01, batch_size=32)


def test_saturated_sigmoid_fraction_equals_a_direct_count_and_warns():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((50, 5)).astype(np.float32)
    y = rng.integers(0, 2, 50)
    cr.manual_seed(7)
    model = nn.Sequential(nn.Linear(5, 12), nn.Sigmoid(), nn.Linear(12, 2))
    with cr.no_grad():
        model[0].weight.mul_(20.0)  # large pre-activations: most outputs near 0 or 1
    weight, bias = model[0].weight.detach().numpy().copy(), model[0].bias.detach().numpy().copy()
    flow = GradientFlow(warn=False)
    fit(model, flow, data=(x, y), lr=0.01, batch_size=50)
    a = 1 / (1 + np.exp(-(x.astype(np.float64) @ weight.T + bias)))
    expected = np.mean((a < 0.05) | (a > 0.95))
    assert expected > 0.5
    assert flow.history["saturated_fraction"]["1"][0] == pytest.approx(expected)
    [warning] = [w for w in flow.warnings if w.kind == "saturated"]
    assert warning.layers == ["1"]


def test_tanh_saturation_threshold_is_configurable():
    a = np.array([[-0.99, 0.2], [0.96, 0.5], [0.91, -0.1]])
    assert saturated_fraction(cr.tensor(a), "tanh") == pytest.approx(2 / 6)
    assert saturated_fraction(cr.tensor(a), "tanh", tanh_threshold=0.9) == pytest.approx(3 / 6)
    assert saturated_fraction(np.array([0.01, 0.5, 0.99, 0.7]), "sigmoid") == pytest.approx(0.5)
    assert saturated_fraction(np.array([0.01, 0.5, 0.99, 0.7]), "sigmoid", low=0.1, high=0.6) == pytest.approx(0.75)


def test_dead_fraction_counts_units_over_the_batch():
    a = np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 3.0, 0.0]])  # units 0 and 3 are 0 for both samples
    assert dead_fraction(cr.tensor(a)) == pytest.approx(0.5)
    images = np.zeros((2, 3, 2, 2))
    images[0, 1, 0, 0] = 1.0  # one (channel, row, column) unit of 12 is alive
    assert dead_fraction(images) == pytest.approx(11 / 12)
    with pytest.raises(ValueError, match=r"\(N, \*\)"):
        dead_fraction(np.array([0.0, 1.0]))


def test_an_activation_module_used_twice_counts_both_calls():
    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2, self.out = nn.Linear(4, 6), nn.Linear(6, 6), nn.Linear(6, 2)
            self.act = nn.ReLU()

        def forward(self, x):
            return self.out(self.act(self.fc2(self.act(self.fc1(x)))))

    rng = np.random.default_rng(8)
    x = rng.standard_normal((20, 4)).astype(np.float32)
    cr.manual_seed(8)
    model = Shared()
    with cr.no_grad():
        model.fc1.bias[np.array([0, 1])] = -100.0  # 2 dead units in the first call
        model.fc2.bias[np.array([0, 1, 2, 3])] = -100.0  # 4 in the second
    w1, b1, w2, b2 = (
        p.detach().numpy().astype(np.float64)
        for p in (model.fc1.weight, model.fc1.bias, model.fc2.weight, model.fc2.bias)
    )
    hidden = np.maximum(x @ w1.T + b1, 0)
    second = np.maximum(hidden @ w2.T + b2, 0)
    expected = (np.all(hidden == 0, axis=0).sum() + np.all(second == 0, axis=0).sum()) / 12
    flow = GradientFlow(warn=False)
    fit(model, flow, data=(x, rng.integers(0, 2, 20)), lr=0.01, batch_size=20)
    assert flow.layers == ["fc1", "fc2", "out"]
    assert flow.history["dead_fraction"]["act"][0] == pytest.approx(expected)


def test_validation_passes_are_not_counted_in_activation_statistics():
    class Counting(nn.ReLU):
        calls = 0

        def forward(self, input):  # noqa: A002
            Counting.calls += 1
            return super().forward(input)

    cr.manual_seed(9)
    model = nn.Sequential(nn.Linear(64, 8), Counting(), nn.Linear(8, 10))
    x, y = digits_like(n=64)
    flow = GradientFlow(warn=False)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    trainer.fit((x, y), epochs=1, batch_size=64, validation=(x[:16], y[:16]), callbacks=[flow], verbose=False)
    assert Counting.calls == 2  # a training and a validation forward pass
    assert flow.history["step"] == [0]
    [dead] = flow.history["dead_fraction"]["1"]
    assert 0.0 <= dead <= 1.0
    assert model[1]._forward_hooks == {}  # the hooks are removed when training ends


# ----------------------------------------------------------------------------------------- Trainer hook
def test_on_after_backward_sees_fresh_gradients_before_the_step():
    class Probe(Callback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def on_batch_begin(self, batch, logs=None):
            self.weight = self.model[0].weight.detach().numpy().copy()

        def on_after_backward(self, batch, logs=None):
            weight = self.model[0].weight
            unchanged = np.array_equal(weight.detach().numpy(), self.weight)
            self.seen.append((batch, logs["size"], weight.grad is not None, unchanged))

    cr.manual_seed(10)
    model = nn.Sequential(nn.Linear(64, 10))
    probe = Probe()
    x, y = digits_like(n=40)
    Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1)).fit(
        (x, y), epochs=1, batch_size=16, callbacks=[probe], verbose=False
    )
    assert probe.seen == [(0, 16, True, True), (1, 16, True, True), (2, 8, True, True)]


# ----------------------------------------------------------------------------------------- summary, plot, errors
def test_summary_lists_layers_activations_and_warnings():
    flow = GradientFlow(warn=False)
    assert "nothing recorded" in flow.summary()
    fit(deep_mlp(nn.Sigmoid), flow)
    text = flow.summary()
    for layer in flow.layers:
        assert f"\n{layer} " in text
    assert "Linear" in text and "sigmoid" in text and "saturated" in text
    assert "vanishing gradients at step 0" in text
    assert repr(flow).startswith("GradientFlow(every=1, layers=10, steps=4")


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    flow = GradientFlow(warn=False)
    fit(deep_mlp(nn.Sigmoid), flow, epochs=3)
    path = tmp_path / "gradient_flow.png"
    assert plot_gradient_flow(flow, path) == path
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 1000 and height > 300  # three panels side by side
    assert flow.plot(tmp_path / "again.png") == tmp_path / "again.png"


def test_plot_without_matplotlib_says_how_to_install_it(monkeypatch, tmp_path):
    flow = GradientFlow(warn=False)
    fit(deep_mlp(nn.ReLU, depth=2), flow)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[plot\]'"):
        plot_gradient_flow(flow, tmp_path / "x.png")


def test_plot_of_an_empty_record_is_an_error(tmp_path):
    pytest.importorskip("matplotlib")
    with pytest.raises(ValueError, match="recorded no steps"):
        plot_gradient_flow(GradientFlow(), tmp_path / "x.png")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"every": 0}, "every must be a positive integer"),
        ({"every": 1.5}, "every must be a positive integer"),
        ({"vanish_ratio": 0}, "vanish_ratio must be a positive number"),
        ({"explode_norm": -1}, "explode_norm must be a positive number"),
        ({"dead_threshold": 1.5}, r"dead_threshold must be a fraction in \[0, 1\]"),
        ({"sigmoid_low": 0.6, "sigmoid_high": 0.4}, "need 0 < sigmoid_low < sigmoid_high < 1"),
        ({"tanh_threshold": 1.0}, r"tanh_threshold must be in \(0, 1\)"),
    ],
)
def test_bad_options_are_named(options, message):
    with pytest.raises(ValueError, match=message):
        GradientFlow(**options)


def test_a_model_without_trainable_parameters_is_an_error():
    model = nn.Sequential(nn.Linear(64, 10))
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        fit(model, GradientFlow())


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf · 0 in the backward pass, on purpose
def test_a_non_finite_gradient_warns_as_exploding():
    cr.manual_seed(11)
    model = nn.Sequential(nn.Linear(64, 10))
    flow = GradientFlow(warn=False)
    # on_nonfinite=None: train on through the Inf (the Trainer's default stops there)
    fit(model, flow, data=digits_like(n=16), batch_size=16, loss_fn=lambda out, y: (out * 1e38).sum() * 1e38,
        on_nonfinite=None)  # fmt: skip
    assert not math.isfinite(flow.history["grad_norm"]["0"][0])
    [warning] = flow.warnings
    assert (warning.kind, warning.layers, warning.step) == ("exploding", ["0"], 0)
    assert "not finite" in str(warning)
