"""Movement ops: reshape, permute, expand, squeeze, cat, stack, pad, device copies.

None of these computes anything: each backward moves the gradient back to where
the forward took each element from.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..autograd.function import Function
from ..tensor import Tensor
from ._args import _dim, _int, _shape_arg, _tensor
from .broadcast import unbroadcast
from .elementwise import cast
from .indexing import IndexAdd, _Index, _slice_dim
from .registry import Arg, Int, Sample, register

__all__ = [
    "reshape", "view", "flatten", "permute", "transpose", "t", "expand", "squeeze", "unsqueeze",
    "contiguous", "clone", "to_device", "cat", "stack", "pad", "flip", "roll", "repeat",
    "unfold", "broadcast_to", "movedim", "moveaxis", "swapaxes", "swapdims", "unflatten",
    "hstack", "vstack", "tile", "outer", "tril", "triu", "repeat_interleave", "masked_select",
]  # fmt: skip


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


def reshape(x, *shape):
    """x with a new shape of the same size (one dim may be -1)."""
    shape = _shape_arg(shape, "reshape")
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


def permute(x, *dims):
    """x with its dims reordered."""
    dims = _shape_arg(dims, "permute", "dims")
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


def swapaxes(x, axis0, axis1):
    """x with two dims swapped (transpose under NumPy's name)."""
    return transpose(x, axis0, axis1)


swapdims = swapaxes


def movedim(x, source, destination):
    """x with the dims `source` moved to positions `destination` (ints or sequences)."""
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise ValueError(
            f"movedim: source {source} and destination {destination} have different lengths"
        )
    src = [_dim("movedim", d, x.ndim) for d in src]
    dst = [_dim("movedim", d, x.ndim) for d in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError(f"movedim: repeated dim in source {source} or destination {destination}")
    order = [None] * x.ndim
    for s_, d_ in zip(src, dst):
        order[d_] = s_
    rest = iter(d for d in range(x.ndim) if d not in src)
    return permute(x, *[o if o is not None else next(rest) for o in order])


moveaxis = movedim


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


def broadcast_to(x, size):
    """x broadcast to `size` (expand under NumPy's name)."""
    return expand(x, *size)


def expand(x, *shape):
    """A broadcast view of x with `shape` (-1 keeps a dim)."""
    shape = _shape_arg(shape, "expand", "size")
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
        dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
        dims = {_dim("squeeze", d, max(x.ndim, 1)) for d in dims}
        shape = tuple(n for i, n in enumerate(x.shape) if not (i in dims and n == 1))
    return reshape(x, shape)


def unsqueeze(x, dim):
    """x with a new dim of size 1 at `dim`."""
    d = _dim("unsqueeze", dim, x.ndim + 1)
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


@register
class Flip(Function):
    """y = xp.flip(x, dims)
    dx = xp.flip(grad, dims)
    """

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return ctx.device.xp.flip(x, axis=dims)

    @staticmethod
    def backward(ctx, grad):
        return Flip.apply(grad, ctx.dims), None


def _dim_list(op: str, dims, ndim: int) -> tuple:
    dims = _shape_arg(dims if isinstance(dims, (tuple, list)) else (dims,), op, "dims")
    out = tuple(_dim(op, d, max(ndim, 1)) for d in dims)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{op}: dims {dims} name a dim more than once")
    return out


def flip(x: Tensor, dims, *more) -> Tensor:
    """x with the order of its entries reversed along each of `dims` (an int or a sequence;
    `x.flip(0, 1)` also works, as in torch)."""
    dims = _dim_list("flip", (dims, *more) if more else dims, x.ndim)
    if x.ndim == 0:
        return Clone.apply(x)
    return Flip.apply(x, dims)


@register
class Roll(Function):
    """y = xp.roll(x, shifts, dims)   (entries pushed past the end come back at the start)
    dx = xp.roll(grad, -shifts, dims)
    """

    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return ctx.device.xp.roll(x, shifts, axis=dims)

    @staticmethod
    def backward(ctx, grad):
        return Roll.apply(grad, tuple(-s for s in ctx.shifts), ctx.dims), None, None


def roll(x: Tensor, shifts, dims=None) -> Tensor:
    """x with its entries shifted by `shifts` along `dims`, wrapping around, as torch.roll;
    without `dims` the flattened tensor is rolled and the shape restored."""
    shifts = _shape_arg(
        shifts if isinstance(shifts, (tuple, list)) else (shifts,), "roll", "shifts"
    )
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"roll: without dims, shifts must be a single int, got {shifts}")
        return reshape(Roll.apply(reshape(x, -1), shifts, (0,)), x.shape)
    dims = _shape_arg(dims if isinstance(dims, (tuple, list)) else (dims,), "roll", "dims")
    if len(shifts) != len(dims):
        raise RuntimeError(
            f"roll: shifts and dims must have the same length, got shifts {shifts} and dims {dims}"
        )
    dims = tuple(_dim("roll", d, max(x.ndim, 1)) for d in dims)
    if x.ndim == 0:
        return Clone.apply(x)
    return Roll.apply(x, shifts, dims)


def repeat(x: Tensor, *sizes) -> Tensor:
    """x tiled `sizes[k]` times along dim k, as Tensor.repeat (more sizes than dims add
    leading dims). The gradient sums over the copies (a reshape of an expand)."""
    sizes = _shape_arg(sizes, "repeat", "sizes")
    if len(sizes) < x.ndim:
        raise RuntimeError(
            f"repeat: {len(sizes)} sizes {sizes} are fewer than the {x.ndim} dims of the tensor "
            f"of shape {tuple(x.shape)}"
        )
    if any(r < 0 for r in sizes):
        raise RuntimeError(f"repeat: sizes must be non-negative, got {sizes}")
    shape = (1,) * (len(sizes) - x.ndim) + tuple(x.shape)
    spread = tuple(n for r, k in zip(sizes, shape) for n in (1, k))
    tiled = tuple(n for r, k in zip(sizes, shape) for n in (r, k))
    out = expand(reshape(x, spread), tiled)
    return reshape(out, tuple(r * k for r, k in zip(sizes, shape)))


@register
class Unfold(Function):
    """y[..., w, ..., k] = x[..., w * step + k, ...]   (windows of `size` along dim d, last dim k)
    dx = zeros(x.shape) with dx[..., w * step + k, ...] += grad[..., w, ..., k]
    """

    is_view = True  # as torch: an alias of x, so in-place edits are seen by autograd

    @staticmethod
    def forward(ctx, x, d, size, step):
        ctx.x_shape, ctx.d, ctx.size, ctx.step = x.shape, d, size, step
        windows = (x.shape[d] - size) // step + 1
        shape = x.shape[:d] + (windows,) + x.shape[d + 1 :] + (size,)
        st = x.strides
        strides = st[:d] + (st[d] * step,) + st[d + 1 :] + (st[d],)
        if step >= size and windows * step <= x.shape[d]:  # disjoint windows: a writable view
            blocks = x[(slice(None),) * d + (slice(0, windows * step),)]
            blocks = blocks.reshape(x.shape[:d] + (windows, step) + x.shape[d + 1 :])
            blocks = blocks[(slice(None),) * (d + 1) + (slice(0, size),)]
            return ctx.device.xp.moveaxis(blocks, d + 1, -1)
        # overlapping windows (or a cut last block): a read-only view on the CPU, so an
        # in-place edit through it raises, as torch does for overlapping windows
        return ctx.device.backend.strided_view(x, shape, strides)

    @staticmethod
    def backward(ctx, grad):
        d, size, step = ctx.d, ctx.size, ctx.step
        xp = grad.device.xp
        windows = grad.shape[d]
        at = xp.arange(windows).reshape(-1, 1) * step + xp.arange(size).reshape(1, -1)
        index = _Index((slice(None),) * d + (at,), None, step < size)  # overlaps add up
        n = grad.ndim
        g = grad.permute(*range(d + 1), n - 1, *range(d + 1, n - 1))  # k next to w
        return IndexAdd.apply(g, ctx.x_shape, index), None, None, None


def unfold(x: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """All windows of `size` entries along `dimension`, `step` apart, as Tensor.unfold:
    that dim becomes the window count and a new last dim of `size` holds each window."""
    if x.ndim == 0:
        return reshape(unfold(reshape(x, 1), 0, size, step), -1)
    d = _dim("unfold", dimension, x.ndim)
    size, step = _int("unfold", "size", size), _int("unfold", "step", step)
    if step <= 0:
        raise RuntimeError(f"unfold: step must be positive, got {step}")
    if not 0 <= size <= x.shape[d]:
        raise RuntimeError(
            f"unfold: size {size} must be between 0 and {x.shape[d]}, the size of dim {d} of the "
            f"tensor of shape {tuple(x.shape)}"
        )
    return Unfold.apply(x, d, int(size), int(step))


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


def _tensors(op: str, tensors) -> list:
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}: expected a list or tuple of tensors, got a single Tensor")
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}: expected a list or tuple of tensors, got {type(tensors).__name__}")
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


