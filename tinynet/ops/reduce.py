"""Reductions (sum, mean, var, max, min, logsumexp, argmax) and softmax / log_softmax."""

from __future__ import annotations

from collections import namedtuple

from .. import dtypes
from ..autograd.function import Function
from ..tensor import Tensor
from ._args import _dims, _tensor
from .elementwise import cast, const, exp
from .registry import Arg, Sample, register

__all__ = [
    "sum", "mean", "var", "std", "max", "min", "amax", "amin", "argmax", "argmin", "logsumexp",
    "softmax", "log_softmax",
]  # fmt: skip

MaxResult = namedtuple("MaxResult", ["values", "indices"])


def _nonempty(op: str, x, dims) -> None:
    """max/min/argmax of nothing has no value: refuse as torch does, naming the op."""
    if _tensor(op, x).data.size:
        return
    if dims is None:
        raise RuntimeError(
            f"{op}: the input of shape {tuple(x.shape)} has no elements; specify the reduction "
            "dim with the 'dim' argument (a reduction over an empty dim has no value)"
        )
    for d in dims:
        if x.shape[d] == 0:
            raise IndexError(
                f"{op}: expected reduction dim {d} to have non-zero size, input {tuple(x.shape)}"
            )


def _kept_shape(shape, dims) -> tuple:
    """The shape of a reduction over `dims` with keepdim=True."""
    if dims is None:
        return (1,) * len(shape)
    return tuple(1 if i in dims else n for i, n in enumerate(shape))


def _count(shape, dims) -> int:
    n = 1
    for i, s in enumerate(shape):
        if dims is None or i in dims:
            n *= s
    return n


def _grow(grad, x_shape, dims, keepdim):
    """Reshape a reduced gradient back to keepdim form and broadcast it over x."""
    if not keepdim:
        grad = grad.reshape(_kept_shape(x_shape, dims))
    return grad.expand(x_shape)


_RED = [
    ((3, 4), {}),
    ((3, 4), {"dim": 1}),
    ((2, 3, 4), {"dim": (0, 2), "keepdim": True}),
    ((2, 3, 4), {"dim": -1}),
    ((5,), {"dim": 0}),
]


def _red_samples(fn, torch_fn, cases=_RED):
    return [Sample((s,), torch_fn, fn, kwargs=kw, name=f"{s}{kw}") for s, kw in cases]


