"""neurona.io: safetensors save/load (bit-exact, interoperable with the `safetensors`
package, strict on malformed files), atomic writes under simulated crashes, checkpoints."""

import json
import math
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time

import neurona
import numpy as np
import pytest
from neurona import io as nio
from neurona.io import SafetensorsError, load, load_checkpoint, save, save_checkpoint
from safetensors import safe_open
from safetensors.numpy import load_file, save_file


def _special_f32():
    bits = np.array(
        [
            0x7FC00001,  # quiet NaN with a payload
            0xFFC00000,  # negative NaN
            0x80000000,  # -0.0
            0x00000001,  # smallest subnormal
            0x7F800000,  # +inf
            0xFF800000,  # -inf
            0x7F7FFFFF,  # largest finite
            0x3F800000,  # 1.0
        ],
        dtype=np.uint32,
    )
    return bits.view(np.float32)


def _state():
    rng = np.random.default_rng(0)
    return {
        "fc1.weight": rng.standard_normal((7, 5)).astype(np.float32),
        "fc1.bias": _special_f32(),
        "steps": np.array(12345678901234, dtype=np.int64),  # 0-d
        "ids": np.array([np.iinfo(np.int64).min, -1, 0, np.iinfo(np.int64).max]),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "mask": np.array([[True, False], [False, True]]),
        "conv.weight": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
    }


def _bits(a):
    a = np.asarray(a)
    if a.dtype == np.bool_:
        return a
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


def test_round_trip_is_bit_exact(tmp_path):
    state = _state()
    path = tmp_path / "w.safetensors"
    save(state, path)
    back = load(path)
    assert list(back) == list(state)  # file order = insertion order
    for name, a in state.items():
        b = np.asarray(back[name])
        assert isinstance(back[name], neurona.Tensor)
        assert b.shape == a.shape and b.dtype == a.dtype, name
        np.testing.assert_array_equal(_bits(b), _bits(a), err_msg=name)


def test_tensors_and_other_dtypes_are_saved_as_tensor_dtypes(tmp_path):
    path = tmp_path / "t.safetensors"
    save({"t": neurona.from_numpy(np.arange(6, dtype=np.float32).reshape(2, 3)),
          "f64": np.array([0.1, 1e-50]), "mask": np.array([True, False]),
          "u8": np.array([255], np.uint8)}, path)
    with safe_open(path, "np") as f:
        dtypes = {k: f.get_slice(k).get_dtype() for k in f.keys()}  # noqa: SIM118 (safe_open is no dict)
    assert dtypes == {"t": "F32", "f64": "F32", "mask": "BOOL", "u8": "I64"}
    back = load(path)
    np.testing.assert_array_equal(np.asarray(back["t"]), np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(np.asarray(back["f64"]), np.float32([0.1, 0.0]))
    assert np.asarray(back["mask"]).dtype == np.bool_
    assert np.asarray(back["mask"]).tolist() == [True, False]
    assert np.asarray(back["u8"]).tolist() == [255]


def test_our_files_are_read_by_safetensors_package(tmp_path):
    state = _state()
    path = tmp_path / "ours.safetensors"
    save(state, path, metadata={"epoch": "3", "note": "héllo"})
    theirs = load_file(path)
    assert set(theirs) == set(state)
    for name, a in state.items():
        np.testing.assert_array_equal(_bits(theirs[name]), _bits(a), err_msg=name)
    with safe_open(path, "np") as f:
        assert f.metadata() == {"epoch": "3", "note": "héllo"}
    assert nio.load_metadata(path) == {"epoch": "3", "note": "héllo"}
    # the data starts 8-byte aligned
    raw = path.read_bytes()
    assert (8 + struct.unpack("<Q", raw[:8])[0]) % 8 == 0


def test_safetensors_package_files_are_read_by_ours(tmp_path):
    rng = np.random.default_rng(1)
    theirs = {
        "f32": rng.standard_normal((3, 4)).astype(np.float32),
        "i64": np.array([-(2**62), 2**62], dtype=np.int64),
        "f64": np.array([1.5, -0.25, 1e-3]),
        "f16": np.array([0.5, -2.0, 65504.0], dtype=np.float16),
        "i32": np.array([-7, 2**31 - 1], dtype=np.int32),
        "u8": np.array([[0, 200, 255]], dtype=np.uint8),
        "bool": np.array([True, False, True]),
        "scalar": np.array(3.25, dtype=np.float32),
    }
    path = tmp_path / "theirs.safetensors"
    save_file(theirs, str(path), metadata={"framework": "np"})
    ours = load(path)
    assert set(ours) == set(theirs)
    np.testing.assert_array_equal(_bits(ours["f32"]), _bits(theirs["f32"]))
    np.testing.assert_array_equal(np.asarray(ours["i64"]), theirs["i64"])
    for name in ("f64", "f16", "scalar"):  # floats become float32
        assert np.asarray(ours[name]).dtype == np.float32
        np.testing.assert_array_equal(np.asarray(ours[name]), theirs[name].astype(np.float32))
    for name in ("i32", "u8"):  # integers become int64
        assert np.asarray(ours[name]).dtype == np.int64
        np.testing.assert_array_equal(np.asarray(ours[name]), theirs[name].astype(np.int64))
    assert np.asarray(ours["bool"]).dtype == np.bool_
    np.testing.assert_array_equal(np.asarray(ours["bool"]), theirs["bool"])
    assert nio.load_metadata(path) == {"framework": "np"}


def _raw_file(header: dict, data: bytes) -> bytes:
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


def test_bf16_and_u64_by_hand(tmp_path):
    # bfloat16 is the top 16 bits of float32: 1.0 = 0x3F80, -2.5 = 0xC020
    data = struct.pack("<HH", 0x3F80, 0xC020) + struct.pack("<Q", 2**63 - 1)
    path = tmp_path / "bf.safetensors"
    path.write_bytes(_raw_file({"b": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]},
                                "u": {"dtype": "U64", "shape": [1], "data_offsets": [4, 12]}},
                               data))
    out = load(path)
    assert np.asarray(out["b"]).tolist() == [1.0, -2.5]
    assert np.asarray(out["u"]).tolist() == [2**63 - 1]
    path.write_bytes(_raw_file({"u": {"dtype": "U64", "shape": [1], "data_offsets": [0, 8]}},
                               struct.pack("<Q", 2**63)))
    with pytest.raises(SafetensorsError, match="int64"):
        load(path)