_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(x: Tensor, pad, mode: str = "constant", value=None) -> Tensor:
    """x padded as torch.nn.functional.pad: `pad` lists (before, after) widths starting from
    the LAST dim, e.g. (1, 1, 2, 0) pads the last dim by 1 on each side and the one before
    by 2 in front. Negative widths crop. Modes: "constant" (filled with `value`, default 0),
    "reflect" (mirrored without the edge), "replicate" (the edge repeated), "circular"
    (wrapped around).
    """
    if not isinstance(pad, (tuple, list)):
        raise TypeError(f"pad: pad must be a tuple of ints, got {type(pad).__name__} {pad!r}")
    pad = _shape_arg(tuple(pad), "pad", "pad")  # ints (no bools, no floats), each in int64
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
    # The other modes join slices of x along each padded dim (why: docs/performance.md).
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


# ----- registry samples and torch oracles ------------------------------------------------


def _pad_fns(p, **kw):
    return (lambda torch, a: torch.nn.functional.pad(a, p, **kw)), (lambda a: pad(a, p, **kw))


Reshape.samples = staticmethod(
    lambda: [
        Sample(((3, 4), Arg((2, 6))), lambda torch, a, s: a.reshape(s), reshape),
        Sample(((2, 3, 4), Arg((-1, 4))), lambda torch, a, s: a.reshape(s), reshape,
               name="infer"),
        Sample(((1,), Arg(())), lambda torch, a, s: a.reshape(s), reshape, name="to-0d"),
    ]
)  # fmt: skip

