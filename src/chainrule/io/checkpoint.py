"""Checkpoints in the safetensors format: ``cr.save(state, path)`` and ``cr.load(path)``.

A checkpoint is a state dict: a (possibly nested) mapping whose leaves are Tensors, NumPy arrays
or scalars, and whose inner containers are dicts (str or int keys), lists and tuples, so a model's
and an optimizer's ``state_dict()`` round trip exactly. The file holds

- every array as a safetensors tensor, under its dotted path (``model.fc.weight``);
- the structure and the scalars as JSON in the safetensors metadata (``chainrule.structure``).

Nothing in a file is ever unpickled or executed. ``load`` checks the safetensors header itself
(length, JSON, dtypes, shapes, offsets that tile the data exactly) before safetensors reads the
data, and every problem is a :class:`~chainrule.errors.CheckpointError` naming the file.

The structure's JSON encodes each container or array as an object with one key; everything else
is a scalar (``null``, ``true``, an int, a float, a string)::

    {"dict": [[key, node], ...]}   # keys keep their type: "fc.weight" or 0
    {"list": [node, ...]}   {"tuple": [node, ...]}
    {"tensor": name}   {"array": name}   {"scalar": name}   # name of a safetensors tensor
"""

import json
import math
import os
import reprlib
import struct
import tempfile
from collections.abc import Mapping

import numpy as np
import safetensors.numpy

from .. import backend
from ..creation import from_numpy
from ..errors import CheckpointError
from ..tensor import Tensor

FORMAT_KEY = "chainrule.format"
STRUCTURE_KEY = "chainrule.structure"
FORMAT_VERSION = "1"

# safetensors dtype -> NumPy dtype: the ones NumPy can hold (no bfloat16, no float8).
DTYPES = {
    "BOOL": np.dtype(np.bool_),
    "U8": np.dtype(np.uint8),
    "I8": np.dtype(np.int8),
    "I16": np.dtype(np.int16),
    "U16": np.dtype(np.uint16),
    "I32": np.dtype(np.int32),
    "U32": np.dtype(np.uint32),
    "I64": np.dtype(np.int64),
    "U64": np.dtype(np.uint64),
    "F16": np.dtype(np.float16),
    "F32": np.dtype(np.float32),
    "F64": np.dtype(np.float64),
}
SAVABLE_DTYPES = frozenset(DTYPES.values())
MAX_HEADER_BYTES = 100_000_000  # safetensors' own limit
MAX_DIMS = 64  # NumPy arrays have at most 64 dimensions
MAX_DEPTH = 100  # containers inside containers: state dicts nest a few levels; files may not nest deeper


# ----------------------------------------------------------------------------------------- save
def save(obj, path):
    """Write the state dict ``obj`` to ``path`` (safetensors), atomically.

    The file is written to a temporary file in the same directory, flushed, fsynced and then
    renamed over ``path``, so ``path`` always holds either the old checkpoint or the new one,
    never half of one. Tensors on a GPU are copied to the CPU.

    Example::

        >>> model = nn.Linear(3, 2)
        >>> cr.save({"model": model.state_dict(), "epoch": 4}, "ckpt.safetensors")
        >>> cr.load("ckpt.safetensors")["model"]["weight"].shape
        (2, 3)
    """
    if not isinstance(obj, Mapping):
        raise TypeError(f"save expects a state dict (a mapping of str to tensors and values), got {type(obj).__name__}")
    arrays = {}
    structure = _encode(obj, "", arrays, 1)
    metadata = {FORMAT_KEY: FORMAT_VERSION, STRUCTURE_KEY: json.dumps(structure, allow_nan=True)}
    _write_atomic(os.fspath(path), safetensors.numpy.save(arrays, metadata=metadata))


