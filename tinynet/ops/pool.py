"""Pooling: max_pool2d, avg_pool2d, adaptive_avg_pool2d, and the max-pool scatter op.

Windows are strided views of the padded input (no copies, no loop over pixels);
the Python loops run over the kH*kW kernel taps only. Each backward is itself a
registered Function whose backward is the forward again (max pool: gather at the
chosen positions <-> scatter to them; average pool: spread <-> average), so
double backward works.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from ..autograd.function import Function
from ..backend import split
from ..tensor import Tensor, tensor
from ._args import _pair, _Shape
from .elementwise import const
from .linalg import matmul
from .registry import Sample, register

__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"]

Array = Any


class PoolSpec(NamedTuple):
    """Window size, stride, padding, dilation, and the output and padded-input sizes."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    out: tuple[int, int]  # oH, oW
    padded: tuple[int, int]  # rows and columns of the padded input (ceil_mode may add more)
    in_hw: tuple[int, int]

    def taps(self):
        """(t, i, j, rows, cols): tap t = (i, j) of every window, as slices of the padded input."""
        (kH, kW), (sH, sW), (dH, dW), (oH, oW) = self.kernel, self.stride, self.dilation, self.out
        for i in range(kH):
            for j in range(kW):
                rows = slice(i * dH, i * dH + sH * (oH - 1) + 1, sH)
                cols = slice(j * dW, j * dW + sW * (oW - 1) + 1, sW)
                yield i * kW + j, rows, cols


def _padded(xp, x: Array, spec: PoolSpec, value: float) -> Array:
    (pH, pW), (Hp, Wp), (H, W) = spec.padding, spec.padded, spec.in_hw
    if (Hp, Wp) == (H, W):
        return x
    out = xp.full(x.shape[:2] + (Hp, Wp), value, dtype=x.dtype)
    out[:, :, pH : pH + H, pW : pW + W] = x
    return out


def _crop(a: Array, spec: PoolSpec) -> Array:
    (pH, pW), (H, W) = spec.padding, spec.in_hw
    return a[:, :, pH : pH + H, pW : pW + W]


def _spread(xp, grad: Array, spec: PoolSpec, pick) -> Array:
    """dx: each window's gradient added back onto the input, one strided slice per tap."""
    N, C = grad.shape[:2]
    out = xp.zeros((N, C) + spec.padded, dtype=grad.dtype)
    for t, rows, cols in spec.taps():
        out[:, :, rows, cols] += pick(t)
    return _crop(out, spec)


# ----- max pooling ---------------------------------------------------------------------------


def _max_indices(device, x: Array, spec: PoolSpec, out: tuple | None = None):
    """Values and tap index of each window's maximum; ties go to the first, NaN wins (as torch).
    Written into `out` = (values, indices) when given.

    One pass per tap, over strided views of the input: a tap strictly greater than the best
    so far takes its place (so a tie keeps the earlier tap), and the index follows with
    arithmetic, idx -= hit * (idx - t), because a select over a random mask runs far slower.
    Windows whose maximum is NaN (rare) are fixed after: torch's loop keeps their last NaN tap.
    """
    xp = device.xp
    xpad = _padded(xp, x, spec, -math.inf)
    taps = [xpad[:, :, rows, cols] for _, rows, cols in spec.taps()]
    if out is None:
        best = xp.array(taps[0])  # a contiguous copy
        idx = xp.zeros(best.shape, dtype=xp.int8 if len(taps) <= 127 else xp.int32)
    else:
        best, idx = out
        best[...], idx[...] = taps[0], 0
    for t in range(1, len(taps)):
        hit = taps[t] > best
        xp.maximum(best, taps[t], out=best)  # NaN propagates
        idx -= hit * (idx - t)
    nan = xp.isnan(best)
    on_host = device.backend.host_view(nan)
    if on_host is None or on_host.any():  # a GPU runs the fix rather than wait to decide
        for t in range(len(taps)):
            idx -= (nan & xp.isnan(taps[t])) * (idx - t)
    return best, idx


def _gather(xp, x: Array, idx: Array, spec: PoolSpec) -> Array:
    """y[n, c, p] = x at tap idx[n, c, p] of window p."""
    xpad = _padded(xp, x, spec, 0.0)
    out = xp.zeros(idx.shape, dtype=x.dtype)
    for t, rows, cols in spec.taps():
        out = xp.where(idx == t, xpad[:, :, rows, cols], out)
    return out


