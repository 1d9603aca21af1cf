"""The catalogue of bad inputs: each gives one clear error at the first place it can be detected,
before any training step, naming what was expected and what was found.

One row per bad input: (what is bad, the call, the exception class, words the message must hold).
"""

import pickle

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.cli.config import ConfigError, validate
from chainrule.data import DataLoader, TensorDataset
from chainrule.errors import CheckpointError, DTypeError, ShapeError
from chainrule.train import Trainer


def mlp(seed=0):
    cr.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def fit(data, model=None, loss_fn=None):
    model = model or mlp()
    trainer = Trainer(model, loss_fn or nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    trainer.fit(data, epochs=1, batch_size=4, verbose=False)


def images_model():
    cr.manual_seed(0)
    model = nn.Sequential()
    model.add_module("features", nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU()))
    model.add_module("head", nn.Sequential(nn.Flatten(), nn.Linear(4 * 8 * 8, 10)))
    return model


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.ModuleList([nn.Linear(4, 16), nn.ReLU()])
        self.classifier = nn.Sequential(nn.Dropout(0.1), nn.Linear(32, 3))

    def forward(self, x):
        for layer in self.body:
            x = layer(x)
        return self.classifier(x)


X = np.zeros((12, 4), np.float32)
Y = np.arange(12, dtype=np.int64) % 3
LABEL_TOO_BIG = np.r_[Y[:-1], 7]  # the last sample, in the last batch
LABEL_NEGATIVE = np.r_[Y[:-1], -3]


def config(text):
    import tomllib

    return validate(tomllib.loads('[data]\nname = "digits"\n' + text))


def state_with(**changes):
    state = {key: value.numpy().copy() for key, value in mlp().state_dict().items()}
    for key, value in changes.items():
        if value is None:
            del state[key]
        else:
            state[key] = value
    return state


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def saved_bytes(tmp_path):
    path = tmp_path / "good.safetensors"
    cr.save({"model": mlp().state_dict(), "epoch": 3}, path)
    return path.read_bytes()


