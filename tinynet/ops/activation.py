"""Activation ops beyond relu/leaky_relu/gelu (those live in ops/elementwise.py).

Each Function's docstring is its math: forward, then the gradient, with torch's
choice at the kinks (which side of a breakpoint passes the gradient). Backward
recomputes what it needs from the saved input with ops, so double backward works.
"""

from __future__ import annotations

import numpy as np  # host-only: rounding a Python scalar as torch does

from ..autograd.function import Function
from ..tensor import Tensor
from ._args import _floating
from .elementwise import Masked, const, exp, sigmoid, tanh, where
from .registry import Arg, Sample, register

__all__ = [
    "silu", "elu", "selu", "celu", "softplus", "hardtanh", "relu6", "hardsigmoid", "hardswish",
    "mish", "logsigmoid",
]  # fmt: skip

# SELU's constants, as torch (Klambauer et al. 2017)
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_ONE_SIXTH_F32 = 0.1666666716337204  # float(numpy.float32(1 / 6))


def _need_float(op: str, x) -> None:
    _floating(op, x, hint="; convert it with .float()")


def _mask(x: Tensor, array) -> Tensor:
    return const(x, array)


@register
class Silu(Function):
    """y = x * sigmoid(x)
    dx = grad * s * (1 + x * (1 - s)),  s = sigmoid(x)
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        xp = ctx.device.xp
        e = xp.exp(-xp.abs(x))  # a sigmoid that never overflows
        s = xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        return x * s

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        s = sigmoid(x)
        return grad * (s * (1 + x * (1 - s)))


def silu(x: Tensor) -> Tensor:
    """SiLU (swish): x * sigmoid(x)."""
    _need_float("silu", x)
    return Silu.apply(x)


@register
class Elu(Function):
    """y = scale * (x if x > 0 else alpha * (exp(x * input_scale) - 1))
    dx = grad * (scale if x > 0 else scale * alpha * s * exp(x * s))   (s = grad_input_scale)
    """

    @staticmethod
    def forward(ctx, x, alpha, scale, input_scale, grad_input_scale):
        ctx.save_for_backward(x)
        ctx.coef = (alpha, scale, grad_input_scale)
        xp = ctx.device.xp
        neg = alpha * xp.expm1(xp.minimum(x, 0) * input_scale)  # no overflow where x > 0
        return (xp.where(x > 0, x, neg) * scale).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        alpha, scale, input_scale = ctx.coef
        pos = x.data > 0
        e = exp(Masked.apply(x, ~pos) * input_scale)  # exp(min(x, 0) * input_scale)
        dneg = grad * e * (scale * alpha * input_scale)
        return where(_mask(x, pos), grad * scale, dneg), None, None, None, None


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """ELU: x if x > 0 else alpha * (exp(x) - 1)."""
    _need_float("elu", x)
    return Elu.apply(x, float(alpha), 1.0, 1.0, 1.0)


def selu(x: Tensor) -> Tensor:
    """SELU: scale * elu(x, alpha) with torch's fixed alpha and scale."""
    _need_float("selu", x)
    return Elu.apply(x, SELU_ALPHA, SELU_SCALE, 1.0, 1.0)


def celu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """CELU: x if x > 0 else alpha * (exp(x / alpha) - 1)."""
    _need_float("celu", x)
    if alpha == 0:
        raise RuntimeError("celu: ZeroDivisionError, alpha must not be 0")
    # torch's derivative of celu takes 1 / alpha with alpha rounded to float32
    alpha = float(alpha)
    return Elu.apply(x, alpha, 1.0, 1.0 / alpha, 1.0 / float(np.float32(alpha)))


@register
class Softplus(Function):
    """y = log(1 + exp(beta * x)) / beta, or x where beta * x > threshold
    dx = grad * sigmoid(beta * x), or grad where beta * x > threshold
    """

    @staticmethod
    def forward(ctx, x, beta, threshold):
        ctx.save_for_backward(x)
        ctx.beta, ctx.threshold = beta, threshold
        xp = ctx.device.xp
        bx = x * beta
        soft = xp.log1p(xp.exp(xp.minimum(bx, threshold))) / beta  # no overflow where unused
        return xp.where(bx > threshold, x, soft).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        linear = x.data * ctx.beta > ctx.threshold
        return where(_mask(x, linear), grad, grad * sigmoid(x * ctx.beta)), None, None


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """Softplus: log(1 + exp(beta * x)) / beta, linear (x) where beta * x > threshold."""
    _need_float("softplus", x)
    return Softplus.apply(x, float(beta), float(threshold))


