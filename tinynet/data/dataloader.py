"""DataLoader: batches of a dataset, in the main process or in worker processes, as torch's.

The main process decides the order (the sampler) and hands index batches to the
workers round-robin; batches come back in that order, so `num_workers=2` gives the
same batches as `num_workers=0`. See `tinynet.data.worker` for how workers start,
stop and send batches without pickle.
"""

from __future__ import annotations

import builtins
import functools
import json
import multiprocessing
import multiprocessing.connection
import numbers
import time
import weakref
from collections.abc import Iterator

import numpy as np

from tinynet.backend import Generator
from tinynet.backend import device as as_device
from tinynet.backend import generator as backend_generator

from . import worker as _worker
from .collate import default_collate, default_convert
from .dataset import Dataset, IterableDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "collate"]

collate = default_collate  # the name tinynet used before default_collate


class _SeededRandomSampler(RandomSampler):
    """A RandomSampler whose pass `epoch` is the permutation seeded by `(seed, epoch)`."""

    def __init__(self, data_source, seed: int):
        super().__init__(data_source)
        self.seed, self.epoch = int(seed), 0

    def _order(self) -> np.ndarray:
        rng = np.random.default_rng([self.seed, self.epoch])
        return rng.permutation(len(self.data_source)).astype(np.int64, copy=False)


def _fetch(dataset, idx, auto_collation: bool, collate_fn):
    """One batch: the samples at `idx` (an int64 array), collated; or one sample, converted."""
    if not auto_collation:
        return collate_fn(dataset[idx])
    getitems = getattr(dataset, "__getitems__", None)
    if getitems is not None:
        batch = getitems(idx)
        if isinstance(batch, list):  # torch's protocol: a list of samples
            return collate_fn(batch)
        if collate_fn is default_collate:  # tinynet's: the batch already collated
            return batch
    return collate_fn([dataset[int(i)] for i in idx])


def _fetch_task(dataset, auto_collation: bool, collate_fn, idx):
    """`_fetch` for a worker's task (indices arrive as JSON: a list, or one int)."""
    if auto_collation:
        idx = np.asarray(idx, dtype=np.int64)
    return _fetch(dataset, idx, auto_collation, collate_fn)


def _iterable_batches(dataset, batch_size, drop_last: bool, collate_fn) -> Iterator:
    it = iter(dataset)
    if batch_size is None:
        for sample in it:
            yield collate_fn(sample)
        return
    while True:
        batch = []
        for sample in it:
            batch.append(sample)
            if len(batch) == batch_size:
                break
        if not batch or (len(batch) < batch_size and drop_last):
            return
        yield collate_fn(batch)
        if len(batch) < batch_size:
            return


