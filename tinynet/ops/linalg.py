"""Matrix multiplication, batched and broadcasting, with NumPy's 1-D rules."""

from __future__ import annotations

from ..autograd.function import Function
from .broadcast import unbroadcast
from .elementwise import _prepare
from .registry import Sample, register

__all__ = ["matmul"]


@register
class Matmul(Function):
    """z = x @ y   (x: (..., n, k), y: (..., k, m); leading dims broadcast)
    dx = grad @ y^T;  dy = x^T @ grad   (each unbroadcast over the batch dims)
    """

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x @ y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        dx = dy = None
        if ctx.needs_input_grad[0]:
            dx = unbroadcast(grad @ y.transpose(-1, -2), x.shape)
        if ctx.needs_input_grad[1]:
            dy = unbroadcast(x.transpose(-1, -2) @ grad, y.shape)
        return dx, dy

    samples = staticmethod(
        lambda: [
            Sample(shapes, lambda torch, a, b: a @ b, matmul, name=str(shapes))
            for shapes in [
                ((3, 4), (4, 5)),
                ((2, 3, 4), (2, 4, 5)),
                ((2, 3, 4), (4, 5)),
                ((3, 4), (2, 4, 5)),
                ((2, 1, 3, 4), (5, 4, 2)),
                ((4,), (4, 5)),
                ((3, 4), (4,)),
                ((4,), (4,)),
                ((2, 3, 4), (4,)),
            ]
        ]
    )


def matmul(x, y):
    """x @ y: matrix product; 1-D operands are vectors (as NumPy and torch)."""
    x, y = _prepare("matmul", x, y)
    if x.ndim == 0 or y.ndim == 0:
        raise RuntimeError(
            f"matmul: both arguments need at least 1 dim, got {x.shape} and {y.shape}"
        )
    if x.shape[-1] != y.shape[-2 if y.ndim > 1 else -1]:
        raise RuntimeError(
            f"matmul: shapes {tuple(x.shape)} and {tuple(y.shape)} cannot be multiplied "
            f"({x.shape[-1]} != {y.shape[-2 if y.ndim > 1 else -1]})"
        )
    if x.ndim == 1 or y.ndim == 1:  # lift vectors to matrices, then drop the added dim
        xm = x.unsqueeze(0) if x.ndim == 1 else x
        ym = y.unsqueeze(-1) if y.ndim == 1 else y
        z = Matmul.apply(xm, ym)
        if y.ndim == 1:
            z = z.squeeze(-1)
        if x.ndim == 1:
            z = z.squeeze(-2 if y.ndim > 1 else -1) if z.ndim else z
        return z
    return Matmul.apply(x, y)
