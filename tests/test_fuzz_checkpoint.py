"""Fuzzing ``cr.load`` (io/checkpoint.py): random bytes, mutated checkpoints, pickles and .npy/.npz.

Property: ``cr.load`` returns a state dict or raises ``CheckpointError`` whose message names the
file (the only exception its docstring documents for file contents); nothing else escapes (no raw
json.JSONDecodeError, RecursionError, MemoryError, OverflowError or safetensors' own error), no
call hangs, and Python's allocations stay within 10 x the file's size + 1 MiB whatever the header
claims. A subprocess under an address-space cap checks the same for allocations outside Python
(safetensors' Rust code, NumPy). And random valid state dicts round-trip exactly.

CI runs a small derandomized profile (seconds); ``HYPOTHESIS_PROFILE=long`` runs 40 times as many
random examples, e.g. ``HYPOTHESIS_PROFILE=long python -m pytest -q tests/test_fuzz_checkpoint.py``.
"""

import contextlib
import json
import math
import os
import pickle
import struct
import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest
from fuzzing import MIB, fuzz, guarded_read
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
from chainrule.errors import CheckpointError


def check_load(path, data):
    """Write ``data`` to ``path`` and load it; returns the state dict or the CheckpointError. Any
    other exception fails the test, and so does a message without the file's name, a result that
    is not a dict, or a peak of Python allocations over 10 x the file's size + 1 MiB."""
    result = guarded_read(cr.load, path, data, CheckpointError, bound=10 * len(data) + MIB)
    if not isinstance(result, CheckpointError):
        assert isinstance(result, dict), f"cr.load returned a {type(result).__name__}"
    return result


