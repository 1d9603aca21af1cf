"""Trainer, metrics, callbacks, History and progress output."""

import csv
import io
import os
import re
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, TensorDataset
from chainrule.errors import DTypeError, ShapeError
from chainrule.optim import lr_scheduler
from chainrule.train import (
    Accuracy,
    Callback,
    ConfusionMatrix,
    CSVLogger,
    EarlyStopping,
    LearningRateScheduler,
    MeanAbsoluteError,
    ModelCheckpoint,
    TopKAccuracy,
    Trainer,
    accuracy,
    confusion_matrix,
    mae,
    mse,
    top_k_accuracy,
)
from chainrule.train.metrics import get_metric
from chainrule.train.progress import BarProgress, LineProgress, make_progress


# ----------------------------------------------------------------------------------------- data
def blobs(n=120, seed=0):
    """Three well separated Gaussian blobs in 2-d: x (n, 2) float32, y (n,) int64."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    x = (centres[y] + 0.5 * rng.standard_normal((n, 2))).astype(np.float32)
    return x, y.astype(np.int64)


def classifier(seed=0):
    cr.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 3))


def regression_data(n=10):
    x = np.linspace(-1, 1, n, dtype=np.float32).reshape(n, 1)
    return x, (3 * x - 1 + 0.1 * np.sin(7 * x)).astype(np.float32)


class Scripted(Callback):
    """Overwrites a logged quantity with a scripted sequence (placed before the callback under test)."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values = key, values

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


class Recorder(Callback):
    """Keeps a copy of the weights and the logs at the end of every epoch, and the batch logs."""

    def __init__(self):
        super().__init__()
        self.weights, self.logs, self.batch_logs = [], [], []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append({k: v.numpy().copy() for k, v in self.model.state_dict().items()})
        self.logs.append(dict(logs))

    def on_batch_end(self, batch, logs=None):
        self.batch_logs.append(dict(logs))


def weights_of(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


# ----------------------------------------------------------------------------------------- metrics
LOGITS = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [1.0, 0.0, 5.0], [4.0, 4.5, 0.0]], dtype=np.float32)
LABELS = np.array([0, 1, 1, 0])  # predicted: 0, 1, 2, 1 -> 2 of 4 right


def test_accuracy_of_class_scores():
    assert accuracy(LOGITS, LABELS) == 0.5
    assert accuracy(cr.tensor(LOGITS).softmax(dim=1), cr.tensor(LABELS)) == 0.5
    assert accuracy(LOGITS, np.eye(3)[LABELS]) == 0.5  # one-hot targets


def test_binary_accuracy_thresholds():
    probabilities = np.array([0.2, 0.7, 0.5, 0.9])  # class 1 above 0.5: 0, 1, 0, 1
    target = np.array([0, 1, 1, 0])
    assert accuracy(probabilities, target) == 0.5
    assert accuracy(probabilities.reshape(4, 1), target.reshape(4, 1).astype(np.float32)) == 0.5
    logits = np.array([-1.0, 2.0, 0.3, -0.2])  # outside [0, 1]: logits, class 1 above 0: 0, 1, 1, 0
    assert accuracy(logits, target) == 1.0
    assert accuracy(logits, target, from_logits=False) == 0.75  # 0.3 read as a probability
    assert accuracy(np.array([0.3, 0.6]), np.array([1, 1]), from_logits=True) == 1.0
    assert accuracy(np.array([1, 0, 1]), np.array([1, 1, 1])) == pytest.approx(2 / 3)  # integer predictions


def test_top_k_accuracy_counts_ties_for_the_sample():
    scores = np.array([[0.1, 0.5, 0.4], [0.3, 0.3, 0.4], [0.6, 0.3, 0.1]])
    target = np.array([2, 0, 2])
    # target scores 0.4, 0.3, 0.1; classes scoring strictly higher: 1, 1, 2
    assert top_k_accuracy(scores, target, k=2) == pytest.approx(2 / 3)
    assert top_k_accuracy(scores, target, k=1) == 0.0
    assert top_k_accuracy(scores, target, k=3) == 1.0
    with pytest.raises(ValueError, match="k=4 is more than the 3 classes"):
        top_k_accuracy(scores, target, k=4)


