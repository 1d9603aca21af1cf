"""The NaN / Inf guard of Trainer(on_nonfinite=...): stop with a message naming the step, or skip the
step and go on; the last good checkpoint survives; the CLI reports it in one line."""

import math
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.cli import main
from chainrule.errors import AnomalyError, NonFiniteError
from chainrule.train import ModelCheckpoint, Trainer, TrainingCheckpoint
from chainrule.train.guards import NonFiniteGuard

BATCH = 4


def make_data(n=16, features=3, classes=2, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype(np.float32)
    y = rng.integers(0, classes, n).astype(np.int64)
    return x, y


def make_model(seed=0, features=3, classes=2):
    cr.manual_seed(seed)
    return nn.Sequential(nn.Linear(features, 5), nn.Tanh(), nn.Linear(5, classes))


def fit(model, x, y, epochs=1, **trainer_options):
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01), **trainer_options)
    trainer.fit((x, y), epochs=epochs, batch_size=BATCH, shuffle=False, verbose=False)
    return trainer


def weights(model):
    return {name: value.numpy().copy() for name, value in model.state_dict().items()}


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


class RootGate(nn.Module):
    """Logits of a Linear plus 0·sqrt(|gate·x₀|): the loss stays finite, but the gate's gradient
    is 0·∞ = NaN for a batch whose first feature is 0 (d sqrt(u)/du = ∞ at u = 0)."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 2)
        self.gate = nn.Parameter(cr.ones(1))

    def forward(self, x):
        return self.linear(x) + 0 * (self.gate * x[:, :1]).abs().sqrt()


class Log(nn.Module):
    def forward(self, x):
        return x.log()


# ------------------------------------------------------------------ stop
def test_a_nan_loss_stops_naming_epoch_step_batch_before_the_step():
    x, y = make_data()
    x[9] = np.nan  # sample 9 is in batch 2 (batch size 4): steps 0 and 1 run, step 2 must not
    model = make_model()
    with pytest.raises(NonFiniteError) as info:
        fit(model, x, y)
    message = str(info.value)
    for fragment in ("the loss is nan", "epoch 0, global step 2, batch 2", "inputs already hold 3 NaN", "anomaly"):
        assert fragment in message
    reference = make_model()
    fit(reference, x[:8], y[:8])  # exactly the two good steps
    assert_same_weights(weights(model), weights(reference))


def test_a_nan_gradient_with_a_finite_loss_names_the_parameter():
    x, y = make_data()
    x[4:8, 0] = 0.0  # batch 1
    cr.manual_seed(0)
    model = RootGate()
    with pytest.raises(NonFiniteError) as info:
        fit(model, x, y)
    message = str(info.value)
    assert "the gradient of parameter 'gate' holds NaN or Inf" in message
    assert "epoch 0, global step 1, batch 1" in message
    assert "inputs already hold" not in message  # the data is finite: the model made the NaN


def test_the_stop_comes_in_a_later_epoch_with_the_global_step():
    x, y = make_data()

    class NanInEpoch2(cr.train.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                x[13] = np.nan  # the loop reads x afresh each epoch (batch 3 of epoch 2)

    model = make_model()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(NonFiniteError, match=r"epoch 2, global step 11, batch 3"):
        trainer.fit((x, y), epochs=3, batch_size=BATCH, shuffle=False, verbose=False, callbacks=[NanInEpoch2()])


def test_detect_anomaly_names_the_op_in_the_forward_pass():
    x, y = make_data()
    x = np.abs(x) + 0.5
    x[5, 1] = -1.0  # log of a negative number, batch 1
    cr.manual_seed(0)
    model = nn.Sequential(Log(), nn.Linear(3, 2))
    with cr.autograd.detect_anomaly(), pytest.raises(NonFiniteError) as info:
        fit(model, x, y)
    message = str(info.value)
    assert "epoch 0, global step 1, batch 1" in message
    assert "found by detect_anomaly" in message and "Log produced NaN or Inf in its forward" in message
    assert isinstance(info.value.__cause__, AnomalyError)


def test_detect_anomaly_names_the_op_in_the_backward_pass():
    x, y = make_data()
    x[8:12, 0] = 0.0  # batch 2
    cr.manual_seed(0)
    with cr.autograd.detect_anomaly(), pytest.raises(NonFiniteError) as info:
        fit(RootGate(), x, y)
    message = str(info.value)
    assert "epoch 0, global step 2, batch 2" in message
    assert "Sqrt produced NaN or Inf in its backward" in message


def test_the_last_good_checkpoint_is_not_overwritten(tmp_path):
    x, y = make_data()
    path = tmp_path / "last.safetensors"

    class PoisonedLoss(nn.CrossEntropyLoss):  # NaN from the 2nd step of epoch 2 (4 steps an epoch)
        calls = 0

        def forward(self, input, target):  # noqa: A002
            PoisonedLoss.calls += 1
            loss = super().forward(input, target)
            return loss * math.nan if PoisonedLoss.calls == 4 * 2 + 2 else loss

    snapshots = {}

    class Snapshot(cr.train.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots[epoch] = weights(self.model)

    model = make_model()
    trainer = Trainer(model, PoisonedLoss(), optim.Adam(model.parameters(), lr=0.01),
                      callbacks=[ModelCheckpoint(path, monitor="loss"), Snapshot()])  # fmt: skip
    with pytest.raises(NonFiniteError, match="epoch 2, global step 9, batch 1"):
        trainer.fit((x, y), epochs=4, batch_size=BATCH, shuffle=False, verbose=False)
    assert sorted(snapshots) == [0, 1]
    saved = cr.load(path)
    assert saved["epoch"] == 2  # epochs completed: 0 and 1
    saved_weights = {name: value.numpy() for name, value in saved["model"].items()}
    assert_same_weights(saved_weights, snapshots[1])
    assert all(np.isfinite(value).all() for value in saved_weights.values())


def test_a_stop_leaves_the_training_checkpoints_good_and_the_run_resumes(tmp_path):
    x, y = make_data()
    poisoned = x.copy()
    poisoned[4 * 2 + 1] = np.nan  # batch 2 of every epoch; it stops at epoch 0, global step 2
    saver = TrainingCheckpoint(tmp_path / "ckpt", every=1, keep_last=2)
    good = {}

    class LastGood(cr.train.Callback):
        def on_batch_end(self, batch, logs=None):
            good["weights"] = weights(self.model)

    model = make_model()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01))
    with pytest.raises(NonFiniteError, match="epoch 0, global step 2, batch 2"):
        trainer.fit((poisoned, y), epochs=2, batch_size=BATCH, shuffle=False, verbose=False,
                    callbacks=[saver, LastGood()])  # fmt: skip
    files = sorted((tmp_path / "ckpt").glob("step-*.safetensors"))
    assert files
    newest = {name: value.numpy() for name, value in cr.load(files[-1])["model"].items()}
    assert_same_weights(newest, good["weights"])  # the state after the last good step, finite
    model = make_model(seed=1)  # resumed from the checkpoint, with the data mended
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01))
    saver = TrainingCheckpoint(tmp_path / "ckpt", every=1, keep_last=2)
    trainer.fit((x, y), epochs=2, batch_size=BATCH, shuffle=False, verbose=False, callbacks=[saver],
                resume=tmp_path / "ckpt")  # fmt: skip
    reference = make_model()
    fit(reference, x, y, epochs=2)
    assert_same_weights(weights(model), weights(reference))


# ------------------------------------------------------------------ skip
@pytest.mark.parametrize("bad_batch", [1, 3])
def test_skip_drops_the_bad_step_and_ends_where_training_without_that_batch_ends(bad_batch):
    x, y = make_data()
    x[4 * bad_batch + 2] = np.nan
    model = make_model()
    guard = NonFiniteGuard("skip")
    with pytest.warns(
        UserWarning, match=rf"optimizer step: the loss is nan at epoch 0, global step {bad_batch}, batch"
    ):
        fit(model, x, y, epochs=2, on_nonfinite=guard)
    assert guard.skipped == 2  # once an epoch
    reference = make_model()
    keep = [i for i in range(16) if i // 4 != bad_batch]
    fit(reference, x[keep], y[keep], epochs=2)
    assert_same_weights(weights(model), weights(reference))
    if bad_batch == 3:  # the last step was the bad one: its gradients were cleared
        assert all(p.grad is None for p in model.parameters())


def test_skip_of_a_nan_gradient_clears_the_gradients_and_keeps_the_logged_loss_finite():
    x, y = make_data()
    x[0:4, 0] = 0.0  # batch 0 has NaN gradients, its loss is finite
    cr.manual_seed(0)
    model = RootGate()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = fit(model, x, y, epochs=3, on_nonfinite="skip").history
    assert len([w for w in caught if "skipped the optimizer step" in str(w.message)]) == 1  # warn_every=100
    first = str(caught[0].message)
    assert "the gradient of parameter 'gate'" in first and "(1 skipped so far)" in first
    assert np.isfinite(model.gate.detach().numpy()).all() and np.isfinite(history.history["loss"]).all()


def test_skip_warns_every_nth_skip_with_the_count():
    x, y = make_data(n=8)
    x[:, 0] = 0.0  # every batch has NaN gradients
    cr.manual_seed(0)
    guard = NonFiniteGuard("skip", max_consecutive_skips=100, warn_every=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(NonFiniteError, match=r"every batch of epoch 0 \(2\) was skipped"):
            fit(RootGate(), x, y, on_nonfinite=guard)
    assert len(caught) == 1 and "(1 skipped so far)" in str(caught[0].message)
    x2, y2 = make_data(n=28)
    x2[:, 0] = 0.0
    x2[24:, 0] = 1.0  # the last batch is good, so the epoch is not all skipped
    guard = NonFiniteGuard("skip", max_consecutive_skips=100, warn_every=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit(RootGate(), x2, y2, on_nonfinite=guard)
    counts = [str(w.message).rsplit("(", 1)[1] for w in caught]
    assert counts == ["1 skipped so far)", "3 skipped so far)", "6 skipped so far)"] and guard.skipped == 6


def test_too_many_consecutive_skips_stop():
    x, y = make_data(n=24)
    x[4:, 0] = 0.0  # batch 0 is good; batches 1.. are not
    cr.manual_seed(0)
    guard = NonFiniteGuard("skip", max_consecutive_skips=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(NonFiniteError) as info:
            fit(RootGate(), x, y, on_nonfinite=guard)
    message = str(info.value)
    assert "epoch 0, global step 3, batch 3" in message
    assert "3 steps in a row had NaN or Inf, expected at most max_consecutive_skips=2" in message


def test_skip_refuses_to_go_on_when_the_forward_pass_broke_a_buffer():
    x, y = make_data()
    x[5] = np.nan
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(NonFiniteError, match=r"made the buffer '1.running_mean' NaN or Inf, which skipping"):
            fit(model, x, y, on_nonfinite="skip")


# ------------------------------------------------------------------ the check itself
def test_the_fused_check_has_no_false_positive_on_overflow_and_finds_each_kind():
    guard = NonFiniteGuard()
    model = nn.Linear(1000, 2)
    for value, finite in ((1e30, True), (math.inf, False), (-math.inf, False), (math.nan, False)):
        model.weight.grad = cr.full((2, 1000), 1e30)  # Σ g² overflows float32; every element is finite
        model.bias.grad = cr.zeros(2)
        model.bias.grad.numpy()[1] = value
        if finite:
            assert guard.gradients_are_finite(model)
        else:
            with pytest.raises(NonFiniteError, match="the gradient of parameter 'bias' holds NaN or Inf"):
                guard.gradients_are_finite(model)
    model.weight.grad.numpy()[0, 0] = math.nan
    with pytest.raises(NonFiniteError, match="gradients of parameters 'weight', 'bias' hold"):
        guard.gradients_are_finite(model)


def test_a_model_without_gradients_and_integer_buffers_pass():
    guard = NonFiniteGuard()
    assert guard.gradients_are_finite(nn.Sequential(nn.BatchNorm1d(3)))
    assert guard.loss_is_finite(cr.tensor(0.5))


@pytest.mark.parametrize(
    "options, fragment",
    [
        ({"mode": "ignore"}, "on_nonfinite must be one of 'stop', 'skip', None, got 'ignore'"),
        ({"max_consecutive_skips": 0}, "max_consecutive_skips must be a positive integer, got 0"),
        ({"warn_every": 2.5}, "warn_every must be a positive integer, got 2.5"),
    ],
)
def test_guard_options_are_checked(options, fragment):
    with pytest.raises(ValueError, match=fragment):
        NonFiniteGuard(**options)


def test_trainer_option_is_checked():
    model = make_model()
    with pytest.raises(
        ValueError, match="on_nonfinite must be one of 'stop', 'skip', None or a NonFiniteGuard, got 'warn'"
    ):
        Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), on_nonfinite="warn")


def test_finite_training_is_unchanged_by_the_guard():
    x, y = make_data()
    a, b, c = make_model(), make_model(), make_model()
    fit(a, x, y, epochs=2)
    fit(b, x, y, epochs=2, on_nonfinite="skip")
    fit(c, x, y, epochs=2, on_nonfinite=None)
    assert_same_weights(weights(a), weights(b))
    assert_same_weights(weights(a), weights(c))


def test_on_nonfinite_none_trains_on_through_nan_as_a_plain_loop_does():
    x, y = make_data()
    x[5] = np.nan
    model = make_model()
    history = fit(model, x, y, on_nonfinite=None).history
    assert math.isnan(history.history["loss"][0])
    assert np.isnan(weights(model)["0.weight"]).all()  # Adam spread the NaN into every weight


# ------------------------------------------------------------------ the command line
def test_chainrule_train_reports_a_nan_in_one_line_and_exits_1(tmp_path, capsys):
    config = tmp_path / "nan.toml"
    config.write_text(
        '[data]\nname = "iris"\nbatch_size = 16\nvalidation = 0.2\n[model]\nlayers = [8]\n'
        '[optimizer]\nname = "adam"\nlr = 1e30\n[train]\nepochs = 2\nseed = 0\n'
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's overflow warnings on the way to NaN
        assert main(["train", str(config), "--out", str(tmp_path / "run"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    line = [line for line in err.splitlines() if line.startswith("chainrule train:")]
    assert (
        len(line) == 1
        and "at epoch 0, global step" in line[0]
        and "training stopped before the optimizer step" in line[0]
    )