def assert_same(a, b, where="top"):
    """Equal values of exactly the same types, recursively (int keys stay ints, tuples stay tuples)."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        assert [(type(k), k) for k in a] == [(type(k), k) for k in b], f"{where}: keys differ"
        for key in a:
            assert_same(a[key], b[key], f"{where}.{key!r}")
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
        assert a == b and (not isinstance(a, float) or math.copysign(1, a) == math.copysign(1, b)), where


def split(data):
    """(header dict, data section) of valid safetensors bytes."""
    (length,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + length]), data[8 + length :]


def join(header, section, text=None):
    """safetensors bytes from a header (or its raw ``text``) and a data section."""
    text = json.dumps(header).encode() if text is None else text
    return struct.pack("<Q", len(text)) + text + section


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz-checkpoint") / "fuzzed.safetensors"


# ----------------------------------------------------------------------------------------- valid states
SAVABLE = [np.bool_, np.uint8, np.int8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64]
SAVABLE += [np.float16, np.float32, np.float64]
TENSOR_DTYPES = [np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64, np.float16, np.float32, np.float64]
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)  # scalars and 0-size included


def arrays_of(dtypes):
    return st.sampled_from([np.dtype(d) for d in dtypes]).flatmap(lambda dtype: hnp.arrays(dtype, SHAPES))


LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(2**130), 2**130),  # beyond int64: a PCG64 state is a 128-bit integer
    st.floats(),  # nan, inf and -0.0 included
    st.text(max_size=6),
    arrays_of(SAVABLE),
    arrays_of(SAVABLE).map(lambda a: a[::-1] if a.ndim else a),  # not C-contiguous
    arrays_of(SAVABLE).filter(lambda a: a.ndim == 0).map(lambda a: a[()]),  # NumPy scalars
    arrays_of(TENSOR_DTYPES).map(cr.from_numpy),
)
KEYS = st.one_of(st.text(alphabet="ab.#_1", max_size=4), st.text(max_size=4), st.integers(-3, 2**70))
TREES = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(KEYS, children, max_size=3),
    ),
    max_leaves=10,
)
STATES = st.dictionaries(KEYS, TREES, max_size=4)


@fuzz(100)
@given(state=STATES)
@example(state={"a.b": np.zeros(2), "a": {"b": np.ones(2)}, 1: np.int8(3), "1": np.arange(3)})  # colliding paths
@example(state={"s": "\ud800", "\udfff": [1.5, -0.0, math.nan]})  # lone surrogates in strings and plain keys
# found: np.float64 (a subclass of float) came back as a Python float
@example(state={"f": np.float64(0.5), "i": np.int64(3), "b": np.bool_(True), "p": 0.5})
def test_random_state_dicts_round_trip_exactly(target, state):
    cr.save(state, target)
    loaded = check_load(target, target.read_bytes())
    assert not isinstance(loaded, CheckpointError), loaded
    assert_same(state, loaded)


def valid_checkpoint(path, state):
    cr.save(state, path)
    return path.read_bytes()


SMALL_STATES = st.tuples(
    arrays_of(SAVABLE), st.dictionaries(st.text(alphabet="abc.", min_size=1), TREES, max_size=3)
).map(
    lambda parts: {"t": parts[0], **parts[1]}  # at least one tensor for the header's entries to lie about
)


# ----------------------------------------------------------------------------------------- mutations
HUGE = [2**40, 2**62, 2**63, 2**64 - 1, 2**64, 2**70, 10**15]
LYING_DTYPES = ["BF16", "F8_E4M3", "I128", "C64", "f32", "", None, 3, ["F32"], "F32 ", "BOOL"]
LYING_SHAPES = st.one_of(
    st.sampled_from([[2**40, 2**40], [-1], [1.5], [math.nan], [], [[2]], "4", None, [2**64], [0, 2**63], [0] + HUGE]),
    st.sampled_from([[1] * 65, [0] * 65, [True], [2**31, 2**31, 2**31]]),
    st.lists(st.one_of(st.integers(-2, 5), st.sampled_from(HUGE)), max_size=4),
)
LYING_OFFSETS = st.one_of(
    st.sampled_from([[-1, 0], [0, -16], [0], [0, 0, 0], [True, False], "0-16", None, [0.0, 16.0], [math.inf, 0]]),
    st.lists(st.one_of(st.integers(-4, 64), st.sampled_from(HUGE)), min_size=2, max_size=2),
)
JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5)),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


ENTRY_LIES = ["dtype", "shape", "offsets", "overlap", "gap", "drop", "extra", "not object"]
METADATA_LIES = ["missing", "deep", "random", "text", "nan", "node", "metadata", "drop", "twice"]
TEXT_EDITS = ["bad utf-8", "duplicate", "nan", "padding", "bom"]
BYTE_EDITS = ["flip", "overwrite", "truncate", "extend", "length field"]


@st.composite
def lying_entry(draw, kind, header, section):
    """One tensor entry of the header changed: its dtype, shape or offsets lie, a field is missing
    or extra, offsets overlap another tensor's or leave a gap, or the entry is not an object."""
    names = [name for name in header if name != "__metadata__"]
    if not names:
        header["w"] = {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}
        return header, section
    name = draw(st.sampled_from(names))
    entry = header[name]
    if kind == "dtype":
        entry["dtype"] = draw(st.sampled_from(LYING_DTYPES))
    elif kind == "shape":
        entry["shape"] = draw(LYING_SHAPES)
    elif kind == "offsets":
        entry["data_offsets"] = draw(LYING_OFFSETS)
    elif kind == "overlap":
        entry["data_offsets"] = list(header[draw(st.sampled_from(names))]["data_offsets"])
        entry["data_offsets"][0] -= draw(st.integers(0, 4))
    elif kind == "gap":
        shift = draw(st.integers(1, 9))
        entry["data_offsets"] = [entry["data_offsets"][0] + shift, entry["data_offsets"][1] + shift]
        section += bytes(shift)
    elif kind == "drop":
        del entry[draw(st.sampled_from(sorted(entry)))]
    elif kind == "extra":
        entry[draw(st.sampled_from(["offsets", "dtype2", "__proto__"]))] = draw(JSON)
    else:
        header[name] = draw(JSON)
    return header, section


def deep(depth, leaf='{"tensor": "nope"}'):
    return '{"list": [' * depth + leaf + "]}" * depth


