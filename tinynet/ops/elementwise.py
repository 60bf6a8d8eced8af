"""Elementwise ops: arithmetic, math, activations, comparisons, where, casts.

Each Function's docstring is its math: forward, then the gradient of each input
(binary ops undo broadcasting with `unbroadcast`).
"""

from __future__ import annotations

import math

from .. import dtypes
from .._grad_state import _state as _grad
from ..autograd.function import Function, apply_untracked
from ..backend import split
from ..tensor import Tensor, tensor
from ._args import _tensor
from .broadcast import unbroadcast
from .registry import Arg, Bool, Sample, register

__all__ = [
    "add", "sub", "mul", "div", "pow", "neg", "exp", "log", "sqrt", "abs", "tanh", "sigmoid",
    "relu", "leaky_relu", "gelu", "erf", "clamp", "maximum", "minimum", "where", "masked_fill",
    "eq", "ne", "lt", "le", "gt", "ge", "logical_not", "logical_and", "logical_or", "logical_xor",
    "cast", "sin", "cos",
]  # fmt: skip


def const(like: Tensor, array) -> Tensor:
    """A constant (no grad) tensor on `like`'s device: masks and factors in backward."""
    return Tensor._make(array, like.device, False, None)


def _kind(v) -> int:
    return (2 if v.ndim else 1) if isinstance(v, Tensor) else 0


def _as_operand(v, ref: Tensor, op: str) -> Tensor:
    if isinstance(v, Tensor):
        return v
    if isinstance(v, (bool, int, float)):
        return v  # a Python scalar: converted once the result dtype is known
    try:
        return tensor(v, device=ref.device)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: unsupported operand of type {type(v).__name__}") from None


def _prepare(op: str, *operands):
    """Promote operands to one dtype (PyTorch rules) as Tensors on one device."""
    ref = next((v for v in operands if isinstance(v, Tensor)), None)
    if ref is None:
        kinds = ", ".join(type(v).__name__ for v in operands)
        raise TypeError(f"{op}: needs at least one tensor argument, got ({kinds})")
    operands = [_as_operand(v, ref, op) for v in operands]
    dt = dtypes.promote(
        *[
            (v.dtype, _kind(v)) if isinstance(v, Tensor) else (dtypes.scalar_dtype(v), 0)
            for v in operands
        ]
    )
    out = []
    for v in operands:
        if not isinstance(v, Tensor):
            dtypes.check_scalar_fits(v, dt, op)  # ints never wrap: uint8 + 300 raises
            v = const(ref, ref.device.xp.asarray(v, dtype=dt.np))
        elif v.data.dtype != dt.np:
            v = cast(v, dt)
        out.append(v)
    return out


def _binary(fn_cls, op: str, a, b):
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.data.dtype == b.data.dtype:
        pass  # the common case: nothing to promote
    elif isinstance(a, Tensor) and type(b) in _SCALARS and a.data.dtype.kind == "f":
        dtypes.check_int(b, op)
        b = const(a, a.device.xp.asarray(b, dtype=a.data.dtype))  # 2.0 never upcasts a float
    elif isinstance(b, Tensor) and type(a) in _SCALARS and b.data.dtype.kind == "f":
        dtypes.check_int(a, op)
        a = const(b, b.device.xp.asarray(a, dtype=b.data.dtype))
    else:
        a, b = _prepare(op, a, b)
    if a._device is b._device and not (_grad.enabled and (a.requires_grad or b.requires_grad)):
        out = apply_untracked(fn_cls, a, b)  # nothing records: the forward alone, ~2x faster
        if out is not None:
            return out
    try:
        return fn_cls.apply(a, b)
    except ValueError:
        if a.device == b.device and _broadcast_fails(a.shape, b.shape):
            raise RuntimeError(
                f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be broadcast together"
            ) from None
        raise


_SCALARS = (int, float)


def _broadcast_fails(s1, s2) -> bool:
    return any(x != y and 1 not in (x, y) for x, y in zip(reversed(s1), reversed(s2)))


def _floats(op: str, x: Tensor) -> Tensor:
    """Math functions of integer tensors compute in the default float dtype, as torch."""
    if isinstance(x, Tensor) and x.data.dtype.kind == "f":  # the common case: one test
        return x
    _tensor(op, x)
    return x if x.dtype.is_floating_point else cast(x, dtypes.get_default_dtype())


# ----- arithmetic --------------------------------------------------------------------------


@register
class Add(Function):
    """z = x + y
    dx = grad;  dy = grad   (each unbroadcast)
    """

    @staticmethod
    def forward(ctx, x, y):
        ctx.x_shape, ctx.y_shape = x.shape, y.shape
        return x + y

    @staticmethod
    def backward(ctx, grad):
        return unbroadcast(grad, ctx.x_shape), unbroadcast(grad, ctx.y_shape)


def add(x, y, alpha=1):
    """x + alpha * y, broadcasting."""
    return _binary(Add, "add", x, y if alpha == 1 else _scaled(y, alpha))


def _scaled(y, alpha):
    """alpha * y for add/sub's `alpha`: a tensor stays in the graph, a number stays a number."""
    return mul(y, alpha) if isinstance(y, Tensor) else y * alpha


@register
class Sub(Function):
    """z = x - y
    dx = grad;  dy = -grad   (each unbroadcast)
    """

    @staticmethod
    def forward(ctx, x, y):
        ctx.x_shape, ctx.y_shape = x.shape, y.shape
        return x - y

    @staticmethod
    def backward(ctx, grad):
        dy = unbroadcast(-grad, ctx.y_shape) if ctx.needs_input_grad[1] else None
        return unbroadcast(grad, ctx.x_shape), dy


def sub(x, y, alpha=1):
    """x - alpha * y, broadcasting. Like torch, bool tensors cannot be subtracted (use ^)."""
    if (isinstance(x, Tensor) and x.data.dtype == bool) or (
        isinstance(y, Tensor) and y.data.dtype == bool
    ):
        kinds = [str(v.dtype) if isinstance(v, Tensor) else type(v).__name__ for v in (x, y)]
        raise TypeError(f"sub: cannot subtract with a bool tensor ({kinds[0]} - {kinds[1]}); "
                        "use ^ for logical xor")  # fmt: skip
    return _binary(Sub, "sub", x, y if alpha == 1 else _scaled(y, alpha))


