"""The learning-rate range test: the sweep, the smoothing and the divergence stop against formulas
written out here, the exact restore of model / optimizer / RNG, the suggestion rule on curves of
known shape, the acceptance run on the digits MLP, bad arguments, the plot and `chainrule lr-find`."""

import csv
import math
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import data as crdata
from chainrule import datasets, nn, optim
from chainrule.cli import main
from chainrule.train import LRFinderResult, Trainer, lr_find


def regression(n=12, features=3, seed=0):
    """A linear regression problem: x (n, features), y (n, 1)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32)[:features] + 0.3).astype(np.float32)
    return x, y


def linear_model(seed=0, features=3):
    cr.manual_seed(seed)
    return nn.Linear(features, 1)


def arrays(module):
    return {name: np.array(tensor.numpy(), copy=True) for name, tensor in module.state_dict().items()}


def optimizer_arrays(optimizer):
    """The optimizer's state dict with every Tensor as a NumPy copy (to compare bit for bit)."""
    state = optimizer.state_dict()
    copied = {
        index: {name: np.array(np.asarray(value), copy=True) for name, value in entries.items()}
        for index, entries in state["state"].items()
    }
    return copied, [dict(group) for group in state["param_groups"]]


def flat(state):
    """{parameter index: {name: array}} -> {"index.name": array}."""
    return {f"{index}.{name}": value for index, entries in state.items() for name, value in entries.items()}


def assert_same_arrays(before, after):
    assert before.keys() == after.keys()
    for key in before:
        assert before[key].dtype == after[key].dtype, key
        np.testing.assert_array_equal(before[key], after[key], err_msg=key)  # bit for bit (no tolerance)


# ---------------------------------------------------------------- the sweep
def test_the_lr_grows_geometrically_from_start_to_end_and_sets_every_param_group():
    x, y = regression()
    model = linear_model()
    seen = []

    class RecordingSGD(optim.SGD):
        def step(self, closure=None):
            seen.append([group["lr"] for group in self.param_groups])
            return super().step(closure)

    optimizer = RecordingSGD([{"params": [model.weight]}, {"params": [model.bias], "lr": 0.5}], lr=0.1)
    result = lr_find(model, nn.MSELoss(), optimizer, (x, y), start_lr=1e-4, end_lr=1e-1, num_iter=16,
                     diverge_threshold=None, batch_size=4)  # fmt: skip
    expected = np.geomspace(1e-4, 1e-1, 16)  # start ... end, equal ratios
    np.testing.assert_allclose(result.lrs, expected, rtol=1e-12)
    assert result.lrs[0] == 1e-4 and math.isclose(result.lrs[-1], 1e-1, rel_tol=1e-12)
    assert result.stop_reason is None and len(result.losses) == len(result.smoothed) == 16
    np.testing.assert_allclose(np.array(seen), np.stack([expected, expected], axis=1), rtol=1e-12)
    assert [group["lr"] for group in optimizer.param_groups] == [0.1, 0.5]  # restored


def test_losses_are_each_batch_before_its_update_cycling_the_data():
    """Replay the test by hand: plain SGD, w <- w - lr * dL/dw, batches 0, 1, 2, 0, 1, 2, 0 in order."""
    x, y = regression(n=12)
    model = linear_model()
    result = lr_find(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=1.0), (x, y), start_lr=1e-3,
                     end_lr=1e-1, num_iter=7, batch_size=4, shuffle=False, diverge_threshold=None)  # fmt: skip
    w = model.weight.detach().numpy().astype(np.float64).copy()  # (1, 3), untouched by the test
    b = model.bias.detach().numpy().astype(np.float64).copy()  # (1,)
    expected = []
    for step, lr in enumerate(np.geomspace(1e-3, 1e-1, 7)):
        xb, yb = x[4 * (step % 3) : 4 * (step % 3) + 4].astype(np.float64), y[4 * (step % 3) : 4 * (step % 3) + 4]
        error = xb @ w.T + b - yb  # (4, 1)
        expected.append(np.mean(error**2))
        grad_out = 2 * error / error.size
        w, b = w - lr * grad_out.T @ xb, b - lr * grad_out.sum(axis=0)
    np.testing.assert_allclose(result.losses, expected, rtol=1e-5)