@register
class MaxPool2d(Function):
    """y[n, c, p] = max of window p of pad(x, -inf)   (or x at the given `indices`)
    dx = the gradient scattered to each window's argmax (max_pool2d_scatter)
    """

    @staticmethod
    def forward(ctx, x, spec, indices=None, taps_out=None):
        xp = ctx.device.xp
        if indices is None:  # by images, in threads when big (backend.split)
            y = xp.empty(x.shape[:2] + spec.out, dtype=x.dtype)
            taps = math.prod(spec.kernel)
            indices = xp.empty(y.shape, dtype=xp.int8 if taps <= 127 else xp.int32)

            def work(i, j):
                _max_indices(ctx.device, x[i:j], spec, (y[i:j], indices[i:j]))

            split(ctx.device, len(x), work, nbytes=x.nbytes)
        else:
            y = _gather(xp, x, indices, spec)
        ctx.spec, ctx.indices = spec, indices
        if taps_out is not None:  # return_indices: the caller wants the tap of each maximum
            taps_out.append(indices)
        return y

    @staticmethod
    def backward(ctx, grad):
        return MaxPool2dScatter.apply(grad, ctx.indices, ctx.spec), None, None, None

    samples = staticmethod(
        lambda: [
            Sample(((2, 3, 6, 6),), _torch_max, max_pool2d, kwargs={"kernel_size": 2}, name="2x2"),
            Sample(((1, 2, 7, 6),), _torch_max, max_pool2d,
                   kwargs={"kernel_size": (3, 2), "stride": (2, 1), "padding": 1}, name="pad"),
            Sample(((1, 2, 7, 7),), _torch_max, max_pool2d,
                   kwargs={"kernel_size": 3, "stride": 2, "dilation": 2, "ceil_mode": True},
                   name="dilation-ceil"),
            Sample(((1, 1, 5, 5),), _torch_max, max_pool2d,
                   kwargs={"kernel_size": 2, "stride": 3, "ceil_mode": True}, name="stride>k"),
        ]
    )  # fmt: skip


def _torch_max(torch, x, **kw):
    return torch.nn.functional.max_pool2d(x, **kw)


@register
class MaxPool2dScatter(Function):
    """dx = zeros_like(x); dx[argmax of window p] += grad[p]   (indices fixed by the forward)
    d(grad) = ggx gathered at the same positions (max_pool2d with those indices)
    """

    @staticmethod
    def forward(ctx, grad, indices, spec):
        ctx.spec, ctx.indices = spec, indices
        xp = ctx.device.xp
        (kH, kW), (sH, sW), (dH, dW) = spec.kernel, spec.stride, spec.dilation

        disjoint = sH > (kH - 1) * dH and sW > (kW - 1) * dW  # assign, no adds
        out = xp.zeros(grad.shape[:2] + spec.padded, dtype=grad.dtype)

        def work(i, j):  # images i:j, in threads when big (backend.split)
            for t, rows, cols in spec.taps():
                # the gradient at the windows whose maximum is tap t, 0 elsewhere (a select:
                # inf/NaN stays out of the zeros)
                part = ctx.device.backend.masked(grad[i:j], indices[i:j] == t)
                if disjoint:
                    out[i:j, :, rows, cols] = part
                else:
                    out[i:j, :, rows, cols] += part

        split(ctx.device, len(grad), work, nbytes=out.nbytes)
        return _crop(out, spec)

    @staticmethod
    def backward(ctx, grad):
        return MaxPool2d.apply(grad, ctx.spec, ctx.indices, None), None, None

    samples = staticmethod(
        lambda: [
            Sample(((2, 2, 3, 3),), _torch_scatter(2), _scatter(2), name="2x2"),
            Sample(((1, 2, 3, 3),), _torch_scatter(3, stride=2, padding=1),
                   _scatter(3, stride=2, padding=1), name="overlapping-windows"),
        ]
    )  # fmt: skip


def _scatter_input(shape_out, kernel, stride, padding):
    """A fixed input (distinct values: no ties) whose max pool has output shape `shape_out`."""
    N, C, oH, oW = shape_out
    H, W = (oH - 1) * stride + kernel - 2 * padding, (oW - 1) * stride + kernel - 2 * padding
    n = N * C * H * W
    return [(i * 7919 % n) / 10.0 for i in range(n)], (N, C, H, W)  # 7919 is prime: a shuffle


