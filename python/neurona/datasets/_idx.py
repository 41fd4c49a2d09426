"""Reading IDX files (the MNIST / Fashion-MNIST format), plain or gzip-compressed.

Layout: a 4-byte magic number (two zero bytes, a type code, the number of dimensions), then
one big-endian uint32 per dimension, then the values, big-endian, row-major. Every check
failure raises `IdxError` (a ValueError) naming the file and what was wrong.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib

import numpy as np

# type code -> big-endian numpy dtype
_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class IdxError(ValueError):
    """An IDX file is truncated, corrupt, or not the kind of IDX file expected."""


def _read_bytes(path) -> bytes:
    with open(path, "rb") as f:
        head = f.read(2)
    try:
        if head == b"\x1f\x8b":
            with gzip.open(path, "rb") as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise IdxError(f"{os.fspath(path)}: corrupt gzip stream ({e})") from e


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse the bytes of an IDX file into a numpy array of its native (big-endian) dtype."""
    if len(data) < 4:
        raise IdxError(f"{name}: too short to be an IDX file ({len(data)} bytes)")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or code not in _DTYPES:
        raise IdxError(
            f"{name}: bad IDX magic number 0x{int.from_bytes(data[:4], 'big'):08x} (expected "
            "0x0000TTDD with a known type code TT)"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxError(f"{name}: truncated header ({len(data)} bytes, {ndim} dimensions)")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = _DTYPES[code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise IdxError(
            f"{name}: size mismatch: header says shape {shape} of {dtype.name}, which needs "
            f"{expected} bytes, but the file has {len(data)}"
        )
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)


def read_idx(path, magic: int | None = None) -> np.ndarray:
    """Read an IDX file (gzip-compressed or not); if `magic` is given, the file's magic number
    must equal it (e.g. 0x00000803 for 3-D unsigned-byte images)."""
    data = _read_bytes(path)
    name = os.fspath(path)
    if magic is not None and (len(data) < 4 or int.from_bytes(data[:4], "big") != magic):
        found = int.from_bytes(data[:4], "big") if len(data) >= 4 else None
        found_s = f"0x{found:08x}" if found is not None else "nothing (file too short)"
        raise IdxError(f"{name}: bad IDX magic number: expected 0x{magic:08x}, found {found_s}")
    return parse_idx(data, name)
