"""DataLoader worker processes: the worker loop, `get_worker_info`, and the batch wire format.

Workers are forked (the "fork" start method, Linux's default), so each inherits the
dataset, collate_fn and worker_init_fn as they are in memory: nothing is pickled to
start a worker. Batches come back over a pipe per worker in a format of our own, also
without pickle: a JSON header describing the batch's structure (lists, tuples,
namedtuples, dicts, numbers, strings, None) and one raw byte message per array
(`Connection.send_bytes` / `recv_bytes_into`, straight into a fresh NumPy array). A
batch holding anything else (an arbitrary Python object) raises a TypeError naming it.

A worker stops when its pipe closes (the main process finished, deleted the iterator,
raised, or died), when its parent changes (a watchdog checks every second), or when
it is terminated; it ignores Ctrl-C, which the main process handles by shutting the
workers down.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import traceback
import weakref

import numpy as np

from tinynet.backend import manual_seed
from tinynet.creation import from_numpy
from tinynet.tensor import Tensor

__all__ = ["WorkerInfo", "get_worker_info"]

_worker_info: WorkerInfo | None = None
# the main-process ends of every live worker pipe: a newly forked worker closes its
# copies, so a worker sees end-of-file as soon as its own main-process end is closed
_PARENT_ENDS: weakref.WeakSet = weakref.WeakSet()


class WorkerInfo:
    """What a worker process knows about itself: `id`, `num_workers`, `seed`, `dataset`.

    Read-only, as torch's.
    """

    __slots__ = ("id", "num_workers", "seed", "dataset")

    def __init__(self, **kwargs):
        for k, v in kwargs.items():
            object.__setattr__(self, k, v)

    def __setattr__(self, key, value):
        raise RuntimeError(f"Cannot assign attributes to {type(self).__name__} objects")

    def __repr__(self) -> str:
        return f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed})"


def get_worker_info() -> WorkerInfo | None:
    """In a DataLoader worker process, its WorkerInfo; in the main process, None.

    Example:
        >>> class Stream(IterableDataset):
        ...     def __iter__(self):
        ...         info = get_worker_info()
        ...         start = 0 if info is None else info.id
        ...         step = 1 if info is None else info.num_workers
        ...         return iter(range(start, 100, step))
    """
    return _worker_info


# ----- the wire format ---------------------------------------------------------------------


def _encode(obj, arrays: list, where: str = "batch"):
    if isinstance(obj, Tensor):
        if obj.device.type != "cpu":
            raise TypeError(
                f"DataLoader worker: {where} is a Tensor on {obj.device}; workers return CPU "
                "data (move it to the device in the training loop)"
            )
        arrays.append(np.asarray(obj.data))
        return {"T": len(arrays) - 1}
    if isinstance(obj, np.ndarray):
        arrays.append(obj)
        return {"A": len(arrays) - 1}
    if isinstance(obj, np.generic):
        arrays.append(np.asarray(obj))
        return {"S": len(arrays) - 1}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, bytes):
        arrays.append(np.frombuffer(obj, np.uint8))
        return {"B": len(arrays) - 1}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        cls = type(obj)
        items = [_encode(v, arrays, f"{where}.{f}") for f, v in zip(obj._fields, obj)]
        return {"N": [cls.__module__, cls.__qualname__], "v": items}
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]
        return {"L" if isinstance(obj, list) else "U": items}
    if isinstance(obj, dict):
        out = []
        for k, v in obj.items():
            if not isinstance(k, (str, int)):
                raise TypeError(f"DataLoader worker: {where} has a {type(k).__name__} dict key")
            out.append([k, _encode(v, arrays, f"{where}[{k!r}]")])
        return {"D": out}
    raise TypeError(
        f"DataLoader worker: cannot send {where}, a {type(obj).__name__}, to the main process: "
        "workers return Tensors, NumPy arrays, numbers, strings, None and lists, tuples and "
        "dicts of them (tinynet never pickles); use num_workers=0 for other objects"
    )


def _decode(node, arrays: list):
    if isinstance(node, dict):
        if "T" in node:
            return from_numpy(arrays[node["T"]])
        if "A" in node:
            return arrays[node["A"]]
        if "S" in node:
            return arrays[node["S"]][()]
        if "B" in node:
            return arrays[node["B"]].tobytes()
        if "L" in node:
            return [_decode(v, arrays) for v in node["L"]]
        if "U" in node:
            return tuple(_decode(v, arrays) for v in node["U"])
        if "D" in node:
            return {k: _decode(v, arrays) for k, v in node["D"]}
        if "N" in node:
            items = [_decode(v, arrays) for v in node["v"]]
            cls = _lookup(*node["N"])
            return cls(*items) if cls is not None else tuple(items)
    return node


def _lookup(module: str, qualname: str):
    """The namedtuple class by name, among modules already imported (nothing is imported)."""
    obj = sys.modules.get(module)
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    ok = isinstance(obj, type) and issubclass(obj, tuple) and hasattr(obj, "_fields")
    return obj if ok else None


def send(conn, header: dict, payload=None) -> None:
    """Send a header and, when given, a batch (its arrays as raw bytes) over a Connection."""
    arrays: list = []
    if payload is not None or "batch" in header:
        header = dict(header, batch=_encode(payload, arrays))
    for i, a in enumerate(arrays):
        if a.dtype.kind not in "biuf":
            raise TypeError(f"DataLoader worker: cannot send an array of dtype {a.dtype}")
        arrays[i] = np.ascontiguousarray(a)
    header["arrays"] = [[a.dtype.str, list(a.shape)] for a in arrays]
    conn.send_bytes(json.dumps(header).encode())
    for a in arrays:
        conn.send_bytes(a.reshape(-1).view(np.uint8))


def recv(conn) -> dict:
    """Receive what `send` sent: the header, with the batch rebuilt under "batch"."""
    header = json.loads(conn.recv_bytes())
    arrays = []
    for dtype, shape in header.pop("arrays"):
        dt = np.dtype(dtype)
        if dt.kind not in "biuf":
            raise RuntimeError(f"DataLoader: a worker sent an array of dtype {dt}")
        a = np.empty(shape, dt)
        conn.recv_bytes_into(a.reshape(-1).view(np.uint8))
        arrays.append(a)
    if "batch" in header:
        header["batch"] = _decode(header["batch"], arrays)
    return header


# ----- the worker loop -----------------------------------------------------------------------


def worker_loop(conn, fetch, dataset, worker_id: int, num_workers: int, seed: int,
                init_fn, iterable_batches) -> None:  # fmt: skip
    """Serve tasks from the main process until the pipe closes or the parent goes away.

    A task is {"task": t, "idx": indices} (map-style) or {"task": t} (the worker's next
    batch of an IterableDataset, from `iterable_batches()`, restarted by a task that
    carries "reset"); each gets one reply:
    {"task": t, "batch": ...}, {"task": t, "end": true}, or {"task": t, "error": ...}
    carrying the exception's type and the worker's traceback text.
    """
    global _worker_info
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process handles Ctrl-C
    for other in list(_PARENT_ENDS):
        other.close()
    parent = os.getppid()
    init_error = None
    try:
        random.seed(seed)
        np.random.seed(seed % 2**32)
        manual_seed(seed)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                                  dataset=dataset)  # fmt: skip
        if init_fn is not None:
            init_fn(worker_id)
    except Exception as e:  # reported with the first task, as torch does
        init_error = _error(e, worker_id)
    while True:
        try:
            while not conn.poll(1.0):
                if os.getppid() != parent:  # the main process died without closing the pipe
                    return
            task = json.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        t = task["task"]
        try:
            if init_error is not None:
                send(conn, dict(init_error, task=t))
                continue
            try:
                if iterable_batches is None:
                    batch = fetch(task["idx"])
                else:
                    if task.get("reset"):  # a new pass over the stream (persistent workers)
                        batches = iterable_batches()
                    batch = next(batches)
            except StopIteration:
                send(conn, {"task": t, "end": True})
                continue
            except Exception as e:
                send(conn, dict(_error(e, worker_id), task=t))
                continue
            try:
                send(conn, {"task": t, "batch": None}, batch)
            except (TypeError, ValueError) as e:  # a batch our wire format can't carry
                send(conn, dict(_error(e, worker_id), task=t))
        except (BrokenPipeError, EOFError, OSError):
            return


def _error(e: BaseException, worker_id: int) -> dict:
    return {"error": type(e).__name__, "worker": worker_id, "tb": traceback.format_exc()}
