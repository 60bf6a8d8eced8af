"""`tn.cuda`: is a GPU usable, how many, wait for queued work, the memory pool.

Every question goes to the backend seam (tinynet/backend), the only code that knows
about CuPy; asking never imports more than it must and never raises for a missing GPU.
"""

from __future__ import annotations

from . import backend as _backend

__all__ = [
    "is_available", "device_count", "synchronize", "current_device", "get_device_name",
    "device", "memory_allocated", "memory_reserved", "empty_cache", "unavailable_reason",
    "manual_seed", "manual_seed_all",
]  # fmt: skip


def is_available() -> bool:
    """True when CuPy imports and at least one CUDA GPU is visible."""
    return _backend.is_available("cuda")


def unavailable_reason() -> str | None:
    """Why "cuda" cannot be used here (what is missing and how to install it), or None."""
    return _backend.unavailable_reason("cuda")


def device_count() -> int:
    """The number of visible CUDA GPUs (0 without CuPy or a GPU)."""
    return _backend.device_count("cuda")


def _require():
    if not is_available():
        raise RuntimeError(unavailable_reason())
    return _backend.device("cuda").backend


def synchronize(device=None) -> None:
    """Wait until every kernel queued on `device` (default "cuda") has finished.

    CuPy returns from each call as soon as the kernel is queued, so time GPU work
    between two `synchronize()` calls, never around a bare call.
    """
    spec = "cuda" if device is None else (f"cuda:{device}" if isinstance(device, int) else device)
    _backend.synchronize(spec)


def current_device() -> int:
    """The index of CuPy's current GPU (where kernels launch)."""
    return _require().current_device()


def get_device_name(device=None) -> str:
    """The GPU's name, e.g. 'NVIDIA H100 80GB HBM3'."""
    index = 0 if device is None else (device if isinstance(device, int) else
                                      _backend.device(device).index)  # fmt: skip
    return _require().get_device_name(index or 0)


def device(index):
    """`with tn.cuda.device(1): ...` runs the kernels inside on GPU 1 (CuPy's current device)."""
    spec = f"cuda:{index}" if isinstance(index, int) else index
    return _backend.device_context(spec)


def memory_allocated() -> int:
    """Bytes held by live CuPy arrays (0 when CUDA is not in use)."""
    return _backend._load("cuda").memory_allocated() if is_available() else 0


def memory_reserved() -> int:
    """Bytes CuPy's memory pool holds from the driver: in use plus cached for reuse."""
    return _backend._load("cuda").memory_reserved() if is_available() else 0


def empty_cache() -> None:
    """Return cached, unused pool blocks to the driver (what `nvidia-smi` shows shrinks)."""
    if is_available():
        _backend._load("cuda").empty_cache()


def manual_seed(seed: int) -> None:
    """Seed the GPUs' random generators (not the CPU's); a no-op without CUDA, as in torch.

    tinynet seeds every GPU together, so this is `manual_seed_all`.
    """
    _backend.manual_seed_type("cuda", seed)


def manual_seed_all(seed: int) -> None:
    """Seed every GPU's random generator (not the CPU's); a no-op without CUDA."""
    _backend.manual_seed_type("cuda", seed)
