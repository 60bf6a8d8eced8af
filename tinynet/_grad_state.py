"""The thread-local grad-mode flag, in a module that imports nothing (tensor.py reads it).

tinynet/autograd/grad_mode.py builds `no_grad`, `enable_grad`, ... on it.
"""

from __future__ import annotations

import threading


class _State(threading.local):
    enabled = True  # class defaults: every new thread starts with grad on, anomaly off
    inference = False  # inside inference_mode()
    anomaly = False
    tapes: tuple = ()  # the tape() recorders active in this thread (autograd/tape.py)
    watch = False  # anomaly or tapes: the one flag the engine tests per recorded node


_state = _State()


def _update_watch() -> None:
    _state.watch = _state.anomaly or bool(_state.tapes)


def is_grad_enabled() -> bool:
    """Whether ops record nodes for backward in this thread (True unless inside no_grad)."""
    return _state.enabled


def is_anomaly_enabled() -> bool:
    """Whether detect_anomaly() is on in this thread."""
    return _state.anomaly