def _scatter(kernel, stride=None, padding=0):
    def fn(grad):
        values, shape = _scatter_input(grad.shape, kernel, stride or kernel, padding)
        x = tensor(values, dtype=grad.dtype, device=grad.device).reshape(shape)
        spec = _pool_spec("max_pool2d", x, kernel, stride, padding, 1, False)
        _, idx = _max_indices(grad.device, x.data, spec)
        return MaxPool2dScatter.apply(grad, idx, spec)

    return fn


def _torch_scatter(kernel, stride=None, padding=0):
    def fn(torch, grad):
        values, shape = _scatter_input(tuple(grad.shape), kernel, stride or kernel, padding)
        x = torch.tensor(values, dtype=grad.dtype).reshape(shape).requires_grad_(True)
        y = torch.nn.functional.max_pool2d(x, kernel, stride, padding)
        return torch.autograd.grad(y, x, grad, create_graph=True)[0]

    return fn


# ----- average pooling -----------------------------------------------------------------------


def _divisor(xp, spec: PoolSpec, count_include_pad: bool, divisor_override, dtype) -> Array:
    """What each window's sum is divided by, (oH, oW), as torch's avg_pool2d computes it."""
    if divisor_override:
        return xp.full(spec.out, divisor_override, dtype=dtype)
    counts = []
    for o, s, p, k, n in zip(spec.out, spec.stride, spec.padding, spec.kernel, spec.in_hw):
        start = xp.arange(o) * s - p
        end = xp.minimum(start + k, n + p)  # a window never counts past the padding
        if not count_include_pad:
            start, end = xp.maximum(start, 0), xp.minimum(end, n)
        counts.append((end - start).astype(dtype))
    return counts[0][:, None] * counts[1][None, :]


