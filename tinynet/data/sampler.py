"""Samplers: the order in which a DataLoader visits a dataset, as torch.utils.data's.

A sampler yields dataset indices; `BatchSampler` groups them into batches. Random
samplers draw from a user's `tn.Generator` when given one, otherwise from tinynet's
CPU stream (which `tn.manual_seed` seeds). Samplers whose whole order is known up
front also give it as one NumPy array (`_order()`), so the DataLoader slices batches
out of it without a Python loop per index.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Sequence

import numpy as np

from tinynet.backend import Generator
from tinynet.backend import device as as_device
from tinynet.backend import generator as backend_generator

__all__ = [
    "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
    "WeightedRandomSampler", "BatchSampler",
]  # fmt: skip


def _rng(gen: Generator | None):
    """The NumPy-API generator behind `gen` (a CPU tn.Generator), or the global CPU one."""
    return backend_generator(as_device("cpu"), gen)


def _positive_int(owner: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(
            f"{owner}: {name} should be a positive integer value, but got {name}={value!r}"
        )
    return int(value)


def _flag(owner: str, name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{owner}: {name} should be a boolean value, but got {name}={value!r}")
    return bool(value)


class Sampler:
    """Base class of samplers: subclasses define `__iter__` (indices) and usually `__len__`."""

    def __init__(self, data_source=None) -> None:
        pass

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class SequentialSampler(Sampler):
    """Indices 0, 1, ..., len(data_source) - 1, in order.

    Example:
        >>> list(SequentialSampler(range(3)))
        [0, 1, 2]
    """

    def __init__(self, data_source) -> None:
        self.data_source = data_source

    def _order(self) -> np.ndarray:
        return np.arange(len(self.data_source), dtype=np.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random order of the dataset's indices: a fresh permutation each pass.

    Args:
        data_source: the dataset (only its length is used).
        replacement: draw `num_samples` indices independently, with repeats (default False).
        num_samples: how many indices per pass (default len(data_source)); without
            replacement, more than one permutation's worth chains permutations, as torch.
        generator: a CPU `tn.Generator` to draw from (default: tinynet's CPU stream).

    Example:
        >>> g = tn.Generator().manual_seed(0)
        >>> order = list(RandomSampler(range(10), generator=g))
    """

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None,
                 generator: Generator | None = None) -> None:  # fmt: skip
        self.data_source = data_source
        self.replacement = _flag("RandomSampler", "replacement", replacement)
        self._num_samples = num_samples
        self.generator = generator
        if num_samples is not None:
            _positive_int("RandomSampler", "num_samples", num_samples)

    @property
    def num_samples(self) -> int:
        """Indices per pass: num_samples if given, else the dataset's length."""
        return len(self.data_source) if self._num_samples is None else int(self._num_samples)

    def _order(self) -> np.ndarray:
        n, k = len(self.data_source), self.num_samples
        rng = _rng(self.generator)
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        if self.replacement:
            return np.asarray(rng.integers(0, n, size=k), dtype=np.int64)
        parts = [rng.permutation(n) for _ in range(k // n)]
        if k % n:
            parts.append(rng.permutation(n)[: k % n])
        return (
            np.concatenate(parts).astype(np.int64, copy=False) if parts else np.zeros(0, np.int64)
        )

    def __iter__(self) -> Iterator[int]:
        return iter(self._order().tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices, in a random order each pass.

    Example:
        >>> train_idx = SubsetRandomSampler(range(0, 50_000))
    """

    def __init__(self, indices: Sequence[int], generator: Generator | None = None) -> None:
        self.indices = indices
        self.generator = generator

    def _order(self) -> np.ndarray:
        idx = np.asarray(self.indices, dtype=np.int64).reshape(-1)
        return idx[_rng(self.generator).permutation(len(idx))]

    def __iter__(self) -> Iterator[int]:
        return iter(self._order().tolist())

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """Indices 0..len(weights)-1 drawn with probability proportional to `weights`.

    Args:
        weights: one non-negative, finite weight per sample (need not sum to 1).
        num_samples: indices per pass.
        replacement: draw with repeats (default True); without, num_samples must not
            exceed the number of non-zero weights.
        generator: a CPU `tn.Generator` to draw from.

    Example:
        >>> w = 1.0 / class_counts[labels]          # balance the classes
        >>> sampler = WeightedRandomSampler(w, num_samples=len(w))
    """

    def __init__(self, weights, num_samples: int, replacement: bool = True,
                 generator: Generator | None = None) -> None:  # fmt: skip
        name = "WeightedRandomSampler"
        self.num_samples = _positive_int(name, "num_samples", num_samples)
        self.replacement = _flag(name, "replacement", replacement)
        w = np.asarray(weights.numpy() if hasattr(weights, "numpy") else weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(
                f"{name}: weights should be a 1d sequence but given weights have shape {w.shape}"
            )
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError(
                f"{name}: weights must be finite and non-negative, got {w.tolist()[:8]}"
            )
        if w.sum() <= 0:
            raise ValueError(f"{name}: weights sum to zero; at least one must be positive")
        if not self.replacement and self.num_samples > int((w > 0).sum()):
            raise ValueError(
                f"{name}: cannot draw {self.num_samples} samples without replacement from "
                f"{int((w > 0).sum())} non-zero weights"
            )
        self.weights = w
        self.generator = generator

    def _order(self) -> np.ndarray:
        p = self.weights / self.weights.sum()
        rng = _rng(self.generator)
        out = rng.choice(len(p), size=self.num_samples, replace=self.replacement, p=p)
        return np.asarray(out, dtype=np.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(self._order().tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Group another sampler's indices into lists of `batch_size`.

    Args:
        sampler: any iterable of indices (a Sampler, a range, a list).
        batch_size: indices per batch (a positive int).
        drop_last: drop the last batch when it is smaller than batch_size.

    Example:
        >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
        [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler, batch_size: int, drop_last: bool) -> None:
        self.sampler = sampler
        self.batch_size = _positive_int("BatchSampler", "batch_size", batch_size)
        self.drop_last = _flag("BatchSampler", "drop_last", drop_last)

    def _index_batches(self) -> Iterator:
        """Batches as int64 NumPy arrays (sliced from the sampler's order when it has one)."""
        order = getattr(self.sampler, "_order", None)
        if order is None:
            for batch in self:
                yield np.asarray(batch, dtype=np.int64)
            return
        idx, bs = order(), self.batch_size
        stop = len(idx) - len(idx) % bs if self.drop_last else len(idx)
        for start in range(0, stop, bs):
            yield idx[start : start + bs]

    def __iter__(self) -> Iterator[list[int]]:
        batch = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return (
            n // self.batch_size if self.drop_last else (n + self.batch_size - 1) // self.batch_size
        )