def test_the_smoothed_loss_is_the_bias_corrected_moving_average():
    x, y = regression(n=24)
    model = linear_model()
    beta = 0.9
    result = lr_find(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), (x, y), start_lr=1e-3, end_lr=0.3,
                     num_iter=12, smooth=beta, batch_size=4, seed=0, diverge_threshold=None)  # fmt: skip
    losses = np.array(result.losses)
    for i in range(len(losses)):  # closed form: sum_j (1 - beta) beta^(i - j) loss_j / (1 - beta^(i + 1))
        weights = (1 - beta) * beta ** (i - np.arange(i + 1))
        assert math.isclose(result.smoothed[i], weights @ losses[: i + 1] / (1 - beta ** (i + 1)), rel_tol=1e-12)
    unsmoothed = lr_find(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), (x, y), start_lr=1e-3,
                         end_lr=0.3, num_iter=12, smooth=0, batch_size=4, seed=0)  # fmt: skip
    assert unsmoothed.smoothed == unsmoothed.losses


def test_a_dataset_or_a_dataloader_gives_the_same_curve_as_a_tuple():
    x, y = regression(n=12)
    curves = []
    for data in ((x, y), crdata.TensorDataset(x, y), crdata.DataLoader(crdata.TensorDataset(x, y), batch_size=4)):
        model = linear_model()
        result = lr_find(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), data, num_iter=8,
                         batch_size=4, shuffle=False)  # fmt: skip
        curves.append(result.losses)
    assert curves[0] == curves[1] == curves[2]


# ---------------------------------------------------------------- stopping
def test_a_very_high_end_lr_stops_the_test_when_the_smoothed_loss_passes_4x_its_best():
    x, y = regression(n=32)
    model = linear_model()
    result = lr_find(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), (x, y), start_lr=1e-4,
                     end_lr=1e4, num_iter=100, batch_size=8, seed=0)  # fmt: skip
    assert result.stop_reason == "diverged"
    assert 2 <= len(result.lrs) < 100
    smoothed = result.smoothed
    assert smoothed[-1] > 4 * min(smoothed[:-1])  # the step that stopped it, recorded
    assert all(smoothed[k] <= 4 * min(smoothed[:k]) for k in range(1, len(smoothed) - 1))  # none before it
    assert result.lrs[-1] > 2 / 10  # SGD on this problem only diverges above ~2 / largest curvature
    with np.errstate(over="ignore", invalid="ignore"):  # without the stop the loss overflows to inf, then NaN
        never = lr_find(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), (x, y), start_lr=1e-4,
                        end_lr=1e4, num_iter=100, batch_size=8, seed=0, diverge_threshold=None)  # fmt: skip
    assert len(never.lrs) > len(result.lrs) and never.stop_reason in (None, "nan")


def test_a_nan_loss_stops_the_test_and_the_model_is_still_restored():
    x, y = regression()
    model = linear_model()
    before = arrays(model)
    calls = []

    def loss_fn(out, target):
        calls.append(1)
        loss = ((out - target) ** 2).mean()
        return loss * float("nan") if len(calls) == 4 else loss

    result = lr_find(model, loss_fn, optim.SGD(model.parameters(), lr=0.1), (x, y), num_iter=50, batch_size=4)
    assert result.stop_reason == "nan" and len(result.lrs) == 4 and math.isnan(result.losses[-1])
    assert all(math.isfinite(value) for value in result.losses[:3])
    assert_same_arrays(before, arrays(model))


def test_an_error_during_the_test_still_restores_the_model():
    x, y = regression()
    model = linear_model()
    before = arrays(model)
    calls = []

    def loss_fn(out, target):
        calls.append(1)
        if len(calls) == 5:
            raise RuntimeError("boom")
        return ((out - target) ** 2).mean()

    with pytest.raises(RuntimeError, match="boom"):
        lr_find(model, loss_fn, optim.SGD(model.parameters(), lr=0.1), (x, y), start_lr=0.1, end_lr=1.0, num_iter=20)
    assert_same_arrays(before, arrays(model))


# ---------------------------------------------------------------- restoring
def digits_split(split):
    pytest.importorskip("sklearn")
    return datasets.load_digits(split)


def normalized_mlp(seed):
    cr.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 10))