@st.composite
def lying_metadata(draw, kind, header, section):
    """The metadata changed: the structure refers to missing tensors, nests deeply, is random JSON
    or not JSON, holds NaN, unknown nodes or wrong bodies; or the metadata itself is no str map."""
    metadata = header.setdefault("__metadata__", {})
    structure = metadata.get("chainrule.structure", '{"dict": []}')
    if kind == "missing":
        metadata["chainrule.structure"] = structure.replace('"tensor": "', '"tensor": "x').replace(
            '"array": "', '"array": "x'
        )
    elif kind == "deep":
        metadata["chainrule.structure"] = (
            '{"dict": [["d", ' + deep(draw(st.sampled_from([50, 990, 5000, 60_000]))) + "]]}"
        )
    elif kind == "random":
        metadata["chainrule.structure"] = json.dumps(draw(JSON))
    elif kind == "text":
        metadata["chainrule.structure"] = draw(st.text(max_size=40))
    elif kind == "nan":
        metadata["chainrule.structure"] = draw(
            st.sampled_from(['{"dict": [["a", NaN]]}', '{"dict": [[NaN, 1]]}', "NaN", '{"dict": [["a", Infinity]]}'])
        )
    elif kind == "node":
        node = draw(JSON)
        kind_name = draw(st.sampled_from(["dict", "list", "tuple", "tensor", "array", "scalar", "code", "__import__"]))
        metadata["chainrule.structure"] = json.dumps({"dict": [["k", {kind_name: node}]]})
    elif kind == "metadata":
        header["__metadata__"] = draw(JSON)
    elif kind == "drop":
        metadata.pop("chainrule.structure", None)
    else:  # every tensor reference repeated
        metadata["chainrule.structure"] = json.dumps(
            {"dict": [["a", json.loads(structure)], ["b", json.loads(structure)]]}
        )
    return header, section


def header_text_mutation(kind, data, draw):
    """Raw edits of the header text: invalid UTF-8, a duplicated key, NaN, or padding."""
    (length,) = struct.unpack("<Q", data[:8])
    text, section = data[8 : 8 + length], data[8 + length :]
    if kind == "bad utf-8":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xc0\x80", b"\x00"])) + text[at:]
    elif kind == "duplicate":  # the first key and its value again, at the front of the object
        header = json.loads(text)
        key = next(iter(header))
        text = b"{" + json.dumps(key).encode() + b":" + json.dumps(header[key]).encode() + b"," + text[1:]
    elif kind == "nan":
        text = text[:-1] + b',"x": NaN}'
    elif kind == "padding":
        text = text + draw(st.sampled_from([b" " * 7, b"\x00" * 7, b"\n", b"}"]))
    else:
        text = b"\xef\xbb\xbf" + text
    return struct.pack("<Q", len(text)) + text + section


def truncation_lengths(data):
    """One length in each class: inside the length field, the header, at the data, inside the data."""
    (length,) = struct.unpack("<Q", data[:8])
    return st.one_of(
        st.integers(0, 7),
        st.integers(8, 8 + length - 1),
        st.just(8 + length),
        st.integers(8 + length, max(8 + length, len(data) - 1)),
        st.just(len(data) - 1),
    )


@pytest.mark.parametrize("kind", BYTE_EDITS)
@fuzz(30)
@given(data=st.data())
def test_checkpoints_with_damaged_bytes_give_a_state_dict_or_a_checkpoint_error(target, kind, data):
    """Bit flips, overwritten bytes, truncation in each part of the file, extension, and a length
    field claiming anything from 0 to 2**64 - 1."""
    original = valid_checkpoint(target, data.draw(SMALL_STATES, "state"))
    mutated = bytearray(original)
    if kind == "flip":
        for _ in range(data.draw(st.integers(1, 8))):
            mutated[data.draw(st.integers(0, len(mutated) - 1))] ^= 1 << data.draw(st.integers(0, 7))
    elif kind == "overwrite":
        at, new = data.draw(st.integers(0, len(mutated) - 1)), data.draw(st.binary(min_size=1, max_size=16))
        mutated[at : at + len(new)] = new
    elif kind == "truncate":
        del mutated[data.draw(truncation_lengths(original)) :]
    elif kind == "extend":
        mutated += data.draw(st.binary(min_size=1, max_size=64))
    else:
        (length,) = struct.unpack("<Q", original[:8])
        claim = data.draw(
            st.one_of(
                st.sampled_from([0, 1, 2**63, 2**64 - 1, 10**15, 100_000_001, len(original), len(original) - 7]),
                st.integers(length - 16, length + 16).filter(lambda n: n >= 0),
                st.integers(0, 2**64 - 1),
            )
        )
        mutated[:8] = struct.pack("<Q", claim)
    check_load(target, bytes(mutated))