def logsigmoid(x: Tensor) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x), without overflow."""
    _need_float("logsigmoid", x)
    return -Softplus.apply(-x, 1.0, 20.0)


def mish(x: Tensor) -> Tensor:
    """Mish: x * tanh(softplus(x))."""
    _need_float("mish", x)
    return x * tanh(Softplus.apply(x, 1.0, 20.0))


@register
class Hardtanh(Function):
    """y = min(max(x, min_val), max_val)
    dx = grad where min_val < x < max_val, else 0   (the bounds pass nothing, as torch)
    """

    @staticmethod
    def forward(ctx, x, min_val, max_val):
        ctx.save_for_backward(x)
        ctx.bounds = (min_val, max_val)
        return ctx.device.xp.clip(x, min_val, max_val)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        return Masked.apply(grad, (x.data > lo) & (x.data < hi)), None, None


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """Hardtanh: x clipped to [min_val, max_val]."""
    _need_float("hardtanh", x)
    if min_val > max_val:
        raise ValueError(
            f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})"
        )
    return Hardtanh.apply(x, min_val, max_val)


def relu6(x: Tensor) -> Tensor:
    """ReLU6: min(max(x, 0), 6)."""
    return hardtanh(x, 0.0, 6.0)


@register
class Hardsigmoid(Function):
    """y = min(max(x + 3, 0), 6) / 6
    dx = grad / 6 where -3 < x < 3, else 0   (1 / 6 rounded to float32, as torch)
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.device.xp.clip(x + 3, 0, 6) / x.dtype.type(6)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        # torch's kernel multiplies by the float32 constant 1.0f / 6.0f, at any precision
        return Masked.apply(grad, (x.data > -3) & (x.data < 3)) * _ONE_SIXTH_F32


def hardsigmoid(x: Tensor) -> Tensor:
    """Hardsigmoid: min(max(x + 3, 0), 6) / 6."""
    _need_float("hardsigmoid", x)
    return Hardsigmoid.apply(x)


@register
class Hardswish(Function):
    """y = x * min(max(x + 3, 0), 6) / 6
    dx = 0 where x < -3;  grad * (x / 3 + 1/2) where -3 <= x <= 3;  grad where x > 3
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * ctx.device.xp.clip(x + 3, 0, 6) / x.dtype.type(6)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        mid = (x.data >= -3) & (x.data <= 3)
        inner = Masked.apply(grad * (x * (1 / 3) + 0.5), mid)
        return where(_mask(x, x.data > 3), grad, inner)


def hardswish(x: Tensor) -> Tensor:
    """Hardswish: x * hardsigmoid(x)."""
    _need_float("hardswish", x)
    return Hardswish.apply(x)


# ----- registry samples and torch oracles -------------------------------------------------


def _unary(fn, torch_fn):
    return [
        Sample(((3, 4),), torch_fn, fn),
        Sample(((2, 3, 5),), torch_fn, fn),
        Sample(((),), torch_fn, fn, name="0-d"),
    ]


Silu.samples = staticmethod(lambda: _unary(silu, lambda torch, a: torch.nn.functional.silu(a)))


Elu.samples = staticmethod(
    lambda: _unary(elu, lambda torch, a: torch.nn.functional.elu(a))
    + [
        Sample(((3, 4), Arg(0.5)), lambda torch, a, al: torch.nn.functional.elu(a, al), elu,
               name="alpha"),
        Sample(((3, 4),), lambda torch, a: torch.nn.functional.selu(a), selu, name="selu"),
        Sample(((3, 4), Arg(1.5)), lambda torch, a, al: torch.nn.functional.celu(a, al), celu,
               name="celu"),
    ]
)  # fmt: skip


Softplus.samples = staticmethod(
    lambda: _unary(softplus, lambda torch, a: torch.nn.functional.softplus(a))
    + [
        Sample(((3, 4), Arg(2.0), Arg(1.0)),
               lambda torch, a, b, t: torch.nn.functional.softplus(a, b, t), softplus,
               name="beta-threshold"),
        Sample(((3, 4),), lambda torch, a: torch.nn.functional.logsigmoid(a), logsigmoid,
               name="logsigmoid"),
        Sample(((3, 4),), lambda torch, a: torch.nn.functional.mish(a), mish, name="mish"),
    ]
)  # fmt: skip


Hardtanh.samples = staticmethod(
    lambda: _unary(hardtanh, lambda torch, a: torch.nn.functional.hardtanh(a))
    + [
        Sample(((3, 4), Arg(-0.5), Arg(1.5)),
               lambda torch, a, lo, hi: torch.nn.functional.hardtanh(a, lo, hi), hardtanh,
               name="bounds"),
        Sample(((3, 4),), lambda torch, a: torch.nn.functional.relu6(a * 4),
               lambda a: relu6(a * 4), name="relu6"),
    ]
)  # fmt: skip


Hardsigmoid.samples = staticmethod(
    lambda: [
        Sample(((3, 4),), lambda torch, a: torch.nn.functional.hardsigmoid(a * 3),
               lambda a: hardsigmoid(a * 3)),
    ]
)  # fmt: skip


Hardswish.samples = staticmethod(
    lambda: [
        Sample(((3, 4),), lambda torch, a: torch.nn.functional.hardswish(a * 3),
               lambda a: hardswish(a * 3)),
    ]
)  # fmt: skip