def test_model_optimizer_gradients_modes_and_rng_are_restored_bit_for_bit():
    train = digits_split("train")
    model = normalized_mlp(0)
    optimizer = optim.Adam([{"params": model[0].parameters()}, {"params": model[4].parameters(), "lr": 3e-3}],
                           lr=1e-3, weight_decay=1e-4)  # fmt: skip
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer)
    trainer.fit(train, epochs=1, batch_size=64, seed=0, verbose=False)  # Adam has state; BatchNorm has statistics
    x, y = train[:16]
    nn.CrossEntropyLoss()(model(cr.tensor(x)), cr.tensor(y)).backward()  # gradients the test must keep
    model.eval()
    model[3].train()  # modes that differ between modules
    weights, state = arrays(model), optimizer_arrays(optimizer)
    grads = {name: param.grad.numpy().copy() for name, param in model.named_parameters()}
    view = model[0].weight.data  # shares storage with the parameter
    rng = cr.random.get_rng_state()
    lr_find(model, nn.CrossEntropyLoss(), optimizer, train, num_iter=60, seed=1)
    assert_same_arrays(weights, arrays(model))  # parameters and BatchNorm's running statistics
    after_state, after_groups = optimizer_arrays(optimizer)
    assert_same_arrays(flat(state[0]), flat(after_state))  # Adam's step, exp_avg, exp_avg_sq of each parameter
    assert after_groups == state[1]  # every lr, beta, eps, weight_decay, as it was
    assert_same_arrays(grads, {name: param.grad.numpy().copy() for name, param in model.named_parameters()})
    np.testing.assert_array_equal(view.numpy(), weights["0.weight"])
    assert [m.training for m in model.modules()] == [False, False, False, False, True, False]  # Sequential first
    assert cr.random.get_rng_state() == rng


def test_training_after_lr_find_is_the_training_without_it():
    train = digits_split("train")
    runs = []
    for with_lr_find in (False, True):
        model = normalized_mlp(3)
        optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer)
        if with_lr_find:
            lr_find(model, nn.CrossEntropyLoss(), optimizer, train, num_iter=40)  # shuffles with the global RNG
        trainer.fit(train, epochs=1, batch_size=64, verbose=False)  # shuffles and drops out with the global RNG
        runs.append(arrays(model))
    assert_same_arrays(runs[0], runs[1])


# ---------------------------------------------------------------- the acceptance run
@pytest.mark.parametrize("optimizer_name", ["adam", "sgd"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_on_the_digits_mlp_the_suggestion_trains_to_90_percent_in_3_epochs(optimizer_name, seed):
    train, test = digits_split("train"), digits_split("test")

    def build(lr):
        cr.manual_seed(seed)
        model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
        make = optim.Adam if optimizer_name == "adam" else optim.SGD
        return model, make(model.parameters(), lr=lr)

    model, optimizer = build(1e-3)
    weights, state = arrays(model), optimizer_arrays(optimizer)
    result = lr_find(model, nn.CrossEntropyLoss(), optimizer, train, num_iter=200, seed=seed)
    assert_same_arrays(weights, arrays(model))
    assert optimizer_arrays(optimizer)[1] == state[1] and optimizer_arrays(optimizer)[0] == {}
    lr = result.suggestion
    assert lr is not None and 1e-4 < lr < 5.0, result
    model, optimizer = build(lr)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, metrics=["accuracy"])
    trainer.fit(train, epochs=3, batch_size=32, seed=seed, verbose=False)
    accuracy = trainer.evaluate(test)["accuracy"]
    assert accuracy >= 0.90, f"lr {lr:.3g} reached {accuracy:.3f}"


# ---------------------------------------------------------------- the suggestion rule
def curve(lrs, smoothed, skip_start=0, skip_end=0):
    return LRFinderResult(list(lrs), list(smoothed), list(smoothed), skip_start=skip_start, skip_end=skip_end)


def test_steepest_is_where_the_smoothed_loss_falls_fastest_per_decade_before_its_minimum():
    lrs = np.logspace(-5, 1, 61)  # 10 points a decade
    decades = np.log10(lrs)
    loss = 2.0 - np.tanh(2.0 * (decades + 3.0))  # falls fastest at lr = 1e-3
    loss = np.where(decades > -1.0, loss + 5.0 * (decades + 1.0) ** 2, loss)  # blows up past 0.1
    after = decades > 0.0  # past the peak of the blow-up, a fall 4x steeper (to 2.8, above the lowest 1.0): not it
    loss[after] = loss[decades <= 0.0][-1] - 8.0 * np.minimum(decades[after], 0.4)
    result = curve(lrs, loss)
    assert math.isclose(result.suggestion, 1e-3, rel_tol=1e-9)
    lowest = lrs[np.argmin(loss)]
    assert math.isclose(result.suggest("minimum"), lowest / 10, rel_tol=1e-12)


def test_the_first_and_last_points_are_skipped_and_a_curve_that_never_falls_suggests_nothing():
    lrs = np.logspace(-6, 0, 31)
    loss = 1.0 - 0.1 * np.log10(lrs / 1e-6) / 6  # a gentle, even fall of 0.1 over the curve
    loss[:3] = [3.0, 2.0, 1.5]  # the average warming up: a steep fall the suggestion must ignore
    assert curve(lrs, loss, skip_start=3).suggestion > lrs[2]
    assert curve(lrs, loss).suggestion < lrs[3]  # not skipped: it is the steepest
    rising = curve(lrs, 1.0 + np.arange(31.0))
    assert rising.suggestion is None
    assert curve([1e-3], [1.0]).suggestion is None
    with pytest.raises(ValueError, match="'steepest', 'minimum'"):
        rising.suggest("valley")


def test_table_and_str_show_the_curve_and_the_suggestion():
    x, y = regression()
    model = linear_model()
    result = lr_find(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), (x, y), num_iter=30, batch_size=4)
    table = result.table(rows=5)
    lines = table.splitlines()
    assert lines[0].split() == ["step", "lr", "loss", "smoothed"] and len(lines) == 6
    assert lines[1].split()[:2] == ["1", "1.000e-07"] and lines[-1].split()[0] == str(len(result.lrs))
    assert "suggested lr (steepest descent)" in str(result)


