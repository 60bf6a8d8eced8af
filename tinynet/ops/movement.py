"""Movement ops: reshape, permute, expand, squeeze, getitem, cat, stack, pad, device copies.

None of these computes anything: each backward moves the gradient back to where
the forward took each element from.
"""

from __future__ import annotations

import numpy as np  # host-side only: turning user-given index lists into arrays

from .. import dtypes
from ..autograd.function import Function
from ..backend import device as _as_device
from ..tensor import Tensor
from .broadcast import unbroadcast
from .elementwise import cast
from .registry import Arg, Bool, Int, Sample, register

__all__ = [
    "reshape", "view", "flatten", "permute", "transpose", "t", "expand", "squeeze", "unsqueeze",
    "contiguous", "clone", "to_device", "getitem", "gather", "split", "chunk", "cat", "stack",
    "pad",
]  # fmt: skip


def _shape_arg(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def _dim(op: str, d: int, ndim: int) -> int:
    if not -ndim <= d < ndim:
        raise IndexError(f"{op}: dim {d} is out of range for a tensor with {ndim} dims")
    return d % ndim


@register
class Reshape(Function):
    """y = x.reshape(shape)
    dx = grad.reshape(x.shape)
    """

    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.x_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.x_shape), None

    samples = staticmethod(
        lambda: [
            Sample(((3, 4), Arg((2, 6))), lambda torch, a, s: a.reshape(s), reshape),
            Sample(((2, 3, 4), Arg((-1, 4))), lambda torch, a, s: a.reshape(s), reshape,
                   name="infer"),
            Sample(((1,), Arg(())), lambda torch, a, s: a.reshape(s), reshape, name="to-0d"),
        ]
    )  # fmt: skip


def reshape(x, *shape):
    """x with a new shape of the same size (one dim may be -1)."""
    shape = _shape_arg(shape)
    if shape == x.shape:
        return x
    known = 1
    for s in shape:
        known *= s if s != -1 else 1
    size = x.data.size
    if (
        shape.count(-1) > 1
        or (-1 not in shape and known != size)
        or (-1 in shape and (known == 0 or size % known))
    ):
        raise RuntimeError(f"reshape: shape {shape} is invalid for input of shape {x.shape}")
    return Reshape.apply(x, shape)


def view(x, *shape):
    """As reshape (tinynet does not track strides; the result may be a copy)."""
    return reshape(x, *shape)


def flatten(x, start_dim=0, end_dim=-1):
    """Merge dims start_dim..end_dim into one."""
    if x.ndim == 0:
        return reshape(x, 1)
    s, e = _dim("flatten", start_dim, x.ndim), _dim("flatten", end_dim, x.ndim)
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    return reshape(x, x.shape[:s] + (-1,) + x.shape[e + 1 :])


@register
class Permute(Function):
    """y = x.transpose(dims)
    dx = grad.transpose(argsort(dims))
    """

    is_view = True

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, grad):
        inverse = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inverse[d] = i
        return grad.permute(*inverse), None

    samples = staticmethod(
        lambda: [
            Sample(((2, 3, 4), Arg((2, 0, 1))), lambda torch, a, d: a.permute(*d),
                   lambda a, d: permute(a, *d)),
            Sample(((3, 4), Arg((1, 0))), lambda torch, a, d: a.permute(*d),
                   lambda a, d: permute(a, *d), name="2d"),
        ]
    )  # fmt: skip


def permute(x, *dims):
    """x with its dims reordered."""
    dims = _shape_arg(dims)
    if len(dims) != x.ndim or sorted(d % max(x.ndim, 1) for d in dims) != list(range(x.ndim)):
        raise RuntimeError(f"permute: dims {dims} are not a permutation of {x.ndim} dims")
    dims = tuple(d % x.ndim for d in dims)
    if dims == tuple(range(x.ndim)):
        return x
    return Permute.apply(x, dims)


def transpose(x, dim0, dim1):
    """x with dims dim0 and dim1 swapped."""
    dims = list(range(x.ndim))
    a, b = _dim("transpose", dim0, x.ndim), _dim("transpose", dim1, x.ndim)
    dims[a], dims[b] = dims[b], dims[a]
    return permute(x, *dims)


def t(x):
    """Transpose of a tensor with at most 2 dims."""
    if x.ndim > 2:
        raise RuntimeError(f"t: expects a tensor with <= 2 dims, got shape {x.shape}")
    return permute(x, *reversed(range(x.ndim)))


