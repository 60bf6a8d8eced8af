"""The CUDA backend: CuPy, imported lazily (only here), plus the kernels whose spelling differs.

Importing this module is cheap and never fails: CuPy is imported the first time a
"cuda" device is made (`Device.__init__` calls `check_device`, then reads `xp`). A
missing CuPy or a missing GPU raises a RuntimeError that says which one and how to
fix it. `diagnose()` gathers the facts `python -m tinynet doctor` judges.

Each kernel here has a NumPy twin in backend/cpu.py that it must agree with:

    scatter_add    cupyx's ndarray.scatter_add   vs  numpy.add.at
    strided_view   cupy.lib.stride_tricks        vs  numpy's as_strided (writeable=False;
                   CuPy has no read-only arrays, so ops must never write into a view)
    erf            cupyx.scipy.special.erf       vs  math.erf elementwise
    generator      cupy.random.default_rng       vs  numpy.random.default_rng (only the
                   methods CuPy's Generator has: random, standard_normal, integers, ...)
    masked         cupy.where                    vs  a multiply by the mask
    col2im         RawKernel tinynet_col2im      vs  a loop over the kernel taps
    softmax_xent   RawKernel tinynet_softmax_xent  vs  the same math in NumPy (its target
                   check runs on the device and raises at the next sync: DeviceErrors)
"""

from __future__ import annotations

import os
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
    _errors.raise_pending(_plain_to_host)


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


def _plain_to_host(a) -> np.ndarray:
    return a.get()


def to_host(a) -> np.ndarray:
    """Copy a CuPy array to a NumPy array (waits for the kernels that compute it), then raise
    an error a kernel recorded on the device meanwhile (DeviceErrors)."""
    out = a.get()
    _errors.raise_pending(_plain_to_host)
    return out


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


# ----- tinynet's own CUDA kernels -----------------------------------------------------------
#
# Each is a cupy.RawKernel whose whole source tinynet owns: `kernel_source(name, dtype)` is
# exactly the text NVRTC compiles (tests/test_cupy_static.py compiles it with the real NVRTC
# for sm_70/80/90; the stand-in compiles it with g++ and runs it on the CPU). T is float or
# double; the loops are grid-stride, so any launch size covers any n.

COL2IM_SOURCE = r"""
// dst[n, c, y*sH + a*dH, x*sW + b*dW] += cols[n, c, a, b, y*pitch + x]: the adjoint of im2col.
// One thread per element of the padded input gradient (N, C, R, Wd), summing the column
// entries of the taps that read it: a gather (no atomics), one launch for all kH*kW taps.
extern "C" __global__ void tinynet_col2im(
    const T* cols, T* dst, long long n, int R, int Wd, int kH, int kW, int sH, int sW,
    int dH, int dW, int oH, int oW, int pitch, long long L) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)blockDim.x * gridDim.x) {
    const long long nc = i / ((long long)R * Wd);  // image and channel
    const int h = (int)((i / Wd) % R), w = (int)(i % Wd);  // the padded input pixel
    T acc = 0;
    for (int a = 0; a < kH; ++a) {  // tap (a, b) reads (h, w) for output pixel (y, x) when
      const int ty = h - a * dH;    // h = y*sH + a*dH and w = x*sW + b*dW
      if (ty < 0 || ty % sH != 0 || ty / sH >= oH) continue;
      for (int b = 0; b < kW; ++b) {
        const int tx = w - b * dW;
        if (tx < 0 || tx % sW != 0 || tx / sW >= oW) continue;
        acc += cols[((nc * kH + a) * kW + b) * L + (long long)(ty / sH) * pitch + tx / sW];
      }
    }
    dst[i] += acc;
  }
}
"""

SOFTMAX_XENT_SOURCE = r"""
// cpu.softmax_xent for one row r = (n, m) of logits x (N, C, M) per thread, class stride M:
//   loss[r] = (1 - ls) * w[t] * (lse - x[t]) + ls / C * sum_c w_c * (lse - x_c)
//   p[n, :, m] = exp(x - lse)          (softmax, saved for the backward)
// lse = log(sum(exp(x))) comes from one sweep with a running max mx (online softmax):
// se = sum(exp(x - mx)), and sums of logits are kept relative to x0 = x[0] so that the
// smoothing term does not subtract two large numbers. A target outside [0, C) that is not
// ignore_index is recorded in bad[0..3] = (1, t, C, ignore_index) and raised by the host at
// its next synchronisation: nothing waits for the device here.
extern "C" __global__ void tinynet_softmax_xent(
    const T* x, const long long* target, const T* weight, T* loss, T* p, long long* bad,
    long long rows, int C, long long M, long long ignore_index, T ls, int has_weight) {
  for (long long r = blockIdx.x * (long long)blockDim.x + threadIdx.x; r < rows;
       r += (long long)blockDim.x * gridDim.x) {
    const T* xr = x + (r / M) * C * M + r % M;  // x[n, c, m] is xr[c * M]
    T* pr = p + (r / M) * C * M + r % M;
    const T x0 = C > 0 ? xr[0] : (T)0;
    T mx = x0, se = 0, wx = 0, ws = 0;  // wx = sum_c w_c * (x_c - x0), ws = sum_c w_c
    for (int c = 0; c < C; ++c) {
      const T v = xr[c * M], wc = has_weight ? weight[c] : (T)1;
      if (v > mx) {
        se = se * exp(mx - v) + 1;
        mx = v;
      } else {
        se += exp(v - mx);
      }
      wx += wc * (v - x0);
      ws += wc;
    }
    const T lse_mx = log(se);  // lse - mx
    const long long t = target[r];
    T l = 0;
    if (t != ignore_index) {
      if (t < 0 || t >= C) {
        bad[1] = t;
        bad[2] = C;
        bad[3] = ignore_index;
        bad[0] = 1;
      } else {
        const T wt = has_weight ? weight[t] : (T)1;
        l = (1 - ls) * wt * (mx - xr[t * M] + lse_mx) + ls / C * (ws * (mx - x0 + lse_mx) - wx);
      }
    }
    loss[r] = l;
    for (int c = 0; c < C; ++c) pr[c * M] = exp(xr[c * M] - mx) / se;
  }
}
"""

