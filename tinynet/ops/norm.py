"""Normalisation ops: layer norm over the trailing dims, and group norm built on it.

(Batch norm, whose statistics run over the batch, is the fused Function of
nn/functional.py.) The mean and the biased variance are taken over the last
`k` dims; backward rebuilds the normalised input from x with ops when a graph
is being recorded, so double backward is exact.
"""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor
from ._args import _floating
from .elementwise import const
from .registry import Arg, Sample, register

__all__ = ["layer_norm", "group_norm"]


@register
class LayerNorm(Function):
    """y = (x - mean) / sqrt(var + eps) * w + b   (mean, biased var over the last k dims)
    dx = invstd * (g - mean(g) - xhat * mean(g * xhat)), g = grad * w;  dw = sum(grad * xhat);  db = sum(grad)
    """  # noqa: E501

    @staticmethod
    def forward(ctx, x, w, b, k, eps):
        xp = ctx.device.xp
        axes = tuple(range(x.ndim - k, x.ndim))
        mean = x.mean(axis=axes, keepdims=True)
        xhat = x - mean
        var = xp.square(xhat).mean(axis=axes, keepdims=True)
        invstd = (1.0 / xp.sqrt(var + eps)).astype(x.dtype, copy=False)
        xhat *= invstd
        if w is not None:
            y = xhat * w
            if b is not None:
                y += b
        else:  # never return xhat itself: backward reads it
            y = xhat + b if b is not None else xhat.copy()
        ctx.save_for_backward(x, w)
        ctx.xhat, ctx.invstd, ctx.axes, ctx.eps = xhat, invstd, axes, eps
        ctx.lead = x.ndim - k
        return y

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        axes = ctx.axes
        if is_grad_enabled():  # create_graph: xhat and invstd carry x's graph
            centred = x - x.mean(axes, keepdim=True)
            invstd = ((centred * centred).mean(axes, keepdim=True) + ctx.eps) ** -0.5
            xhat = centred * invstd
        else:
            xhat, invstd = const(x, ctx.xhat), const(x, ctx.invstd)
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        dx = dw = db = None
        lead = tuple(range(ctx.lead))
        if need_x:
            g = grad if w is None else grad * w
            gx = (g * xhat).mean(axes, keepdim=True)
            dx = (g - g.mean(axes, keepdim=True) - xhat * gx) * invstd
        if need_w:
            dw = (grad * xhat).sum(lead) if lead else grad * xhat
        if need_b:
            db = grad.sum(lead) if lead else grad
        return dx, dw, db, None, None


def _check_param(op: str, name: str, t, shape: tuple, x: Tensor) -> None:
    if t is None:
        return
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor or None, got {type(t).__name__}")
    if tuple(t.shape) != shape:
        raise RuntimeError(
            f"{op}: {name} must have shape {shape}, got {tuple(t.shape)} (input {tuple(x.shape)})"
        )
    if t.dtype != x.dtype:
        raise RuntimeError(f"{op}: input is {x.dtype.name} but {name} is {t.dtype.name}")
    if t.device != x.device:
        raise RuntimeError(f"{op}: input is on {x.device} but {name} on {t.device}")


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:  # fmt: skip
    """Normalise over the trailing dims `normalized_shape`, then scale and shift elementwise.

    Args:
        input: (..., *normalized_shape).
        normalized_shape: an int or a tuple, the sizes of the last dims to normalise over.
        weight, bias: `normalized_shape`-shaped, or None.
        eps: added to the (biased) variance.

    Shape:
        output: the input's shape.

    Example:
        >>> y = F.layer_norm(x, (64,), ln_w, ln_b)
    """
    op = "layer_norm"
    _floating(op, input, error=RuntimeError)
    shape = (int(normalized_shape),) if isinstance(normalized_shape, int) \
        else tuple(int(s) for s in normalized_shape)  # fmt: skip
    k = len(shape)
    if k == 0 or tuple(input.shape[input.ndim - k :]) != shape or k > input.ndim:
        raise RuntimeError(
            f"{op}: given normalized_shape={list(shape)}, expected input with shape "
            f"[*, {', '.join(map(str, shape))}], but got input of size {tuple(input.shape)}"
        )
    _check_param(op, "weight", weight, shape, input)
    _check_param(op, "bias", bias, shape, input)
    return LayerNorm.apply(input, weight, bias, k, float(eps))


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:  # fmt: skip
    """Normalise each sample's channels in `num_groups` groups, then scale and shift per channel.

    The channels (dim 1) split into groups of C // num_groups; each group of each
    sample is normalised over its channels and all spatial positions.

    Args:
        input: (N, C, *).
        num_groups: divides C.
        weight, bias: (C,) or None.
        eps: added to the (biased) variance.

    Example:
        >>> y = F.group_norm(tn.randn(2, 8, 5, 5), 4)
    """
    op = "group_norm"
    _floating(op, input, error=RuntimeError)
    if input.ndim < 2:
        raise RuntimeError(
            f"{op}: expected at least 2 dimensions for input tensor but received {input.ndim}"
        )
    N, C = input.shape[:2]
    if isinstance(num_groups, bool) or not isinstance(num_groups, int) or num_groups <= 0:
        raise ValueError(f"{op}: num_groups must be a positive int, got {num_groups!r}")
    if C % num_groups:
        raise RuntimeError(
            f"{op}: expected number of channels in input ({C}) to be divisible by num_groups "
            f"({num_groups}) (input {tuple(input.shape)})"
        )
    _check_param(op, "weight", weight, (C,), input)
    _check_param(op, "bias", bias, (C,), input)
    y = LayerNorm.apply(input.reshape(N, num_groups, -1), None, None, 1, float(eps))
    y = y.reshape(input.shape)
    per_channel = (C,) + (1,) * (input.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(per_channel)
    if bias is not None:
        y = y + bias.reshape(per_channel)
    return y


# ----- registry samples and torch oracles -------------------------------------------------


def _torch_ln(shape):
    return lambda torch, x, *wb: torch.nn.functional.layer_norm(x, shape, *wb)


def _tn_ln(shape):
    return lambda x, *wb: layer_norm(x, shape, *wb)


LayerNorm.samples = staticmethod(
    lambda: [
        Sample(((4, 5), (5,), (5,)), _torch_ln((5,)), _tn_ln((5,))),
        Sample(((2, 3, 4), (3, 4), (3, 4)), _torch_ln((3, 4)), _tn_ln((3, 4)), name="2 dims"),
        Sample(((2, 3, 4),), _torch_ln((4,)), _tn_ln((4,)), name="no affine"),
        Sample(((6,), (6,)), _torch_ln((6,)), _tn_ln((6,)), name="1-d weight only"),
        Sample(((4, 6, 3, 2), (6,), (6,), Arg(3)),
               lambda torch, x, w, b, g: torch.nn.functional.group_norm(x, g, w, b),
               lambda x, w, b, g: group_norm(x, g, w, b), name="group norm"),
        Sample(((2, 4, 5), Arg(None), Arg(None), Arg(2)),
               lambda torch, x, w, b, g: torch.nn.functional.group_norm(x, g, w, b),
               lambda x, w, b, g: group_norm(x, g, w, b), name="group norm no affine"),
        Sample(((3, 4), (4,), (4,), Arg(4)),
               lambda torch, x, w, b, g: torch.nn.functional.group_norm(x, g, w, b, eps=0.1),
               lambda x, w, b, g: group_norm(x, g, w, b, eps=0.1), name="instance-like"),
    ]
)  # fmt: skip