LIES = [("entry", k) for k in ENTRY_LIES] + [("metadata", k) for k in METADATA_LIES]
LIES += [("header text", k) for k in TEXT_EDITS] + [("random header", "json")]


@pytest.mark.parametrize("part, kind", LIES, ids=[f"{part}: {kind}" for part, kind in LIES])
@fuzz(15)
@given(data=st.data())
def test_checkpoints_with_lying_headers_give_a_state_dict_or_a_checkpoint_error(target, part, kind, data):
    """Headers whose entries lie (dtypes, huge or negative shapes, offsets), whose metadata lies
    (missing tensors, deep nesting, NaN, unknown nodes), whose text is not UTF-8 or repeats a key,
    or that are replaced by random JSON."""
    original = valid_checkpoint(target, data.draw(SMALL_STATES, "state"))
    if part == "header text":
        mutated = header_text_mutation(kind, original, data.draw)
    else:
        header, section = split(original)
        if part == "entry":
            header, section = data.draw(lying_entry(kind, header, section))
        elif part == "metadata":
            header, section = data.draw(lying_metadata(kind, header, section))
        else:
            header = data.draw(JSON)
        mutated = join(header, section)
    check_load(target, mutated)


# ----------------------------------------------------------------------------------------- random bytes
@fuzz(150)
@given(data=st.binary(max_size=512))
@example(data=b"")
@example(data=b"\x02\x00\x00\x00\x00\x00\x00\x00{}")
def test_random_bytes_give_a_checkpoint_error(target, data):
    check_load(target, data)


@fuzz(150)
@given(body=st.binary(max_size=512), slack=st.integers(0, 16))
def test_random_bytes_behind_a_plausible_length_field_give_a_checkpoint_error(target, body, slack):
    check_load(target, struct.pack("<Q", max(len(body) - slack, 0)) + body)


@fuzz(100)
@given(header=JSON, section=st.binary(max_size=64))
def test_random_json_headers_give_a_state_dict_or_a_checkpoint_error(target, header, section):
    check_load(target, join(header, section))


