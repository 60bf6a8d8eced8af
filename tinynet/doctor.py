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

import ctypes
import importlib.metadata
import platform
import re
import sys
import time

import numpy as np

from . import backend
from .tensor import Tensor

__all__ = ["main", "blas_info", "device_check", "cuda_report", "findings"]


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


# ----- the CUDA setup: backend.diagnose("cuda")'s facts, judged ------------------------------


def cuda_report() -> dict:
    """What the CUDA backend reports (backend/cuda.py's `diagnose()`: CuPy, the runtime, the
    GPUs, NVRTC), completed with what needs no CuPy (the installed CuPy packages, the
    driver's CUDA version from libcuda), and `findings`: what is wrong and how to fix it."""
    info = dict(backend.diagnose("cuda") or {})
    info["cupy_packages"] = _cupy_distributions()
    driver = _driver_version()
    if driver is not None or "cuda_driver" not in info:
        info["cuda_driver"] = driver
    info["findings"] = findings(info)
    return info


def _cupy_distributions() -> list[tuple[str, str]]:
    """Installed CuPy packages as (name, version): cupy-cuda12x, cupy-cuda11x, cupy, ..."""
    found = {}
    for dist in importlib.metadata.distributions():
        dist_name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if re.fullmatch(r"cupy(-cuda\w+|-rocm[\w-]+)?", dist_name):  # CuPy's wheels, by name
            found[dist_name] = dist.version
    return sorted(found.items())


def wheel_cuda_major(dist_name: str) -> int | None:
    """The CUDA major version a CuPy wheel is built for: cupy-cuda12x -> 12, -cuda117 -> 11."""
    m = re.fullmatch(r"cupy-cuda(\d+)x", dist_name)
    if m:
        return int(m.group(1))
    m = re.fullmatch(r"cupy-cuda(\d+)(\d)", dist_name)  # legacy per-minor wheels
    return int(m.group(1)) if m else None


def _driver_version() -> int | None:
    """The CUDA version the NVIDIA driver supports (12040 = 12.4), from libcuda; None if absent."""
    names = ["nvcuda.dll"] if sys.platform == "win32" else ["libcuda.so.1", "libcuda.so"]
    for lib_name in names:
        try:
            lib = ctypes.CDLL(lib_name)
        except OSError:
            continue
        version = ctypes.c_int(0)
        try:
            if lib.cuDriverGetVersion(ctypes.byref(version)) == 0 and version.value > 0:
                return int(version.value)
        except AttributeError:
            continue
    return None


def cuda_version_str(v: int | None) -> str | None:
    """12040 -> '12.4' (CUDA's integer version encoding)."""
    if not v:
        return None
    return f"{v // 1000}.{(v % 1000) // 10}"


_LIB_MISSING = re.compile(
    r"libcudart|libnvrtc|libcublas|libcurand|libcusparse|libcusolver|libcufft|cudart64|"
    r"nvrtc64|CUDA path could not be detected|cannot open shared object",
    re.I,
)


def _wheel_for(driver_major: int | None) -> str:
    if driver_major is None or driver_major >= 13:
        return "cupy-cuda13x" if driver_major else "cupy-cuda12x"
    return f"cupy-cuda{driver_major}x" if driver_major >= 11 else "cupy-cuda11x"


