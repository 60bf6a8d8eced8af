"""The main job refuses bad input before any work and never replaces a finished run.

Both entry points: `tinynet-train-mnist` (tinynet.train_mnist:main) and
examples/train_mnist.py. docs/reliability.md, "The main job".
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import tinynet as tn
from tinynet import train_mnist
from tinynet.__main__ import main as tinynet_main
from tinynet.serialization import read_metadata

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _example():
    spec = importlib.util.spec_from_file_location("example_train_mnist", ROOT / "examples" /
                                                  "train_mnist.py")  # fmt: skip
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(params=["console", "example"])
def entry(request, monkeypatch):
    """main(argv) of one entry point, with the training itself forbidden."""

    def no_work(*a, **k):
        raise AssertionError("training started before the options were checked")

    if request.param == "console":
        monkeypatch.setattr(train_mnist, "train", no_work)
        return train_mnist.main
    mod = _example()
    monkeypatch.setattr(mod, "mnist_sample", no_work)
    return mod.main


def _cuda_works() -> bool:
    try:
        tn.device("cuda")
    except (RuntimeError, ValueError):
        return False
    return True


BAD = [
    (["--epochs", "0"], "--epochs"),
    (["--epochs", "-3"], "--epochs"),
    (["--epochs", "2.5"], "--epochs"),
    (["--epochs", "many"], "--epochs"),
    (["--batch-size", "0"], "--batch-size"),
    (["--batch-size", "-64"], "--batch-size"),
    (["--width", "0"], "--width"),
    (["--limit", "0"], "--limit"),
    (["--limit", "-1"], "--limit"),
    (["--lr", "nan"], "--lr"),
    (["--lr", "inf"], "--lr"),
    (["--lr", "-inf"], "--lr"),
    (["--lr", "-0.001"], "--lr"),
    (["--seed", "-1"], "--seed"),
    (["--device", "tpu"], "--device"),
    (["--device", "cuda:x"], "--device"),
    (["--device", "cpu:0:1"], "--device"),
    pytest.param(
        ["--device", "cuda"],
        "--device",
        marks=pytest.mark.skipif(_cuda_works(), reason="cuda works here"),
    ),  # fmt: skip
    (["--device", "cuda:999"], "--device"),
]


@pytest.mark.parametrize("argv, option", BAD)
def test_bad_options_are_usage_errors_before_any_work(entry, argv, option, capsys):
    with pytest.raises(SystemExit) as info:
        entry(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage:") and f"error: argument {option}" in err
    assert "Traceback" not in err


def test_console_only_options_are_checked_too(capsys):
    for argv, option in [(["--momentum", "nan"], "--momentum"),
                         (["--weight-decay", "-1"], "--weight-decay"),
                         (["--augment", "-2"], "--augment")]:  # fmt: skip
        with pytest.raises(SystemExit) as info:
            train_mnist.main(argv)
        assert info.value.code == 2 and f"argument {option}" in capsys.readouterr().err


def test_an_output_folder_that_is_a_file_or_not_writable_is_refused(entry, tmp_path, capsys):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    cases = [str(a_file), str(a_file / "run")]
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        cases += [str(locked), str(locked / "run")]
    for out in cases:
        with pytest.raises(SystemExit) as info:
            entry(["--out", out])
        err = capsys.readouterr().err
        assert info.value.code == 2 and "error: argument --out" in err, out
        assert "a file" in err or "permission denied" in err


def test_bad_usage_exits_2_without_a_traceback_from_the_command_line(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    example = str(ROOT / "examples" / "train_mnist.py")
    for cmd in ([sys.executable, "-m", "tinynet.train_mnist", "--lr", "nan"],
                [sys.executable, example, "--epochs", "0"]):  # fmt: skip
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
        assert r.returncode == 2, r.stderr
        assert "error: argument" in r.stderr and "Traceback" not in r.stderr


def _earlier_run(folder: pathlib.Path) -> bytes:
    folder.mkdir(parents=True, exist_ok=True)
    tn.save({"model": {"w": tn.ones(2)}, "epoch": 15}, folder / "checkpoint.safetensors")
    return (folder / "checkpoint.safetensors").read_bytes()


def test_a_new_run_refuses_an_out_folder_holding_another_run(entry, tmp_path, capsys):
    before = _earlier_run(tmp_path / "run")
    with pytest.raises(SystemExit) as info:
        entry(["--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "--resume" in err and "--overwrite" in err
    assert (tmp_path / "run" / "checkpoint.safetensors").read_bytes() == before
    # only the weights of a run: refused as well
    (tmp_path / "w").mkdir()
    tn.save({"w": tn.ones(1)}, tmp_path / "w" / "model.safetensors")
    with pytest.raises(SystemExit):
        entry(["--out", str(tmp_path / "w")])


def test_overwrite_replaces_the_run_and_resume_continues_it(tmp_path):
    out = tmp_path / "run"
    args = ["--limit", "64", "--epochs", "1", "--width", "1", "--no-progress", "--out", str(out)]
    _earlier_run(out)
    assert train_mnist.main([*args, "--schedule", "none", "--overwrite"]) == 0
    ck = tn.load(out / "checkpoint.safetensors")
    assert ck["epoch"] == 1 and "config" in ck
    resume = ["--resume", str(out / "checkpoint.safetensors"), "--epochs", "2", "--no-progress"]
    assert train_mnist.main(resume) == 0  # resuming in its own folder is not a new run
    assert tn.load(out / "checkpoint.safetensors")["epoch"] == 2
    # --resume elsewhere, into a folder that holds a third run: refused
    _earlier_run(tmp_path / "other")
    with pytest.raises(SystemExit):
        train_mnist.main([*resume, "--out", str(tmp_path / "other")])


def test_the_example_overwrites_and_resumes_its_own_run(tmp_path, capsys):
    ex = _example()
    args = ["--limit", "64", "--epochs", "2", "--width", "1", "--no-progress",
            "--out", str(tmp_path)]  # fmt: skip
    _earlier_run(tmp_path)
    ex.main([*args, "--overwrite"])
    ck = tn.load(tmp_path / "checkpoint.safetensors")
    assert ck["epoch"] == 2 and set(ck) == {"model", "optimizer", "scheduler", "epoch"}
    with pytest.raises(SystemExit):
        ex.main([*args, "--resume"])  # both epochs done
    assert "already has 2 epochs" in capsys.readouterr().err


def test_checkpoint_and_weights_always_end_up_at_the_same_epoch(tmp_path, monkeypatch, capsys):
    """A crash between the checkpoint's write and the weights' leaves them one epoch apart;
    the weights file says which epoch it holds and --resume puts it right first."""
    out = tmp_path / "run"
    args = ["--limit", "64", "--width", "1", "--schedule", "none", "--no-progress"]
    real = train_mnist.save_weights

    def crash_at_epoch_2(path, sd, epoch, run_id):
        if epoch == 2:
            raise KeyboardInterrupt  # the process dies between the two writes
        real(path, sd, epoch, run_id)

    monkeypatch.setattr(train_mnist, "save_weights", crash_at_epoch_2)
    assert train_mnist.main([*args, "--epochs", "2", "--out", str(out)]) == 130
    monkeypatch.undo()
    ckpt, weights = out / "checkpoint.safetensors", out / "model.safetensors"
    ck = tn.load(ckpt)
    assert ck["epoch"] == 2 and read_metadata(weights)["epoch"] == "1"  # the mismatch
    capsys.readouterr()
    assert train_mnist.main(["--resume", str(ckpt), "--no-progress"]) == 0  # nothing to train
    assert "rewrote" in capsys.readouterr().out
    meta = read_metadata(weights)
    assert meta["epoch"] == "2" and meta["run"] == ck["run"] != ""
    w = tn.load(weights)
    for k, v in ck["model"].items():
        np.testing.assert_array_equal(w[k].numpy(), v.numpy())
    assert not train_mnist.sync_weights(ckpt, tn.load(ckpt))  # now in step: nothing to do


def test_doctor_reports_a_missing_device_on_one_line(capsys):
    code = tinynet_main(["doctor", "--device", "cuda:999", "--device", "cpu"])
    out = capsys.readouterr().out
    assert code == 1  # a fault: the device asked for is not here
    line = next(ln for ln in out.splitlines() if "cuda:999" in ln)
    assert "FAULT" in line and "not usable here" in line
    assert "ok     cpu" in out  # the other devices are still checked
    for bad in ("tpu", "cuda:x"):
        with pytest.raises(SystemExit) as info:
            tinynet_main(["doctor", "--device", bad])
        assert info.value.code == 2 and "argument --device" in capsys.readouterr().err
