"""default_collate and default_convert: samples to a batch, one promotion rule, as torch's.

The rule, applied recursively to a list of samples that share a structure:

- Tensors are stacked along a new dim 0 (same shape, dtype and device required); NumPy
  arrays too, as CPU Tensors.
- Python numbers promote over the WHOLE batch: all bools give bool, bools and ints
  give int64, any float gives float64 (a Python float is a double: `[1, 2.5, 3.7]`
  keeps 2.5 and 3.7 and `1e300` stays finite). An int out of int64 range raises
  OverflowError. NumPy scalars keep NumPy's promotion of the batch (`np.float32` ->
  float32).
- Strings and bytes stay a sequence (a list, or a tuple for a field); dicts collate
  key by key; namedtuples field by field (same type); tuples and lists field by field
  into a list, as torch does.
"""

from __future__ import annotations

import collections.abc
import numbers

import numpy as np

from tinynet.creation import from_numpy
from tinynet.tensor import Tensor, tensor

__all__ = ["default_collate", "default_convert"]

_INT64 = (-(2**63), 2**63 - 1)


def _fail(what) -> TypeError:
    return TypeError(
        "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        f"found {what}"
    )


def _stack(samples: list[Tensor]) -> Tensor:
    first = samples[0]
    for i, s in enumerate(samples):
        if not isinstance(s, Tensor):
            raise TypeError(
                f"default_collate: entry 0 is a Tensor but entry {i} is a {type(s).__name__}"
            )
        if s.shape != first.shape:
            raise RuntimeError(
                "default_collate: stack expects each tensor to be equal size, but got "
                f"{list(first.shape)} at entry 0 and {list(s.shape)} at entry {i}"
            )
        if s.device != first.device:
            raise RuntimeError(
                f"default_collate: samples are on different devices ({first.device} at entry 0, "
                f"{s.device} at entry {i})"
            )
        if s.dtype != first.dtype:
            raise RuntimeError(
                f"default_collate: samples have different dtypes ({first.dtype} at entry 0, "
                f"{s.dtype} at entry {i})"
            )
    dev = first.device
    # samples are data, not part of a graph: stack the arrays, outside autograd
    arr = dev.xp.stack([s.data for s in samples])
    host = dev.backend.host_view(arr)
    return from_numpy(host) if host is not None else tensor(arr, device=dev)


def _numbers(samples: list) -> Tensor:
    """Python numbers (bool < int < float) promoted over the whole batch."""
    if any(isinstance(s, np.generic) for s in samples):
        if not all(isinstance(s, (np.generic, numbers.Number)) for s in samples):
            raise _fail(type(next(s for s in samples if not isinstance(s, numbers.Number))))
        arr = np.asarray(samples)
        if arr.dtype.kind not in "biuf":
            raise _fail(arr.dtype)
        return from_numpy(arr.astype(_supported(arr.dtype), copy=False))
    kinds = set()
    for s in samples:
        if isinstance(s, bool):
            kinds.add("b")
        elif isinstance(s, numbers.Integral):
            kinds.add("i")
            if not _INT64[0] <= s <= _INT64[1]:
                raise OverflowError(f"default_collate: the int {s} does not fit in int64")
        elif isinstance(s, numbers.Real):
            kinds.add("f")
        else:
            raise _fail(type(s))
    dtype = np.float64 if "f" in kinds else np.int64 if "i" in kinds else np.bool_
    return from_numpy(np.asarray([float(s) if dtype is np.float64 else s for s in samples], dtype))


def _supported(dt: np.dtype) -> np.dtype:
    """The dtype a NumPy array keeps as a Tensor (the widest tinynet has for its kind)."""
    try:
        from_numpy(np.zeros(0, dt))
        return dt
    except TypeError:
        return np.dtype({"b": np.bool_, "u": np.int64, "i": np.int64, "f": np.float64}[dt.kind])


def _array(a: np.ndarray) -> np.ndarray:
    if a.dtype.kind not in "biuf":
        raise _fail(a.dtype)
    return a.astype(_supported(a.dtype), copy=False)


def default_collate(batch):
    """Merge a list of samples into a batch (see the module docstring for the rule).

    Args:
        batch: a list of samples, each a Tensor, NumPy array, number, string, dict,
            namedtuple, tuple or list (nested freely, the same structure in every sample).

    Returns:
        The batch: Tensors with a new leading dimension of len(batch), in the samples'
        structure.

    Example:
        >>> default_collate([(tn.zeros(3), 1), (tn.ones(3), 0)])   # [Tensor (2, 3), Tensor (2,)]
        >>> default_collate([1, 2.5, 3.7]).dtype                    # tn.float64
    """
    if not isinstance(batch, collections.abc.Sequence) or isinstance(batch, (str, bytes)):
        batch = list(batch)
    if len(batch) == 0:
        raise ValueError("default_collate: got an empty batch")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack(batch)
    if isinstance(elem, np.ndarray) and not isinstance(elem, np.generic):
        if elem.dtype.kind not in "biuf":
            raise _fail(elem.dtype)
        if any(not isinstance(b, np.ndarray) or b.shape != elem.shape for b in batch):
            shapes = [getattr(b, "shape", type(b).__name__) for b in batch[:4]]
            raise RuntimeError(
                f"default_collate: stack expects each array to be equal size, got {shapes}"
            )
        return from_numpy(_array(np.stack(batch)))
    if isinstance(elem, (numbers.Number, np.generic)) and not isinstance(elem, (str, bytes)):
        return _numbers(batch)
    if isinstance(elem, (str, bytes)):
        return batch  # as torch: the sequence it was given (a field's tuple, or the list)
    if isinstance(elem, collections.abc.Mapping):
        out = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(out)
        except TypeError:  # a mapping type that can't be built from a dict
            return out
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        n = len(elem)
        if any(len(b) != n for b in batch):
            raise RuntimeError(
                "default_collate: each element in list of batch should be of equal size"
            )
        return [default_collate(s) for s in zip(*batch)]
    raise _fail(type(elem))


def default_convert(data):
    """Turn NumPy arrays (and scalars) into CPU Tensors, recursively; the rest unchanged.

    The DataLoader's collate_fn when batch_size=None (samples are used one by one).

    Example:
        >>> default_convert((np.zeros(3), "label"))   # [Tensor (3,), "label"], as torch
    """
    if isinstance(data, np.ndarray) and data.dtype.kind in "biuf":
        return from_numpy(_array(data if data.ndim else data.reshape(())))
    if isinstance(data, np.generic) and np.dtype(type(data)).kind in "biuf":
        return from_numpy(_array(np.asarray(data)))
    if isinstance(data, (str, bytes, Tensor)):
        return data
    if isinstance(data, collections.abc.Mapping):
        out = {k: default_convert(v) for k, v in data.items()}
        try:
            return type(data)(out)
        except TypeError:
            return out
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]  # a list, as torch
    if isinstance(data, list):
        return [default_convert(d) for d in data]
    return data
