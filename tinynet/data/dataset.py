"""Datasets: `Dataset`, `IterableDataset`, `TensorDataset`, `Subset`, `ConcatDataset`,
`random_split`, and array-backed image sets.

A dataset maps an index to a sample. A dataset that can also fetch a whole batch at once
defines `__getitems__(indices)` (the name PyTorch uses), taking a 1-d int64 NumPy index
array and returning the batch already collated; `DataLoader` calls it when present, so a
batch costs one fancy-indexing per field instead of a Python loop over samples.
"""

from __future__ import annotations

import bisect
import math
import numbers
import operator
import warnings
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from tinynet.backend import Generator
from tinynet.backend import device as as_device
from tinynet.backend import generator as backend_generator
from tinynet.creation import from_numpy
from tinynet.tensor import Tensor, tensor


class Dataset:
    """Base class of map-style datasets: define `__getitem__` and `__len__`.

    Optionally define `__getitems__(indices)` returning a collated batch (a tuple of
    Tensors whose first dimension is `len(indices)`); `DataLoader` prefers it.
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """Base class of stream-style datasets: define `__iter__` yielding samples.

    With `num_workers > 0` every worker iterates its own copy; use `get_worker_info()`
    inside `__iter__` to give each worker its share, as in torch.
    """

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__} is an IterableDataset: iterate it, don't index it")


def _index_array(indices, n: int) -> np.ndarray:
    """A 1-d int64 NumPy index array, negatives wrapped, every entry checked against n."""
    idx = np.asarray(indices)
    if idx.dtype == bool or (idx.size and idx.dtype.kind not in "iu"):
        raise TypeError(f"batch indices must be integers, got dtype {idx.dtype}")
    idx = idx.astype(np.int64, copy=False).reshape(-1)
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(
            f"batch index out of range for a dataset of {n} samples "
            f"(min {int(idx.min())}, max {int(idx.max())})"
        )
    return np.where(idx < 0, idx + n, idx)


def _take(t: Tensor, idx: int | slice | np.ndarray) -> Tensor:
    """Row `idx` (an int), rows `idx` (a slice or index array) of `t`, outside autograd."""
    host = t.device.backend.host_view(t.data)
    if host is not None:  # zero-copy on the host
        return from_numpy(np.asarray(host[idx]))
    if isinstance(idx, np.ndarray):  # the index array goes where the data is
        idx = t.device.backend.from_host(idx, t.device.index)
    return tensor(t.data[idx], device=t.device)


class TensorDataset(Dataset):
    """Samples are the i-th rows of tensors that share their first dimension.

    Args:
        *tensors: Tensors (or NumPy arrays, taken as CPU tensors without a copy) with the
            same length along dimension 0, e.g. images (N, C, H, W) and labels (N,).

    Example:
        >>> ds = TensorDataset(tn.randn(100, 3), tn.randint(0, 2, (100,)))
        >>> x, y = ds[0]          # x.shape == (3,), y is a 0-d tensor
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        ts = []
        for i, t in enumerate(tensors):
            if isinstance(t, np.ndarray):
                t = from_numpy(np.ascontiguousarray(t))
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"TensorDataset: argument {i} is a {type(t).__name__}; "
                    "pass Tensors or NumPy arrays"
                )
            if t.ndim == 0:
                raise ValueError(f"TensorDataset: argument {i} is 0-d; it needs a first dim")
            ts.append(t.detach())
        sizes = [t.shape[0] for t in ts]
        if len(set(sizes)) != 1:
            raise ValueError(
                f"TensorDataset: tensors differ in their first dimension ({sizes}); "
                "every tensor needs one row per sample"
            )
        self.tensors = tuple(ts)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, index):
        """Sample `index`; a slice, list, array or Tensor of indices gives those rows."""
        n = len(self)
        if isinstance(index, slice):
            return tuple(_take(t, index) for t in self.tensors)
        if isinstance(index, (list, tuple, np.ndarray, Tensor)):
            idx = index.numpy() if isinstance(index, Tensor) else index
            if np.asarray(idx).dtype == bool:
                idx = np.flatnonzero(np.asarray(idx))
            return tuple(_take(t, _index_array(idx, n)) for t in self.tensors)
        i = operator.index(index)
        if not -n <= i < n:
            raise IndexError(f"TensorDataset: index {i} out of range for {n} samples")
        return tuple(_take(t, i % n) for t in self.tensors)

    def __getitems__(self, indices) -> tuple[Tensor, ...]:
        idx = _index_array(indices, len(self))
        return tuple(_take(t, idx) for t in self.tensors)


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order (batched fetch passes through).

    Example:
        >>> val = Subset(train_set, range(50_000, 60_000))
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int]):
        self.dataset = dataset
        self.indices = _index_array(indices, len(dataset))

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        if isinstance(index, (list, np.ndarray)):
            return self.dataset[[int(self.indices[i]) for i in _index_array(index, len(self))]]
        return self.dataset[int(self.indices[operator.index(index)])]

    def __getitems__(self, indices):
        idx = self.indices[_index_array(indices, len(self))]
        getitems = getattr(self.dataset, "__getitems__", None)
        if getitems is not None:
            return getitems(idx)
        return [self.dataset[int(i)] for i in idx]  # DataLoader collates a list of samples


