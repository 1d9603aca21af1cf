"""CNN and RNN models in `chainrule train` configs, the text corpus loader, and the issue-4
examples (CNN and GRU on Fashion-MNIST, a character-level language model on the Jargon File).

Expected values come from the problem: shapes from the conv arithmetic, the entropy of texts
whose character frequencies are known, the RNN's own final states, accuracies that chance
(10%) cannot reach; the examples' acceptance figures from the issue."""

import codecs
import contextlib
import csv
import gzip
import importlib.util
import io
import math
import pathlib
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.cli.config import ConfigError, model_kind, to_toml, tomllib, validate
from chainrule.cli.experiment import build_model, load_data
from chainrule.datasets import JargonFile, TextCorpus
from chainrule.errors import DataFileError, ShapeError

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
FASHION_MNIST = pathlib.Path("/usr/share/datasets/fashion-mnist")
HAS_FASHION_MNIST = (FASHION_MNIST / "train-images-idx3-ubyte.gz").exists()
JARGON = pathlib.Path("/usr/share/doc/jargon-text/jargon.txt.gz")


def load_example(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- the config schema
def test_an_mlp_config_validates_as_before_the_new_kinds():
    config = validate({"data": {"name": "digits"}, "model": {"layers": [16]}})
    assert "kind" not in config["model"] and "clip_grad_norm" not in config["train"]
    assert model_kind(config) == "mlp"
    assert "kind" not in to_toml(config) and "clip_grad_norm" not in to_toml(config)
    explicit = validate({"data": {"name": "digits"}, "model": {"kind": "mlp", "layers": [16]}})
    assert model_kind(explicit) == "mlp" and explicit["model"]["layers"] == [16]


def test_a_cnn_config_fills_in_its_defaults_and_each_block_s():
    config = validate(
        {"data": {"name": "digits"}, "model": {"kind": "cnn", "conv": [{"channels": 4, "kernel": 5}, {"channels": 8}]}}
    )
    first, second = config["model"]["conv"]
    assert first == {
        "channels": 4, "kernel": 5, "stride": 1, "padding": 2, "norm": "none", "pool": 1, "pooling": "max",
        "dropout": 0.0,
    }  # fmt: skip
    assert second["kernel"] == 3 and second["padding"] == 1  # padding kernel // 2 keeps H and W
    assert config["model"]["layers"] == [128] and config["model"]["activation"] == "relu"
    default = validate({"data": {"name": "fashion_mnist"}, "model": {"kind": "cnn"}})["model"]["conv"]
    assert [(b["channels"], b["pool"]) for b in default] == [(32, 2), (64, 2)]


def test_an_rnn_config_fills_in_its_defaults():
    config = validate({"data": {"name": "digits"}, "model": {"kind": "rnn"}, "train": {"clip_grad_norm": 1}})
    assert config["model"] == {
        "kind": "rnn", "cell": "lstm", "hidden_size": 128, "num_layers": 1, "bidirectional": False, "dropout": 0.0,
    }  # fmt: skip
    assert config["train"]["clip_grad_norm"] == 1.0 and isinstance(config["train"]["clip_grad_norm"], float)


@pytest.mark.parametrize(
    "raw",
    [
        {
            "data": {"name": "mnist", "root": "/data"},
            "model": {"kind": "cnn", "conv": [{"channels": 8, "norm": "batch", "pool": 2, "dropout": 0.1},
                                             {"channels": 16, "norm": "group", "pooling": "avg", "pool": 2}]},
            "train": {"clip_grad_norm": 0.5},
        },
        {
            "data": {"name": "iris"},
            "model": {"kind": "rnn", "cell": "rnn", "nonlinearity": "relu", "bidirectional": True},
        },
    ],
    ids=["cnn", "rnn"],
)  # fmt: skip
def test_to_toml_of_a_cnn_or_rnn_config_reads_back_as_the_same_config(raw):
    config = validate(raw)
    assert validate(tomllib.loads(to_toml(config))) == config


NEW_CONFIG_ERRORS = [
    ('[model]\nkind = "transformer"', "model.kind", ['"mlp", "cnn", "rnn"', "'transformer'"]),
    ('[model]\nkind = "rnn"\nlayers = [8]', "model.layers", ['unknown key for model kind "rnn"', "hidden_size"]),
    ('[model]\nkind = "cnn"\ncell = "gru"', "model.cell", ['unknown key for model kind "cnn"', "conv"]),
    ("[model]\nhidden_size = 8", "model.hidden_size", ['unknown key for model kind "mlp"', "layers", "kind"]),
    ('[model]\nkind = "rnn"\ncell = "transformer"', "model.cell", ['"lstm", "gru", "rnn"', "'transformer'"]),
    ('[model]\nkind = "rnn"\nhidden_size = 0', "model.hidden_size", ["an integer >= 1", "int 0"]),
    ('[model]\nkind = "rnn"\nbidirectional = 1', "model.bidirectional", ["true or false", "int 1"]),
    ('[model]\nkind = "rnn"\nnonlinearity = "relu"', "model.nonlinearity", ['cell = "rnn"', '"lstm"']),
    ('[model]\nkind = "cnn"\nconv = []', "model.conv", ["a non-empty list", "conv block"]),
    ('[model]\nkind = "cnn"\nconv = [32]', "model.conv[0]", ["a conv block, an inline table", "int 32"]),
    ('[model]\nkind = "cnn"\nconv = [{kernel = 3}]', "model.conv[0].channels", ["missing", "an integer >= 1"]),
    (
        '[model]\nkind = "cnn"\nconv = [{channels = 4}, {channels = 4, size = 3}]',
        "model.conv[1].size",
        ["unknown key in a conv block", "channels", "kernel", "padding", "pool"],
    ),
    ('[model]\nkind = "cnn"\nconv = [{channels = 4, norm = "layer"}]', "model.conv[0].norm", ['"batch", "group"']),
    ('[model]\nkind = "cnn"\nconv = [{channels = 12, norm = "group"}]', "model.conv[0].norm", ["divisible by 8", "12"]),
    ('[model]\nkind = "cnn"\nconv = [{channels = 4, pool = 0}]', "model.conv[0].pool", ["an integer >= 1", "int 0"]),
    ('[model]\nkind = "cnn"\nconv = [{channels = 4, dropout = 1}]', "model.conv[0].dropout", [">= 0 and < 1"]),
    (
        '[model]\nkind = "cnn"\nconv = [{channels = 4, pool = 2}, {channels = 4, pool = 2}, {channels = 4, pool = 4}]',
        "model.conv[2]",
        ["2x2 when they reach this block", "leaves 0x0", "at least 1x1"],
    ),
    ("[train]\nclip_grad_norm = 0", "train.clip_grad_norm", ["a number > 0", "int 0"]),
    ('[train]\nclip_grad_norm = "1"', "train.clip_grad_norm", ["a number > 0", "the string '1'"]),
]


@pytest.mark.parametrize("text, key, fragments", NEW_CONFIG_ERRORS, ids=[f"{i}-{k}" for i, (_, k, _) in
                                                                          enumerate(NEW_CONFIG_ERRORS)])  # fmt: skip
def test_a_bad_cnn_or_rnn_config_is_one_error_naming_the_key_and_what_is_allowed(text, key, fragments):
    with pytest.raises(ConfigError) as info:
        validate(tomllib.loads('[data]\nname = "digits"\n' + text))
    assert info.value.key == key
    message = str(info.value)
    assert message.startswith(f"{key}: ")
    for fragment in fragments:
        assert fragment in message, message


def test_a_cnn_needs_an_image_data_set():
    with pytest.raises(ConfigError, match=r'model.kind: "cnn" needs an image data set \("digits", "fashion_mnist", '
                                          r"\"mnist\"\), not 'iris'"):  # fmt: skip
        validate({"data": {"name": "iris"}, "model": {"kind": "cnn"}})


# ---------------------------------------------------------------- the models the configs build
def digits_config(model, **train):
    return validate({"data": {"name": "digits"}, "model": model, "train": {"epochs": 1, **train}})


def test_a_cnn_config_builds_the_blocks_it_describes():
    config = digits_config(
        {"kind": "cnn", "conv": [{"channels": 8, "norm": "batch", "pool": 2}, {"channels": 16, "kernel": 3,
                                 "padding": 0, "norm": "group", "dropout": 0.2}], "layers": [32]}
    )  # fmt: skip
    data = load_data(config)
    cr.manual_seed(0)
    model = build_model(config, data)
    types = [type(m).__name__ for m in model]
    assert types == [
        "Unflatten", "Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "Conv2d", "GroupNorm", "ReLU", "Dropout2d",
        "Flatten", "Linear", "ReLU", "Linear",
    ]  # fmt: skip
    shapes = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    assert shapes["1.weight"] == (8, 1, 3, 3) and "1.bias" not in shapes  # a norm follows: no conv bias
    assert shapes["5.weight"] == (16, 8, 3, 3)
    assert shapes["10.weight"] == (32, 16 * 2 * 2)  # 8x8 -> pooled 4x4 -> a 3x3 kernel without padding: 2x2
    x = cr.tensor(data.test.tensors[0][:5])
    assert model(x).shape == (5, 10)


def test_an_rnn_config_reads_image_rows_or_features_as_time_steps():
    config = digits_config({"kind": "rnn", "cell": "gru", "hidden_size": 12, "num_layers": 2})
    data = load_data(config)
    model = build_model(config, data)
    assert (model.steps, model.features) == (8, 8)  # 8 rows of 8 pixels
    assert tuple(model.rnn.weight_ih_l0.shape) == (3 * 12, 8) and tuple(model.rnn.weight_ih_l1.shape) == (36, 12)
    assert model(cr.tensor(data.test.tensors[0][:3])).shape == (3, 10)
    iris = validate({"data": {"name": "iris"}, "model": {"kind": "rnn", "cell": "rnn", "nonlinearity": "relu"}})
    model = build_model(iris, load_data(iris))
    assert (model.steps, model.features) == (4, 1) and model.rnn.nonlinearity == "relu"  # 4 features, one a step
    with pytest.raises(ShapeError, match=r"expected inputs \(N, 4\) = 4 steps of 1 features, got \(2, 5\)"):
        model(cr.zeros(2, 5))


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_a_bidirectional_rnn_s_head_reads_the_final_state_of_each_direction(cell):
    config = digits_config({"kind": "rnn", "cell": cell, "hidden_size": 6, "bidirectional": True, "num_layers": 2})
    data = load_data(config)
    cr.manual_seed(1)
    model = build_model(config, data).eval()
    x = cr.tensor(data.test.tensors[0][:4])
    _, state = model.rnn(x.reshape(4, 8, 8))
    h_n = state[0] if cell == "lstm" else state  # (num_layers * 2, N, H)
    expected = model.head(cr.cat([h_n[-2], h_n[-1]], dim=1))  # the last layer's forward, then backward state
    np.testing.assert_allclose(model(x).detach().numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert tuple(model.head.weight.shape) == (10, 12)


def test_nll_appends_log_softmax_to_a_cnn_and_an_rnn():
    for model_spec in ({"kind": "cnn", "conv": [{"channels": 2}], "layers": []}, {"kind": "rnn", "hidden_size": 4}):
        config = validate({"data": {"name": "digits"}, "model": model_spec, "loss": {"name": "nll"}})
        data = load_data(config)
        out = build_model(config, data)(cr.tensor(data.test.tensors[0][:3]))
        np.testing.assert_allclose(out.exp().sum(dim=1).detach().numpy(), 1.0, rtol=1e-5)


# ---------------------------------------------------------------- end to end through the command
TINY_CNN = """
[data]
name = "digits"
batch_size = 32
validation = 0.1

[model]
kind = "cnn"
conv = [{channels = 8, norm = "batch", pool = 2}, {channels = 16, pool = 2}]
layers = [32]

[optimizer]
name = "adam"
lr = 0.01

[train]
epochs = 3
clip_grad_norm = 5.0
"""

TINY_RNN = """
[data]
name = "digits"
batch_size = 32
validation = 0.1

[model]
kind = "rnn"
cell = "gru"
hidden_size = 32

[optimizer]
name = "adam"
lr = 0.01

[train]
epochs = 3
clip_grad_norm = 1.0
"""


def printed_accuracy(out, checkpoint):
    match = re.search(rf"test metrics \({checkpoint}\.safetensors, epoch \d+\): .*?accuracy (\d\.\d+)", out)
    assert match, out
    return float(match.group(1))


@pytest.mark.parametrize("text", [TINY_CNN, TINY_RNN], ids=["cnn", "rnn"])
def test_a_tiny_cnn_or_rnn_trains_through_the_command_and_evaluates_back(text, tmp_path, capsys):
    (tmp_path / "run.toml").write_text(text)
    run = tmp_path / "run"
    assert main(["train", str(tmp_path / "run.toml"), "--out", str(run), "--quiet"]) == 0
    trained = printed_accuracy(capsys.readouterr().out, "best")
    assert trained >= 0.7  # 3 epochs on 1,300 digits; chance is 0.1
    saved = tomllib.loads((run / "config.toml").read_text())
    assert saved["model"]["kind"] in ("cnn", "rnn") and saved["train"]["clip_grad_norm"] > 0
    with open(run / "metrics.csv", newline="") as file:
        assert len(list(csv.DictReader(file))) == 3
    assert main(["evaluate", str(run)]) == 0
    assert printed_accuracy(capsys.readouterr().out, "best") == trained  # config.toml rebuilt the same network


def test_the_config_s_clip_grad_norm_reaches_the_trainer():
    from chainrule.cli.run import _build

    config = tomllib.loads(TINY_RNN)
    data = load_data(validate(config))
    _, trainer = _build(validate(config), data, steps_per_epoch=1)
    assert trainer.clip_grad_norm == 1.0
    del config["train"]["clip_grad_norm"]
    _, trainer = _build(validate(config), data, steps_per_epoch=1)
    assert trainer.clip_grad_norm is None


def test_the_example_configs_are_valid():
    from chainrule.cli.config import load

    cnn = load(EXAMPLES / "configs" / "cnn_fashion_mnist.toml")
    assert model_kind(cnn) == "cnn" and cnn["data"]["name"] == "fashion_mnist"
    assert [block["channels"] for block in cnn["model"]["conv"]] == [32, 64]
    rnn = load(EXAMPLES / "configs" / "rnn_fashion_mnist.toml")
    assert model_kind(rnn) == "rnn" and rnn["model"]["cell"] in ("gru", "lstm")
    assert rnn["train"]["clip_grad_norm"] > 0


# ---------------------------------------------------------------- text corpora
def test_a_text_corpus_encodes_and_decodes_its_characters():
    corpus = TextCorpus("hello, world\n")
    assert corpus.chars == sorted(set("hello, world\n")) and corpus.vocab_size == 10 and len(corpus) == 13
    assert corpus.decode(corpus.codes) == "hello, world\n"
    assert corpus.codes.dtype == np.int64 and corpus.codes.shape == (13,)
    assert corpus.decode(corpus.encode("world")) == "world"
    assert list(corpus.encode("\n ,")) == [0, 1, 2]  # sorted: newline, space, comma
    with pytest.raises(ValueError, match=r"\['z'\] do not occur"):
        corpus.encode("zero")
    with pytest.raises(ValueError, match=r"codes must be in \[0, 10\)"):
        corpus.decode([10])
    with pytest.raises(ValueError, match="empty"):
        TextCorpus("")
    assert TextCorpus("naïve “quotes” ✓").decode(TextCorpus("naïve “quotes” ✓").codes) == "naïve “quotes” ✓"


def test_unigram_entropy_of_texts_whose_frequencies_are_known():
    assert TextCorpus("abcd" * 50).unigram_entropy() == pytest.approx(2.0)  # 4 equally likely: 2 bits
    assert TextCorpus("ab" * 10).unigram_entropy(base=math.e) == pytest.approx(math.log(2))  # 1 bit = ln 2 nats
    assert TextCorpus("aaaa").unigram_entropy() == 0.0
    p = np.array([5, 2, 1, 1, 2]) / 11  # abracadabra: a b c d r
    assert TextCorpus("abracadabra").unigram_entropy() == pytest.approx(-(p * np.log2(p)).sum())


def write_gzip(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(text.encode("utf-8")))
    return path


def test_the_jargon_file_is_found_at_root_in_the_env_or_the_os_copy(tmp_path, monkeypatch):
    monkeypatch.setattr(JargonFile, "system_dirs", (str(tmp_path / "os"),))
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)
    write_gzip(tmp_path / "os" / "jargon.txt.gz", "the system's copy\n")
    assert JargonFile().text == "the system's copy\n"
    write_gzip(tmp_path / "env" / "jargon" / "jargon.txt.gz", "from the environment\n")
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "env"))
    assert JargonFile().text == "from the environment\n"  # the env before the OS copy
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "jargon.txt").write_text("plain text at root\n", encoding="utf-8")
    corpus = JargonFile(root=tmp_path / "root")
    assert corpus.text == "plain text at root\n" and corpus.path == tmp_path / "root" / "jargon.txt"
    assert JargonFile(root=tmp_path / "os" / "jargon.txt.gz").text == "the system's copy\n"  # root = the file