def _encode(value, where, arrays, depth):
    """The JSON node for ``value`` (a container ``depth`` deep); its arrays go into ``arrays`` under
    names made from ``where``."""
    if isinstance(value, np.generic):  # before float: np.float64 is a float, and would come back as one
        return {"scalar": _add_array(np.asarray(value), where, arrays)}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, Tensor):
        array = backend.to_device(value.detach()._data, backend.CPU)
        return {"tensor": _add_array(array, where, arrays)}
    if isinstance(value, np.ndarray):
        return {"array": _add_array(value, where, arrays)}
    if isinstance(value, (Mapping, list, tuple)) and depth > MAX_DEPTH:
        raise ValueError(
            f"save: containers nest more than {MAX_DEPTH} deep at {where}; expected a state dict of a few levels "
            "(does a container hold itself?)"
        )
    if isinstance(value, Mapping):
        items = []
        for key, item in value.items():
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(f"save: keys must be str or int, got {type(key).__name__} {key!r} at {where or 'top'}")
            items.append(
                [key if isinstance(key, str) else int(key), _encode(item, _join(where, key), arrays, depth + 1)]
            )
        return {"dict": items}
    if isinstance(value, (list, tuple)):
        nodes = [_encode(item, _join(where, i), arrays, depth + 1) for i, item in enumerate(value)]
        return {"list" if isinstance(value, list) else "tuple": nodes}
    raise TypeError(
        f"save: cannot store a {type(value).__name__} at {where or 'top'}; expected a Tensor, a NumPy array, "
        "a number, a bool, a str, None, or a dict/list/tuple of those"
    )


def _join(where, key):
    return f"{where}.{key}" if where else str(key)


def _add_array(array, where, arrays):
    if array.dtype not in SAVABLE_DTYPES:
        raise TypeError(f"save: the array at {where or 'top'} has dtype {array.dtype}, which safetensors cannot store")
    if not where.isascii():
        try:
            where.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                f"save: the array at {where!r} would get a name that is not valid UTF-8 (a lone surrogate in a key); "
                "safetensors names must be UTF-8 text"
            ) from None
    name, number = where or "_", 1
    while name in arrays:  # keys with dots can collide with nested paths: {"a.b": x, "a": {"b": y}}
        number += 1
        name = f"{where}#{number}"
    arrays[name] = array if array.flags.c_contiguous else array.copy(order="C")  # (np.ascontiguousarray makes 0-d 1-d)
    return name


def _write_atomic(path, data):
    """Write ``data`` to a temporary file next to ``path``, then rename it over ``path``."""
    directory, base = os.path.split(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{base}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory):
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ----------------------------------------------------------------------------------------- load
def load(path):
    """Read a checkpoint written by :func:`save`; Tensors come back as Tensors (on the CPU),
    arrays as arrays, scalars and containers as they were.

    A plain safetensors file (e.g. a PyTorch state dict saved with ``safetensors.torch``) loads
    as a flat dict of name -> Tensor. Any invalid file raises :class:`CheckpointError`; a missing
    one, ``FileNotFoundError``.

    Example::

        >>> state = cr.load("ckpt.safetensors")
        >>> model.load_state_dict(state["model"])
    """
    path = os.fspath(path)
    raw, header = _read_checked(path)
    metadata = header.pop("__metadata__", None) or {}
    try:
        arrays = safetensors.numpy.load(raw)
    except Exception as error:  # noqa: BLE001 - the header passed our checks; report whatever safetensors found
        raise CheckpointError(f"{path}: safetensors could not read the data: {error}") from None
    if STRUCTURE_KEY not in metadata:
        return {name: _tensor(path, name, arrays[name]) for name in header}
    try:
        structure = _json(metadata[STRUCTURE_KEY])
    except DuplicateKey as error:
        raise CheckpointError(f"{path}: a node of the structure has the key {_short(error.key)} twice") from None
    except (ValueError, RecursionError) as error:
        raise CheckpointError(f"{path}: the structure in the metadata is not valid JSON: {error}") from None
    used = set()
    try:
        result = _decode(path, structure, arrays, used, 1)
    except RecursionError:
        raise CheckpointError(f"{path}: the structure is nested too deeply") from None
    if not isinstance(result, dict):
        raise CheckpointError(f"{path}: the structure's top level is not a dict")
    unused = sorted(set(arrays) - used)
    if unused:
        raise CheckpointError(f"{path}: tensors not referred to by the structure: {', '.join(unused[:10])}")
    return result


