"""The op registry: every Function registers here with sample inputs for the generic tests.

`register` is a class decorator. The registry knows no op; tests/test_ops.py runs
float64 gradcheck and PyTorch parity (forward and backward) over every
registered op and each of its samples.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

REGISTRY: dict[str, type] = {}


@dataclass
class Sample:
    """One way to call an op, for the generic tests.

    `args` are the positional inputs: a tuple of ints is a shape (a random float
    tensor that requires grad is made for it), anything else passes as is (use
    `Arg(value)` for a tuple that is not a shape, `Int(shape, high)` for an integer
    tensor). `torch_fn(torch, *tensors, **kwargs)` computes the same thing in
    PyTorch; `fn(*tensors, **kwargs)` is tinynet's public function (defaults to
    the op's apply). `positive` keeps random inputs away from 0 (log, sqrt, pow).
    """

    args: tuple
    torch_fn: Callable[..., Any]
    fn: Callable[..., Any] | None = None
    kwargs: dict = field(default_factory=dict)
    positive: bool = False
    name: str = ""
    grad: bool = True  # False: forward parity only (no gradient exists)
    atol: float | None = None


@dataclass
class Arg:
    """A positional argument passed through unchanged (not a shape)."""

    value: Any


@dataclass
class Int:
    """An integer tensor argument of `shape` with values in [low, high)."""

    shape: tuple
    high: int
    low: int = 0


@dataclass
class Bool:
    """A boolean tensor argument of `shape`."""

    shape: tuple


def register(cls):
    """Class decorator: add a Function subclass to the registry (it must define `samples`)."""
    REGISTRY[cls.__name__] = cls
    return cls