def test_mae_and_mse_by_hand():
    output, target = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 2.0, 1.0, 8.0])  # differences -1, 0, 2, -4
    assert mae(output, target) == 1.75
    assert mse(output, target) == 5.25
    assert mse(cr.tensor(output).reshape(4, 1), cr.tensor(target)) == 5.25  # (N, 1) against (N,)
    with pytest.raises(ShapeError, match=r"\(3,\).*\(4,\)"):
        mae(np.zeros(3), np.zeros(4))


def test_confusion_matrix_by_hand():
    np.testing.assert_array_equal(confusion_matrix(LOGITS, LABELS, 3), [[1, 1, 0], [0, 1, 1], [0, 0, 0]])
    binary = confusion_matrix(np.array([0.9, 0.1, 0.8, 0.3, 0.6]), np.array([1, 0, 0, 1, 1]), 2)
    np.testing.assert_array_equal(binary, [[1, 1], [1, 2]])  # rows: true 0, 1; columns: predicted 0, 1


@pytest.mark.slow  # importing scikit-learn takes seconds
def test_confusion_matrix_matches_scikit_learn():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    scores, labels = rng.standard_normal((200, 4)), rng.integers(0, 4, 200)
    expected = sklearn_metrics.confusion_matrix(labels, scores.argmax(1), labels=range(4))
    np.testing.assert_array_equal(confusion_matrix(scores, labels, num_classes=4), expected)


def test_streaming_metrics_equal_the_one_shot_functions():
    rng = np.random.default_rng(4)
    scores, labels = rng.standard_normal((50, 5)).astype(np.float32), rng.integers(0, 5, 50)
    streaming = [Accuracy(), TopKAccuracy(3), MeanAbsoluteError(), ConfusionMatrix(5)]
    for start in (0, 7, 20, 33):  # uneven batches
        stop = {0: 7, 7: 20, 20: 33, 33: 50}[start]
        for metric in streaming:
            target = labels[start:stop] if not isinstance(metric, MeanAbsoluteError) else scores[start:stop] * 0
            metric.update(cr.tensor(scores[start:stop]), cr.tensor(target))
    assert streaming[0].compute() == accuracy(scores, labels)
    assert streaming[1].compute() == top_k_accuracy(scores, labels, k=3)
    assert streaming[2].compute() == pytest.approx(np.abs(scores).mean())
    np.testing.assert_array_equal(streaming[3].compute(), confusion_matrix(scores, labels, 5))
    streaming[0].reset()
    with pytest.raises(RuntimeError, match="before any update"):
        streaming[0].compute()


def test_metric_input_errors():
    with pytest.raises(ShapeError, match="same number of samples"):
        accuracy(LOGITS, LABELS[:3])
    with pytest.raises(DTypeError, match="integer dtype"):
        accuracy(LOGITS, LABELS.astype(np.float32))
    with pytest.raises(ValueError, match=r"must lie in \[0, 3\)"):
        confusion_matrix(LOGITS, np.array([0, 1, 3, 0]), 3)
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        get_metric("f1")
    assert get_metric("top5_accuracy").k == 5 and get_metric("mse").name == "mse"


# ----------------------------------------------------------------------------------------- Trainer
def test_fit_on_a_tiny_problem_learns_and_logs_every_quantity():
    x, y = blobs()
    model = classifier()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.2), metrics=["accuracy"])
    history = trainer.fit((x[:90], y[:90]), epochs=8, batch_size=16, validation=(x[90:], y[90:]), seed=0, verbose=False)
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy", "lr"]
    assert history.epoch == list(range(8))
    assert all(len(values) == 8 for values in history.history.values())
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    assert history.history["val_accuracy"][-1] > 0.9
    assert history.history["lr"] == [0.2] * 8


def test_epoch_loss_is_the_mean_over_samples_weighted_by_batch_size():
    x, y = regression_data(10)  # batches of 4, 4, 2
    model = nn.Linear(1, 1)
    trainer = Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.0), metrics=["mae", "mse"])
    recorder = Recorder()
    history = trainer.fit((x, y), epochs=1, batch_size=4, shuffle=False, callbacks=[recorder], verbose=False)
    w, b = model.weight.detach().numpy()[0, 0], model.bias.detach().numpy()[0]
    error = (x * w + b) - y  # lr=0: the weights never change
    assert history.history["loss"][0] == pytest.approx(float(np.mean(error**2)), rel=1e-6)
    assert history.history["mae"][0] == pytest.approx(float(np.mean(np.abs(error))), rel=1e-6)
    # the batch logs carry running means over the samples so far: never the last batch's value alone
    running = [float(np.mean(error[:stop] ** 2)) for stop in (4, 8, 10)]
    assert [logs["loss"] for logs in recorder.batch_logs] == pytest.approx(running, rel=1e-6)
    assert [logs["size"] for logs in recorder.batch_logs] == [4, 4, 2]
    evaluated = trainer.evaluate((x, y), batch_size=3)
    assert evaluated["loss"] == pytest.approx(float(np.mean(error**2)), rel=1e-6)
    assert evaluated["mse"] == pytest.approx(float(np.mean(error**2)), rel=1e-6)


