"""Exact resume at the API level: ``Trainer.fit(..., resume=...)`` with a ``TrainingCheckpoint``.

A run is "crashed" in-process by a callback that raises before step k+1 (so the checkpoint of
step k is the last one written, as after a SIGKILL); the resumed run must end with the weights,
History and CSV log of the uninterrupted run. Also: rotation under failed writes and unreadable
files, in-process SIGINT / SIGTERM, and every refusal.
"""

import os
import signal
import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, TensorDataset
from chainrule.errors import CheckpointError
from chainrule.train import (
    Callback,
    DurableCSVLogger,
    EarlyStopping,
    ModelCheckpoint,
    Trainer,
    TrainingCheckpoint,
    TrainingInterrupted,
)
from chainrule.train.interrupt import SignalCatcher
from chainrule.train.resume import latest_checkpoint, load_training_state

RNG = np.random.default_rng(0)
X = RNG.standard_normal((50, 4)).astype(np.float32)  # 50 samples, batch 8: 7 batches per epoch (the last of 2)
Y = RNG.integers(0, 3, 50)
X_VAL = RNG.standard_normal((20, 4)).astype(np.float32)
Y_VAL = RNG.integers(0, 3, 20)
EPOCHS, BATCHES = 4, 7


def make_trainer(hidden=16, schedule="onecycle"):
    cr.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Dropout(0.3), nn.Linear(hidden, 3))
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    if schedule == "onecycle":  # stepped after every batch
        scheduler = optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.05, total_steps=EPOCHS * BATCHES)
    else:  # stepped after every epoch
        scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    return Trainer(model, nn.CrossEntropyLoss(), optimizer, metrics=["accuracy"], scheduler=scheduler)


class Crash(Callback):
    """Raise before step ``at + 1``, as if the process died right after step ``at``."""

    def __init__(self, at):
        super().__init__()
        self.at, self.begun = at, 0

    def on_batch_begin(self, batch, logs=None):
        self.begun += 1
        if self.begun == self.at + 1:
            raise RuntimeError("crash")


class SendSignal(Callback):
    """Send ``signum`` to this process in the middle of step ``at`` (after its backward pass)."""

    def __init__(self, at, signum):
        super().__init__()
        self.at, self.signum, self.begun = at, signum, 0

    def on_batch_begin(self, batch, logs=None):
        self.begun += 1

    def on_after_backward(self, batch, logs=None):
        if self.begun == self.at:
            os.kill(os.getpid(), self.signum)


def fit(trainer, tmp, extra=(), resume=None, every=1, keep_last=2, config=None, **kwargs):
    callbacks = [
        EarlyStopping(monitor="val_loss", patience=10, restore_best_weights=True),
        ModelCheckpoint(str(tmp / "best.safetensors"), save_best_only=True),
        DurableCSVLogger(str(tmp / "metrics.csv")),
        *extra,
        TrainingCheckpoint(str(tmp / "ckpt"), every=every, keep_last=keep_last, config=config),
    ]
    options = {"epochs": EPOCHS, "batch_size": 8, "validation": (X_VAL, Y_VAL), "verbose": False, **kwargs}
    return trainer.fit((X, Y), callbacks=callbacks, resume=resume, **options)


def weights(trainer):
    return {name: value.numpy().copy() for name, value in trainer.model.state_dict().items()}


def assert_same_weights(got, expected):
    assert got.keys() == expected.keys()
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=0, atol=1e-6, err_msg=name)


def assert_same_history(got, expected):
    assert got.epoch == expected.epoch
    assert got.history.keys() == expected.history.keys()
    for key, values in expected.history.items():
        assert got.history[key] == pytest.approx(values, rel=1e-12), key


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("uninterrupted")
    trainer = make_trainer()
    history = fit(trainer, tmp)
    return weights(trainer), history, (tmp / "metrics.csv").read_text()


# --------------------------------------------------------------------------- exact resume
@pytest.mark.parametrize("crash_after", [3, 7, 8, 13, 20, 27])  # mid-epoch, an epoch's last batch, the next first
def test_resume_mid_epoch_ends_with_the_uninterrupted_weights_history_and_log(tmp_path, uninterrupted, crash_after):
    expected_weights, expected_history, expected_csv = uninterrupted
    with pytest.raises(RuntimeError, match="crash"):
        fit(make_trainer(), tmp_path, extra=[Crash(crash_after)])
    path, state = latest_checkpoint(tmp_path / "ckpt")
    assert state["position"]["global_step"] == crash_after
    position = state["position"]
    assert (position["epoch"], position["batch"]) == divmod(crash_after, BATCHES)  # an epoch's end saves after it
    trainer = make_trainer()
    history = fit(trainer, tmp_path, resume=str(tmp_path / "ckpt"))
    assert_same_weights(weights(trainer), expected_weights)
    assert_same_history(history, expected_history)
    assert (tmp_path / "metrics.csv").read_text() == expected_csv  # no row repeated or lost


