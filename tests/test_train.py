"""Training end to end: a tiny CNN learns a synthetic task; the MNIST script runs and resumes."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tinynet as tn
import tinynet.nn as nn
import tinynet.nn.functional as F
from tinynet import train_mnist
from tinynet.data import DataLoader, TensorDataset


def _bars(n: int, rng: np.random.Generator):
    """8x8 noisy images of one bar: class 0-3 = horizontal in the top/bottom half, or
    vertical in the left/right half, at a random row/column within that half."""
    x = rng.normal(0, 0.3, size=(n, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 4, size=n)
    pos = rng.integers(0, 4, size=n) + 4 * (y % 2)  # class 0/2: rows/cols 0-3, class 1/3: 4-7
    for i in range(n):  # building the data set only; the training below is all batched
        if y[i] < 2:
            x[i, 0, pos[i], :] += 1.0
        else:
            x[i, 0, :, pos[i]] += 1.0
    return tn.from_numpy(x), tn.from_numpy(y.astype(np.int64))


def test_tiny_cnn_learns_a_synthetic_image_task():
    rng = np.random.default_rng(0)
    train, test = _bars(512, rng), _bars(256, rng)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(8 * 4 * 4, 4),
    )  # fmt: skip
    opt = tn.optim.Adam(model.parameters(), lr=1e-2)
    loader = DataLoader(TensorDataset(*train), batch_size=32, shuffle=True, seed=0)
    for _ in range(8):
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with tn.no_grad():
        acc = (model(test[0]).argmax(1) == test[1]).float().mean().item()
    assert acc > 0.95, f"test accuracy {acc:.3f}"


def test_random_shift_moves_each_image_by_at_most_the_given_pixels():
    x = np.zeros((50, 1, 9, 9), np.float32)
    x[:, 0, 4, 4] = 1.0  # one bright pixel in the middle of each image
    out = train_mnist.random_shift(tn.from_numpy(x), 2, np.random.default_rng(0)).numpy()
    assert out.shape == x.shape and (out.reshape(50, -1).sum(1) == 1).all()
    r, c = np.divmod(np.argmax(out[:, 0].reshape(50, -1), axis=1), 9)
    assert np.abs(r - 4).max() == 2 and np.abs(c - 4).max() == 2  # all offsets in [-2, 2]
    assert len(set(zip(r.tolist(), c.tolist()))) > 10  # and each image draws its own


def _run(tmp_path, name, *extra):
    argv = ["--limit", "256", "--batch-size", "64", "--no-progress", "--out",
            str(tmp_path / name), *extra]  # fmt: skip
    return train_mnist.main(argv)


def test_main_trains_writes_a_checkpoint_and_resumes_exactly(tmp_path, capsys):
    # two epochs straight, and one epoch then --resume for the second: the same weights
    assert _run(tmp_path, "straight", "--epochs", "2", "--schedule", "none") == 0
    assert _run(tmp_path, "split", "--epochs", "1", "--schedule", "none") == 0
    out = capsys.readouterr().out
    assert "epoch  1/1  train loss" in out and "test acc" in out and "img/s" in out
    ckpt = tmp_path / "split" / "checkpoint.safetensors"
    first = tn.load(ckpt)
    assert first["epoch"] == 1 and len(first["history"]["test_acc"]) == 1
    assert first["config"]["model"] == "lenet" and "state" in first["optimizer"]

    assert train_mnist.main(["--resume", str(ckpt), "--epochs", "2", "--no-progress"]) == 0
    assert "resumed from" in capsys.readouterr().out
    resumed, straight = tn.load(ckpt), tn.load(tmp_path / "straight" / "checkpoint.safetensors")
    assert resumed["epoch"] == 2 and len(resumed["history"]["test_acc"]) == 2
    for k, v in straight["model"].items():
        np.testing.assert_allclose(resumed["model"][k].numpy(), v.numpy(), rtol=1e-5, atol=1e-6)
    weights = tn.load(tmp_path / "split" / "model.safetensors")
    assert list(weights) == list(straight["model"])
    pytest.importorskip("matplotlib")
    assert (tmp_path / "split" / "curves.png").stat().st_size > 0
    assert (tmp_path / "split" / "filters.png").stat().st_size > 0


def test_resume_refuses_to_stretch_a_finished_schedule(tmp_path, capsys):
    assert _run(tmp_path, "run", "--epochs", "1") == 0  # one-cycle over 1 epoch
    ckpt = str(tmp_path / "run" / "checkpoint.safetensors")
    for argv, message in [
        (["--epochs", "2"], "schedule spans 1 epochs.*--schedule none"),
        (["--model", "classic"], "lenet model, not classic"),
    ]:
        with pytest.raises(SystemExit) as info:
            train_mnist.run(["--resume", ckpt, *argv])
        assert info.value.code == 2  # argparse's usage error
        assert re.search(message, capsys.readouterr().err)
    # past the schedule's end at a constant lr (the peak one, not where the cycle ended)
    history = train_mnist.run(["--resume", ckpt, "--epochs", "2", "--schedule", "none",
                               "--lr", "1e-3", "--no-progress"])  # fmt: skip
    assert len(history["test_acc"]) == 2
    assert tn.load(ckpt)["optimizer"]["param_groups"][0]["lr"] == 1e-3


def test_missing_full_dataset_fails_with_a_message(tmp_path, capsys):
    code = train_mnist.main(["--dataset", "fashion-mnist", "--data", str(tmp_path)])
    assert code == 1
    assert "download=True" in capsys.readouterr().err


def test_without_matplotlib_plots_are_skipped_with_a_note(monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import raises ImportError
    history = {"train_loss": [1.0], "test_loss": [1.0], "test_acc": [0.5], "step_loss": []}
    assert train_mnist.save_plots(history, train_mnist.LeNet(), None) == []
    assert "matplotlib is not installed" in capsys.readouterr().out


def test_checkpoint_loads_into_the_same_net_in_pytorch(tmp_path, torch):
    from safetensors.torch import load_file

    model = train_mnist.ClassicNet()
    tn.save(model.state_dict(), tmp_path / "classic.safetensors")

    class TorchClassic(torch.nn.Module):  # PyTorch's classic MNIST example, without dropout
        def __init__(self):
            super().__init__()
            self.conv1 = torch.nn.Conv2d(1, 32, 3)
            self.conv2 = torch.nn.Conv2d(32, 64, 3)
            self.fc1 = torch.nn.Linear(9216, 128)
            self.fc2 = torch.nn.Linear(128, 10)

        def forward(self, x):
            x = torch.relu(self.conv2(torch.relu(self.conv1(x))))
            x = torch.nn.functional.max_pool2d(x, 2).flatten(1)
            return self.fc2(torch.relu(self.fc1(x)))

    ref = TorchClassic()
    ref.load_state_dict(load_file(tmp_path / "classic.safetensors"))
    x = np.random.default_rng(0).normal(size=(2, 1, 28, 28)).astype(np.float32)
    with tn.no_grad():
        ours = model(tn.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, ref(torch.from_numpy(x)).detach().numpy(), atol=1e-4)


def test_training_runs_on_every_device(device, tmp_path):
    # batches come from the CPU data set and move with .to(device), as the script does
    cfg = dict(train_mnist.DEFAULTS["sample"], dataset="sample", limit=128, epochs=1)
    history = train_mnist.train(cfg, device=str(device), out=tmp_path, progress=False)
    assert len(history["test_acc"]) == 1 and 0.0 <= history["test_acc"][0] <= 1.0
    assert (tmp_path / "checkpoint.safetensors").is_file()


def test_the_main_job_trains_alike_on_cpu_and_the_stand_in(tmp_path):
    """The script's own training loop, `--device cpu` and `--device fakecuda` (the strict
    stand-in for CuPy) from the same seed: the same losses and the same test accuracy."""
    runs = {}
    for dev in ("cpu", "fakecuda"):
        runs[dev] = train_mnist.run(["--device", dev, "--limit", "512", "--epochs", "2",
                                     "--seed", "3", "--no-progress",
                                     "--out", str(tmp_path / dev)])  # fmt: skip
    cpu, fake = runs["cpu"], runs["fakecuda"]
    assert cpu["test_acc"] == fake["test_acc"] and cpu["test_acc"][-1] > 0.5
    np.testing.assert_allclose(fake["train_loss"], cpu["train_loss"], rtol=1e-4)
    np.testing.assert_allclose(fake["test_loss"], cpu["test_loss"], rtol=1e-4)
