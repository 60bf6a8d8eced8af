"""The CPU backend: NumPy, plus the few kernels whose spelling differs on CuPy."""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

name = "cpu"
xp = np


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
