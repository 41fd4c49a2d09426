"""The safetensors format, read and written with the standard library and numpy only.

Layout: an 8-byte little-endian unsigned header length N; N bytes of UTF-8 JSON mapping each
tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets into the data that
follows, which the tensors tile with no gaps), plus an optional "__metadata__" str -> str map;
then the raw little-endian tensor bytes. The header is padded with spaces so the data starts
8-byte aligned, as the reference implementation does.

Written dtypes: F32, I64 and BOOL, neurona's Tensor dtypes (other float arrays are stored as
F32, other integer arrays as I64: the rule of `neurona.from_numpy`). Read dtypes: F32, F64,
F16, BF16 (all become float32), I64, I32, I16, I8, U64, U32, U16, U8 (all become int64; a U64
value above the int64 range is an error) and BOOL (bool). F8 types are refused.
"""

from __future__ import annotations

import json
import os
import struct

import numpy as np

from ..data._convert import as_array, tensor_dtype_of
from ._atomic import atomic_write

MAX_HEADER = 100_000_000  # the reference implementation's limit
_CHUNK = 1 << 24  # bytes per write call

_READ = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "BF16": "<u2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U64": "<u8",
    "U32": "<u4",
    "U16": "<u2",
    "U8": "u1",
    "BOOL": "u1",
}


class SafetensorsError(ValueError):
    """A file is not valid safetensors."""


def _prepare(tensors: dict) -> dict[str, np.ndarray]:
    out = {}
    for name, value in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"tensor names must be str, got {name!r}")
        if name == "__metadata__":
            raise ValueError("'__metadata__' is reserved and cannot name a tensor")
        a = as_array(value)
        try:
            dtype = tensor_dtype_of(a)
        except TypeError as e:
            raise TypeError(f"tensor {name!r}: {e}") from None
        # astype, not ascontiguousarray, which would turn a 0-d array into a 1-d one
        out[name] = a.astype(dtype.newbyteorder("<"), order="C", copy=False)
    return out


def _header(arrays: dict[str, np.ndarray], metadata) -> bytes:
    header: dict = {}
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise TypeError("metadata must map str to str")
        header["__metadata__"] = dict(metadata)
    offset = 0
    for name, a in arrays.items():
        dtype = {"f": "F32", "i": "I64", "b": "BOOL"}[a.dtype.kind]
        header[name] = {"dtype": dtype, "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    raw = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    raw += b" " * (-(8 + len(raw)) % 8)
    return struct.pack("<Q", len(raw)) + raw


def _write_bytes(f, a: np.ndarray) -> None:
    """Write one array's bytes in chunks (large arrays never need a second copy)."""
    flat = memoryview(a.reshape(-1).view(np.uint8))
    for start in range(0, len(flat), _CHUNK):
        f.write(flat[start : start + _CHUNK])


def write(tensors: dict, path, metadata: dict | None = None) -> None:
    """Write `tensors` (name -> Tensor or array) to `path` as safetensors, atomically."""
    arrays = _prepare(tensors)
    head = _header(arrays, metadata)
    with atomic_write(path) as f:
        f.write(head)
        for a in arrays.values():
            _write_bytes(f, a)


def _parse_header(raw: bytes, name: str) -> dict:
    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise SafetensorsError(f"{name}: duplicate key in the header")
        return dict(pairs)

    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SafetensorsError(f"{name}: the header is not valid UTF-8 JSON ({e})") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{name}: the header is not a JSON object")
    return header


def _entries(header: dict, data_len: int, name: str) -> list:
    """Validate the tensor entries; return (name, dtype, shape, begin, end) in data order."""
    entries = []
    for key, info in header.items():
        if key == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        except (TypeError, KeyError, ValueError):
            raise SafetensorsError(f"{name}: malformed entry for tensor {key!r}") from None
        if dtype not in _READ:
            raise SafetensorsError(f"{name}: tensor {key!r} has unsupported dtype {dtype!r}")
        ints = [*shape, begin, end] if isinstance(shape, list) else None
        if ints is None or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                                   for v in ints):
            raise SafetensorsError(f"{name}: tensor {key!r} has a bad shape or offsets")
        nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(_READ[dtype]).itemsize
        if end - begin != nbytes:
            raise SafetensorsError(
                f"{name}: tensor {key!r} of dtype {dtype} and shape {shape} needs {nbytes} "
                f"bytes, its offsets [{begin}, {end}] span {end - begin}"
            )
        entries.append((key, dtype, tuple(shape), begin, end))
    entries.sort(key=lambda e: (e[3], e[4]))
    pos = 0
    for key, _, _, begin, end in entries:
        if begin != pos:
            raise SafetensorsError(
                f"{name}: tensor {key!r} starts at byte {begin}, expected {pos} (the tensors "
                "must tile the data with no gaps or overlaps)"
            )
        pos = end
    if pos != data_len:
        raise SafetensorsError(
            f"{name}: the tensors cover {pos} bytes but the file holds {data_len} after the header"
        )
    return entries


def _decode(buf, dtype: str, shape: tuple, begin: int, end: int, key: str) -> np.ndarray:
    item = np.dtype(_READ[dtype])
    if end == begin:  # an empty tensor; frombuffer cannot start at the end of the buffer
        raw = np.zeros(shape, dtype=item)
    else:
        raw = np.frombuffer(buf, dtype=item, count=(end - begin) // item.itemsize, offset=begin)
        raw = raw.reshape(shape)
    if dtype == "BF16":  # bfloat16 is the top half of a float32
        return (raw.astype(np.uint32) << 16).view(np.float32)
    if dtype == "BOOL":
        return raw.astype(np.bool_)
    if dtype in ("F64", "F32", "F16"):
        return raw.astype(np.float32, copy=False)
    if dtype == "U64" and raw.size and raw.max() > np.iinfo(np.int64).max:
        raise SafetensorsError(f"tensor {key!r}: U64 value {raw.max()} does not fit in int64")
    return raw.astype(np.int64, copy=False)


def _open_header(f, name: str, size: int) -> tuple[int, dict, dict]:
    """Read and check the header of an open file: (header length, header, metadata)."""
    head = f.read(8)
    if len(head) < 8:
        raise SafetensorsError(f"{name}: too short to be a safetensors file ({size} bytes)")
    (n,) = struct.unpack("<Q", head)
    if n > MAX_HEADER or 8 + n > size:
        raise SafetensorsError(f"{name}: header length {n} is impossible for a file of {size} bytes")
    header = _parse_header(f.read(n), name)
    metadata = header.get("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise SafetensorsError(f"{name}: __metadata__ must map str to str")
    return n, header, metadata


def read_metadata(path) -> dict[str, str]:
    """Only the "__metadata__" of a safetensors file (the tensor data is not read)."""
    with open(path, "rb") as f:
        return _open_header(f, os.fspath(path), os.fstat(f.fileno()).st_size)[2]


def read(path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read a safetensors file: (name -> float32/int64 array in file order, metadata)."""
    name = os.fspath(path)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        n, header, metadata = _open_header(f, name, size)
        # One writable buffer; F32/I64 tensors (on little-endian hosts) are views into it.
        data = bytearray(size - 8 - n)
        got = f.readinto(data)
    if got != len(data):
        raise SafetensorsError(f"{name}: the file changed while it was being read")
    arrays = {}
    for key, dtype, shape, begin, end in _entries(header, len(data), name):
        arrays[key] = _decode(data, dtype, shape, begin, end, key)
    return arrays, metadata