@register
class AvgPool2d(Function):
    """y[n, c, p] = sum of window p of pad(x, 0) / divisor[p]
    dx = grad / divisor spread back over each window (avg_pool2d_backward)
    """

    @staticmethod
    def forward(ctx, x, spec, count_include_pad, divisor_override):
        xp = ctx.device.xp
        xpad = _padded(xp, x, spec, 0.0)
        taps = [xpad[:, :, rows, cols] for _, rows, cols in spec.taps()]
        y = taps[0].copy()
        for v in taps[1:]:
            y += v
        y /= _divisor(xp, spec, count_include_pad, divisor_override, x.dtype)
        ctx.args = (spec, count_include_pad, divisor_override)
        return y

    @staticmethod
    def backward(ctx, grad):
        return AvgPool2dBackward.apply(grad, *ctx.args), None, None, None

    samples = staticmethod(
        lambda: [
            Sample(((2, 3, 6, 6),), _torch_avg, avg_pool2d, kwargs={"kernel_size": 2}, name="2x2"),
            Sample(((1, 2, 7, 6),), _torch_avg, avg_pool2d,
                   kwargs={"kernel_size": (3, 2), "stride": (2, 1), "padding": 1}, name="pad"),
            Sample(((1, 2, 6, 7),), _torch_avg, avg_pool2d,
                   kwargs={"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True,
                           "count_include_pad": False}, name="ceil-exclude-pad"),
            Sample(((1, 1, 5, 5),), _torch_avg, avg_pool2d,
                   kwargs={"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
                   name="ceil-include-pad"),
            Sample(((1, 2, 4, 4),), _torch_avg, avg_pool2d,
                   kwargs={"kernel_size": 2, "divisor_override": 3}, name="divisor_override"),
        ]
    )  # fmt: skip


def _torch_avg(torch, x, **kw):
    return torch.nn.functional.avg_pool2d(x, **kw)


def _torch_avg_backward(x_shape, **kw):
    def fn(torch, grad):
        x = torch.zeros(x_shape, dtype=grad.dtype, requires_grad=True)
        y = torch.nn.functional.avg_pool2d(x, **kw)
        return torch.autograd.grad(y, x, grad, create_graph=True)[0]

    return fn


def _avg_backward(x_shape, kernel_size, stride=None, padding=0, ceil_mode=False,
                  count_include_pad=True):  # fmt: skip
    def fn(grad):
        spec = _pool_spec("avg_pool2d", _Shape(x_shape), kernel_size, stride, padding, 1,
                          ceil_mode)  # fmt: skip
        return AvgPool2dBackward.apply(grad, spec, count_include_pad, None)

    return fn


@register
class AvgPool2dBackward(Function):
    """dx = grad / divisor[p] added onto every element of window p
    d(grad) = avg_pool2d(ggx)   (the two are each other's adjoint)
    """

    @staticmethod
    def forward(ctx, grad, spec, count_include_pad, divisor_override):
        xp = ctx.device.xp
        g = grad / _divisor(xp, spec, count_include_pad, divisor_override, grad.dtype)
        ctx.args = (spec, count_include_pad, divisor_override)
        return _spread(xp, g, spec, lambda t: g)

    @staticmethod
    def backward(ctx, grad):
        return AvgPool2d.apply(grad, *ctx.args), None, None, None

    samples = staticmethod(
        lambda: [
            Sample(((1, 2, 3, 3),), _torch_avg_backward((1, 2, 6, 6), kernel_size=2),
                   _avg_backward((1, 2, 6, 6), 2), name="2x2"),
            Sample(((1, 2, 3, 4),),
                   _torch_avg_backward((1, 2, 5, 6), kernel_size=3, stride=2, padding=1,
                                       ceil_mode=True, count_include_pad=False),
                   _avg_backward((1, 2, 5, 6), 3, 2, 1, True, False), name="overlap-ceil-pad"),
        ]
    )  # fmt: skip


# ----- argument checks and the public functions ----------------------------------------------


def _pool_spec(op, x, kernel_size, stride, padding, dilation, ceil_mode) -> PoolSpec:
    """Check pooling arguments against x's shape; output sizes as torch computes them."""
    if x.ndim != 4:
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W) or 3-D, got {tuple(x.shape)}")
    H, W = x.shape[2:]
    k = _pair(op, "kernel_size", kernel_size, 1)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) else _pair(
        op, "stride", stride, 1)  # fmt: skip
    p = _pair(op, "padding", padding, 0)
    d = _pair(op, "dilation", dilation, 1)
    out, padded = [], []
    for n, kk, ss, pp, dd in zip((H, W), k, s, p, d):
        span = dd * (kk - 1) + 1
        if pp > kk // 2:  # as PyTorch: every window must hold at least one real element
            raise ValueError(
                f"{op}: padding {p} must be at most half the kernel size {k}; input "
                f"{tuple(x.shape)}"
            )
        num = n + 2 * pp - span
        o = (-(-num // ss) if ceil_mode else num // ss) + 1
        if ceil_mode and (o - 1) * ss >= n + pp:  # the last window must start inside the input
            o -= 1
        if num < 0 or o < 1:
            raise ValueError(
                f"{op}: kernel {k} (spanning {span} with dilation {d}) is larger than the padded "
                f"input {n + 2 * pp} (input {tuple(x.shape)}, padding {p})"
            )
        out.append(o)
        padded.append(max(n + 2 * pp, (o - 1) * ss + span))
    return PoolSpec(k, s, p, d, tuple(out), tuple(padded), (H, W))


def _check_input(op: str, x) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim not in (3, 4):
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W) or 3-D (C, H, W), got {x.shape}")
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"{op}: input must be a float tensor, got {x.dtype}")


def max_pool2d(x: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):  # fmt: skip
    """The maximum of each window (PyTorch's max_pool2d); the gradient goes to that maximum.

    Ties go to the first maximum in the window (row-major), NaN propagates, as PyTorch's CPU
    kernel does. Padding counts as -inf. With `return_indices`, also returns where each
    maximum is: an int64 tensor of flat indices h * W + w into each (H, W) input plane, as
    torch gives them (no gradient).

    Args:
        x: input (N, C, H, W) or (C, H, W).
        kernel_size: int or (kH, kW).
        stride: int or pair. Default None: the kernel size.
        padding: int or pair, at most half the kernel. Default 0.
        dilation: int or pair, spacing between window elements. Default 1.
        ceil_mode: round the output size up (a last partial window). Default False.

    Shape:
        output (N, C, oH, oW), oH = (H + 2 pH - dH (kH - 1) - 1) // sH + 1 (floor or ceil).

    Example:
        >>> max_pool2d(tn.randn(1, 3, 28, 28), 2).shape
        (1, 3, 14, 14)
    """
    op = "max_pool2d"
    _check_input(op, x)
    if x.ndim == 3:
        out = max_pool2d(x.unsqueeze(0), kernel_size, stride, padding, dilation, ceil_mode,
                         return_indices)  # fmt: skip
        return (out[0][0], out[1][0]) if return_indices else out[0]
    spec = _pool_spec(op, x, kernel_size, stride, padding, dilation, bool(ceil_mode))
    if not return_indices:
        return MaxPool2d.apply(x, spec, None, None)
    taps: list = []
    y = MaxPool2d.apply(x, spec, None, taps)
    return y, Tensor._make(_flat_indices(x.device.xp, taps[0], spec), x.device, False, None)


