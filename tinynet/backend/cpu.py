"""The CPU backend: NumPy, plus the few kernels whose spelling differs on CuPy."""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.lib.stride_tricks import as_strided

name = "cpu"
xp = np
#: conv2d builds its im2col columns in blocks of this many bytes: small enough to stay in the
#: CPU's caches between the copy that makes them and the GEMM that reads them.
conv_block_bytes = 2 << 20
#: conv2d's stride-1 input gradient hands col2im tap-major columns from this many channels
#: on (see col2im): one long add per image and tap instead of one short add per channel.
col2im_tap_major_from = 16


#: Work is split across threads (`split`) when it is a product (a conv pass, a matmul) of at
#: least `split_min_flops`, or a memory-bound pass (max pool, relu, an optimizer update) over
#: at least `split_min_bytes`; smaller work loses more to waking the threads than it gains
#: (docs/performance.md, "Threads").
split_min_flops = 20_000_000
split_min_bytes = 1 << 20
#: Below this many FLOPs a product runs as is: OpenBLAS itself runs a GEMM of
#: M*N*K <= 4 * 65536 on the calling thread, so there are no BLAS threads to hold back.
serial_min_flops = 2 * 4 * 65536

_split_lock = threading.Lock()  # guards _split_state's BLAS holder count
_split_busy = threading.Lock()  # held by the split running now: a nested one runs serially
_split_state: dict = {"holders": 0}


def _blas_controllers() -> list:
    """threadpoolctl's handles on the BLAS libraries NumPy loaded (found once)."""
    if "blas" not in _split_state:
        try:
            from threadpoolctl import ThreadpoolController

            _split_state["blas"] = ThreadpoolController().select(user_api="blas").lib_controllers
        except Exception:  # no threadpoolctl, or a BLAS it cannot drive: never split
            _split_state["blas"] = None
    return _split_state["blas"]


@contextlib.contextmanager
def _serial_blas(libs):
    """BLAS at one thread while any caller is inside; the count it had comes back after the
    last one leaves (callers in several Python threads overlap safely)."""
    with _split_lock:
        if _split_state["holders"] == 0:
            _split_state["saved"] = [lib.num_threads for lib in libs]
            for lib in libs:
                lib.set_num_threads(1)
        _split_state["holders"] += 1
    try:
        yield
    finally:
        with _split_lock:
            _split_state["holders"] -= 1
            if _split_state["holders"] == 0:
                for lib, k in zip(libs, _split_state.pop("saved")):
                    lib.set_num_threads(k)