def test_resume_from_epoch_end_checkpoints_with_a_per_epoch_scheduler_and_a_seeded_dataloader(tmp_path):
    def run(directory, extra=(), resume=None):
        trainer = make_trainer(schedule="step")
        loader = DataLoader(TensorDataset(cr.tensor(X), cr.tensor(Y)), batch_size=8, shuffle=True, seed=5)
        saver = TrainingCheckpoint(str(directory), keep_last=2)  # every=None: at epoch ends only
        history = trainer.fit(loader, epochs=EPOCHS, verbose=False, callbacks=[*extra, saver], resume=resume)
        return trainer, history

    reference, reference_history = run(tmp_path / "a")
    with pytest.raises(RuntimeError, match="crash"):
        run(tmp_path / "b", extra=[Crash(2 * BATCHES + 3)])  # dies in epoch 3
    path, state = latest_checkpoint(tmp_path / "b")
    assert (state["position"]["epoch"], state["position"]["batch"]) == (2, 0)  # the end of epoch 2
    assert state["loader_rng"] is not None  # the loader's own generator is part of the state
    resumed, history = run(tmp_path / "b", resume=str(tmp_path / "b"))
    assert_same_weights(weights(resumed), weights(reference))
    assert_same_history(history, reference_history)
    assert history.history["lr"] == pytest.approx([0.01 * 0.7**epoch for epoch in range(EPOCHS)])


def test_resume_with_a_seeded_shuffle_of_arrays(tmp_path):
    reference = make_trainer()
    fit(reference, tmp_path / "a", seed=11)
    with pytest.raises(RuntimeError, match="crash"):
        fit(make_trainer(), tmp_path / "b", extra=[Crash(10)], seed=11)
    resumed = make_trainer()
    fit(resumed, tmp_path / "b", resume=str(tmp_path / "b" / "ckpt"), seed=11)
    assert_same_weights(weights(resumed), weights(reference))


# --------------------------------------------------------------------------- durable rotation
def test_keep_last_keeps_the_newest_step_files(tmp_path):
    fit(make_trainer(), tmp_path, keep_last=3)
    names = sorted(os.listdir(tmp_path / "ckpt"))
    last = EPOCHS * BATCHES
    assert names == [f"step-{step:08d}.safetensors" for step in (last - 2, last - 1, last)]


def test_a_failed_write_leaves_the_previous_checkpoint_the_only_one_and_loadable(tmp_path, monkeypatch):
    real_replace = os.replace

    def failing_replace(source, target, *args, **kwargs):
        if os.path.basename(str(target)) == "step-00000005.safetensors":
            raise OSError(28, "No space left on device")
        return real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="No space left"):
        fit(make_trainer(), tmp_path, keep_last=1)
    assert os.listdir(tmp_path / "ckpt") == ["step-00000004.safetensors"]  # no temporary file left either
    assert load_training_state(tmp_path / "ckpt" / "step-00000004.safetensors")["position"]["global_step"] == 4
    monkeypatch.setattr(os, "replace", real_replace)
    reference = make_trainer()
    fit(reference, tmp_path / "reference")
    resumed = make_trainer()
    fit(resumed, tmp_path, resume=str(tmp_path / "ckpt"), keep_last=1)
    assert_same_weights(weights(resumed), weights(reference))


def test_an_unreadable_newest_checkpoint_is_skipped_for_the_one_before(tmp_path, uninterrupted):
    with pytest.raises(RuntimeError, match="crash"):
        fit(make_trainer(), tmp_path, extra=[Crash(12)])
    newest = tmp_path / "ckpt" / "step-00000012.safetensors"
    newest.write_bytes(newest.read_bytes()[:100])  # a disk that lost the end of the file
    with pytest.warns(UserWarning, match="step-00000012.safetensors"):
        path, state = latest_checkpoint(tmp_path / "ckpt")
    assert state["position"]["global_step"] == 11
    trainer = make_trainer()
    with pytest.warns(UserWarning, match="unreadable"):
        fit(trainer, tmp_path, resume=str(tmp_path / "ckpt"))
    assert_same_weights(weights(trainer), uninterrupted[0])


