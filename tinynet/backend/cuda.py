"""The CUDA backend: CuPy, imported lazily (only here), plus the kernels whose spelling differs.

Importing this module is cheap and never fails: CuPy is imported the first time a
"cuda" device is made (`Device.__init__` calls `check_device`, then reads `xp`). A
missing CuPy or a missing GPU raises a RuntimeError that says which one and how to
fix it. `diagnose()` gathers what `python -m tinynet doctor` prints.

Each kernel here has a NumPy twin in backend/cpu.py that it must agree with:

    scatter_add    cupyx's ndarray.scatter_add   vs  numpy.add.at
    strided_view   cupy.lib.stride_tricks        vs  numpy's as_strided (writeable=False;
                   CuPy has no read-only arrays, so ops must never write into a view)
    erf            cupyx.scipy.special.erf       vs  math.erf elementwise
    generator      cupy.random.default_rng       vs  numpy.random.default_rng (only the
                   methods CuPy's Generator has: random, standard_normal, integers, ...)
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import os
import re
import sys

import numpy as np

name = "cuda"
dlpack_device_type = 2  # kDLCUDA
#: conv2d builds its im2col columns in blocks of this many bytes: on a GPU one big block
#: (one GEMM) beats many cache-sized ones, as long as it fits in memory comfortably.
conv_block_bytes = 256 << 20

INSTALL_HINT = (
    "Install it with `pip install tinynet[cuda]` (CuPy for CUDA 12), or the CuPy wheel that "
    "matches your NVIDIA driver: `pip install cupy-cuda12x` (or cupy-cuda11x, cupy-cuda13x); "
    "`python -m tinynet doctor` checks the setup. Until then use device 'cpu'."
)

_cupy_module = None
_import_error: BaseException | None = None


def _cupy():
    """The cupy module, imported on first use; RuntimeError with the fix if it cannot be."""
    global _cupy_module, _import_error
    if _cupy_module is not None:
        return _cupy_module
    try:
        import cupy
    except ModuleNotFoundError as e:
        if e.name is not None and e.name != "cupy" and not e.name.startswith("cupy"):
            _import_error = e  # CuPy is there but one of its own imports is not
            raise RuntimeError(_broken_import_message(e)) from e
        _import_error = e
        raise RuntimeError(f"cuda: CuPy is not installed, so tinynet cannot use a GPU. "
                           f"{INSTALL_HINT}") from None  # fmt: skip
    except Exception as e:  # a broken install raises ImportError, OSError, RuntimeError, ...
        _import_error = e
        raise RuntimeError(_broken_import_message(e)) from e
    _cupy_module = cupy
    return cupy


def _broken_import_message(e: BaseException) -> str:
    return (
        f"cuda: CuPy is installed but failed to import ({type(e).__name__}: {_first_line(e)}). "
        "The usual causes are a CuPy wheel built for another CUDA version than the driver's, "
        "or missing CUDA libraries (libcudart); `python -m tinynet doctor` says which and how "
        "to fix it. Until then use device 'cpu'."
    )


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def __getattr__(attr: str):
    if attr == "xp":  # the namespace is CuPy itself, imported when first asked for
        return _cupy()
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


# ----- devices -------------------------------------------------------------------------------


def _gpu_count() -> int:
    """Visible GPUs; RuntimeError (what is wrong, what to do) when none can be used."""
    cp = _cupy()
    try:
        n = int(cp.cuda.runtime.getDeviceCount())
    except Exception as e:  # CUDARuntimeError: no driver, too old a driver, no device
        n, why = 0, _first_line(e)
    else:
        why = "the CUDA runtime reports 0 devices"
    if n == 0:
        hidden = os.environ.get("CUDA_VISIBLE_DEVICES")
        hidden = f" (CUDA_VISIBLE_DEVICES={hidden!r})" if hidden is not None else ""
        raise RuntimeError(
            f"cuda: CuPy {cp.__version__} is installed, but no CUDA GPU can be used: "
            f"{why}{hidden}. "
            "Check that `nvidia-smi` lists a GPU, that the driver supports the CUDA version of "
            "the CuPy wheel, and that CUDA_VISIBLE_DEVICES does not hide it; `python -m tinynet "
            "doctor` finds the usual causes. Until then use device 'cpu'."
        )
    return n


def check_device(index: int) -> None:
    """Raise RuntimeError unless GPU `index` can be used (CuPy imports, the GPU exists)."""
    n = _gpu_count()
    if not 0 <= index < n:
        raise RuntimeError(
            f"cuda: device index {index} is out of range: {n} GPU{'s' if n != 1 else ''} visible "
            f"(cuda:0 to cuda:{n - 1})"
        )


def is_available() -> bool:
    try:
        _gpu_count()
    except RuntimeError:
        return False
    return True


def unavailable_reason() -> str | None:
    try:
        _gpu_count()
    except RuntimeError as e:
        return str(e)
    return None


def device_count() -> int:
    try:
        return _gpu_count()
    except RuntimeError:
        return 0


def device_context(index: int):
    """`with device_context(1):` makes GPU 1 CuPy's current device (where kernels launch)."""
    return _cupy().cuda.Device(index)


