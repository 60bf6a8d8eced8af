"""tn.save / tn.load: safetensors round trips, atomic writes, clear errors, PyTorch both ways."""

from __future__ import annotations

import os

import numpy as np
import pytest

import tinynet as tn
import tinynet.nn as nn
from tinynet.serialization import flatten_state, unflatten_state

pytest.importorskip("safetensors")


def _np(t):
    return t.detach().numpy() if isinstance(t, tn.Tensor) else t.detach().cpu().numpy()


def _lenet(m):
    """LeNet-5 with BatchNorm, written once for torch.nn and tinynet.nn."""
    return m.Sequential(
        m.Conv2d(1, 6, 5, padding=2), m.BatchNorm2d(6), m.ReLU(), m.MaxPool2d(2),
        m.Conv2d(6, 16, 5), m.ReLU(), m.AvgPool2d(2), m.Flatten(),
        m.Linear(16 * 5 * 5, 120), m.ReLU(), m.Linear(120, 84), m.BatchNorm1d(84), m.ReLU(),
        m.Linear(84, 10),
    )  # fmt: skip


def test_round_trip_keeps_order_dtypes_and_values(tmp_path):
    sd = {
        "z.weight": tn.randn(3, 4),
        "a.bias": tn.randn(4, dtype=tn.float64),
        "count": tn.tensor(7),
        "mask": tn.tensor([True, False]),
        "half": tn.randn(2, 2).half(),
        "ints": tn.tensor([1, 2], dtype=tn.int32),
    }
    path = tmp_path / "ck.safetensors"
    tn.save(sd, path)
    back = tn.load(path)
    assert list(back) == list(sd)
    for k, v in sd.items():
        assert back[k].dtype == v.dtype and back[k].shape == v.shape, k
        np.testing.assert_array_equal(_np(back[k]), _np(v))
    back["z.weight"] += 1  # loaded tensors are writable
    assert not any(f.name.endswith(".tmp") for f in tmp_path.iterdir())


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    tn.save({"w": tn.ones(2)}, path)
    import safetensors.numpy

    def broken(arrays, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.numpy, "save_file", broken)
    with pytest.raises(OSError, match="disk full"):
        tn.save({"w": tn.zeros(2)}, path)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == [path], "the temporary file is removed"
    np.testing.assert_array_equal(tn.load(path)["w"].numpy(), [1.0, 1.0])  # old file intact


def test_saved_file_gets_the_mode_open_would_give(tmp_path):
    old = os.umask(0o022)
    try:
        tn.save({"w": tn.ones(2)}, tmp_path / "a.safetensors")
        os.umask(0o077)
        tn.save({"w": tn.ones(2)}, tmp_path / "b.safetensors")
    finally:
        os.umask(old)
    assert (tmp_path / "a.safetensors").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.safetensors").stat().st_mode & 0o777 == 0o600


def test_not_safetensors_is_a_clear_error(tmp_path):
    pt = tmp_path / "model.pt"
    pt.write_bytes(b"PK\x03\x04" + b"\x00" * 100)  # what torch.save writes: a zip of pickles
    with pytest.raises(ValueError, match=r"not a valid safetensors file.*PyTorch pickle"):
        tn.load(pt)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"hello world, not a checkpoint")
    with pytest.raises(ValueError, match="not a valid safetensors file"):
        tn.load(junk)
    good = tmp_path / "good.safetensors"
    tn.save({"w": tn.ones(100)}, good)
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(good.read_bytes()[:-10])
    with pytest.raises(ValueError, match="not a valid safetensors file"):
        tn.load(truncated)
    with pytest.raises(FileNotFoundError, match="no checkpoint file"):
        tn.load(tmp_path / "missing.safetensors")
    with pytest.raises(TypeError, match="state_dict"):
        tn.save(nn.Linear(2, 2), tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match="cannot store a object"):
        tn.save({"x": object()}, tmp_path / "o.safetensors")