class DataLoader:
    """Iterate over a dataset in batches, optionally loading them in worker processes.

    Each pass (`for batch in loader`) is one epoch. The order comes from `sampler` (or
    `batch_sampler`); `shuffle=True` draws a fresh permutation every epoch: from `seed`
    when given (epoch e uses the permutation seeded by `(seed, e)`, so a run is
    reproducible and `set_epoch` resumes it exactly), else from `generator`, else from
    tinynet's CPU stream (`tn.manual_seed`). Batches are CPU tensors for the built-in
    datasets; move them with `.to(device)` in the training loop.

    Args:
        dataset: a map-style `Dataset` (`__len__` and `__getitem__`; with
            `__getitems__(indices)` a batch is fetched in one call) or an `IterableDataset`.
        batch_size: samples per batch (default 1); None turns batching off (each sample
            goes through `collate_fn`, default `default_convert`).
        shuffle: a new random order every epoch (default None: no).
        sampler: the order of indices (excludes shuffle).
        batch_sampler: yields lists of indices (excludes batch_size, shuffle, sampler and
            drop_last).
        num_workers: worker processes loading batches (default 0: the main process).
            Workers are forked, so they see the dataset as it is; what they return
            must be Tensors, arrays, numbers, strings or containers of them.
        collate_fn: merges a list of samples into a batch (default `default_collate`).
        pin_memory: accepted for torch compatibility; a no-op (tinynet's host memory is
            NumPy's, and host-to-GPU copies go through CuPy on `.to("cuda")`).
        drop_last: drop the last batch when it is smaller than batch_size.
        timeout: seconds to wait for a worker's batch before raising (0: forever).
        worker_init_fn: called as `worker_init_fn(worker_id)` in each worker, after seeding.
        multiprocessing_context: None or "fork" (the only start method that needs no pickle).
        generator: a CPU `tn.Generator` for the shuffle and the workers' base seed.
        prefetch_factor: batches in flight per worker (default 2 with workers).
        persistent_workers: keep the workers alive between epochs.
        pin_memory_device, in_order: accepted for torch compatibility ("", True only).
        seed: tinynet's shorthand for a reproducible shuffle (excludes generator).

    Example:
        >>> loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, seed=0,
        ...                     num_workers=2)
        >>> for xb, yb in loader: ...
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler=None, batch_sampler=None, num_workers: int = 0, collate_fn=None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn=None, multiprocessing_context=None,
                 generator: Generator | None = None, *, prefetch_factor: int | None = None,
                 persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True, seed: int | None = None):  # fmt: skip
        if not hasattr(dataset, "__getitem__") and not isinstance(dataset, IterableDataset):
            raise TypeError(
                f"DataLoader: {type(dataset).__name__} is not a dataset; it needs __len__ "
                "and __getitem__ (or subclass IterableDataset and define __iter__)"
            )
        if not isinstance(dataset, IterableDataset) and not hasattr(dataset, "__len__"):
            raise TypeError(
                f"DataLoader: {type(dataset).__name__} is not a dataset; it needs __len__"
            )
        if batch_size is not None:
            if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
                raise TypeError(f"DataLoader: batch_size must be an int, got {batch_size!r}")
            if batch_size < 1:
                raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral):
            raise TypeError(f"DataLoader: num_workers must be an int, got {num_workers!r}")
        if num_workers < 0:
            raise ValueError(
                f"DataLoader: num_workers option should be non-negative (got {num_workers}); "
                "use num_workers=0 to disable multiprocessing"
            )
        if not isinstance(timeout, numbers.Real) or not timeout >= 0:
            raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout!r}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "DataLoader: prefetch_factor option could only be specified in multiprocessing; "
                "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor "
                "to None"
            )
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        if prefetch_factor is not None and (
            isinstance(prefetch_factor, bool)
            or not isinstance(prefetch_factor, numbers.Integral)
            or prefetch_factor < 1
        ):
            raise ValueError(
                f"DataLoader: prefetch_factor must be an int >= 1, got {prefetch_factor!r}"
            )
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        if multiprocessing_context not in (None, "fork"):
            method = getattr(multiprocessing_context, "get_start_method", lambda: None)()
            if method != "fork":
                raise ValueError(
                    f"DataLoader: multiprocessing_context {multiprocessing_context!r} is not "
                    "supported; tinynet workers are forked ('fork'), since any other start "
                    "method pickles the dataset"
                )
        if num_workers > 0 and "fork" not in multiprocessing.get_all_start_methods():
            raise RuntimeError(
                "DataLoader: num_workers > 0 needs the 'fork' start method, which this platform "
                "lacks; use num_workers=0"
            )
        if generator is not None and not isinstance(generator, Generator):
            raise TypeError(
                f"DataLoader: generator must be a tn.Generator, got {type(generator).__name__}"
            )
        if generator is not None and seed is not None:
            raise ValueError("DataLoader: seed and generator both seed the shuffle; pass one")
        if pin_memory_device not in ("", None) or in_order is not True:
            raise ValueError(
                "DataLoader: pin_memory_device and in_order=False are not supported "
                "(batches always arrive in order)"
            )
        if worker_init_fn is not None and not callable(worker_init_fn):
            raise TypeError("DataLoader: worker_init_fn must be callable")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError("DataLoader: collate_fn must be callable")

        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            if shuffle not in (False, None):
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified shuffle option, "
                    f"but got shuffle={shuffle}"
                )
            if sampler is not None:
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified sampler option, "
                    f"but got sampler={sampler}"
                )
            if batch_sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified batch_sampler "
                    f"option, but got batch_sampler={batch_sampler}"
                )
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "DataLoader: batch_sampler option is mutually exclusive with batch_size, "
                    "shuffle, sampler, and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError(
                "DataLoader: batch_size=None option disables auto-batching and is mutually "
                "exclusive with drop_last"
            )
        if seed is not None and (sampler is not None or batch_sampler is not None):
            raise ValueError(
                "DataLoader: seed seeds the shuffle; with your own sampler, seed the sampler "
                "(its generator=) instead"
            )

        if not iterable and sampler is None:
            if shuffle:
                sampler = (
                    _SeededRandomSampler(dataset, seed)
                    if seed is not None
                    else RandomSampler(dataset, generator=generator)
                )
            else:
                sampler = SequentialSampler(dataset)
        if not iterable and batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, bool(drop_last))

        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = int(num_workers)
        self._auto_collation = batch_sampler is not None or (iterable and batch_size is not None)
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.pin_memory = bool(pin_memory)
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = bool(persistent_workers)
        self.seed = seed
        self.epoch = 0  # passes started so far; with a seed, picks the epoch's permutation
        self._iterator = None

    def set_epoch(self, epoch: int) -> None:
        """Make the next pass use epoch `epoch`'s permutation (for resuming a seeded run)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)  # raises TypeError for a stream without a length, as torch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)

    # ----- one pass ----------------------------------------------------------------------
    def _index_batches(self) -> Iterator:
        """The pass's index batches (int64 arrays), or single indices without batching."""
        if isinstance(self.sampler, _SeededRandomSampler):
            self.sampler.epoch = self.epoch
        if self.batch_sampler is None:
            return iter(self.sampler)
        if isinstance(self.batch_sampler, BatchSampler):
            return self.batch_sampler._index_batches()
        return (np.asarray(b, dtype=np.int64) for b in self.batch_sampler)

    def _base_seed(self) -> int:
        """The workers' base seed, drawn whatever num_workers is, so the order never
        depends on it (worker i seeds its random, NumPy and tinynet streams with base + i)."""
        if self.seed is not None:
            return int(np.random.default_rng([int(self.seed), self.epoch, 1]).integers(2**62))
        return int(backend_generator(as_device("cpu"), self.generator).integers(2**62))

    def __iter__(self) -> Iterator:
        base_seed = self._base_seed()
        iterable = isinstance(self.dataset, IterableDataset)
        batches = None if iterable else self._index_batches()
        self.epoch += 1
        if self.num_workers == 0:
            if iterable:
                return _iterable_batches(self.dataset, self.batch_size, self.drop_last,
                                         self.collate_fn)  # fmt: skip
            return (_fetch(self.dataset, i, self._auto_collation, self.collate_fn) for i in batches)
        if self.persistent_workers:
            if self._iterator is None or self._iterator._closed:
                self._iterator = _WorkerIterator(self, base_seed)
            self._iterator._reset(batches)
            return self._iterator
        it = _WorkerIterator(self, base_seed)
        it._reset(batches)
        return it

    def __repr__(self) -> str:
        n = len(self.dataset) if hasattr(self.dataset, "__len__") else "?"
        return (
            f"DataLoader({type(self.dataset).__name__} of {n}, "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last}, num_workers={self.num_workers}, seed={self.seed})"
        )