def findings(info: dict) -> list[tuple[str, str, str]]:
    """(level, what, fix) for a `cuda_report()` dict; level is 'ok', 'note' or 'fault'.

    Pure: tests feed it made-up dicts for each classic fault.
    """
    out: list[tuple[str, str, str]] = []
    dists = info.get("cupy_packages") or []
    driver = info.get("cuda_driver")
    driver_major = driver // 1000 if driver else None
    driver_s = cuda_version_str(driver)
    wheel = _wheel_for(driver_major)

    if not dists and info.get("cupy_version") is None and not info.get("import_error"):
        if driver is None:
            out.append(
                (
                    "note",
                    "CuPy is not installed and no NVIDIA driver was found: tinynet "
                    "runs on the CPU here",
                    "for a GPU: install the NVIDIA driver, then `pip install tinynet[cuda]`",
                )
            )
        else:
            fix = f"`pip install {wheel}`"
            if wheel == "cupy-cuda12x":
                fix = "`pip install tinynet[cuda]` (that is cupy-cuda12x)"
            if driver_major is not None and driver_major < 11:
                fix = (
                    f"the driver (CUDA {driver_s}) is older than any current CuPy wheel "
                    "supports: update the NVIDIA driver, then `pip install tinynet[cuda]`"
                )
            out.append(
                (
                    "fault",
                    f"CuPy is not installed, so the GPU (driver for CUDA {driver_s}) "
                    "cannot be used",
                    fix,
                )
            )
        return out  # fmt: skip

    if len(dists) > 1:
        names = " ".join(n for n, _ in dists)
        out.append(("fault", f"several CuPy packages are installed ({names}); they overwrite "
                    "each other's files",
                    f"`pip uninstall -y {names}`, then `pip install {wheel}`"))  # fmt: skip

    for dist_name, _ in dists:
        major = wheel_cuda_major(dist_name)
        if major is not None and driver_major is not None and major > driver_major:
            out.append((
                "fault",
                f"{dist_name} is built for CUDA {major}, but the NVIDIA driver supports CUDA "
                f"{driver_s} at most",
                f"update the NVIDIA driver to one for CUDA {major}, or `pip uninstall -y "
                f"{dist_name} && pip install {wheel}`",
            ))  # fmt: skip

    major = next((wheel_cuda_major(n) for n, _ in dists if wheel_cuda_major(n)), None)
    lib_fix = (
        f'install the CUDA {major or ""} runtime libraries: `pip install "{dists[0][0]}[ctk]"` '
        f"(CuPy 14+), or `pip install nvidia-cuda-runtime-cu{major or 12} "
        f"nvidia-cuda-nvrtc-cu{major or 12} nvidia-cublas-cu{major or 12}`, or the CUDA Toolkit "
        "with CUDA_PATH set"
        if dists
        else "reinstall CuPy: `pip install --force-reinstall tinynet[cuda]`"
    )
    for key in ("import_error", "runtime_error"):
        err = info.get(key)
        if not err:
            continue
        if _LIB_MISSING.search(err):
            out.append(("fault", f"CuPy cannot load the CUDA libraries ({err})", lib_fix))
        else:
            pkg = dists[0][0] if dists else "cupy-cuda12x"
            out.append(("fault", f"CuPy failed to load ({err})",
                        f"reinstall it: `pip install --force-reinstall {pkg}`; if that does not "
                        f"help, `pip uninstall -y {pkg} && pip install {wheel}`"))  # fmt: skip

    if info.get("cupy_version") and not info.get("gpus"):
        err = info.get("device_error") or ""
        if driver is None:
            out.append(("note", f"CuPy {info['cupy_version']} is installed, but no NVIDIA driver "
                        "was found: tinynet runs on the CPU here",
                        "on a GPU machine, install the NVIDIA driver"))  # fmt: skip
        elif "InsufficientDriver" in err or "insufficient" in err.lower():
            runtime = cuda_version_str(info.get("cuda_runtime")) or "?"
            out.append(("fault", f"the NVIDIA driver (CUDA {driver_s}) is older than the CUDA "
                        f"runtime CuPy uses ({runtime})",
                        f"update the NVIDIA driver, or `pip install {wheel}` in place of the "
                        "installed CuPy"))  # fmt: skip
        elif not any(level == "fault" for level, _, _ in out):
            out.append(("fault", f"CuPy cannot reach a GPU: {_first_line_s(err)}",
                        "check that `nvidia-smi` lists a GPU and that CUDA_VISIBLE_DEVICES does "
                        "not hide it"))  # fmt: skip

    nv = info.get("nvrtc")
    if nv and info.get("cupy_version"):
        if nv.get("error"):
            out.append(("fault", "CuPy cannot load NVRTC, the CUDA compiler it builds every "
                        f"kernel with ({nv['error']})",
                        f"`pip install nvidia-cuda-nvrtc-cu{major or 12}`, or the CUDA Toolkit "
                        "with CUDA_PATH set"))  # fmt: skip
        elif nv.get("failures"):
            kernel, dtype, err = nv["failures"][0]
            out.append(("fault", f"NVRTC {nv['version']} does not compile tinynet's {kernel} "
                        f"({dtype}) for {nv['arch']}: {err}",
                        f"`pip install -U nvidia-cuda-nvrtc-cu{major or 12}`; if that does not "
                        "help, report it with this output"))  # fmt: skip
        else:
            out.append(("ok", f"NVRTC {nv['version']} compiles tinynet's {nv['compiled']} "
                        f"kernels for {nv['arch']}", ""))  # fmt: skip

    if not any(level == "fault" for level, _, _ in out) and info.get("gpus"):
        n = len(info["gpus"])
        runtime = cuda_version_str(info.get("cuda_runtime"))
        out.append(("ok", f"CuPy {info['cupy_version']} on CUDA {runtime} (driver {driver_s}): "
                    f"{n} GPU{'s' if n != 1 else ''} usable", ""))  # fmt: skip
    return out


def _first_line_s(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"


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


def _nvrtc_line(nv: dict | None) -> str:
    if not nv:
        return "-"
    if nv["error"]:
        return f"not usable ({nv['error']})"
    total = nv["compiled"] + len(nv["failures"])
    return (f"{nv['version']}, compiles {nv['compiled']} of tinynet's {total} kernels "
            f"for {nv['arch']}")  # fmt: skip


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
    info = cuda_report()
    pkgs = ", ".join(f"{n} {v}" for n, v in info.get("cupy_packages", []))
    if info.get("cupy_version"):
        say(f"  CuPy          {info['cupy_version']} ({pkgs or 'built from source'})")
    elif pkgs:
        say(f"  CuPy          installed but not importable: {pkgs}")
    else:
        say("  CuPy          not installed")
    say(f"  CUDA runtime  {cuda_version_str(info.get('cuda_runtime')) or '-'}")
    say(f"  CUDA driver   {cuda_version_str(info.get('cuda_driver')) or 'not found'}")
    say(f"  NVRTC         {_nvrtc_line(info.get('nvrtc'))}")
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
