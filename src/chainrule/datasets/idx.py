"""The IDX file format of MNIST and Fashion-MNIST: ``read_idx`` and ``write_idx``.

An IDX file is a header and a payload::

    bytes 0-1   0x00 0x00                      (the magic number's zero half)
    byte  2     dtype code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte  3     number of dimensions D
    4 * D       each dimension's size, a big-endian uint32
    payload     prod(dims) values of that dtype, big-endian, in C order

Files may be gzip-compressed; ``read_idx`` tells by the gzip magic bytes (1f 8b), not by the name.
"""

import gzip
import math
import os
import struct
import zlib

import numpy as np

from ..errors import DataFileError

# IDX dtype code -> big-endian NumPy dtype
IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20  # gzip payloads are read in pieces, so a lying header cannot make us allocate its claim
MAX_DIMS = 64  # NumPy arrays have at most 64 dimensions
MAX_DEFLATE_RATIO = 1032  # DEFLATE codes at best 258 bytes in 2 bits: no gzip file inflates more


def read_idx(path):
    """The array stored in the IDX file at ``path`` (raw or gzip), in native byte order.

    Raises ``DataFileError`` naming the file and the problem for a bad magic number, an unknown
    dtype code, more dimensions than NumPy holds (64), a payload shorter or longer than the header
    says, or a broken gzip stream. Memory use is bounded by the file's real content, whatever its
    header claims: a raw file's payload must have exactly the claimed size before it is read; a
    gzip file is inflated in pieces, never past the claimed size, and a claim larger than its
    compressed bytes could expand to (DEFLATE's limit, 1032:1) is refused before inflating.
    A missing or unreadable file raises ``OSError`` (``FileNotFoundError``, ...), as ``open`` does.

    Example::

        >>> images = read_idx("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
        >>> images.shape, images.dtype                       # (N, 28, 28) uint8
        ((10000, 28, 28), dtype('uint8'))
    """
    path = os.fspath(path)
    with open(path, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        size = os.fstat(raw.fileno()).st_size
        if not compressed:
            return _read(raw, path, size)
        with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
            try:
                return _read(stream, path, None, compressed_size=size)
            except (OSError, EOFError, zlib.error) as error:
                raise DataFileError(f"{path}: broken gzip stream ({error})") from None


def _read(stream, path, file_size, compressed_size=None):
    """Parse header and payload from ``stream``; ``file_size`` is known for raw files, None for gzip
    (whose ``compressed_size`` bounds what the stream can hold)."""
    where = f"{path}{' (after gunzip)' if file_size is None else ''}"
    head = stream.read(4)
    if len(head) < 4:
        raise DataFileError(f"{where}: too short for an IDX header ({len(head)} bytes, need at least 4)")
    if head[:2] != b"\x00\x00":
        raise DataFileError(f"{where}: not an IDX file: magic bytes are 0x{head[:2].hex()}, expected 0x0000")
    code, ndim = head[2], head[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X} {d.name}" for c, d in IDX_DTYPES.items())
        raise DataFileError(f"{where}: unknown IDX dtype code 0x{code:02X} (known: {known})")
    if ndim > MAX_DIMS:
        raise DataFileError(f"{where}: header says {ndim} dimensions, expected at most {MAX_DIMS} (NumPy's limit)")
    dims_bytes = stream.read(4 * ndim)
    if len(dims_bytes) < 4 * ndim:
        raise DataFileError(f"{where}: header says {ndim} dimensions but the file ends inside the list of sizes")
    dims = struct.unpack(f">{ndim}I", dims_bytes)
    dtype = IDX_DTYPES[code]
    expected = math.prod(dims) * dtype.itemsize
    header_size = 4 + 4 * ndim
    if file_size is not None:
        found = file_size - header_size
        if found != expected:
            raise DataFileError(_size_problem(where, dims, dtype, expected, found))
        _check_indexable(where, dims, dtype)
        payload = bytearray(expected)
        if stream.readinto(payload) != expected:
            raise DataFileError(f"{where}: the file changed while it was read (expected {expected} payload bytes)")
    else:
        most = MAX_DEFLATE_RATIO * compressed_size
        if header_size + expected > most:
            raise DataFileError(
                f"{where}: truncated: header says shape {tuple(dims)} of {dtype.name} = {expected} payload bytes, "
                f"more than {compressed_size} gzip bytes can hold (DEFLATE expands at most {MAX_DEFLATE_RATIO}:1)"
            )
        _check_indexable(where, dims, dtype)
        payload = bytearray()
        while len(payload) < expected:
            chunk = stream.read(min(_CHUNK, expected - len(payload)))
            if not chunk:
                break
            payload += chunk
        if len(payload) < expected:
            raise DataFileError(_size_problem(where, dims, dtype, expected, len(payload)))
        if stream.read(1):  # more data: refused without inflating the rest (it may be a gzip bomb)
            raise DataFileError(_size_problem(where, dims, dtype, expected, expected + 1, at_least=True))
    array = np.frombuffer(payload, dtype=dtype)
    if not dtype.isnative:  # swap in place: no second copy of the payload
        array = array.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return array.reshape(dims)


def _check_indexable(where, dims, dtype):
    """NumPy refuses shapes whose nonzero sizes multiply past its index range, even for 0 elements."""
    nominal = math.prod(n for n in dims if n) * dtype.itemsize
    if nominal > np.iinfo(np.intp).max:
        raise DataFileError(
            f"{where}: header says shape {tuple(dims)} of {dtype.name}, expected sizes whose nonzero product fits "
            f"NumPy's index range ({nominal} bytes > {np.iinfo(np.intp).max})"
        )


def _size_problem(where, dims, dtype, expected, found, at_least=False):
    verdict = "truncated" if found < expected else "longer than its header says"
    return (
        f"{where}: {verdict}: header says shape {tuple(dims)} of {dtype.name} = {expected} payload bytes, "
        f"found {'at least ' if at_least else ''}{found}"
    )


def write_idx(path, array, compress=None):
    """Write ``array`` to ``path`` as an IDX file; gzip it if ``compress`` (default: path ends in .gz).

    Example::

        >>> write_idx(tmp / "labels-idx1-ubyte.gz", np.array([3, 1, 4], np.uint8))   # (3,) uint8
        >>> read_idx(tmp / "labels-idx1-ubyte.gz").tolist()
        [3, 1, 4]
    """
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _CODES:
        raise TypeError(f"write_idx: IDX stores uint8, int8, int16, int32, float32 or float64, got {array.dtype}")
    if array.ndim > 255:
        raise ValueError(f"write_idx: IDX stores at most 255 dimensions, got {array.ndim}")
    code = _CODES[native]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    path = os.fspath(path)
    if compress is None:
        compress = path.endswith(".gz")
    opener = gzip.open if compress else open
    with opener(path, "wb") as stream:
        stream.write(header + payload)