# ----------------------------------------------------------------------------------------- pickles, npy, npz
class Marker:
    """Unpickling this object would create the file at ``path``: proof that nothing was unpickled."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def foreign_files(marker):
    rng = np.random.default_rng(0)
    payload = {"model": {"weight": rng.standard_normal((3, 2))}, "hook": Marker(marker)}
    files = {f"pickle protocol {p}": pickle.dumps(payload, protocol=p) for p in range(pickle.HIGHEST_PROTOCOL + 1)}
    for name, array in [("float", rng.standard_normal((4, 3))), ("object", np.array([Marker(marker)], dtype=object))]:
        path = marker.parent / f"{name}.npy"
        np.save(path, array, allow_pickle=True)
        files[f"npy {name}"] = path.read_bytes()
    np.savez(marker.parent / "arrays.npz", a=np.arange(3), b=np.array([Marker(marker)], dtype=object))
    files["npz"] = (marker.parent / "arrays.npz").read_bytes()
    np.savez_compressed(marker.parent / "small.npz", a=np.arange(3))
    files["npz compressed"] = (marker.parent / "small.npz").read_bytes()
    return files


def test_pickles_and_numpy_files_are_refused_and_never_run(tmp_path):
    marker = tmp_path / "unpickled"
    files = foreign_files(marker)
    for name, data in files.items():
        error = check_load(tmp_path / f"{name}.safetensors", data)
        assert isinstance(error, CheckpointError), f"{name}: loaded"
        assert not marker.exists(), f"{name}: the file's code ran"
    for name in files:
        if name.startswith("pickle protocol") and name[-1] >= "2":
            assert "looks like a pickle" in str(check_load(tmp_path / "p", files[name]))
    assert "zip archive" in str(check_load(tmp_path / "z", files["npz"]))


@fuzz(100)
@given(value=JSON, protocol=st.integers(0, pickle.HIGHEST_PROTOCOL))
def test_random_pickles_are_refused(target, value, protocol):
    assert isinstance(check_load(target, pickle.dumps(value, protocol=protocol)), CheckpointError)


@fuzz(60)
@given(array=arrays_of(SAVABLE))
def test_random_npy_files_are_refused(target, array):
    with open(target, "wb") as file:
        np.save(file, array)
    assert isinstance(check_load(target, target.read_bytes()), CheckpointError)


# ----------------------------------------------------------------------------------------- finds
def forge(header, section=b""):
    return join(header, section)


F32_4 = {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}


def meta(structure):
    return {"chainrule.format": "1", "chainrule.structure": structure}


# What the fuzzing found: a dtype that is a list escaped as a raw TypeError; a structure 990 deep
# made a 14 KB file cost 1.3 MB (a traceback through as many frames), now refused past 100 levels;
# the next four loaded silently (which of two entries counts was up to the parser); the last two
# raised NumPy's error through safetensors' instead of saying what is wrong.
FOUND = [
    (
        "dtype that is a list",
        forge({"w": {**F32_4, "dtype": ["F32"]}}, bytes(16)),
        "has dtype ['F32'], expected one of",
    ),
    (
        "structure nested 150 deep",
        forge({"__metadata__": meta('{"dict": [["d", ' + deep(150) + "]]}")}),
        "nests containers more than 100 deep",
    ),
    (
        "duplicate tensor names, the two entries disagreeing",
        join(
            None,
            bytes(8),
            b'{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, '
            b'"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}',
        ),
        "has the key 'w' twice",
    ),
    (
        "duplicate metadata keys",
        join(None, b"", b'{"__metadata__": {"chainrule.structure": "{\\"dict\\": []}", "chainrule.structure": "x"}}'),
        "has the key 'chainrule.structure' twice",
    ),
    (
        "a node with a key twice",
        forge({"__metadata__": meta('{"dict": [], "dict": [["a", 1]]}')}),
        "a node of the structure has the key 'dict' twice",
    ),
    (
        "one tensor referenced twice",
        forge(
            {"__metadata__": meta('{"dict": [["a", {"tensor": "w"}], ["b", {"tensor": "w"}]]}'), "w": F32_4}, bytes(16)
        ),
        "refers to tensor 'w' twice",
    ),
    (
        "65 dimensions",
        forge({"w": {"dtype": "F32", "shape": [1] * 65, "data_offsets": [0, 4]}}, bytes(4)),
        "at most 64",
    ),
    (
        "a zero size beside sizes past NumPy's range",
        forge({"w": {"dtype": "F32", "shape": [0, 2**62], "data_offsets": [0, 0]}}),
        "nonzero product fits NumPy's index range",
    ),
]


@pytest.mark.parametrize("data, words", [f[1:] for f in FOUND], ids=[f[0] for f in FOUND])
def test_regressions_found_by_fuzzing(tmp_path, data, words):
    path = tmp_path / "found.safetensors"
    error = check_load(path, data)
    assert isinstance(error, CheckpointError), "loaded"
    assert words in str(error), str(error)


def test_structures_100_deep_round_trip_and_deeper_ones_are_refused_by_save(tmp_path):
    state = {"x": 1}
    for _ in range(99):  # 100 dicts in all
        state = {"d": state}
    cr.save(state, tmp_path / "deep.st")
    assert_same(cr.load(tmp_path / "deep.st"), state)
    with pytest.raises(ValueError, match="nest more than 100 deep"):
        cr.save({"d": state}, tmp_path / "deeper.st")
    loop = {}
    loop["self"] = loop
    with pytest.raises(ValueError, match="does a container hold itself"):
        cr.save(loop, tmp_path / "loop.st")


def test_tensor_names_that_are_not_utf8_are_refused_by_save_with_their_path(tmp_path):
    with pytest.raises(ValueError, match="not valid UTF-8"):
        cr.save({"model": {"\ud800": np.zeros(2)}}, tmp_path / "s.st")


# ----------------------------------------------------------------------------------------- big claims
def test_big_files_of_tiny_values_stay_within_a_constant_times_their_size(tmp_path):
    # The worst cases at scale: JSON of empty containers, and 8 000 tensors of zero bytes each. What
    # they cost is Python objects for what the file really holds: a bounded multiple of its size.
    n = 8_000
    cases = {
        "empty lists": join({"a": json.loads("[" + ",".join(["[]"] * n * 5) + "]")}, b""),
        "empty tensors": join({f"{i:x}": {"dtype": "U8", "shape": [0], "data_offsets": [0, 0]} for i in range(n)}, b""),
    }
    for name, data in cases.items():
        path = tmp_path / "big.st"
        path.write_bytes(data)
        tracemalloc.start()
        try:
            with contextlib.suppress(CheckpointError):
                cr.load(path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 40 * len(data), f"{name}: {peak} bytes for a {len(data)}-byte file"


CAPPED = r"""
import gzip, json, resource, struct, sys
import chainrule as cr
from chainrule.datasets.idx import read_idx