def test_evaluate_and_predict_shapes_and_values():
    x, y = blobs(50)
    model = classifier()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), metrics=["accuracy"])
    trainer.fit((x, y), epochs=2, verbose=False)
    direct = model(cr.tensor(x)).detach().numpy()
    for data in [x, cr.tensor(x), (x, y), (x,), TensorDataset(cr.tensor(x), cr.tensor(y)),
                 DataLoader(TensorDataset(cr.tensor(x), cr.tensor(y)), batch_size=7)]:  # fmt: skip
        out = trainer.predict(data, batch_size=8)
        assert isinstance(out, cr.Tensor) and out.shape == (50, 3) and not out.requires_grad
        np.testing.assert_allclose(out.numpy(), direct, rtol=1e-6, atol=1e-6)
    result = trainer.evaluate((x, y), batch_size=16)
    assert list(result) == ["loss", "accuracy"]
    assert result["accuracy"] == np.mean(direct.argmax(1) == y)
    log_probabilities = direct - np.log(np.exp(direct).sum(1, keepdims=True))
    assert result["loss"] == pytest.approx(-log_probabilities[np.arange(50), y].mean(), rel=1e-5)
    assert model.training  # evaluate and predict restore the mode


def test_the_data_forms_train_alike():
    x, y = blobs(64)

    def run(data):
        model = classifier(seed=1)
        Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1)).fit(
            data, epochs=2, batch_size=16, shuffle=False, verbose=False
        )
        return weights_of(model)

    reference = run((x, y))
    dataset = TensorDataset(cr.tensor(x), cr.tensor(y))
    for data in (dataset, DataLoader(dataset, batch_size=16), (cr.tensor(x), cr.tensor(y))):
        for key, value in run(data).items():
            np.testing.assert_allclose(value, reference[key], rtol=1e-6, atol=1e-7)


def test_seed_makes_shuffled_runs_repeat():
    x, y = blobs(64)

    def run(seed):
        model = classifier(seed=2)
        Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1)).fit(
            (x, y), epochs=3, batch_size=8, seed=seed, verbose=False
        )
        return weights_of(model)

    first, again, other = run(5), run(5), run(6)
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert not all(np.array_equal(first[k], other[k]) for k in first)


def test_trainer_errors():
    x, y = blobs(10)
    model = classifier()
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ShapeError, match="same number of samples"):
        Trainer(model, nn.CrossEntropyLoss(), opt).fit((x, y[:5]), verbose=False)
    with pytest.raises(ShapeError, match="one number"):
        Trainer(model, nn.CrossEntropyLoss(reduction="none"), opt).fit((x, y), verbose=False)
    with pytest.raises(TypeError, match="ConfusionMatrix is not one number per epoch"):
        Trainer(model, nn.CrossEntropyLoss(), opt, metrics=[ConfusionMatrix(3)])
    with pytest.raises(ValueError, match="used twice"):
        Trainer(model, nn.CrossEntropyLoss(), opt, metrics=["accuracy", Accuracy()])
    with pytest.raises(ValueError, match="needs targets"):
        Trainer(model, nn.CrossEntropyLoss(), opt).evaluate(x)
    with pytest.raises(KeyError, match="val_loss.*validation="):
        Trainer(model, nn.CrossEntropyLoss(), opt).fit((x, y), callbacks=[EarlyStopping()], verbose=False)