@register
class Expand(Function):
    """y = broadcast_to(x, shape)
    dx = grad summed over the broadcast dims (unbroadcast)
    """

    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.x_shape = x.shape
        return ctx.device.xp.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return unbroadcast(grad, ctx.x_shape), None

    samples = staticmethod(
        lambda: [
            Sample(((3, 1), Arg((3, 4))), lambda torch, a, s: a.expand(*s), expand),
            Sample(((4,), Arg((2, 3, 4))), lambda torch, a, s: a.expand(*s), expand, name="new"),
        ]
    )  # fmt: skip


def expand(x, *shape):
    """A broadcast view of x with `shape` (-1 keeps a dim)."""
    shape = _shape_arg(shape)
    lead = len(shape) - x.ndim
    if lead < 0:
        raise RuntimeError(f"expand: shape {shape} has fewer dims than the tensor {x.shape}")
    shape = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(shape))
    for i, n in enumerate(x.shape):
        if n != 1 and n != shape[i + lead]:
            raise RuntimeError(f"expand: cannot expand shape {x.shape} to {shape}")
    if shape == x.shape:
        return x
    return Expand.apply(x, shape)


def squeeze(x, dim=None):
    """x without dims of size 1 (only `dim` if given)."""
    if dim is None:
        shape = tuple(n for n in x.shape if n != 1)
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        dims = {_dim("squeeze", d, max(x.ndim, 1)) for d in dims}
        shape = tuple(n for i, n in enumerate(x.shape) if not (i in dims and n == 1))
    return reshape(x, shape)


def unsqueeze(x, dim):
    """x with a new dim of size 1 at `dim`."""
    d = _dim("unsqueeze", dim, x.ndim + 1)
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


@register
class Clone(Function):
    """y = copy(x)
    dx = grad
    """

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad

    samples = staticmethod(
        lambda: [Sample(((3, 4),), lambda torch, a: a.clone(), lambda a: clone(a))]
    )


def clone(x):
    """A copy of x that stays in the graph."""
    return Clone.apply(x)


def contiguous(x):
    """x itself if its memory is C-contiguous, else a contiguous copy."""
    return x if x.data.flags.c_contiguous else clone(x)


class ToDevice(Function):
    """y = x copied to another device
    dx = grad copied back to x's device
    """

    @staticmethod
    def forward(ctx, x, device):
        src = ctx.device
        ctx.src, ctx.out_device = src, device
        return device.backend.from_host(src.backend.to_host(x), device.index)

    @staticmethod
    def backward(ctx, grad):
        return to_device(grad, ctx.src), None


def to_device(x: Tensor, device) -> Tensor:
    """x on `device` (a host round trip: only where the user asks)."""
    if x.device == device:
        return x
    return ToDevice.apply(x, device)


# ----- indexing -------------------------------------------------------------------------------


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
        else:  # no position repeats: a plain assignment is the same and much faster
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
        elif _is_index_array(p) and device.type == "cpu" and p.size:
            n = shape[dim]
            bad = p[(p >= n) | (p < -n)]
            if bad.size:
                return (
                    f"{op}: index {int(bad.flat[0])} is out of bounds for dim {dim} with size "
                    f"{n} {where}"
                )
        dim += used(p)
    return f"{op}: {err} {where}"


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

    samples = staticmethod(lambda: _getitem_samples())


