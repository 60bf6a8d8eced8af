"""Argument normalisers shared by the op modules (shapes given as varargs, dims)."""

from __future__ import annotations


def _shape_arg(shape) -> tuple:
    """`f(2, 3)` and `f((2, 3))` alike: the shape as a tuple of ints."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def _dim(op: str, d: int, ndim: int) -> int:
    """`d` as a non-negative dim of a tensor with `ndim` dims; IndexError naming `op` if not."""
    if not -ndim <= d < ndim:
        raise IndexError(f"{op}: dim {d} is out of range for a tensor with {ndim} dims")
    return d % ndim
