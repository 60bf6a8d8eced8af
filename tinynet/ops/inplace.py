"""In-place writes through a view: the node that rebases the view's base (torch's CopySlices).

`Tensor._inplace_op` computes an in-place op out of place and writes the result
into the tensor's memory. When that tensor is a view, the write changed its
base too: the base is rebased onto a `CopySlices` node whose inputs are the
base's old value and the view's new value (docs/autograd.md, "In-place ops").
"""

from __future__ import annotations

from ..autograd.function import Function, _Ctx
from ..tensor import Tensor
from .registry import Sample, register

__all__: list[str] = []


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

    samples = staticmethod(
        lambda: [
            Sample(((3, 4), (2, 2)), _write_slice, _write_slice, name="mul_-slice"),
            Sample(((3, 4), (3,)), _write_transposed, _write_transposed, name="add_-t-row"),
            Sample(((2, 3, 4), (4,)), _write_reshaped, _write_reshaped, name="copy_-view"),
        ]
    )


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