@register
class Mul(Function):
    """z = x * y
    dx = grad * y;  dy = grad * x   (each unbroadcast)
    """

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        dx = unbroadcast(grad * y, x.shape) if ctx.needs_input_grad[0] else None
        dy = unbroadcast(grad * x, y.shape) if ctx.needs_input_grad[1] else None
        return dx, dy


def mul(x, y):
    """x * y, broadcasting."""
    return _binary(Mul, "mul", x, y)


@register
class Div(Function):
    """z = x / y
    dx = grad / y;  dy = -grad * x / y**2   (each unbroadcast)
    """

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x / y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        dx = unbroadcast(grad / y, x.shape) if ctx.needs_input_grad[0] else None
        dy = unbroadcast(-grad * x / (y * y), y.shape) if ctx.needs_input_grad[1] else None
        return dx, dy


def div(x, y, rounding_mode=None):
    """x / y (true division: integer inputs give floats), broadcasting; rounding_mode "trunc"
    or "floor" rounds the quotient (integers then stay integers, and the gradient is zero)."""
    if rounding_mode is not None:
        if rounding_mode not in ("trunc", "floor"):
            raise ValueError(
                f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}"
            )
        return _div_rounded(x, y, rounding_mode)
    if isinstance(x, Tensor) and not x.dtype.is_floating_point:
        if not (isinstance(y, Tensor) and y.dtype.is_floating_point) and not isinstance(y, float):
            x = _floats("div", x)
    if isinstance(y, Tensor) and not y.dtype.is_floating_point and not isinstance(x, Tensor):
        y = _floats("div", y)
    return _binary(Div, "div", x, y)


@register
class Pow(Function):
    """z = x ** y
    dx = grad * y * x ** (y - 1);  dy = grad * z * log(x)   (each unbroadcast)
    """

    @staticmethod
    def forward(ctx, x, y):
        z = x**y
        if ctx.needs_input_grad[1:2] == (True,):  # z only for dy: `t.pow_(2)` may edit it, as torch
            ctx.save_for_backward(x, y, z)
        else:
            ctx.save_for_backward(x, y, None)
        return z

    @staticmethod
    def backward(ctx, grad):
        x, y, z = ctx.saved_tensors
        dx = dy = None
        if ctx.needs_input_grad[0]:
            dx = unbroadcast(grad * y * x ** (y - 1), x.shape)
        if ctx.needs_input_grad[1]:
            dy = unbroadcast(grad * z * log(x), y.shape)
        return dx, dy


def pow(x, y):
    """x ** y, broadcasting."""
    return _binary(Pow, "pow", x, y)


@register
class Neg(Function):
    """z = -x
    dx = -grad
    """

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad):
        return -grad


def neg(x):
    """-x."""
    return Neg.apply(_tensor("neg", x))


# ----- unary math ---------------------------------------------------------------------------


@register
class Exp(Function):
    """y = exp(x)
    dx = grad * y
    """

    @staticmethod
    def forward(ctx, x):
        y = ctx.device.xp.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * y


def exp(x):
    """The exponential e**x of each element."""
    return Exp.apply(_floats("exp", x))


@register
class Log(Function):
    """y = log(x)
    dx = grad / x
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.device.xp.log(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / x


def log(x):
    """The natural logarithm of each element."""
    return Log.apply(_floats("log", x))


@register
class Sqrt(Function):
    """y = sqrt(x)
    dx = grad / (2 * y)
    """

    @staticmethod
    def forward(ctx, x):
        y = ctx.device.xp.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad / (2 * y)


def sqrt(x):
    """The square root of each element."""
    return Sqrt.apply(_floats("sqrt", x))


@register
class Abs(Function):
    """y = |x|
    dx = grad * sign(x)   (0 at x = 0, as torch)
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.device.xp.abs(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * const(x, ctx.device.xp.sign(x.data))


def abs(x):
    """|x|."""
    return Abs.apply(_tensor("abs", x))


@register
class Tanh(Function):
    """y = tanh(x)
    dx = grad * (1 - y**2)
    """

    @staticmethod
    def forward(ctx, x):
        y = ctx.device.xp.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (1 - y * y)


def tanh(x):
    """The hyperbolic tangent of each element."""
    return Tanh.apply(_floats("tanh", x))


@register
class Sigmoid(Function):
    """y = 1 / (1 + exp(-x))   (computed without overflow for large |x|)
    dx = grad * y * (1 - y)
    """

    @staticmethod
    def forward(ctx, x):
        xp = ctx.device.xp
        e = xp.exp(-xp.abs(x))  # never overflows
        y = xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * y * (1 - y)


def sigmoid(x):
    """The logistic sigmoid 1 / (1 + exp(-x)) of each element."""
    return Sigmoid.apply(_floats("sigmoid", x))


@register
class Masked(Function):
    """y = x where mask, else 0   (0 also where x is inf or NaN: a select, not x * mask)
    dx = grad where mask, else 0   (mask is a fixed bool array: the backward of relu, clamp)
    """

    @staticmethod
    def forward(ctx, x, mask):
        ctx.mask = mask
        return ctx.device.backend.masked(x, mask)

    @staticmethod
    def backward(ctx, grad):
        return Masked.apply(grad, ctx.mask), None


def masked(x, mask):
    """x where the bool tensor (or array) `mask` is True, else 0; differentiable in x only."""
    return Masked.apply(x, mask.data if isinstance(mask, Tensor) else mask)


@register
class Relu(Function):
    """y = max(x, 0)
    dx = grad where y > 0, else 0   (Masked: an inf or NaN gradient stays out, as torch)
    """

    @staticmethod
    def forward(ctx, x):
        xp = ctx.device.xp
        if x.dtype == bool:
            raise RuntimeError("relu: Boolean inputs not supported for relu (as torch)")
        if x.ndim == 0:
            y = xp.maximum(x, 0)
        else:  # by rows, in threads when big (backend.split)
            y = xp.empty(x.shape, x.dtype)
            work = lambda i, j: xp.maximum(x[i:j], 0, out=y[i:j])  # noqa: E731
            split(ctx.device, len(x), work, nbytes=y.nbytes)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return Masked.apply(grad, y.data > 0)


def relu(x):
    """max(x, 0)."""
    return Relu.apply(_tensor("relu", x))


@register
class LeakyRelu(Function):
    """y = x if x > 0 else slope * x
    dx = grad * (1 if x > 0 else slope)
    """

    @staticmethod
    def forward(ctx, x, negative_slope):
        ctx.save_for_backward(x)
        ctx.slope = negative_slope
        return ctx.device.xp.where(x > 0, x, x * negative_slope)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        xp = ctx.device.xp
        return grad * const(x, xp.where(x.data > 0, 1, ctx.slope).astype(x.data.dtype)), None


def leaky_relu(x, negative_slope=0.01):
    """max(0, x) + negative_slope * min(0, x) elementwise (as torch's leaky_relu)."""
    return LeakyRelu.apply(x, float(negative_slope))


@register
class Erf(Function):
    """y = erf(x)
    dx = grad * 2 / sqrt(pi) * exp(-x**2)
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.device.backend.erf(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (2 / math.sqrt(math.pi)) * exp(-(x * x))


def erf(x):
    """The Gauss error function of each element."""
    return Erf.apply(_floats("erf", x))


@register
class Gelu(Function):
    """y = x * Phi(x),  Phi(x) = (1 + erf(x / sqrt(2))) / 2
    dx = grad * (Phi(x) + x * exp(-x**2 / 2) / sqrt(2 pi))
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * 0.5 * (1 + ctx.device.backend.erf(x * (1 / math.sqrt(2))))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        phi = 0.5 * (1 + erf(x * (1 / math.sqrt(2))))
        return grad * (phi + x * exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi)))


