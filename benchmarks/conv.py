"""Conv2d speed and memory: tinynet vs PyTorch CPU in the same run (not collected by pytest).

    python benchmarks/conv.py [--repeat 7] [--quick]

For each shape (N, C, H, W, F, k, extra), float32: forward, input gradient (dX) and
weight gradient (dW), each through autograd as training uses them, timed as the
median of 3 blocks of `--repeat` runs each, tinynet and PyTorch alternating (the
machine is shared and noisy: compare the ratio, taken in the same run). Prints milliseconds,
GFLOP/s (2 * N * F * C/groups * kH * kW * oH * oW per pass), the ratio
tinynet / PyTorch, and the peak memory each pass allocates beyond its inputs
(the output included): tracemalloc for NumPy, the profiler's allocation events for
PyTorch. Then the speedup over the plain-loop reference on the first shape.
PyTorch runs with 2 threads (torch.set_num_threads(2)).
"""

from __future__ import annotations

import argparse
import contextlib
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


def _median_ms(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def _tinynet_passes(x, w, kw):
    """forward, and each gradient with only that input requiring grad (as torch's autograd
    would compute only the asked-for gradient)."""
    passes = {"forward": None, "dX": None, "dW": None}
    for name, grad_x, grad_w in (("forward", True, True), ("dX", True, False), ("dW", False, True)):
        tx = tn.from_numpy(x).requires_grad_(grad_x)
        tw = tn.from_numpy(w).requires_grad_(grad_w)
        y = conv2d(tx, tw, **kw)
        g = tn.from_numpy(np.random.default_rng(1).standard_normal(y.shape).astype(np.float32))
        if name == "forward":
            passes[name] = lambda tx=tx, tw=tw: conv2d(tx, tw, **kw)
        else:
            leaf = tx if grad_x else tw
            passes[name] = lambda y=y, leaf=leaf, g=g: tn.autograd.grad(
                y, [leaf], g, retain_graph=True
            )
    return passes


def _torch_passes(torch, x, w, kw):
    passes = {}
    for name, grad_x, grad_w in (("forward", True, True), ("dX", True, False), ("dW", False, True)):
        tx = torch.from_numpy(x).requires_grad_(grad_x)
        tw = torch.from_numpy(w).requires_grad_(grad_w)
        y = torch.nn.functional.conv2d(tx, tw, **kw)
        g = torch.from_numpy(
            np.random.default_rng(1).standard_normal(tuple(y.shape)).astype(np.float32)
        )
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="first three shapes, no memory")
    parser.add_argument("--no-reference", action="store_true", help="skip the plain-loop timing")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(2)
    print(f"# {time.strftime('%Y-%m-%d')}, {machine()}, {torch.get_num_threads()} torch threads")
    print(
        f"# numpy {np.__version__}, torch {torch.__version__}, python {platform.python_version()}"
    )
    print(f"# float32, median of 3 x {args.repeat} runs (tinynet and PyTorch in alternating "
          "blocks)\n")  # fmt: skip
    header = ("| shape | pass | tinynet ms | PyTorch ms | ratio | tinynet GFLOP/s | "
              "PyTorch GFLOP/s | tinynet peak MB | PyTorch peak MB |")  # fmt: skip
    print(header)
    print("|" + "---|" * 9)
    rng = np.random.default_rng(0)
    shapes = SHAPES[:3] if args.quick else SHAPES
    ratios = []
    for shape in shapes:
        N, C, H, W, F, k, extra = shape
        groups = extra.get("groups", 1)
        x = rng.standard_normal((N, C, H, W)).astype(np.float32)
        w = rng.standard_normal((F, C // groups, k, k)).astype(np.float32)
        ours, theirs = _tinynet_passes(x, w, extra), _torch_passes(torch, x, w, extra)
        y_shape = ours["forward"]().shape
        flops = _flops(x.shape, w.shape, y_shape)
        for name in ("forward", "dX", "dW"):
            a, b = ours[name], theirs[name]
            ta, tb = [], []
            for _ in range(3):  # alternating blocks: both see the same machine load, and
                a()  # neither times the other library's threads still spinning after it
                ta += [_median_ms(a, 1) for _ in range(args.repeat)]
                b()
                tb += [_median_ms(b, 1) for _ in range(args.repeat)]
            ma, mb = statistics.median(ta), statistics.median(tb)
            ratios.append(ma / mb)
            mem = ("-", "-")
            if not args.quick:
                mem = (f"{_numpy_peak_mb(a):.1f}", f"{_torch_peak_mb(torch, b):.1f}")
            print(f"| {_label(shape)} | {name} | {ma:.2f} | {mb:.2f} | {ma / mb:.2f} | "
                  f"{flops / ma / 1e6:.0f} | {flops / mb / 1e6:.0f} | {mem[0]} | {mem[1]} |",
                  flush=True)  # fmt: skip
    print(f"\nworst ratio tinynet / PyTorch: {max(ratios):.2f}")
    a = rng.standard_normal((2048, 2048)).astype(np.float32)
    gemm = _median_ms(lambda: a @ a, args.repeat)
    print(f"NumPy float32 GEMM n=2048 (the ceiling for im2col): {2 * 2048**3 / gemm / 1e6:.0f} "
          "GFLOP/s")  # fmt: skip
    if not args.no_reference:
        _reference_speedup(rng, args.repeat)


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
