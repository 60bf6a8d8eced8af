"""Where an epoch's time goes: per-step times of the classic recipe on real batches.

    python benchmarks/epoch_steps.py --data /usr/share/datasets/fashion-mnist
                                     [--steps 200] [--rounds 3]

benchmarks/epoch.py times one whole epoch per library (one long run each), while
benchmarks/train.py times 20-step windows on one fixed random batch and keeps the median.
This runs the epoch's loop (the same loader, net and SGD recipe as epoch.py) for `--steps`
steps in worker processes of their own, the libraries alternating for `--rounds` rounds,
and records each step's data-loading time and compute time separately. It prints, per
library, the median, mean and 90th percentile of the compute time per step and the mean
data time per step, then the tinynet / PyTorch ratio of the medians (what train.py
reports) and of the means (what an epoch's total measures), and the peak RSS growth.
Not collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
from train import classic


def worker(lib: str, data: str, steps: int, seed: int) -> dict:
    from tinynet.data import DataLoader
    from tinynet.train_mnist import load_data

    train_set, _ = load_data("fashion-mnist", data, False, None)
    loader = DataLoader(train_set, batch_size=64, shuffle=True, seed=seed)
    if lib == "torch":
        import torch

        torch.set_num_threads(2)
        torch.manual_seed(seed)
        nn, F = torch.nn, torch.nn.functional
        model = classic(nn)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def convert(x, y):
            return torch.from_numpy(x.numpy()), torch.from_numpy(y.numpy())
    else:
        import tinynet as tn

        tn.manual_seed(seed)
        nn, F = tn.nn, tn.nn.functional
        model = classic(nn)
        opt = tn.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def convert(x, y):
            return x.to("cpu"), y.to("cpu")

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    data_t, step_t = [], []
    it = iter(loader)
    for _ in range(steps):
        t0 = time.perf_counter()
        x, y = convert(*next(it))
        t1 = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        t2 = time.perf_counter()
        data_t.append(t1 - t0)
        step_t.append(t2 - t1)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"data": data_t, "step": step_t[3:], "rss_mb": (rss - rss0) / 1024}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="folder with Fashion-MNIST's four IDX files")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--worker", choices=["tinynet", "torch"], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print("RESULT " + json.dumps(worker(args.worker, args.data, args.steps, 0)))
        return
    blas = {k: os.environ.get(k, "unset") for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    print(f"# {args.steps} steps x {args.rounds} alternating rounds per library; {blas}; "
          f"load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}")  # fmt: skip
    res: dict = {"tinynet": [], "torch": []}
    for r in range(args.rounds):
        for lib in ("tinynet", "torch") if r % 2 == 0 else ("torch", "tinynet"):
            cmd = [sys.executable, __file__, "--worker", lib, "--data", args.data,
                   "--steps", str(args.steps)]  # fmt: skip
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            res[lib].append(json.loads(out.rsplit("RESULT ", 1)[1]))
    stats = {}
    print("library  step median ms  step mean ms  step p90 ms  data mean ms  RSS growth MB")
    for lib, runs in res.items():
        steps = np.array([t for run in runs for t in run["step"]]) * 1e3
        data = np.array([t for run in runs for t in run["data"]]) * 1e3
        stats[lib] = (np.median(steps), steps.mean(), data.mean())
        rss = max(run["rss_mb"] for run in runs)
        print(f"{lib:<8} {np.median(steps):>13.1f} {steps.mean():>13.1f} "
              f"{np.percentile(steps, 90):>12.1f} {data.mean():>13.2f} {rss:>14.0f}")  # fmt: skip
    per_round = sorted(statistics.mean(a["step"]) / statistics.mean(b["step"])
                       for a, b in zip(res["tinynet"], res["torch"]))  # fmt: skip
    (a_med, a_mean, a_data), (b_med, b_mean, b_data) = stats["tinynet"], stats["torch"]
    print(f"ratio of medians {a_med / b_med:.2f}x, of means {a_mean / b_mean:.2f}x, "
          f"of means with data {(a_mean + a_data) / (b_mean + b_data):.2f}x; per-round ratio "
          f"of means {' '.join(f'{r:.2f}' for r in per_round)}")  # fmt: skip
    print(f"# load average at end {' '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