def _flat_indices(xp, taps: Array, spec: PoolSpec) -> Array:
    """h * W + w of the input pixel that tap taps[n, c, oy, ox] of window (oy, ox) reads."""
    kW = spec.kernel[1]
    (sH, sW), (pH, pW), (dH, dW), (oH, oW) = spec.stride, spec.padding, spec.dilation, spec.out
    t = taps.astype(xp.int64)
    h = xp.arange(oH, dtype=xp.int64).reshape(oH, 1) * sH - pH + t // kW * dH
    w = xp.arange(oW, dtype=xp.int64) * sW - pW + t % kW * dW
    return h * spec.in_hw[1] + w


def avg_pool2d(x: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None
               ) -> Tensor:  # fmt: skip
    """The mean of each window (PyTorch's avg_pool2d).

    Args:
        x: input (N, C, H, W) or (C, H, W).
        kernel_size: int or (kH, kW).
        stride: int or pair. Default None: the kernel size.
        padding: int or pair of zeros added around, at most half the kernel. Default 0.
        ceil_mode: round the output size up. Default False.
        count_include_pad: divide by the window size including padding (True) or by the
            number of real input elements in it (False). Default True.
        divisor_override: divide every window's sum by this instead. Default None.

    Shape:
        output (N, C, oH, oW), oH = (H + 2 pH - kH) // sH + 1 (floor or ceil).

    Example:
        >>> avg_pool2d(tn.randn(1, 3, 28, 28), 2).shape
        (1, 3, 14, 14)
    """
    op = "avg_pool2d"
    _check_input(op, x)
    if x.ndim == 3:
        return avg_pool2d(x.unsqueeze(0), kernel_size, stride, padding, ceil_mode,
                          count_include_pad, divisor_override)[0]  # fmt: skip
    if divisor_override is not None and (
        isinstance(divisor_override, bool)
        or not isinstance(divisor_override, int)
        or divisor_override < 1
    ):
        raise ValueError(f"{op}: divisor_override must be a positive int, got {divisor_override!r}")
    spec = _pool_spec(op, x, kernel_size, stride, padding, 1, bool(ceil_mode))
    return AvgPool2d.apply(x, spec, bool(count_include_pad), divisor_override)


def _adaptive_matrix(xp, n: int, o: int, dtype) -> Array:
    """A (o, n) averaging matrix: row i is 1/len over [floor(i n / o), ceil((i + 1) n / o))."""
    i = xp.arange(o)
    start = (i * n) // o
    end = -((-(i + 1) * n) // o)
    cols = xp.arange(n)
    inside = (cols[None, :] >= start[:, None]) & (cols[None, :] < end[:, None])
    return inside.astype(dtype) / (end - start).astype(dtype)[:, None]


def adaptive_avg_pool2d(x: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed output size (PyTorch's adaptive_avg_pool2d).

    Output cell i covers input rows floor(i H / oH) to ceil((i + 1) H / oH), and the
    same for columns. Where the windows tile the input evenly this is avg_pool2d;
    otherwise it is A_h @ x @ A_w^T with two small averaging matrices (plain matmuls,
    so every derivative order comes for free).

    Args:
        x: input (N, C, H, W) or (C, H, W).
        output_size: int or (oH, oW); None in the pair keeps that input size.

    Shape:
        output (N, C, oH, oW).

    Example:
        >>> adaptive_avg_pool2d(tn.randn(2, 8, 7, 7), 1).shape
        (2, 8, 1, 1)
    """
    op = "adaptive_avg_pool2d"
    _check_input(op, x)
    H, W = x.shape[-2:]
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != 2:
            raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
        output_size = tuple(n if o is None else o for o, n in zip(output_size, (H, W)))
    oH, oW = _pair(op, "output_size", output_size, 1)
    if (oH, oW) == (1, 1):
        return x.mean(dim=(-2, -1), keepdim=True)
    if H % oH == 0 and W % oW == 0:
        return avg_pool2d(x, (H // oH, W // oW))
    xp = x.device.xp
    dt = x.data.dtype
    ah = const(x, _adaptive_matrix(xp, H, oH, dt))
    awt = const(x, _adaptive_matrix(xp, W, oW, dt).T)
    return matmul(matmul(ah, x), awt)
