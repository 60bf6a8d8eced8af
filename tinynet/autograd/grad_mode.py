"""Thread-local grad mode: `no_grad`, `enable_grad`, `set_grad_enabled`, and anomaly mode."""

from __future__ import annotations

import functools
import threading

class _State(threading.local):
    enabled = True  # class defaults: every new thread starts with grad on, anomaly off
    anomaly = False


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


class detect_anomaly(_Mode):
    """In backward, name the first op whose gradient has NaN or Inf and where its forward ran."""

    _attr = "anomaly"

    def __init__(self, mode: bool = True):
        super().__init__(mode)
