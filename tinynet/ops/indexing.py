"""Indexing ops: getitem, gather, index_select, scatter, sort and topk, split and friends.

Forward reads (or writes) elements at index positions; every backward sends the
gradient back to the positions read, adding up where an index repeats.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np  # host-side only: turning user-given index lists into arrays

from .. import dtypes
from ..autograd.function import Function
from ..backend import device as _as_device
from ..backend import generator as _generator
from ..tensor import Tensor, tensor
from ._args import _dim, _int, _tensor
from .elementwise import const
from .registry import Arg, Bool, Int, Sample, register

__all__ = [
    "getitem", "gather", "scatter", "scatter_add", "index_select", "sort", "argsort", "topk",
    "split", "chunk", "unbind", "narrow", "nonzero", "unique",
]  # fmt: skip


class _Index:
    """A normalised index, applied in up to two steps to follow PyTorch where NumPy differs.

    NumPy counts an int next to an index array as one more index array, PyTorch selects
    with the int first (`x[0, :, [0, 1]]` has shape (3, 2) in torch for x of shape
    (2, 3, 4), (2, 3) in NumPy). So such an index runs as `a[basic][adv]`: `basic` (ints,
    slices, None, ...) gives a view, then `adv` (the index arrays) is applied to it.
    Either part may be None. `add` says whether a scatter back must add up repeated
    positions (integer arrays may repeat; slices and masks never do).
    """

    __slots__ = ("basic", "adv", "add")

    def __init__(self, basic, adv, add: bool):
        self.basic, self.adv, self.add = basic, adv, add

    def take(self, a):
        if self.basic is not None:
            a = a[self.basic]
        return a if self.adv is None else a[self.adv]

    def _target(self, a):
        """The view of `a` that the last step indexes, and that step's index."""
        if self.adv is None:
            return a, self.basic
        return (a if self.basic is None else a[self.basic]), self.adv

    def add_into(self, a, values, backend) -> None:
        """a[index] += values, repeated positions adding up."""
        target, idx = self._target(a)
        if self.add:
            backend.scatter_add(target, idx, values)
        else:  # no position repeats: a plain assignment (see docs/performance.md)
            target[idx] = values

    def assign(self, a, values) -> None:
        """a[index] = values (Tensor.__setitem__)."""
        target, idx = self._target(a)
        target[idx] = values


def _is_index_array(p) -> bool:
    return hasattr(p, "dtype") and hasattr(p, "ndim")


def _host_index(p, what: str):
    """A host index (list, NumPy array or scalar) as a bool or int64 NumPy array."""
    try:
        a = np.asarray(p)
    except (ValueError, TypeError):
        raise IndexError(f"{what}: cannot make an index array of {p!r}") from None
    if a.dtype.kind == "b":
        return a
    if a.dtype.kind in "iu":
        return a.astype(np.int64, copy=False)
    if a.size == 0:  # `x[[]]`: an empty list is an empty integer index, as in torch
        return a.astype(np.int64)
    raise IndexError(
        f"{what}: index arrays must hold integers or bools, got {a.dtype} ({p!r:.60}); "
        "convert with .long() or .bool()"
    )


def _index_arrays(index, device=None) -> tuple:
    """`index` as a tuple of ints, slices, None, Ellipsis and arrays on `device`.

    Tensors become their arrays (integer ones of zero dims become ints, as in torch);
    lists, NumPy arrays and bools become bool or int64 arrays copied to `device` (the
    user handed over host data, so this copy is the transfer they asked for).
    """
    if not isinstance(index, tuple):
        index = (index,)
    dev = device if device is not None else _as_device("cpu")
    out = []
    for p in index:
        if p is None or p is Ellipsis or isinstance(p, slice):
            out.append(p)
        elif isinstance(p, (bool, np.bool_)):  # True adds a dim, False an empty one
            out.append(dev.backend.from_host(np.asarray(bool(p)), dev.index))
        elif isinstance(p, (int, np.integer)):
            out.append(int(p))
        elif isinstance(p, Tensor):
            if p.device != dev:
                raise RuntimeError(
                    f"getitem: the index tensor is on {p.device} but the indexed tensor is on "
                    f"{dev}; move the index with .to({str(dev)!r})"
                )
            if p.dtype is dtypes.bool_:
                out.append(p.data)
            elif p.dtype.is_floating_point:
                raise IndexError(
                    f"getitem: tensors used as indices must be integer or bool tensors, got "
                    f"{p.dtype}; convert with .long() or .bool()"
                )
            elif p.ndim == 0:
                out.append(int(p.item()))
            else:
                out.append(p.data)
        elif isinstance(p, (list, np.ndarray)):
            a = _host_index(p, "getitem")
            if a.ndim == 0 and a.dtype.kind == "i":
                out.append(int(a))
            else:
                out.append(dev.backend.from_host(a, dev.index))
        elif dev.backend.is_array(p):  # an array of the device itself
            if p.dtype.kind not in "biu":
                raise IndexError(
                    f"getitem: index arrays must hold integers or bools, got {p.dtype}"
                )
            out.append(p)
        else:
            raise IndexError(
                "getitem: only integers, slices, None, ..., and integer or bool tensors, arrays "
                f"or lists are valid indices, got {type(p).__name__} ({p!r:.40})"
            )
    return tuple(out)


