"""Thread-local grad mode: `no_grad`, `enable_grad`, `set_grad_enabled`, and anomaly mode."""

from __future__ import annotations

import functools
import inspect
import os
import traceback

from .._grad_state import _state, _update_watch, is_anomaly_enabled, is_grad_enabled

__all__ = [
    "is_grad_enabled", "is_anomaly_enabled", "set_grad_enabled", "no_grad", "enable_grad",
    "inference_mode", "is_inference_mode_enabled", "detect_anomaly", "check_anomaly", "_state",
    "_update_watch",
]  # fmt: skip


class _Mode:
    """A context manager and decorator that sets one thread-local flag and restores it.

    As a decorator it applies to each call; on a generator function, to each stretch of
    the generator's own code (restored at every `yield`, as torch does).
    """

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

    def clone(self):
        """A fresh manager with the same mode (each decorated call enters its own)."""
        return self.__class__(*self._args())

    def __call__(self, fn):
        if inspect.isgeneratorfunction(fn):
            return _wrap_generator(self.clone, fn)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.clone():
                return fn(*args, **kwargs)

        return wrapper

    def _args(self):
        return (self.mode,)


def _wrap_generator(make_mode, fn):
    """`fn`'s generator, with the mode on while its code runs and restored at each yield."""

    @functools.wraps(fn)
    def generator(*args, **kwargs):
        gen = fn(*args, **kwargs)
        try:
            with make_mode():
                response = gen.send(None)
            while True:
                try:
                    request = yield response
                except GeneratorExit:
                    with make_mode():
                        gen.close()
                    raise
                except BaseException as e:
                    with make_mode():
                        response = gen.throw(e)
                else:
                    with make_mode():
                        response = gen.send(request)
        except StopIteration as e:
            return e.value

    return generator


class set_grad_enabled(_Mode):
    """Turn recording on or off in this thread: a call, a context manager or a decorator.

    `tn.set_grad_enabled(False)` alone turns recording off until it is turned on again;
    `with tn.set_grad_enabled(mode): ...` restores the previous mode on exit.
    """

    def __init__(self, mode: bool):
        super().__init__(mode)
        self._prev.append(_state.enabled)  # takes effect now, as torch's
        _state.enabled = self.mode

    def __enter__(self):
        return self

    def __call__(self, fn):
        _state.enabled = self._prev[-1]  # used as a decorator: the mode applies to calls only
        return super().__call__(fn)


class _NoParam(_Mode):
    """A mode that also decorates without parentheses: `@tn.no_grad` as `@tn.no_grad()`."""

    def __new__(cls, *args):
        if len(args) == 1 and callable(args[0]) and not isinstance(args[0], bool):
            return cls()(args[0])
        return super().__new__(cls)


class no_grad(_NoParam):
    """Ops inside record nothing: for evaluation and optimizer updates."""

    def __init__(self, orig_func=None):
        super().__init__(False)

    def _args(self):
        return ()


class enable_grad(_NoParam):
    """Turn recording back on inside a `no_grad` block."""

    def __init__(self, orig_func=None):
        super().__init__(True)

    def _args(self):
        return ()


def is_inference_mode_enabled() -> bool:
    """Whether this thread is inside `inference_mode()`."""
    return _state.inference


class inference_mode(_NoParam):
    """`no_grad` under torch's other name: ops inside record nothing.

    tinynet has no separate inference tensors, so this is no_grad plus the flag that
    `is_inference_mode_enabled()` reads; `inference_mode(False)` changes nothing. A context
    manager and a decorator (`@tn.inference_mode()` or `@tn.inference_mode`).
    """

    _attr = "inference"

    def __init__(self, mode: bool = True):
        super().__init__(mode)
        self._grad: list[bool] = []

    def __enter__(self):
        self._grad.append(_state.enabled)
        if self.mode:
            _state.enabled = False
            return super().__enter__()
        self._prev.append(_state.inference)
        return self

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