# ---------------------------------------------------------------- bad arguments
BAD_ARGUMENTS = [
    ({"start_lr": 1.0, "end_lr": 1.0}, ValueError, "start_lr must be below end_lr"),
    ({"start_lr": 0.5, "end_lr": 0.1}, ValueError, "start_lr=0.5 >= end_lr=0.1"),
    ({"start_lr": 0.0}, ValueError, "start_lr must be a finite number > 0, got 0.0"),
    ({"end_lr": float("inf")}, ValueError, "end_lr must be a finite number > 0"),
    ({"start_lr": "1e-3"}, ValueError, "start_lr must be a finite number > 0, got '1e-3'"),
    ({"num_iter": 1}, ValueError, "num_iter must be an integer >= 2, got 1"),
    ({"num_iter": 10.0}, ValueError, "num_iter must be an integer >= 2, got 10.0"),
    ({"smooth": 1.0}, ValueError, r"smooth \(the moving average's beta\) must be in \[0, 1\)"),
    ({"smooth": -0.1}, ValueError, "must be in"),
    ({"diverge_threshold": 1.0}, ValueError, "diverge_threshold must be a number > 1 or None"),
    ({"batch_size": 0}, ValueError, "batch_size must be a positive integer, got 0"),
    ({"seed": -1}, ValueError, "seed must be a non-negative integer or None, got -1"),
]


@pytest.mark.parametrize("options, error, message", BAD_ARGUMENTS)
def test_bad_arguments_are_clear_errors(options, error, message):
    x, y = regression()
    model = linear_model()
    with pytest.raises(error, match=message):
        lr_find(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), (x, y), **options)


def test_wrong_kinds_of_model_loss_optimizer_or_data_are_type_errors():
    x, y = regression()
    model = linear_model()
    sgd = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="model must be an nn.Module, got function"):
        lr_find(lambda t: t, nn.MSELoss(), sgd, (x, y))
    with pytest.raises(TypeError, match="loss_fn must be callable"):
        lr_find(model, "mse", sgd, (x, y))
    with pytest.raises(TypeError, match="optimizer must be a chainrule optimizer"):
        lr_find(model, nn.MSELoss(), None, (x, y))
    with pytest.raises(TypeError, match="expected data as a tuple"):
        lr_find(model, nn.MSELoss(), sgd, 5)
    with pytest.raises(ValueError, match="lr_find needs targets"):
        lr_find(model, nn.MSELoss(), sgd, x)