BAD_INPUTS = [
    # ---- data whose inputs and targets differ in length
    ("TensorDataset lengths", lambda tmp: TensorDataset(cr.ones(10, 4), cr.zeros(9)),
     ShapeError, ["same first dimension", "tensor 0: 10", "tensor 1: 9"]),
    ("Trainer (inputs, targets) lengths", lambda tmp: fit((np.zeros((10, 4), np.float32), Y[:9])),
     ShapeError, ["same number of samples", "inputs (10, 4)", "targets (9,)"]),
    # ---- class targets for CrossEntropyLoss / NLLLoss
    ("float class targets (loss)", lambda tmp: nn.CrossEntropyLoss()(cr.randn(4, 3), cr.tensor([0.0, 1, 2, 1])),
     DTypeError, ["integer dtype (int64)", "float32 target of shape (4,)"]),
    ("target >= C (loss)", lambda tmp: nn.CrossEntropyLoss()(cr.randn(4, 3), cr.tensor([0, 1, 3, 1])),
     IndexError, ["target 3 is out of bounds", "[0, 3)"]),
    ("target < 0, not ignore_index (loss)", lambda tmp: nn.NLLLoss()(cr.randn(4, 3), cr.tensor([0, -1, 2, 1])),
     IndexError, ["target -1 is out of bounds", "[0, 3)", "ignore_index=-100"]),
    ("float class targets (fit, before step 0)", lambda tmp: fit((X, Y.astype(np.float32))),
     DTypeError, ["CrossEntropyLoss", "integer dtype (int64)", "float32 targets of shape (12,)"]),
    ("target >= C in the last batch (fit, before step 0)", lambda tmp: fit((X, LABEL_TOO_BIG)),
     IndexError, ["target 7 is out of bounds", "[0, 3)", "the model gives 3 classes"]),
    ("target < 0 in a TensorDataset (fit, before step 0)", lambda tmp: fit(TensorDataset(X, LABEL_NEGATIVE)),
     IndexError, ["target -3 is out of bounds", ">= 0", "ignore_index=-100"]),
    ("target >= C behind a DataLoader (fit, before step 0)",
     lambda tmp: fit(DataLoader(TensorDataset(X, LABEL_TOO_BIG), batch_size=4)),
     IndexError, ["target 7", "[0, 3)"]),
    # ---- images of the wrong shape for a Conv2d, a Linear of the wrong in_features: the layer's name
    ("Conv2d channels", lambda tmp: images_model()(cr.ones(2, 1, 8, 8)),
     ShapeError, ["Conv2d 'features.0'", "expected input with 3 channels", "got (N=2, C=1, 8, 8)"]),
    ("Conv2d flat images", lambda tmp: images_model()(cr.ones(2, 192)),
     ShapeError, ["Conv2d 'features.0'", "3-D (unbatched) or 4-D (batched)", "got shape (2, 192)"]),
    ("Conv2d channels, during fit", lambda tmp: fit((np.ones((4, 1, 8, 8), np.float32), Y[:4]), images_model()),
     ShapeError, ["Conv2d 'features.0'", "3 channels", "got (N=4, C=1, 8, 8)"]),
    ("Linear in_features", lambda tmp: Classifier()(cr.ones(2, 4)),
     ShapeError, ["Linear 'classifier.1'", "in_features=32", "input of shape (2, 16)"]),
    ("Linear in a ModuleList", lambda tmp: Classifier()(cr.ones(2, 5)),
     ShapeError, ["Linear 'body.0'", "in_features=4", "(2, 5)"]),
    ("Conv2d dtype", lambda tmp: images_model()(cr.ones(1, 3, 8, 8, dtype=cr.float64)),
     DTypeError, ["Conv2d 'features.0'", "float64"]),
    # ---- configs: unknown keys, impossible values
    ("config unknown key", lambda tmp: config("batchsize = 8"),
     ConfigError, ["data.batchsize", "unknown key", "batch_size"]),
    ("config lr <= 0", lambda tmp: config("[optimizer]\nlr = 0"), ConfigError, ["optimizer.lr", "> 0", "int 0"]),
    ("config epochs 0", lambda tmp: config("[train]\nepochs = 0"), ConfigError, ["train.epochs", ">= 1", "int 0"]),
    ("config negative dropout", lambda tmp: config("[model]\ndropout = -0.2"),
     ConfigError, ["model.dropout", ">= 0 and < 1", "-0.2"]),
    ("config batch_size 0", lambda tmp: config("batch_size = 0"), ConfigError, ["data.batch_size", ">= 1", "int 0"]),
    ("config Nesterov without momentum", lambda tmp: config('[optimizer]\nname = "sgd"\nlr = 0.1\nnesterov = true'),
     ConfigError, ["optimizer.nesterov", "momentum > 0 and dampening = 0", "got momentum = 0"]),
    ("config empty training split", lambda tmp: config("validation = 0.999"),
     ConfigError, ["data.validation", "1437 training samples", "leave 1 to train on", "expected at least 10"]),
    ("config stratified test split too small", lambda tmp: config("test_size = 0.001"),
     ConfigError, ["data.test_size", "1797 samples of 10 classes", "2 to test on", "at least 10"]),
    # ---- load_state_dict: every mismatch in one error
    ("state dict missing key", lambda tmp: mlp().load_state_dict(state_with(**{"2.bias": None})),
     RuntimeError, ['Missing key(s) in state_dict: "2.bias"']),
    ("state dict unexpected key", lambda tmp: mlp().load_state_dict(state_with(**{"3.weight": np.zeros(3)})),
     RuntimeError, ['Unexpected key(s) in state_dict: "3.weight"']),
    ("state dict shape", lambda tmp: mlp().load_state_dict(state_with(**{"0.weight": np.zeros((8, 5), np.float32)})),
     RuntimeError, ["size mismatch for 0.weight", "shape (8, 5) from checkpoint", "current model is (8, 4)"]),
    ("state dict dtype", lambda tmp: mlp().load_state_dict(state_with(**{"0.bias": np.zeros(8, np.complex64)})),
     RuntimeError, ["dtype mismatch for 0.bias", "dtype complex64 from checkpoint", "current model is float32"]),
    # ---- the checkpoint loader (fuzzed at length in test_fuzz_checkpoint.py)
    ("checkpoint of random bytes", lambda tmp: cr.load(write(tmp, "noise.safetensors", bytes(range(256)) * 4)),
     CheckpointError, ["noise.safetensors", "not a safetensors file", "the header claims"]),
    ("truncated checkpoint", lambda tmp: cr.load(write(tmp, "cut.safetensors", saved_bytes(tmp)[:-7])),
     CheckpointError, ["cut.safetensors", "the data section has"]),
    ("pickle as a checkpoint", lambda tmp: cr.load(write(tmp, "model.pt", pickle.dumps({"weight": [1.0, 2.0]}))),
     CheckpointError, ["model.pt", "looks like a pickle", "never unpickles"]),
]  # fmt: skip


