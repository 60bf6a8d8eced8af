"""Elementwise ops: arithmetic, math, activations, comparisons, where, casts.

Each Function's docstring is its math: forward, then the gradient of each input
(binary ops undo broadcasting with `unbroadcast`).
"""

from __future__ import annotations

import math

from .. import dtypes
from ..autograd.function import Function
from ..tensor import Tensor, tensor
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
    ref = next(v for v in operands if isinstance(v, Tensor))
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
            v = const(ref, ref.device.xp.asarray(v, dtype=dt.np))
        elif v.data.dtype != dt.np:
            v = cast(v, dt)
        out.append(v)
    return out


def _binary(fn_cls, op: str, a, b):
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.data.dtype == b.data.dtype:
        pass  # the common case: nothing to promote
    elif isinstance(a, Tensor) and type(b) in _SCALARS and a.data.dtype.kind == "f":
        b = const(a, a.device.xp.asarray(b, dtype=a.data.dtype))  # 2.0 never upcasts a float
    elif isinstance(b, Tensor) and type(a) in _SCALARS and b.data.dtype.kind == "f":
        a = const(b, b.device.xp.asarray(a, dtype=b.data.dtype))
    else:
        a, b = _prepare(op, a, b)
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
    return x if x.dtype.is_floating_point else cast(x, dtypes.get_default_dtype())


_BIN = [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((4,), (2, 3, 4)), ((2, 3, 4), (3, 1)), ((3, 4), ())]


def _bin_samples(fn, torch_fn, positive=False):
    s = [Sample(shapes, torch_fn, fn, positive=positive, name=str(shapes)) for shapes in _BIN]
    s.append(Sample(((3, 4), Arg(2.5)), torch_fn, fn, positive=positive, name="scalar-right"))
    s.append(Sample((Arg(1.5), (3, 4)), torch_fn, fn, positive=positive, name="scalar-left"))
    return s


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

    samples = staticmethod(lambda: _bin_samples(add, lambda torch, a, b: a + b))


def add(x, y, alpha=1):
    """x + alpha * y, broadcasting."""
    return _binary(Add, "add", x, y if alpha == 1 else mul(y, alpha))


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

    samples = staticmethod(lambda: _bin_samples(sub, lambda torch, a, b: a - b))


def sub(x, y, alpha=1):
    """x - alpha * y, broadcasting. Like torch, bool tensors cannot be subtracted (use ^)."""
    if any(isinstance(v, Tensor) and v.data.dtype == bool for v in (x, y)):
        kinds = [str(v.dtype) if isinstance(v, Tensor) else type(v).__name__ for v in (x, y)]
        raise TypeError(f"sub: cannot subtract with a bool tensor ({kinds[0]} - {kinds[1]}); "
                        "use ^ for logical xor")  # fmt: skip
    return _binary(Sub, "sub", x, y if alpha == 1 else mul(y, alpha))


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

    samples = staticmethod(lambda: _bin_samples(mul, lambda torch, a, b: a * b))


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

    samples = staticmethod(lambda: _bin_samples(div, lambda torch, a, b: a / b, positive=True))


def div(x, y):
    """x / y (true division: integer inputs give floats), broadcasting."""
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

    samples = staticmethod(
        lambda: (
            _bin_samples(pow, lambda torch, a, b: a**b, positive=True)
            + [Sample(((3, 4), Arg(2)), lambda torch, a, b: a**b, pow, name="int-exponent")]
        )
    )


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

    samples = staticmethod(lambda: [Sample(((3, 4),), lambda torch, a: -a, neg)])


def neg(x):
    return Neg.apply(x)


# ----- unary math ---------------------------------------------------------------------------


def _unary_samples(fn, torch_fn, positive=False):
    return [
        Sample(((3, 4),), torch_fn, fn, positive=positive),
        Sample(((2, 3, 5),), torch_fn, fn, positive=positive),
        Sample(((),), torch_fn, fn, positive=positive, name="0-d"),
    ]


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

    samples = staticmethod(lambda: _unary_samples(exp, lambda torch, a: a.exp()))


def exp(x):
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

    samples = staticmethod(lambda: _unary_samples(log, lambda torch, a: a.log(), positive=True))


def log(x):
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

    samples = staticmethod(lambda: _unary_samples(sqrt, lambda torch, a: a.sqrt(), positive=True))


