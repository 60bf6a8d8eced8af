"""Conv2d speed and memory: tinynet vs PyTorch CPU in the same run (not collected by pytest).

    python benchmarks/conv.py [--repeat 7] [--rounds 3] [--quick] [--device cuda]

For each shape (N, C, H, W, F, k, extra), float32: forward, input gradient (dX) and
weight gradient (dW), each through autograd as training uses them (a gradient pass
has only its own input requiring grad, so each library computes just that one).
Each library runs in its own worker process, in alternating rounds, so that
neither times the other's BLAS / OpenMP threads still spinning, and both see the
same machine load over time (the machine is shared and noisy: compare the ratio).
Prints milliseconds (the median of the rounds' medians), GFLOP/s
(2 * N * F * C/groups * kH * kW * oH * oW per pass), the ratio tinynet / PyTorch,
and the peak memory each pass allocates beyond its inputs, the output included
(tracemalloc for NumPy; the allocations of PyTorch's ops from its profiler, which
does not see oneDNN's internal scratch memory). Then NumPy's GEMM rate, the ceiling
for im2col, and the speedup over the plain-loop reference on the first shape.
PyTorch runs with 2 threads (torch.set_num_threads(2)).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import devices  # noqa: E402

import tinynet as tn  # noqa: E402
from tinynet.ops import conv_reference as ref  # noqa: E402
from tinynet.ops.conv import conv2d  # noqa: E402

SHAPES = [  # (N, C, H, W, F, k, extra)
    (1, 5, 100, 100, 10, 5, {}),
    (64, 1, 28, 28, 6, 5, {"padding": 2}),
    (64, 32, 26, 26, 64, 3, {}),
    (32, 64, 32, 32, 64, 3, {"padding": 1}),
    (16, 16, 64, 64, 32, 3, {"stride": 2, "padding": 1, "dilation": 2}),
    (32, 64, 32, 32, 64, 3, {"padding": 1, "groups": 64}),  # depthwise
]


def _median_ms(fn, repeat, sync=lambda: None):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        sync()  # a GPU queues work: wait for it before stopping the clock
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def _tinynet_passes(x, w, kw, dev):
    """forward, and each gradient with only that input requiring grad (as torch's autograd
    would compute only the asked-for gradient)."""
    passes = {"forward": None, "dX": None, "dW": None}
    for name, grad_x, grad_w in (("forward", True, True), ("dX", True, False), ("dW", False, True)):
        tx = tn.tensor(x, device=dev).requires_grad_(grad_x)
        tw = tn.tensor(w, device=dev).requires_grad_(grad_w)
        y = conv2d(tx, tw, **kw)
        g = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
        g = tn.tensor(g, device=dev)
        if name == "forward":
            passes[name] = lambda tx=tx, tw=tw: conv2d(tx, tw, **kw)
        else:
            leaf = tx if grad_x else tw
            passes[name] = lambda y=y, leaf=leaf, g=g: tn.autograd.grad(
                y, [leaf], g, retain_graph=True
            )
    return passes


def _torch_passes(torch, x, w, kw, dev):
    passes = {}
    for name, grad_x, grad_w in (("forward", True, True), ("dX", True, False), ("dW", False, True)):
        tx = torch.from_numpy(x).to(dev).requires_grad_(grad_x)
        tw = torch.from_numpy(w).to(dev).requires_grad_(grad_w)
        y = torch.nn.functional.conv2d(tx, tw, **kw)
        g = torch.from_numpy(
            np.random.default_rng(1).standard_normal(tuple(y.shape)).astype(np.float32)
        ).to(dev)
        if name == "forward":
            passes[name] = lambda tx=tx, tw=tw: torch.nn.functional.conv2d(tx, tw, **kw)
        else:
            leaf = tx if grad_x else tw
            passes[name] = lambda y=y, leaf=leaf, g=g: torch.autograd.grad(
                y, [leaf], g, retain_graph=True
            )
    return passes


def _numpy_peak_mb(fn):
    """Peak bytes NumPy allocates while fn runs (tracemalloc sees NumPy's allocations)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    out = fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del out
    return (peak - base) / 2**20


def _torch_peak_mb(torch, fn):
    """Peak of the running sum of the allocations PyTorch's ops make while fn runs (profiler
    events; oneDNN's internal scratch memory is not among them)."""
    from torch.profiler import ProfilerActivity, profile

    with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as p:
        out = fn()
    del out
    run = peak = 0
    for e in sorted(p.events(), key=lambda e: e.time_range.start):
        run += e.self_cpu_memory_usage
        peak = max(peak, run)
    return peak / 2**20


@contextlib.contextmanager
def _quiet_stderr():
    """The profiler's C++ side logs start/stop lines to stderr: hide them."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _flops(x_shape, w_shape, y_shape):
    N, _, _, _ = x_shape
    F, Cg, kH, kW = w_shape
    return 2.0 * N * F * Cg * kH * kW * y_shape[2] * y_shape[3]


def _label(shape):
    N, C, H, W, F, k, extra = shape
    s = f"{N}x{C}x{H}x{W}, F={F}, k={k}"
    names = {"padding": "pad", "stride": "stride", "dilation": "dil", "groups": "groups"}
    return s + "".join(f", {names[k_]} {v}" for k_, v in extra.items())


def machine() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = next(ln.split(":", 1)[1].strip() for ln in out.splitlines() if "Model name" in ln)
    except (OSError, StopIteration):
        model = platform.processor() or "unknown CPU"
    return model


def _data(shape):
    N, C, H, W, F, k, extra = shape
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    w = rng.standard_normal((F, C // extra.get("groups", 1), k, k)).astype(np.float32)
    return x, w


def worker(lib: str, shapes: list[int], repeat: int, memory: bool, spec: str) -> None:
    """Time one library on the given shapes; print one JSON line per (shape, pass)."""
    if lib == "torch":
        import torch

        torch.set_num_threads(2)
        dev, sync, _ = devices.torch_device(torch, spec)
    else:
        dev, sync = devices.tinynet_device(spec)
    memory = memory and dev.type == "cpu"  # the peaks are host memory
    for i in shapes:
        x, w = _data(SHAPES[i])
        extra = SHAPES[i][6]
        passes = (
            _torch_passes(torch, x, w, extra, dev)
            if lib == "torch"
            else _tinynet_passes(x, w, extra, dev)
        )
        for name, fn in passes.items():
            fn(), fn()  # warm up: allocator, BLAS threads, caches, GPU kernel compilation
            ms = _median_ms(fn, repeat, sync)
            mb = None
            if memory:
                mb = _torch_peak_mb(torch, fn) if lib == "torch" else _numpy_peak_mb(fn)
            print(json.dumps({"shape": i, "pass": name, "ms": ms, "mb": mb}), flush=True)


def _run_worker(lib, shapes, repeat, memory, args) -> list[dict]:
    cmd = [sys.executable, __file__, "--worker", lib, "--repeat", str(repeat),
           "--shapes", ",".join(map(str, shapes)), *devices.worker_args(args)] + (
              ["--memory"] if memory else [])  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs per pass per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per library")
    parser.add_argument("--quick", action="store_true", help="first three shapes, no memory")
    parser.add_argument("--only", help="comma-separated shape indices (0-5) to run")
    parser.add_argument("--no-reference", action="store_true", help="skip the plain-loop timing")
    parser.add_argument("--worker", choices=["tinynet", "torch"], help=argparse.SUPPRESS)
    parser.add_argument("--shapes", help=argparse.SUPPRESS)
    parser.add_argument("--memory", action="store_true", help=argparse.SUPPRESS)
    devices.add_argument(parser)
    args = parser.parse_args()
    shapes = list(range(3 if args.quick else len(SHAPES)))
    if args.only:
        shapes = [int(i) for i in args.only.split(",")]
    if args.worker:
        worker(args.worker, [int(i) for i in args.shapes.split(",")], args.repeat, args.memory,
               args.device)  # fmt: skip
        return
    import torch

    devices.tinynet_device(args.device)  # fail early, with tinynet's message, if unusable
    torch_label = devices.torch_device(torch, args.device)[2]
    print(f"# {time.strftime('%Y-%m-%d')}, {machine()}, PyTorch with 2 threads")
    print(f"# tinynet on {args.device}, {torch_label}")
    print(f"# numpy {np.__version__}, torch {torch.__version__}, "
          f"python {platform.python_version()}")  # fmt: skip
    print(f"# float32; each library in its own process, {args.rounds} alternating rounds of "
          f"{args.repeat} runs per pass; ms: the median of the rounds' medians; ratio: the "
          "median of the rounds' paired ratios (min-max)")  # fmt: skip
    blas = {k: os.environ.get(k, "unset") for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    print(f"# {blas}; load average at start {_load()}\n")
    times: dict = {}
    mems: dict = {}
    for r in range(args.rounds):  # alternating: both see the same machine load over time
        for lib in ("tinynet", "torch") if r % 2 == 0 else ("torch", "tinynet"):
            memory = r == 0 and not args.quick
            for rec in _run_worker(lib, shapes, args.repeat, memory, args):
                key = (lib, rec["shape"], rec["pass"])
                times.setdefault(key, []).append(rec["ms"])
                if rec["mb"] is not None:
                    mems[key] = rec["mb"]
    print("| shape | pass | tinynet ms | PyTorch ms | ratio (min-max) | tinynet GFLOP/s | "
          "PyTorch GFLOP/s | sgemm GFLOP/s | tinynet peak MB | PyTorch peak MB |")  # fmt: skip
    print("|" + "---|" * 10)
    ratios = []
    for i in shapes:
        x, w = _data(SHAPES[i])
        y = conv2d(tn.from_numpy(x), tn.from_numpy(w), **SHAPES[i][6])
        flops = _flops(x.shape, w.shape, y.shape)
        F, Cg, kH, kW = w.shape
        roof = _sgemm_gflops(F // SHAPES[i][6].get("groups", 1), Cg * kH * kW,
                             y.shape[0] * y.shape[2] * y.shape[3], args.repeat)  # fmt: skip
        for name in ("forward", "dX", "dW"):
            ta, tb = times[("tinynet", i, name)], times[("torch", i, name)]
            ma, mb = statistics.median(ta), statistics.median(tb)
            paired = sorted(a / b for a, b in zip(ta, tb))
            ratio = statistics.median(paired)
            ratios.append(ratio)
            mem = [f"{mems[(lib, i, name)]:.1f}" if (lib, i, name) in mems else "-"
                   for lib in ("tinynet", "torch")]  # fmt: skip
            print(f"| {_label(SHAPES[i])} | {name} | {ma:.2f} | {mb:.2f} | {ratio:.2f} "
                  f"({paired[0]:.2f}-{paired[-1]:.2f}) | {flops / ma / 1e6:.0f} | "
                  f"{flops / mb / 1e6:.0f} | {roof:.0f} | {mem[0]} | {mem[1]} |")  # fmt: skip
    print(f"\nworst ratio tinynet / PyTorch: {max(ratios):.2f}; load average at end {_load()}")
    print(
        "sgemm GFLOP/s: NumPy's float32 GEMM of the conv's own size (F/groups x K @ K x "
        "N*oH*oW), this process, 2 BLAS threads: the roofline of im2col + GEMM"
    )
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2048, 2048)).astype(np.float32)
    gemm = _median_ms(lambda: a @ a, args.repeat)
    print(f"NumPy float32 GEMM n=2048 (the ceiling for im2col): {2 * 2048**3 / gemm / 1e6:.0f} "
          "GFLOP/s")  # fmt: skip
    if not args.no_reference:
        _reference_speedup(rng, args.repeat)


def _load() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def _sgemm_gflops(m, k, n, repeat) -> float:
    """NumPy's float32 GEMM rate (m x k) @ (k x n), median of `repeat` runs."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    return 2.0 * m * k * n / _median_ms(lambda: a @ b, repeat) / 1e6


def _reference_speedup(rng, repeat) -> None:
    """tinynet vs the plain-loop reference (tinynet/ops/conv_reference.py), first shape."""
    N, C, H, W, F, k, _ = SHAPES[0]
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    w = rng.standard_normal((F, C, k, k)).astype(np.float32)
    tx, tw = tn.from_numpy(x).requires_grad_(True), tn.from_numpy(w).requires_grad_(True)
    fwd = _median_ms(lambda: conv2d(tx, tw), repeat)
    y = conv2d(tx, tw)
    g = tn.ones(*y.shape)
    bwd = _median_ms(lambda: tn.autograd.grad(y, [tx, tw], g, retain_graph=True), repeat)
    t = time.perf_counter()
    y = ref.conv2d(x, w)
    ref_fwd = 1e3 * (time.perf_counter() - t)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    t = time.perf_counter()
    ref.conv2d_backward(x, w, dy)
    ref_bwd = 1e3 * (time.perf_counter() - t)
    print(f"\nplain-loop reference, {_label(SHAPES[0])}: forward {ref_fwd:.0f} ms "
          f"(tinynet {fwd:.2f} ms, {ref_fwd / fwd:.0f}x faster), dX + dW {ref_bwd:.0f} ms "
          f"(tinynet {bwd:.2f} ms, {ref_bwd / bwd:.0f}x faster)")  # fmt: skip


if __name__ == "__main__":
    main()