def test_clip_grad_norm_scales_the_gradients_before_each_step():
    x, y = blobs(24)
    model = classifier()
    before = weights_of(model)
    loss = nn.CrossEntropyLoss()(model(cr.tensor(x)), cr.tensor(y))  # the gradient of the one full batch
    loss.backward()
    grads = {name: p.grad.numpy().copy() for name, p in model.named_parameters()}
    norm = np.sqrt(sum((g.astype(np.float64) ** 2).sum() for g in grads.values()))
    max_norm, lr = 0.01, 0.5
    assert norm > 10 * max_norm  # so the clipping is visible
    model.zero_grad()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=lr), clip_grad_norm=max_norm)
    trainer.fit((x, y), epochs=1, batch_size=len(x), shuffle=False, verbose=False)
    after = weights_of(model)
    for name, grad in grads.items():  # SGD: w <- w - lr * g * max_norm / ||g||
        np.testing.assert_allclose(after[name], before[name] - lr * grad * max_norm / norm, rtol=1e-4, atol=1e-7)
    with pytest.raises(ValueError, match="clip_grad_norm must be a number > 0"):
        Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=lr), clip_grad_norm=0)


def test_binary_accuracy_follows_the_loss_function():
    x = np.array([[1.0], [-1.0], [0.2], [-0.3]], dtype=np.float32)
    y = np.array([[1.0], [0.0], [1.0], [0.0]], dtype=np.float32)
    model = nn.Linear(1, 1)
    with cr.no_grad():
        model.weight.fill_(1.0)
        model.bias.fill_(0.0)
    # outputs equal x: as logits all four are right; read as probabilities 0.2 would be wrong
    logits = Trainer(model, nn.BCEWithLogitsLoss(), optim.SGD(model.parameters(), lr=0.0), metrics=["accuracy"])
    assert logits.evaluate((x, y))["accuracy"] == 1.0


# ----------------------------------------------------------------------------------------- callbacks
def fit_scripted(callbacks, val_losses, epochs=10, model=None, optimizer=None):
    x, y = blobs(40)
    model = model or classifier()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer or optim.SGD(model.parameters(), lr=0.05))
    history = trainer.fit(
        (x, y),
        epochs=epochs,
        validation=(x, y),
        callbacks=[Scripted("val_loss", val_losses), *callbacks],
        verbose=False,
    )
    return trainer, history


@pytest.mark.parametrize(
    "val_losses, kwargs, stopped, best",
    [
        ([1.0, 0.8, 0.85, 0.9, 0.7, 0.6], dict(patience=2), 3, 1),  # two epochs without improvement
        ([1.0, 0.8, 0.85, 0.9, 0.7, 0.6], dict(patience=0), 2, 1),
        ([1.0, 0.95, 0.93, 0.92, 0.5, 0.4], dict(patience=1, min_delta=0.1), 1, 0),  # 0.95 is not 0.1 better
        ([1.0, 0.9, 0.8, 0.7, 0.6, 0.5], dict(patience=1), None, 5),  # never stops
    ],
)
def test_early_stopping_stops_at_the_right_epoch(val_losses, kwargs, stopped, best):
    stop = EarlyStopping(**kwargs)
    _, history = fit_scripted([stop], val_losses, epochs=6)
    assert stop.stopped_epoch == stopped
    assert stop.best_epoch == best
    assert history.epoch == list(range(6 if stopped is None else stopped + 1))
    assert history.history["val_loss"] == val_losses[: len(history.epoch)]


def test_early_stopping_in_max_mode_for_accuracies():
    stop = EarlyStopping(monitor="val_accuracy", patience=1)
    x, y = blobs(40)
    model = classifier()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.05), metrics=["accuracy"])
    trainer.fit(
        (x, y), epochs=6, validation=(x, y), verbose=False,
        callbacks=[Scripted("val_accuracy", [0.5, 0.7, 0.6, 0.8, 0.9, 0.95]), stop],
    )  # fmt: skip
    assert stop.mode == "max" and stop.stopped_epoch == 2 and stop.best == 0.7


def test_restore_best_weights_brings_back_the_best_epoch():
    recorder = Recorder()
    stop = EarlyStopping(patience=2, restore_best_weights=True)
    trainer, history = fit_scripted([recorder, stop], [1.0, 0.5, 0.7, 0.8, 0.1])
    assert history.epoch == [0, 1, 2, 3]
    restored = weights_of(trainer.model)
    for key, value in restored.items():
        np.testing.assert_array_equal(value, recorder.weights[1][key])
    assert not all(np.array_equal(restored[k], recorder.weights[3][k]) for k in restored)