def sqrt(x):
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

    samples = staticmethod(lambda: _unary_samples(abs, lambda torch, a: a.abs()))


def abs(x):
    return Abs.apply(x)


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

    samples = staticmethod(lambda: _unary_samples(tanh, lambda torch, a: a.tanh()))


def tanh(x):
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

    samples = staticmethod(lambda: _unary_samples(sigmoid, lambda torch, a: a.sigmoid()))


def sigmoid(x):
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

    samples = staticmethod(
        lambda: [
            Sample(((3, 4),), lambda torch, a: torch.where(a > 0, a, 0.0),
                   lambda a: masked(a, a > 0)),
            Sample(((2, 3, 5),), lambda torch, a: torch.where(a < 0.5, a, 0.0),
                   lambda a: masked(a, a < 0.5), name="3d"),
        ]
    )  # fmt: skip


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
        y = ctx.device.xp.maximum(x, 0)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return Masked.apply(grad, y.data > 0)

    samples = staticmethod(lambda: _unary_samples(relu, lambda torch, a: a.relu()))


def relu(x):
    return Relu.apply(x)


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

    samples = staticmethod(
        lambda: [
            Sample(((3, 4),), lambda torch, a: torch.nn.functional.leaky_relu(a, 0.01),
                   leaky_relu),
            Sample(((3, 4), Arg(0.2)), lambda torch, a, s: torch.nn.functional.leaky_relu(a, s),
                   leaky_relu, name="slope"),
        ]
    )  # fmt: skip


def leaky_relu(x, negative_slope=0.01):
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

    samples = staticmethod(lambda: _unary_samples(erf, lambda torch, a: torch.erf(a)))


def erf(x):
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

    samples = staticmethod(
        lambda: _unary_samples(gelu, lambda torch, a: torch.nn.functional.gelu(a))
        + [Sample(((3, 4),), lambda torch, a: torch.nn.functional.gelu(a, approximate="tanh"),
                  lambda a: gelu(a, approximate="tanh"), name="tanh")]
    )  # fmt: skip


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

    samples = staticmethod(lambda: _unary_samples(sin, lambda torch, a: a.sin()))


def sin(x):
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

    samples = staticmethod(lambda: _unary_samples(cos, lambda torch, a: a.cos()))


def cos(x):
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

    samples = staticmethod(
        lambda: [
            Sample(((3, 4), Arg(-0.5), Arg(0.5)), lambda torch, a, lo, hi: a.clamp(lo, hi), clamp),
            Sample(((3, 4), Arg(None), Arg(0.3)), lambda torch, a, lo, hi: a.clamp(lo, hi), clamp,
                   name="max-only"),
            Sample(((3, 4), Arg(0.1)), lambda torch, a, lo: a.clamp(lo), clamp, name="min-only"),
        ]
    )  # fmt: skip


def clamp(x, min=None, max=None):
    """Limit x to [min, max]; either bound may be None."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
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

    samples = staticmethod(
        lambda: _bin_samples(maximum, lambda torch, a, b: torch.maximum(*_torch_pair(torch, a, b)))
        + [Sample(((3, 4), (3, 4)), lambda torch, a, b: torch.maximum(a, a),
                  lambda a, b: maximum(a, a), name="ties")]
    )  # fmt: skip


def _torch_pair(torch, a, b):
    """torch.maximum/minimum take no Python scalars: make one a 0-d tensor of the other's dtype."""
    if not isinstance(a, torch.Tensor):
        a = torch.tensor(a, dtype=b.dtype)
    if not isinstance(b, torch.Tensor):
        b = torch.tensor(b, dtype=a.dtype)
    return a, b


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

    samples = staticmethod(
        lambda: _bin_samples(minimum, lambda torch, a, b: torch.minimum(*_torch_pair(torch, a, b)))
    )


def minimum(x, y):
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

    samples = staticmethod(
        lambda: [
            Sample((Bool((3, 4)), (3, 4), (3, 4)), lambda torch, c, a, b: torch.where(c, a, b),
                   where),
            Sample((Bool((3, 1)), (1, 4), (3, 4)), lambda torch, c, a, b: torch.where(c, a, b),
                   where, name="broadcast"),
            Sample((Bool((2, 1, 4)), (3, 1), (4,)), lambda torch, c, a, b: torch.where(c, a, b),
                   where, name="broadcast-all"),
        ]
    )  # fmt: skip