@pytest.mark.parametrize("call, error, fragments", [row[1:] for row in BAD_INPUTS], ids=[row[0] for row in BAD_INPUTS])
def test_a_bad_input_is_one_clear_error(call, error, fragments, tmp_path):
    with pytest.raises(error) as info:
        call(tmp_path)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_load_state_dict_lists_every_mismatch_in_one_error():
    state = state_with(**{
        "2.bias": None,                                   # missing
        "extra.weight": np.zeros(2, np.float32),          # unexpected
        "0.weight": np.zeros((8, 5), np.float32),         # shape
        "2.weight": np.zeros((3, 8), np.complex64),       # dtype (a cast would drop the imaginary part)
    })  # fmt: skip
    with pytest.raises(RuntimeError) as info:
        mlp().load_state_dict(state)
    lines = str(info.value).splitlines()
    assert lines[0] == "Error(s) in loading state_dict for Sequential:"
    assert [line.strip().split(" ")[0] for line in lines[1:]] == ["Missing", "Unexpected", "size", "dtype"]


def test_load_state_dict_casts_within_a_kind_like_pytorch():
    """PyTorch's copy_ casts float64 -> float32 and int -> float silently; so does chainrule."""
    model = mlp()
    state = state_with(**{"0.weight": np.full((8, 4), 0.25, np.float64), "0.bias": np.arange(8, dtype=np.int64)})
    model.load_state_dict(state)
    assert model[0].weight.dtype == cr.float32
    np.testing.assert_array_equal(model[0].weight.detach().numpy(), np.full((8, 4), 0.25, np.float32))
    np.testing.assert_array_equal(model[0].bias.detach().numpy(), np.arange(8, dtype=np.float32))


def test_a_float_into_an_integer_buffer_is_a_dtype_mismatch():
    """PyTorch would store 2.7 as 2 in num_batches_tracked; chainrule reports it instead."""
    model = nn.BatchNorm1d(3)
    state = {key: value.numpy().copy() for key, value in model.state_dict().items()}
    state["num_batches_tracked"] = np.array(2.7)
    with pytest.raises(
        RuntimeError, match="dtype mismatch for num_batches_tracked: copying a param with dtype float64"
    ):
        model.load_state_dict(state)


def test_bad_targets_fail_before_any_step():
    model = mlp()
    before = {key: value.numpy().copy() for key, value in model.state_dict().items()}
    with pytest.raises(IndexError):
        fit((X, LABEL_TOO_BIG), model)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), before[key])


def test_ignore_index_and_class_probabilities_are_not_bad():
    fit((X, np.r_[Y[:-1], -100]))  # the default ignore_index
    fit((X, np.r_[Y[:-1], 5]), loss_fn=nn.CrossEntropyLoss(ignore_index=5))
    probabilities = np.eye(3, dtype=np.float32)[Y]
    fit((X, probabilities))  # (N, C) float targets are class probabilities


def test_a_layer_called_on_its_own_keeps_its_message():
    with pytest.raises(ShapeError, match=r"^Conv2d expected input with 3 channels, got \(N=2, C=1, 8, 8\)"):
        nn.Conv2d(3, 4, 3)(cr.ones(2, 1, 8, 8))