def test_model_checkpoint_files_load_back(tmp_path):
    recorder = Recorder()
    every = ModelCheckpoint(tmp_path / "ckpt-{epoch:02d}.safetensors")
    best = ModelCheckpoint(tmp_path / "best-{epoch}.safetensors", save_best_only=True)
    trainer, _ = fit_scripted([recorder, every, best], [1.0, 0.5, 0.7, 0.4], epochs=4)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "best-1.safetensors", "best-2.safetensors", "best-4.safetensors",
        "ckpt-01.safetensors", "ckpt-02.safetensors", "ckpt-03.safetensors", "ckpt-04.safetensors",
    ]  # fmt: skip
    state = cr.load(tmp_path / "ckpt-03.safetensors")
    assert state["epoch"] == 3 and state["logs"]["val_loss"] == 0.7
    model = classifier(seed=9)
    model.load_state_dict(state["model"])
    for key, value in weights_of(model).items():
        np.testing.assert_array_equal(value, recorder.weights[2][key])
    optimizer = optim.SGD(model.parameters(), lr=1.0)
    optimizer.load_state_dict(state["optimizer"])
    assert optimizer.param_groups[0]["lr"] == 0.05


def test_a_run_resumed_from_a_checkpoint_ends_where_the_uninterrupted_run_ends(tmp_path):
    x, y = blobs(48)

    def trainer_for(seed):
        model = classifier(seed)
        opt = optim.Adam(model.parameters(), lr=0.01)
        return Trainer(model, nn.CrossEntropyLoss(), opt, scheduler=lr_scheduler.StepLR(opt, step_size=1, gamma=0.7))

    uninterrupted = trainer_for(0)
    uninterrupted.fit((x, y), epochs=4, batch_size=8, seed=3, verbose=False)

    first = trainer_for(0)
    first.fit((x, y), epochs=2, batch_size=8, seed=3, verbose=False, callbacks=[ModelCheckpoint(tmp_path / "c.st")])
    assert cr.load(tmp_path / "c.st")["scheduler"]["last_epoch"] == 2
    resumed = trainer_for(7)  # different initial weights, all replaced by the checkpoint
    epoch = resumed.load_checkpoint(tmp_path / "c.st")
    assert epoch == 2
    history = resumed.fit((x, y), epochs=4, batch_size=8, seed=3, verbose=False, initial_epoch=epoch)
    assert history.epoch == [2, 3]
    assert history.history["lr"] == pytest.approx([0.01 * 0.7**2, 0.01 * 0.7**3])
    for key, value in weights_of(uninterrupted.model).items():
        np.testing.assert_array_equal(weights_of(resumed.model)[key], value)


def test_csv_logger_writes_one_row_per_epoch(tmp_path):
    path = tmp_path / "log.csv"
    x, y = blobs(30)
    model = classifier()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), metrics=["accuracy"])
    history = trainer.fit((x, y), epochs=3, validation=(x, y), callbacks=[CSVLogger(path)], verbose=False)
    with open(path, newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"]
    assert [row[0] for row in rows[1:]] == ["1", "2", "3"]
    for index, key in enumerate(rows[0][1:], start=1):
        assert [float(row[index]) for row in rows[1:]] == history.history[key]  # repr round trips exactly
    trainer.fit((x, y), epochs=1, callbacks=[CSVLogger(path, append=True)], validation=(x, y), verbose=False)
    with open(path, newline="") as file:
        assert len(list(csv.reader(file))) == 5  # header once, four rows


class CountingScheduler:
    def __init__(self):
        self.steps = 0

    def step(self):
        self.steps += 1


@pytest.mark.parametrize("interval, expected", [(None, 3), ("epoch", 3), ("step", 3 * 4)])
def test_scheduler_interval(interval, expected):
    x, y = blobs(32)  # 4 batches of 8
    model = classifier()
    scheduler = CountingScheduler()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), scheduler=scheduler,
                      scheduler_interval=interval)  # fmt: skip
    trainer.fit((x, y), epochs=3, batch_size=8, verbose=False)
    assert scheduler.steps == expected