def current_device() -> int:
    return int(_cupy().cuda.runtime.getDevice())


def get_device_name(index: int = 0) -> str:
    props = _cupy().cuda.runtime.getDeviceProperties(index)
    name_ = props["name"]
    return name_.decode() if isinstance(name_, bytes) else str(name_)


def synchronize(index=None) -> None:
    """Wait until every kernel queued on GPU `index` (default: the current one) has run."""
    cp = _cupy()
    (cp.cuda.Device() if index is None else cp.cuda.Device(index)).synchronize()


# ----- arrays ----------------------------------------------------------------------------------


def is_array(a) -> bool:
    cp = sys.modules.get("cupy")  # no CuPy imported yet: nothing can be a CuPy array
    return cp is not None and isinstance(a, cp.ndarray)


def array_device_index(a) -> int:
    return int(a.device.id)


def from_host(a, index=None):
    """Copy host data onto GPU `index` (default 0)."""
    cp = _cupy()
    with cp.cuda.Device(index or 0):
        return cp.asarray(a)


def to_host(a) -> np.ndarray:
    """Copy a CuPy array to a NumPy array (waits for the kernels that compute it)."""
    return a.get()


def from_dlpack(x):
    """A CuPy array sharing the GPU memory of a DLPack producer (zero-copy)."""
    return _cupy().from_dlpack(x)


# ----- kernels whose spelling differs from NumPy's ---------------------------------------------

# dtypes CUDA's atomicAdd covers, so scatter_add runs as one kernel
_ATOMIC = {np.dtype(t) for t in ("float16", "float32", "float64", "int32", "uint32", "uint64")}


def scatter_add(target, index, values) -> None:
    """target[index] += values with repeated indices adding up (numpy.add.at)."""
    if target.dtype in _ATOMIC:
        target.scatter_add(index, values)
        return
    # int64/bool: no atomicAdd of that type; add in float64 (exact below 2**53) and cast back
    acc = target.astype(np.float64)
    acc.scatter_add(index, values.astype(np.float64) if hasattr(values, "astype") else values)
    target[...] = acc.astype(target.dtype)


def masked(values, mask):
    """cpu.masked: values where mask is True, else 0. One select kernel, no sync on the GPU."""
    return _cupy().where(mask, values, values.dtype.type(0))


# col2im as one kernel: each thread makes one element of the padded input gradient, summing
# the column entries of the taps that read it (a gather: no atomics, one launch instead of
# kH*kW strided adds). It must agree with cpu.col2im (tests run this very source on the CPU,
# compiled by g++, through the stand-in's ElementwiseKernel).
COL2IM_KERNEL = (
    "raw T cols, int32 R, int32 Wd, int32 kH, int32 kW, int32 sH, int32 sW, "
    "int32 dH, int32 dW, int32 oH, int32 oW, int32 pitch, int32 L",
    "T dst",
    """
    const ptrdiff_t nc = i / ((ptrdiff_t)R * Wd);  // image and channel
    const int h = (int)((i / Wd) % R), w = (int)(i % Wd);  // the padded input pixel
    T acc = 0;
    for (int a = 0; a < kH; ++a) {  // tap (a, b) reads (h, w) for output pixel (y, x) when
        const int ty = h - a * dH;  // h = y*sH + a*dH and w = x*sW + b*dW
        if (ty < 0 || ty % sH != 0 || ty / sH >= oH) continue;
        for (int b = 0; b < kW; ++b) {
            const int tx = w - b * dW;
            if (tx < 0 || tx % sW != 0 || tx / sW >= oW) continue;
            acc += cols[((nc * kH + a) * kW + b) * L + (ty / sH) * pitch + tx / sW];
        }
    }
    dst = dst + acc;
    """,
    "tinynet_col2im",
)
_FUSED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_kernels: dict = {}


def run_col2im(kernel, cols, dst, kernel_hw, stride, dilation, out_hw, pitch) -> bool:
    """Run COL2IM_KERNEL (compiled as `kernel`) on C-contiguous arrays; False where it does not
    apply (other dtypes, strided arrays): the caller then uses the plain array version."""
    if dst.dtype not in _FUSED_DTYPES or cols.dtype != dst.dtype:
        return False
    if not (cols.flags.c_contiguous and dst.flags.c_contiguous):
        return False
    R, Wd = dst.shape[2:]
    kernel(cols, R, Wd, *kernel_hw, *stride, *dilation, *out_hw, pitch, cols.shape[-1], dst)
    return True


