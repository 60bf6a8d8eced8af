"""DataLoader: batches of a dataset, in order or in a seeded shuffle, collated in one step."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from tinynet.backend import device as as_device
from tinynet.backend import generator
from tinynet.creation import from_numpy
from tinynet.tensor import Tensor, tensor

from .dataset import Dataset


def collate(samples: list):
    """Stack a list of samples into a batch: tuples field by field, Tensors along a new dim 0.

    Python ints become an int64 tensor, floats a float32 one, NumPy arrays are stacked.
    This is the fallback for datasets without `__getitems__`; array-backed datasets
    collate by fancy indexing instead.
    """
    first = samples[0]
    if isinstance(first, (tuple, list)):
        if any(len(s) != len(first) for s in samples):
            raise ValueError("DataLoader: samples have different numbers of fields")
        return tuple(collate([s[k] for s in samples]) for k in range(len(first)))
    if isinstance(first, Tensor):
        dev = first.device
        if any(s.device != dev for s in samples):
            raise RuntimeError("DataLoader: samples of one batch are on different devices")
        if any(s.shape != first.shape for s in samples):
            shapes = sorted({tuple(s.shape) for s in samples})
            raise RuntimeError(f"DataLoader: cannot stack samples of different shapes {shapes}")
        # samples are data, not part of a graph: stack the arrays, outside autograd
        arr = dev.xp.stack([s.data for s in samples])
        return from_numpy(arr) if dev.type == "cpu" else tensor(arr, device=dev)
    if isinstance(first, (bool, np.bool_)):
        return from_numpy(np.asarray(samples, dtype=np.bool_))
    if isinstance(first, (int, np.integer)):
        return from_numpy(np.asarray(samples, dtype=np.int64))
    if isinstance(first, (float, np.floating)):
        return from_numpy(np.asarray(samples, dtype=np.float32))
    if isinstance(first, np.ndarray):
        return from_numpy(np.stack(samples))
    raise TypeError(
        f"DataLoader: cannot collate samples of type {type(first).__name__}; return Tensors, "
        "NumPy arrays or numbers from __getitem__, or define __getitems__"
    )


class DataLoader:
    """Iterate over a dataset in batches.

    Each pass (`for batch in loader`) is one epoch. With `shuffle=True` every epoch draws
    a fresh permutation: from `seed` when given (epoch e uses the permutation seeded by
    `(seed, e)`, so a run is reproducible and `set_epoch` resumes it exactly), otherwise
    from tinynet's CPU generator, which `tn.manual_seed` seeds. Batches are CPU tensors
    for the built-in datasets; move them with `.to(device)` in the training loop.

    Args:
        dataset: a `Dataset` (anything with `__len__` and `__getitem__`). If it has
            `__getitems__(indices)` the whole batch is fetched in one call.
        batch_size: samples per batch (default 1).
        shuffle: visit samples in a random order each epoch (default False).
        drop_last: drop the last batch when it would be smaller than `batch_size`.
        seed: seed of the shuffle (default None: `tn.manual_seed`'s generator).

    Example:
        >>> loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, seed=0)
        >>> for xb, yb in loader: ...
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
    ):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"DataLoader: batch_size must be an int, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}")
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(
                f"DataLoader: {type(dataset).__name__} is not a dataset; it needs __len__ "
                "and __getitem__"
            )
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self.epoch = 0  # passes started so far; with a seed, picks the epoch's permutation

    def set_epoch(self, epoch: int) -> None:
        """Make the next pass use epoch `epoch`'s permutation (for resuming a seeded run)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _order(self) -> np.ndarray:
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n, dtype=np.int64)
        if self.seed is not None:
            rng = np.random.default_rng([int(self.seed), self.epoch])
        else:
            rng = generator(as_device("cpu"))
        return rng.permutation(n).astype(np.int64, copy=False)

    def __iter__(self) -> Iterator:
        order = self._order()
        self.epoch += 1
        getitems = getattr(self.dataset, "__getitems__", None)
        stop = len(self) * self.batch_size
        for start in range(0, min(stop, len(order)), self.batch_size):
            idx = order[start : start + self.batch_size]
            if getitems is not None:
                batch = getitems(idx)
                yield collate(batch) if isinstance(batch, list) else batch
            else:
                yield collate([self.dataset[int(i)] for i in idx])

    def __repr__(self) -> str:
        return (
            f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last}, seed={self.seed})"
        )