#: every kernel tinynet ships, by name
KERNELS = {"tinynet_col2im": COL2IM_SOURCE, "tinynet_softmax_xent": SOFTMAX_XENT_SOURCE}
#: the C type T stands for, per dtype the kernels take
KERNEL_DTYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}
_BLOCK = 256
_MAX_BLOCKS = 4096  # grid-stride loops: more blocks than this only queue behind each other


def kernel_source(name: str, dtype) -> str:
    """The complete CUDA source of kernel `name` for arrays of `dtype` (float32, float64)."""
    return f"typedef {KERNEL_DTYPES[np.dtype(dtype)]} T;\n" + KERNELS[name]


def launch(kernel, n: int, args: tuple) -> None:
    """Run a grid-stride `kernel` over n items (nothing for n == 0)."""
    if n > 0:
        kernel((min(-(-n // _BLOCK), _MAX_BLOCKS),), (_BLOCK,), args)


_kernels: dict = {}


def _raw_kernel(name: str, dtype):
    """cupy.RawKernel for kernel_source(name, dtype), made once (CuPy compiles on first use)."""
    key = (name, np.dtype(dtype))
    if key not in _kernels:
        _kernels[key] = _cupy().RawKernel(kernel_source(name, dtype), name)
    return _kernels[key]


def run_col2im(get_kernel, cols, dst, kernel_hw, stride, dilation, out_hw, pitch) -> bool:
    """Run tinynet_col2im (`get_kernel(name, dtype)` gives it) on C-contiguous arrays; False
    where it does not apply (other dtypes, strided arrays): the caller then uses cpu.col2im."""
    if dst.dtype not in KERNEL_DTYPES or cols.dtype != dst.dtype:
        return False
    if not (cols.flags.c_contiguous and dst.flags.c_contiguous):
        return False
    R, Wd = dst.shape[2:]
    geometry = (*kernel_hw, *stride, *dilation, *out_hw, pitch)
    args = (cols, dst, np.int64(dst.size), np.int32(R), np.int32(Wd))
    args += tuple(np.int32(v) for v in geometry) + (np.int64(cols.shape[-1]),)
    launch(get_kernel("tinynet_col2im", dst.dtype), dst.size, args)
    return True


def col2im(cols, dst, kernel, stride, dilation, out_hw, pitch) -> None:
    """cpu.col2im on the GPU: one fused kernel for float32/float64, the tap loop otherwise."""
    if not run_col2im(_raw_kernel, cols, dst, kernel, stride, dilation, out_hw, pitch):
        from . import cpu  # its col2im is plain array code, which runs on CuPy arrays as is

        cpu.col2im(cols, dst, kernel, stride, dilation, out_hw, pitch)


def run_softmax_xent(get_kernel, xp, flag, x, target, weight, ignore_index, label_smoothing):
    """cpu.softmax_xent as one tinynet_softmax_xent launch (float16 computes in float32).

    `flag` is the device's (4,) int64 error record (see DeviceErrors): the kernel marks an
    out-of-range target there instead of the host checking it (which would wait for the GPU).
    """
    dt = x.dtype if x.dtype in KERNEL_DTYPES else np.dtype(np.float32)
    N, C = x.shape[:2]
    M = x.size // (N * C) if N * C else 0
    xc = xp.ascontiguousarray(x, dtype=dt)
    t = xp.ascontiguousarray(target, dtype=np.int64)
    w = xc if weight is None else xp.ascontiguousarray(weight, dtype=dt)
    loss, p = xp.empty(target.shape, dt), xp.empty(x.shape, dt)
    args = (xc, t, w, loss, p, flag, np.int64(N * M), np.int32(C), np.int64(M),
            np.int64(ignore_index), dt.type(label_smoothing),
            np.int32(weight is not None))  # fmt: skip
    launch(get_kernel("tinynet_softmax_xent", dt), N * M, args)
    return loss.astype(x.dtype, copy=False), p.astype(x.dtype, copy=False)


class DeviceErrors:
    """Errors a kernel records on the device, raised by the host at its next synchronisation.

    Checking a target's range on the host would wait for the GPU at every loss; instead
    the kernel writes (1, value, C, ignore_index) into a small per-device array, and
    `raise_pending` (called by `to_host` and `synchronize`, which wait for the GPU anyway)
    reads it and raises the IndexError the CPU raises at once. Like a CUDA device-side
    assert, the error surfaces where the host next waits, not at the line that caused it.
    """

    def __init__(self):
        self._flags: dict = {}  # device id -> (4,) int64 device array
        self._armed: set = set()  # device ids whose flag a kernel may have set since the check

    def flag(self, xp, device_id: int):
        """The device's error record, armed: the next `raise_pending` reads it."""
        if device_id not in self._flags:
            self._flags[device_id] = xp.zeros(4, dtype=np.int64)
        self._armed.add(device_id)
        return self._flags[device_id]

    def raise_pending(self, to_host) -> None:
        """Raise the error a kernel recorded since the last check (`to_host` reads the flag)."""
        while self._armed:
            flag = self._flags[self._armed.pop()]
            hit, value, C, ignore_index = (int(v) for v in to_host(flag))
            if hit:
                flag[...] = 0
                self._armed.clear()
                raise IndexError(
                    f"cross_entropy: target {value} is out of bounds for {C} classes (valid "
                    f"targets are 0..{C - 1}, or ignore_index={ignore_index}); found on the GPU "
                    "and raised at the next synchronisation, so results computed since are wrong"
                )


_errors = DeviceErrors()


def softmax_xent(x, target, weight=None, ignore_index=-100, label_smoothing=0.0):
    """cpu.softmax_xent as one fused kernel; an out-of-range target raises at the next sync."""
    cp, index = _cupy(), array_device_index(x)
    with cp.cuda.Device(index):  # the kernel and its error record live on x's GPU
        flag = _errors.flag(cp, index)
        return run_softmax_xent(_raw_kernel, cp, flag, x, target, weight, ignore_index,
                                label_smoothing)  # fmt: skip


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


# ----- facts for `python -m tinynet doctor` (tinynet/doctor.py judges them) -------------------


def diagnose() -> dict:
    """What CuPy reports here: its version, the CUDA runtime and driver, the GPUs, whether
    NVRTC compiles tinynet's kernels, and the errors met on the way (never raises)."""
    info: dict = {
        "cupy_version": None,
        "import_error": None,
        "cuda_runtime": None,
        "runtime_error": None,
        "cuda_driver": None,
        "gpus": [],
        "device_error": None,
        "nvrtc": None,
    }
    try:
        cp = _cupy()
    except RuntimeError:
        e = _import_error
        if e is not None and not (isinstance(e, ModuleNotFoundError) and e.name == "cupy"):
            info["import_error"] = f"{type(e).__name__}: {_first_line(e)}"
        return info
    info["cupy_version"] = cp.__version__
    try:
        info["cuda_runtime"] = int(cp.cuda.runtime.runtimeGetVersion())
    except Exception as e:
        info["runtime_error"] = f"{type(e).__name__}: {_first_line(e)}"
    try:
        info["cuda_driver"] = int(cp.cuda.runtime.driverGetVersion()) or None
    except Exception:
        pass
    try:
        for i in range(_gpu_count()):
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
    gpu = info["gpus"][0]["capability"].replace(".", "") if info["gpus"] else "80"
    info["nvrtc"] = compile_kernels(f"sm_{gpu}")
    return info


def compile_kernels(arch: str = "sm_80") -> dict:
    """Compile every kernel in KERNELS, for each dtype, with CuPy's NVRTC (no GPU needed).

    Returns {"version": "12.9" or None, "arch", "compiled": how many compiled, "failures":
    [(kernel, dtype, the compiler's first error)], "error": why NVRTC cannot be used, or None}.
    """
    out: dict = {"version": None, "arch": arch, "compiled": 0, "failures": [], "error": None}
    try:
        from cupy_backends.cuda.libs import nvrtc

        out["version"] = ".".join(str(v) for v in nvrtc.getVersion())
    except Exception as e:  # no CuPy, or no libnvrtc where CuPy looks
        out["error"] = f"{type(e).__name__}: {_first_line(e)}"
        return out
    for name in KERNELS:
        for dtype in KERNEL_DTYPES:
            prog = nvrtc.createProgram(kernel_source(name, dtype), f"{name}.cu", [], [])
            try:
                nvrtc.compileProgram(prog, ["-ftz=true", f"-arch={arch}"])
                out["compiled"] += 1
            except nvrtc.NVRTCError as e:
                log = nvrtc.getProgramLog(prog)
                errors = [ln.strip() for ln in log.splitlines() if "error" in ln]
                out["failures"].append((name, str(dtype), (errors or [str(e)])[0]))
            finally:
                nvrtc.destroyProgram(prog)
    return out


# ----- host_view: the one question code outside backend/ asks about where data lives ----------


def host_view(a) -> None:
    """None: a CuPy array lives in GPU memory (reading its values copies and synchronises)."""
    return None