Permute.samples = staticmethod(
    lambda: [
        Sample(((2, 3, 4), Arg((2, 0, 1))), lambda torch, a, d: a.permute(*d),
               lambda a, d: permute(a, *d)),
        Sample(((3, 4), Arg((1, 0))), lambda torch, a, d: a.permute(*d),
               lambda a, d: permute(a, *d), name="2d"),
    ]
)  # fmt: skip

Expand.samples = staticmethod(
    lambda: [
        Sample(((3, 1), Arg((3, 4))), lambda torch, a, s: a.expand(*s), expand),
        Sample(((4,), Arg((2, 3, 4))), lambda torch, a, s: a.expand(*s), expand, name="new"),
        Sample(((2, 3), Arg((2, 1))), lambda torch, a, s: a.repeat(*s), lambda a, s: repeat(a, *s),
               name="repeat"),
        Sample(((3,), Arg((2, 1, 2))), lambda torch, a, s: a.repeat(*s), lambda a, s: repeat(a, s),
               name="repeat new dims"),
        Sample(((), Arg((3,))), lambda torch, a, s: a.repeat(*s), lambda a, s: repeat(a, *s),
               name="repeat 0-d"),
        Sample(((2, 3), Arg((0, 2))), lambda torch, a, s: a.repeat(*s), lambda a, s: repeat(a, *s),
               name="repeat 0 times"),
    ]
)  # fmt: skip

