"""The `chainrule` command: argument parsing and --help, the config schema and its error
catalogue, the text pictures, train + evaluate on a tiny run, the demo, and a real subprocess."""

import csv
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import __version__
from chainrule.cli import config as config_schema
from chainrule.cli import main
from chainrule.cli.config import ConfigError, to_toml, tomllib, validate  # tomllib, or tomli on 3.10
from chainrule.cli.terminal import RAMP, draw_images, format_confusion_matrix, image_to_text

# A run small enough for a unit test: iris (120 train / 30 test flowers), one hidden layer.
TINY = """
[data]
name = "iris"
batch_size = 16
validation = 0.2

[model]
layers = [8]

[optimizer]
name = "adam"
lr = 0.05

[train]
epochs = 3
seed = 0
"""


def write(tmp_path, text, name="run.toml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# ---------------------------------------------------------------- argument parsing
@pytest.mark.parametrize(
    "command, expected",
    [
        ([], ["demo", "train", "evaluate", "--version"]),
        (["demo"], ["--epochs", "--seed", "--out", "digits"]),
        (
            ["train"],
            ["CONFIG.toml", "--out", "RUN_DIR", "--overwrite", "config sections", "bce_with_logits", "[schedule]"],
        ),
        (["evaluate"], ["RUN_DIR", "--checkpoint", "best", "last"]),
    ],
)
def test_help_of_every_command_lists_its_arguments(command, expected, capsys):
    assert main(command + ["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: chainrule" + (" " + command[0] if command else ""))
    for word in expected:
        assert word in out


def test_train_help_describes_the_model_kinds_and_gradient_clipping(capsys):
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    words = ["kind = mlp | cnn | rnn", "cell = lstm | gru | rnn", "a conv block", "bidirectional", "clip_grad_norm"]
    assert all(word in out for word in words), out


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"chainrule {__version__}"


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "required: COMMAND"),
        (["bogus"], "invalid choice: 'bogus'"),
        (["demo", "--epochs", "0"], "expected an integer >= 1, got 0"),
        (["demo", "--epochs", "many"], "expected an integer >= 1, got 'many'"),
        (["evaluate", "somewhere", "--checkpoint", "middle"], "invalid choice: 'middle'"),
        (["train"], "CONFIG.toml"),
    ],
)
def test_usage_errors_exit_2_with_a_message_on_stderr(argv, message, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.out == ""


def test_a_missing_config_file_is_a_usage_error(tmp_path, capsys):
    assert main(["train", str(tmp_path / "nope.toml")]) == 2
    assert "nope.toml: no such config file" in capsys.readouterr().err


def test_evaluate_of_a_directory_without_a_run_is_a_usage_error(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "has no config.toml" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "missing")]) == 2
    assert "no such run directory" in capsys.readouterr().err


# ---------------------------------------------------------------- config schema
def test_validate_fills_in_every_default():
    config = validate({"data": {"name": "digits"}})
    assert config["data"] == {
        "name": "digits",
        "batch_size": 32,
        "validation": 0.1,
        "test_size": 0.2,
        "root": None,
        "n_samples": None,  # moons and spirals only, default: the generator's own
        "noise": None,
    }
    assert config["model"] == {"layers": [128, 64], "activation": "relu", "dropout": 0.0}
    assert config["loss"] == {"name": "cross_entropy"}
    assert config["optimizer"] == {"name": "adam", "lr": None}
    assert config["schedule"] is None
    assert config["train"] == {"epochs": 10, "seed": 0, "early_stopping_patience": None, "device": "cpu"}


def test_validate_keeps_the_options_of_the_named_optimizer_and_schedule():
    config = validate(
        {
            "data": {"name": "wine"},
            "optimizer": {"name": "sgd", "lr": 1, "momentum": 0.9, "nesterov": True, "l1_decay": 1e-4},
            "schedule": {"name": "multistep", "milestones": [2, 4], "gamma": 0.5},
            "loss": {"name": "cross_entropy", "label_smoothing": 0.1},
        }
    )
    assert config["optimizer"] == {"name": "sgd", "lr": 1.0, "momentum": 0.9, "nesterov": True, "l1_decay": 1e-4}
    assert isinstance(config["optimizer"]["lr"], float)  # a TOML integer is a fine float
    assert config["schedule"] == {"name": "multistep", "milestones": [2, 4], "gamma": 0.5}
    assert config["loss"]["label_smoothing"] == 0.1