def gelu(x, approximate: str = "none"):
    """GELU: x * Phi(x) exactly, or with PyTorch's tanh approximation."""
    if approximate == "none":
        return Gelu.apply(x)
    if approximate == "tanh":  # a composition of ops: its gradient comes for free
        k = math.sqrt(2 / math.pi)
        return 0.5 * x * (1 + tanh(k * (x + 0.044715 * x * x * x)))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


@register
class Sin(Function):
    """y = sin(x)
    dx = grad * cos(x)
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.device.xp.sin(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * cos(x)


def sin(x):
    """The sine of each element (radians)."""
    return Sin.apply(_floats("sin", x))


@register
class Cos(Function):
    """y = cos(x)
    dx = -grad * sin(x)
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.device.xp.cos(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return -grad * sin(x)


def cos(x):
    """The cosine of each element (radians)."""
    return Cos.apply(_floats("cos", x))


@register
class Clamp(Function):
    """y = min(max(x, lo), hi)
    dx = grad where lo <= x <= hi, else 0   (the bounds pass the gradient, as torch)
    """

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        return ctx.device.xp.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        mask = x.data == x.data  # all True
        if ctx.lo is not None:
            mask = mask & (x.data >= ctx.lo)
        if ctx.hi is not None:
            mask = mask & (x.data <= ctx.hi)
        return Masked.apply(grad, mask), None, None


def clamp(x, min=None, max=None):
    """Limit x to [min, max]; either bound may be None."""
    _tensor("clamp", x)
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):  # elementwise bounds, as torch
        y = x if min is None else maximum(x, min)
        return y if max is None else minimum(y, max)
    for name, v in (("min", min), ("max", max)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise TypeError(f"clamp: {name} must be a number or a tensor, got {type(v).__name__}")
        dtypes.check_int(v, "clamp", name)
    return Clamp.apply(x, min, max)


@register
class Maximum(Function):
    """z = max(x, y)
    dx = grad * ((x > y) + (x == y) / 2);  dy = grad * ((y > x) + (x == y) / 2)   (ties split)
    """

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return ctx.device.xp.maximum(x, y)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        return _split(grad, x, y, x.data > y.data)


def _split(grad, x, y, x_wins):
    """Route grad to the winner of max/min; ties give half to each, as torch does."""
    dt = grad.data.dtype
    tie = (x.data == y.data).astype(dt) * 0.5
    wx = x_wins.astype(dt) + tie
    wy = (~x_wins & (x.data != y.data)).astype(dt) + tie
    # the loser gets 0 even where grad is inf or NaN (Masked), as torch's masked_fill gives
    dx = Masked.apply(grad, wx != 0) * const(grad, wx)
    dy = Masked.apply(grad, wy != 0) * const(grad, wy)
    return unbroadcast(dx, x.shape), unbroadcast(dy, y.shape)


def maximum(x, y):
    """The larger of x and y elementwise, broadcast (NaN wins, as torch)."""
    return _binary(Maximum, "maximum", x, y)


@register
class Minimum(Function):
    """z = min(x, y)
    dx = grad * ((x < y) + (x == y) / 2);  dy = grad * ((y < x) + (x == y) / 2)   (ties split)
    """

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return ctx.device.xp.minimum(x, y)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        return _split(grad, x, y, x.data < y.data)


def minimum(x, y):
    """The smaller of x and y elementwise, broadcast (NaN wins, as torch)."""
    return _binary(Minimum, "minimum", x, y)


@register
class Where(Function):
    """z = x if cond else y
    dcond = None;  dx = grad * cond;  dy = grad * (not cond)   (each unbroadcast)
    """

    @staticmethod
    def forward(ctx, cond, x, y):
        ctx.save_for_backward(cond)
        ctx.x_shape, ctx.y_shape = x.shape, y.shape
        return ctx.device.xp.where(cond, x, y)

    @staticmethod
    def backward(ctx, grad):
        (cond,) = ctx.saved_tensors
        zero = const(grad, grad.device.xp.zeros((), dtype=grad.data.dtype))
        dx = unbroadcast(where(cond, grad, zero), ctx.x_shape) if ctx.needs_input_grad[1] else None
        dy = unbroadcast(where(cond, zero, grad), ctx.y_shape) if ctx.needs_input_grad[2] else None
        return None, dx, dy


def where(condition, x=None, y=None):
    """x where condition else y, broadcasting all three; `where(condition)` alone is
    `nonzero(condition, as_tuple=True)`, as torch's."""
    if x is None and y is None:
        from .indexing import nonzero

        return nonzero(condition, as_tuple=True)
    if not isinstance(condition, Tensor) or condition.dtype is not dtypes.bool_:
        raise TypeError(
            "where: condition must be a bool tensor, got "
            + (str(condition.dtype) if isinstance(condition, Tensor) else type(condition).__name__)
        )
    x, y = _prepare("where", x, y) if isinstance(x, Tensor) or isinstance(y, Tensor) else (x, y)
    return Where.apply(condition, x, y)


def masked_fill(x, mask, value):
    """x with `value` wherever `mask` is True."""
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(
                f"masked_fill: value must be a number or a 0-dim tensor, got shape {value.shape}"
            )
        return where(mask, cast(value, x.dtype), x)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"masked_fill: value must be a number, got {type(value).__name__}")
    dtypes.check_scalar_fits(value, x.dtype, "masked_fill")
    return where(mask, const(x, x.device.xp.asarray(value, dtype=x.data.dtype)), x)


