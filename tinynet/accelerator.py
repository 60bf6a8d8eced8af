"""`tn.accelerator`: PyTorch's device-agnostic accelerator questions, answered for CUDA.

Scripts written for PyTorch 2.6+ ask `torch.accelerator.is_available()` and
`torch.accelerator.current_accelerator()`; tinynet's only accelerator is CUDA (CuPy).
"""

from __future__ import annotations

from . import cuda
from .backend import Device, device

__all__ = ["is_available", "current_accelerator", "device_count", "synchronize"]


def is_available() -> bool:
    """Whether a CUDA GPU (with CuPy) can be used."""
    return cuda.is_available()


def current_accelerator(check_available: bool = False) -> Device | None:
    """The accelerator's device (`cuda`), or None where there is none."""
    if cuda.is_available():
        return device("cuda")
    return None


def device_count() -> int:
    """How many accelerators there are (0 without CUDA)."""
    return cuda.device_count() if cuda.is_available() else 0


def synchronize(device=None) -> None:
    """Wait for the accelerator's queued work (nothing to wait for without one)."""
    if cuda.is_available():
        cuda.synchronize(device)