def test_to_toml_reads_back_as_the_same_config():
    config = validate(
        {
            "data": {"name": "moons", "n_samples": 200, "noise": 0.25},
            "optimizer": {"name": "adam", "lr": 3e-4, "betas": [0.8, 0.99]},
            "schedule": {"name": "step", "step_size": 2},
            "train": {"early_stopping_patience": 3},
        }
    )
    text = to_toml(config)
    assert validate(tomllib.loads(text)) == config
    assert "root" not in text  # unset keys are left out rather than written as something else


# section.key named, what is allowed, what was found
CONFIG_ERRORS = [
    ('[data]\nname = "digits"\n[optimiser]\nname = "adam"', "optimiser", ["unknown section [optimiser]", "optimizer"]),
    ('[data]\nname = "digits"\nbatchsize = 8', "data.batchsize", ["unknown key in [data]", "batch_size"]),
    (
        '[data]\nname = "digits"\n[optimizer]\nname = "adam"\nmomentum = 0.9',
        "optimizer.momentum",
        ['unknown key for optimizer "adam"', "betas", "weight_decay", "l1_decay"],
    ),
    ('[data]\nname = "digit"', "data.name", ['one of "digits", "iris"', '"xor"', "the string 'digit'"]),
    ('[data]\nname = "digits"\n[train]\nepochs = "ten"', "train.epochs", ["an integer >= 1", "the string 'ten'"]),
    ('[data]\nname = "digits"\n[train]\nepochs = 2.5', "train.epochs", ["an integer >= 1", "float 2.5"]),
    ('[data]\nname = "digits"\n[train]\nepochs = true', "train.epochs", ["an integer >= 1", "the boolean true"]),
    ('[data]\nname = "digits"\n[train]\nepochs = 0', "train.epochs", ["an integer >= 1", "int 0"]),
    ('[data]\nname = "digits"\nvalidation = 1.5', "data.validation", [">= 0 and < 1", "float 1.5"]),
    ('[data]\nname = "digits"\n[optimizer]\nlr = -0.1', "optimizer.lr", ["a number > 0", "-0.1"]),
    ('[data]\nname = "digits"\n[optimizer]\nbetas = [0.9]', "optimizer.betas", ["a list of 2 values", "[0.9]"]),
    ('[data]\nname = "digits"\n[model]\nlayers = [64, -1]', "model.layers[1]", ["an integer >= 1", "int -1"]),
    ('[data]\nname = "digits"\n[model]\nlayers = 64', "model.layers", ["a list of values", "int 64"]),
    ('[data]\nname = "digits"\n[model]\nactivation = "swish"', "model.activation", ['"relu"', '"gelu"', "'swish'"]),
    ('[data]\nname = "digits"\n[schedule]\nname = "step"', "schedule.step_size", ["missing", "an integer >= 1"]),
    ('[data]\nname = "digits"\n[schedule]\nstep_size = 2', "schedule.name", ["missing", '"cosine"']),
    ("[model]\nlayers = [8]", "data", ["missing section [data]", '"digits"']),
    ('[data]\nname = "digits"\nroot = "/data"', "data.root", ['"fashion_mnist", "mnist"', "'digits'"]),
    ('[data]\nname = "iris"\n[loss]\nname = "bce_with_logits"', "loss.name", ["two-class", '"moons"', "'iris'"]),
    ('[data]\nname = "xor"\nvalidation = 0.5', "data.validation", ["only its 4 points", "expected 0"]),
    (
        '[data]\nname = "digits"\nvalidation = 0\n[train]\nearly_stopping_patience = 2',
        "train.early_stopping_patience",
        ["val_loss", "data.validation > 0"],
    ),
    ('[data]\nname = "digits"\n[train]\ndevice = "tpu"', "train.device", ['"cpu", "cuda"']),
]


@pytest.mark.parametrize("text, key, fragments", CONFIG_ERRORS, ids=[key for _, key, _ in CONFIG_ERRORS])
def test_a_bad_config_is_one_error_naming_the_key_and_what_is_allowed(text, key, fragments):
    with pytest.raises(ConfigError) as info:
        validate(tomllib.loads(text))
    assert info.value.key == key
    message = str(info.value)
    assert message.startswith(f"{key}: ")
    for fragment in fragments:
        assert fragment in message