Clone.samples = staticmethod(
    lambda: [Sample(((3, 4),), lambda torch, a: a.clone(), lambda a: clone(a))]
)

Cat.samples = staticmethod(
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

Pad.samples = staticmethod(
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

Flip.samples = staticmethod(
    lambda: [
        Sample(((3, 4),), lambda torch, a: torch.flip(a, (0,)), lambda a: flip(a, 0)),
        Sample(((2, 3, 4),), lambda torch, a: torch.flip(a, (-1, 0)), lambda a: flip(a, (-1, 0)),
               name="two dims"),
        Sample(((),), lambda torch, a: torch.flip(a, (0,)), lambda a: flip(a, 0), name="0-d"),
    ]
)  # fmt: skip

Roll.samples = staticmethod(
    lambda: [
        Sample(((3, 4),), lambda torch, a: torch.roll(a, 1, 1), lambda a: roll(a, 1, 1)),
        Sample(((3, 4),), lambda torch, a: torch.roll(a, -5), lambda a: roll(a, -5),
               name="flattened"),
        Sample(((2, 3, 4),), lambda torch, a: torch.roll(a, (2, -1), (-1, 0)),
               lambda a: roll(a, (2, -1), (-1, 0)), name="two dims"),
    ]
)  # fmt: skip

Unfold.samples = staticmethod(
    lambda: [
        Sample(((3, 7),), lambda torch, a: a.unfold(1, 3, 2), lambda a: unfold(a, 1, 3, 2),
               name="overlapping"),
        Sample(((6, 2, 3),), lambda torch, a: a.unfold(0, 2, 3), lambda a: unfold(a, 0, 2, 3),
               name="gaps"),
        Sample(((2, 5, 3),), lambda torch, a: a.unfold(-2, 5, 1), lambda a: unfold(a, -2, 5, 1),
               name="one window"),
        Sample(((4,),), lambda torch, a: a.unfold(0, 2, 2), lambda a: unfold(a, 0, 2, 2),
               name="tiles"),
    ]
)  # fmt: skip


# ----- compositions under torch's other names -------------------------------------------------


def unflatten(x, dim: int, sizes) -> Tensor:
    """x with dim `dim` split into `sizes` (one may be -1)."""
    d = _dim("unflatten", dim, x.ndim)
    sizes = tuple(sizes)
    known = int(np.prod([s for s in sizes if s != -1]))
    if (
        sizes.count(-1) > 1
        or (-1 not in sizes and known != x.shape[d])
        or (-1 in sizes and (known == 0 or x.shape[d] % known))
    ):
        raise RuntimeError(
            f"unflatten: sizes {sizes} don't multiply up to the size of dim {dim} ({x.shape[d]}) "
            f"of input {tuple(x.shape)}"
        )
    return reshape(x, *x.shape[:d], *sizes, *x.shape[d + 1 :])


def hstack(tensors) -> Tensor:
    """Tensors joined column-wise: along dim 0 for 1-D inputs, else dim 1."""
    ts = [t.reshape(1) if t.ndim == 0 else t for t in tensors]
    return cat(ts, 0 if ts and ts[0].ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Tensors joined row-wise (1-D inputs become rows)."""
    ts = [t.reshape(1, -1) if t.ndim < 2 else t for t in tensors]
    return cat(ts, 0)


def tile(x, dims) -> Tensor:
    """x repeated `dims` times along each dim (missing leading dims count as 1)."""
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    return repeat(x, *((1,) * (x.ndim - len(dims)) + dims))


def outer(x, vec2) -> Tensor:
    """The outer product of two 1-D tensors: out[i, j] = x[i] * vec2[j]."""
    if x.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(
            f"outer: expects two 1-D tensors, got shapes {tuple(x.shape)} and {tuple(vec2.shape)}"
        )
    return x.reshape(-1, 1) * vec2.reshape(1, -1)


def _triangle(op: str, x, diagonal: int, lower: bool) -> Tensor:
    if x.ndim < 2:
        raise RuntimeError(f"{op}: input must have at least 2 dims, got shape {tuple(x.shape)}")
    from .elementwise import const, where

    n, m = x.shape[-2:]
    xp = x.device.xp
    keep = xp.tri(n, m, diagonal, dtype=bool)
    if not lower:
        keep = ~xp.tri(n, m, diagonal - 1, dtype=bool)
    return where(const(x, keep), x, const(x, xp.zeros((), dtype=x.data.dtype)))


def tril(x, diagonal: int = 0) -> Tensor:
    """x with the elements above the `diagonal`-th diagonal set to 0."""
    return _triangle("tril", x, diagonal, True)


def triu(x, diagonal: int = 0) -> Tensor:
    """x with the elements below the `diagonal`-th diagonal set to 0."""
    return _triangle("triu", x, diagonal, False)


def repeat_interleave(x, repeats, dim: int | None = None) -> Tensor:
    """Each element (or slice along `dim`) repeated `repeats` times in place; `repeats` an
    int or a 1-D integer tensor of one count per slice. Without `dim`, x is flattened."""
    from .indexing import index_select

    if dim is None:
        x, dim = reshape(x, -1), 0
    d = _dim("repeat_interleave", dim, x.ndim)
    n = x.shape[d]
    if isinstance(repeats, Tensor):
        if repeats.dtype.is_floating_point or repeats.ndim > 1:
            raise RuntimeError(
                f"repeat_interleave: repeats must be an int or a 0-d/1-d integer tensor, got "
                f"{repeats.dtype} of shape {tuple(repeats.shape)}"
            )
        counts = repeats.device.backend.to_host(repeats.data).reshape(-1)
    else:
        counts = np.asarray([repeats])
    if counts.size == 1:
        counts = np.repeat(counts, n)
    if counts.size != n or (counts < 0).any():
        raise RuntimeError(
            f"repeat_interleave: repeats must be non-negative with one count per slice "
            f"({n} along dim {dim}), got {counts.tolist()}"
        )
    idx = np.repeat(np.arange(n), counts.astype(np.int64))
    return index_select(
        x, d, Tensor._make(x.device.backend.from_host(idx, x.device.index), x.device, False, None)
    )


def masked_select(x, mask) -> Tensor:
    """The 1-D tensor of x's elements where the bool `mask` is True (both broadcast)."""
    if not isinstance(mask, Tensor) or mask.dtype is not dtypes.bool_:
        got = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise RuntimeError(f"masked_select: mask must be a bool tensor, got {got}")
    try:
        shape = np.broadcast_shapes(tuple(x.shape), tuple(mask.shape))
    except ValueError:
        raise RuntimeError(
            f"masked_select: input {tuple(x.shape)} and mask {tuple(mask.shape)} do not broadcast"
        ) from None
    return expand(x, *shape)[expand(mask, *shape)]


# ----- diag and meshgrid ---------------------------------------------------------------------


@register
class Diag(Function):
    """y = diag(x, k): a 1-D x (L,) onto the k-th diagonal of a square matrix (L+|k|, L+|k|);
    the k-th diagonal of a 2-D x (m, n) as a 1-D tensor.
    dx = diag(grad, k), cropped or zero-padded to (m, n) where x is 2-D
    """

    @staticmethod
    def forward(ctx, x, k):
        ctx.k, ctx.x_shape = k, x.shape
        y = ctx.device.xp.diag(x, k)
        return y.copy() if x.ndim == 2 else y  # NumPy's diagonal is a read-only view

    @staticmethod
    def backward(ctx, grad):
        dx = Diag.apply(grad, ctx.k)
        if len(ctx.x_shape) == 2:
            (m, n), S = ctx.x_shape, dx.shape[0]
            dx = pad(dx, (0, n - S, 0, m - S))  # negative widths crop (rows past m are zeros)
        return dx, None


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """torch.diag: a 1-D input becomes a square matrix with it on the `diagonal`-th diagonal
    (0 the main one, > 0 above, < 0 below); a 2-D input gives that diagonal as a 1-D tensor.

    Example:
        >>> tn.diag(tn.tensor([1.0, 2.0]))  # [[1, 0], [0, 2]]
    """
    _tensor("diag", input)
    k = _int("diag", "diagonal", diagonal)
    if input.ndim not in (1, 2):
        raise RuntimeError(f"diag: input must be 1-D or 2-D, got shape {tuple(input.shape)}")
    return Diag.apply(input, k)


def meshgrid(*tensors, indexing: str | None = None) -> tuple:
    """torch.meshgrid: coordinate grids from 1-D (or 0-D) tensors t_0, ..., t_{n-1}.

    indexing="ij" (None, the default, means it, as torch; no warning): output i has shape
    (len(t_0), ..., len(t_{n-1})) and varies along dim i. indexing="xy" (NumPy's, Cartesian)
    swaps the first two dims. Gradients flow back through the expands.

    Example:
        >>> gy, gx = tn.meshgrid(tn.arange(3), tn.arange(4))  # each (3, 4)
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if not tensors:
        raise RuntimeError("meshgrid: expects a non-empty list of tensors")
    indexing = "ij" if indexing is None else indexing
    if indexing not in ("ij", "xy"):
        raise ValueError(f'meshgrid: indexing must be "ij" or "xy", got {indexing!r}')
    for i, t in enumerate(tensors):
        _tensor("meshgrid", t, f"tensors[{i}]")
        if t.ndim > 1:
            raise RuntimeError(
                f"meshgrid: expects 0-D or 1-D tensors, tensors[{i}] has shape {tuple(t.shape)}"
            )
    if len({t.dtype for t in tensors}) > 1 or len({t.device for t in tensors}) > 1:
        raise RuntimeError(
            "meshgrid: expects all tensors to have the same dtype and device, got "
            f"{[f'{t.dtype} on {t.device}' for t in tensors]}"
        )
    flat = [t.reshape(-1) for t in tensors]
    swap = indexing == "xy" and len(flat) >= 2
    if swap:
        flat[0], flat[1] = flat[1], flat[0]
    shape = tuple(t.shape[0] for t in flat)
    n = len(flat)
    grids = [
        t.reshape(*[-1 if d == i else 1 for d in range(n)]).expand(*shape)
        for i, t in enumerate(flat)
    ]
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


Diag.samples = staticmethod(
    lambda: [
        Sample(((4,),), lambda torch, a: torch.diag(a), diag, name="vector"),
        Sample(((3,), Arg(2)), lambda torch, a, k: torch.diag(a, k), diag, name="vector-above"),
        Sample(((3,), Arg(-1)), lambda torch, a, k: torch.diag(a, k), diag, name="vector-below"),
        Sample(((3, 5),), lambda torch, a: torch.diag(a), diag, name="matrix"),
        Sample(((3, 5), Arg(1)), lambda torch, a, k: torch.diag(a, k), diag, name="wide-above"),
        Sample(((5, 3), Arg(-2)), lambda torch, a, k: torch.diag(a, k), diag, name="tall-below"),
        Sample(((4, 3), Arg(1)), lambda torch, a, k: torch.diag(a, k), diag, name="tall-above"),
    ]
)  # fmt: skip

__all__ += ["diag", "meshgrid"]