def test_a_missing_jargon_file_is_one_error_listing_every_place_and_way(tmp_path, monkeypatch):
    monkeypatch.setattr(JargonFile, "system_dirs", (str(tmp_path / "os"),))
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "env"))
    with pytest.raises(FileNotFoundError) as info:
        JargonFile(root=tmp_path / "root")
    message = str(info.value)
    for fragment in (
        "cannot find jargon.txt or jargon.txt.gz",
        f"root={tmp_path / 'root'}",
        f"$CHAINRULE_DATA={tmp_path / 'env'}",
        str(tmp_path / "os" / "jargon.txt.gz"),
        "apt install jargon-text",
        "pass root=DIR",
        "set $CHAINRULE_DATA=DIR",
    ):
        assert fragment in message, message


def test_a_broken_jargon_file_is_a_data_file_error_naming_it(tmp_path):
    broken = tmp_path / "jargon.txt.gz"
    broken.write_bytes(gzip.compress("a truncated file".encode())[:-6])
    with pytest.raises(DataFileError, match=r"jargon.txt.gz: not a readable gzip file"):
        JargonFile(root=tmp_path)
    broken.unlink()
    (tmp_path / "jargon.txt").write_bytes(b"caf\xe9 in Latin-1")
    with pytest.raises(DataFileError, match=r"jargon.txt: not UTF-8 text \(byte 3"):
        JargonFile(root=tmp_path)


