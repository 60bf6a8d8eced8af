"""In-place writes through a view: the node that rebases the view's base (torch's CopySlices).

`Tensor._inplace_op` computes an in-place op out of place and writes the result
into the tensor's memory. When that tensor is a view, the write changed its
base too: the base is rebased onto a `CopySlices` node whose inputs are the
base's old value and the view's new value (docs/autograd.md, "In-place ops").
"""

from __future__ import annotations

from ..autograd.function import Function, _Ctx
from ..tensor import Tensor
from .broadcast import unbroadcast
from .indexing import GetItem, _index_arrays, _plan
from .registry import Bool, Sample, register

__all__ = ["index_put"]


def _view_of(a, chain: list, device):
    """The array view `chain` (view Functions and their arguments) picks out of array `a`."""
    for info in chain:
        ctx = _Ctx()
        ctx.device = device
        a = info.fn.forward(ctx, a, *info.args, **info.kwargs)
    return a


@register
class CopySlices(Function):
    """y = base with y[view] = src   (src is already written through the view: y is base's memory)
    dbase = grad with grad[view] = 0;  dsrc = grad[view]
    """

    @staticmethod
    def forward(ctx, base, src, chain):
        ctx.chain, ctx.shape = chain, base.shape
        return base

    @staticmethod
    def backward(ctx, grad):
        dbase = dsrc = None
        if ctx.needs_input_grad[0]:
            xp = grad.device.xp
            keep = xp.ones(ctx.shape, dtype=grad.data.dtype)
            _view_of(keep, ctx.chain, grad.device)[...] = 0
            dbase = grad * Tensor._make(keep, grad.device, False, None)
        if ctx.needs_input_grad[1]:
            dsrc = grad
            for info in ctx.chain:
                dsrc = info.fn.apply(dsrc, *info.args, **info.kwargs)
        return dbase, dsrc, None


@register
class IndexPut(Function):
    """y = x.copy() with y[index] = v   (accumulate: y[index] += v, repeated indices adding up)
    dx = grad with grad[index] = 0 (accumulate: dx = grad);  dv = grad[index] (unbroadcast)
    """

    @staticmethod
    def forward(ctx, x, v, index, accumulate):
        xp = ctx.device.xp
        ctx.index, ctx.accumulate, ctx.v_shape = index, accumulate, getattr(v, "shape", ())
        if not accumulate:
            out = x.copy()
            index.assign(out, v)
            return out
        added = xp.zeros_like(x)
        index.add_into(added, xp.broadcast_to(v, index.take(x).shape), ctx.device.backend)
        return x + added

    @staticmethod
    def backward(ctx, grad):
        dx = dv = None
        if ctx.needs_input_grad[0]:
            dx = grad
            if not ctx.accumulate:
                keep = grad.device.xp.ones(grad.shape, dtype=grad.data.dtype)
                ctx.index.assign(keep, 0)
                dx = grad * Tensor._make(keep, grad.device, False, None)
        if ctx.needs_input_grad[1]:
            dv = unbroadcast(GetItem.apply(grad, ctx.index), ctx.v_shape)
        return dx, dv, None, None


def index_put(input: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    """`input` with `values` put at `indices` (a tuple of index tensors), out of place.

    As `torch.index_put`: `accumulate=True` adds instead (repeated indices add up).
    `Tensor.__setitem__` with index arrays uses it in place (`index_put_`).
    """
    if not isinstance(indices, tuple):
        raise TypeError(f"index_put: indices must be a tuple of tensors, got {type(indices)}")
    plan = _plan(_index_arrays(indices, input.device))
    return IndexPut.apply(input, values, plan, bool(accumulate))


def _put_planned(x: Tensor, plan, values) -> Tensor:
    """`x[plan] = values` out of place (Tensor.__setitem__ with index arrays, in the graph)."""
    return IndexPut.apply(x, values, plan, False)


# Samples: the same code runs on torch and tinynet tensors (`torch_fn` gets torch first).
def _write_slice(*args):
    a, b = args[-2:]
    y = a * 1
    y[1:, 1:3].mul_(b)  # Mul saved the view it overwrites: a copy is kept
    return y


def _write_transposed(*args):
    a, b = args[-2:]
    y = a * 3
    y.t()[2].add_(b)  # a view of a view
    return y.exp()


def _write_reshaped(*args):
    a, b = args[-2:]
    y = (a * 2).contiguous()  # view() of a non-contiguous result would be a copy here
    y.view(6, 4)[1].copy_(b * 3)  # gradient flows to b, not to what was overwritten
    return y


def _setitem_mask(*args):
    a, m, v = args[-3:]
    y = a * 1
    y[m] = v * 2  # index arrays: rebased onto IndexPut
    return y


# ----- registry samples and torch oracles -------------------------------------------------


CopySlices.samples = staticmethod(
    lambda: [
        Sample(((3, 4), (2, 2)), _write_slice, _write_slice, name="mul_-slice"),
        Sample(((3, 4), (3,)), _write_transposed, _write_transposed, name="add_-t-row"),
        Sample(((2, 3, 4), (4,)), _write_reshaped, _write_reshaped, name="copy_-view"),
    ]
)


IndexPut.samples = staticmethod(
    lambda: [
        Sample(((4, 3), (2, 3)), lambda torch, a, v: a.index_put((torch.tensor([0, 2]),), v),
               lambda a, v: index_put(a, ([0, 2],), v), name="rows"),
        Sample(((3, 4), Bool((3, 4)), ()), lambda torch, a, m, v: a.index_put((m,), v),
               lambda a, m, v: index_put(a, (m,), v), name="mask-scalar"),
        Sample(((4, 3), (3, 3)),
               lambda torch, a, v: a.index_put((torch.tensor([0, 0, 2]),), v, accumulate=True),
               lambda a, v: index_put(a, ([0, 0, 2],), v, accumulate=True),
               name="accumulate-repeated"),
        Sample(((3, 4), Bool((3, 4)), ()), _setitem_mask, _setitem_mask, name="setitem"),
    ]
)  # fmt: skip