def _plan(parts: tuple) -> _Index:
    """How to apply normalised index parts (see `_Index`)."""
    arrays = [p for p in parts if _is_index_array(p)]
    if not arrays:  # a trailing ... keeps `a[0]` a 0-d view (not a scalar copy): x[0] += 1
        return _Index(parts if Ellipsis in parts else (*parts, Ellipsis), None, False)
    add = any(a.dtype.kind != "b" for a in arrays)
    if any(type(p) is int for p in parts) and any(a.ndim for a in arrays):
        basic, adv = [], []
        for p in parts:
            if type(p) is int:
                basic.append(p)  # selected in the first step; gone in the second
            elif _is_index_array(p):
                basic.extend([slice(None)] * (p.ndim if p.dtype.kind == "b" else 1))
                adv.append(p)
            elif p is Ellipsis:
                basic.append(p)
                adv.append(p)
            else:  # a slice or None: applied in the first step
                basic.append(p)
                adv.append(slice(None))
        return _Index(tuple(basic), tuple(adv), add)
    return _Index(None, parts, add)


def plan_index(index, device) -> _Index:
    """`index` (anything `Tensor.__getitem__` takes) as an `_Index` on `device`; for
    `Tensor.__setitem__`, which writes through it with `_Index.assign`."""
    return _plan(_index_arrays(index, device))


def _describe_index(parts: tuple) -> str:
    def one(p):
        if p is None:
            return "None"
        if p is Ellipsis:
            return "..."
        if isinstance(p, slice):
            s = ":".join("" if v is None else str(v) for v in (p.start, p.stop, p.step))
            return s[:-1] if p.step is None else s
        if _is_index_array(p):
            kind = "bool mask" if p.dtype.kind == "b" else f"{p.dtype} array"
            return f"{kind} of shape {tuple(p.shape)}"
        return str(p)

    return "[" + ", ".join(one(p) for p in parts) + "]"


def _index_error(op: str, shape: tuple, parts: tuple, device, err: Exception, where=None) -> str:
    """A sentence naming what in `parts` does not fit `shape` (from NumPy's terse error)."""
    where = where or f"(tensor of shape {tuple(shape)}, index {_describe_index(parts)})"

    def used(p) -> int:
        if p is None or p is Ellipsis:
            return 0
        return p.ndim if _is_index_array(p) and p.dtype.kind == "b" else 1

    if sum(p is Ellipsis for p in parts) > 1:
        return f"{op}: an index can hold only one ellipsis (...) {where}"
    total = sum(used(p) for p in parts)
    if total > len(shape):
        return f"{op}: too many indices: {total} dims indexed, the tensor has {len(shape)} {where}"
    dim = 0
    for i, p in enumerate(parts):
        if p is Ellipsis:
            dim = len(shape) - sum(used(q) for q in parts[i + 1 :])
            continue
        if type(p) is int and not -shape[dim] <= p < shape[dim]:
            return f"{op}: index {p} is out of bounds for dim {dim} with size {shape[dim]} {where}"
        if _is_index_array(p) and p.dtype.kind == "b" and p.ndim:
            part = tuple(shape[dim : dim + p.ndim])
            if tuple(p.shape) != part:
                return (
                    f"{op}: a bool mask of shape {tuple(p.shape)} does not match the tensor's "
                    f"shape {part} at dim {dim} {where}"
                )
        elif _is_index_array(p) and p.size and device.backend.host_view(p) is not None:
            n = shape[dim]
            bad = p[(p >= n) | (p < -n)]
            if bad.size:
                return (
                    f"{op}: index {int(bad.flat[0])} is out of bounds for dim {dim} with size "
                    f"{n} {where}"
                )
        dim += used(p)
    return f"{op}: {err} {where}"


# ----- reading and writing at index positions ----------------------------------------------


@register
class GetItem(Function):
    """y = x[index]   (ints, slices, None, ..., integer and bool index arrays)
    dx = zeros(x.shape) with dx[index] += grad   (repeated indices add up)
    """

    is_view = True

    @staticmethod
    def forward(ctx, x, index):
        ctx.x_shape, ctx.index = x.shape, index
        return index.take(x)

    @staticmethod
    def backward(ctx, grad):
        return IndexAdd.apply(grad, ctx.x_shape, ctx.index), None


