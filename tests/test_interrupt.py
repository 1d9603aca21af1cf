"""The ``chainrule train`` command killed for real: SIGKILL at random steps (some during a
checkpoint write), SIGINT and SIGTERM, then ``--resume``; and the CLI's resume refusals.

Every child runs with one thread (OMP_NUM_THREADS=1), so the resumed run's weights must equal
the uninterrupted run's. The config is XOR with an MLP with dropout and a one-cycle schedule
(stepped every batch), batch size 1: 4 steps an epoch, 30 epochs, a checkpoint every step.
"""

import glob
import os
import random
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.train.resume import load_training_state

CONFIG = """\
[data]
name = "xor"
batch_size = 1

[model]
layers = [8]
dropout = 0.2

[optimizer]
name = "adam"
lr = 0.05

[schedule]
name = "onecycle"
max_lr = 0.1

[train]
epochs = 30
seed = 3
checkpoint_every = 1
keep_last = 2
"""
STEPS = 120
ENV = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
# the command itself; the kill trials block matplotlib (curves.png costs a second a run and no weights)
COMMAND = [sys.executable, "-m", "chainrule", "train"]
NO_PLOT = "import sys; sys.modules['matplotlib'] = None; "
SLOW_FSYNC = "import os, time; _fsync = os.fsync; os.fsync = lambda fd: (time.sleep(0.3), _fsync(fd))[1]; "
LAUNCH = "from chainrule.cli import main; raise SystemExit(main(sys.argv[1:]))"


def child(argv, prelude=NO_PLOT):
    code = "import sys; " + prelude + LAUNCH
    return subprocess.Popen(
        [sys.executable, "-c", code, "train", *argv],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(argv, prelude=NO_PLOT, timeout=60):
    process = child(argv, prelude)
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err
    return out, err


def model_of(path):
    return {name: value.numpy() for name, value in cr.load(path)["model"].items()}


def assert_same_model(run, reference):
    got, expected = (
        model_of(os.path.join(run, "last.safetensors")),
        model_of(os.path.join(reference, "last.safetensors")),
    )
    assert got.keys() == expected.keys()
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=0, atol=1e-6, err_msg=name)


def assert_every_checkpoint_loads(run):
    """Every finished checkpoint file in the run is readable (temporary files are not checkpoints)."""
    files = glob.glob(os.path.join(run, "*.safetensors")) + glob.glob(os.path.join(run, "checkpoints", "*.safetensors"))
    for path in files:
        cr.load(path)
    for path in glob.glob(os.path.join(run, "checkpoints", "step-*.safetensors")):
        load_training_state(path)
    return files


def newest_step(run):
    steps = [int(os.path.basename(p)[5:13]) for p in glob.glob(os.path.join(run, "checkpoints", "step-*.safetensors"))]
    return max(steps, default=0)


def wait_for(condition, process, timeout=30):
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, "the run ended before the moment it was to be stopped"
        assert time.monotonic() < deadline, "timed out waiting for the run"
        time.sleep(0.001)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("interrupt")
    (directory / "xor.toml").write_text(CONFIG)
    return directory


@pytest.fixture(scope="module")
def reference(workdir):
    """The uninterrupted run, with the real ``python -m chainrule train``."""
    run = str(workdir / "reference")
    result = subprocess.run([*COMMAND, str(workdir / "xor.toml"), "--out", run, "--quiet"], env=ENV,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return run


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(3))
def test_sigkill_at_a_random_step_then_resume_ends_with_the_uninterrupted_weights(workdir, reference, trial):
    run, config = str(workdir / f"kill-{trial}"), str(workdir / "xor.toml")
    target = random.Random(trial).randrange(1, STEPS - 4)
    process = child([config, "--out", run, "--quiet"])
    wait_for(lambda: newest_step(run) >= target, process)
    process.kill()
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert assert_every_checkpoint_loads(run)
    finish([config, "--resume", run, "--quiet"])
    assert_every_checkpoint_loads(run)
    assert_same_model(run, reference)
    with open(os.path.join(run, "metrics.csv")) as got, open(os.path.join(reference, "metrics.csv")) as expected:
        assert got.read() == expected.read()  # 30 rows, none repeated


@pytest.mark.slow
def test_sigkill_during_a_checkpoint_write_leaves_the_previous_checkpoints_loadable(workdir, reference):
    run, config = str(workdir / "kill-writing"), str(workdir / "xor.toml")
    process = child([config, "--out", run, "--quiet"], prelude=NO_PLOT + SLOW_FSYNC)  # each fsync waits 0.3 s

    def writing():
        return newest_step(run) >= 2 and glob.glob(os.path.join(run, "checkpoints", ".step-*.tmp"))

    wait_for(writing, process)
    process.kill()
    process.wait()
    assert glob.glob(os.path.join(run, "checkpoints", ".step-*.tmp"))  # killed halfway through a write
    assert assert_every_checkpoint_loads(run)
    finish([config, "--resume", run, "--quiet"])
    assert not glob.glob(os.path.join(run, "checkpoints", ".*.tmp"))  # the resume cleared the leftovers
    assert_same_model(run, reference)


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_saves_a_checkpoint_prints_the_resume_command_and_exits_non_zero(workdir, reference, signum, status):
    run, config = str(workdir / f"signal-{signum}"), str(workdir / "xor.toml")
    process = subprocess.Popen([*COMMAND, config, "--out", run, "--quiet"], env=ENV, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    wait_for(lambda: newest_step(run) >= 10, process)
    process.send_signal(signum)
    out, err = process.communicate(timeout=60)
    assert process.returncode == status, err
    assert f"stopped by {signal.Signals(signum).name}" in err
    assert f"resume with: chainrule train {config} --resume {run}" in err
    assert "Traceback" not in err
    assert_every_checkpoint_loads(run)
    finish([config, "--resume", run, "--quiet"])
    assert_same_model(run, reference)


# --------------------------------------------------------------------------- the CLI's refusals (in-process)
def test_resume_refuses_a_different_config_and_says_which_key(workdir, reference, capsys):
    changed = workdir / "changed.toml"
    changed.write_text(CONFIG.replace("epochs = 30", "epochs = 31"))
    assert main(["train", str(changed), "--resume", reference, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "the config differs from the run's" in err and "train.epochs: saved 30, given 31" in err


def test_resuming_a_finished_run_says_so(workdir, reference, capsys):
    assert main(["train", str(workdir / "xor.toml"), "--resume", reference, "--quiet"]) == 0
    assert "the run already finished (epoch 30 of 30); nothing to resume" in capsys.readouterr().out


def test_resume_needs_a_run_directory_and_no_out(workdir, reference, capsys):
    config = str(workdir / "xor.toml")
    assert main(["train", config, "--resume", str(workdir / "nothing-here")]) == 2
    assert "no such run directory" in capsys.readouterr().err
    assert main(["train", config, "--resume", reference, "--out", str(workdir / "other")]) == 2
    assert "leave out --out and --overwrite" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("key", "value", "found"),
    [("checkpoint_every", "0", " 0"), ("keep_last", "-1", " -1"), ("keep_last", '"3"', "string '3'")],
)
def test_checkpoint_keys_of_the_config_are_checked(workdir, capsys, key, value, found):
    bad = workdir / "bad.toml"
    bad.write_text(re.sub(rf"^{key} = .*$", f"{key} = {value}", CONFIG, flags=re.MULTILINE))
    assert main(["train", str(bad), "--out", str(workdir / "bad-run")]) == 2
    err = capsys.readouterr().err
    assert f"train.{key}: expected an integer >= 1" in err and found in err
