"""Fuzzing ``read_idx`` (datasets/idx.py) with random and mutated bytes, raw and gzip.

Property: ``read_idx`` returns an array or raises ``DataFileError`` whose message names the file;
nothing else escapes (no raw ValueError from NumPy, no zlib.error, no MemoryError), no call hangs,
and the memory Python allocates stays proportional to what the file really holds (its size, or for
gzip what it inflates to), never to the sizes its header claims. The gzip bombs at the end show
that inflating stops at the header's claim and that impossible claims are refused up front.

CI runs a small derandomized profile (seconds); ``HYPOTHESIS_PROFILE=long`` runs 40 times as many
random examples, e.g. ``HYPOTHESIS_PROFILE=long python -m pytest -q tests/test_fuzz_idx.py``.
"""

import gzip
import math
import struct
import tracemalloc
import zlib

import numpy as np
import pytest
from fuzzing import MIB, fuzz, guarded_read
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from chainrule.datasets import idx as idx_module
from chainrule.datasets.idx import IDX_DTYPES, read_idx, write_idx
from chainrule.errors import DataFileError


def idx_bytes(code, dims, payload=b""):
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + payload


def inflated_size(data):
    """How many bytes ``data`` gunzips to (0 if it is not gzip or is broken before any output)."""
    if data[:2] != b"\x1f\x8b":
        return 0
    decompressor, total, rest = zlib.decompressobj(wbits=31), 0, data
    try:
        while rest:
            total += len(decompressor.decompress(rest))
            rest = decompressor.unused_data
            decompressor = zlib.decompressobj(wbits=31) if rest else decompressor
    except zlib.error:
        pass
    return total


def check_read(path, data):
    """Write ``data`` to ``path`` and read it; returns the array or the DataFileError. Anything else
    fails the test, and so does a message without the file's name or a peak of Python allocations
    beyond 10 x (file size + what it inflates to) + 1 MiB."""
    result = guarded_read(read_idx, path, data, DataFileError, bound=10 * (len(data) + inflated_size(data)) + MIB)
    if not isinstance(result, DataFileError):
        assert isinstance(result, np.ndarray) and result.dtype.isnative
    return result


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz-idx") / "fuzzed-idx3-ubyte"


# ----------------------------------------------------------------------------------------- strategies
CODES = sorted(IDX_DTYPES)
ANY_CODE = st.one_of(st.sampled_from(CODES), st.integers(0, 255))
HUGE = st.sampled_from([2**32 - 1, 2**31, 2**31 - 1, 2**16 + 1, 65536 * 28])
DIM = st.one_of(st.integers(0, 4), HUGE, st.integers(0, 2**32 - 1))
NDIM = st.one_of(st.integers(0, 4), st.integers(0, 255), st.sampled_from([63, 64, 65, 255]))
GZIP = st.booleans()


@st.composite
def forged(draw):
    """A header with any dtype code, any dimension count and any sizes; a payload of random length."""
    code, ndim = draw(ANY_CODE), draw(NDIM)
    dims = draw(st.lists(DIM, min_size=ndim, max_size=ndim)) if ndim <= 8 else [draw(st.integers(0, 2))] * ndim
    head = bytes([0, 0, code, ndim]) + struct.pack(f">{ndim}I", *dims)
    claimed = math.prod(dims) * IDX_DTYPES.get(code, np.dtype("u1")).itemsize
    length = draw(st.one_of(st.just(claimed), st.integers(max(claimed - 3, 0), claimed + 3), st.integers(0, 300)))
    length = min(length, 4096)
    return head[: draw(st.integers(0, len(head))) if draw(st.booleans()) else len(head)] + bytes(length)


def encode(array):
    """The IDX bytes of ``array`` (native byte order, an IDX dtype), written by hand from the format."""
    code = {dtype.newbyteorder("="): c for c, dtype in IDX_DTYPES.items()}[array.dtype]
    return idx_bytes(code, array.shape, array.astype(IDX_DTYPES[code]).tobytes())


ARRAYS = st.sampled_from([IDX_DTYPES[c].newbyteorder("=") for c in CODES]).flatmap(
    lambda dtype: hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5))
)


@st.composite
def mutated(draw, data):
    """``data`` with one mutation: bit flips, overwritten bytes, a truncation, an extension, a new
    dtype code or dimension count, or a dimension claiming a huge size."""
    kind = draw(st.sampled_from(["flip", "overwrite", "truncate", "extend", "code", "ndim", "dim"]))
    data = bytearray(data)
    if kind == "flip":
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, len(data) - 1))] ^= 1 << draw(st.integers(0, 7))
    elif kind == "overwrite":
        at, new = draw(st.integers(0, len(data) - 1)), draw(st.binary(min_size=1, max_size=8))
        data[at : at + len(new)] = new
    elif kind == "truncate":
        del data[draw(st.integers(0, len(data) - 1)) :]
    elif kind == "extend":
        data += draw(st.binary(min_size=1, max_size=64))
    elif kind == "code":
        data[2] = draw(ANY_CODE)
    elif kind == "ndim":
        data[3] = draw(NDIM)
    elif data[3]:
        at = 4 + 4 * draw(st.integers(0, data[3] - 1))
        data[at : at + 4] = struct.pack(">I", draw(HUGE))
    return bytes(data)


# ----------------------------------------------------------------------------------------- properties
@fuzz(300)
@given(data=st.binary(max_size=1024), compressed=GZIP)
@example(data=b"", compressed=False)
@example(data=b"\x1f\x8b", compressed=False)  # the gzip magic alone
@example(data=b"\x00\x00\x08\xff", compressed=False)  # 255 dimensions announced, none given
def test_random_bytes_give_an_array_or_a_data_file_error(target, data, compressed):
    check_read(target, gzip.compress(data) if compressed else data)