# ----- comparisons and logic (no gradient) ------------------------------------------------


def _compare(fn_cls, op: str, x, y):
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):
        raise TypeError(f"{op}: needs at least one tensor")
    return fn_cls.apply(*_prepare(op, x, y))


@register
class Eq(Function):
    """z = x == y, a bool tensor; no gradient"""

    differentiable = False

    @staticmethod
    def forward(ctx, x, y):
        return x == y


def eq(x, y):
    """x == y elementwise (broadcasting), a bool tensor."""
    return _compare(Eq, "eq", x, y)


@register
class Ne(Function):
    """z = x != y, a bool tensor; no gradient"""

    differentiable = False

    @staticmethod
    def forward(ctx, x, y):
        return x != y


def ne(x, y):
    """x != y elementwise (broadcasting), a bool tensor."""
    return _compare(Ne, "ne", x, y)


@register
class Lt(Function):
    """z = x < y, a bool tensor; no gradient"""

    differentiable = False

    @staticmethod
    def forward(ctx, x, y):
        return x < y


def lt(x, y):
    """x < y elementwise (broadcasting), a bool tensor."""
    return _compare(Lt, "lt", x, y)


@register
class Le(Function):
    """z = x <= y, a bool tensor; no gradient"""

    differentiable = False

    @staticmethod
    def forward(ctx, x, y):
        return x <= y


def le(x, y):
    """x <= y elementwise (broadcasting), a bool tensor."""
    return _compare(Le, "le", x, y)


@register
class Gt(Function):
    """z = x > y, a bool tensor; no gradient"""

    differentiable = False

    @staticmethod
    def forward(ctx, x, y):
        return x > y


def gt(x, y):
    """x > y elementwise (broadcasting), a bool tensor."""
    return _compare(Gt, "gt", x, y)


@register
class Ge(Function):
    """z = x >= y, a bool tensor; no gradient"""

    differentiable = False

    @staticmethod
    def forward(ctx, x, y):
        return x >= y


def ge(x, y):
    """x >= y elementwise (broadcasting), a bool tensor."""
    return _compare(Ge, "ge", x, y)


@register
class LogicalNot(Function):
    """z = logical_not(x) = ~x with inputs read as bools (nonzero is True); no gradient"""

    differentiable = False

    @staticmethod
    def forward(ctx, x):
        x = x.astype(bool)
        return ~x


def logical_not(x):
    """Logical not of the inputs read as bools (nonzero is True), a bool tensor."""
    return LogicalNot.apply(x)


@register
class LogicalAnd(Function):
    """z = logical_and(x, y) = x & y with inputs read as bools (nonzero is True); no gradient"""

    differentiable = False

    @staticmethod
    def forward(ctx, x, y):
        x, y = x.astype(bool), y.astype(bool)
        return x & y


def logical_and(x, y):
    """Logical and of the inputs read as bools (nonzero is True), a bool tensor."""
    return LogicalAnd.apply(*_prepare("logical_and", x, y))


@register
class LogicalOr(Function):
    """z = logical_or(x, y) = x | y with inputs read as bools (nonzero is True); no gradient"""

    differentiable = False

    @staticmethod
    def forward(ctx, x, y):
        x, y = x.astype(bool), y.astype(bool)
        return x | y


def logical_or(x, y):
    """Logical or of the inputs read as bools (nonzero is True), a bool tensor."""
    return LogicalOr.apply(*_prepare("logical_or", x, y))


@register
class LogicalXor(Function):
    """z = logical_xor(x, y) = x ^ y with inputs read as bools (nonzero is True); no gradient"""

    differentiable = False

    @staticmethod
    def forward(ctx, x, y):
        x, y = x.astype(bool), y.astype(bool)
        return x ^ y


def logical_xor(x, y):
    """Logical xor of the inputs read as bools (nonzero is True), a bool tensor."""
    return LogicalXor.apply(*_prepare("logical_xor", x, y))


# ----- casts --------------------------------------------------------------------------------


@register
class Cast(Function):
    """y = x.astype(dtype)
    dx = grad.astype(x.dtype)
    """

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.in_dtype = dtypes.from_numpy_dtype(x.dtype)
        return x.astype(dtype.np)

    @staticmethod
    def backward(ctx, grad):
        return cast(grad, ctx.in_dtype), None


def cast(x, dtype):
    """x converted to `dtype`; differentiable between float dtypes."""
    dtype = dtypes.as_dtype(dtype)
    if x.data.dtype == dtype.np:
        return x
    if x.requires_grad and not dtype.is_floating_point:
        return Cast.apply(x.detach(), dtype)
    return Cast.apply(x, dtype)


# ----- more math (porting helper): torch's unary functions and rounding ----------------------


def _zero_grad(grad):
    """The gradient of a step function (floor, sign, ...): zero wherever it is defined."""
    return grad * 0