def _decode(path, node, arrays, used, depth):
    if node is None or isinstance(node, (bool, int, str)):
        return node
    if isinstance(node, float):
        return node
    if not isinstance(node, dict) or len(node) != 1:
        raise CheckpointError(f"{path}: the structure holds an unknown node {_short(node)}")
    ((kind, body),) = node.items()
    if kind in ("dict", "list", "tuple") and depth > MAX_DEPTH:
        raise CheckpointError(f"{path}: the structure nests containers more than {MAX_DEPTH} deep")
    if kind == "dict":
        if not isinstance(body, list) or not all(isinstance(item, list) and len(item) == 2 for item in body):
            raise CheckpointError(f"{path}: a dict node is not a list of [key, value] pairs: {_short(body)}")
        result = {}
        for key, item in body:
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise CheckpointError(f"{path}: a dict key is neither str nor int: {_short(key)}")
            result[key] = _decode(path, item, arrays, used, depth + 1)
        return result
    if kind in ("list", "tuple"):
        if not isinstance(body, list):
            raise CheckpointError(f"{path}: a {kind} node does not hold a list: {_short(body)}")
        items = [_decode(path, item, arrays, used, depth + 1) for item in body]
        return items if kind == "list" else tuple(items)
    if kind in ("tensor", "array", "scalar"):
        if not isinstance(body, str) or body not in arrays:
            raise CheckpointError(f"{path}: the structure refers to a tensor {_short(body)} that is not in the file")
        if body in used:  # save names every leaf once; two references would share one array
            raise CheckpointError(f"{path}: the structure refers to tensor {body!r} twice, expected once")
        used.add(body)
        array = arrays[body]
        if kind == "tensor":
            return _tensor(path, body, array)
        if kind == "scalar":
            if array.ndim != 0:
                raise CheckpointError(f"{path}: scalar {body!r} is stored with shape {array.shape}, expected ()")
            return array[()]
        return array
    raise CheckpointError(f"{path}: the structure holds an unknown node kind {kind!r}")


def _tensor(path, name, array):
    try:
        return from_numpy(array if array.flags.writeable else array.copy())
    except TypeError as error:
        raise CheckpointError(f"{path}: tensor {name!r} cannot be a chainrule Tensor: {error}") from None


_SHORT = reprlib.Repr()  # (keyword arguments need Python 3.12)
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxtuple, _SHORT.maxdict = 3, 4, 4, 4
_SHORT.maxstring = _SHORT.maxlong = _SHORT.maxother = 40


def _short(value):
    """A repr of at most 80 characters; deep or long values cost no more than their first few items."""
    text = _SHORT.repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# ----------------------------------------------------------------------------------------- header
def _read_checked(path):
    """The file's bytes and its parsed, validated safetensors header."""
    with open(path, "rb") as file:  # a missing file is FileNotFoundError, as for open()
        size = os.fstat(file.fileno()).st_size
        start = file.read(8)
        if len(start) < 8:
            raise CheckpointError(
                f"{path}: not a safetensors file: {size} bytes, too short for a header{_guess(start)}"
            )
        (header_length,) = struct.unpack("<Q", start)
        if header_length > MAX_HEADER_BYTES:
            raise CheckpointError(
                f"{path}: not a safetensors file: the header claims {header_length} bytes, more than the "
                f"{MAX_HEADER_BYTES} safetensors allows{_guess(start)}"
            )
        if header_length == 0 or header_length > size - 8:
            raise CheckpointError(
                f"{path}: not a safetensors file: the header claims {header_length} bytes but the file has "
                f"{size - 8} after the length field{_guess(start)}"
            )
        header = _parse_header(path, file.read(header_length), size - 8 - header_length)
        file.seek(0)
        raw = file.read()
    if len(raw) != size:
        raise CheckpointError(f"{path}: the file changed while it was read ({size} bytes, then {len(raw)})")
    return raw, header