def split(work, n: int, flops: float = 0, nbytes: float = 0) -> None:
    """Run work(i, j) over [0, n) in contiguous parts, one per BLAS thread, at the same time.

    NumPy runs copies and elementwise passes (im2col, col2im, max pool, relu) on one core
    and releases the GIL in them; OpenBLAS alone uses every thread. So big work runs in
    as many Python threads as BLAS is set to use (`tn.set_num_threads`), each on its own
    share (images, rows) with a single-threaded BLAS: the copies run in parallel too.
    BLAS is held at one thread for every product of `serial_min_flops` or more over n > 1
    (one image has nothing to split: BLAS threads it), split or not: after each threaded
    call OpenBLAS's worker threads busy-wait for a while (its thread timeout), and would
    take a core from the next split's threads (conv2's forward of the classic MNIST net:
    15 ms alone, 33 ms right after a threaded GEMM). Work below both thresholds, with one
    BLAS thread, or inside another split runs as `work(0, n)`.
    """
    libs = _blas_controllers()
    big = flops >= split_min_flops or nbytes >= split_min_bytes
    threads = 1
    if libs and big:  # as many threads as BLAS had before any split held it at one
        saved = _split_state.get("saved") if _split_state["holders"] else None
        threads = min(n, max(saved or [lib.num_threads for lib in libs]))
    hold = libs and flops >= serial_min_flops and n > 1
    with _serial_blas(libs) if hold else contextlib.nullcontext():
        if threads < 2 or not _split_busy.acquire(blocking=False):  # one split at a time
            work(0, n)
            return
        try:
            pool, pid = _split_state.get("pool", (None, None))
            if pool is None or pool._max_workers < threads or pid != os.getpid():
                # a forked child (a DataLoader worker) inherits the pool without its threads
                pool = ThreadPoolExecutor(threads, "tinynet-split")
                _split_state["pool"] = pool, os.getpid()
            cuts = [n * t // threads for t in range(threads + 1)]
            jobs = [pool.submit(work, i, j) for i, j in zip(cuts[1:-1], cuts[2:])]
            work(cuts[0], cuts[1])  # this thread does the first part
            for job in jobs:
                job.result()
        finally:
            _split_busy.release()


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b (np.matmul's rules); a big float product runs through `split`, over the rows
    of a, or over the columns of b when those are more."""
    if a.ndim < 2 or b.ndim < 2 or a.dtype.kind != "f" or b.dtype.kind != "f":
        return np.matmul(a, b)
    n, k, m = a.shape[-2], a.shape[-1], b.shape[-1]
    try:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:  # let matmul say it, in the words the ops translate
        return np.matmul(a, b)
    flops = 2.0 * math.prod(batch) * n * k * m
    if flops < serial_min_flops:
        return np.matmul(a, b)
    out = np.empty(batch + (n, m), dtype=np.result_type(a, b))
    if n >= m:

        def work(i, j):
            np.matmul(a[..., i:j, :], b, out=out[..., i:j, :])
    else:

        def work(i, j):
            np.matmul(a, b[..., i:j], out=out[..., i:j])

    split(work, max(n, m), flops=flops)
    return out


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory for reuse instead of giving it back at once.

    A training step allocates and frees the same large arrays every step (conv columns,
    activations, gradients). By default glibc returns a freed block of more than ~128 KiB
    to the kernel (munmap, or trimming the top of the heap), and the next step pays a page
    fault for every 4 KiB page it touches again. With the mmap threshold at its 32 MiB
    maximum and the heap trimmed only past 1 GiB free, the next step reuses the same pages:
    the classic MNIST net's step took about 30% less time here (docs/performance.md). The
    cost: up to 1 GiB of freed memory stays with the process. Runs at import; set
    TINYNET_KEEP_FREED_MEMORY=0 to leave malloc as it is. True when the settings took.
    """
    if os.environ.get("TINYNET_KEEP_FREED_MEMORY", "1") == "0":
        return False
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # glibc only: other C libraries tune differently  # noqa: B018
    except (OSError, AttributeError):
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    mmap_ok = libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)
    return bool(mmap_ok and libc.mallopt(M_TRIM_THRESHOLD, 1 << 30))


malloc_tuned = keep_freed_memory()


def is_array(a) -> bool:
    return isinstance(a, np.ndarray)


def from_host(a: np.ndarray, index=None) -> np.ndarray:
    return np.asarray(a)


def to_host(a) -> np.ndarray:
    return a


def scatter_add(target: np.ndarray, index, values) -> None:
    """target[index] += values, adding repeated indices once each (unlike `+=`)."""
    np.add.at(target, index, values)


def strided_view(a: np.ndarray, shape, strides) -> np.ndarray:
    """A read-only view of `a` with the given shape and element strides (bytes)."""
    return as_strided(a, shape=shape, strides=strides, writeable=False)


def masked(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """values where mask is True, else 0, also where values holds inf or NaN (as a select).

    Multiplying by the 0/1 mask is exact for finite values and ~10x faster on the CPU than
    np.where over a random mask, so that is used unless a value is not finite. A big array
    runs by rows in threads (`split`).
    """
    # Small or broadcast: one pass as it comes (`_masked`'s errstate and copies cost ~8 us
    # more per call, measured, which small arrays in every backward would pay).
    if values.nbytes < split_min_bytes or values.shape != mask.shape or values.ndim == 0:
        if np.isfinite(values).all():
            return values * mask.astype(values.dtype)  # a float mask multiplies faster than bool
        return np.where(mask, values, values.dtype.type(0))
    out = np.empty(values.shape, dtype=values.dtype)
    split(lambda i, j: _masked(values[i:j], mask[i:j], out[i:j]), len(out), nbytes=out.nbytes)
    return out


def _masked(values, mask, out) -> None:
    """`masked` into `out`; a sum tells more cheaply than isfinite whether all are finite."""
    with np.errstate(over="ignore", invalid="ignore"):  # a finite sum may overflow: then where
        finite = np.isfinite(values.sum())
    if finite:
        np.copyto(out, mask)  # as 0/1
        np.multiply(out, values, out=out)
    else:
        out[...] = np.where(mask, values, values.dtype.type(0))


def col2im(cols, dst, kernel, stride, dilation, out_hw, pitch) -> None:
    """dst[n, c, oy*sH + ky*dH, ox*sW + kx*dW] += cols[n, c, ky, kx, oy*pitch + ox], for all.

    The adjoint of im2col, the last step of conv2d's input gradient: each kernel tap (ky, kx)
    adds its slice of the columns back onto the (padded) input, so the loop runs kH*kW times
    whatever the image size. cols: (N, C, kH, kW, L), L >= (oH - 1) * pitch + oW; dst: the
    padded input gradient (N, C, R, Wd), contiguous. With stride 1 and pitch == Wd (the
    "wide" layout of conv.py), tap (ky, kx) is ONE contiguous run of L numbers per channel
    starting at ky*dH*Wd + kx*dW of the flattened dst, and the columns past oW of each row
    must be zero. Given tap-major columns (channel c's row one dst plane after channel
    c-1's, as conv.py lays them out from `col2im_tap_major_from` channels on), the zeros
    between the rows too, and then a tap is one run per image. Plain array code: CuPy runs
    it too (backend/cuda.py has a fused kernel).
    """
    (kH, kW), (sH, sW), (dH, dW), (oH, oW) = kernel, stride, dilation, out_hw
    N, C, R, Wd = dst.shape
    L = cols.shape[-1]
    if (sH, sW) == (1, 1) and pitch == Wd:
        isz, plane = cols.itemsize, R * Wd
        if C > 1 and cols.strides[1:] == (plane * isz, kW * C * plane * isz, C * plane * isz, isz):
            # tap-major columns (conv.py, `col2im_tap_major_from`): channel c's run sits one
            # plane after channel c-1's in both arrays (zeros between): one run per image and tap
            run = (C - 1) * plane + L
            flat = dst.reshape(N, C * plane)
            taps = strided_view(cols, (N, kH, kW, run), (cols.strides[0], *cols.strides[2:]))
            for ky in range(kH):
                for kx in range(kW):
                    o = ky * dH * Wd + kx * dW
                    flat[:, o : o + run] += taps[:, ky, kx]
            return
        flat = dst.reshape(N, C, R * Wd)
        for ky in range(kH):
            for kx in range(kW):
                o = ky * dH * Wd + kx * dW
                flat[:, :, o : o + L] += cols[:, :, ky, kx]
        return
    assert pitch == oW, "strided col2im takes the compact layout (pitch == oW)"
    cols = cols[..., : oH * oW].reshape(N, C, kH, kW, oH, oW)
    for ky in range(kH):
        for kx in range(kW):
            iy = slice(ky * dH, ky * dH + sH * (oH - 1) + 1, sH)  # the input rows tap ky reads
            ix = slice(kx * dW, kx * dW + sW * (oW - 1) + 1, sW)
            dst[:, :, iy, ix] += cols[:, :, ky, kx]


def softmax_xent(x, target, weight=None, ignore_index=-100, label_smoothing=0.0):
    """Per-sample cross entropy of logits x (N, C, ...) and class indices (N, ...), and softmax.

    loss = (1 - ls) * w[t] * (lse - x[t]) + ls / C * sum_c w_c * (lse - x_c), lse the
    log-sum-exp over classes (0 where t == ignore_index); p = exp(x - lse). Returns (loss, p).
    A target outside [0, C) that is not ignore_index raises IndexError. Plain array code;
    backend/cuda.py runs the same math as one fused kernel.
    """
    C = x.shape[1]
    bad = ((target < 0) | (target >= C)) & (target != ignore_index)
    if bad.any():
        raise IndexError(
            f"cross_entropy: target {int(target[bad][0])} is out of bounds for {C} classes "
            f"(valid targets are 0..{C - 1}, or ignore_index={ignore_index})"
        )
    valid = target != ignore_index
    t = np.where(valid, target, 0)[:, None]
    wc = 1.0 if weight is None else weight.astype(x.dtype).reshape((C,) + (1,) * (x.ndim - 2))
    wt = valid.astype(x.dtype) if weight is None else wc.reshape(C)[t[:, 0]] * valid
    s = x - x.max(axis=1, keepdims=True)
    p = np.exp(s)
    se = p.sum(axis=1, keepdims=True)
    lse = np.log(se)[:, 0]  # log_softmax(x)_c = s_c - lse
    loss = (lse - np.take_along_axis(s, t, axis=1)[:, 0]) * ((1.0 - label_smoothing) * wt)
    if label_smoothing:
        ws = (s * wc).sum(axis=1)
        wsum = C if weight is None else wc.sum()
        loss -= (ws - wsum * lse) * valid * (label_smoothing / C)
    p /= se
    return loss, p


def generator(seed=None) -> np.random.Generator:
    return np.random.default_rng(seed)


def synchronize(index=None) -> None:
    """NumPy runs each call to completion: nothing is ever queued."""


def device_count() -> int:
    return 1


def is_available() -> bool:
    return True


dlpack_device_type = 1  # kDLCPU


def from_dlpack(x) -> np.ndarray:
    """A NumPy array sharing the memory of a DLPack producer on the CPU (zero-copy)."""
    return np.from_dlpack(x)


_erf = np.frompyfunc(math.erf, 1, 1)


def erf(a: np.ndarray) -> np.ndarray:
    """The error function (NumPy has none; math.erf is exact to the last bit)."""
    return np.asarray(_erf(a)).astype(a.dtype)  # 0-d input: frompyfunc returns a Python float


# ----- host_view: the one question code outside backend/ asks about where data lives ----------


def host_view(a: np.ndarray) -> np.ndarray:
    """`a` itself: NumPy data is in host memory, so reading its values costs no copy."""
    return a