def _ix(index):
    """Sample helpers: torch's and tinynet's `a[index]` for a fixed index."""
    return (lambda torch, a: a[index]), (lambda a: getitem(a, index))


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
    ]  # fmt: skip
    return samples


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

    samples = staticmethod(
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


def _index_add(v: Tensor, shape: tuple, index) -> Tensor:
    """zeros(shape) with v added at `index` (a user-style index; for the samples)."""
    return IndexAdd.apply(v, tuple(shape), _plan(_index_arrays(index, v.device)))


def _torch_index_add(torch, v, shape, index):
    # the vector-Jacobian product of indexing is exactly the index-add; torch computes it
    z = torch.zeros(shape, dtype=v.dtype, requires_grad=True)
    return torch.autograd.grad(z[index], z, v, create_graph=True)[0]


def _slice_dim(x: Tensor, dim: int, start, stop, step=None) -> Tensor:
    """x[..., start:stop:step, ...] along `dim` (a view; its backward assigns, never adds)."""
    return GetItem.apply(x, _Index((slice(None),) * dim + (slice(start, stop, step),), None, False))


def gather(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """out[i][j][k] = x[index[i][j][k]][j][k] for dim=0 (and likewise for other dims).

    `index` is an integer tensor with x's number of dims and no larger than x in any
    dim but `dim`, as in torch.gather. Negative indices count from the end.
    """
    if not isinstance(index, Tensor) or index.dtype not in (dtypes.int64, dtypes.int32):
        got = index.dtype if isinstance(index, Tensor) else type(index).__name__
        raise RuntimeError(f"gather: index must be an int64 tensor, got {got}")
    if x.ndim == 0:
        return gather(reshape(x, 1), 0, reshape(index, 1)).reshape(index.shape)
    if index.ndim != x.ndim:
        raise RuntimeError(
            f"gather: index of shape {tuple(index.shape)} must have as many dims as the input "
            f"of shape {tuple(x.shape)}"
        )
    d = _dim("gather", dim, x.ndim)
    if any(i > n for k, (i, n) in enumerate(zip(index.shape, x.shape)) if k != d):
        raise RuntimeError(
            f"gather: index of shape {tuple(index.shape)} must be no larger than the input of "
            f"shape {tuple(x.shape)} in every dim but dim {d}"
        )
    if index.device != x.device:
        raise RuntimeError(
            f"gather: the input is on {x.device} but the index on {index.device}; move one "
            "with .to()"
        )
    xp = x.device.xp
    parts = tuple(
        index.data if k == d
        else xp.arange(n).reshape(tuple(-1 if j == k else 1 for j in range(x.ndim)))
        for k, n in enumerate(index.shape)
    )  # fmt: skip
    try:
        return GetItem.apply(x, _Index(None, parts, True))
    except IndexError as e:
        where = f"(input of shape {tuple(x.shape)}, index of shape {tuple(index.shape)})"
        raise RuntimeError(_index_error("gather", x.shape, parts, x.device, e, where)) from None


def split(x: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """x cut along `dim` into pieces of `split_size` (the last may be smaller) or of the
    sizes listed in `sections`, as torch.split."""
    d = _dim("split", dim, x.ndim)
    n = x.shape[d]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size <= 0 and not (size == 0 and n == 0):
            raise RuntimeError(f"split: split_size must be positive, got {size}")
        sizes = [size] * (n // size) + ([n % size] if n % size else []) if n else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
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
    if chunks <= 0:
        raise RuntimeError(f"chunk: chunks must be positive, got {chunks}")
    n = x.shape[_dim("chunk", dim, x.ndim)]
    if n == 0:  # torch gives `chunks` empty pieces
        return split(x, [0] * chunks, dim)
    return split(x, -(-n // chunks), dim)


# ----- joining and padding ---------------------------------------------------------------------


@register
class Cat(Function):
    """y = concatenate([x0, x1, ...], dim)
    dxi = grad[..., o_i : o_i + n_i]   (along dim: the slice that xi filled)
    """

    @staticmethod
    def forward(ctx, *xs, dim):
        ctx.dim, ctx.sizes = dim, [x.shape[dim] for x in xs]
        return ctx.device.xp.concatenate(xs, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        out, start = [], 0
        for n, need in zip(ctx.sizes, ctx.needs_input_grad):
            out.append(_slice_dim(grad, ctx.dim, start, start + n) if need else None)
            start += n
        return tuple(out)

    samples = staticmethod(
        lambda: [
            Sample(((2, 3), (4, 3)), lambda torch, *ts: torch.cat(ts), lambda *ts: cat(ts)),
            Sample(((2, 3), (2, 1), (2, 4)), lambda torch, *ts: torch.cat(ts, -1),
                   lambda *ts: cat(ts, -1), name="three"),
            Sample(((2, 0, 3), (2, 2, 3)), lambda torch, *ts: torch.cat(ts, 1),
                   lambda *ts: cat(ts, 1), name="empty"),
            Sample(((3,), Int((2,), 5)), lambda torch, *ts: torch.cat(ts),
                   lambda *ts: cat(ts), name="promote"),
            Sample(((2, 3), (2, 3)), lambda torch, *ts: torch.stack(ts),
                   lambda *ts: stack(ts), name="stack"),
            Sample(((2, 3), (2, 3), (2, 3)), lambda torch, *ts: torch.stack(ts, -1),
                   lambda *ts: stack(ts, -1), name="stack last"),
            Sample(((), ()), lambda torch, *ts: torch.stack(ts), lambda *ts: stack(ts),
                   name="stack 0-d"),
        ]
    )  # fmt: skip


def _tensors(op: str, tensors) -> list:
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}: expected a list or tuple of tensors, got a single Tensor")
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError(f"{op}: expected a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected tensors, got {type(t).__name__} at position {i}")
    return tensors


def _promoted(tensors: list) -> list:
    dt = dtypes.promote(*[(t.dtype, 2) for t in tensors])
    return [t if t.dtype is dt else cast(t, dt) for t in tensors]


def cat(tensors, dim: int = 0) -> Tensor:
    """The tensors joined along an existing dim; their other dims must match.

    Mixed dtypes promote as in torch (an int tensor joined to a float one becomes float).
    """
    tensors = _tensors("cat", tensors)
    if any(t.ndim != 1 or t.shape[0] for t in tensors):
        # torch's legacy rule: 1-d empty tensors join anything (they add nothing)
        tensors = [t for t in tensors if t.ndim != 1 or t.shape[0]] or tensors[:1]
    ref = tensors[0]
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(
                f"cat: a 0-d tensor (position {i}) cannot be concatenated; use stack, or "
                "unsqueeze it first"
            )
        if t.ndim != ref.ndim:
            raise RuntimeError(
                f"cat: tensors must have the same number of dims, got shapes "
                f"{tuple(ref.shape)} (position 0) and {tuple(t.shape)} (position {i})"
            )
    d = _dim("cat", dim, ref.ndim)
    for i, t in enumerate(tensors):
        if any(a != b for k, (a, b) in enumerate(zip(t.shape, ref.shape)) if k != d):
            raise RuntimeError(
                f"cat: sizes must match except in dim {d}, got shapes {tuple(ref.shape)} "
                f"(position 0) and {tuple(t.shape)} (position {i})"
            )
    return Cat.apply(*_promoted(tensors), dim=d)


def stack(tensors, dim: int = 0) -> Tensor:
    """The tensors (all of one shape) joined along a new dim `dim`."""
    tensors = _tensors("stack", tensors)
    ref = tensors[0]
    for i, t in enumerate(tensors):
        if t.shape != ref.shape:
            raise RuntimeError(
                f"stack: expects tensors of equal shape, got {tuple(ref.shape)} at position 0 "
                f"and {tuple(t.shape)} at position {i}"
            )
    d = _dim("stack", dim, ref.ndim + 1)
    return cat([unsqueeze(t, d) for t in tensors], d)


@register
class Pad(Function):
    """y = x with widths[k] = (lo, hi) elements of `value` added before/after dim k
           (a negative width crops instead)
    dx = pad(grad, -widths)   (the adjoint: crop what was added, zero-fill what was cropped)
    """

    @staticmethod
    def forward(ctx, x, widths, value):
        ctx.widths = widths
        shape = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, widths))
        out = ctx.device.xp.full(shape, value, dtype=x.dtype)
        src, dst = [], []
        for n, (lo, hi) in zip(x.shape, widths):
            start = min(max(-lo, 0), n)
            stop = max(n - max(-hi, 0), start)
            src.append(slice(start, stop))
            dst.append(slice(max(lo, 0), max(lo, 0) + stop - start))
        out[tuple(dst)] = x[tuple(src)]
        return out

    @staticmethod
    def backward(ctx, grad):
        return Pad.apply(grad, tuple((-lo, -hi) for lo, hi in ctx.widths), 0), None, None

    samples = staticmethod(
        lambda: [
            Sample(((3, 4),), *_pad_fns((1, 2))),
            Sample(((2, 3, 4),), *_pad_fns((1, 0, 2, 1, 0, 1), value=1.5), name="value"),
            Sample(((3, 5),), *_pad_fns((-1, 2, 1, -2)), name="crop"),
            Sample(((2, 3, 5),), *_pad_fns((2, 1, 1, 2), mode="reflect"), name="reflect"),
            Sample(((2, 3, 5),), *_pad_fns((2, 3, 1, 0), mode="replicate"), name="replicate"),
            Sample(((2, 3, 5),), *_pad_fns((4, 2), mode="circular"), name="circular"),
            Sample(((1, 2, 5),), *_pad_fns((-3, 4), mode="reflect"), name="reflect crop"),
            Sample(((1, 2, 5),), *_pad_fns((2, -1, 1, 1), mode="replicate"), name="replicate crop"),
            Sample(((1, 2, 5),), *_pad_fns((-1, 2), mode="circular"), name="circular crop"),
            Sample(((1, 5),), *_pad_fns((2, -1), mode="circular"), name="circular crop left"),
        ]
    )  # fmt: skip


def _pad_fns(p, **kw):
    return (lambda torch, a: torch.nn.functional.pad(a, p, **kw)), (lambda a: pad(a, p, **kw))


_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(x: Tensor, pad, mode: str = "constant", value=None) -> Tensor:
    """x padded as torch.nn.functional.pad: `pad` lists (before, after) widths starting from
    the LAST dim, e.g. (1, 1, 2, 0) pads the last dim by 1 on each side and the one before
    by 2 in front. Negative widths crop. Modes: "constant" (filled with `value`, default 0),
    "reflect" (mirrored without the edge), "replicate" (the edge repeated), "circular"
    (wrapped around).
    """
    pad = tuple(pad)
    if not all(isinstance(p, (int, np.integer)) for p in pad):
        raise TypeError(f"pad: widths must be ints, got {pad}")
    if len(pad) % 2:
        raise RuntimeError(f"pad: the pad tuple needs (before, after) pairs, got odd length {pad}")
    if len(pad) // 2 > x.ndim:
        raise RuntimeError(
            f"pad: {pad} pads {len(pad) // 2} dims but the tensor of shape {tuple(x.shape)} "
            f"has only {x.ndim}"
        )
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode must be one of {_PAD_MODES}, got {mode!r}")
    if mode != "constant" and value is not None and value != 0:
        raise RuntimeError(f"pad: mode {mode!r} takes no value (got {value})")
    widths = [(0, 0)] * x.ndim
    for k in range(len(pad) // 2):
        widths[x.ndim - 1 - k] = (int(pad[2 * k]), int(pad[2 * k + 1]))
    for k, (n, (lo, hi)) in enumerate(zip(x.shape, widths)):
        if n + lo + hi < 0:
            raise RuntimeError(
                f"pad: widths ({lo}, {hi}) would leave dim {k} of shape {tuple(x.shape)} with "
                f"negative size {n + lo + hi}"
            )
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(
                f"pad: reflect widths ({lo}, {hi}) must be smaller than dim {k} of size {n} "
                f"(tensor of shape {tuple(x.shape)})"
            )
        if mode != "constant" and (lo or hi) and n == 0:
            raise RuntimeError(
                f"pad: mode {mode!r} cannot pad the empty dim {k} of {tuple(x.shape)}"
            )
        kept = n - max(-lo, 0) - max(-hi, 0)
        if mode == "circular" and (lo > kept or hi > kept):
            raise RuntimeError(
                f"pad: circular widths ({lo}, {hi}) must be at most the size {kept} of dim {k} "
                f"(tensor of shape {tuple(x.shape)})"
            )
    if mode == "constant":
        if all(w == (0, 0) for w in widths):
            return x
        return Pad.apply(x, tuple(widths), 0 if value is None else value)
    # The other modes join slices of x (views, whose backward is an assignment) along each
    # padded dim; an index array per dim would do too, but its backward is a slow scatter-add.
    for k, (n, (lo, hi)) in enumerate(zip(x.shape, widths)):
        if lo == 0 and hi == 0:
            continue
        keep = _slice_dim(x, k, max(-lo, 0), n - max(-hi, 0))  # negative widths crop
        before = after = None
        if mode == "reflect":  # mirror about the edge of x, the edge itself not repeated
            if lo > 0:
                before = _slice_dim(x, k, lo, 0, -1)
            if hi > 0:
                after = _slice_dim(x, k, n - 2, n - 2 - hi if n - 2 - hi >= 0 else None, -1)
        elif mode == "replicate":  # the edge element repeated
            edge = x.shape[:k] + (max(lo, 0),) + x.shape[k + 1 :]
            if lo > 0:
                before = expand(_slice_dim(x, k, 0, 1), edge)
            if hi > 0:
                after = expand(_slice_dim(x, k, n - 1, n), edge[:k] + (hi,) + edge[k + 1 :])
        else:  # circular: what is kept wraps around, as torch crops first
            m = keep.shape[k]
            if lo > 0:
                before = _slice_dim(keep, k, m - lo, m)
            if hi > 0:
                after = _slice_dim(keep, k, 0, hi)
        pieces = [p for p in (before, keep, after) if p is not None]
        x = Cat.apply(*pieces, dim=k) if len(pieces) > 1 else keep
    return x
