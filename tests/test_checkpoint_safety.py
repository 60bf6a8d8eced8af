"""Checkpoints off the happy path: killed saves, modes, stale temporaries, crafted files.

The promises of docs/reliability.md ("Atomic saves", "Loading never trusts the file",
"Checkpoint calls as torch spells them").
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import stat
import struct
import sys
import time

import numpy as np
import pytest

import tinynet as tn
import tinynet.nn as nn
from tinynet._files import TMP_MARK

pytest.importorskip("safetensors")


def _temps(folder):
    return sorted(p.name for p in folder.iterdir() if TMP_MARK in p.name or p.name.endswith(".tmp"))


# ----- atomic saves -------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")  # the child only saves
def test_save_killed_by_sigterm_at_random_points_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "ck.safetensors"
    rng = random.Random(0)
    killed_mid_write = 0
    for trial in range(20):
        tn.save({"w": tn.full((64,), float(trial)), "step": tn.tensor(trial)}, path)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: save over and over until the signal comes
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                os.close(r)
                i = 0
                while True:
                    tn.save({"w": tn.full((64,), 1000.0 + i), "step": tn.tensor(i)}, path)
                    if i == 0:
                        os.write(w, b"1")
                    i += 1
            finally:
                os._exit(3)  # only reached if the signal raised instead of ending the process
        os.close(w)
        os.read(r, 1)  # the child has saved once: it is in its loop
        os.close(r)
        time.sleep(rng.uniform(0, 0.02))
        os.kill(pid, signal.SIGTERM)
        _, status = os.waitpid(pid, 0)
        # the process ends by SIGTERM, as it would without tinynet's handler
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM, status
        assert _temps(tmp_path) == [], f"trial {trial}: temporary files left behind"
        back = tn.load(path)  # the last complete save, whichever it was
        w_ = back["w"].numpy()
        assert (w_ == w_[0]).all() and w_[0] in (trial, 1000.0 + back["step"].item())
        killed_mid_write += w_[0] != trial
    assert killed_mid_write > 0  # the child really saved between the kills


def test_sigint_during_a_save_cleans_up_and_raises_keyboard_interrupt(tmp_path, monkeypatch):
    import safetensors.numpy

    path = tmp_path / "ck.safetensors"
    tn.save({"w": tn.ones(3)}, path)
    real = safetensors.numpy.save_file

    def interrupted(arrays, filename, metadata=None):
        real(arrays, filename, metadata=metadata)
        signal.raise_signal(signal.SIGINT)  # Ctrl-C in the middle of the write
        time.sleep(1)  # not reached: the handler raises first

    monkeypatch.setattr(safetensors.numpy, "save_file", interrupted)
    # Ctrl-C as in a terminal, even where the runner was started with SIGINT ignored
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            tn.save({"w": tn.zeros(3)}, path)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    finally:
        signal.signal(signal.SIGINT, before)
    assert _temps(tmp_path) == []
    np.testing.assert_array_equal(tn.load(path)["w"].numpy(), [1, 1, 1])


def test_a_programs_own_sigterm_handler_runs_after_the_save_completes(tmp_path, monkeypatch):
    import safetensors.numpy

    seen = []
    real = safetensors.numpy.save_file

    def signalled(arrays, filename, metadata=None):
        signal.raise_signal(signal.SIGTERM)
        seen.append("wrote")  # the write goes on: the program's handler is deferred
        real(arrays, filename, metadata=metadata)

    monkeypatch.setattr(safetensors.numpy, "save_file", signalled)
    old = signal.signal(signal.SIGTERM, lambda s, f: seen.append("handler"))
    try:
        tn.save({"w": tn.ones(2)}, tmp_path / "a.safetensors")
        assert seen == ["wrote", "handler"]
        assert signal.getsignal(signal.SIGTERM) is not None
    finally:
        signal.signal(signal.SIGTERM, old)
    assert tn.load(tmp_path / "a.safetensors")["w"].tolist() == [1.0, 1.0]
    assert _temps(tmp_path) == []


def test_one_recognisable_temporary_file_in_the_target_folder(tmp_path, monkeypatch):
    import safetensors.numpy

    names = []
    real = safetensors.numpy.save_file

    def spy(arrays, filename, metadata=None):
        names.append(os.fspath(filename))
        names.extend(_temps(tmp_path))
        real(arrays, filename, metadata=metadata)

    monkeypatch.setattr(safetensors.numpy, "save_file", spy)
    tn.save({"w": tn.ones(2)}, tmp_path / "model.safetensors")
    tmp, *present = names
    assert os.path.dirname(tmp) == str(tmp_path)
    assert re.fullmatch(r"\.model\.safetensors\.tinynet-tmp-\d+-[0-9a-f]+", os.path.basename(tmp))
    assert present == [os.path.basename(tmp)]  # exactly one temporary file


@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")  # the child just exits
def test_a_later_save_removes_stale_temporaries_of_dead_writers(tmp_path):
    dead = os.fork() if hasattr(os, "fork") else pytest.skip("needs fork")
    if dead == 0:
        os._exit(0)
    os.waitpid(dead, 0)  # a pid whose process is gone
    stale = tmp_path / f".ck.safetensors{TMP_MARK}{dead}-deadbeef"
    live = tmp_path / f".ck.safetensors{TMP_MARK}{os.getpid()}-cafe"  # a writer still running
    other = tmp_path / f".other.safetensors{TMP_MARK}{dead}-beef"  # another file's
    for p in (stale, live, other):
        p.write_bytes(b"half a checkpoint")
    tn.save({"w": tn.ones(2)}, tmp_path / "ck.safetensors")
    assert not stale.exists() and live.exists() and other.exists()


def test_resaving_keeps_the_files_permission_bits(tmp_path):
    path = tmp_path / "ck.safetensors"
    tn.save({"w": tn.ones(2)}, path)
    for mode in (0o640, 0o604, 0o600):
        os.chmod(path, mode)
        tn.save({"w": tn.zeros(2)}, path)
        assert stat.S_IMODE(path.stat().st_mode) == mode


def test_the_umask_is_never_changed_not_even_briefly(tmp_path, monkeypatch):
    def forbidden(*a):
        raise AssertionError("os.umask called: another thread could create a file with mask 0")

    old = os.umask(0o027)  # set before the save, by the test: 0o640 for new files
    try:
        monkeypatch.setattr(os, "umask", forbidden)
        tn.save({"w": tn.ones(2)}, tmp_path / "new.safetensors")
        monkeypatch.undo()
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.safetensors").stat().st_mode) == 0o640


# ----- loading crafted files -----------------------------------------------------------------


def _file(header, data: bytes = b"", raw_header: bytes | None = None) -> bytes:
    h = raw_header if raw_header is not None else json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


def _entry(dtype="F32", shape=(2,), offsets=(0, 8)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


def _skeleton(node) -> dict:
    return {"__metadata__": {"tinynet.skeleton": json.dumps(node)}, "w": _entry()}


def _crafted():
    """(name, file bytes): valid safetensors framing around wrong contents, one kind each."""
    deep = "[" * 100_000 + "]" * 100_000
    yield "empty", b""
    yield "short length", b"\x01\x02"
    yield "huge header length", struct.pack("<Q", 2**63) + b"{}"
    yield "header past the end", struct.pack("<Q", 1000) + b"{}"
    yield "not utf-8", _file(None, raw_header=b"\xff\xfe{}")
    yield "not JSON", _file(None, raw_header=b"{'w': not json}")
    yield "deeply nested header", _file(None, raw_header=deep.encode())
    yield (
        "deeply nested object",
        _file(None, raw_header=(('{"a":' * 50_000) + "1" + "}" * 50_000).encode()),
    )
    yield "a list", _file([1, 2, 3])
    yield "a number", _file(7)
    yield "metadata not a dict", _file({"__metadata__": [1], "w": _entry()}, bytes(8))
    yield "metadata values not str", _file({"__metadata__": {"a": 1}, "w": _entry()}, bytes(8))
    yield "entry not an object", _file({"w": [1, 2]}, bytes(8))
    yield "entry missing a field", _file({"w": {"dtype": "F32", "shape": [2]}}, bytes(8))
    yield "entry extra field", _file({"w": dict(_entry(), extra=1)}, bytes(8))
    yield "dtype unknown", _file({"w": _entry(dtype="F99")}, bytes(8))
    yield "dtype not a string", _file({"w": _entry(dtype=4)}, bytes(8))
    yield "dtype F8", _file({"w": _entry(dtype="F8_E4M3", shape=(8,))}, bytes(8))
    yield "shape negative", _file({"w": _entry(shape=(-2,))}, bytes(8))
    yield "shape float", _file({"w": {**_entry(), "shape": [2.0]}}, bytes(8))
    yield "shape bool", _file({"w": {**_entry(), "shape": [True, True]}}, bytes(8))
    yield "shape a string", _file({"w": {**_entry(), "shape": "2"}}, bytes(8))
    yield "shape huge", _file({"w": _entry(shape=(2**62, 2**62))}, bytes(8))
    yield "offsets out of range", _file({"w": _entry(offsets=(0, 800))}, bytes(8))
    yield "offsets negative", _file({"w": _entry(offsets=(-8, 0))}, bytes(8))
    yield "offsets reversed", _file({"w": _entry(offsets=(8, 0))}, bytes(8))
    yield "offsets not a pair", _file({"w": {**_entry(), "data_offsets": [0]}}, bytes(8))
    yield "offsets floats", _file({"w": {**_entry(), "data_offsets": [0.0, 8.0]}}, bytes(8))
    yield "offsets huge", _file({"w": {**_entry(), "data_offsets": [0, 10**400]}}, bytes(8))
    yield "size mismatch", _file({"w": _entry(shape=(3,))}, bytes(8))
    yield "overlap", _file({"a": _entry(), "b": _entry(offsets=(4, 12))}, bytes(12))
    yield "same bytes twice", _file({"a": _entry(), "b": _entry()}, bytes(8))
    yield "gap", _file({"a": _entry(offsets=(4, 12))}, bytes(12))
    yield "trailing bytes", _file({"a": _entry()}, bytes(16))
    yield (
        "uint64 beyond int64",
        _file({"u": _entry(dtype="U64", shape=(1,))}, np.array([2**64 - 1], "<u8").tobytes()),
    )
    yield (
        "skeleton not JSON",
        _file({"__metadata__": {"tinynet.skeleton": "{oops"}, "w": _entry()}, bytes(8)),
    )
    yield "skeleton nested deeply", _file(
        {"__metadata__": {"tinynet.skeleton": '{"__list__":[' * 5000 + "]}" * 5000},
         "w": _entry()}, bytes(8))  # fmt: skip
    yield "skeleton unknown node", _file(_skeleton({"__pickle__": "os.system"}), bytes(8))
    yield "skeleton missing tensor", _file(_skeleton({"__tensor__": "nope"}), bytes(8))
    yield "skeleton tensor not str", _file(_skeleton({"__tensor__": ["w"]}), bytes(8))
    yield "skeleton dict not pairs", _file(_skeleton({"__dict__": [["a"]]}), bytes(8))
    yield "skeleton dict not list", _file(_skeleton({"__dict__": {"a": 1}}), bytes(8))
    yield "skeleton two kinds", _file(_skeleton({"__list__": [], "__tuple__": []}), bytes(8))
    yield "skeleton list not list", _file(_skeleton({"__list__": 3}), bytes(8))
    yield "skeleton a bare dict", _file(_skeleton({"a": 1, "b": 2}), bytes(8))
    yield (
        "key order not a list",
        _file({"__metadata__": {"tinynet.keys": '{"a": 1}'}, "w": _entry()}, bytes(8)),
    )
    yield (
        "devices not a dict",
        _file({"__metadata__": {"tinynet.devices": "[1]"}, "w": _entry()}, bytes(8)),
    )


@pytest.mark.parametrize("case", list(_crafted()), ids=lambda c: c[0])
def test_crafted_files_give_one_clear_value_error_naming_the_file(tmp_path, case):
    name, body = case
    path = tmp_path / "crafted.safetensors"
    path.write_bytes(body)
    with pytest.raises(ValueError) as info:
        tn.load(path)
    assert type(info.value) is ValueError  # not a JSONDecodeError or another subclass
    msg = str(info.value)
    assert str(path) in msg and "not a valid safetensors file" in msg
    assert "(" in msg and len(msg) < 2000  # says what is wrong, briefly


def test_random_header_mutations_never_escape_as_anything_but_value_error(tmp_path):
    path = tmp_path / "m.safetensors"
    tn.save({"a": tn.randn(3), "b": tn.tensor([1, 2])}, path)
    good = path.read_bytes()
    n = struct.unpack("<Q", good[:8])[0]
    rng = random.Random(0)
    for _ in range(300):
        body = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(n + 8)
            body[i] = rng.randrange(256)
        path.write_bytes(bytes(body))
        try:
            tn.load(path)
        except ValueError as e:
            assert str(path) in str(e)


def test_integer_and_bfloat16_files_load_with_their_values_kept_exactly(tmp_path, torch):
    from safetensors.torch import save_file

    src = {
        "u8": torch.tensor([0, 255], dtype=torch.uint8),
        "i16": torch.tensor([-32768, 7], dtype=torch.int16),
        "u64": torch.tensor([0, 2**63 - 1], dtype=torch.uint64),
        "bf16": torch.tensor([1.5, -3.25e10], dtype=torch.bfloat16),
        "bf16_0d": torch.tensor(2.5, dtype=torch.bfloat16),
        "empty": torch.zeros(0, 3, dtype=torch.int16),
    }
    save_file(src, tmp_path / "t.safetensors")
    back = tn.load(tmp_path / "t.safetensors")
    assert back["u8"].tolist() == [0, 255] and back["u8"].dtype == tn.int64
    assert back["i16"].tolist() == [-32768, 7]
    assert back["u64"].tolist() == [0, 2**63 - 1]
    assert back["bf16"].tolist() == src["bf16"].float().tolist()
    assert back["bf16_0d"].shape == () and back["bf16_0d"].item() == 2.5
    assert back["empty"].shape == (0, 3)


# ----- torch's spellings -----------------------------------------------------------------------


def test_load_accepts_torchs_map_location_and_weights_only(tmp_path, device):
    path = tmp_path / "m.safetensors"
    tn.save({"w": tn.ones(2, device=device)}, path)
    for kw in ({"map_location": "cpu"}, {"map_location": tn.device("cpu")},
               {"map_location": {str(device): "cpu"}}, {"weights_only": True},
               {"weights_only": False, "map_location": "cpu"},
               {"map_location": lambda storage, loc: storage}):  # fmt: skip
        sd = tn.load(path, **kw)
        assert sd["w"].device == tn.device("cpu") and sd["w"].tolist() == [1.0, 1.0], kw
    assert tn.load(path, map_location=str(device))["w"].device == device
    tn.save({"c": tn.ones(1), "w": tn.ones(1, device=device)}, tmp_path / "two.safetensors")
    two = tn.load(tmp_path / "two.safetensors", map_location={"cpu": str(device)})
    assert two["c"].device == device and two["w"].device == device  # unmapped: stays put
    with open(path, "rb") as f:  # a binary file object, as torch.load takes
        assert tn.load(f, map_location="cpu")["w"].tolist() == [1.0, 1.0]
    with pytest.raises(TypeError, match="map_location must be"):
        tn.load(path, map_location=3)
    with pytest.raises(ValueError, match="map_location or device"):
        tn.load(path, map_location="cpu", device="cpu")
    with pytest.raises(TypeError, match="returned int"):
        tn.load(path, map_location=lambda s, loc: 3)


@pytest.mark.parametrize("what", ["module", "optimizer"])
def test_saving_a_whole_object_says_to_save_its_state_dict(tmp_path, what):
    model = nn.Linear(2, 2)
    obj = model if what == "module" else tn.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"pickl.*state_dict\(\)") as info:
        tn.save(obj, tmp_path / "x.safetensors")
    assert type(obj).__name__ in str(info.value)
    assert not list(tmp_path.iterdir())
    # what to save instead round-trips, the optimizer's nested state included
    tn.save({"model": model.state_dict(), "opt": tn.optim.SGD(model.parameters(), lr=0.1,
            momentum=0.9).state_dict()}, tmp_path / "ok.safetensors")  # fmt: skip
    back = tn.load(tmp_path / "ok.safetensors")
    assert back["opt"]["param_groups"][0]["momentum"] == 0.9


if sys.platform == "win32":  # pragma: no cover
    pytestmark = pytest.mark.skip("POSIX signals and modes")