@register
class Log1p(Function):
    """y = log(1 + x)   (accurate for small x)
    dx = grad / (1 + x)
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.device.xp.log1p(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (x + 1)


def log1p(x):
    """log(1 + x), accurate near 0."""
    return Log1p.apply(_floats("log1p", x))


@register
class Expm1(Function):
    """y = exp(x) - 1   (accurate for small x)
    dx = grad * (y + 1)
    """

    @staticmethod
    def forward(ctx, x):
        y = ctx.device.xp.expm1(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (y + 1)


def expm1(x):
    """exp(x) - 1, accurate near 0."""
    return Expm1.apply(_floats("expm1", x))


@register
class Log2(Function):
    """y = log2(x)
    dx = grad / (x * log(2))
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.device.xp.log2(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (x * math.log(2))


def log2(x):
    """The base-2 logarithm."""
    return Log2.apply(_floats("log2", x))


@register
class Log10(Function):
    """y = log10(x)
    dx = grad / (x * log(10))
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.device.xp.log10(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (x * math.log(10))


def log10(x):
    """The base-10 logarithm."""
    return Log10.apply(_floats("log10", x))


@register
class Reciprocal(Function):
    """y = 1 / x
    dx = -grad * y**2
    """

    @staticmethod
    def forward(ctx, x):
        y = 1 / x
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return -grad * y * y


def reciprocal(x):
    """1 / x (integer tensors give floats)."""
    return Reciprocal.apply(_floats("reciprocal", x))


@register
class Rsqrt(Function):
    """y = 1 / sqrt(x)
    dx = -grad * y**3 / 2
    """

    @staticmethod
    def forward(ctx, x):
        y = 1 / ctx.device.xp.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * y * y * y * -0.5


def rsqrt(x):
    """1 / sqrt(x)."""
    return Rsqrt.apply(_floats("rsqrt", x))


@register
class Tan(Function):
    """y = tan(x)
    dx = grad * (1 + y**2)
    """

    @staticmethod
    def forward(ctx, x):
        y = ctx.device.xp.tan(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (1 + y * y)


def tan(x):
    """The tangent."""
    return Tan.apply(_floats("tan", x))


@register
class Atan(Function):
    """y = arctan(x)
    dx = grad / (1 + x**2)
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.device.xp.arctan(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (1 + x * x)


def atan(x):
    """The arc tangent."""
    return Atan.apply(_floats("atan", x))


@register
class Sign(Function):
    """y = sign(x)   (-1, 0 or 1)
    dx = 0
    """

    @staticmethod
    def forward(ctx, x):
        return ctx.device.xp.sign(x)

    @staticmethod
    def backward(ctx, grad):
        return _zero_grad(grad)


def sign(x):
    """-1, 0 or 1 by the sign of each element (its gradient is zero)."""
    if _tensor("sign", x).dtype is dtypes.bool_:
        return x
    return Sign.apply(x)


@register
class Floor(Function):
    """y = floor(x)
    dx = 0
    """

    @staticmethod
    def forward(ctx, x):
        return ctx.device.xp.floor(x)

    @staticmethod
    def backward(ctx, grad):
        return _zero_grad(grad)


@register
class Ceil(Function):
    """y = ceil(x)
    dx = 0
    """

    @staticmethod
    def forward(ctx, x):
        return ctx.device.xp.ceil(x)

    @staticmethod
    def backward(ctx, grad):
        return _zero_grad(grad)


@register
class Trunc(Function):
    """y = trunc(x)   (rounds toward zero)
    dx = 0
    """

    @staticmethod
    def forward(ctx, x):
        return ctx.device.xp.trunc(x)

    @staticmethod
    def backward(ctx, grad):
        return _zero_grad(grad)


@register
class Round(Function):
    """y = round(x, decimals)   (halves to even, as torch)
    dx = 0
    """

    @staticmethod
    def forward(ctx, x, decimals):
        return ctx.device.xp.round(x, decimals)

    @staticmethod
    def backward(ctx, grad):
        return _zero_grad(grad), None


def _rounding(cls, name: str, x):
    _tensor(name, x)
    if not x.dtype.is_floating_point:  # integers are already whole, as torch returns them
        return x
    return cls.apply(x)


def floor(x):
    """The largest whole number <= x (its gradient is zero)."""
    return _rounding(Floor, "floor", x)


def ceil(x):
    """The smallest whole number >= x (its gradient is zero)."""
    return _rounding(Ceil, "ceil", x)


def trunc(x):
    """x rounded toward zero (its gradient is zero)."""
    return _rounding(Trunc, "trunc", x)


fix = trunc


def round(x, decimals: int = 0):
    """x rounded to `decimals` places, halves to even (its gradient is zero)."""
    _tensor("round", x)
    if not isinstance(decimals, int) or isinstance(decimals, bool):
        raise TypeError(f"round: decimals must be an int, got {decimals!r}")
    if not x.dtype.is_floating_point:
        return x
    return Round.apply(x, decimals)


def frac(x):
    """x - trunc(x): the fractional part, with x's sign."""
    return _tensor("frac", x) - trunc(x)


def square(x):
    """x * x."""
    return mul(_tensor("square", x), x)


def lerp(x, end, weight):
    """x + weight * (end - x)."""
    return add(x, mul(weight, sub(end, x)))


def _mod_forward(ctx, x, y, kernel: str):
    ctx.save_for_backward(x, y)
    return getattr(ctx.device.xp, kernel)(x, y)


def _mod_backward(ctx, grad, rounding: str):
    """dx = grad;  dy = -grad * rounding(x / y)   (each unbroadcast): Remainder's and Fmod's."""
    x, y = ctx.saved_tensors
    dy = None
    if ctx.needs_input_grad[1]:
        q = getattr(ctx.device.xp, rounding)(x.data / y.data).astype(grad.data.dtype)
        dy = unbroadcast(-grad * const(grad, q), y.shape)
    return unbroadcast(grad, x.shape), dy


@register
class Remainder(Function):
    """z = x - floor(x / y) * y   (the sign of y, as Python's %)
    dx = grad;  dy = -grad * floor(x / y)   (each unbroadcast)
    """

    @staticmethod
    def forward(ctx, x, y):
        return _mod_forward(ctx, x, y, "remainder")

    @staticmethod
    def backward(ctx, grad):
        return _mod_backward(ctx, grad, "floor")


def remainder(x, y):
    """x mod y with the sign of y (Python's %)."""
    _no_scalar_only("remainder", x, y)
    return _binary(Remainder, "remainder", x, y)


@register
class Fmod(Function):
    """z = x - trunc(x / y) * y   (the sign of x, as C's fmod)
    dx = grad;  dy = -grad * trunc(x / y)   (each unbroadcast)
    """

    @staticmethod
    def forward(ctx, x, y):
        return _mod_forward(ctx, x, y, "fmod")

    @staticmethod
    def backward(ctx, grad):
        return _mod_backward(ctx, grad, "trunc")


def fmod(input, other):
    """input mod other with the sign of input (C's fmod; torch.fmod); remainder takes other's."""
    _tensor("fmod", input)
    return _binary(Fmod, "fmod", input, other)


@register
class Atan2(Function):
    """z = arctan2(x, y)   (the angle of the point (y, x), in (-pi, pi])
    dx = grad * y / (x**2 + y**2);  dy = -grad * x / (x**2 + y**2)   (each unbroadcast)
    """

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return ctx.device.xp.arctan2(x, y)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        g = grad / (x * x + y * y)
        dx = unbroadcast(g * y, x.shape) if ctx.needs_input_grad[0] else None
        dy = unbroadcast(-g * x, y.shape) if ctx.needs_input_grad[1] else None
        return dx, dy


def atan2(input, other):
    """The angle of the point (other, input) in (-pi, pi], as torch.atan2.

    arctan(input / other) in the right quadrant. Integer tensors give floats, as torch.
    """
    _tensor("atan2", other, "other")
    if not other.dtype.is_floating_point:
        input = _floats("atan2", input)
    return _binary(Atan2, "atan2", input, other)


arctan2 = atan2


def floor_divide(x, y):
    """floor(x / y); integers stay integers (its gradient is zero)."""
    return div(x, y, rounding_mode="floor")


def _no_scalar_only(op, *xs):
    if not any(isinstance(v, Tensor) for v in xs):
        raise TypeError(f"{op}: needs at least one tensor, got {[type(v).__name__ for v in xs]}")


def _div_rounded(x, y, mode: str):
    """div with rounding_mode "trunc" or "floor": integers stay integers; no gradient."""
    _no_scalar_only("div", x, y)
    if any(isinstance(v, Tensor) and v.dtype.is_floating_point for v in (x, y)) or any(
        isinstance(v, float) for v in (x, y)
    ):
        q = div(x, y)
        return floor(q) if mode == "floor" else trunc(q)
    a, b = _prepare("div", x, y)
    xp = a.device.xp
    if bool((b.data == 0).any()):
        raise ZeroDivisionError(f"div: integer division by zero (rounding_mode={mode!r})")
    q = xp.floor_divide(a.data, b.data)
    if mode == "trunc":  # floor rounds toward -inf; step back where the signs differ
        q = q + ((xp.remainder(a.data, b.data) != 0) & ((a.data < 0) != (b.data < 0)))
    return const(a, q.astype(a.data.dtype, copy=False))


@register
class Isnan(Function):
    """z = isnan(x), a bool tensor; no gradient"""

    differentiable = False

    @staticmethod
    def forward(ctx, x):
        return ctx.device.xp.isnan(x)


@register
class Isinf(Function):
    """z = isinf(x), a bool tensor; no gradient"""

    differentiable = False

    @staticmethod
    def forward(ctx, x):
        return ctx.device.xp.isinf(x)


@register
class Isfinite(Function):
    """z = isfinite(x), a bool tensor; no gradient"""

    differentiable = False

    @staticmethod
    def forward(ctx, x):
        return ctx.device.xp.isfinite(x)


def isnan(x):
    """Where x is NaN (a bool tensor)."""
    return Isnan.apply(_tensor("isnan", x))


def isinf(x):
    """Where x is +inf or -inf (a bool tensor)."""
    return Isinf.apply(_tensor("isinf", x))


def isfinite(x):
    """Where x is neither inf nor NaN (a bool tensor)."""
    return Isfinite.apply(_tensor("isfinite", x))


@register
class NanToNum(Function):
    """y = x with NaN -> nan, +inf -> posinf, -inf -> neginf
    dx = grad where x is finite, else 0
    """

    @staticmethod
    def forward(ctx, x, nan, posinf, neginf):
        ctx.save_for_backward(x)
        return ctx.device.xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return Masked.apply(grad, ctx.device.xp.isfinite(x.data)), None, None, None


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """NaN, +inf and -inf replaced by `nan`, `posinf` (the dtype's max) and `neginf` (its min)."""
    if not _tensor("nan_to_num", x).dtype.is_floating_point:
        return x
    return NanToNum.apply(x, nan, posinf, neginf)


def isclose(x, y, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Where |x - y| <= atol + rtol * |y| (a bool tensor), as torch.isclose."""
    a, b = _prepare("isclose", x, y)
    if _broadcast_fails(a.shape, b.shape):
        raise RuntimeError(
            f"isclose: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be broadcast together"
        )
    xp = a.device.xp
    return const(a, xp.isclose(a.data, b.data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(x, y, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """True if every element of x is close to y's (see isclose)."""
    return bool(isclose(x, y, rtol, atol, equal_nan).data.all())


def equal(x, y) -> bool:
    """True if x and y have the same shape and the same values."""
    if not isinstance(x, Tensor) or not isinstance(y, Tensor):
        raise TypeError("equal: both arguments must be tensors")
    if x.shape != y.shape:
        return False
    a, b = _prepare("equal", x, y)
    return bool((a.data == b.data).all())


__all__ += [
    "log1p", "expm1", "log2", "log10", "reciprocal", "rsqrt", "tan", "atan", "sign", "floor",
    "ceil", "trunc", "fix", "round", "frac", "square", "lerp", "remainder", "floor_divide",
    "fmod", "atan2", "arctan2", "isnan", "isinf", "isfinite", "nan_to_num", "isclose",
    "allclose", "equal",
]  # fmt: skip
# ----- registry samples and torch oracles ------------------------------------------------


def _special_samples(fn):
    """Inputs holding NaN, inf and -inf beside ordinary values (no NumPy warnings on the way)."""

    def make(lib_where, a):
        v = lib_where(a > 0.5, a * math.inf, a)
        v = lib_where(a < -0.5, v * -math.inf, v)
        return lib_where((a > 0) & (a < 0.2), v * math.nan, v)

    return [
        Sample(((3, 4),), lambda torch, a: getattr(torch, fn.__name__)(make(torch.where, a)),
               lambda a: fn(make(where, a)), grad=False),
        Sample(((2, 3),), lambda torch, a: getattr(torch, fn.__name__)(a), fn, grad=False,
               name="plain"),
    ]  # fmt: skip


_BIN = [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((4,), (2, 3, 4)), ((2, 3, 4), (3, 1)), ((3, 4), ())]


def _bin_samples(fn, torch_fn, positive=False):
    s = [Sample(shapes, torch_fn, fn, positive=positive, name=str(shapes)) for shapes in _BIN]
    s.append(Sample(((3, 4), Arg(2.5)), torch_fn, fn, positive=positive, name="scalar-right"))
    s.append(Sample((Arg(1.5), (3, 4)), torch_fn, fn, positive=positive, name="scalar-left"))
    return s


def _unary_samples(fn, torch_fn, positive=False):
    return [
        Sample(((3, 4),), torch_fn, fn, positive=positive),
        Sample(((2, 3, 5),), torch_fn, fn, positive=positive),
        Sample(((),), torch_fn, fn, positive=positive, name="0-d"),
    ]


def _torch_pair(torch, a, b):
    """torch.maximum/minimum take no Python scalars: make one a 0-d tensor of the other's dtype."""
    if not isinstance(a, torch.Tensor):
        a = torch.tensor(a, dtype=b.dtype)
    if not isinstance(b, torch.Tensor):
        b = torch.tensor(b, dtype=a.dtype)
    return a, b


Add.samples = staticmethod(lambda: _bin_samples(add, lambda torch, a, b: a + b))

Sub.samples = staticmethod(lambda: _bin_samples(sub, lambda torch, a, b: a - b))

Mul.samples = staticmethod(lambda: _bin_samples(mul, lambda torch, a, b: a * b))

Div.samples = staticmethod(lambda: _bin_samples(div, lambda torch, a, b: a / b, positive=True))

Pow.samples = staticmethod(
    lambda: (
        _bin_samples(pow, lambda torch, a, b: a**b, positive=True)
        + [Sample(((3, 4), Arg(2)), lambda torch, a, b: a**b, pow, name="int-exponent")]
    )
)

Neg.samples = staticmethod(lambda: [Sample(((3, 4),), lambda torch, a: -a, neg)])

Exp.samples = staticmethod(lambda: _unary_samples(exp, lambda torch, a: a.exp()))

Log.samples = staticmethod(lambda: _unary_samples(log, lambda torch, a: a.log(), positive=True))

Sqrt.samples = staticmethod(lambda: _unary_samples(sqrt, lambda torch, a: a.sqrt(), positive=True))

Abs.samples = staticmethod(lambda: _unary_samples(abs, lambda torch, a: a.abs()))

Tanh.samples = staticmethod(lambda: _unary_samples(tanh, lambda torch, a: a.tanh()))

Sigmoid.samples = staticmethod(lambda: _unary_samples(sigmoid, lambda torch, a: a.sigmoid()))

Masked.samples = staticmethod(
    lambda: [
        Sample(((3, 4),), lambda torch, a: torch.where(a > 0, a, 0.0),
               lambda a: masked(a, a > 0)),
        Sample(((2, 3, 5),), lambda torch, a: torch.where(a < 0.5, a, 0.0),
               lambda a: masked(a, a < 0.5), name="3d"),
    ]
)  # fmt: skip

Relu.samples = staticmethod(lambda: _unary_samples(relu, lambda torch, a: a.relu()))

LeakyRelu.samples = staticmethod(
    lambda: [
        Sample(((3, 4),), lambda torch, a: torch.nn.functional.leaky_relu(a, 0.01),
               leaky_relu),
        Sample(((3, 4), Arg(0.2)), lambda torch, a, s: torch.nn.functional.leaky_relu(a, s),
               leaky_relu, name="slope"),
    ]
)  # fmt: skip

Erf.samples = staticmethod(lambda: _unary_samples(erf, lambda torch, a: torch.erf(a)))

Gelu.samples = staticmethod(
    lambda: _unary_samples(gelu, lambda torch, a: torch.nn.functional.gelu(a))
    + [Sample(((3, 4),), lambda torch, a: torch.nn.functional.gelu(a, approximate="tanh"),
              lambda a: gelu(a, approximate="tanh"), name="tanh")]
)  # fmt: skip

Sin.samples = staticmethod(lambda: _unary_samples(sin, lambda torch, a: a.sin()))

Cos.samples = staticmethod(lambda: _unary_samples(cos, lambda torch, a: a.cos()))

Clamp.samples = staticmethod(
    lambda: [
        Sample(((3, 4), Arg(-0.5), Arg(0.5)), lambda torch, a, lo, hi: a.clamp(lo, hi), clamp),
        Sample(((3, 4), Arg(None), Arg(0.3)), lambda torch, a, lo, hi: a.clamp(lo, hi), clamp,
               name="max-only"),
        Sample(((3, 4), Arg(0.1)), lambda torch, a, lo: a.clamp(lo), clamp, name="min-only"),
    ]
)  # fmt: skip

Maximum.samples = staticmethod(
    lambda: _bin_samples(maximum, lambda torch, a, b: torch.maximum(*_torch_pair(torch, a, b)))
    + [Sample(((3, 4), (3, 4)), lambda torch, a, b: torch.maximum(a, a),
              lambda a, b: maximum(a, a), name="ties")]
)  # fmt: skip

Minimum.samples = staticmethod(
    lambda: _bin_samples(minimum, lambda torch, a, b: torch.minimum(*_torch_pair(torch, a, b)))
)

Fmod.samples = staticmethod(
    lambda: [
        Sample(((3, 4), Arg(0.3)), lambda torch, a, b: torch.fmod(a, b), fmod),
        Sample(((3, 4), Arg(-0.7)), lambda torch, a, b: torch.fmod(a, b), fmod, name="neg"),
        Sample(((3, 4), (4,)), lambda torch, a, b: torch.fmod(a, b + 0.5),
               lambda a, b: fmod(a, b + 0.5), name="tensors", positive=True),
    ]
)  # fmt: skip

Atan2.samples = staticmethod(
    lambda: [
        Sample(((3, 4), (3, 4)), lambda torch, a, b: torch.atan2(a, b), atan2),
        Sample(((2, 3, 4), (4,)), lambda torch, a, b: torch.atan2(a, b), atan2, name="bcast"),
        Sample(((3, 1), (1, 4)), lambda torch, a, b: torch.atan2(a - 0.5, b - 0.5),
               lambda a, b: atan2(a - 0.5, b - 0.5), name="quadrants"),
    ]
)  # fmt: skip

Where.samples = staticmethod(
    lambda: [
        Sample((Bool((3, 4)), (3, 4), (3, 4)), lambda torch, c, a, b: torch.where(c, a, b),
               where),
        Sample((Bool((3, 1)), (1, 4), (3, 4)), lambda torch, c, a, b: torch.where(c, a, b),
               where, name="broadcast"),
        Sample((Bool((2, 1, 4)), (3, 1), (4,)), lambda torch, c, a, b: torch.where(c, a, b),
               where, name="broadcast-all"),
    ]
)  # fmt: skip

Cast.samples = staticmethod(
    lambda: [
        Sample(((3, 4), Arg(dtypes.float32)), lambda torch, a, d: a.to(torch.float32), cast,
               atol=1e-6),
    ]
)  # fmt: skip


def _comparison_samples(fn, torch_fn):
    return [
        Sample(((3, 4), (3, 4)), torch_fn, fn, grad=False),
        Sample(((3, 4), Arg(0.1)), torch_fn, fn, grad=False, name="scalar"),
        Sample(((3, 1), (1, 4)), torch_fn, fn, grad=False, name="broadcast"),
    ]


Eq.samples = staticmethod(lambda: _comparison_samples(eq, lambda torch, a, b: a == b))
Ne.samples = staticmethod(lambda: _comparison_samples(ne, lambda torch, a, b: a != b))
Lt.samples = staticmethod(lambda: _comparison_samples(lt, lambda torch, a, b: a < b))
Le.samples = staticmethod(lambda: _comparison_samples(le, lambda torch, a, b: a <= b))
Gt.samples = staticmethod(lambda: _comparison_samples(gt, lambda torch, a, b: a > b))
Ge.samples = staticmethod(lambda: _comparison_samples(ge, lambda torch, a, b: a >= b))


def _logic_samples(fn, arity):
    """On bool tensors (x > 0) and on the floats themselves (read as nonzero)."""
    name = fn.__name__
    return [
        Sample(((3, 4),) * arity, lambda torch, *a: getattr(torch, name)(*(t > 0 for t in a)),
               lambda *a: fn(*(t > 0 for t in a)), grad=False),
        Sample(((3, 4),) * arity, lambda torch, *a: getattr(torch, name)(*a), fn, grad=False,
               name="floats"),
    ]  # fmt: skip


LogicalNot.samples = staticmethod(lambda: _logic_samples(logical_not, 1))
LogicalAnd.samples = staticmethod(lambda: _logic_samples(logical_and, 2))
LogicalOr.samples = staticmethod(lambda: _logic_samples(logical_or, 2))
LogicalXor.samples = staticmethod(lambda: _logic_samples(logical_xor, 2))


Log1p.samples = staticmethod(lambda: _unary_samples(log1p, lambda torch, a: a.log1p(), True))


Expm1.samples = staticmethod(lambda: _unary_samples(expm1, lambda torch, a: a.expm1()))


Log2.samples = staticmethod(lambda: _unary_samples(log2, lambda torch, a: a.log2(), True))


Log10.samples = staticmethod(lambda: _unary_samples(log10, lambda torch, a: a.log10(), True))


Reciprocal.samples = staticmethod(
    lambda: _unary_samples(reciprocal, lambda torch, a: a.reciprocal(), True)
)


Rsqrt.samples = staticmethod(lambda: _unary_samples(rsqrt, lambda torch, a: a.rsqrt(), True))


Tan.samples = staticmethod(lambda: _unary_samples(tan, lambda torch, a: a.tan()))


Atan.samples = staticmethod(lambda: _unary_samples(atan, lambda torch, a: a.atan()))


Sign.samples = staticmethod(lambda: _unary_samples(sign, lambda torch, a: a.sign()))


Floor.samples = staticmethod(lambda: _unary_samples(floor, lambda torch, a: a.floor()))


Ceil.samples = staticmethod(lambda: _unary_samples(ceil, lambda torch, a: a.ceil()))


Trunc.samples = staticmethod(lambda: _unary_samples(trunc, lambda torch, a: a.trunc()))


Round.samples = staticmethod(
    lambda: [
        Sample(((3, 4), Arg(0)), lambda torch, a, d: a.round(decimals=d), round),
        Sample(((3, 4), Arg(2)), lambda torch, a, d: a.round(decimals=d), round, name="2"),
    ]
)


Remainder.samples = staticmethod(
    lambda: [
        Sample(((3, 4), Arg(0.3)), lambda torch, a, b: torch.remainder(a, b), remainder),
        Sample(((3, 4), (3, 4)), lambda torch, a, b: torch.remainder(a, b + 0.5),
               lambda a, b: remainder(a, b + 0.5), name="tensors", positive=True),
    ]
)  # fmt: skip


Isnan.samples = staticmethod(lambda: _special_samples(isnan))


Isinf.samples = staticmethod(lambda: _special_samples(isinf))


Isfinite.samples = staticmethod(lambda: _special_samples(isfinite))


NanToNum.samples = staticmethod(
    lambda: [Sample(((3, 4),), lambda torch, a: torch.nan_to_num(a), nan_to_num),
             Sample(((3, 4), Arg(1.0), Arg(2.0), Arg(-2.0)),
                    lambda torch, a, n, p, m: torch.nan_to_num(a, n, p, m), nan_to_num,
                    name="values")]
)  # fmt: skip