def where(condition, x, y):
    """x where condition else y, broadcasting all three."""
    if not isinstance(condition, Tensor) or condition.dtype is not dtypes.bool_:
        raise TypeError(
            "where: condition must be a bool tensor, got "
            + (str(condition.dtype) if isinstance(condition, Tensor) else type(condition).__name__)
        )
    x, y = _prepare("where", x, y) if isinstance(x, Tensor) or isinstance(y, Tensor) else (x, y)
    return Where.apply(condition, x, y)


def masked_fill(x, mask, value):
    """x with `value` wherever `mask` is True."""
    return where(mask, const(x, x.device.xp.asarray(value, dtype=x.data.dtype)), x)


# ----- comparisons and logic (no gradient) ------------------------------------------------


def _comparison(name, fn):
    cls = type(
        name,
        (Function,),
        {
            "__doc__": f"z = {name.lower()}(x, y), a bool tensor; no gradient",
            "differentiable": False,
            "forward": staticmethod(lambda ctx, x, y: fn(x, y)),
            "samples": staticmethod(
                lambda: [Sample(((3, 4), (3, 4)), lambda torch, a, b: fn(a, b), _public[name],
                                grad=False),
                         Sample(((3, 4), Arg(0.1)), lambda torch, a, b: fn(a, b), _public[name],
                                grad=False, name="scalar"),
                         Sample(((3, 1), (1, 4)), lambda torch, a, b: fn(a, b), _public[name],
                                grad=False, name="broadcast")]
            ),
        },
    )  # fmt: skip
    register(cls)

    def public(x, y):
        if not isinstance(x, Tensor) and not isinstance(y, Tensor):
            raise TypeError(f"{name.lower()}: needs at least one tensor")
        if isinstance(y, Tensor) and not isinstance(x, Tensor):
            x, y = _prepare(name.lower(), x, y)
        else:
            x, y = _prepare(name.lower(), x, y)
        return cls.apply(x, y)

    public.__name__ = name.lower()
    _public[name] = public
    return public


_public: dict = {}
eq = _comparison("Eq", lambda a, b: a == b)
ne = _comparison("Ne", lambda a, b: a != b)
lt = _comparison("Lt", lambda a, b: a < b)
le = _comparison("Le", lambda a, b: a <= b)
gt = _comparison("Gt", lambda a, b: a > b)
ge = _comparison("Ge", lambda a, b: a >= b)


def _logic(name, fn, arity):
    """logical_not/and/or/xor: inputs read as bools (nonzero is True), a bool result, no grad."""
    lname = name.lower()

    def _torch_logic(torch, *a):
        return getattr(torch, lname)(*(t > 0 for t in a))

    cls = type(
        name,
        (Function,),
        {
            "__doc__": f"z = {lname}(x{', y' * (arity - 1)}), a bool tensor; no gradient",
            "differentiable": False,
            "forward": staticmethod(lambda ctx, *xs: fn(*(x.astype(bool) for x in xs))),
            "samples": staticmethod(
                lambda: [Sample(((3, 4),) * arity, lambda torch, *a: _torch_logic(torch, *a),
                                lambda *a: _public[name](*(t > 0 for t in a)), grad=False),
                         Sample(((3, 4),) * arity, lambda torch, *a: getattr(torch, lname)(*a),
                                _public[name], grad=False, name="floats")]
            ),
        },
    )  # fmt: skip
    register(cls)

    def public(*xs):
        if arity == 2:
            xs = _prepare(lname, *xs)
        return cls.apply(*xs)

    public.__name__ = lname
    _public[name] = public
    return public


logical_not = _logic("Logical_not", lambda a: ~a, 1)
logical_and = _logic("Logical_and", lambda a, b: a & b, 2)
logical_or = _logic("Logical_or", lambda a, b: a | b, 2)
logical_xor = _logic("Logical_xor", lambda a, b: a ^ b, 2)


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

    samples = staticmethod(
        lambda: [
            Sample(((3, 4), Arg(dtypes.float32)), lambda torch, a, d: a.to(torch.float32), cast,
                   atol=1e-6),
        ]
    )  # fmt: skip


def cast(x, dtype):
    """x converted to `dtype`; differentiable between float dtypes."""
    dtype = dtypes.as_dtype(dtype)
    if x.data.dtype == dtype.np:
        return x
    if x.requires_grad and not dtype.is_floating_point:
        return Cast.apply(x.detach(), dtype)
    return Cast.apply(x, dtype)