@register
class Sum(Function):
    """y = x.sum(dims)
    dx = grad broadcast back over the summed dims
    """

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.x_shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        return x.sum(axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        return _grow(grad, ctx.x_shape, ctx.dims, ctx.keepdim), None, None

    samples = staticmethod(
        lambda: _red_samples(
            sum, lambda torch, a, dim=None, keepdim=False: a.sum() if dim is None
            else a.sum(dim, keepdim=keepdim)
        )
    )  # fmt: skip


def sum(x, dim=None, keepdim=False, dtype=None):
    """Sum over `dim` (an int, a tuple, or None for all)."""
    _tensor("sum", x)
    if dtype is not None:
        x = cast(x, dtype)
    elif not x.dtype.is_floating_point:  # ints and bools sum to int64, as torch
        x = cast(x, dtypes.int64)
    return Sum.apply(x, _dims("sum", x, dim), bool(keepdim))


@register
class Mean(Function):
    """y = x.sum(dims) / n
    dx = grad / n broadcast back over the reduced dims
    """

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.x_shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        ctx.n = _count(x.shape, dims)
        if ctx.n == 0:  # the mean of nothing is NaN, as torch (without NumPy's warning)
            return x.sum(axis=dims, keepdims=keepdim) * float("nan")
        return x.mean(axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        g = grad / ctx.n if ctx.n else grad * float("nan")  # n = 0: x is empty anyway
        return _grow(g, ctx.x_shape, ctx.dims, ctx.keepdim), None, None

    samples = staticmethod(
        lambda: _red_samples(
            mean, lambda torch, a, dim=None, keepdim=False: a.mean() if dim is None
            else a.mean(dim, keepdim=keepdim)
        )
    )  # fmt: skip


def mean(x, dim=None, keepdim=False):
    """Mean over `dim` (an int, a tuple, or None for all); floating tensors only."""
    _tensor("mean", x)
    if not x.dtype.is_floating_point:
        raise TypeError(f"mean: needs a floating point tensor, got {x.dtype}; use .float()")
    return Mean.apply(x, _dims("mean", x, dim), bool(keepdim))


@register
class Var(Function):
    """y = ((x - x.mean(dims))**2).sum(dims) / (n - correction)
    dx = grad * 2 * (x - x.mean(dims)) / (n - correction)
    """

    @staticmethod
    def forward(ctx, x, dims, keepdim, correction):
        ctx.save_for_backward(x)
        ctx.dims, ctx.keepdim = dims, keepdim
        ctx.denom = _count(x.shape, dims) - correction
        return x.var(axis=dims, keepdims=keepdim, ddof=correction)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        centred = x - x.mean(ctx.dims, keepdim=True)
        g = _grow(grad, x.shape, ctx.dims, ctx.keepdim)
        # n <= correction: 0/0 in forward, so NaN here as torch (not a ZeroDivisionError)
        factor = 2.0 / ctx.denom if ctx.denom else float("nan")
        return g * centred * factor, None, None, None

    samples = staticmethod(
        lambda: _red_samples(
            var, lambda torch, a, dim=None, keepdim=False, unbiased=True:
            torch.var(a, dim=dim, keepdim=keepdim, unbiased=unbiased)
        ) + [Sample(((4, 5),), lambda torch, a, **k: torch.var(a, 1, unbiased=False),
                    var, kwargs={"dim": 1, "unbiased": False}, name="biased")]
    )  # fmt: skip


def var(x, dim=None, unbiased=True, keepdim=False, correction=None):
    """Variance over `dim`; unbiased (divides by n - 1) by default, as torch."""
    if correction is None:
        correction = 1 if unbiased else 0
    _tensor("var", x)
    return Var.apply(x, _dims("var", x, dim), bool(keepdim), correction)


def std(x, dim=None, unbiased=True, keepdim=False):
    """Standard deviation: sqrt(var)."""
    _tensor("std", x)
    return var(x, dim, unbiased, keepdim).sqrt()


@register
class Amax(Function):
    """y = x.max(dims)
    dx = grad * (x == y) / count(x == y)   (ties share the gradient evenly, as torch's amax)
    """

    @staticmethod
    def forward(ctx, x, dims, keepdim, largest):
        y = x.max(axis=dims, keepdims=True) if largest else x.min(axis=dims, keepdims=True)
        ctx.save_for_backward(x)
        ctx.y = y
        ctx.dims, ctx.keepdim = dims, keepdim
        return (
            y
            if keepdim
            else y.reshape([n for i, n in enumerate(y.shape) if dims is not None and i not in dims])
        )

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        hit = (x.data == ctx.y).astype(x.data.dtype)
        hit /= hit.sum(axis=ctx.dims, keepdims=True)
        return _grow(grad, x.shape, ctx.dims, ctx.keepdim) * const(x, hit), None, None, None

    samples = staticmethod(
        lambda: _red_samples(amax, lambda torch, a, dim=None, keepdim=False: torch.amax(
            a, dim=() if dim is None else dim, keepdim=keepdim))
    )  # fmt: skip


def amax(x, dim=None, keepdim=False):
    """Maximum over `dim`; the gradient is shared evenly among tied maxima."""
    dims = _dims("amax", x, dim)
    _nonempty("amax", x, dims)
    return Amax.apply(x, dims, bool(keepdim), True)


def amin(x, dim=None, keepdim=False):
    """Minimum over `dim`; the gradient is shared evenly among tied minima."""
    dims = _dims("amin", x, dim)
    _nonempty("amin", x, dims)
    return Amax.apply(x, dims, bool(keepdim), False)


@register
class MaxDim(Function):
    """y = x.max(dim) with indices i = x.argmax(dim)
    dx = grad scattered to position i along dim (the index returned, as torch)
    """

    @staticmethod
    def forward(ctx, x, dim, keepdim, largest):
        xp = ctx.device.xp
        idx = (xp.argmax if largest else xp.argmin)(x, axis=dim)
        idx = xp.expand_dims(idx, dim)
        ctx.idx, ctx.dim, ctx.keepdim, ctx.x_shape = idx, dim, keepdim, x.shape
        y = xp.take_along_axis(x, idx, axis=dim)
        return y if keepdim else xp.squeeze(y, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        if not ctx.keepdim:
            grad = grad.unsqueeze(ctx.dim)
        xp = grad.device.xp
        hit = (
            xp.arange(ctx.x_shape[ctx.dim]).reshape(
                [-1 if i == ctx.dim else 1 for i in range(len(ctx.x_shape))]
            )
            == ctx.idx
        )
        return grad.expand(ctx.x_shape) * const(grad, hit.astype(grad.data.dtype)), None, None, None

    samples = staticmethod(
        lambda: [
            Sample(((3, 4),), lambda torch, a: a.max(1).values, lambda a: max(a, 1).values),
            Sample(((3, 4),), lambda torch, a: a.min(0, keepdim=True).values,
                   lambda a: min(a, 0, keepdim=True).values, name="min"),
        ]
    )  # fmt: skip


def _extreme(op, x, dim, keepdim, largest):
    if dim is None:
        _nonempty(op, x, None)
        return Amax.apply(x, None, False, largest)
    (d,) = _dims(op, x, dim) or (0,)
    _nonempty(op, x, (d,))
    if x.ndim == 0:
        return MaxResult(x, const(x, x.device.xp.zeros((), dtype="int64")))
    values = MaxDim.apply(x, d, bool(keepdim), largest)
    xp = x.device.xp
    idx = (xp.argmax if largest else xp.argmin)(x.data, axis=d)
    if keepdim:
        idx = xp.expand_dims(idx, d)
    return MaxResult(values, const(x, idx.astype("int64")))


def max(x, dim=None, keepdim=False):
    """The maximum; with `dim`, a (values, indices) pair as torch.max returns.

    Full reduction shares the gradient among ties; along `dim` it goes to the
    returned index.
    """
    if isinstance(dim, Tensor):  # torch.max(a, b) is the elementwise maximum
        from .elementwise import maximum

        return maximum(x, dim)
    return _extreme("max", x, dim, keepdim, True)


def min(x, dim=None, keepdim=False):
    """The minimum; with `dim`, a (values, indices) pair as torch.min returns."""
    if isinstance(dim, Tensor):
        from .elementwise import minimum

        return minimum(x, dim)
    return _extreme("min", x, dim, keepdim, False)


class _ArgExtreme(Function):
    """i = argmax(x, dim); no gradient"""

    differentiable = False

    @staticmethod
    def forward(ctx, x, dim, keepdim, largest):
        xp = ctx.device.xp
        fn = xp.argmax if largest else xp.argmin
        if dim is None:
            i = fn(x.reshape(-1))
            return xp.asarray(i, dtype="int64").reshape((1,) * x.ndim if keepdim else ())
        i = fn(x, axis=dim).astype("int64")
        return xp.expand_dims(i, dim) if keepdim else i


def argmax(x, dim=None, keepdim=False):
    """Index of the maximum (the first one among ties), over all elements or along `dim`."""
    d = None if dim is None else _dims("argmax", x, dim)[0]
    _nonempty("argmax", x, None if d is None else (d,))
    return _ArgExtreme.apply(x, d, bool(keepdim), True)


def argmin(x, dim=None, keepdim=False):
    """Index of the minimum (the first one among ties), over all elements or along `dim`."""
    d = None if dim is None else _dims("argmin", x, dim)[0]
    _nonempty("argmin", x, None if d is None else (d,))
    return _ArgExtreme.apply(x, d, bool(keepdim), False)


@register
class Logsumexp(Function):
    """y = m + log(sum(exp(x - m))),  m = max(x)   (no overflow)
    dx = grad * exp(x - y)
    """

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        xp = ctx.device.xp
        if _count(x.shape, dims) == 0:  # the log of an empty sum: -inf, as torch
            m = xp.zeros(_kept_shape(x.shape, dims), x.dtype)
            ctx.save_for_backward(x)
            ctx.y, ctx.dims, ctx.keepdim = m - xp.inf, dims, keepdim
            return ctx.y if keepdim else ctx.y.reshape(
                [n for i, n in enumerate(ctx.y.shape) if i not in dims])  # fmt: skip
        m = x.max(axis=dims, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        y = xp.log(xp.exp(x - m).sum(axis=dims, keepdims=True)) + m
        ctx.save_for_backward(x)
        ctx.y, ctx.dims, ctx.keepdim = y, dims, keepdim
        return y if keepdim else y.reshape([n for i, n in enumerate(y.shape) if i not in dims])

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        y = logsumexp(x, ctx.dims, keepdim=True)  # differentiable, for double backward
        return _grow(grad, x.shape, ctx.dims, ctx.keepdim) * exp(x - y), None, None

    samples = staticmethod(
        lambda: [
            Sample(((3, 4), Arg(1)), lambda torch, a, d: torch.logsumexp(a, d), logsumexp),
            Sample(((2, 3, 4), Arg((0, 2)), Arg(True)),
                   lambda torch, a, d, k: torch.logsumexp(a, d, k), logsumexp, name="multi"),
        ]
    )  # fmt: skip


def logsumexp(x, dim, keepdim=False):
    """log(sum(exp(x))) over `dim`, computed without overflow."""
    return Logsumexp.apply(x, _dims("logsumexp", x, dim) or (), bool(keepdim))


@register
class Softmax(Function):
    """y = exp(x - max) / sum(exp(x - max))
    dx = y * (grad - sum(grad * y))
    """

    @staticmethod
    def forward(ctx, x, dim):
        xp = ctx.device.xp
        e = xp.exp(x - x.max(axis=dim, keepdims=True))
        y = e / e.sum(axis=dim, keepdims=True)
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return y * (grad - (grad * y).sum(ctx.dim, keepdim=True)), None

    samples = staticmethod(
        lambda: [
            Sample(((3, 4), Arg(1)), lambda torch, a, d: a.softmax(d), softmax),
            Sample(((2, 3, 4), Arg(0)), lambda torch, a, d: a.softmax(d), softmax, name="dim0"),
        ]
    )  # fmt: skip


def softmax(x, dim):
    """exp(x) / sum(exp(x)) along `dim`, stable at any logit size."""
    (d,) = _dims("softmax", x, dim) or (0,)
    if x.data.size == 0:  # nothing to normalise: an empty result of the same shape
        return x * 1
    return Softmax.apply(x, d)


@register
class LogSoftmax(Function):
    """y = x - logsumexp(x)
    dx = grad - exp(y) * sum(grad)
    """

    @staticmethod
    def forward(ctx, x, dim):
        xp = ctx.device.xp
        s = x - x.max(axis=dim, keepdims=True)
        y = s - xp.log(xp.exp(s).sum(axis=dim, keepdims=True))
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad - exp(y) * grad.sum(ctx.dim, keepdim=True), None

    samples = staticmethod(
        lambda: [
            Sample(((3, 4), Arg(1)), lambda torch, a, d: a.log_softmax(d), log_softmax),
            Sample(((2, 3, 4), Arg(-1)), lambda torch, a, d: a.log_softmax(d), log_softmax,
                   name="last"),
        ]
    )  # fmt: skip


def log_softmax(x, dim):
    """log(softmax(x)) along `dim`, computed directly (stable, no log of 0)."""
    (d,) = _dims("log_softmax", x, dim) or (0,)
    if x.data.size == 0:
        return x * 1
    return LogSoftmax.apply(x, d)


# ----- all / any (porting helper): bool reductions, tensors as torch returns them ----------


def _bool_reduce(op: str, fn_name: str, x, dim, keepdim):
    _tensor(op, x)
    dims = _dims(op, x, dim)
    fn = getattr(x.device.xp, fn_name)
    out = fn(x.data.astype(bool, copy=False), axis=dims, keepdims=keepdim)
    return const(x, x.device.xp.asarray(out))


def all(x, dim=None, keepdim=False):
    """Whether every element (along `dim`) is nonzero: a bool tensor, as torch."""
    return _bool_reduce("all", "all", x, dim, keepdim)


def any(x, dim=None, keepdim=False):
    """Whether any element (along `dim`) is nonzero: a bool tensor, as torch."""
    return _bool_reduce("any", "any", x, dim, keepdim)


__all__ += ["all", "any"]


@register
class Prod(Function):
    """y = x.prod(dims)
    dx = grad * y / x where x != 0; at a slice's only zero, grad * prod(others); else 0
    """

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.save_for_backward(x)
        ctx.dims, ctx.keepdim = dims, keepdim
        return x.prod(axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        from .elementwise import where

        (x,) = ctx.saved_tensors
        xp = ctx.device.xp
        zero = x.data == 0
        one = const(x, xp.ones((), dtype=x.data.dtype))
        nz = where(const(x, zero), one, x)  # x with its zeros as ones
        others = Prod.apply(nz, ctx.dims, True)  # the product of the nonzero elements
        n_zero = zero.sum(axis=ctx.dims, keepdims=True)
        g = _grow(grad, x.shape, ctx.dims, ctx.keepdim)
        # no zero in the slice: y / x = others / x; one zero: others at it, 0 elsewhere
        no_zero = xp.broadcast_to(n_zero == 0, x.shape)
        at_only_zero = zero & (n_zero == 1)
        factor = where(const(x, no_zero), others / nz, where(const(x, at_only_zero),
                       others.expand(x.shape), one * 0))  # fmt: skip
        return g * factor, None, None

    samples = staticmethod(
        lambda: [
            Sample(((3, 4), Arg(None)), lambda torch, a, d: a.prod(), prod),
            Sample(((3, 4), Arg(1)), lambda torch, a, d: a.prod(d), prod, name="dim"),
            Sample(((2, 3, 4), Arg(-1), Arg(True)), lambda torch, a, d, k: a.prod(d, keepdim=k),
                   prod, name="keepdim"),
            Sample(((3, 4), Arg(0)), lambda torch, a, d: (a * (a > 0.3)).prod(d),
                   lambda a, d: prod(a * (a > 0.3), d), name="zeros"),
        ]
    )  # fmt: skip


def prod(x, dim=None, keepdim=False, dtype=None):
    """The product over `dim` (an int, or None for all); ints and bools give int64, as torch."""
    _tensor("prod", x)
    if dtype is not None:
        x = cast(x, dtype)
    elif not x.dtype.is_floating_point:
        x = cast(x, dtypes.int64)
    if dim is not None and isinstance(dim, (tuple, list)):
        raise TypeError(f"prod: dim must be an int or None, got {dim!r}")
    return Prod.apply(x, _dims("prod", x, dim), bool(keepdim))


__all__ += ["prod"]