def _shutdown(procs: list, conns: list) -> None:
    """Stop workers: closing our pipe ends makes each worker see end-of-file and return."""
    for c in conns:
        try:
            c.close()
        except OSError:
            pass
    deadline = time.monotonic() + 1.0  # then a worker still busy in __getitem__ is terminated
    for p in procs:
        p.join(timeout=max(0.0, deadline - time.monotonic()))
    for p in procs:
        if p.is_alive():
            p.terminate()
            p.join(timeout=5)
        if p.is_alive():
            p.kill()
            p.join()


class _WorkerIterator:
    """One pass over the loader with worker processes (reused across passes if persistent)."""

    def __init__(self, loader: DataLoader, base_seed: int):
        ctx = multiprocessing.get_context("fork")
        ds = loader.dataset
        iterable = isinstance(ds, IterableDataset)
        self._persistent = loader.persistent_workers  # no reference to the loader: no cycle
        self._iterable = iterable
        self._timeout = loader.timeout
        self._procs, self._conns = [], []
        for wid in range(loader.num_workers):
            ours, theirs = ctx.Pipe(duplex=True)
            if iterable:
                fetch = None
                batches = functools.partial(_iterable_batches, ds, loader.batch_size,
                                            loader.drop_last, loader.collate_fn)  # fmt: skip
            else:
                fetch = functools.partial(_fetch_task, ds, loader._auto_collation,
                                          loader.collate_fn)  # fmt: skip
                batches = None
            p = ctx.Process(
                target=_worker.worker_loop,
                args=(
                    theirs,
                    fetch,
                    ds,
                    wid,
                    loader.num_workers,
                    base_seed + wid,
                    loader.worker_init_fn,
                    batches,
                ),  # fmt: skip
                name=f"tinynet-DataLoader-worker-{wid}",
                daemon=True,
            )
            _worker._PARENT_ENDS.add(ours)
            p.start()
            theirs.close()
            self._procs.append(p)
            self._conns.append(ours)
        self._finalizer = weakref.finalize(self, _shutdown, self._procs, self._conns)
        self._closed = False
        self._prefetch = loader.prefetch_factor * loader.num_workers

    def _reset(self, batches) -> None:
        # a pass left unfinished (a `break`) still has batches in flight: drop them
        for t in sorted(getattr(self, "_task_worker", {})):
            self._receive(self._task_worker.pop(t))
        self._batches = batches
        self._fresh = set(range(len(self._procs)))  # workers whose stream restarts
        self._send_idx = self._rcvd_idx = 0
        self._task_worker: dict[int, int] = {}
        self._active = [True] * len(self._procs)
        self._outstanding = [0] * len(self._procs)
        self._next_worker = 0
        self._exhausted = False
        for _ in range(self._prefetch):
            self._put()

    def _put(self) -> None:
        """Send the next task to the next worker in turn (for streams: one not yet done)."""
        if self._exhausted or not any(self._active):
            return
        if self._iterable:
            msg = {}
        else:
            try:
                idx = next(self._batches)
            except StopIteration:
                self._exhausted = True
                return
            msg = {"idx": np.asarray(idx).tolist()}
        n = len(self._procs)
        for _ in range(n):
            w = self._next_worker
            self._next_worker = (w + 1) % n
            if self._active[w]:
                break
        msg["task"] = self._send_idx
        if self._iterable and w in self._fresh:
            msg["reset"] = True
            self._fresh.discard(w)
        self._conns[w].send_bytes(_json_bytes(msg))
        self._task_worker[self._send_idx] = w
        self._outstanding[w] += 1
        self._send_idx += 1

    def __iter__(self):
        return self

    def __next__(self):
        while True:
            if self._closed:
                raise StopIteration
            t = self._rcvd_idx
            if t not in self._task_worker:  # nothing more was handed out: the pass is over
                self._end_pass()
                raise StopIteration
            w = self._task_worker.pop(t)
            msg = self._receive(w)
            self._outstanding[w] -= 1
            self._rcvd_idx += 1
            if msg.get("end"):  # this worker's stream is exhausted
                self._active[w] = False
                self._put()
                continue
            if "error" in msg:
                self.close()
                raise _reraise(msg, self._procs[w].pid)
            self._put()
            return msg["batch"]

    def _receive(self, w: int) -> dict:
        conn, proc = self._conns[w], self._procs[w]
        waited = 0.0
        while True:
            step = 5.0 if not self._timeout else max(0.0, min(5.0, self._timeout - waited))
            ready = multiprocessing.connection.wait([conn, proc.sentinel], timeout=step)
            if conn in ready:
                try:
                    return _worker.recv(conn)
                except (EOFError, OSError):
                    pass  # the worker died mid-batch: reported below
            if ready or not proc.is_alive():
                proc.join(timeout=1)
                code = proc.exitcode
                self.close()
                raise RuntimeError(
                    f"DataLoader worker (pid {proc.pid}) exited unexpectedly with exit code "
                    f"{code}" + (f" (killed by signal {-code})" if code and code < 0 else "")
                )
            waited += step
            if self._timeout and waited >= self._timeout:
                self.close()
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")

    def _end_pass(self) -> None:
        if not self._persistent:
            self.close()

    def close(self) -> None:
        """Stop the workers now (also done when the iterator is garbage-collected)."""
        self._closed = True
        self._finalizer()

    def __del__(self):
        if getattr(self, "_finalizer", None) is not None:
            self._finalizer()


def _json_bytes(msg: dict) -> bytes:
    return json.dumps(msg).encode()


class _KeyErrorMessage(str):
    def __repr__(self) -> str:
        return str(self)


def _reraise(msg: dict, pid) -> BaseException:
    """The worker's exception in the main process: its type if builtin, with its traceback."""
    text = (
        f"Caught {msg['error']} in DataLoader worker process {msg.get('worker')} (pid {pid}).\n"
        f"Original {msg['tb']}"
    )
    cls = getattr(builtins, msg["error"], None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        if issubclass(cls, KeyError):  # KeyError prints its argument's repr: keep lines readable
            text = _KeyErrorMessage(text)
        try:
            return cls(text)
        except Exception:
            pass
    return RuntimeError(text)
