"""`python -m tinynet doctor`: versions, the classic CuPy install faults, and a conv2d check.

It prints the versions that matter (Python, NumPy, BLAS, CuPy, the CUDA runtime and
driver, the GPUs), then what is wrong with the GPU setup and how to fix it (no CuPy,
a CuPy wheel for another CUDA major than the driver's, a missing libcudart), then runs
one conv2d forward and backward on every available device and reports the largest
difference from the CPU. The exit status is 1 when it found a fault, else 0; a device
asked for with --device that this machine lacks (`--device cuda:7` on a one-GPU machine)
is a fault, reported on one line; an unknown device type is a usage error (status 2).
"""

from __future__ import annotations

import platform
import sys
import time

import numpy as np

from . import backend
from .tensor import Tensor

__all__ = ["main", "blas_info", "device_check"]


def blas_info() -> str:
    """The BLAS NumPy uses: threadpoolctl's view (library, version, threads) if installed."""
    try:
        import threadpoolctl
    except ImportError:
        threadpoolctl = None
    if threadpoolctl is not None:
        libs = [i for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
        if libs:
            i = libs[0]
            arch = f", {i['architecture']}" if i.get("architecture") else ""
            return (
                f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads{arch})"
            )
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')} (from NumPy's build config)"
    except Exception:  # older NumPy: no dict mode
        return "unknown (pip install threadpoolctl to see it)"


def _conv_step(dev, host: dict) -> dict:
    """One conv2d forward and backward on `dev`; host copies of y, dx, dw, db."""
    try:
        from .ops.conv import conv2d
    except ImportError:
        conv2d = None
    t = {k: Tensor._make(dev.backend.from_host(v, dev.index), dev, False, None)
         for k, v in host.items()}  # fmt: skip
    for k in ("x", "w", "b"):
        t[k].requires_grad_(True)
    with backend.device_context(dev):
        if conv2d is not None:
            y = conv2d(t["x"], t["w"], t["b"], stride=1, padding=1)
        else:  # no conv2d in this build: a linear layer exercises the same GEMM path
            y = t["x"].reshape(18, 27) @ t["w"].reshape(4, 27).T + t["b"]
        (y * t["g"] if y.shape == t["g"].shape else y).sum().backward()
        dev.backend.synchronize(dev.index)
    return {"y": y.detach()._host(), "dx": t["x"].grad._host(), "dw": t["w"].grad._host(),
            "db": t["b"].grad._host()}  # fmt: skip


def device_check(devices=None, rtol: float = 1e-4) -> list[dict]:
    """Run one conv2d forward/backward (float32) on each device; compare with the CPU.

    Returns one dict per device: `device`, `ok`, `max_abs` (per result), `max_rel`,
    `seconds`, `error`.
    """
    rng = np.random.default_rng(0)
    host = {
        "x": rng.standard_normal((2, 3, 9, 9)).astype(np.float32),
        "w": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
        "b": rng.standard_normal(4).astype(np.float32),
        "g": rng.standard_normal((2, 4, 9, 9)).astype(np.float32),
    }
    cpu = backend.device("cpu")
    ref = _conv_step(cpu, host)
    out = []
    for dev in devices or backend.available_devices():
        row = {"device": str(dev), "ok": True, "max_abs": {}, "max_rel": 0.0, "seconds": 0.0,
               "error": None}  # fmt: skip
        try:
            dev = backend.device(dev)  # a device this machine lacks is reported, not raised
            row["device"] = str(dev)  # "cuda" -> "cuda:0"
        except (RuntimeError, ValueError, TypeError) as e:
            row.update(ok=False, error=f"not usable here: {e}")
            out.append(row)
            continue
        try:
            t0 = time.perf_counter()
            got = _conv_step(dev, host)
            row["seconds"] = time.perf_counter() - t0
        except Exception as e:  # report it, and go on with the other devices
            row.update(ok=False, error=f"{type(e).__name__}: {e}")
            out.append(row)
            continue
        for k, want in ref.items():
            diff = float(np.abs(got[k].astype(np.float64) - want).max())
            row["max_abs"][k] = diff
            scale = float(np.abs(want).max()) or 1.0
            row["max_rel"] = max(row["max_rel"], diff / scale)
        row["ok"] = row["max_rel"] <= rtol
        out.append(row)
    return out


def _mb(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


def main(devices=None, file=None) -> int:
    """Print the report; return 1 if a fault was found, else 0."""
    file = file or sys.stdout
    from . import __version__

    def say(line: str = "") -> None:
        print(line, file=file)

    say(f"tinynet {__version__} doctor")
    say(f"  Python        {platform.python_version()} ({sys.executable})")
    say(f"  NumPy         {np.__version__}")
    say(f"  BLAS          {blas_info()}")
    from .backend import cpu

    kept = "on" if cpu.malloc_tuned else "off (TINYNET_KEEP_FREED_MEMORY=0, or not glibc)"
    say(f"  malloc reuse  {kept}")
    info = backend.diagnose("cuda") or {}
    from .backend.cuda import cuda_version_str

    pkgs = ", ".join(f"{n} {v}" for n, v in info.get("cupy_packages", []))
    if info.get("cupy_version"):
        say(f"  CuPy          {info['cupy_version']} ({pkgs or 'built from source'})")
    elif pkgs:
        say(f"  CuPy          installed but not importable: {pkgs}")
    else:
        say("  CuPy          not installed")
    say(f"  CUDA runtime  {cuda_version_str(info.get('cuda_runtime')) or '-'}")
    say(f"  CUDA driver   {cuda_version_str(info.get('cuda_driver')) or 'not found'}")
    gpus = info.get("gpus") or []
    if gpus:
        for g in gpus:
            say(f"  GPU {g['index']}         {g['name']} ({_mb(g['memory'])}, "
                f"compute capability {g['capability']})")  # fmt: skip
    else:
        say("  GPUs          none usable")
    others = [t for t in backend.backend_types() if t not in ("cpu", "cuda")]
    if others:
        say(f"  other devices {', '.join(others)}")

    faults = 0
    say()
    say("Setup")
    for level, what, fix in info.get("findings", []):
        faults += level == "fault"
        say(f"  {'FAULT' if level == 'fault' else level:<5}  {what}")
        if fix:
            say(f"         fix: {fix}")

    say()
    say("conv2d forward + backward (float32, 2x3x9x9, 4 filters 3x3, padding 1) vs cpu")
    for row in device_check(devices):
        if row["error"]:
            faults += 1
            say(f"  FAULT  {row['device']}: {row['error']}")
            continue
        if row["device"] == "cpu":
            say(f"  ok     cpu: the reference ({row['seconds'] * 1e3:.1f} ms)")
            continue
        diffs = ", ".join(f"{k} {v:.2g}" for k, v in row["max_abs"].items())
        status = "ok   " if row["ok"] else "FAULT"
        faults += not row["ok"]
        say(f"  {status}  {row['device']}: max |diff| {diffs} (relative {row['max_rel']:.2g}; "
            f"{row['seconds'] * 1e3:.1f} ms)")  # fmt: skip
    say()
    say(f"{faults} fault{'s' if faults != 1 else ''} found" if faults else "no faults found")
    return 1 if faults else 0
