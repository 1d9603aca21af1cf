"""Checkpoints: exact round trips, atomic writes, and a catalogue of invalid files."""

import json
import math
import os
import pickle
import struct

import numpy as np
import pytest
import safetensors.numpy

import chainrule as cr
from chainrule import nn, optim
from chainrule.errors import CheckpointError
from chainrule.io import checkpoint


def assert_same(a, b, where="top"):
    """Equal values of exactly the same types, recursively (int keys stay ints, tuples stay tuples)."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for key in a:
            assert type(key) is type(next(k for k in b if k == key))
            assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, cr.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=where)
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), where
    else:
        assert a == b, where


def nested_state():
    rng = np.random.default_rng(0)
    return {
        "model": {
            "fc.weight": cr.tensor(rng.standard_normal((3, 4)).astype(np.float32)),
            "fc.bias": cr.tensor(rng.standard_normal(3), dtype=cr.float64),
            "bn.num_batches_tracked": cr.tensor(7),  # 0-d int64 tensor
            "mask": cr.tensor([True, False, True]),
            "empty": cr.zeros(0, 5),
        },
        "optimizer": {
            "state": {0: {"step": cr.tensor(3.0), "exp_avg": cr.ones(3, 4)}, 1: {"momentum_buffer": None}, 2: {}},
            "param_groups": [
                {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "amsgrad": False, "foreach": None, "params": [0, 1, 2]}
            ],
        },
        "arrays": {
            "f32": rng.standard_normal(5).astype(np.float32),
            "f64": rng.standard_normal((2, 2)),
            "i64": np.arange(6, dtype=np.int64).reshape(2, 3),
            "bool": np.array([[True], [False]]),
            "zero_d": np.array(2.5),
            "zero_d_int": np.array(-4, dtype=np.int64),
            "strided": np.arange(12.0).reshape(3, 4)[:, ::2],  # not contiguous
            "scalar": np.float32(0.25),
        },
        "epoch": 12,
        "big_int": 2**100 + 1,  # a PCG64 state is a 128-bit integer
        "floats": [0.1, -0.0, math.inf, -math.inf, math.nan],
        "flags": (True, False, None),
        "name": "run-α",
        "nested_lists": [[1, [2, [3]]], []],
        "empty_dict": {},
    }


def test_round_trip_keeps_types_dtypes_and_int_keys(tmp_path):
    state = nested_state()
    cr.save(state, tmp_path / "ckpt.safetensors")
    loaded = cr.load(tmp_path / "ckpt.safetensors")
    assert_same(state, loaded)
    assert isinstance(loaded["model"]["fc.weight"], cr.Tensor)
    assert isinstance(loaded["arrays"]["f32"], np.ndarray)
    assert loaded["arrays"]["zero_d"].shape == ()
    assert list(loaded["optimizer"]["state"]) == [0, 1, 2]


def test_loaded_tensors_are_writable_and_independent_of_the_file(tmp_path):
    cr.save({"w": cr.ones(3)}, tmp_path / "a.st")
    w = cr.load(tmp_path / "a.st")["w"]
    w.add_(1.0)
    np.testing.assert_array_equal(w.numpy(), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(cr.load(tmp_path / "a.st")["w"].numpy(), [1.0, 1.0, 1.0])


def test_keys_with_dots_do_not_collide_with_nested_paths(tmp_path):
    state = {"a.b": np.array([1.0]), "a": {"b": np.array([2.0])}}
    cr.save(state, tmp_path / "c.st")
    assert_same(state, cr.load(tmp_path / "c.st"))


def test_the_file_is_safetensors_with_dotted_tensor_names(tmp_path):
    model = nn.Linear(3, 2)
    cr.save({"model": model.state_dict()}, tmp_path / "m.st")
    arrays = safetensors.numpy.load_file(str(tmp_path / "m.st"))
    assert sorted(arrays) == ["model.bias", "model.weight"]
    np.testing.assert_array_equal(arrays["model.weight"], model.weight.detach().numpy())


def test_plain_safetensors_file_loads_as_flat_dict_of_tensors(tmp_path):
    safetensors.numpy.save_file({"layer.weight": np.eye(2, dtype=np.float32)}, str(tmp_path / "plain.st"))
    loaded = cr.load(tmp_path / "plain.st")
    assert list(loaded) == ["layer.weight"]
    assert isinstance(loaded["layer.weight"], cr.Tensor)
    np.testing.assert_array_equal(loaded["layer.weight"].numpy(), np.eye(2))


@pytest.mark.parametrize("make_optimizer", [lambda p: optim.SGD(p, lr=0.1, momentum=0.9), lambda p: optim.Adam(p)])
def test_model_and_optimizer_resume_exactly_from_a_checkpoint(tmp_path, make_optimizer):
    cr.manual_seed(0)
    x, y = cr.randn(8, 3), cr.randn(8, 2)

    def step(model, opt):
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        opt.step()

    model = nn.Linear(3, 2)
    opt = make_optimizer(model.parameters())
    for _ in range(3):
        step(model, opt)
    cr.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "r.st")
    state = cr.load(tmp_path / "r.st")
    assert_same(opt.state_dict()["param_groups"], state["optimizer"]["param_groups"])

    resumed = nn.Linear(3, 2)
    resumed_opt = make_optimizer(resumed.parameters())
    resumed.load_state_dict(state["model"])
    resumed_opt.load_state_dict(state["optimizer"])
    for _ in range(3):
        step(model, opt)
        step(resumed, resumed_opt)
    np.testing.assert_array_equal(resumed.weight.detach().numpy(), model.weight.detach().numpy())
    np.testing.assert_array_equal(resumed.bias.detach().numpy(), model.bias.detach().numpy())


@pytest.mark.parametrize(
    "state, found",
    [
        ({"f": lambda: 0}, "function at f"),
        ({"s": {1, 2}}, "set at s"),
        ({"c": np.zeros(2, dtype=np.complex64)}, "complex64"),
        ({"o": np.array([object()])}, "object"),
        ({"d": {True: 1}}, "keys must be str or int"),
        ({"d": {(1, 2): 1}}, "keys must be str or int"),
    ],
)
def test_unsavable_values_are_refused_with_their_path(tmp_path, state, found):
    with pytest.raises(TypeError, match=found):
        cr.save(state, tmp_path / "x.st")
    assert not os.listdir(tmp_path)


def test_save_needs_a_mapping(tmp_path):
    with pytest.raises(TypeError, match="state dict"):
        cr.save([cr.ones(2)], tmp_path / "x.st")


# ----------------------------------------------------------------------------------------- atomicity
class FailingFile:
    """Writes half of what it is given, then fails like a full disk."""

    def __init__(self, file):
        self.file = file

    def write(self, data):
        self.file.write(data[: len(data) // 2])
        self.file.flush()
        raise OSError(28, "No space left on device")

    def __getattr__(self, name):
        return getattr(self.file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.file.close()


def test_a_failure_mid_write_leaves_the_old_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    cr.save({"version": 1, "w": cr.ones(1000)}, path)
    before = path.read_bytes()
    real_fdopen = os.fdopen
    monkeypatch.setattr(checkpoint.os, "fdopen", lambda fd, mode: FailingFile(real_fdopen(fd, mode)))
    with pytest.raises(OSError, match="No space"):
        cr.save({"version": 2, "w": cr.zeros(1000)}, path)
    assert path.read_bytes() == before
    assert cr.load(path)["version"] == 1
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]  # the partial temporary file is gone


@pytest.mark.parametrize("stage", ["fsync", "replace"])
def test_an_interruption_before_the_rename_leaves_the_old_checkpoint(tmp_path, monkeypatch, stage):
    path = tmp_path / "ckpt.safetensors"
    cr.save({"version": 1}, path)
    before = path.read_bytes()

    def interrupt(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint.os, stage, interrupt)
    with pytest.raises(KeyboardInterrupt):
        cr.save({"version": 2}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]


def test_the_data_is_fsynced_before_the_rename(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(checkpoint.os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(checkpoint.os, "replace", lambda a, b: (calls.append("replace"), real_replace(a, b))[1])
    cr.save({"a": 1}, tmp_path / "x.st")
    assert calls[:2] == ["fsync", "replace"]


# ----------------------------------------------------------------------------------------- invalid files
def forge(header, data=b"", length=None):
    """A file of an 8-byte header length, the JSON header and ``data``."""
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text) if length is None else length) + text + data


def valid_bytes(tmp_path):
    cr.save({"w": cr.arange(10, dtype=cr.float32), "n": 3}, tmp_path / "valid.st")
    return (tmp_path / "valid.st").read_bytes()


def structure(node):
    return {"chainrule.format": "1", "chainrule.structure": json.dumps(node)}


F32_4 = {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}

INVALID = {
    "empty": lambda v: b"",
    "three bytes": lambda v: b"abc",
    "random bytes": lambda v: np.random.default_rng(1).integers(0, 256, 1000, dtype=np.uint8).tobytes(),
    "pickle": lambda v: pickle.dumps({"w": [1.0, 2.0]}),
    "zip (torch.save)": lambda v: b"PK\x03\x04" + bytes(100),
    "text": lambda v: b"this is not a checkpoint\n" * 4,
    "truncated in length": lambda v: v[:5],
    "truncated after length": lambda v: v[:8],
    "truncated in header": lambda v: v[:40],
    "truncated at data": lambda v: v[: 8 + struct.unpack("<Q", v[:8])[0]],
    "truncated in data": lambda v: v[:-7],
    "last byte missing": lambda v: v[:-1],
    "extra byte": lambda v: v + b"\0",
    "header length 2**63": lambda v: struct.pack("<Q", 2**63) + v[8:],
    "header length one past the file": lambda v: struct.pack("<Q", len(v) - 7) + v[8:],
    "header length zero": lambda v: struct.pack("<Q", 0) + v[8:],
    "header not utf-8": lambda v: forge({}, length=4)[:8] + b"\xff\xfe{}",
    "header not JSON": lambda v: struct.pack("<Q", 6) + b"{nope}",
    "header a JSON list": lambda v: forge([1, 2]),
    "offsets past the data": lambda v: forge(
        {"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 1 << 40]}}, bytes(16)
    ),
    "offsets smaller than the shape": lambda v: forge(
        {"w": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 16]}}, bytes(16)
    ),
    "shape product overflowing int64": lambda v: forge(
        {"w": {"dtype": "F32", "shape": [2**40, 2**40], "data_offsets": [0, 16]}}, bytes(16)
    ),
    "negative size": lambda v: forge({"w": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}}, bytes(16)),
    "offsets reversed": lambda v: forge({"w": {"dtype": "F32", "shape": [0], "data_offsets": [16, 0]}}, bytes(16)),
    "overlapping tensors": lambda v: forge({"a": F32_4, "b": F32_4}, bytes(16)),
    "a gap between tensors": lambda v: forge({"a": {"dtype": "F32", "shape": [4], "data_offsets": [4, 20]}}, bytes(20)),
    "data not covered": lambda v: forge({"a": F32_4}, bytes(24)),
    "unknown dtype": lambda v: forge({"a": {"dtype": "X99", "shape": [4], "data_offsets": [0, 16]}}, bytes(16)),
    "bfloat16 (no NumPy dtype)": lambda v: forge(
        {"a": {"dtype": "BF16", "shape": [8], "data_offsets": [0, 16]}}, bytes(16)
    ),
    "entry without offsets": lambda v: forge({"a": {"dtype": "F32", "shape": [4]}}, bytes(16)),
    "bool offsets": lambda v: forge({"a": {"dtype": "BOOL", "shape": [1], "data_offsets": [False, True]}}, bytes(1)),
    "metadata not str to str": lambda v: forge({"__metadata__": {"chainrule.structure": {"dict": []}}}),
    "structure not JSON": lambda v: forge({"__metadata__": {"chainrule.structure": "{oops"}}),
    "structure not a dict": lambda v: forge({"__metadata__": structure({"list": []})}),
    "structure with an unknown node": lambda v: forge(
        {"__metadata__": structure({"dict": [["a", {"code": "rm -rf"}]]})}
    ),
    "structure with a bad dict key": lambda v: forge({"__metadata__": structure({"dict": [[[1], 2]]})}),
    "structure referring to a missing tensor": lambda v: forge(
        {"__metadata__": structure({"dict": [["w", {"tensor": "w"}], ["v", {"tensor": "v"}]]}), "w": F32_4}, bytes(16)
    ),
    "a tensor the structure does not name": lambda v: forge(
        {"__metadata__": structure({"dict": []}), "w": F32_4}, bytes(16)
    ),
    "scalar stored with a shape": lambda v: forge(
        {"__metadata__": structure({"dict": [["s", {"scalar": "w"}]]}), "w": F32_4}, bytes(16)
    ),
    "structure a bare JSON list": lambda v: forge({"__metadata__": structure(json.loads("[" * 50 + "]" * 50))}),
}


@pytest.mark.parametrize("name", list(INVALID))
def test_invalid_files_raise_checkpoint_error_naming_the_file(tmp_path, name):
    path = tmp_path / f"bad-{len(name)}.safetensors"
    path.write_bytes(INVALID[name](valid_bytes(tmp_path)))
    with pytest.raises(CheckpointError) as error:
        cr.load(path)
    assert str(path) in str(error.value)


def test_the_messages_say_what_is_wrong(tmp_path):
    cases = {
        "pickle": "looks like a pickle",
        "zip (torch.save)": "zip archive",
        "header length 2**63": f"claims {2**63} bytes",
        "header length one past the file": "header claims",
        "offsets past the data": "lies at bytes",
        "offsets smaller than the shape": "needs 4000 bytes",
        "overlapping tensors": "tile the data",
        "bfloat16 (no NumPy dtype)": "dtype 'BF16'",
        "structure referring to a missing tensor": "refers to a tensor 'v' that is not in the file",
        "a tensor the structure does not name": "not referred to by the structure: w",
    }
    valid = valid_bytes(tmp_path)
    for name, message in cases.items():
        path = tmp_path / "bad.st"
        path.write_bytes(INVALID[name](valid))
        with pytest.raises(CheckpointError, match=message.replace("(", r"\(").replace("*", r"\*")):
            cr.load(path)


def test_a_deeply_nested_structure_is_an_error_not_a_crash(tmp_path):
    depth = 100_000
    node = "null"
    text = '{"list": [' * depth + node + "]}" * depth
    path = tmp_path / "deep.st"
    path.write_bytes(forge({"__metadata__": {"chainrule.format": "1", "chainrule.structure": text}}))
    with pytest.raises(CheckpointError, match=str(path)):
        cr.load(path)


def test_a_huge_claimed_header_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "huge.st"
    path.write_bytes(struct.pack("<Q", 10**15) + b"{}")
    reads = []
    real_open = open

    class Recording:
        def __init__(self, file):
            self.file = file

        def read(self, n=-1):
            reads.append(n)
            return self.file.read(n)

        def __getattr__(self, name):
            return getattr(self.file, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc_info):
            self.file.close()

    monkeypatch.setattr("builtins.open", lambda p, mode="r", *a, **k: Recording(real_open(p, mode, *a, **k)))
    with pytest.raises(CheckpointError, match="claims"):
        cr.load(path)
    assert reads == [8]


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        cr.load(tmp_path / "nope.st")


def test_nothing_is_ever_unpickled(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("pickle was used")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    path = tmp_path / "p.st"
    path.write_bytes(pickle.dumps({"a": 1}, protocol=4))
    with pytest.raises(CheckpointError):
        cr.load(path)
    cr.save(nested_state(), tmp_path / "ok.st")
    cr.load(tmp_path / "ok.st")
