"""Reductions (sum, mean, var, max, min, logsumexp, argmax) and softmax / log_softmax."""

from __future__ import annotations

import math
import warnings
from collections import namedtuple

from .. import dtypes
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor, tensor
from ._args import _dim, _dims, _tensor
from .elementwise import cast, const, exp, maximum, minimum, where
from .registry import Arg, Int, Sample, register

__all__ = [
    "sum", "mean", "var", "std", "max", "min", "amax", "amin", "argmax", "argmin", "logsumexp",
    "softmax", "log_softmax", "cumsum", "cumprod", "norm", "bincount", "count_nonzero",
    "median",
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


def _median_index(xp, a, axis):
    """Where the lower median of `a` lies along `axis` (kept as a size-1 dim): the element at
    rank (n - 1) // 2, or the first NaN where the slice holds one (torch's median is NaN
    there)."""
    n = a.shape[axis]
    idx = xp.take(xp.argsort(a, axis=axis), [(n - 1) // 2], axis=axis)
    if a.dtype.kind == "f":  # no `if nan.any()`: on a GPU that would wait for the device
        nan = xp.isnan(a)
        first = xp.expand_dims(xp.argmax(nan, axis=axis), axis)
        idx = xp.where(nan.any(axis=axis, keepdims=True), first, idx)
    return idx.astype("int64")


@register
class Median(Function):
    """y = the lower median of x (over all elements, or along dim), at index i
    dx = grad scattered to position i (the index returned, as torch)
    """

    @staticmethod
    def forward(ctx, x, idx, dim, keepdim):
        xp = ctx.device.xp
        flat = dim is None
        a = x.reshape(-1) if flat else x
        d = 0 if flat else dim
        ctx.idx, ctx.dim, ctx.keepdim, ctx.x_shape, ctx.flat = idx, d, keepdim, x.shape, flat
        y = xp.take_along_axis(a, idx, axis=d)
        return y.reshape(()) if flat else (y if keepdim else xp.squeeze(y, axis=d))

    @staticmethod
    def backward(ctx, grad):
        xp, shape = grad.device.xp, ctx.x_shape
        if ctx.flat:  # idx is (1,), into the flattened x
            hit = (xp.arange(math.prod(shape)) == ctx.idx).reshape(shape)
        else:
            if not ctx.keepdim:
                grad = grad.unsqueeze(ctx.dim)
            n = len(shape)
            hit = xp.arange(shape[ctx.dim]).reshape([-1 if i == ctx.dim else 1 for i in range(n)])
            hit = hit == ctx.idx
        return grad.expand(shape) * const(grad, hit.astype(grad.data.dtype)), None, None, None


def median(input, dim=None, keepdim=False):
    """The lower median, as torch.median: all elements' (0-d), or (values, indices) along dim.

    Of an even count, the smaller of the two middle values; NaN where the values hold one.
    The gradient goes to the element returned.

    Example:
        >>> tn.median(tn.tensor([3.0, 1.0, 4.0, 2.0]))  # tensor(2.)
    """
    op = "median"
    xp = _tensor(op, input).device.xp
    if dim is None:
        _nonempty(op, input, None)
        idx = _median_index(xp, input.data.reshape(-1), 0)
        return Median.apply(input, idx, None, False)
    (d,) = _dims(op, input, dim) or (0,)
    _nonempty(op, input, (d,))
    if input.ndim == 0:
        idx = xp.zeros(1, dtype="int64")
        return MaxResult(Median.apply(input, idx, None, False), const(input, idx.reshape(())))
    idx = _median_index(xp, input.data, d)
    values = Median.apply(input, idx, d, bool(keepdim))
    return MaxResult(values, const(input, idx if keepdim else xp.squeeze(idx, axis=d)))


def max(x, dim=None, keepdim=False):
    """The maximum; with `dim`, a (values, indices) pair as torch.max returns.

    Full reduction shares the gradient among ties; along `dim` it goes to the
    returned index.
    """
    if isinstance(dim, Tensor):  # torch.max(a, b) is the elementwise maximum
        return maximum(x, dim)
    return _extreme("max", x, dim, keepdim, True)


def min(x, dim=None, keepdim=False):
    """The minimum; with `dim`, a (values, indices) pair as torch.min returns."""
    if isinstance(dim, Tensor):
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


def logsumexp(x, dim, keepdim=False):
    """log(sum(exp(x))) over `dim`, computed without overflow."""
    return Logsumexp.apply(x, _dims("logsumexp", x, dim) or (), bool(keepdim))


# ----- scans -------------------------------------------------------------------------------


def _scan_input(op: str, x: Tensor, dtype) -> Tensor:
    if dtype is not None:
        return cast(x, dtype)
    if not x.dtype.is_floating_point:  # ints and bools scan in int64, as torch
        return cast(x, dtypes.int64)
    return x


def _scan(op: str, fn: type[Function], x: Tensor, dim: int, dtype) -> Tensor:
    """cumsum's and cumprod's shared front: the dtype rule, 0-d input as 1-d, dim checked."""
    x = _scan_input(op, x, dtype)
    d = _dim(op, dim, x.ndim or 1)  # a 0-d tensor takes dim 0 or -1, as torch
    if x.ndim == 0:
        return fn.apply(x.reshape(1), 0).reshape(())
    return fn.apply(x, d)


def _reverse_cumsum(t: Tensor, d: int) -> Tensor:
    """out[i] = t[i:].sum() along d."""
    return t.flip(d).cumsum(d).flip(d)


@register
class Cumsum(Function):
    """y = xp.cumsum(x, dim)
    dx = reverse cumsum of grad along dim   (dx[i] = grad[i:].sum())
    """

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return ctx.device.xp.cumsum(x, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        return _reverse_cumsum(grad, ctx.dim), None


def cumsum(x: Tensor, dim: int, dtype=None) -> Tensor:
    """Running sums along `dim`: y[i] = x[0] + ... + x[i]."""
    return _scan("cumsum", Cumsum, x, dim, dtype)


@register
class Cumprod(Function):
    """y = xp.cumprod(x, dim)
    dx[i] = sum(grad[j] * prod(x[k] for k <= j, k != i) for j >= i): revcumsum(grad * y) / x
            before the first zero, revcumsum(grad * cumprod(x with that zero as 1)) at it, 0 after
    """

    @staticmethod
    def forward(ctx, x, dim):
        y = ctx.device.xp.cumprod(x, axis=dim)
        ctx.save_for_backward(x, y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        d, xp = ctx.dim, x.device.xp
        if is_grad_enabled():  # create_graph: a form that is twice differentiable at 0 too
            return _cumprod_grad_smooth(x, grad, d), None
        zero = x.data == 0
        seen = xp.cumsum(zero, axis=d)  # zeros at or before each position
        before = const(x, seen == 0)  # positions before the first zero
        first = const(x, zero & (seen == 1))  # the first zero itself
        one = const(x, xp.ones((), dtype=x.data.dtype))
        nought = const(x, xp.zeros((), dtype=x.data.dtype))
        dx = _reverse_cumsum(grad * y, d) / where(before, x, one)
        at_zero = _reverse_cumsum(grad * where(first, one, x).cumprod(d), d)
        return where(before, dx, where(first, at_zero, nought)), None


def _cumprod_grad_smooth(x: Tensor, grad: Tensor, d: int) -> Tensor:
    """Cumprod's input gradient with no division and no mask that depends on x (so its own
    derivative is right where x holds zeros), at O(n**2) cost as torch's double backward:
    dx[i] = sum(grad[j] * cumprod(x with x[i] set to 1)[j] for j >= i), all i at once in a
    new leading dim."""
    xp, n, nd = x.device.xp, x.shape[d], x.ndim
    lay = (n,) + tuple(n if a == d else 1 for a in range(nd))  # i first, then x's dims
    eye = const(x, xp.eye(n, dtype=bool).reshape(lay))
    later = const(x, xp.triu(xp.ones((n, n), dtype=bool)).reshape(lay))  # j >= i
    one = const(x, xp.ones((), dtype=x.data.dtype))
    nought = const(x, xp.zeros((), dtype=x.data.dtype))
    omitted = where(eye, one, x.unsqueeze(0).expand((n,) + tuple(x.shape))).cumprod(d + 1)
    dx = where(later, omitted * grad.unsqueeze(0), nought).sum(d + 1)  # (i, dims but d)
    return dx.permute(*range(1, d + 1), 0, *range(d + 1, nd))


def cumprod(x: Tensor, dim: int, dtype=None) -> Tensor:
    """Running products along `dim`: y[i] = x[0] * ... * x[i] (the gradient is exact also
    where x holds zeros)."""
    return _scan("cumprod", Cumprod, x, dim, dtype)


# ----- norms ---------------------------------------------------------------------------------


@register
class Norm(Function):
    """y = sum(abs(x)**p)**(1/p) over dims   (p=inf: max(abs(x)), p=0: count of nonzeros)
    dx = grad * sign(x) * abs(x)**(p-1) / y**(p-1)   (0 where y == 0; p=inf: shared by ties)
    """

    @staticmethod
    def forward(ctx, x, p, dims, keepdim):
        xp = ctx.device.xp
        a = xp.abs(x)
        if p == math.inf:
            y = a.max(axis=dims, keepdims=keepdim)
        elif p == -math.inf:
            y = a.min(axis=dims, keepdims=keepdim)
        elif p == 0:
            y = (a != 0).sum(axis=dims, keepdims=keepdim).astype(x.dtype)
        elif p == 1:
            y = a.sum(axis=dims, keepdims=keepdim)
        elif p == 2:
            y = xp.sqrt((x * x).sum(axis=dims, keepdims=keepdim))
        else:
            y = (a**p).sum(axis=dims, keepdims=keepdim) ** (1.0 / p)
        y = xp.asarray(y)  # a full reduction gives a NumPy scalar: saved as the output, an array
        ctx.save_for_backward(x, y)
        ctx.p, ctx.dims, ctx.keepdim = p, dims, keepdim
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        p, dims, xp = ctx.p, ctx.dims, x.device.xp
        g = _grow(grad, x.shape, dims, ctx.keepdim)
        y = _grow(y, x.shape, dims, ctx.keepdim)
        sign = const(x, xp.sign(x.data))
        zero = const(x, xp.zeros((), dtype=x.data.dtype))
        if p == 0:
            return const(x, xp.zeros_like(x.data)), None, None, None
        if p == 1:
            return g * sign, None, None, None
        if abs(p) == math.inf:  # as amax: ties share the gradient evenly
            hit = (xp.abs(x.data) == y.data) | xp.isnan(x.data)
            hit = hit.astype(x.data.dtype)
            hit /= hit.sum(axis=dims, keepdims=True)
            return sign * g * const(x, hit), None, None, None
        y_is_0 = const(x, y.data == 0)
        y_safe = where(y_is_0, const(x, xp.ones((), dtype=x.data.dtype)), y)
        if p == 2:
            return x * where(y_is_0, zero, g / y_safe), None, None, None
        a = x.abs()
        if p < 1:  # abs(x)**(p-1) is infinite at 0: those entries get 0, as torch
            a_safe = where(const(x, x.data == 0), const(x, xp.ones((), x.data.dtype)), a)
            scaled = sign * where(const(x, x.data == 0), zero, a_safe ** (p - 1))
            return scaled * g * y ** (1 - p), None, None, None
        scaled = sign * a ** (p - 1) if p < 2 else x * a ** (p - 2)
        return scaled * where(y_is_0, zero, g / y_safe ** (p - 1)), None, None, None


def norm(x: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """The p-norm of x over `dim` (all entries by default), as torch.norm: p may be "fro"
    (the 2-norm of the entries), any number, inf or -inf (max / min of abs(x)), or 0 (the
    count of nonzeros). Matrix norms other than "fro" ("nuc") are not supported."""
    if dtype is not None:
        x = cast(x, dtype)
    if not x.dtype.is_floating_point:
        raise RuntimeError(
            f"norm: expects a floating point tensor, got {x.dtype}; convert it with .float()"
        )
    if isinstance(p, str):
        if p != "fro":
            raise RuntimeError(f"norm: p={p!r} is not supported; use 'fro' or a number")
        p = 2
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise TypeError(f"norm: p must be a number or 'fro', got {type(p).__name__}")
    dims = _dims("norm", x, dim)
    if dims == () and x.ndim:
        dims = None
    return Norm.apply(x, float(p), dims, bool(keepdim))


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


def _softmax_dim(op: str, x, dim) -> int:
    """softmax's dim as an axis: one int in range (None picks torch's legacy implicit dim, with
    its warning); the input must be floating point, as torch's kernels require."""
    _tensor(op, x)
    if not x.dtype.is_floating_point:
        raise TypeError(
            f"{op}: input must be a floating point tensor, got {x.dtype.name}; convert it "
            "with .float()"
        )
    if dim is None:
        warnings.warn(
            f"Implicit dimension choice for {op} has been deprecated. Change the call to "
            "include dim=X as an argument.",
            stacklevel=3,
        )
        dim = 0 if x.ndim in (0, 1, 3) else 1
    return _dim(op, dim, x.ndim or 1)


def _normalise_along(op: str, fn: type[Function], x, dim) -> Tensor:
    """softmax's and log_softmax's shared front: dim checked (a 0-d input's is 0); an empty
    input has nothing to normalise and comes back as an empty result of the same shape."""
    d = _softmax_dim(op, x, dim)
    if x.data.size == 0:
        return x * 1
    return fn.apply(x, d)


def softmax(x, dim):
    """exp(x) / sum(exp(x)) along `dim`, stable at any logit size."""
    return _normalise_along("softmax", Softmax, x, dim)


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


def log_softmax(x, dim):
    """log(softmax(x)) along `dim`, computed directly (stable, no log of 0)."""
    return _normalise_along("log_softmax", LogSoftmax, x, dim)


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


# ----- registry samples and torch oracles ------------------------------------------------

_RED = [
    ((3, 4), {}),
    ((3, 4), {"dim": 1}),
    ((2, 3, 4), {"dim": (0, 2), "keepdim": True}),
    ((2, 3, 4), {"dim": -1}),
    ((5,), {"dim": 0}),
]


def _red_samples(fn, torch_fn, cases=_RED):
    return [Sample((s,), torch_fn, fn, kwargs=kw, name=f"{s}{kw}") for s, kw in cases]


Sum.samples = staticmethod(
    lambda: _red_samples(
        sum, lambda torch, a, dim=None, keepdim=False: a.sum() if dim is None
        else a.sum(dim, keepdim=keepdim)
    )
)  # fmt: skip

Mean.samples = staticmethod(
    lambda: _red_samples(
        mean, lambda torch, a, dim=None, keepdim=False: a.mean() if dim is None
        else a.mean(dim, keepdim=keepdim)
    )
)  # fmt: skip

Var.samples = staticmethod(
    lambda: _red_samples(
        var, lambda torch, a, dim=None, keepdim=False, unbiased=True:
        torch.var(a, dim=dim, keepdim=keepdim, unbiased=unbiased)
    ) + [Sample(((4, 5),), lambda torch, a, **k: torch.var(a, 1, unbiased=False),
                var, kwargs={"dim": 1, "unbiased": False}, name="biased")]
)  # fmt: skip

Amax.samples = staticmethod(
    lambda: _red_samples(amax, lambda torch, a, dim=None, keepdim=False: torch.amax(
        a, dim=() if dim is None else dim, keepdim=keepdim))
)  # fmt: skip

MaxDim.samples = staticmethod(
    lambda: [
        Sample(((3, 4),), lambda torch, a: a.max(1).values, lambda a: max(a, 1).values),
        Sample(((3, 4),), lambda torch, a: a.min(0, keepdim=True).values,
               lambda a: min(a, 0, keepdim=True).values, name="min"),
    ]
)  # fmt: skip

Median.samples = staticmethod(
    lambda: [
        Sample(((3, 4),), lambda torch, a: torch.median(a), median, name="all-even"),
        Sample(((3, 5),), lambda torch, a: torch.median(a), median, name="all-odd"),
        Sample(((3, 4), Arg(1)), lambda torch, a, d: torch.median(a, d).values,
               lambda a, d: median(a, d).values, name="dim"),
        Sample(((2, 5, 3), Arg(-2), Arg(True)),
               lambda torch, a, d, k: torch.median(a, d, k).values,
               lambda a, d, k: median(a, d, k).values, name="keepdim"),
    ]
)  # fmt: skip

Logsumexp.samples = staticmethod(
    lambda: [
        Sample(((3, 4), Arg(1)), lambda torch, a, d: torch.logsumexp(a, d), logsumexp),
        Sample(((2, 3, 4), Arg((0, 2)), Arg(True)),
               lambda torch, a, d, k: torch.logsumexp(a, d, k), logsumexp, name="multi"),
    ]
)  # fmt: skip

Softmax.samples = staticmethod(
    lambda: [
        Sample(((3, 4), Arg(1)), lambda torch, a, d: a.softmax(d), softmax),
        Sample(((2, 3, 4), Arg(0)), lambda torch, a, d: a.softmax(d), softmax, name="dim0"),
    ]
)  # fmt: skip

LogSoftmax.samples = staticmethod(
    lambda: [
        Sample(((3, 4), Arg(1)), lambda torch, a, d: a.log_softmax(d), log_softmax),
        Sample(((2, 3, 4), Arg(-1)), lambda torch, a, d: a.log_softmax(d), log_softmax,
               name="last"),
    ]
)  # fmt: skip


def _zeros_at(a, mask, torch=None):
    """a with exact zeros where `mask` is 1, whose gradient still reaches a (in torch when
    `torch` is given, else in tinynet)."""
    if torch is not None:
        return a - a.detach() * torch.tensor(mask, dtype=a.dtype)
    return a - a.detach() * tensor(mask, dtype=a.dtype, device=a.device)


def _scan_samples(name: str, fn) -> list:
    """cumsum's and cumprod's samples (their gradients at zeros: tests/test_ops_extra.py, as a
    gradcheck can't vary an input that must stay 0)."""

    def pair(dim):
        return (lambda torch, a: getattr(torch, name)(a, dim)), (lambda a: fn(a, dim))

    return [
        Sample(((3, 4),), *pair(1)),
        Sample(((2, 3, 4),), *pair(-3), name="first dim"),
        Sample(((2, 3, 4),), *pair(-2), name="middle dim"),
        Sample(((),), *pair(0), name="0-d"),
        Sample((Int((3, 4), 5),), *pair(1), grad=False, name="int"),
    ]


Cumsum.samples = staticmethod(lambda: _scan_samples("cumsum", cumsum))
Cumprod.samples = staticmethod(lambda: _scan_samples("cumprod", cumprod))


def _norm_fns(*args, zeros=None, **kw):
    def prep(a, torch=None):
        return a if zeros is None else _zeros_at(a, zeros, torch)

    return (lambda torch, a: torch.norm(prep(a, torch), *args, **kw)), (
        lambda a: norm(prep(a), *args, **kw)
    )


Norm.samples = staticmethod(
    lambda: [
        Sample(((3, 4),), *_norm_fns()),
        Sample(((3, 4),), *_norm_fns("fro", 1), name="fro rows"),
        Sample(((2, 3, 4),), *_norm_fns(2, (0, 2), keepdim=True), name="2 keepdim"),
        Sample(((3, 4),), *_norm_fns(1, 0), name="p=1"),
        Sample(((3, 4),), *_norm_fns(float("inf"), 1), name="inf"),
        Sample(((3, 4),), *_norm_fns(float("-inf")), name="-inf"),
        Sample(((3, 4),), *_norm_fns(3, -1), name="p=3"),
        Sample(((3, 4),), *_norm_fns(1.5, 1), name="p=1.5"),
        Sample(((3, 4),), *_norm_fns(0.5, 1), name="p=0.5"),
        Sample(((3, 4),), *_norm_fns(0, 1), name="p=0"),
        Sample(((),), *_norm_fns(2), name="0-d"),
        Sample(((2, 4),), *_norm_fns(2, 1, zeros=[[1, 1, 1, 1], [0, 1, 0, 0]]), name="zero row"),
        Sample(((2, 4),), *_norm_fns(3, 1, zeros=[[1, 1, 1, 1], [0, 1, 0, 0]]),
               name="zero row p=3"),
    ]
)  # fmt: skip


# ----- counting (integer results, no gradient) ------------------------------------------------


def bincount(x: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """How often each value 0..max(x) occurs in the 1-D non-negative integer tensor x;
    with `weights`, their sums per value instead (in the weights' dtype)."""
    if (
        not isinstance(x, Tensor)
        or x.ndim != 1
        or x.dtype.is_floating_point
        or x.dtype is dtypes.bool_
    ):
        what = (
            f"{x.dtype} tensor of shape {tuple(x.shape)}"
            if isinstance(x, Tensor)
            else type(x).__name__
        )
        raise RuntimeError(
            f"bincount: only supports 1-d non-negative integral inputs, got a {what}"
        )
    if isinstance(minlength, bool) or not isinstance(minlength, int) or minlength < 0:
        raise RuntimeError(f"bincount: minlength must be a non-negative int, got {minlength!r}")
    xp = x.device.xp
    if x.numel() and bool(x.device.backend.to_host((x.data < 0).any())):
        raise RuntimeError(
            "bincount: only supports 1-d non-negative integral inputs (found a negative value)"
        )
    w = None
    if weights is not None:
        if not isinstance(weights, Tensor) or weights.shape != x.shape:
            got = tuple(weights.shape) if isinstance(weights, Tensor) else type(weights).__name__
            raise RuntimeError(
                f"bincount: weights must have the input's shape {tuple(x.shape)}, got {got}"
            )
        w = weights.data
    out = xp.bincount(x.data, weights=w, minlength=minlength)
    out = out.astype(weights.data.dtype if weights is not None and weights.dtype.is_floating_point
                     else ("float64" if weights is not None else "int64"), copy=False)  # fmt: skip
    return const(x, out)


def count_nonzero(x: Tensor, dim=None) -> Tensor:
    """The number of non-zero elements, over all of x or along `dim` (an int or a tuple)."""
    xp = x.device.xp
    axes = _dims("count_nonzero", x, dim)
    return const(x, xp.asarray(xp.count_nonzero(x.data, axis=axes), dtype="int64"))


Prod.samples = staticmethod(
    lambda: [
        Sample(((3, 4), Arg(None)), lambda torch, a, d: a.prod(), prod),
        Sample(((3, 4), Arg(1)), lambda torch, a, d: a.prod(d), prod, name="dim"),
        Sample(((2, 3, 4), Arg(-1), Arg(True)), lambda torch, a, d, k: a.prod(d, keepdim=k),
               prod, name="keepdim"),
        Sample(((3, 4), Arg(0)), lambda torch, a, d: (a * (a > 0.3)).prod(d),
               lambda a, d: prod(a * (a > 0.3), d), name="zeros"),
    ]
)  # fmt: skip
