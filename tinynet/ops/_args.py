"""Argument normalisers shared by the ops and factories: ints, sizes, dims, pairs.

One home for each rule, so every op refuses the same bad input with the same
sentence: a float where an int belongs is a TypeError naming the op and the
argument (never silently truncated), a dim out of range an IndexError.
"""

from __future__ import annotations

import operator

_Tensor = None  # tensor.Tensor, looked up on first use: _args sits below tensor.py


def _tensor(op: str, x, name: str = "input"):
    """`x` if it is a Tensor, else a TypeError naming the op (not an AttributeError later)."""
    global _Tensor
    if _Tensor is None:  # an import statement here would cost ~5 us on every call
        from ..tensor import Tensor as _Tensor
    if not isinstance(x, _Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")
    return x


def _floating(op: str, x, name: str = "input", error: type = TypeError, hint: str = ""):
    """`x` if it is a floating point Tensor, else a TypeError (not a Tensor) or `error` (an
    integer or bool tensor; torch raises TypeError in some ops, RuntimeError in others)
    naming the op, the dtype and the shape, then `hint`."""
    _tensor(op, x, name)
    if not x.dtype.is_floating_point:
        raise error(
            f"{op}: {name} must be a floating point tensor, got {x.dtype.name} of shape "
            f"{tuple(x.shape)}{hint}"
        )
    return x


def _tensor_first(name: str, fn, arrays: bool = False):
    """`fn` refusing a first argument that is not a Tensor with a TypeError naming `name`: the
    public-boundary check the function namespaces (tn.*, F.*) put on every such function.
    `arrays=True`: a backend array (what `t.data` is) passes too, for an `fn` that takes it."""
    from ..tensor import Tensor

    def checked(*args, **kwargs):
        if (
            args
            and not isinstance(args[0], Tensor)
            and not (arrays and hasattr(args[0], "__array_namespace__"))
        ):
            raise TypeError(f"{name}: input must be a Tensor, got {type(args[0]).__name__}")
        return fn(*args, **kwargs)

    checked.__name__, checked.__qualname__, checked.__doc__ = name, name, fn.__doc__
    checked.__module__, checked.__wrapped__ = fn.__module__, fn
    return checked


def _int(op: str, name: str, v) -> int:
    """`v` as a Python int: ints, NumPy integers and one-element integer tensors pass; floats
    (even 2.0), strings and None raise TypeError naming the op and the argument."""
    if isinstance(v, bool):  # True is not a dim or a size (torch refuses it too)
        raise TypeError(f"{op}: {name} must be an int, got bool {v!r}")
    try:
        v = operator.index(v)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an int, got {type(v).__name__} {v!r}") from None
    return _in_int64(op, name, v)


_INT64 = (-(2**63), 2**63 - 1)


def _in_int64(op: str, name: str, v: int) -> int:
    """`v` if it fits an int64 (as every size, dim and index in torch), else OverflowError."""
    if not _INT64[0] <= v <= _INT64[1]:
        raise OverflowError(f"{op}: {name} {v} does not fit in an int64")
    return v


def _shape_arg(shape, op: str = "reshape", name: str = "shape") -> tuple:
    """Sizes given as ints or as one sequence (`f(2, 3)` or `f((2, 3))`) as a tuple of ints."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    out = []
    for s in shape:
        try:
            if isinstance(s, bool):
                raise TypeError
            out.append(_in_int64(op, name, operator.index(s)))
        except TypeError:
            raise TypeError(
                f"{op}: {name} must be a sequence of ints, got {type(s).__name__} {s!r} "
                f"in {tuple(shape)!r}"
            ) from None
    return tuple(out)


def _size(size, op: str, name: str = "size") -> tuple:
    """A factory's size (ints or one sequence of ints), each at least 0."""
    shape = _shape_arg(size, op, name)
    if any(s < 0 for s in shape):
        raise RuntimeError(f"{op}: {name} {shape} has a negative dimension")
    n = 1
    for s in shape:
        n *= s
    if n > _INT64[1]:  # NumPy would say "Maximum allowed dimension exceeded"
        raise RuntimeError(f"{op}: {name} {shape} has more elements than an int64 can count")
    return shape


def _dim(op: str, d: int, ndim: int) -> int:
    """A dim in [-ndim, ndim) as a non-negative axis."""
    d = _int(op, "dim", d)
    if not -ndim <= d < ndim:
        raise IndexError(f"{op}: dim {d} is out of range for a tensor with {ndim} dims")
    return d % ndim


def _dims(op: str, x, dim) -> tuple | None:
    """Normalise `dim` (None, an int, or a sequence) to sorted non-negative axes."""
    _tensor(op, x)
    if dim is None:
        return None
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    nd = max(x.ndim, 1)
    out = []
    for d in dims:
        d = _int(op, "dim", d)
        if not -nd <= d < nd:
            raise IndexError(
                f"{op}: dim {d} is out of range for a tensor of shape {tuple(x.shape)}"
            )
        out.append(d % nd)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: dim {dim} names the same axis twice")
    return tuple(sorted(out)) if x.ndim else None


def _pair(op: str, name: str, v, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints as a pair, each at least `minimum`."""
    vals = tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    try:
        if len(vals) != 2 or any(isinstance(a, bool) for a in vals):
            raise TypeError
        vals = (operator.index(vals[0]), operator.index(vals[1]))
        for a in vals:
            _in_int64(op, name, a)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {v!r}") from None
    if min(vals) < minimum:
        what = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{op}: {name} must be {what}, got {v!r}")
    return vals


class _Shape:
    """Stands for a tensor in argument checks where only its shape is known."""

    def __init__(self, shape):
        self.shape = tuple(shape)
        self.ndim = len(self.shape)


def _window_args(op: str, kernel_size, stride=1, padding=0, dilation=1) -> None:
    """Check a conv or pool layer's window arguments when it is built, not at its first call:
    each an int or a pair of ints (TypeError naming it, for a float such as 2.5), kernel_size,
    stride and dilation positive, padding non-negative (ValueError). `stride=None` (pools:
    the kernel size) and a padding string ("same", "valid": conv) pass."""
    _pair(op, "kernel_size", kernel_size, 1)
    if stride is not None:
        _pair(op, "stride", stride, 1)
    if not isinstance(padding, str):
        _pair(op, "padding", padding, 0)
    _pair(op, "dilation", dilation, 1)


def _number(op: str, name: str, v) -> float:
    """`v` as a float: ints and floats pass; None, strings and tensors raise a TypeError naming
    the op and the argument (torch's `delta must be a float or int`)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        try:  # NumPy scalars pass, as in torch; arrays and tensors do not
            if getattr(v, "ndim", 1) != 0:
                raise TypeError
            return float(v)
        except (TypeError, ValueError):
            raise TypeError(
                f"{op}: {name} must be a float or int, got {type(v).__name__} {v!r}"
            ) from None
    return float(v)
