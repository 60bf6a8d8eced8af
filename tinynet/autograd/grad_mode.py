"""Thread-local grad mode: `no_grad`, `enable_grad`, `set_grad_enabled`, and anomaly mode."""

from __future__ import annotations

import functools
import os
import threading
import traceback


class _State(threading.local):
    enabled = True  # class defaults: every new thread starts with grad on, anomaly off
    inference = False
    anomaly = False
    tapes: tuple = ()  # the tape() recorders active in this thread (autograd/tape.py)
    watch = False  # anomaly or tapes: the one flag the engine tests per recorded node


def _update_watch() -> None:
    _state.watch = _state.anomaly or bool(_state.tapes)


_state = _State()


def is_grad_enabled() -> bool:
    """Whether ops record nodes for backward in this thread (True unless inside no_grad)."""
    return _state.enabled


def is_anomaly_enabled() -> bool:
    return _state.anomaly


class _Mode:
    """A context manager and decorator that sets one thread-local flag and restores it."""

    _attr = "enabled"

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._prev: list[bool] = []

    def __enter__(self):
        self._prev.append(getattr(_state, self._attr))
        setattr(_state, self._attr, self.mode)
        return self

    def __exit__(self, *exc) -> None:
        setattr(_state, self._attr, self._prev.pop())

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(*self._args()):
                return fn(*args, **kwargs)

        return wrapper

    def _args(self):
        return (self.mode,)


class set_grad_enabled(_Mode):
    """`with set_grad_enabled(False): ...` turns recording off (or on) in this thread."""


class no_grad(set_grad_enabled):
    """Ops inside record nothing: for evaluation and optimizer updates."""

    def __init__(self):
        super().__init__(False)

    def _args(self):
        return ()


class enable_grad(set_grad_enabled):
    """Turn recording back on inside a `no_grad` block."""

    def __init__(self):
        super().__init__(True)

    def _args(self):
        return ()


def is_inference_mode_enabled() -> bool:
    """Whether this thread is inside `inference_mode()`."""
    return _state.inference


class inference_mode(_Mode):
    """`no_grad` under torch's other name: ops inside record nothing.

    tinynet has no separate inference tensors, so this is no_grad plus the flag
    `is_inference_mode_enabled()` reads; `inference_mode(False)` changes nothing.
    A context manager and a decorator (`@tn.inference_mode()` or `@tn.inference_mode`).
    """

    _attr = "inference"

    def __new__(cls, mode=True):
        if callable(mode) and not isinstance(mode, bool):  # @inference_mode without ()
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True):
        super().__init__(mode)
        self._grad: list[bool] = []

    def __enter__(self):
        self._grad.append(_state.enabled)
        if self.mode:
            _state.enabled = False
        return super().__enter__()

    def __exit__(self, *exc) -> None:
        super().__exit__(*exc)
        _state.enabled = self._grad.pop()


class detect_anomaly(_Mode):
    """In backward, name the first op whose gradient has NaN or Inf and where its forward ran.

    Forward records each node's Python stack (slow: for debugging only); backward
    raises RuntimeError at the first op whose backward produced a NaN/Inf, with the
    user's line that ran its forward. A context manager and a decorator::

        with tn.autograd.detect_anomaly():
            loss = model(x).sum()
            loss.backward()
    """

    _attr = "anomaly"

    def __init__(self, mode: bool = True):
        super().__init__(mode)

    def __enter__(self):
        super().__enter__()
        _update_watch()
        return self

    def __exit__(self, *exc) -> None:
        super().__exit__(*exc)
        _update_watch()


_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def check_anomaly(node, grads) -> None:
    """Raise if `node`'s backward produced NaN/Inf, naming the op and where its forward ran."""
    for i, g in enumerate(grads):
        if g is None:
            continue
        xp = g.device.xp
        if g.device.backend.to_host(xp.isfinite(g.data).all()):
            continue
        what = "NaN" if g.device.backend.to_host(xp.isnan(g.data).any()) else "Inf"
        msg = (
            f"detect_anomaly: the backward of {node.name} #{node.seq} produced {what} "
            f"in the gradient of its input {i} (shape {tuple(g.shape)})."
        )
        # the user's line: the innermost frame outside the tinynet package
        stack = node.stack or ()
        user = [i for i, f in enumerate(stack) if not os.path.abspath(f.filename).startswith(_PKG)]
        if user:
            f = stack[user[-1]]
            msg += (
                f"\nIts forward ran at {f.filename}:{f.lineno}, in {f.name}:\n    {f.line}\n"
                "Forward traceback (most recent call last):\n"
                + "".join(traceback.format_list(stack[: user[-1] + 1])).rstrip()
            )
        else:
            msg += "\nRun the forward pass under detect_anomaly() too to see where it ran."
        raise RuntimeError(msg)