def test_nested_checkpoint_with_optimizer(tmp_path):
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    opt = tn.optim.Adam(net.parameters(), lr=0.01, amsgrad=True)
    sched = tn.optim.lr_scheduler.StepLR(opt, 2)
    for _ in range(3):
        opt.zero_grad()
        net(tn.randn(5, 3)).sum().backward()
        opt.step()
        sched.step()
    ck = {"model": net.state_dict(), "optimizer": opt.state_dict(), "sched": sched.state_dict(),
          "epoch": 3, "history": [1.5, 0.5], "note": None}  # fmt: skip
    tn.save(ck, tmp_path / "ck.safetensors")
    back = tn.load(tmp_path / "ck.safetensors")
    assert back["epoch"] == 3 and back["history"] == [1.5, 0.5] and back["note"] is None
    assert list(back["model"]) == list(net.state_dict())
    osd = back["optimizer"]
    assert sorted(osd["state"]) == [0, 1, 2, 3, 4, 5]  # int keys restored
    assert osd["param_groups"][0]["betas"] == (0.9, 0.999)  # tuples restored
    assert osd["state"][0]["step"].dtype == tn.float32

    net2 = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    net2.load_state_dict(back["model"])
    opt2 = tn.optim.Adam(net2.parameters(), lr=0.01, amsgrad=True)
    sched2 = tn.optim.lr_scheduler.StepLR(opt2, 2)
    opt2.load_state_dict(osd)
    sched2.load_state_dict(back["sched"])
    assert sched2.get_last_lr() == sched.get_last_lr()
    x = tn.randn(5, 3)
    for o, n in ((opt, net), (opt2, net2)):
        o.zero_grad()
        n(x).sum().backward()
        o.step()
    for a, b in zip(net.parameters(), net2.parameters()):
        np.testing.assert_array_equal(_np(a), _np(b))

    # a bare optimizer state dict saves too
    tn.save(opt.state_dict(), tmp_path / "opt.safetensors")
    assert tn.load(tmp_path / "opt.safetensors")["state"][2]["exp_avg"].shape == (4,)


def test_flatten_unflatten_keys():
    obj = {"state": {0: {"m": tn.ones(2)}}, "groups": [{"lr": 0.1, "params": [0, 1]}]}
    tensors, skeleton = flatten_state(obj)
    assert list(tensors) == ["state.0.m"]
    back = unflatten_state(tensors, skeleton)
    assert back["groups"] == [{"lr": 0.1, "params": [0, 1]}] and back["state"][0]["m"] is \
        tensors["state.0.m"]  # fmt: skip
    with pytest.raises(ValueError, match="same key"):
        flatten_state({"a.b": tn.ones(1), "a": {"b": tn.ones(1)}})


def test_load_to_device(tmp_path, device):
    tn.save({"w": tn.randn(3)}, tmp_path / "w.safetensors")
    w = tn.load(tmp_path / "w.safetensors", device=device)["w"]
    assert w.device == device
    net = nn.Linear(3, 1).to(device)
    tn.save(net.state_dict(), tmp_path / "net.safetensors")
    net2 = nn.Linear(3, 1).to(device)
    net2.load_state_dict(tn.load(tmp_path / "net.safetensors", device="cpu"))  # moved on copy
    assert net2.weight.device == device


def test_tinynet_checkpoint_loads_in_torch(torch, tmp_path):
    from safetensors.torch import load_file

    net = _lenet(nn)
    net.train()
    for _ in range(2):  # move the BatchNorm statistics off their initial values
        net(tn.randn(4, 1, 28, 28))
    net.eval()
    path = tmp_path / "lenet.safetensors"
    tn.save(net.state_dict(), path)
    tnet = _lenet(torch.nn)
    tnet.load_state_dict(load_file(str(path)))  # strict: every key and shape matches
    tnet.eval()
    assert tnet[1].num_batches_tracked.item() == 2
    x = np.random.default_rng(0).standard_normal((3, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(_np(net(tn.tensor(x))), _np(tnet(torch.tensor(x))), rtol=1e-4,
                               atol=1e-5)  # fmt: skip


def test_torch_checkpoint_loads_in_tinynet(torch, tmp_path):
    from safetensors.torch import save_file

    tnet = _lenet(torch.nn)
    tnet.train()
    with torch.no_grad():
        tnet(torch.randn(4, 1, 28, 28))
    tnet.eval()
    path = tmp_path / "torch_lenet.safetensors"
    save_file(tnet.state_dict(), str(path))
    net = _lenet(nn)
    net.load_state_dict(tn.load(path))
    net.eval()
    x = np.random.default_rng(1).standard_normal((3, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(_np(net(tn.tensor(x))), _np(tnet(torch.tensor(x))), rtol=1e-4,
                               atol=1e-5)  # fmt: skip
    assert os.path.getsize(path) > 0


def test_load_takes_torchs_keywords(tmp_path):
    """torch.load(path, map_location=..., weights_only=...) ports unchanged."""
    sd = {"w": tn.arange(6.0).view(2, 3), "b": tn.zeros(2)}
    path = tmp_path / "m.safetensors"
    tn.save(sd, path)
    cases = [{"map_location": "cpu"}, {"map_location": tn.device("cpu")}, {"weights_only": True}]
    cases.append({"weights_only": False, "map_location": "cpu"})
    for kwargs in cases:
        got = tn.load(path, **kwargs)
        assert list(got) == ["w", "b"] and got["w"].device.type == "cpu"
        np.testing.assert_array_equal(got["w"].numpy(), sd["w"].numpy())
    with pytest.raises(ValueError, match="map_location or device, not both"):
        tn.load(path, "cpu", device="cpu")  # torch's second positional is map_location
    with pytest.raises(TypeError, match="map_location must be a device string"):
        tn.load(path, map_location=3)
