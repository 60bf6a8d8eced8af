"""Movement ops: reshape, permute, expand, squeeze, getitem, cat, stack, pad, device copies.

None of these computes anything: each backward moves the gradient back to where
the forward took each element from.
"""

from __future__ import annotations

from ..autograd.function import Function
from ..tensor import Tensor
from .registry import Arg, Sample, register

__all__ = [
    "reshape", "view", "flatten", "permute", "transpose", "t", "expand", "squeeze", "unsqueeze",
    "contiguous", "clone", "to_device",
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
    if shape.count(-1) > 1 or (-1 not in shape and known != size) or (
        -1 in shape and (known == 0 or size % known)
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

    @staticmethod
    def forward(ctx, x, shape):
        ctx.x_shape = x.shape
        return ctx.device.xp.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        from .broadcast import unbroadcast

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