def test_temporary_files_of_a_killed_writer_are_removed_on_resume(tmp_path):
    with pytest.raises(RuntimeError, match="crash"):
        fit(make_trainer(), tmp_path, extra=[Crash(5)])
    leftover = tmp_path / "ckpt" / ".step-00000006.safetensors.abc123.tmp"
    leftover.write_bytes(b"half a checkpoint")
    fit(make_trainer(), tmp_path, resume=str(tmp_path / "ckpt"))
    assert not leftover.exists()


# --------------------------------------------------------------------------- SIGINT / SIGTERM in-process
@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_finishes_the_step_saves_and_raises_training_interrupted(tmp_path, uninterrupted, signum, status):
    before = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    with pytest.raises(TrainingInterrupted) as stop:
        fit(make_trainer(), tmp_path, extra=[SendSignal(at=9, signum=signum)], every=None)
    assert {number: signal.getsignal(number) for number in before} == before  # handlers given back
    error = stop.value
    assert error.exit_status == status and error.signal_name == signal.Signals(signum).name
    assert "resume=" in str(error) and str(tmp_path / "ckpt") in str(error)
    state = load_training_state(error.checkpoint)
    assert state["position"]["global_step"] == 9  # step 9 was finished, not dropped
    assert (error.epoch, error.step) == (1, 2)
    trainer = make_trainer()
    fit(trainer, tmp_path, resume=str(tmp_path / "ckpt"), every=None)
    assert_same_weights(weights(trainer), uninterrupted[0])


def test_signal_handlers_are_installed_only_in_the_main_thread():
    before = signal.getsignal(signal.SIGINT)
    seen = {}

    def worker():
        with SignalCatcher() as catcher:
            seen["handler"] = signal.getsignal(signal.SIGINT)
            seen["requested"] = catcher.requested

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == {"handler": before, "requested": None}


# --------------------------------------------------------------------------- refusals and finished runs
@pytest.fixture
def crashed(tmp_path):
    with pytest.raises(RuntimeError, match="crash"):
        fit(make_trainer(), tmp_path, extra=[Crash(10)], config={"lr": 0.01, "layers": [16]})
    return tmp_path


def test_resume_refuses_a_model_that_does_not_fit(crashed):
    with pytest.raises(ValueError, match="model state .* does not fit") as error:
        fit(make_trainer(hidden=8), crashed, resume=str(crashed / "ckpt"), config={"lr": 0.01, "layers": [16]})
    assert "0.weight" in str(error.value)


def test_resume_refuses_other_fit_settings(crashed):
    with pytest.raises(ValueError, match=r"batch_size: checkpoint 8, now 5"):
        fit(make_trainer(), crashed, resume=str(crashed / "ckpt"), batch_size=5, config={"lr": 0.01, "layers": [16]})


def test_resume_refuses_another_config(crashed):
    with pytest.raises(ValueError, match=r"another config: lr: saved 0.01, given 0.02"):
        fit(make_trainer(), crashed, resume=str(crashed / "ckpt"), config={"lr": 0.02, "layers": [16]})


def test_resume_refuses_a_checkpoint_that_is_not_a_training_state(tmp_path):
    trainer = make_trainer()
    cr.save({"model": trainer.model.state_dict()}, tmp_path / "weights.safetensors")
    with pytest.raises(CheckpointError, match="not a training checkpoint"):
        fit(trainer, tmp_path, resume=str(tmp_path / "weights.safetensors"))
    with pytest.raises(FileNotFoundError, match="no loadable training checkpoint"):
        fit(trainer, tmp_path, resume=str(tmp_path))  # a directory without step files


def test_a_fresh_fit_refuses_a_directory_holding_a_run(crashed):
    with pytest.raises(ValueError, match="already holds checkpoints.*resume="):
        fit(make_trainer(), crashed, config={"lr": 0.01, "layers": [16]})
    with pytest.raises(ValueError, match="either resume= or initial_epoch="):
        fit(make_trainer(), crashed, resume=str(crashed / "ckpt"), initial_epoch=1)


def test_resuming_a_finished_run_says_so_and_trains_nothing(tmp_path, uninterrupted):
    trainer = make_trainer()
    history = fit(trainer, tmp_path)
    resumed = make_trainer()
    with pytest.warns(UserWarning, match="already finished"):
        again = fit(resumed, tmp_path, resume=str(tmp_path / "ckpt"))
    assert_same_weights(weights(resumed), weights(trainer))
    assert_same_history(again, history)


def test_training_checkpoint_arguments_are_checked():
    with pytest.raises(ValueError, match="every must be a positive integer or None, got 0"):
        TrainingCheckpoint("d", every=0)
    with pytest.raises(ValueError, match="keep_last must be a positive integer, got 0"):
        TrainingCheckpoint("d", keep_last=0)