def getitem(x: Tensor, index) -> Tensor:
    """x[index] with PyTorch's semantics: ints, slices (negative steps too), None, `...`,
    integer index arrays (lists, NumPy arrays, int tensors) and bool masks, mixed freely.

    The gradient adds up over repeated indices (`x[[0, 0]]` sends twice the gradient
    to x[0]). On CUDA, out-of-range entries of index arrays are not checked (CuPy
    wraps them); everything else raises IndexError naming the index and the shape.
    """
    parts = _index_arrays(index, x.device)
    try:
        return GetItem.apply(x, _plan(parts))
    except IndexError as e:
        raise IndexError(_index_error("getitem", x.shape, parts, x.device, e)) from None


@register
class IndexAdd(Function):
    """y = zeros(shape) with y[index] += v   (repeated indices add up; getitem's backward)
    dv = grad[index]
    """

    @staticmethod
    def forward(ctx, v, shape, index):
        ctx.index = index
        out = ctx.device.xp.zeros(shape, dtype=v.dtype)
        index.add_into(out, v, ctx.device.backend)
        return out

    @staticmethod
    def backward(ctx, grad):
        return GetItem.apply(grad, ctx.index), None, None


@register
class Scatter(Function):
    """y = x.copy(); y[index] = src   (index: gather-style positions; the last write wins)
    dx = grad with grad[index] = 0;  dsrc = grad[index]
    """

    @staticmethod
    def forward(ctx, x, src, index):
        ctx.index = index
        out = x.copy()
        index.assign(out, src)
        return out

    @staticmethod
    def backward(ctx, grad):
        dx = dsrc = None
        if ctx.needs_input_grad[0]:
            shape = ctx.index.take(grad.data).shape
            zeros = const(grad, grad.device.xp.zeros(shape, dtype=grad.data.dtype))
            dx = Scatter.apply(grad, zeros, ctx.index)
        if ctx.needs_input_grad[1]:
            dsrc = GetItem.apply(grad, ctx.index)
        return dx, dsrc, None


def _slice_dim(x: Tensor, dim: int, start, stop, step=None) -> Tensor:
    """x[..., start:stop:step, ...] along `dim` (a view; its backward assigns, never adds)."""
    return GetItem.apply(x, _Index((slice(None),) * dim + (slice(start, stop, step),), None, False))


def _index_tensor(op: str, index) -> Tensor:
    if not isinstance(index, Tensor) or index.dtype not in (dtypes.int64, dtypes.int32):
        got = index.dtype if isinstance(index, Tensor) else type(index).__name__
        raise RuntimeError(f"{op}: index must be an int64 tensor, got {got}")
    return index


def _along(x: Tensor, d: int, index: Tensor, repeats: bool = True) -> _Index:
    """The positions `index` names along dim `d` of x, each other dim counted by arange:
    x[_along(x, d, index)][i][j][k] = x[i][index[i][j][k]][k] for d=1 (gather's rule).
    `repeats=False` promises no position repeats (a sort's indices), so the backward may
    assign instead of scatter-adding."""
    xp = x.device.xp
    parts = tuple(
        index.data if k == d
        else xp.arange(n).reshape(tuple(-1 if j == k else 1 for j in range(x.ndim)))
        for k, n in enumerate(index.shape)
    )  # fmt: skip
    return _Index(None, parts, repeats)


def _check_gather_like(op: str, x: Tensor, dim: int, index: Tensor, src=None) -> int:
    """The dim of gather, scatter, scatter_add, after torch's checks of shapes, dtypes, devices."""
    index = _index_tensor(op, index)
    shapes = f"input of shape {tuple(x.shape)}, index of shape {tuple(index.shape)}"
    if isinstance(src, Tensor):
        shapes += f", src of shape {tuple(src.shape)}"
    if index.ndim != x.ndim:
        raise RuntimeError(f"{op}: index must have as many dims as the input ({shapes})")
    d = _dim(op, dim, x.ndim)
    if any(i > n for k, (i, n) in enumerate(zip(index.shape, x.shape)) if k != d):
        raise RuntimeError(
            f"{op}: index must be no larger than the input in every dim but dim {d} ({shapes})"
        )
    if index.device != x.device:
        raise RuntimeError(
            f"{op}: the input is on {x.device} but the index on {index.device}; move one with .to()"
        )
    if isinstance(src, Tensor):
        if src.ndim != x.ndim or any(i > n for i, n in zip(index.shape, src.shape)):
            raise RuntimeError(
                f"{op}: src must have the input's number of dims and be no smaller than the "
                f"index in any dim ({shapes})"
            )
        if src.dtype != x.dtype:
            raise RuntimeError(
                f"{op}: expected the input's dtype {x.dtype} and src's dtype {src.dtype} to be "
                "equal; convert one with .to()"
            )
        if src.device != x.device:
            raise RuntimeError(
                f"{op}: the input is on {x.device} but src on {src.device}; move one with .to()"
            )
    return d


def _positions(op: str, x: Tensor, d: int, index: Tensor) -> _Index:
    """`_along`, with out-of-range index values named as getitem names them (on the CPU)."""
    where = f"(input of shape {tuple(x.shape)}, index of shape {tuple(index.shape)})"
    idx = _along(x, d, index)
    host = x.device.backend.host_view(index.data)
    if host is not None and host.size:
        n = x.shape[d]
        bad = host[(host >= n) | (host < -n)]
        if bad.size:
            raise RuntimeError(
                f"{op}: index {int(bad.flat[0])} is out of bounds for dim {d} with size {n} {where}"
            )
    return idx


