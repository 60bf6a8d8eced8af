"""Training-step time: tinynet against PyTorch CPU, same nets, same recipe, same run.

Nets: PyTorch's classic MNIST example net (conv 32 and 64 3x3, max-pool 2, fc 128,
no dropout) at batch 64, and LeNet-5 at batch 128; SGD lr 0.01 momentum 0.9,
cross-entropy, float32, random MNIST-shaped data. Prints the median ms per step
and the ratio tinynet / PyTorch.

    python benchmarks/train.py [--steps 20] [--repeats 3] [--rounds 5] [--unset-blas-env]
                               [--device cuda]

Each measurement runs in a fresh worker process of its own, the libraries alternating.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import devices
import numpy as np


def classic(nn):
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Linear(128, 10),
    )  # fmt: skip


def lenet5(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )  # fmt: skip


def time_steps(lib, make, batch, steps, repeats, spec="cpu"):
    """Median seconds per step over `repeats` runs of `steps` steps (after a warm-up)."""
    rng = np.random.default_rng(0)
    x_np = rng.random((batch, 1, 28, 28), dtype=np.float32)
    y_np = rng.integers(0, 10, batch)
    if lib == "torch":
        import torch

        dev, sync, _ = devices.torch_device(torch, spec)
        nn, F = torch.nn, torch.nn.functional
        x, y = torch.from_numpy(x_np).to(dev), torch.from_numpy(y_np).to(dev)
        model = make(nn).to(dev)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    else:
        import tinynet as tn

        dev, sync = devices.tinynet_device(spec)
        nn, F = tn.nn, tn.nn.functional
        x, y = tn.tensor(x_np, device=dev), tn.tensor(y_np.astype(np.int64), device=dev)
        model = make(nn).to(dev)
        opt = tn.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        sync()  # a GPU queues the steps: wait for them before stopping the clock
        times.append((time.perf_counter() - t0) / steps)
    return statistics.median(times)


NETS = {"classic": ("classic MNIST net, batch 64", classic, 64),
        "lenet5": ("LeNet-5, batch 128", lenet5, 128)}  # fmt: skip
BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def run_worker(lib: str, net: str, args, env) -> float:
    """Seconds per step, measured in a fresh process of its own (no shared allocator state)."""
    cmd = [sys.executable, __file__, "--worker", lib, "--net", net,
           "--steps", str(args.steps), "--repeats", str(args.repeats),
           *devices.worker_args(args)]  # fmt: skip
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def table(args, env, title: str) -> None:
    print(title)
    head = (f"{'workload':<30} {'tinynet ms':>10} {'torch ms':>9} {'ratio':>6}  per-round ratios"
            "          spread tinynet / torch (slowest round / fastest)")  # fmt: skip
    print(head)
    for net, (name, _, _) in NETS.items():
        # Alternate the libraries so that load from other jobs hits both alike. Times: the best
        # round of each; ratio: the median of the rounds' paired ratios (robust to slow drift).
        tn_t, th_t = [], []
        for _ in range(args.rounds):
            tn_t.append(run_worker("tinynet", net, args, env))
            th_t.append(run_worker("torch", net, args, env))
        ratios = sorted(a / b for a, b in zip(tn_t, th_t))
        a, b = min(tn_t) * 1e3, min(th_t) * 1e3
        spread = " ".join(f"{r:.2f}" for r in ratios)
        steady = f"{max(tn_t) / min(tn_t):.2f} / {max(th_t) / min(th_t):.2f}"
        print(f"{name:<30} {a:>10.1f} {b:>9.1f} {statistics.median(ratios):>5.2f}x  {spread:<26}"
              f"{steady}", flush=True)  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--rounds", type=int, default=5, help="alternating worker pairs per net")
    p.add_argument("--unset-blas-env", action="store_true",
                   help="also run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset")  # fmt: skip
    p.add_argument("--worker", choices=["tinynet", "torch"], help=argparse.SUPPRESS)
    p.add_argument("--net", choices=list(NETS), help=argparse.SUPPRESS)
    devices.add_argument(p)
    args = p.parse_args()
    if args.worker:
        _, make, batch = NETS[args.net]
        if args.worker == "torch":
            import torch

            torch.set_num_threads(2)
        print(time_steps(args.worker, make, batch, args.steps, args.repeats, args.device))
        return
    import torch

    devices.tinynet_device(args.device)  # fail early, with tinynet's message, if unusable
    where = f"tinynet on {args.device}, {devices.torch_device(torch, args.device)[2]}"
    blas = ", ".join(f"{k}={os.environ.get(k, '(unset)')}" for k in BLAS_ENV)
    table(
        args, dict(os.environ), f"ms per training step, SGD momentum 0.9, float32; {where} ({blas})"
    )
    if args.unset_blas_env:
        env = {k: v for k, v in os.environ.items() if k not in BLAS_ENV}
        table(args, env, "\nthe same with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset")


if __name__ == "__main__":
    main()