@pytest.mark.parametrize(
    "raw, match",
    [
        (b"\x01\x00", "too short"),
        (struct.pack("<Q", 10**6) + b"{}", "header length"),
        (struct.pack("<Q", 4) + b"{,}x", "JSON"),
        (struct.pack("<Q", 2) + b"[]", "JSON object"),
        (_raw_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4),
         "needs 8 bytes"),
        (_raw_file({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8),
         "expected 0"),
        (_raw_file({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 8),
         "cover 4 bytes"),
        (_raw_file({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                    "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4),
         "expected 4"),
        (_raw_file({"a": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}, b"\0"),
         "unsupported dtype"),
        (_raw_file({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4),
         "bad shape"),
        (_raw_file({"a": {"dtype": "F32"}}, b""), "malformed"),
        (_raw_file({"__metadata__": {"k": 1}}, b""), "__metadata__"),
        (struct.pack("<Q", 17) + b'{"a":{},"a":{}}  ', "duplicate"),
    ],
)
def test_malformed_files_are_rejected(tmp_path, raw, match):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(raw)
    with pytest.raises(SafetensorsError, match=match):
        load(path)


def test_save_argument_errors(tmp_path):
    with pytest.raises(TypeError):
        save({1: np.zeros(2)}, tmp_path / "x")
    with pytest.raises(ValueError):
        save({"__metadata__": np.zeros(2)}, tmp_path / "x")
    with pytest.raises(TypeError):
        save({"s": np.array(["a"])}, tmp_path / "x")
    with pytest.raises(TypeError):
        save({"a": np.zeros(1)}, tmp_path / "x", metadata={"k": 1})
    assert not (tmp_path / "x").exists()


def test_state_dict_objects_are_accepted(tmp_path):
    class Model:
        def state_dict(self):
            return {"w": np.ones(3, np.float32)}

    save(Model(), tmp_path / "m.safetensors")
    assert np.asarray(load(tmp_path / "m.safetensors")["w"]).tolist() == [1, 1, 1]


# ---------------------------------------------------------------- atomicity


def _leftovers(directory):
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]


def test_failed_replace_leaves_old_file(tmp_path, monkeypatch):
    path = tmp_path / "w.safetensors"
    save({"w": np.arange(4, dtype=np.float32)}, path)
    before = path.read_bytes()

    def boom(src, dst):
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="simulated"):
        save({"w": np.zeros(1000, dtype=np.float32)}, path)
    with pytest.raises(OSError):
        save_checkpoint({"w": np.zeros(3)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert np.asarray(load(path)["w"]).tolist() == [0, 1, 2, 3]
    assert _leftovers(tmp_path) == []


def test_failed_write_midway_leaves_old_file(tmp_path, monkeypatch):
    from neurona.io import _safetensors

    path = tmp_path / "w.safetensors"
    save({"w": np.arange(4, dtype=np.float32)}, path)
    calls = []

    def write_then_fail(f, a):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # not an Exception: cleanup must still run
        f.write(a.tobytes())

    monkeypatch.setattr(_safetensors, "_write_bytes", write_then_fail)
    with pytest.raises(KeyboardInterrupt):
        save({"a": np.ones(10, np.float32), "b": np.ones(10, np.float32)}, path)
    assert np.asarray(load(path)["w"]).tolist() == [0, 1, 2, 3]
    assert _leftovers(tmp_path) == []


def test_new_file_gets_normal_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        save({"w": np.zeros(2)}, tmp_path / "p.safetensors")
    finally:
        os.umask(old)
    assert (tmp_path / "p.safetensors").stat().st_mode & 0o777 == 0o644


_CHILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from neurona.io import _safetensors, save
    real = _safetensors._write_bytes
    def slow(f, a):
        real(f, a[: a.shape[0] // 2])   # half the tensor reaches the temporary file ...
        f.flush()
        print("MID", flush=True)
        time.sleep(60)                  # ... and the process is killed here
    if sys.argv[2] == "hook":
        _safetensors._write_bytes = slow
    big = np.full((int(sys.argv[3]),), 7.0, dtype=np.float32)
    print("START", flush=True)
    save({"w": big}, sys.argv[1])
    print("DONE", flush=True)
    """
)


def _spawn(path, mode, n):
    return subprocess.Popen([sys.executable, "-c", _CHILD, str(path), mode, str(n)],
                            stdout=subprocess.PIPE, text=True)


def test_sigkill_in_the_middle_of_a_save_leaves_old_file(tmp_path):
    path = tmp_path / "w.safetensors"
    save({"w": np.arange(5, dtype=np.float32)}, path)
    before = path.read_bytes()
    child = _spawn(path, "hook", 4_000_000)
    try:
        assert child.stdout.readline().strip() == "START"
        assert child.stdout.readline().strip() == "MID"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    assert path.read_bytes() == before
    assert np.asarray(load(path)["w"]).tolist() == [0, 1, 2, 3, 4]
    # the half-written temporary file is all that is left of the killed save
    left = _leftovers(tmp_path)
    assert len(left) == 1 and left[0].startswith(".w.safetensors.")


@pytest.mark.parametrize("delay", [0.05, 0.2, 0.5])
def test_sigkill_at_arbitrary_times_gives_old_or_new_file(tmp_path, delay):
    path = tmp_path / "w.safetensors"
    save({"w": np.arange(5, dtype=np.float32)}, path)
    child = _spawn(path, "plain", 8_000_000)  # 32 MB
    try:
        assert child.stdout.readline().strip() == "START"
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    w = np.asarray(load(path)["w"])
    assert w.tolist() == [0, 1, 2, 3, 4] or (w.shape == (8_000_000,) and (w == 7).all())


# ---------------------------------------------------------------- checkpoints


def _checkpoint():
    rng = np.random.default_rng(3)
    return {
        "model": {"fc.weight": neurona.from_numpy(rng.standard_normal((3, 2)).astype(np.float32)),
                  "fc.bias": np.zeros(3, np.float32)},
        "optimizer": {
            "state": {0: {"step": 10, "exp_avg": rng.standard_normal(3).astype(np.float32)},
                      1: {"step": 10, "exp_avg": np.arange(2, dtype=np.int64)}},
            "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-8,
                              "weight_decay": 0.0, "amsgrad": False, "params": [0, 1]}],
        },
        "epoch": 7,
        "mask": np.array([True, False, True]),
        "best": float("inf"),
        "history": {"loss": [0.5, 0.25, float("nan")], "note": "ünïcode ✓"},
        "rng": bytes(range(256)),
        "scheduler": None,
        "odd keys": {"__tensor__": "not a tensor", "a/b": 1, (1, "x"): 2, 2.5: "f", None: 0},
        "empty": {"list": [], "dict": {}, "tuple": ()},
        "np_scalar": np.float64(0.1),
        "big_int": 2**80,
    }


def _same(a, b, path="root"):
    if isinstance(a, (neurona.Tensor, np.ndarray)):
        assert isinstance(b, neurona.Tensor), path
        np.testing.assert_array_equal(_bits(np.asarray(b)), _bits(np.asarray(a)), err_msg=path)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), path
        for k in a:
            _same(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{path}/{i}")
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b), path
    else:
        assert type(b) is type(a.item() if isinstance(a, np.generic) else a), path
        assert a == b, path


def test_checkpoint_round_trip(tmp_path):
    ckpt = _checkpoint()
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(ckpt, path)
    _same(ckpt, load_checkpoint(path))
    # the tensors are ordinary safetensors tensors, named by their path
    theirs = load_file(path)
    assert {"model/fc.weight", "model/fc.bias", "optimizer/state/0/exp_avg"} <= set(theirs)
    np.testing.assert_array_equal(theirs["model/fc.bias"], np.zeros(3, np.float32))


def test_checkpoint_name_collisions_stay_apart(tmp_path):
    ckpt = {"a/b": np.ones(2, np.float32), "a": {"b": np.zeros(2, np.float32)}}
    save_checkpoint(ckpt, tmp_path / "c")
    back = load_checkpoint(tmp_path / "c")
    assert np.asarray(back["a/b"]).tolist() == [1, 1]
    assert np.asarray(back["a"]["b"]).tolist() == [0, 0]


def test_checkpoint_errors(tmp_path):
    with pytest.raises(TypeError, match="model/layer"):
        save_checkpoint({"model": {"layer": object()}}, tmp_path / "c")
    assert not (tmp_path / "c").exists()
    save({"w": np.zeros(2)}, tmp_path / "plain")
    with pytest.raises(ValueError, match="not a neurona checkpoint"):
        load_checkpoint(tmp_path / "plain")
