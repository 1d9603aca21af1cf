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


def read_idx(path):
    """The array stored in the IDX file at ``path`` (raw or gzip), in native byte order.

    Raises ``DataFileError`` naming the file and the problem for a bad magic number, an unknown
    dtype code, a payload shorter or longer than the header says, or a broken gzip stream. Memory
    use is bounded by the file's real content, whatever its header claims.

    Example::

        >>> images = read_idx("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
        >>> images.shape, images.dtype                       # (N, 28, 28) uint8
        ((10000, 28, 28), dtype('uint8'))
    """
    path = os.fspath(path)
    with open(path, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        if not compressed:
            return _read(raw, path, os.fstat(raw.fileno()).st_size)
        with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
            try:
                return _read(stream, path, None)
            except (OSError, EOFError, zlib.error) as error:
                raise DataFileError(f"{path}: broken gzip stream ({error})") from None


def _read(stream, path, file_size):
    """Parse header and payload from ``stream``; ``file_size`` is known for raw files, None for gzip."""
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
    dims_bytes = stream.read(4 * ndim)
    if len(dims_bytes) < 4 * ndim:
        raise DataFileError(f"{where}: header says {ndim} dimensions but the file ends inside the list of sizes")
    dims = struct.unpack(f">{ndim}I", dims_bytes)
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(dims, dtype=object)) * dtype.itemsize
    header_size = 4 + 4 * ndim
    if file_size is not None:
        found = file_size - header_size
        if found != expected:
            raise DataFileError(_size_problem(where, dims, dtype, expected, found))
        payload = bytearray(expected)
        stream.readinto(payload)
    else:
        payload = bytearray()
        while len(payload) < expected:
            chunk = stream.read(min(_CHUNK, expected - len(payload)))
            if not chunk:
                break
            payload += chunk
        if len(payload) < expected:
            raise DataFileError(_size_problem(where, dims, dtype, expected, len(payload)))
        extra = stream.read(_CHUNK)
        if extra:
            more = len(extra)
            while chunk := stream.read(_CHUNK):
                more += len(chunk)
            raise DataFileError(_size_problem(where, dims, dtype, expected, expected + more))
    return np.frombuffer(payload, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="), copy=False)


def _size_problem(where, dims, dtype, expected, found):
    verdict = "truncated" if found < expected else "longer than its header says"
    return (
        f"{where}: {verdict}: header says shape {tuple(dims)} of {dtype.name} = {expected} payload bytes, found {found}"
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