def _guess(start):
    """What a non-safetensors file probably is, for the error message."""
    if start[:1] == b"\x80" and start[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return " (it looks like a pickle; chainrule never unpickles)"
    if start[:4] == b"PK\x03\x04":
        return " (it looks like a zip archive, e.g. torch.save's format; chainrule reads safetensors only)"
    return ""


def _parse_header(path, text, data_size):
    """The header's JSON as a dict, after checking every entry against ``data_size`` bytes of data."""
    try:
        header = _json(text.decode("utf-8"))
    except DuplicateKey as error:  # json and safetensors could disagree on which entry counts
        raise CheckpointError(f"{path}: the safetensors header has the key {_short(error.key)} twice") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise CheckpointError(f"{path}: the safetensors header is not valid JSON: {error}") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: the safetensors header is not a JSON object")
    metadata = header.get("__metadata__")
    if metadata is not None and not (isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())):
        raise CheckpointError(f"{path}: the safetensors metadata is not a map of str to str")
    spans = []
    for name, entry in header.items():
        if name != "__metadata__":
            spans.append((*_check_entry(path, name, entry, data_size), name))
    position = 0
    for begin, end, name in sorted(spans):
        if begin != position:
            raise CheckpointError(
                f"{path}: tensor {name!r} starts at byte {begin} of the data, expected {position} "
                "(tensors must tile the data without gaps or overlaps)"
            )
        position = end
    if position != data_size:
        raise CheckpointError(f"{path}: the tensors cover {position} bytes but the data section has {data_size}")
    return header


def _check_entry(path, name, entry, data_size):
    """(begin, end) of one tensor's bytes, after checking its dtype, shape and offsets."""
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise CheckpointError(f"{path}: tensor {name!r} needs exactly dtype, shape and data_offsets: {_short(entry)}")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise CheckpointError(f"{path}: tensor {name!r} has dtype {_short(dtype)}, expected one of {', '.join(DTYPES)}")
    if not isinstance(shape, list) or not all(_is_count(n) for n in shape):
        raise CheckpointError(f"{path}: tensor {name!r} has shape {_short(shape)}, expected a list of sizes >= 0")
    if len(shape) > MAX_DIMS:
        raise CheckpointError(
            f"{path}: tensor {name!r} has {len(shape)} dimensions, expected at most {MAX_DIMS} (NumPy's limit)"
        )
    nominal = math.prod(n for n in shape if n) * DTYPES[dtype].itemsize  # NumPy's limit, even for 0 elements
    if nominal > np.iinfo(np.intp).max:
        raise CheckpointError(
            f"{path}: tensor {name!r} has shape {_short(shape)}, expected sizes whose nonzero product fits "
            f"NumPy's index range ({nominal} bytes > {np.iinfo(np.intp).max})"
        )
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_count(n) for n in offsets):
        raise CheckpointError(f"{path}: tensor {name!r} has data_offsets {_short(offsets)}, expected [begin, end]")
    begin, end = offsets
    if not begin <= end <= data_size:
        raise CheckpointError(
            f"{path}: tensor {name!r} lies at bytes [{begin}, {end}) but the data section has {data_size} bytes"
        )
    expected = math.prod(shape) * DTYPES[dtype].itemsize
    if end - begin != expected:
        raise CheckpointError(
            f"{path}: tensor {name!r} of shape {shape} and dtype {dtype} needs {expected} bytes, "
            f"its offsets give {end - begin}"
        )
    return begin, end


class DuplicateKey(ValueError):
    """A JSON object with the same key twice (``json`` would silently keep the last)."""

    def __init__(self, key):
        super().__init__(f"duplicate key {key!r}")
        self.key = key


def _unique_pairs(pairs):
    result = dict(pairs)
    if len(result) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return result


def _json(text):
    """``json.loads`` that refuses objects with a key twice."""
    return json.loads(text, object_pairs_hook=_unique_pairs)


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