def _cropped(src: Tensor, shape: tuple) -> Tensor:
    """src[:shape[0], :shape[1], ...]: the part of src that scatter reads."""
    if tuple(src.shape) == tuple(shape):
        return src
    return GetItem.apply(src, _Index(tuple(slice(0, n) for n in shape), None, False))


def gather(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """out[i][j][k] = x[index[i][j][k]][j][k] for dim=0 (and likewise for other dims).

    `index` is an integer tensor with x's number of dims and no larger than x in any
    dim but `dim`, as in torch.gather. Negative indices count from the end.
    """
    index = _index_tensor("gather", index)
    if x.ndim == 0:
        return gather(x.reshape(1), 0, index.reshape(1)).reshape(index.shape)
    d = _check_gather_like("gather", x, dim, index)
    return GetItem.apply(x, _positions("gather", x, d, index))


def scatter(x: Tensor, dim: int, index: Tensor, src=None, value=None, *, reduce=None) -> Tensor:
    """A copy of x with src's values written at the positions `index` names along `dim`:
    out[index[i][j]][j] = src[i][j] for dim=0 (as torch.scatter, out of place).

    `src` may be a number (or pass `value=`) to write that number everywhere. Where
    `index` repeats a position, one of the writes wins (which one is unspecified, as in
    torch). `reduce="add"` adds instead (see `scatter_add`); "multiply" is not supported.
    """
    if src is not None and value is not None:
        raise TypeError("scatter: pass either src or value, not both")
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter: missing the src tensor (or a number as value)")
    if reduce is not None and reduce != "add":
        raise RuntimeError(f"scatter: reduce must be None or 'add', got {reduce!r}")
    index = _index_tensor("scatter", index)
    if x.ndim == 0:
        if isinstance(src, Tensor):
            src = src.reshape(1)
        return scatter(x.reshape(1), 0, index.reshape(1), src, reduce=reduce).reshape(())
    d = _check_gather_like("scatter", x, dim, index, src)
    if not isinstance(src, Tensor):
        xp = x.device.xp
        src = const(x, xp.full(index.shape, src, dtype=x.data.dtype))
    if reduce == "add":
        return scatter_add(x, d, index, src)
    return Scatter.apply(x, _cropped(src, index.shape), _positions("scatter", x, d, index))


def scatter_add(x: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of x with src's values added at the positions `index` names along `dim`:
    out[index[i][j]][j] += src[i][j] for dim=0, repeated positions adding up (as
    torch.scatter_add, out of place).
    """
    index = _index_tensor("scatter_add", index)
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add: src must be a tensor, got {type(src).__name__}")
    if x.ndim == 0:
        out = scatter_add(x.reshape(1), 0, index.reshape(1), src.reshape(1))
        return out.reshape(())
    d = _check_gather_like("scatter_add", x, dim, index, src)
    idx = _positions("scatter_add", x, d, index)
    return x + IndexAdd.apply(_cropped(src, index.shape), tuple(x.shape), idx)


def index_select(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """The entries of x at positions `index` (a 1-d integer tensor) along `dim`."""
    if not isinstance(index, Tensor) or index.dtype not in (dtypes.int64, dtypes.int32):
        got = index.dtype if isinstance(index, Tensor) else type(index).__name__
        raise RuntimeError(f"index_select: index must be an int32 or int64 tensor, got {got}")
    if index.ndim > 1:
        raise IndexError(
            f"index_select: index must be a vector (1-d), got shape {tuple(index.shape)}"
        )
    if x.ndim == 0:
        return index_select(x.reshape(1), dim, index).reshape(())
    d = _dim("index_select", dim, x.ndim)
    if index.device != x.device:
        raise RuntimeError(
            f"index_select: the input is on {x.device} but the index on {index.device}; move "
            "one with .to()"
        )
    parts = (slice(None),) * d + (index.data.reshape(-1),)
    try:
        return GetItem.apply(x, _Index(None, parts, True))
    except IndexError as e:
        raise IndexError(_index_error("index_select", x.shape, parts, x.device, e)) from None


# ----- sorting ------------------------------------------------------------------------------

SortResult = namedtuple("sort", ["values", "indices"])
TopkResult = namedtuple("topk", ["values", "indices"])


def _argsort(a, axis: int, descending: bool, xp):
    """Stable argsort of an array; descending keeps ties in order and puts NaN first (torch)."""
    if not descending:
        return xp.argsort(a, axis=axis, kind="stable")
    n = a.shape[axis]
    i = xp.argsort(xp.flip(a, axis), axis=axis, kind="stable")
    return (n - 1) - xp.flip(i, axis)


def _sort_indices(op: str, x: Tensor, dim: int, descending: bool):
    d = _dim(op, dim, x.ndim)
    return d, _argsort(x.data, d, descending, x.device.xp).astype("int64", copy=False)


def argsort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort x along `dim` (ties keep their order: the sort is stable)."""
    if x.ndim == 0:
        return const(x, x.device.xp.zeros((), dtype="int64"))
    return const(x, _sort_indices("argsort", x, dim, descending)[1])


def sort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """x sorted along `dim`: a (values, indices) named tuple, as torch.sort.

    The sort is always stable; NaN sorts as the largest value. The gradient of
    `values` goes back to the positions `indices` names.
    """
    if x.ndim == 0:
        return SortResult(x.clone(), const(x, x.device.xp.zeros((), dtype="int64")))
    d, idx = _sort_indices("sort", x, dim, descending)
    indices = const(x, idx)
    return SortResult(GetItem.apply(x, _along(x, d, indices, repeats=False)), indices)


def topk(x: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """The k largest (or smallest) entries of x along `dim`: a (values, indices) named tuple.

    Results come sorted (largest first for `largest=True`) also when `sorted=False`.
    """
    n = x.shape[_dim("topk", dim, x.ndim)] if x.ndim else 1
    if not isinstance(k, (int, np.integer)) or not 0 <= k <= n:
        raise RuntimeError(
            f"topk: k ({k}) is out of range: dim {dim} of the tensor of shape {tuple(x.shape)} "
            f"has {n} entries"
        )
    if x.ndim == 0:
        out = sort(x)
        return TopkResult(*out) if k else TopkResult(x.reshape(1)[:0], out.indices.reshape(1)[:0])
    d = _dim("topk", dim, x.ndim)
    xp, k = x.device.xp, int(k)
    lead = (slice(None),) * d
    if 0 < k < n:  # partition first (the k winners, NaN counting as largest), sort only them
        part = xp.argpartition(x.data, n - k if largest else k - 1, axis=d)
        part = part[lead + (slice(n - k, n) if largest else slice(0, k),)]
        order = _argsort(xp.take_along_axis(x.data, part, axis=d), d, largest, xp)
        idx = xp.take_along_axis(part, order, axis=d)
    else:
        idx = _argsort(x.data, d, largest, xp)[lead + (slice(0, k),)]
    indices = const(x, idx.astype("int64", copy=False))
    return TopkResult(GetItem.apply(x, _along(x, d, indices, repeats=False)), indices)


# ----- cutting into pieces -------------------------------------------------------------------


def nonzero(x: Tensor, *, as_tuple: bool = False):
    """The indices of x's non-zero elements, in row-major order (no gradient).

    An (n, x.ndim) int64 tensor, or with `as_tuple=True` one (n,) tensor per dim
    (what `x[x.nonzero(as_tuple=True)]` and one-argument `tn.where(cond)` use).
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"nonzero: expected a Tensor, got {type(x).__name__}")
    xp = x.device.xp
    a = x.data.reshape(1) if x.ndim == 0 else x.data  # torch treats a 0-d input as 1-d
    idx = [i.astype("int64", copy=False) for i in xp.nonzero(a)]
    if as_tuple:
        return tuple(const(x, i) for i in idx)
    if x.ndim == 0:
        return const(x, xp.zeros((idx[0].shape[0], 0), dtype="int64"))
    return const(x, xp.stack(idx, axis=1))


def unique(x: Tensor, sorted: bool = True, return_inverse: bool = False,
           return_counts: bool = False, dim: int | None = None):  # fmt: skip
    """The distinct values of x, sorted (torch sorts even with sorted=False); with
    `return_inverse` / `return_counts`, also where each element went and how many each has.
    With `dim`, the distinct slices along it. No gradient."""
    if not isinstance(x, Tensor):
        raise TypeError(f"unique: expected a Tensor, got {type(x).__name__}")
    xp = x.device.xp
    axis = None if dim is None else _dim("unique", dim, x.ndim)
    res = xp.unique(x.data, return_inverse=True, return_counts=True, axis=axis)
    values, inverse, counts = res[0], res[1], res[2]
    inverse = inverse.reshape(x.shape if axis is None else (x.shape[axis],))
    out = [const(x, values)]
    if return_inverse:
        out.append(const(x, inverse.astype("int64", copy=False)))
    if return_counts:
        out.append(const(x, counts.astype("int64", copy=False)))
    return out[0] if len(out) == 1 else tuple(out)


def split(x: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """x cut along `dim` into pieces of `split_size` (the last may be smaller) or of the
    sizes listed in `sections`, as torch.split."""
    d = _dim("split", dim, x.ndim)
    n = x.shape[d]
    if not isinstance(split_size_or_sections, (tuple, list)):
        size = _int("split", "split_size", split_size_or_sections)
        if size <= 0 and not (size == 0 and n == 0):
            raise RuntimeError(f"split: split_size must be positive, got {size}")
        sizes = [size] * (n // size) + ([n % size] if n % size else []) if n else [0]
    else:
        sizes = [_int("split", "split_size_or_sections", s) for s in split_size_or_sections]
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise RuntimeError(
                f"split: sections {sizes} must be non-negative and add up to {n}, the size of "
                f"dim {d} of the tensor of shape {tuple(x.shape)}"
            )
    out, start = [], 0
    for s in sizes:
        out.append(_slice_dim(x, d, start, start + s))
        start += s
    return tuple(out)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple:
    """x cut along `dim` into `chunks` pieces of equal size (the last may be smaller, and
    there may be fewer pieces), as torch.chunk."""
    chunks = _int("chunk", "chunks", chunks)
    if chunks <= 0:
        raise RuntimeError(f"chunk: chunks must be positive, got {chunks}")
    n = x.shape[_dim("chunk", dim, x.ndim)]
    if n == 0:  # torch gives `chunks` empty pieces
        return split(x, [0] * chunks, dim)
    return split(x, -(-n // chunks), dim)


def unbind(x: Tensor, dim: int = 0) -> tuple:
    """The slices of x along `dim`, each without that dim, as torch.unbind."""
    d = _dim("unbind", dim, x.ndim)
    lead = (slice(None),) * d
    return tuple(GetItem.apply(x, _Index(lead + (i,), None, False)) for i in range(x.shape[d]))


def narrow(x: Tensor, dim: int, start, length: int) -> Tensor:
    """x[..., start:start + length, ...] along `dim` (start may be negative)."""
    if x.ndim == 0:
        raise RuntimeError("narrow: cannot be applied to a 0-dim tensor")
    d = _dim("narrow", dim, x.ndim)
    n = x.shape[d]
    if isinstance(start, Tensor):
        start = int(start.item())
    start, length = _int("narrow", "start", start), _int("narrow", "length", length)
    if not -n <= start <= n:
        raise IndexError(f"narrow: start {start} is out of range for dim {d} of size {n}")
    start = start % n if start < 0 else start
    if length < 0:
        raise RuntimeError(f"narrow: length must be non-negative, got {length}")
    if start + length > n:
        raise RuntimeError(
            f"narrow: start ({start}) + length ({length}) exceeds dim {d} of size {n} (tensor "
            f"of shape {tuple(x.shape)})"
        )
    return _slice_dim(x, d, start, start + length)


# ----- registry samples and torch oracles ------------------------------------------------


def _ix(index):
    """torch's and tinynet's `a[index]` for a fixed index."""
    return (lambda torch, a: a[index]), (lambda a: getitem(a, index))


def _index_add(v: Tensor, shape: tuple, index) -> Tensor:
    """zeros(shape) with v added at `index` (a user-style index)."""
    return IndexAdd.apply(v, tuple(shape), _plan(_index_arrays(index, v.device)))


def _torch_index_add(torch, v, shape, index):
    # the vector-Jacobian product of indexing is exactly the index-add; torch computes it
    z = torch.zeros(shape, dtype=v.dtype, requires_grad=True)
    return torch.autograd.grad(z[index], z, v, create_graph=True)[0]


def _scatter_fns(dim, index, value=None):
    """torch's and tinynet's scatter(a, dim, index, src) (or value) for a fixed index list:
    a random index could repeat a position, and then which write wins is unspecified."""
    if value is not None:
        return (lambda torch, a: torch.scatter(a, dim, torch.tensor(index), value),
                lambda a: scatter(a, dim, tensor(index, device=a.device), value))  # fmt: skip
    return (lambda torch, a, s: torch.scatter(a, dim, torch.tensor(index), s),
            lambda a, s: scatter(a, dim, tensor(index, device=a.device), s))  # fmt: skip


def _getitem_samples():
    rev = list(range(4))[::-1]  # torch has no negative steps: its reference uses index lists
    samples = [
        Sample(((3, 4),), *_ix(1), name="int"),
        Sample(((3, 4),), *_ix(-1), name="negative int"),
        Sample(((3, 4),), *_ix((1, 2)), name="0-d result"),
        Sample(((3, 4),), *_ix((slice(None), 2)), name="column"),
        Sample(((5, 6),), *_ix((slice(1, None, 2), slice(None, -1))), name="steps"),
        Sample(((2, 3, 4),), *_ix((None, Ellipsis, 1)), name="None ..."),
        Sample(((2, 3),), *_ix((Ellipsis, None)), name="... None"),
        Sample(((4, 5),), lambda torch, a: a[rev][:, [3, 1]],
               lambda a: a[::-1, 3:0:-2], name="negative steps"),
        Sample(((3, 4),), *_ix([0, 0, 2]), name="repeated list"),
        Sample(((3, 4),), *_ix([]), name="empty list"),
        Sample(((3, 4),), *_ix(np.array([[0, 1], [1, 1]])), name="numpy 2-d"),
        Sample(((4, 3), Int((6,), 4)), lambda torch, a, i: a[i], getitem, name="tensor"),
        Sample(((4, 3), Int((6,), 4, -4)), lambda torch, a, i: a[i], getitem, name="negative"),
        Sample(((5, 3), Int((2, 3), 5)), lambda torch, a, i: a[i], getitem, name="2-d index"),
        Sample(((3, 4), Int((2, 1), 3), Int((1, 3), 4)), lambda torch, a, i, j: a[i, j],
               lambda a, i, j: a[i, j], name="broadcast pair"),
        Sample(((3, 4, 5), Int((2,), 3), Int((2,), 5)), lambda torch, a, i, j: a[i, :, j],
               lambda a, i, j: a[i, :, j], name="separated pair"),
        Sample(((2, 3, 4),), *_ix((0, slice(None), [0, 1, 1])), name="int then list"),
        Sample(((2, 3, 4),), *_ix((None, 1, Ellipsis, [2, 0])), name="None int ... list"),
        Sample(((3, 4), Bool((3, 4))), lambda torch, a, m: a[m], getitem, name="mask"),
        Sample(((3, 4, 2), Bool((3, 4))), lambda torch, a, m: a[m], getitem, name="leading mask"),
        Sample(((3, 4), Bool((4,))), lambda torch, a, m: a[:, m], lambda a, m: a[:, m],
               name="column mask"),
        Sample(((3, 4, 5), Bool((4,))), lambda torch, a, m: a[1, m, 1:],
               lambda a, m: a[1, m, 1:], name="int mask slice"),
        Sample(((3, 4),), *_ix(np.array([True, False, True])), name="numpy mask"),
        Sample(((3, 4), Arg(1), Int((3, 2), 4)), lambda torch, a, d, i: torch.gather(a, d, i),
               lambda a, d, i: gather(a, d, i), name="gather"),
        Sample(((3, 4), Arg(0), Int((2, 4), 3)), lambda torch, a, d, i: torch.gather(a, d, i),
               lambda a, d, i: gather(a, d, i), name="gather dim 0"),
        Sample(((2, 3, 4), Arg(-2), Int((2, 5, 3), 3)),
               lambda torch, a, d, i: torch.gather(a, d, i), lambda a, d, i: gather(a, d, i),
               name="gather 3-d"),
        Sample(((5, 4),), lambda torch, a: torch.split(a, 2), lambda a: split(a, 2),
               name="split"),
        Sample(((3, 7),), lambda torch, a: torch.split(a, [2, 0, 5], 1),
               lambda a: split(a, [2, 0, 5], 1), name="split sections"),
        Sample(((3, 7),), lambda torch, a: torch.chunk(a, 3, -1), lambda a: chunk(a, 3, -1),
               name="chunk"),
        Sample(((3, 4),), lambda torch, a: torch.unbind(a, 1), lambda a: unbind(a, 1),
               name="unbind"),
        Sample(((3, 4),), lambda torch, a: a.narrow(-1, -3, 2), lambda a: narrow(a, -1, -3, 2),
               name="narrow"),
        Sample(((4, 3), Arg(0), Int((5,), 4)), lambda torch, a, d, i: torch.index_select(a, d, i),
               index_select, name="index_select"),
        Sample(((2, 3, 4), Arg(-1), Int((), 4)),
               lambda torch, a, d, i: torch.index_select(a, d, i), index_select,
               name="index_select 0-d index"),
        Sample(((3, 5),), lambda torch, a: tuple(torch.sort(a)), lambda a: tuple(sort(a)),
               name="sort"),
        Sample(((3, 5),), lambda torch, a: tuple(torch.sort(a, 0, descending=True)),
               lambda a: tuple(sort(a, 0, descending=True)), name="sort descending"),
        Sample(((),), lambda torch, a: tuple(torch.sort(a)), lambda a: tuple(sort(a)),
               name="sort 0-d"),
        Sample(((3, 5),), lambda torch, a: torch.argsort(a, dim=0, descending=True),
               lambda a: argsort(a, 0, True), grad=False, name="argsort"),
        Sample(((3, 5),), lambda torch, a: tuple(torch.topk(a, 2)), lambda a: tuple(topk(a, 2)),
               name="topk"),
        Sample(((4, 3),), lambda torch, a: tuple(torch.topk(a, 3, 0, largest=False)),
               lambda a: tuple(topk(a, 3, 0, largest=False)), name="topk smallest"),
        Sample(((2, 5),), lambda torch, a: tuple(torch.topk(a, 0)), lambda a: tuple(topk(a, 0)),
               name="topk k=0"),
        Sample(((3, 4), Arg(1), Int((3, 6), 4), (3, 6)),
               lambda torch, a, d, i, s: torch.scatter_add(a, d, i, s), scatter_add,
               name="scatter_add repeats"),
        Sample(((4, 3), Arg(-2), Int((6, 2), 4), (6, 2)),
               lambda torch, a, d, i, s: torch.scatter_add(a, d, i, s), scatter_add,
               name="scatter_add narrow index"),
        Sample(((), Arg(0), Int((), 1), ()),
               lambda torch, a, d, i, s: torch.scatter_add(a, d, i, s), scatter_add,
               name="scatter_add 0-d"),
    ]  # fmt: skip
    return samples


GetItem.samples = staticmethod(_getitem_samples)

IndexAdd.samples = staticmethod(
    lambda: [
        Sample(((3, 4),), lambda torch, v: _torch_index_add(torch, v, (4, 4), [0, 0, 2]),
               lambda v: _index_add(v, (4, 4), [0, 0, 2]), name="repeated rows"),
        Sample(((3,),), lambda torch, v: _torch_index_add(torch, v, (2, 3, 4), (0, ..., 1)),
               lambda v: _index_add(v, (2, 3, 4), (0, ..., 1)), name="basic"),
        Sample(((2, 3),), lambda torch, v: _torch_index_add(torch, v, (3, 4),
                                                             ([[1], [1]], [0, 3, 0])),
               lambda v: _index_add(v, (3, 4), ([[1], [1]], [0, 3, 0])), name="pairs"),
    ]
)  # fmt: skip

Scatter.samples = staticmethod(
    lambda: [
        Sample(((3, 4), (2, 4)), *_scatter_fns(0, [[2, 0, 1, 2], [0, 1, 2, 1]])),
        # forward only: torch's backward fails for a src larger than the index (tinynet's
        # gradient, zero where src is not read, is tested in tests/test_ops_extra.py)
        Sample(((3, 5), (3, 4)), *_scatter_fns(-1, [[4, 0], [1, 2], [3, 0]]), grad=False,
               name="larger src"),
        Sample(((2, 3, 4),), *_scatter_fns(1, [[[0, 2]], [[1, 0]]], value=1.5), name="value"),
        Sample(((), ()), *_scatter_fns(0, 0), name="0-d"),
    ]
)  # fmt: skip


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator=None) -> Tensor:  # fmt: skip
    """torch.multinomial: `num_samples` category indices drawn from each row of the
    non-negative weights `input` (1-D (C,) or 2-D (N, C); they need not sum to one), int64.

    With replacement each draw is independent; without, a category is drawn at most once
    (the exponential race: the k largest of u**(1 / w), u uniform, are k draws in order). A
    zero weight is never drawn. No gradient, as torch. `generator`: a tn.Generator.

    Example:
        >>> tn.multinomial(tn.tensor([0.1, 0.0, 0.9]), 4, replacement=True)  # e.g. [2, 2, 0, 2]
    """
    op = "multinomial"
    _tensor(op, input)
    k = _int(op, "num_samples", num_samples)
    if not input.dtype.is_floating_point:
        raise RuntimeError(
            f"{op}: only supports floating-point dtypes for input, got {input.dtype}"
        )
    if input.ndim not in (1, 2):
        raise RuntimeError(f"{op}: input must be 1-D or 2-D, got shape {tuple(input.shape)}")
    if k <= 0:
        raise RuntimeError(f"{op}: cannot sample num_samples <= 0 samples, got {k}")
    C = input.shape[-1]
    if not replacement and k > C:
        raise RuntimeError(
            f"{op}: cannot sample num_samples={k} > {C} categories without replacement"
        )
    dev = input.device
    xp = dev.xp
    w = input.data.reshape(-1, C).astype("float64")
    if not bool((xp.isfinite(w) & (w >= 0)).all()):  # one device-to-host read for both
        raise RuntimeError(f"{op}: weights must be finite and non-negative")
    if bool((w.sum(-1) <= 0).any()):
        raise RuntimeError(f"{op}: invalid distribution (a row's weights sum to 0)")
    gen = _generator(dev, generator)
    if replacement:
        rows = xp.arange(w.shape[0])[:, None]
        cdf = xp.cumsum(w / w.sum(-1, keepdims=True), axis=-1)
        u = gen.random((w.shape[0], k))
        # the count of cdf steps <= u, zero weights (flat steps) stepped over: one search for
        # all rows, row r's cdf and draws shifted by 2r (a cdf ends at ~1, so rows never mix)
        idx = xp.searchsorted((cdf + 2 * rows).ravel(), (u + 2 * rows).ravel(), side="right")
        idx = idx.reshape(u.shape) - C * rows
        last = C - 1 - xp.argmax((w > 0)[:, ::-1], axis=-1)  # rounding never lands past it
        idx = xp.minimum(idx, last[:, None])
    else:
        if bool(((w > 0).sum(-1) < k).any()):
            raise RuntimeError(
                f"{op}: with replacement=False, a row has fewer than {k} non-zero weights"
            )
        with np.errstate(divide="ignore"):
            keys = xp.log(gen.random(w.shape)) / w  # -inf where w is 0
        idx = xp.argsort(-keys, axis=-1)[:, :k]
    idx = idx.astype("int64")
    return const(input, idx.reshape(k) if input.ndim == 1 else idx)


__all__ += ["multinomial"]
