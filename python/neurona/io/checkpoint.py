"""Full training checkpoints: a nested structure of Tensors/arrays and plain Python values in
one safetensors file.

Tensors are stored as safetensors tensors, named by their path in the structure
("model/fc1.weight", "optimizer/state/0/exp_avg"); everything else goes, as JSON, into the
"__metadata__" entry "neurona.checkpoint", where each tensor is a reference
{"__tensor__": name}. Values that JSON cannot hold exactly are tagged: bytes (e.g. an RNG
state) as {"__bytes__": base64}, tuples as {"__tuple__": [...]}, and dicts whose keys are not
all strings (an optimizer's per-parameter state keyed by int) as {"__dict__": [[key, value],
...]}. Floats round-trip exactly (including nan and inf); numpy scalars come back as Python
numbers. The file is written atomically.
"""

from __future__ import annotations

import base64
import json

import numpy as np

from ..data._convert import to_tensor
from . import _safetensors

FORMAT_KEY = "neurona.checkpoint"
FORMAT_VERSION = 1
_MARKERS = ("__tensor__", "__bytes__", "__tuple__", "__dict__")


class _Encoder:
    def __init__(self):
        self.tensors: dict[str, object] = {}

    def tensor_name(self, path: list[str]) -> str:
        base = "/".join(path) or "tensor"
        name, n = base, 1
        while name in self.tensors:  # two paths can join to the same string ("a/b" vs a, b)
            n += 1
            name = f"{base}#{n}"
        return name

    def key(self, k, path):
        if k is None or isinstance(k, (bool, int, float, str)):
            return k
        if isinstance(k, np.generic):
            return k.item()
        if isinstance(k, tuple):
            return {"__tuple__": [self.key(v, path) for v in k]}
        raise TypeError(f"save_checkpoint cannot store a dict key of type {type(k).__name__} "
                        f"at {'/'.join(path) or 'the top level'}")

    def encode(self, v, path: list[str]):
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        if isinstance(v, np.generic):
            return v.item()
        if isinstance(v, (bytes, bytearray)):
            return {"__bytes__": base64.b64encode(bytes(v)).decode("ascii")}
        if isinstance(v, np.ndarray) or hasattr(v, "__array__"):
            name = self.tensor_name(path)
            self.tensors[name] = v
            return {"__tensor__": name}
        if isinstance(v, tuple):
            return {"__tuple__": [self.encode(x, [*path, str(i)]) for i, x in enumerate(v)]}
        if isinstance(v, list):
            return [self.encode(x, [*path, str(i)]) for i, x in enumerate(v)]
        if isinstance(v, dict):
            if all(isinstance(k, str) for k in v) and not any(k in _MARKERS for k in v):
                return {k: self.encode(x, [*path, k]) for k, x in v.items()}
            return {"__dict__": [[self.key(k, path), self.encode(x, [*path, str(k)])]
                                 for k, x in v.items()]}
        raise TypeError(
            f"save_checkpoint cannot store a value of type {type(v).__name__} at "
            f"{'/'.join(path) or 'the top level'}: use Tensors, arrays, numbers, str, bytes, "
            "None, lists, tuples and dicts"
        )


def _decode(v, tensors: dict):
    if isinstance(v, list):
        return [_decode(x, tensors) for x in v]
    if not isinstance(v, dict):
        return v
    if len(v) == 1:
        (tag, inner), = v.items()
        if tag == "__tensor__":
            return to_tensor(tensors[inner])
        if tag == "__bytes__":
            return base64.b64decode(inner)
        if tag == "__tuple__":
            return tuple(_decode(x, tensors) for x in inner)
        if tag == "__dict__":
            return {_key(k): _decode(x, tensors) for k, x in inner}
    return {k: _decode(x, tensors) for k, x in v.items()}


def _key(k):
    if isinstance(k, dict) and "__tuple__" in k:
        return tuple(_key(x) for x in k["__tuple__"])
    return k


def save_checkpoint(obj, path) -> None:
    """Save a training checkpoint (e.g. {"model": ..., "optimizer": ..., "epoch": 3,
    "rng": neurona.get_rng_state()}) to `path`, atomically. Tensor dtypes follow `save`."""
    enc = _Encoder()
    structure = enc.encode(obj, [])
    meta = {
        FORMAT_KEY: json.dumps({"version": FORMAT_VERSION, "structure": structure},
                               separators=(",", ":")),
    }
    _safetensors.write(enc.tensors, path, metadata=meta)


def load_checkpoint(path):
    """Load what `save_checkpoint` wrote: the same structure, with Tensors for tensors."""
    arrays, metadata = _safetensors.read(path)
    if FORMAT_KEY not in metadata:
        raise ValueError(
            f"{path}: not a neurona checkpoint (no {FORMAT_KEY!r} metadata); use "
            "neurona.io.load for a plain safetensors file"
        )
    doc = json.loads(metadata[FORMAT_KEY])
    if doc.get("version") != FORMAT_VERSION:
        raise ValueError(f"{path}: unsupported checkpoint version {doc.get('version')!r}")
    return _decode(doc["structure"], arrays)
