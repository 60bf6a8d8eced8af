"""Factories: zeros, ones, full, empty, arange, linspace, eye, the random ones and *_like.

Sizes go through one normaliser (ops/_args.py): ints or one sequence of ints; a float
size (2.5, even 2.0) is a TypeError, a negative one a RuntimeError, as torch.
"""

from __future__ import annotations

import math
import os

import numpy as np

from . import backend, dtypes
from .backend import device as as_device
from .backend import from_dlpack as _from_dlpack
from .backend import generator as _generator
from .ops._args import _int, _size, _tensor
from .tensor import Tensor


def _size_arg(size, op: str) -> tuple:
    """`size` given as one argument: an int or a sequence of ints."""
    return _size(size if isinstance(size, (tuple, list)) else (size,), op)


def _new(array_fn, dtype, device, requires_grad, default=None) -> Tensor:
    dt = dtypes.as_dtype(dtype) if dtype is not None else (default or dtypes.get_default_dtype())
    dev = as_device(device)
    t = Tensor._make(array_fn(dev, dt.np), dev, False, None)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _number(op: str, name: str, v):
    """A Python number from an int, float, NumPy scalar or one-element tensor."""
    if isinstance(v, Tensor):
        v = v.item()
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"{op}: {name} must be a number, got {type(v).__name__} {v!r}")
    dtypes.check_int(v, op, name)
    return v


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of zeros, e.g. `tn.zeros(2, 3)`."""
    shape = _size(size, "zeros")
    return _new(lambda d, dt: d.xp.zeros(shape, dtype=dt), dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of ones, e.g. `tn.ones(2, 3)`."""
    shape = _size(size, "ones")
    return _new(lambda d, dt: d.xp.ones(shape, dtype=dt), dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """An uninitialised tensor, e.g. `tn.empty(2, 3)`."""
    shape = _size(size, "empty")
    return _new(lambda d, dt: d.xp.empty(shape, dtype=dt), dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor filled with `fill_value`; its dtype follows the value, as torch."""
    shape = _size_arg(size, "full")
    fill_value = _number("full", "fill_value", fill_value) if not isinstance(
        fill_value, bool) else fill_value  # fmt: skip
    default = dtypes.scalar_dtype(fill_value)
    dt = dtypes.as_dtype(dtype) if dtype is not None else default
    dtypes.check_scalar_fits(fill_value, dt, "full")
    return _new(lambda d, dt: d.xp.full(shape, fill_value, dtype=dt), dt, device, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Values from start (0) up to, not including, end: int64 for ints, else the default float."""
    if end is None:
        start, end = 0, start
    start, end, step = (_number("arange", n, v) for n, v in (("start", start), ("end", end),
                                                               ("step", step)))  # fmt: skip
    if not all(math.isfinite(v) for v in (start, end, step)):
        raise RuntimeError(f"arange: unsupported range {start} -> {end} (step {step})")
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(
            f"arange: the bounds {start} -> {end} are inconsistent with the sign of step {step}"
        )
    is_int = all(isinstance(v, int) for v in (start, end, step))
    default = dtypes.int64 if is_int else dtypes.get_default_dtype()
    return _new(
        lambda d, dt: d.xp.arange(start, end, step).astype(dt),
        dtype,
        device,
        requires_grad,
        default,
    )


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False) -> Tensor:
    """`steps` evenly spaced values from start to end, both included."""
    start, end = _number("linspace", "start", start), _number("linspace", "end", end)
    n = _int("linspace", "steps", steps)
    if n < 0:
        raise RuntimeError(f"linspace: number of steps must be non-negative, got {n}")
    return _new(lambda d, dt: d.xp.linspace(start, end, n).astype(dt), dtype, device,
                requires_grad)  # fmt: skip


def logspace(start, end, steps, base=10.0, dtype=None, device=None, requires_grad=False):
    """`steps` values from base**start to base**end, evenly spaced in the exponent."""
    start, end = _number("logspace", "start", start), _number("logspace", "end", end)
    base = _number("logspace", "base", base)
    n = _int("logspace", "steps", steps)
    if n < 0:
        raise RuntimeError(f"logspace: number of steps must be non-negative, got {n}")
    return _new(lambda d, dt: (float(base) ** d.xp.linspace(start, end, n)).astype(dt), dtype,
                device, requires_grad)  # fmt: skip


def eye(n, m=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """An n x m (m defaults to n) tensor with ones on the diagonal."""
    n = _int("eye", "n", n)
    m = n if m is None else _int("eye", "m", m)
    if n < 0 or m < 0:
        raise RuntimeError(f"eye: n and m must be non-negative, got n={n}, m={m}")
    return _new(lambda d, dt: d.xp.eye(n, m, dtype=dt), dtype, device, requires_grad)


# ----- random ----------------------------------------------------------------------------


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform on [0, 1), from the device's generator (seeded by tn.manual_seed) or `generator`."""
    shape = _size(size, "rand")
    return _new(lambda d, dt: _generator(d, generator).random(shape).astype(dt), dtype, device,
                requires_grad)  # fmt: skip


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal, from the device's generator (seeded by tn.manual_seed) or `generator`."""
    shape = _size(size, "randn")
    return _new(lambda d, dt: _generator(d, generator).standard_normal(shape).astype(dt), dtype,
                device, requires_grad)  # fmt: skip


def randint(low, high=None, size=(), generator=None, dtype=None, device=None,
            requires_grad=False) -> Tensor:  # fmt: skip
    """Integers in [low, high), int64 by default; `randint(10, (3,))` as torch."""
    if high is None:
        low, high = 0, low
    elif isinstance(high, (tuple, list)):  # randint(high, size), torch's short form
        low, high, size = 0, low, high
    low, high = _int("randint", "low", low), _int("randint", "high", high)
    dtypes.check_int(low, "randint", "low")
    dtypes.check_int(high, "randint", "high")
    if low >= high:
        raise RuntimeError(f"randint: low must be less than high, got low={low}, high={high}")
    shape = _size_arg(size, "randint")
    return _new(
        lambda d, dt: _generator(d, generator).integers(low, high, size=shape).astype(dt),
        dtype, device, requires_grad, dtypes.int64,
    )  # fmt: skip


def randperm(n, generator=None, dtype=dtypes.int64, device=None, requires_grad=False) -> Tensor:
    """A random permutation of 0..n-1 (int64 by default)."""
    n = _int("randperm", "n", n)
    if n < 0:
        raise RuntimeError(f"randperm: n must be greater or equal to 0, got {n}")
    return _new(
        lambda d, dt: d.xp.argsort(_generator(d, generator).random(n), kind="stable").astype(dt),
        dtype, device, requires_grad, dtypes.int64,
    )  # fmt: skip


def normal(mean=0.0, std=1.0, size=None, generator=None, dtype=None, device=None,
           requires_grad=False) -> Tensor:  # fmt: skip
    """Normal samples: tensors `mean` and/or `std` give one sample per element (broadcast);
    two numbers with `size` give a tensor of that size. Not differentiable, as torch."""
    ref = mean if isinstance(mean, Tensor) else std if isinstance(std, Tensor) else None
    if ref is None:
        if size is None:
            raise TypeError("normal: give `size` when mean and std are both numbers")
        mean, std = _number("normal", "mean", mean), _number("normal", "std", std)
        if std < 0:
            raise RuntimeError(f"normal: std must be >= 0, got {std}")
        shape = _size_arg(size, "normal")
        return _new(
            lambda d, dt: (_generator(d, generator).standard_normal(shape) * std + mean).astype(dt),
            dtype, device, requires_grad,
        )  # fmt: skip
    dev = ref.device
    m = mean.data if isinstance(mean, Tensor) else _number("normal", "mean", mean)
    s = std.data if isinstance(std, Tensor) else _number("normal", "std", std)
    if isinstance(std, Tensor) and std.numel() and bool((std.data < 0).any()):
        raise RuntimeError("normal: std must be >= 0 everywhere")
    try:
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
    except ValueError:
        raise RuntimeError(
            f"normal: mean {tuple(np.shape(m))} and std {tuple(np.shape(s))} do not broadcast"
        ) from None
    dt = dtypes.as_dtype(dtype) if dtype is not None else ref.dtype
    if not dt.is_floating_point:
        dt = dtypes.get_default_dtype()
    z = _generator(dev, generator).standard_normal(shape)
    return _new(lambda d, _: (z * s + m).astype(dt.np), dt, dev, requires_grad)


def _like(fn, t: Tensor, dtype, device, requires_grad, *args, **kw):
    if not isinstance(t, Tensor):
        raise TypeError(f"{fn.__name__}_like: input must be a Tensor, got {type(t).__name__}")
    return fn(
        *args,
        t.shape,
        dtype=dtype or t.dtype,
        device=device or t.device,
        requires_grad=requires_grad,
        **kw,
    )


def zeros_like(t, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Zeros of t's shape (and dtype and device unless given)."""
    return _like(zeros, t, dtype, device, requires_grad)


def ones_like(t, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Ones of t's shape (and dtype and device unless given)."""
    return _like(ones, t, dtype, device, requires_grad)


def empty_like(t, dtype=None, device=None, requires_grad=False) -> Tensor:
    """An uninitialised tensor of t's shape (and dtype and device unless given)."""
    return _like(empty, t, dtype, device, requires_grad)


def randn_like(t, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal samples of t's shape (and dtype and device unless given)."""
    return _like(randn, t, dtype, device, requires_grad, generator=generator)


def rand_like(t, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform [0, 1) samples of t's shape (and dtype and device unless given)."""
    return _like(rand, t, dtype, device, requires_grad, generator=generator)


def randint_like(t, low=0, high=None, generator=None, dtype=None, device=None,
                 requires_grad=False) -> Tensor:  # fmt: skip
    """Integers in [low, high) of t's shape; `randint_like(t, 10)` means high=10."""
    if high is None:
        low, high = 0, low
    if not isinstance(t, Tensor):
        raise TypeError(f"randint_like: input must be a Tensor, got {type(t).__name__}")
    return randint(low, high, t.shape, generator=generator, dtype=dtype or t.dtype,
                   device=device or t.device, requires_grad=requires_grad)  # fmt: skip


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    """`fill_value` everywhere, in t's shape (and dtype and device unless given)."""
    _tensor("full_like", t)
    return full(t.shape, fill_value, dtype=dtype or t.dtype, device=device or t.device,
                requires_grad=requires_grad)  # fmt: skip


def seed() -> int:
    """Seed every device's generator from the operating system's entropy; returns the seed."""
    s = int.from_bytes(os.urandom(8), "little") >> 1
    backend.manual_seed(s)
    return s


def initial_seed() -> int:
    """The seed of the global generators (set by tn.manual_seed or tn.seed)."""
    s = backend._seed[0]
    return seed() if s is None else s


# ----- from other arrays --------------------------------------------------------------------


def from_numpy(a: np.ndarray) -> Tensor:
    """A CPU tensor that shares memory with the NumPy array `a` (its dtype kept)."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(a).__name__}")
    try:
        dt = dtypes.as_dtype(a.dtype)
    except TypeError as e:
        raise dtypes.UnsupportedDTypeError(f"from_numpy: {e}") from None
    if a.dtype != dt.np:  # e.g. a non-native byte order
        raise dtypes.UnsupportedDTypeError(
            f"from_numpy: dtype {a.dtype} is not supported; use tn.tensor to convert"
        )
    return Tensor._make(a, as_device("cpu"), False, None)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """`data` as a Tensor, sharing memory where it can (torch.as_tensor).

    A Tensor already of that dtype and device comes back itself (grad history kept),
    otherwise converted with `.to`; a NumPy array bound for the CPU with its own dtype
    shares its memory, as `from_numpy`; anything else is copied, as `tensor`.
    """
    from .tensor import tensor

    if isinstance(data, Tensor):
        return data.to(dtype=dtype, device=device)
    dev = as_device(device) if device is not None else backend.get_default_device()
    if isinstance(data, np.ndarray) and dev.type == "cpu":
        try:
            dt = dtypes.as_dtype(data.dtype)
        except TypeError:
            dt = None
        if dt is not None and dt.np == data.dtype and (dtype is None or dtype == dt):
            return from_numpy(data)
    return tensor(data, dtype=dtype, device=dev)


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
        raise dtypes.UnsupportedDTypeError(
            f"from_dlpack: dtype {arr.dtype} is not supported (tinynet has "
            f"{', '.join(d.name for d in dtypes.ALL)}); convert it before sharing"
        )
    return Tensor._make(arr, dev, False, None)


__all__ = [
    "arange", "empty", "empty_like", "eye", "from_dlpack", "from_numpy", "full", "full_like",
    "initial_seed", "linspace", "logspace", "normal", "ones", "ones_like", "rand", "rand_like",
    "randint", "randint_like", "randn", "randn_like", "randperm", "seed", "zeros", "zeros_like",
]  # fmt: skip