def col2im(cols, dst, kernel, stride, dilation, out_hw, pitch) -> None:
    """cpu.col2im on the GPU: one fused kernel for float32/float64, the tap loop otherwise."""
    if "col2im" not in _kernels:
        _kernels["col2im"] = _cupy().ElementwiseKernel(*COL2IM_KERNEL)
    if not run_col2im(_kernels["col2im"], cols, dst, kernel, stride, dilation, out_hw, pitch):
        from . import cpu  # its col2im is plain array code, which runs on CuPy arrays as is

        cpu.col2im(cols, dst, kernel, stride, dilation, out_hw, pitch)


def strided_view(a, shape, strides):
    """A view of `a` with the given shape and byte strides (CuPy views are always writable)."""
    return _cupy().lib.stride_tricks.as_strided(a, shape=tuple(shape), strides=tuple(strides))


def generator(seed=None):
    """A `cupy.random.Generator` (XORWOW) seeded from `seed` (an int, a sequence, or None)."""
    cp = _cupy()
    if seed is not None and not isinstance(seed, int):
        seed = int(np.random.SeedSequence(seed).generate_state(1, np.uint32)[0])
    return cp.random.default_rng(seed)


def erf(a):
    """The error function on the GPU (cupyx.scipy.special.erf), in the input's dtype."""
    import cupyx.scipy.special

    return cupyx.scipy.special.erf(a).astype(a.dtype, copy=False)


# ----- memory pool ------------------------------------------------------------------------------


def memory_allocated() -> int:
    """Bytes held by live CuPy arrays (the default memory pool's used bytes)."""
    return int(_cupy().get_default_memory_pool().used_bytes()) if _cupy_module else 0


def memory_reserved() -> int:
    """Bytes the memory pool holds from the driver, in use or cached for reuse."""
    return int(_cupy().get_default_memory_pool().total_bytes()) if _cupy_module else 0


def empty_cache() -> None:
    """Give the pool's cached, unused blocks back to the driver (arrays in use stay)."""
    if _cupy_module is not None:
        _cupy_module.get_default_memory_pool().free_all_blocks()
        _cupy_module.get_default_pinned_memory_pool().free_all_blocks()


# ----- diagnosis (python -m tinynet doctor) -------------------------------------------------------


def _cupy_distributions() -> list[tuple[str, str]]:
    """Installed CuPy packages as (name, version): cupy-cuda12x, cupy-cuda11x, cupy, ..."""
    found = {}
    for dist in importlib.metadata.distributions():
        dist_name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if (
            dist_name == "cupy"
            or dist_name.startswith("cupy-cuda")
            or dist_name.startswith("cupy-rocm")
        ):
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


def diagnose() -> dict:
    """Versions, GPUs and the classic CuPy install faults, for `python -m tinynet doctor`."""
    info: dict = {
        "cupy_packages": _cupy_distributions(),
        "cupy_version": None,
        "import_error": None,
        "cuda_runtime": None,
        "runtime_error": None,
        "cuda_driver": _driver_version(),
        "gpus": [],
        "device_error": None,
    }
    try:
        cp = _cupy()
    except RuntimeError:
        e = _import_error
        if e is not None and not (isinstance(e, ModuleNotFoundError) and e.name == "cupy"):
            info["import_error"] = f"{type(e).__name__}: {_first_line(e)}"
    else:
        info["cupy_version"] = cp.__version__
        try:
            info["cuda_runtime"] = int(cp.cuda.runtime.runtimeGetVersion())
        except Exception as e:
            info["runtime_error"] = f"{type(e).__name__}: {_first_line(e)}"
        if info["cuda_driver"] is None:
            try:
                info["cuda_driver"] = int(cp.cuda.runtime.driverGetVersion()) or None
            except Exception:
                pass
        try:
            n = _gpu_count()
            for i in range(n):
                props = cp.cuda.runtime.getDeviceProperties(i)
                gpu_name = props["name"]
                info["gpus"].append({
                    "index": i,
                    "name": gpu_name.decode() if isinstance(gpu_name, bytes) else str(gpu_name),
                    "memory": int(props["totalGlobalMem"]),
                    "capability": f"{props['major']}.{props['minor']}",
                })  # fmt: skip
        except RuntimeError as e:
            info["device_error"] = str(e)
        except Exception as e:
            info["device_error"] = f"{type(e).__name__}: {_first_line(e)}"
    info["findings"] = findings(info)
    return info


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
    """(level, what, fix) for a `diagnose()` dict; level is 'ok', 'note' or 'fault'.

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

    if not any(level == "fault" for level, _, _ in out) and info.get("gpus"):
        n = len(info["gpus"])
        runtime = cuda_version_str(info.get("cuda_runtime"))
        out.append(("ok", f"CuPy {info['cupy_version']} on CUDA {runtime} (driver {driver_s}): "
                    f"{n} GPU{'s' if n != 1 else ''} usable", ""))  # fmt: skip
    return out


def _first_line_s(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"