@fuzz(300)
@given(data=forged(), compressed=GZIP)
def test_forged_headers_give_an_array_or_a_data_file_error(target, data, compressed):
    check_read(target, gzip.compress(data) if compressed else data)


@fuzz(300)
@given(st.data())
def test_mutated_valid_files_give_an_array_or_a_data_file_error(target, data):
    original = encode(data.draw(ARRAYS, "array"))
    where = data.draw(st.sampled_from(["raw", "inside gzip", "gzip stream"]), "where")
    if where == "raw":
        check_read(target, data.draw(mutated(original), "mutated"))
    elif where == "inside gzip":  # a valid gzip stream of a broken IDX file
        check_read(target, gzip.compress(data.draw(mutated(original), "mutated")))
    else:  # a damaged gzip stream of a valid IDX file
        check_read(target, data.draw(mutated(gzip.compress(original)), "mutated"))


@fuzz(150)
@given(array=ARRAYS, compressed=GZIP)
def test_valid_files_read_back_exactly(target, array, compressed):
    data = encode(array)
    result = check_read(target, gzip.compress(data) if compressed else data)
    assert not isinstance(result, DataFileError), result
    assert result.dtype == array.dtype and result.shape == array.shape
    np.testing.assert_array_equal(result, array)
    write_idx(target, array, compress=compressed)  # and what write_idx writes reads back too
    np.testing.assert_array_equal(read_idx(target), array)


# ----------------------------------------------------------------------------------------- finds
# What the fuzzing found (each raised NumPy's own ValueError, without the file's name).
FOUND = [
    ("65 dimensions", idx_bytes(0x08, [1] * 65, b"\x07"), "header says 65 dimensions, expected at most 64"),
    ("255 dimensions", idx_bytes(0x08, [1] * 255, b"\x07"), "header says 255 dimensions, expected at most 64"),
    (
        "a zero size beside huge ones",
        idx_bytes(0x08, [0, 2**32 - 1, 2**32 - 1, 2**32 - 1]),
        "nonzero product fits NumPy's index range",
    ),
    (
        "huge sizes before a zero",
        idx_bytes(0x0E, [2**32 - 1, 2**32 - 1, 0]),
        "nonzero product fits NumPy's index range",
    ),
]


@pytest.mark.parametrize("compressed", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize("data, words", [f[1:] for f in FOUND], ids=[f[0] for f in FOUND])
def test_regressions_found_by_fuzzing(tmp_path, compressed, data, words):
    path = tmp_path / "found-idx1-ubyte"
    path.write_bytes(gzip.compress(data) if compressed else data)
    with pytest.raises(DataFileError, match=words) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_64_dimensions_and_zero_sizes_numpy_can_hold_are_read(tmp_path):
    path = tmp_path / "ok-idx"
    path.write_bytes(idx_bytes(0x0C, [1] * 64, struct.pack(">i", -5)))
    assert read_idx(path).shape == (1,) * 64 and read_idx(path).item() == -5
    path.write_bytes(idx_bytes(0x08, [0, 2**31, 2**31]))  # 2**62 nominal bytes: NumPy's range holds it
    assert read_idx(path).shape == (0, 2**31, 2**31)


# ----------------------------------------------------------------------------------------- gzip bombs
ZERO_MEMBER = gzip.compress(bytes(MIB), compresslevel=9)  # ~1 KiB that inflates to 1 MiB


class CountingGzipFile(gzip.GzipFile):
    """GzipFile that counts the bytes it hands out: how much of a bomb read_idx inflated."""

    inflated = 0

    def read(self, size=-1):
        chunk = super().read(size)
        CountingGzipFile.inflated += len(chunk)
        return chunk


@pytest.fixture
def counting_gzip(monkeypatch):
    CountingGzipFile.inflated = 0
    monkeypatch.setattr(idx_module.gzip, "GzipFile", CountingGzipFile)
    return CountingGzipFile


def test_a_bomb_behind_a_small_claim_is_refused_after_the_claim(tmp_path, counting_gzip):
    # The header claims 10 bytes; 1 GiB of zeros follows in 1024 members (a 1 MiB file).
    path = tmp_path / "bomb-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(0x08, [10], bytes(10))) + ZERO_MEMBER * 1024)
    tracemalloc.start()
    try:
        with pytest.raises(DataFileError, match="longer than its header says") as info:
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(path) in str(info.value)
    assert counting_gzip.inflated <= 4 + 4 + 10 + 1, f"inflated {counting_gzip.inflated} bytes of the bomb"
    assert peak < 4 * MIB


def test_a_claim_no_gzip_file_of_that_size_can_hold_is_refused_before_inflating(tmp_path, counting_gzip):
    # 64 MiB of zeros (a 64 KiB file) under a header claiming 2**40 bytes: more than 1032 x 64 KiB.
    path = tmp_path / "bomb-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(0x08, [2**20, 2**20])) + ZERO_MEMBER * 64)
    with pytest.raises(DataFileError, match=r"more than \d+ gzip bytes can hold") as info:
        read_idx(path)
    assert str(path) in str(info.value)
    assert counting_gzip.inflated == 4 + 8, "only the header may be inflated"


def test_a_truthful_highly_compressed_file_is_still_read(tmp_path):
    # 8 MiB of zeros in 8 KiB, under a header that says so: legal gzip (under 1032:1), so it is read.
    path = tmp_path / "zeros-idx3-ubyte.gz"
    header = gzip.compress(idx_bytes(0x08, [8, 1024, 1024]))
    path.write_bytes(header + ZERO_MEMBER * 8)
    images = read_idx(path)
    assert images.shape == (8, 1024, 1024) and not images.any()