def test_train_reports_a_config_error_before_training_and_exits_2(tmp_path, capsys):
    config = write(tmp_path, TINY.replace("lr = 0.05", "lr = 0.05\nmomentum = 0.9"))
    out = tmp_path / "run"
    assert main(["train", config, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "config error in" in err and 'optimizer.momentum: unknown key for optimizer "adam"' in err
    assert not out.exists()  # nothing was trained or written


def test_invalid_toml_is_a_config_error(tmp_path, capsys):
    assert main(["train", write(tmp_path, "[data\nname = 1")]) == 2
    assert "not valid TOML" in capsys.readouterr().err


def sample_value(kind):
    """A valid value of a schema kind, inside its bounds (checked by the kind itself)."""
    if isinstance(kind, config_schema.ListOf):
        value = [sample_value(kind.item)] * (kind.length or 2)
        value = sorted(v + i for i, v in enumerate(value)) if kind.length is None else value  # milestones rise
    elif isinstance(kind, config_schema.Number):
        value = max(int(kind.low) + 1, 1) if kind.integer else 0.5
    elif isinstance(kind, config_schema.Boolean):
        value = False
    elif isinstance(kind, config_schema.Choice):
        value = kind.choices[0]
    else:
        raise AssertionError(kind)
    return kind.check("test", value)


@pytest.mark.parametrize("name", sorted(config_schema.OPTIMIZERS))
def test_every_optimizer_option_in_the_schema_is_accepted_by_the_optimizer(name):
    from chainrule import nn
    from chainrule.cli.experiment import build_optimizer

    options = {key: sample_value(kind) for key, kind in config_schema.OPTIMIZERS[name][1].items()}
    config = validate({"data": {"name": "iris"}, "optimizer": {"name": name, "lr": 0.01, **options}})
    optimizer = build_optimizer(config, nn.Linear(2, 1).parameters())
    group = optimizer.param_groups[0]
    assert group["lr"] == 0.01
    for key, value in options.items():
        assert group[key] == (tuple(value) if isinstance(value, list) else value), key


@pytest.mark.parametrize("name", sorted(config_schema.SCHEDULES))
def test_every_schedule_in_the_schema_builds_with_all_its_options(name):
    from chainrule import nn
    from chainrule.cli.experiment import build_optimizer, build_scheduler

    options = {key: sample_value(kind) for key, kind in config_schema.SCHEDULES[name][1].items()}
    config = validate({"data": {"name": "iris"}, "schedule": {"name": name, **options}})
    optimizer = build_optimizer(config, nn.Linear(2, 1).parameters())
    scheduler, interval = build_scheduler(config, optimizer, steps_per_epoch=4)
    assert type(scheduler).__name__ == config_schema.SCHEDULES[name][0]
    assert interval == ("step" if name == "onecycle" else "epoch")


@pytest.mark.parametrize("name", sorted(config_schema.LOSSES))
def test_every_loss_in_the_schema_builds_with_its_options(name):
    from chainrule.cli.experiment import build_loss

    options = {key: sample_value(kind) for key, kind in config_schema.LOSSES[name][1].items()}
    config = validate({"data": {"name": "moons"}, "loss": {"name": name, **options}})
    loss = build_loss(config)
    assert type(loss).__name__ == config_schema.LOSSES[name][0]
    for key, value in options.items():
        assert getattr(loss, key) == value


# ---------------------------------------------------------------- text pictures
def test_image_to_text_maps_grey_levels_to_the_ramp_two_characters_per_pixel():
    image = np.linspace(0, 1, len(RAMP)).reshape(1, -1)  # one row: every level once
    (line,) = image_to_text(image)
    assert line == "".join(c * 2 for c in RAMP)
    assert image_to_text([[-1.0, 2.0]]) == ["  @@"]  # out of range is clipped


def test_image_to_text_refuses_anything_but_one_image():
    with pytest.raises(ValueError, match=r"\(H, W\).*\(2, 2, 2\)"):
        image_to_text(np.zeros((2, 2, 2)))


def test_draw_images_puts_images_side_by_side_with_captions():
    one = np.array([[0.0, 1.0], [1.0, 0.0]])
    text = draw_images([one, 1 - one], ["a", "caption b"], gap=2)
    assert text.split("\n") == [
        "  @@  @@",
        "@@      @@",
        "a     caption b",
    ]
    with pytest.raises(ValueError, match="2 images and 1 captions"):
        draw_images([one, one], ["a"])


def test_confusion_matrix_text_has_rows_of_true_and_columns_of_predicted_classes():
    text = format_confusion_matrix(np.array([[5, 1], [0, 12]]), ["cat", "dog"])
    lines = text.split("\n")
    assert lines[0].startswith("rows: true class, columns: predicted class")
    assert lines[1].split() == ["0", "1"]
    assert lines[2].split() == ["true", "0", "[5]", "1", "cat"]
    assert lines[3].split() == ["true", "1", "0", "[12]", "dog"]
    assert lines[1].index("1") == lines[2].index("1", 6) == lines[3].index("12") + 1  # digits line up in columns
    assert format_confusion_matrix(np.eye(3, dtype=int)).split("\n")[-1].split() == ["true", "2", "0", "0", "[1]"]
    with pytest.raises(ValueError, match=r"square.*\(2, 3\)"):
        format_confusion_matrix(np.zeros((2, 3)))


# ---------------------------------------------------------------- train and evaluate
def printed_accuracy(out, checkpoint):
    match = re.search(rf"test metrics \({checkpoint}\.safetensors, epoch \d+\): .*?accuracy (\d\.\d+)", out)
    assert match, out
    return float(match.group(1))


def test_train_writes_the_run_directory_and_evaluate_reproduces_its_test_accuracy(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", write(tmp_path, TINY), "--out", str(run), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert sorted(os.listdir(run)) == [
        "best.safetensors",
        "config.toml",
        "curves.png",
        "last.safetensors",
        "metrics.csv",
    ]
    assert (run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = tomllib.loads((run / "config.toml").read_text())
    assert saved["data"]["name"] == "iris" and saved["model"]["layers"] == [8] and saved["train"]["epochs"] == 3
    with open(run / "metrics.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 3  # one per epoch
    for column in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert all(0 <= float(row[column]) < 10 for row in rows), column
    trained = {name: printed_accuracy(out, name) for name in ("best", "last")}
    for name in ("best", "last"):
        assert main(["evaluate", str(run), "--checkpoint", name]) == 0
        out = capsys.readouterr().out
        assert printed_accuracy(out, name) == trained[name]
        assert "rows: true class, columns: predicted class" in out
        assert out.rstrip().endswith("virginica")  # iris's class names label the confusion matrix


def test_train_refuses_to_overwrite_a_run_unless_asked(tmp_path, capsys):
    config, run = write(tmp_path, TINY.replace("epochs = 3", "epochs = 1")), str(tmp_path / "run")
    assert main(["train", config, "--out", run, "--quiet"]) == 0
    assert main(["train", config, "--out", run, "--quiet"]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert main(["train", config, "--out", run, "--quiet", "--overwrite"]) == 0


def test_evaluate_of_a_corrupt_checkpoint_is_a_runtime_error(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", write(tmp_path, TINY.replace("epochs = 3", "epochs = 1")), "--out", str(run), "--quiet"]) == 0
    capsys.readouterr()
    (run / "best.safetensors").write_bytes(b"not a checkpoint at all")
    assert main(["evaluate", str(run)]) == 1
    err = capsys.readouterr().err
    assert "best.safetensors" in err and "Traceback" not in err


def test_train_without_matplotlib_skips_the_plot_and_says_how_to_get_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    run = tmp_path / "run"
    assert main(["train", write(tmp_path, TINY.replace("epochs = 3", "epochs = 1")), "--out", str(run), "--quiet"]) == 0
    assert "pip install 'chainrule[plot]'" in capsys.readouterr().out
    assert not (run / "curves.png").exists() and (run / "last.safetensors").exists()


def test_a_schedule_and_early_stopping_from_the_config_are_used(tmp_path, capsys):
    text = TINY.replace("epochs = 3", "epochs = 4\nearly_stopping_patience = 1")
    text += '\n[schedule]\nname = "step"\nstep_size = 1\ngamma = 0.5\n'
    run = tmp_path / "run"
    assert main(["train", write(tmp_path, text), "--out", str(run), "--quiet"]) == 0
    with open(run / "metrics.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    lrs = [float(row["lr"]) for row in rows]
    assert lrs[:2] == pytest.approx([0.05, 0.025])  # halved after every epoch


def test_a_binary_run_on_generated_moons_with_bce_with_logits(tmp_path, capsys):
    text = """
[data]
name = "moons"
n_samples = 200
noise = 0.1
[model]
layers = [16]
activation = "tanh"
[loss]
name = "bce_with_logits"
[optimizer]
name = "adam"
lr = 0.05
[train]
epochs = 15
"""
    run = tmp_path / "run"
    assert main(["train", write(tmp_path, text), "--out", str(run), "--quiet"]) == 0
    trained = printed_accuracy(capsys.readouterr().out, "last")
    assert trained >= 0.85  # two moons with little noise; chance is 0.5
    assert main(["evaluate", str(run), "--checkpoint", "last"]) == 0
    out = capsys.readouterr().out
    assert printed_accuracy(out, "last") == trained
    lines = out.strip().split("\n")  # metrics, legend, header, then a 2 x 2 confusion matrix
    assert len(lines) == 5 and lines[2].split() == ["0", "1"]
    assert [line.split()[:2] for line in lines[3:]] == [["true", "0"], ["true", "1"]]


@pytest.mark.skipif(cr.cuda.is_available(), reason="this machine has a GPU")
def test_train_on_cuda_without_a_gpu_says_so_before_training(tmp_path, capsys):
    config = write(tmp_path, TINY.replace("seed = 0", 'seed = 0\ndevice = "cuda"'))
    assert main(["train", config, "--out", str(tmp_path / "run"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "pip install 'chainrule[gpu]'" in err and 'device = "cpu"' in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


# ---------------------------------------------------------------- demo
def test_demo_without_scikit_learn_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 1
    err = capsys.readouterr().err
    assert "pip install 'chainrule[datasets]'" in err and "Traceback" not in err


def test_demo_draws_digits_and_runs_without_matplotlib(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["demo", "--epochs", "1", "--out", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    assert "learning curves skipped" in out and "pip install 'chainrule[plot]'" in out
    assert "rows: true class, columns: predicted class" in out
    captions = re.findall(r"true (\d) pred (\d)( X)?", out)
    assert len(captions) == 6
    assert all((true != pred) == bool(mark) for true, pred, mark in captions)
    assert any(c in out for c in "#%@")  # ink of the drawn digits


# ---------------------------------------------------------------- a real process
def run_command(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "chainrule", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_python_dash_m_chainrule_runs_the_command(tmp_path):
    done = run_command("--version", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == f"chainrule {__version__}"
    done = run_command("evaluate", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert done.returncode == 2
    assert "no such run directory" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_demo_reaches_95_percent_test_accuracy(tmp_path):
    done = run_command("demo", "--out", str(tmp_path / "demo"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    accuracy = float(re.search(r"test accuracy (\d+\.\d)%", done.stdout).group(1))
    assert accuracy >= 95.0, done.stdout
    assert f"learning curves saved to {tmp_path / 'demo' / 'curves.png'}" in done.stdout
    assert (tmp_path / "demo" / "curves.png").is_file()


def test_generated_data_sets_count_their_classes_on_the_whole_set(monkeypatch):
    """The model's outputs come from every class of the data set, not from whatever classes the
    random training split happened to draw (one class-1 sample in 40: often only in the test split)."""
    from chainrule.cli import experiment

    def moons(n_samples=40, noise=0.1, seed=0):
        x = np.random.default_rng(seed).standard_normal((40, 2)).astype(np.float32)
        return cr.data.TensorDataset(x, np.array([0] * 39 + [1]))

    monkeypatch.setattr(experiment.datasets, "moons", moons)
    for seed in range(6):
        config = config_schema.validate({"data": {"name": "moons", "test_size": 0.5}, "train": {"seed": seed}})
        data = experiment.load_data(config)
        assert data.num_classes == 2 and data.class_names == [0, 1]
