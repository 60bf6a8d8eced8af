"""One epoch of PyTorch's classic MNIST recipe, tinynet against PyTorch CPU, same run.

The classic example net (conv 32 and 64 3x3, max-pool 2, fc 128, no dropout), batch 64,
SGD lr 0.01 momentum 0.9, one epoch over the full training set, then the test set. Both
libraries read the same IDX files through tinynet.data (same normalisation, same seeded
shuffle) and each runs in a fresh worker process; they differ only in the framework.
Prints the training seconds and the test accuracy of each.

    python benchmarks/epoch.py --data /usr/share/datasets/fashion-mnist [--dataset fashion-mnist]
                               [--seeds 0,1] [--device cuda]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import devices
import numpy as np


def tinynet_worker(args) -> dict:
    from tinynet.train_mnist import run

    argv = ["--dataset", args.dataset, "--data", args.data, "--model", "classic",
            "--optimizer", "sgd", "--lr", "0.01", "--momentum", "0.9", "--schedule", "none",
            "--augment", "0", "--epochs", "1", "--batch-size", "64", "--seed", str(args.seed),
            "--out", args.out, "--overwrite",  # each seed, each run: a fresh scratch checkpoint
            "--no-progress", "--device", args.device]  # fmt: skip
    history = run(argv)
    return {"seconds": history["seconds"][0], "accuracy": history["test_acc"][0]}


def torch_worker(args) -> dict:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    from tinynet.data import DataLoader
    from tinynet.train_mnist import load_data

    torch.set_num_threads(2)
    dev, sync, _ = devices.torch_device(torch, args.device)
    torch.manual_seed(args.seed)
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Linear(128, 10),
    ).to(dev)  # fmt: skip
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    train_set, test_set = load_data(args.dataset, args.data, False, None)
    loader = DataLoader(train_set, batch_size=64, shuffle=True, seed=args.seed)
    t0 = time.perf_counter()
    for x, y in loader:
        x, y = torch.from_numpy(x.numpy()).to(dev), torch.from_numpy(y.numpy()).to(dev)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    sync()
    seconds = time.perf_counter() - t0
    correct = 0
    with torch.no_grad():
        for x, y in DataLoader(test_set, batch_size=1000):
            pred = model(torch.from_numpy(x.numpy()).to(dev)).argmax(1).cpu().numpy()
            correct += int((pred == y.numpy()).sum())
    return {"seconds": seconds, "accuracy": correct / len(test_set)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="folder with the four IDX files")
    p.add_argument("--dataset", default="fashion-mnist", choices=["fashion-mnist", "mnist"])
    p.add_argument("--seeds", default="0", help="comma-separated seeds, one run each")
    p.add_argument("--out", default="runs/epoch-benchmark", help="tinynet's checkpoint folder")
    p.add_argument("--worker", choices=["tinynet", "torch"], help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    devices.add_argument(p)
    args = p.parse_args()
    if args.worker:
        result = (tinynet_worker if args.worker == "tinynet" else torch_worker)(args)
        print("RESULT " + json.dumps(result))
        return
    import torch

    devices.tinynet_device(args.device)  # fail early, with tinynet's message, if unusable
    where = f"tinynet on {args.device}, {devices.torch_device(torch, args.device)[2]}"
    print(f"one epoch of the classic recipe on {args.dataset} ({args.data}); {where}")
    print(f"{'seed':>4} {'library':<8} {'train s':>8} {'test acc':>9}")
    rows = {"tinynet": [], "torch": []}
    for seed in [int(s) for s in args.seeds.split(",")]:
        for lib in ("tinynet", "torch"):
            cmd = [sys.executable, __file__, "--worker", lib, "--seed", str(seed),
                   "--data", args.data, "--dataset", args.dataset, "--out", args.out,
                   *devices.worker_args(args)]  # fmt: skip
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            r = json.loads(out.rsplit("RESULT ", 1)[1])
            rows[lib].append(r)
            acc = 100 * r["accuracy"]
            print(f"{seed:>4} {lib:<8} {r['seconds']:>8.1f} {acc:>8.2f}%", flush=True)
    a = np.median([r["seconds"] for r in rows["tinynet"]])
    b = np.median([r["seconds"] for r in rows["torch"]])
    print(f"median training time: tinynet {a:.1f} s, PyTorch {b:.1f} s, ratio {a / b:.2f}x")


if __name__ == "__main__":
    main()
