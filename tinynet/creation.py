"""Factories: zeros, ones, full, empty, arange, eye, rand, randn, randint and *_like."""

from __future__ import annotations

import numpy as np

from . import dtypes
from .backend import device as as_device
from .backend import from_dlpack as _from_dlpack
from .backend import generator
from .tensor import Tensor


def _shape(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    return tuple(int(s) for s in size)


def _new(array_fn, dtype, device, requires_grad, default=None) -> Tensor:
    dt = dtypes.as_dtype(dtype) if dtype is not None else (default or dtypes.get_default_dtype())
    dev = as_device(device)
    t = Tensor._make(array_fn(dev, dt.np), dev, False, None)
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of zeros, e.g. `tn.zeros(2, 3)`."""
    shape = _shape(size)
    return _new(lambda d, dt: d.xp.zeros(shape, dtype=dt), dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    shape = _shape(size)
    return _new(lambda d, dt: d.xp.ones(shape, dtype=dt), dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    shape = _shape(size)
    return _new(lambda d, dt: d.xp.empty(shape, dtype=dt), dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor filled with `fill_value`; its dtype follows the value, as torch."""
    shape = _shape((size,)) if not isinstance(size, int) else (size,)
    default = dtypes.scalar_dtype(fill_value)
    return _new(
        lambda d, dt: d.xp.full(shape, fill_value, dtype=dt), dtype, device, requires_grad, default
    )


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Values from start (0) up to, not including, end: int64 for ints, else the default float."""
    if end is None:
        start, end = 0, start
    is_int = all(isinstance(v, int) for v in (start, end, step))
    default = dtypes.int64 if is_int else dtypes.get_default_dtype()
    return _new(
        lambda d, dt: d.xp.arange(start, end, step).astype(dt),
        dtype,
        device,
        requires_grad,
        default,
    )


def eye(n, m=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _new(lambda d, dt: d.xp.eye(n, m, dtype=dt), dtype, device, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform on [0, 1), from the device's generator (seeded by tn.manual_seed)."""
    shape = _shape(size)
    return _new(lambda d, dt: generator(d).random(shape).astype(dt), dtype, device, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal, from the device's generator (seeded by tn.manual_seed)."""
    shape = _shape(size)
    return _new(
        lambda d, dt: generator(d).standard_normal(shape).astype(dt), dtype, device, requires_grad
    )


def randint(low, high=None, size=(), dtype=None, device=None, requires_grad=False) -> Tensor:
    """Integers in [low, high), int64 by default; `randint(10, (3,))` as torch."""
    if high is None:
        low, high = 0, low
    elif isinstance(high, (tuple, list)):  # randint(high, size), torch's short form
        low, high, size = 0, low, high
    shape = _shape((size,))
    return _new(
        lambda d, dt: generator(d).integers(low, high, size=shape).astype(dt),
        dtype, device, requires_grad, dtypes.int64,
    )  # fmt: skip


def _like(fn, t: Tensor, dtype, device, requires_grad, *args):
    return fn(
        *args,
        t.shape,
        dtype=dtype or t.dtype,
        device=device or t.device,
        requires_grad=requires_grad,
    )


def zeros_like(t, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _like(zeros, t, dtype, device, requires_grad)


def ones_like(t, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _like(ones, t, dtype, device, requires_grad)


def randn_like(t, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _like(randn, t, dtype, device, requires_grad)


def rand_like(t, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _like(rand, t, dtype, device, requires_grad)


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    return full(t.shape, fill_value, dtype=dtype or t.dtype, device=device or t.device,
                requires_grad=requires_grad)  # fmt: skip


def from_numpy(a: np.ndarray) -> Tensor:
    """A CPU tensor that shares memory with the NumPy array `a`."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(a).__name__}")
    dt = dtypes.as_dtype(a.dtype)
    if a.dtype != dt.np:
        raise TypeError(f"from_numpy: dtype {a.dtype} is not supported; use tn.tensor to convert")
    return Tensor._make(a, as_device("cpu"), False, None)


def from_dlpack(x) -> Tensor:
    """A tensor sharing memory with any DLPack producer: a NumPy or CuPy array, a torch tensor.

    Zero-copy: writes through either side are seen by the other. CPU memory gives a
    "cpu" tensor, CUDA memory a "cuda:N" tensor (needs CuPy). A tinynet Tensor gives
    a detached tensor on the same data. The result does not require grad.

    Example: `t = tn.from_dlpack(torch_tensor)`; back with `torch.from_dlpack(t)`.
    """
    if isinstance(x, Tensor):
        return x.detach()
    arr, dev = _from_dlpack(x)
    if arr.dtype not in {d.np for d in dtypes.ALL}:
        raise TypeError(
            f"from_dlpack: dtype {arr.dtype} is not supported (tinynet has "
            f"{', '.join(d.name for d in dtypes.ALL)}); convert it before sharing"
        )
    return Tensor._make(arr, dev, False, None)