class ConcatDataset(Dataset):
    """Several datasets one after another.

    Args:
        datasets: map-style datasets (not IterableDatasets).

    Example:
        >>> both = ConcatDataset([train_set, extra_set])   # or train_set + extra_set
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for i, d in enumerate(self.datasets):
            if isinstance(d, IterableDataset):
                raise TypeError(f"ConcatDataset does not support IterableDataset (index {i})")
            if not hasattr(d, "__len__") or not hasattr(d, "__getitem__"):
                raise TypeError(
                    f"ConcatDataset: item {i} ({type(d).__name__}) is not a dataset; it needs "
                    "__len__ and __getitem__"
                )
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        n = len(self)
        i = operator.index(idx)
        if not -n <= i < n:
            raise IndexError(f"ConcatDataset: index {i} out of range for {n} samples")
        i %= n
        d = bisect.bisect_right(self.cumulative_sizes, i)
        start = self.cumulative_sizes[d - 1] if d else 0
        return self.datasets[d][i - start]


class ChainDataset(IterableDataset):
    """Several IterableDatasets one after another (lazily, as torch.utils.data.ChainDataset).

    Example:
        >>> both = ChainDataset([stream_a, stream_b])
    """

    def __init__(self, datasets):
        self.datasets = datasets

    def __iter__(self) -> Iterator:
        for i, d in enumerate(self.datasets):
            if not isinstance(d, IterableDataset):
                raise TypeError(
                    f"ChainDataset only supports IterableDataset; item {i} is {type(d).__name__}"
                )
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


def random_split(dataset: Dataset, lengths: Sequence, generator: Generator | None = None):
    """Split a dataset into non-overlapping random Subsets of the given lengths or fractions.

    Args:
        dataset: the dataset to split.
        lengths: the sizes of the splits (ints summing to len(dataset)), or fractions
            summing to 1: floor(len * fraction) each, the remainder handed out one by one
            round-robin, as torch.
        generator: a CPU `tn.Generator` for the permutation (default: tinynet's CPU stream).

    Returns:
        A list of `Subset`s.

    Example:
        >>> train, val = random_split(ds, [0.8, 0.2], generator=tn.Generator().manual_seed(42))
    """
    lengths = list(lengths)
    n = len(dataset)
    for i, x in enumerate(lengths):
        if isinstance(x, bool) or not isinstance(x, numbers.Real) or not math.isfinite(x) or x < 0:
            raise ValueError(f"random_split: length at index {i} is {x!r}; need a number >= 0")
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        for i, frac in enumerate(lengths):
            if not 0 <= frac <= 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1")
        sizes = [int(math.floor(n * frac)) for frac in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(
                    f"random_split: length of split at index {i} is 0; this split is empty",
                    stacklevel=2,
                )
        lengths = sizes
    for i, x in enumerate(lengths):
        if not float(x).is_integer():
            raise ValueError(
                f"random_split: length at index {i} is {x}; give ints summing to {n} or "
                "fractions summing to 1"
            )
    lengths = [int(x) for x in lengths]
    if sum(lengths) != n:
        raise ValueError(
            f"random_split: sum of input lengths ({sum(lengths)}) does not equal the length "
            f"of the input dataset ({n})"
        )
    order = backend_generator(as_device("cpu"), generator).permutation(n)
    out, start = [], 0
    for size in lengths:
        out.append(Subset(dataset, order[start : start + size]))
        start += size
    return out


class ImageDataset(Dataset):
    """Classification images held as uint8 arrays; batches become float32 in [0, 1].

    The base of MNIST, FashionMNIST and `mnist_sample()`. Images are kept as uint8
    (4x less memory than float32) and converted per batch, in one vectorised step.

    Args:
        images: uint8 array (N, H, W) or (N, C, H, W).
        labels: integer array (N,).
        transform: optional callable applied to image Tensors after scaling to [0, 1]
            (and normalising). It receives one image (C, H, W) from `ds[i]` and a whole
            batch (B, C, H, W) from the DataLoader, so it must work on both; elementwise
            transforms do.
        normalize: None (images in [0, 1]), True (subtract the dataset's mean and divide
            by its std, `self.mean`/`self.std`), or a `(mean, std)` pair.
        classes: class names, `classes[label]`.

    Shape:
        `ds[i]` is `(image (C, H, W) float32, label int)`; a batch of B is
        `(images (B, C, H, W) float32, labels (B,) int64)`.
    """

    mean: float = 0.5
    std: float = 0.5

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        transform: Callable[[Tensor], Tensor] | None = None,
        normalize: bool | tuple[float, float] | None = None,
        classes: Sequence[str] | None = None,
    ):
        images = np.asarray(images)
        labels = np.asarray(labels)
        if images.dtype != np.uint8 or images.ndim not in (3, 4):
            raise ValueError(
                f"{type(self).__name__}: images must be uint8 (N, H, W) or (N, C, H, W), "
                f"got {images.dtype} {images.shape}"
            )
        if labels.ndim != 1 or len(labels) != len(images):
            raise ValueError(
                f"{type(self).__name__}: {len(images)} images but labels of shape "
                f"{labels.shape}; need one label per image"
            )
        self.data = images if images.ndim == 4 else images[:, None]
        self.targets = labels.astype(np.int64)
        self.transform = transform
        self.classes = list(classes) if classes is not None else None
        if normalize is None or normalize is False:
            self._shift, self._scale = 0.0, 1.0 / 255
        else:
            mean, std = (self.mean, self.std) if normalize is True else normalize
            if std <= 0:
                raise ValueError(f"{type(self).__name__}: normalize std must be > 0, got {std}")
            # (x / 255 - mean) / std == x * scale - shift, one multiply-add per pixel
            self._shift, self._scale = mean / std, 1.0 / (255 * std)

    def __len__(self) -> int:
        return len(self.data)

    def _images(self, raw: np.ndarray) -> Tensor:
        x = raw.astype(np.float32)
        x *= np.float32(self._scale)
        if self._shift:
            x -= np.float32(self._shift)
        t = from_numpy(x)
        return self.transform(t) if self.transform is not None else t

    def __getitem__(self, index):
        i = operator.index(index)
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"{type(self).__name__}: index {i} out of range for {n} samples")
        return self._images(self.data[i]), int(self.targets[i])

    def __getitems__(self, indices) -> tuple[Tensor, Tensor]:
        idx = _index_array(indices, len(self))
        return self._images(self.data[idx]), from_numpy(self.targets[idx])

    def __repr__(self) -> str:
        c, h, w = self.data.shape[1:]
        return f"{type(self).__name__}({len(self)} images {c}x{h}x{w}, {self._split_name()})"

    def _split_name(self) -> str:
        return f"{len(np.unique(self.targets))} classes"