# ---------------------------------------------------------------- the plot
def blocked_matplotlib(monkeypatch):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)


def test_plot_without_matplotlib_says_how_to_install_it(monkeypatch, tmp_path):
    result = curve(np.logspace(-3, 0, 10), np.linspace(2, 1, 10))
    blocked_matplotlib(monkeypatch)
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[plot\]'"):
        result.plot(str(tmp_path / "lr.png"))


@pytest.mark.slow  # importing matplotlib takes seconds
def test_plot_writes_a_png_with_a_log_lr_axis(tmp_path):
    image = pytest.importorskip("matplotlib.image")
    x, y = regression(n=32)
    model = linear_model()
    result = lr_find(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), (x, y), start_lr=1e-4,
                     end_lr=1e4, batch_size=8, seed=0)  # fmt: skip
    path = result.plot(str(tmp_path / "lr_find.png"))
    pixels = image.imread(path)
    assert pixels.shape[:2] == (420, 640)  # 6.4 x 4.2 inches at 100 dpi
    assert pixels[..., :3].std() > 0.05  # something was drawn
    with pytest.raises(ValueError, match="nothing to plot"):
        LRFinderResult([], [], []).plot(str(tmp_path / "empty.png"))


# ---------------------------------------------------------------- chainrule lr-find
TINY = """
[data]
name = "iris"
batch_size = 16
validation = 0.2

[model]
layers = [8]

[optimizer]
name = "adam"

[train]
seed = 0
"""


def test_cli_lr_find_prints_the_suggestion_and_writes_the_csv(tmp_path, capsys, monkeypatch):
    pytest.importorskip("sklearn")
    blocked_matplotlib(monkeypatch)  # fast, and the plot's absence is reported
    config = tmp_path / "iris.toml"
    config.write_text(TINY)
    out = tmp_path / "out"
    assert main(["lr-find", str(config), "--out", str(out), "--num-iter", "40", "--start-lr", "1e-5"]) == 0
    printed = capsys.readouterr().out
    assert "learning-rate range test on iris (adam, batch 16)" in printed
    assert "suggested lr:" in printed and "[optimizer] lr =" in printed
    assert "matplotlib is missing (pip install 'chainrule[plot]')" in printed
    with open(out / "lr_find.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert 2 <= len(rows) <= 40
    lrs = [float(row["lr"]) for row in rows]
    np.testing.assert_allclose(lrs, np.geomspace(1e-5, 10.0, 40)[: len(rows)], rtol=1e-12)
    assert not (out / "config.toml").exists()  # not a run: `chainrule train --out` there is still allowed


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--start-lr", "1", "--end-lr", "0.1"], "--start-lr must be below --end-lr"),
        (["--num-iter", "1"], "expected an integer >= 2, got 1"),
        (["--start-lr", "-1"], "expected a finite number > 0, got -1"),
        (["--end-lr", "big"], "expected a number > 0, got 'big'"),
    ],
)
def test_cli_lr_find_usage_errors_exit_2(tmp_path, capsys, arguments, message):
    config = tmp_path / "iris.toml"
    config.write_text(TINY)
    assert main(["lr-find", str(config), "--out", str(tmp_path / "out"), *arguments]) == 2
    assert message in capsys.readouterr().err


def test_cli_lr_find_missing_or_bad_config_exits_2(tmp_path, capsys):
    assert main(["lr-find", str(tmp_path / "nope.toml")]) == 2
    assert "lr-find: nope.toml: no such config file" in capsys.readouterr().err.replace(str(tmp_path) + "/", "")
    bad = tmp_path / "bad.toml"
    bad.write_text('[data]\nname = "digits"\n[optimizer]\nlr = -1')
    assert main(["lr-find", str(bad)]) == 2
    assert "config error" in capsys.readouterr().err
    config = tmp_path / "iris.toml"
    config.write_text(TINY)
    (tmp_path / "file").write_text("")
    assert main(["lr-find", str(config), "--out", str(tmp_path / "file")]) == 2
    assert "exists and is not a directory" in capsys.readouterr().err


def test_cli_lr_find_help_lists_its_options(capsys):
    assert main(["lr-find", "--help"]) == 0
    out = capsys.readouterr().out
    for word in ("CONFIG.toml", "--out", "--start-lr", "--end-lr", "--num-iter", "lr_find.png"):
        assert word in out