@pytest.mark.skipif(not JARGON.exists(), reason="the Jargon File is not installed here (apt install jargon-text)")
def test_the_os_copy_of_the_jargon_file_is_the_whole_lexicon():
    corpus = JargonFile()
    assert corpus.text.lstrip().startswith("The Jargon File") and "(version 4.4.7)" in corpus.text[:200]
    assert len(corpus) > 1_500_000 and ":hacker: n." in corpus.text
    assert 4.0 < corpus.unigram_entropy() < 5.0  # English text: about 4.1 bits, plus the File's box drawings


# ---------------------------------------------------------------- the char model
def zen_of_python():
    """The Zen of Python, which ships with every Python (``import this`` prints it, rot13-encoded inside)."""
    with contextlib.redirect_stdout(io.StringIO()):
        import this
    return codecs.decode(this.s, "rot13")


def test_a_short_char_model_run_learns_below_the_unigram_entropy(capsys):
    example = load_example("char_rnn")
    corpus = TextCorpus(zen_of_python())
    result = example.main(
        corpus=corpus, steps=120, batch_size=4, seq_len=32, hidden_size=64, lr=1e-2, sample_every=60, sample_length=40
    )
    assert result["unigram_bits"] == pytest.approx(corpus.unigram_entropy())
    assert result["train_bits"] < result["unigram_bits"] - 1.0  # it learned more than character frequencies
    assert len(result["samples"]) == 2 and all(s.startswith("hacker") for s in result["samples"])
    out = capsys.readouterr().out
    assert "unigram entropy" in out and out.count("bits/char") >= 3