def test_epoch_and_step_schedulers_set_the_logged_lr():
    x, y = blobs(32)
    model = classifier()
    opt = optim.SGD(model.parameters(), lr=0.1)
    history = Trainer(model, nn.CrossEntropyLoss(), opt, scheduler=lr_scheduler.StepLR(opt, 2, gamma=0.5)).fit(
        (x, y), epochs=5, batch_size=8, verbose=False
    )
    assert history.history["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])
    one_cycle = lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=3 * 4)
    trainer = Trainer(model, nn.CrossEntropyLoss(), opt, scheduler=one_cycle)
    assert trainer.scheduler_callback.interval == "step"
    trainer.fit((x, y), epochs=3, batch_size=8, verbose=False)  # a 13th step would raise in OneCycleLR
    assert one_cycle.last_epoch == 12


def test_reduce_lr_on_plateau_gets_the_monitored_value():
    seen = []

    class Plateau(lr_scheduler.ReduceLROnPlateau):
        def step(self, metrics, epoch=None):
            seen.append(metrics)
            super().step(metrics)

    model = classifier()
    opt = optim.SGD(model.parameters(), lr=0.1)
    callback = LearningRateScheduler(Plateau(opt, patience=0, factor=0.5))
    _, history = fit_scripted([callback], [1.0, 1.0, 1.0, 0.5], epochs=4, model=model, optimizer=opt)
    assert seen == [1.0, 1.0, 1.0, 0.5]
    assert history.history["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.025])  # lr at each epoch's start
    with pytest.raises(ValueError, match="interval='epoch'"):
        LearningRateScheduler(Plateau(opt), interval="step")


# ----------------------------------------------------------------------------------------- progress and History
def test_non_terminal_output_is_one_plain_line_per_epoch(capsys):
    x, y = blobs(40)
    model = classifier()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), metrics=["accuracy"])
    history = trainer.fit((x, y), epochs=3, batch_size=16, validation=(x, y))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    number = r"\d+\.\d{4}"
    for epoch, line in enumerate(lines):
        pattern = (
            rf"epoch {epoch + 1}/3  loss {number}  accuracy {number}  val_loss {number}  val_accuracy {number}"
            r"  lr 0\.1  \d+\.\d{1,3}s"
        )
        assert re.fullmatch(pattern, line), line
        assert f"loss {history.history['loss'][epoch]:.4f}" in line
    assert "\r" not in capsys.readouterr().out
    trainer.fit((x, y), epochs=2, verbose=False)
    assert capsys.readouterr().out == ""


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_a_terminal_gets_a_progress_bar_with_the_running_loss(monkeypatch):
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    x, y = blobs(40)
    model = classifier()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), metrics=["accuracy"])
    history = trainer.fit((x, y), epochs=2, batch_size=10)
    monkeypatch.undo()
    text = terminal.getvalue()
    assert "\r" in text and "epoch 1/2" in text and "epoch 2/2" in text
    assert "4/4" in text and "batch/s" in text
    assert f"loss {history.history['loss'][-1]:.4f}" in text  # the final postfix is the epoch's mean
    assert isinstance(make_progress(True, 2, 4, FakeTerminal()), BarProgress)
    assert isinstance(make_progress(2, 2, 4, FakeTerminal()), LineProgress)
    assert make_progress(False, 2, 4, FakeTerminal()) is None


def test_a_terminal_without_a_width_gets_lines(monkeypatch):
    class SizelessTerminal(FakeTerminal):
        def fileno(self):
            return 99

    monkeypatch.setattr(os, "get_terminal_size", lambda fd: os.terminal_size((0, 0)))
    assert isinstance(make_progress(True, 2, 4, SizelessTerminal()), LineProgress)  # tqdm would draw nothing


@pytest.mark.slow  # importing matplotlib takes seconds
def test_history_plot_writes_a_png(tmp_path):
    image = pytest.importorskip("matplotlib.image")
    x, y = blobs(30)
    model = classifier()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), metrics=["accuracy"])
    history = trainer.fit((x, y), epochs=3, validation=(x, y), verbose=False)
    path = history.plot(tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 3 * 100  # three panels side by side
    assert pixels.std() > 0  # not a blank image
    with pytest.raises(ValueError, match="no quantity named"):
        history.plot(tmp_path / "x.png", keys=["f1"])


def test_history_plot_without_matplotlib_says_how_to_install_it(tmp_path, monkeypatch):
    history = cr.train.History()
    history.on_epoch_end(0, {"loss": 1.0})
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=re.escape("pip install 'chainrule[plot]'")):
        history.plot(tmp_path / "x.png")
