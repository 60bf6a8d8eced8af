"""Engine overhead: 10,000 tiny elementwise ops, forward and backward, tinynet vs PyTorch CPU.

Tensors of 4 or 64 elements make the arithmetic free, so the time per op is the
framework's own bookkeeping: argument handling, the node on the tape, the
backward traversal and the gradient Tensors. The chain repeats
`y = tanh(y * c + x)` (mul, add, tanh), then `y.sum().backward()`.

Each library runs in a fresh worker process of its own (so neither pays for the
other's objects in Python's garbage collector: a full collection walks every
live object, and importing torch makes ~170k of them), and the workers of the
two libraries alternate so both see the same machine noise. Figures are
medians over all runs.

    python benchmarks/engine.py [--ops 10000] [--rounds 3] [--repeats 3] [--no-gc]
                                [--device cuda]

`--no-gc` turns Python's cyclic garbage collector off while timing, to show how
much of the time is the collector walking the graph's objects.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import subprocess
import sys
import time

import devices
import numpy as np

SHAPES = [(4,), (8, 8)]


def _chain(lib, x, c, n_ops: int):
    y = x
    for _ in range(n_ops // 3):
        y = lib.tanh(y * c + x)
    return y


def time_tinynet(shape, n_ops: int, spec: str) -> tuple[float, float]:
    """Seconds for the forward chain and for forward + backward."""
    import tinynet as tn

    dev, sync = devices.tinynet_device(spec)
    x = tn.randn(*shape, requires_grad=True, device=dev)
    c = tn.full(shape, 0.5, device=dev)
    sync()
    t0 = time.perf_counter()
    y = _chain(tn, x, c, n_ops)
    sync()
    t1 = time.perf_counter()
    y.sum().backward()
    sync()
    t2 = time.perf_counter()
    assert x.grad is not None and np.isfinite(x.grad.numpy()).all()
    return t1 - t0, t2 - t0


def time_torch(shape, n_ops: int, spec: str) -> tuple[float, float]:
    import torch

    dev, sync, _ = devices.torch_device(torch, spec)
    x = torch.randn(*shape, requires_grad=True, device=dev)
    c = torch.full(shape, 0.5, device=dev)
    sync()
    t0 = time.perf_counter()
    y = _chain(torch, x, c, n_ops)
    sync()
    t1 = time.perf_counter()
    y.sum().backward()
    sync()
    t2 = time.perf_counter()
    assert x.grad is not None
    return t1 - t0, t2 - t0


def worker(lib: str, n_ops: int, repeats: int, no_gc: bool, spec: str = "cpu") -> dict:
    """Runs in a fresh process: {shape: [(fwd, fwd+bwd) seconds, ...]} after a warm-up."""
    if lib == "torch":
        import torch

        torch.set_num_threads(2)
    fn = time_tinynet if lib == "tinynet" else time_torch
    if no_gc:
        gc.disable()
    out = {}
    for shape in SHAPES:
        fn(shape, n_ops, spec)  # warm-up: caches, allocator
        out[str(shape)] = [fn(shape, n_ops, spec) for _ in range(repeats)]
    return out


def _run_worker(lib: str, args) -> dict:
    cmd = [sys.executable, __file__, "--worker", lib, "--ops", str(args.ops),
           "--repeats", str(args.repeats), *devices.worker_args(args)] + (
              ["--no-gc"] if args.no_gc else [])  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"the {lib} worker failed:\n{done.stderr}")
    return json.loads(done.stdout)


def _cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown CPU"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=10_000, help="ops in the chain")
    parser.add_argument("--rounds", type=int, default=3, help="worker processes per library")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per worker and shape")
    parser.add_argument("--no-gc", action="store_true", help="disable the cyclic GC while timing")
    parser.add_argument("--worker", choices=["tinynet", "torch"], help=argparse.SUPPRESS)
    devices.add_argument(parser)
    args = parser.parse_args(argv)
    args.ops = args.ops // 3 * 3
    if args.worker:
        print(json.dumps(worker(args.worker, args.ops, args.repeats, args.no_gc, args.device)))
        return

    import torch

    devices.tinynet_device(args.device)  # fail early, with tinynet's message, if unusable
    torch_label = devices.torch_device(torch, args.device)[2]

    runs = {lib: {str(s): [] for s in SHAPES} for lib in ("tinynet", "torch")}
    for _ in range(args.rounds):
        for lib in runs:
            for shape, times in _run_worker(lib, args).items():
                runs[lib][shape] += times
    n = args.ops
    print(f"{time.strftime('%Y-%m-%d')}, {_cpu_name()}, Python {platform.python_version()}, "
          f"NumPy {np.__version__}, torch {torch.__version__} (2 threads)")  # fmt: skip
    gc_state = "off" if args.no_gc else "on"
    print(f"{n} ops (mul, add, tanh) + sum, forward then backward; median of "
          f"{args.rounds} x {args.repeats} runs; cyclic GC {gc_state}; tinynet on "
          f"{args.device}, {torch_label}\n")  # fmt: skip
    print("| shape | tinynet fwd | tinynet fwd+bwd | PyTorch fwd | PyTorch fwd+bwd | ratio |")
    print("|---|---|---|---|---|---|")
    us = 1e6 / n
    for shape in SHAPES:
        (tf, tfb), (pf, pfb) = (
            [statistics.median(r[k] for r in runs[lib][str(shape)]) for k in (0, 1)]
            for lib in ("tinynet", "torch")
        )
        print(f"| {shape} | {tf * us:.2f} us/op | {tfb * us:.2f} us/op | {pf * us:.2f} us/op | "
              f"{pfb * us:.2f} us/op | {tfb / pfb:.2f}x |")  # fmt: skip


if __name__ == "__main__":
    main()