def word_like(sample, words):
    """The fraction of the sample's words (runs of 3+ letters) that are words of the corpus."""
    found = re.findall(r"[A-Za-z]{3,}", sample)
    return sum(word.lower() in words for word in found) / max(1, len(found))


# ---------------------------------------------------------------- the examples' acceptance figures
@pytest.mark.long
@pytest.mark.skipif(not JARGON.exists(), reason="the Jargon File is not installed here (apt install jargon-text)")
def test_char_rnn_falls_well_below_the_unigram_entropy_and_writes_words(capsys):
    example = load_example("char_rnn")
    result = example.main()
    assert result["validation_bits"] < result["unigram_bits"] - 1.5  # held-out text, ~4.7 bits -> < 3.2
    corpus = result["corpus"]
    words = set(re.findall(r"[a-z]{3,}", corpus.text.lower()))
    text = example.sample(result["model"], corpus, length=1000, seed=1)
    # characters drawn by their frequencies alone make a word of the corpus about 3% of the time
    by_frequency = corpus.decode(np.random.default_rng(0).choice(corpus.vocab_size, 5000, p=corpus.frequencies()))
    assert word_like(by_frequency, words) < 0.1
    assert word_like(text, words) >= 0.45, text


@pytest.mark.long
@pytest.mark.skipif(not HAS_FASHION_MNIST, reason="Fashion-MNIST is not installed here")
def test_cnn_fashion_mnist_reaches_91_percent(capsys):
    result = load_example("cnn_fashion_mnist").main(root=str(FASHION_MNIST))
    assert result["test_accuracy"] >= 0.91
    assert capsys.readouterr().out.count("s/epoch") == len(result["epoch_seconds"])


@pytest.mark.long
@pytest.mark.skipif(not HAS_FASHION_MNIST, reason="Fashion-MNIST is not installed here")
def test_rnn_fashion_mnist_reaches_87_percent(capsys):
    result = load_example("rnn_fashion_mnist").main(root=str(FASHION_MNIST))
    assert result["test_accuracy"] >= 0.87
    assert capsys.readouterr().out.count("s/epoch") == len(result["epoch_seconds"])