def forge(header, section=b""):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + section

def idx(code, dims, payload=b""):
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + payload

lies = {
    "tensor claims 4 TiB": forge({"w": {"dtype": "F32", "shape": [2**40], "data_offsets": [0, 2**42]}}, bytes(16)),
    "shape [2**40, 2**40]": forge({"w": {"dtype": "F64", "shape": [2**40, 2**40], "data_offsets": [0, 16]}}, bytes(16)),
    "zero beside 2**62": forge({"w": {"dtype": "U8", "shape": [0, 2**62, 2], "data_offsets": [0, 0]}}),
    "header claims 2**63 bytes": struct.pack("<Q", 2**63) + b"{}",
    "header claims 99 MB": struct.pack("<Q", 99_000_000) + b"{}",
    "idx claims 2**96 bytes": idx(0x0E, [2**32 - 1] * 3, bytes(8)),
    "gzip idx claims 2**96 bytes": gzip.compress(idx(0x0E, [2**32 - 1] * 3, bytes(8))),
    "gzip idx claims 4 GiB": gzip.compress(idx(0x08, [2**16, 2**16], bytes(1000))),
    "gzip bomb behind a claim of 8 bytes": gzip.compress(idx(0x08, [8], bytes(8))) + gzip.compress(bytes(2**20)) * 512,
}
soft, hard = resource.getrlimit(resource.RLIMIT_AS)
with open("/proc/self/status") as status:
    vm = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
resource.setrlimit(resource.RLIMIT_AS, (vm + 512 * 2**20, hard))  # 512 MiB more than the imports took
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
results = {}
for name, data in lies.items():
    path = f"{sys.argv[1]}/{len(results)}.bin"
    with open(path, "wb") as file:
        file.write(data)
    try:
        (read_idx if "idx" in name else cr.load)(path)
        results[name] = "loaded"
    except Exception as error:
        results[name] = f"{type(error).__name__}: {error}"
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before  # KiB on Linux
print(json.dumps({"results": results, "grown_kib": grown}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc are Linux's")
def test_lying_claims_allocate_nothing_under_an_address_space_cap(tmp_path):
    # Allocations outside Python (safetensors' Rust code, NumPy, zlib) do not show in tracemalloc:
    # a child process under an address-space cap 512 MiB above its start loads files claiming
    # terabytes; each must fail with chainrule's error (not MemoryError), and its peak RSS barely moves.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    child = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CAPPED), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout.strip().splitlines()[-1])
    for name, outcome in report["results"].items():
        expected = "DataFileError" if "idx" in name else "CheckpointError"
        assert outcome.startswith(f"{expected}: "), f"{name}: {outcome}"
        assert f"{tmp_path}/" in outcome, f"{name}: the message does not name the file: {outcome}"
    assert report["grown_kib"] < 64 * 1024, f"peak RSS grew by {report['grown_kib']} KiB"
