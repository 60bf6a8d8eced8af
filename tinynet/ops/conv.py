"""Convolution: conv2d, conv_transpose2d and the conv weight-gradient op (im2col + GEMM).

The three Functions are each other's gradients (docs/conv2d.md derives them):

    y  = conv2d(x, w)                      forward: im2col view of x, one GEMM per group
    dx = conv_transpose2d(dy, w)           GEMM, then col2im over the kH*kW kernel taps
    dw = conv2d_weight(x, dy)              one GEMM of dy with the same column matrix
    db = dy.sum((0, 2, 3))

Because conv_transpose2d and conv2d_weight are registered Functions whose own
backward is written with these three, every derivative order works.

Layout is NCHW; weights are (F, C // groups, kH, kW) as in PyTorch. Inside the
ops, padding is always four numbers (top, bottom, left, right), so the
asymmetric padding of padding="same" with an even kernel needs no special case.
The column matrix is built block by block (a few images at a time, `BLOCK_BYTES`
each), so its memory stays bounded and each block is still in cache when the
GEMM reads it; a batch whose columns fit in one block is one GEMM. With stride 1
the columns use a "wide" layout (`_Cols`): each row is one contiguous run of the
padded input, and the output is a view that skips the few padding columns. With
stride 1 and at least as many input as output channels per group (depthwise is one
case, not the only one), the input gradient is computed as a conv of dy with the
kernel flipped: the full convolution of docs/conv2d.md, the same numbers from a
faster GEMM than col2im's. A strided conv whose dilation is a multiple of its stride reads
only every s-th row and column, and runs as the stride-1 conv of those (`_subsampled`).
On the CPU a big conv runs each pass's image loop in one thread
per core, each with a single-threaded BLAS (`backend.split`; the rule is in docs/performance.md).

Index names follow docs/conv2d.md: n image, f filter, c input channel in its group,
g group, (oy, ox) output pixel, (ky, kx) kernel tap; sH/sW stride, dH/dW dilation.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from ..autograd.function import Function
from ..backend import split
from ..tensor import Tensor
from ._args import _pair, _Shape
from .registry import Sample, register

__all__ = ["conv2d", "conv_transpose2d", "conv2d_weight", "conv2d_input"]

Array = Any

#: Bytes of column matrix built per block on devices that do not set their own
#: `conv_block_bytes` (a GPU wants one big block: it has no small cache to fit).
BLOCK_BYTES = 2 << 20


class ConvSpec(NamedTuple):
    """Everything but the tensors: stride, padding (top, bottom, left, right), dilation, groups."""

    stride: tuple[int, int]
    padding: tuple[int, int, int, int]
    dilation: tuple[int, int]
    groups: int

    def out_hw(self, H: int, W: int, kH: int, kW: int) -> tuple[int, int]:
        """Output size: (H + pad - dH * (kH - 1) - 1) // sH + 1, and the same for W."""
        (sH, sW), (pt, pb, pl, pr), (dH, dW) = self.stride, self.padding, self.dilation
        oH = (H + pt + pb - dH * (kH - 1) - 1) // sH + 1
        return oH, (W + pl + pr - dW * (kW - 1) - 1) // sW + 1


# ----- kernels on arrays (shared by the three Functions) -------------------------------------


def _pad(xp, x: Array, padding: tuple[int, int, int, int], value: float = 0.0) -> Array:
    """x with `value` around H and W (x itself when there is no padding).

    A negative bottom/right amount crops instead: the adjoint of a conv_transpose2d whose
    output_padding reaches a whole stride (possible when dilation > stride) needs it.
    """
    pt, pb, pl, pr = padding
    if pb < 0 or pr < 0:
        x = x[:, :, : x.shape[2] + min(pb, 0), : x.shape[3] + min(pr, 0)]
        pb, pr = max(pb, 0), max(pr, 0)
    if not (pt or pb or pl or pr):
        return x
    N, C, H, W = x.shape
    out = xp.full((N, C, H + pt + pb, W + pl + pr), value, dtype=x.dtype)
    out[:, :, pt : pt + H, pl : pl + W] = x
    return out


class _Cols(NamedTuple):
    """The layout of the column matrix: K rows (c, ky, kx) by L columns per image and group.

    Stride 1 uses the "wide" layout: column oy*pitch + ox for output pixel (oy, ox), where
    pitch is the padded input width Wp. Then row (c, ky, kx) of one image is a single
    contiguous run of the padded input, starting at ky*dH*Wp + kx*dW, and building
    the matrix copies long runs instead of oW-long pieces (about 3x faster). The
    Wp - oW columns past each output row are padding: the GEMM computes them and
    the result is read at [..., :oW]. Other strides use pitch = oW (no waste).
    """

    K: int  # rows (c, ky, kx): Cg * kH * kW
    L: int  # columns: (oH - 1) * pitch + oW
    pitch: int  # distance between output rows in the columns
    oH: int
    oW: int
    wide: bool


def _cols_layout(x_shape: tuple, w_shape: tuple, spec: ConvSpec) -> _Cols:
    _, _, H, W = x_shape
    _, Cg, kH, kW = w_shape
    oH, oW = spec.out_hw(H, W, kH, kW)
    wide = spec.stride == (1, 1)
    pitch = W + spec.padding[2] + spec.padding[3] if wide else oW
    return _Cols(Cg * kH * kW, (oH - 1) * pitch + oW, pitch, oH, oW, wide)


def _windows(backend, a: Array, w_shape: tuple, spec: ConvSpec, lay: _Cols):
    """A strided view (no copy) of the padded input: the column matrix of every image.

    v[n, g, c, ky, kx, oy, ox] = a[n, g*Cg + c, oy*sH + ky*dH, ox*sW + kx*dW], shape
    (N, groups, Cg, kH, kW, oH, oW): for each output pixel (oy, ox), (c, ky, kx) runs
    over its receptive field. In the wide layout the last two axes are one,
    v[n, g, c, ky, kx, q] = a_flat[n, g*Cg + c, ky*dH*Wp + kx*dW + q], q < L.
    """
    N, C = a.shape[:2]
    _, Cg, kH, kW = w_shape
    G = C // Cg
    (sH, sW), (dH, dW) = spec.stride, spec.dilation
    sn, sc, sh, sw = a.strides
    if lay.wide:
        shape = (N, G, Cg, kH, kW, lay.L)
        strides = (sn, sc * Cg, sc, sh * dH, sw * dW, sw)
    else:
        shape = (N, G, Cg, kH, kW, lay.oH, lay.oW)
        strides = (sn, sc * Cg, sc, sh * dH, sw * dW, sh * sH, sw * sW)
    return backend.strided_view(a, shape, strides)


def _block(device, N: int, per_image_bytes: int) -> int:
    """How many images go in one block of columns."""
    budget = getattr(device.backend, "conv_block_bytes", BLOCK_BYTES)
    return max(1, min(N, budget // max(per_image_bytes, 1)))


def _column_blocks(device, x: Array, w_shape: tuple, spec: ConvSpec, lay: _Cols, ones=False):
    """Yield (i, j, cols): the column matrix of images i:j, shape (j-i, G, K, L).

    With `ones`, each group's matrix gets one more row of ones (K + 1 rows): the forward
    puts the bias in the GEMM that way, [w | b] @ [cols; 1], instead of a pass over y.
    """
    xp = device.xp
    N, C = x.shape[:2]
    G = spec.groups
    if _pointwise(w_shape, spec):
        assert not ones, "a 1x1 conv's columns are its input: it adds the bias itself"
        yield 0, N, x.reshape(N, G, lay.K, lay.L)
        return
    xpad = _pad(xp, x, spec.padding)
    if lay.wide and xpad.strides[2:] != (xpad.shape[3] * xpad.itemsize, xpad.itemsize):
        xpad = xp.ascontiguousarray(xpad)  # the wide view reads each plane as one run
    view = _windows(device.backend, xpad, w_shape, spec, lay)
    K1 = lay.K + ones
    nb = _block(device, N, G * K1 * lay.L * x.itemsize)
    buf = xp.empty((nb, G, K1, lay.L), dtype=x.dtype)
    if ones:
        buf[:, :, lay.K] = 1
    for i in range(0, N, nb):  # blocks of images, sized in bytes (one block when they fit)
        j = min(N, i + nb)
        # splitting K into (Cg, kH, kW) and L into (oH, oW) never copies: this writes into buf
        buf[: j - i, :, : lay.K].reshape(view[i:j].shape)[...] = view[i:j]
        yield i, j, buf[: j - i]


def _subsampled(spec: ConvSpec) -> ConvSpec | None:
    """The stride-1 conv that a strided one is, when its dilation is a multiple of its stride.

    Then the conv reads only every sH-th row and sW-th column of the padded input (ky*dH is a
    multiple of sH), so it equals a stride-1 conv of pad(x)[:, :, ::sH, ::sW] with dilation
    d/s, whose columns the fast stride-1 layout builds. None when that does not hold.
    """
    (sH, sW), (dH, dW) = spec.stride, spec.dilation
    if (sH, sW) == (1, 1) or dH % sH or dW % sW or min(spec.padding) < 0:
        return None
    return ConvSpec((1, 1), (0, 0, 0, 0), (dH // sH, dW // sW), spec.groups)


def _conv_forward(device, x: Array, w: Array, spec: ConvSpec, b: Array | None = None) -> Array:
    """y[n, g, f] = w[g, f] @ cols[n, g] (+ b): one GEMM per group, batched over images."""
    xp = device.xp
    sub = _subsampled(spec)
    if sub is not None:
        sH, sW = spec.stride
        return _conv_forward(device, _pad(xp, x, spec.padding)[:, :, ::sH, ::sW], w, sub, b)
    N = x.shape[0]
    F = w.shape[0]
    G = spec.groups
    lay = _cols_layout(x.shape, w.shape, spec)
    wg = w.reshape(G, F // G, lay.K)
    ones = b is not None and not _pointwise(w.shape, spec)
    if ones:  # [w | b], so that the GEMM adds the bias (the columns get a ones row)
        wg = xp.concatenate([wg, b.reshape(G, F // G, 1).astype(w.dtype)], axis=2)
    wg = xp.ascontiguousarray(wg)  # BLAS needs positive strides
    y = xp.empty((N, F, lay.oH, lay.oW), dtype=x.dtype)

    def work(n0: int, n1: int) -> None:  # images n0:n1 (a thread's share, see backend.split)
        wide = None
        for i, j, cols in _column_blocks(device, x[n0:n1], w.shape, spec, lay, ones):
            i, j = i + n0, j + n0
            if lay.pitch == lay.oW:  # the GEMM writes y itself
                xp.matmul(wg, cols, out=y[i:j].reshape(j - i, G, F // G, lay.L))
                continue
            # Wide columns: the GEMM writes a block at the padded pitch, and the block (still in
            # cache) is copied into y without the Wp - oW columns: y, and all after it, contiguous.
            if wide is None:
                wide = xp.empty((j - i, G, F // G, lay.oH * lay.pitch), dtype=x.dtype)
            blk = wide[: j - i]
            xp.matmul(wg, cols, out=blk[:, :, :, : lay.L])
            y[i:j] = blk.reshape(j - i, F, lay.oH, lay.pitch)[:, :, :, : lay.oW]

    split(device, N, work, flops=2 * wg.size * lay.L * N)
    return y if ones else _add_bias(y, b)


def _pointwise(w_shape: tuple, spec: ConvSpec) -> bool:
    """A 1x1 kernel, stride 1, no padding: the input already is the column matrix."""
    return w_shape[2:] == (1, 1) and spec.stride == (1, 1) and not any(spec.padding)


def _conv_weight(device, x: Array, dy: Array, w_shape: tuple, spec: ConvSpec) -> Array:
    """dw[g, f] = sum_n dy[n, g, f] @ cols[n, g]^T: dy against the forward's column matrix.

    Computed as its transpose, sum_n cols[n, g] @ dy[n, g, f]^T: the same products, which
    OpenBLAS runs ~30% faster in that layout here (docs/performance.md).
    """
    xp = device.xp
    sub = _subsampled(spec)
    if sub is not None:
        sH, sW = spec.stride
        return _conv_weight(device, _pad(xp, x, spec.padding)[:, :, ::sH, ::sW], dy, w_shape, sub)
    N = x.shape[0]
    F = w_shape[0]
    G = spec.groups
    lay = _cols_layout(x.shape, w_shape, spec)
    parts = {}

    def work(n0: int, n1: int) -> None:  # images n0:n1 (a thread's share, see backend.split)
        dwT = xp.zeros((G, lay.K, F // G), dtype=x.dtype)
        dyb = None
        for i, j, cols in _column_blocks(device, x[n0:n1], w_shape, spec, lay):
            i, j = i + n0, j + n0
            if lay.pitch == lay.oW:
                d = dy[i:j].reshape(j - i, G, F // G, lay.L)
            else:  # wide columns: dy laid out the same way, zero in the columns past each row
                if dyb is None:
                    dyb = xp.zeros((j - i, F, lay.oH, lay.pitch), dtype=dy.dtype)
                d = dyb[: j - i]
                d[:, :, :, : lay.oW] = dy[i:j]
                d = d.reshape(j - i, G, F // G, lay.oH * lay.pitch)[:, :, :, : lay.L]
            dwT += xp.matmul(cols, d.transpose(0, 1, 3, 2)).sum(axis=0)
        parts[n0] = dwT

    split(device, N, work, flops=2 * F * lay.K * lay.L * N)
    dwT = parts.pop(0)
    for n0 in sorted(parts):  # in image order: the same sum whichever thread finished first
        dwT += parts[n0]
    return xp.ascontiguousarray(dwT.transpose(0, 2, 1)).reshape(w_shape)


def _times_w(xp, wT: Array, d: Array, out: Array) -> Array:
    """out = wT @ d, (G, K, Fg) @ (m, G, Fg, L): the columns of the input gradient.

    With one filter per group (depthwise) the product is an outer product: a broadcast
    multiply does it in one pass, where a GEMM call per (image, group) would crawl.
    """
    if wT.shape[2] == 1:
        return xp.multiply(wT, d, out=out)
    return xp.matmul(wT, d, out=out)


def _conv_input(device, dy: Array, w: Array, x_hw: tuple, spec: ConvSpec) -> Array:
    """dx = col2im(w^T @ dy): the adjoint of the forward (= conv_transpose2d(dy, w)).

    The GEMM gives, for every output pixel, the gradient of its whole receptive
    field (the columns); col2im (the backend's: tap by tap in NumPy, one fused kernel
    on CuPy) adds them back onto the input.
    """
    xp, col2im = device.xp, device.backend.col2im
    sub = _subsampled(spec)
    if sub is not None:  # the subsampled input's gradient, put back at every sH-th row, sW-th col
        (sH, sW), (pt, pb, pl, pr) = spec.stride, spec.padding
        H, W = x_hw
        Hp, Wp = H + pt + pb, W + pl + pr
        small = _conv_input(device, dy, w, (-(-Hp // sH), -(-Wp // sW)), sub)
        out = xp.zeros(small.shape[:2] + (Hp, Wp), dtype=dy.dtype)
        out[:, :, ::sH, ::sW] = small
        return out[:, :, pt : pt + H, pl : pl + W]
    N, F, oH, oW = dy.shape
    _, Cg, kH, kW = w.shape
    G = spec.groups
    C, K, Fg = Cg * G, Cg * kH * kW, F // G
    H, W = x_hw
    (sH, sW), (pt, pb, pl, pr), (dH, dW) = spec.stride, spec.padding, spec.dilation
    # rows and columns of the padded input (cropping bottom/right padding may not reach H, W)
    Hp, Wp = max(H + pt + pb, pt + H), max(W + pl + pr, pl + W)
    if (sH, sW) == (1, 1) and Cg >= Fg and pt <= dH * (kH - 1) and pl <= dW * (kW - 1):
        # Stride 1 with at least as many input as output channels: the adjoint is a conv of dy,
        # padded by d*(k-1) - p, with the kernel flipped and its channel axes swapped. Its GEMM
        # sums over F*kH*kW (col2im's over F only), which BLAS runs faster; measured 1.1-1.6x
        # faster than GEMM + col2im here when C >= F, slower when C < F. Depthwise gains 3x.
        pads = (dH * (kH - 1) - pt, H - oH + pt, dW * (kW - 1) - pl, W - oW + pl)
        flip = ConvSpec((1, 1), pads, (dH, dW), G)
        wf = w[:, :, ::-1, ::-1].reshape(G, Fg, Cg, kH, kW).transpose(0, 2, 1, 3, 4)
        return _conv_forward(device, dy, wf.reshape(C, Fg, kH, kW), flip)
    wT = xp.ascontiguousarray(w.reshape(G, Fg, K)).transpose(0, 2, 1)  # (G, K, Fg)
    if (sH, sW) == (1, 1):
        # Stride 1: compute the columns at the padded width Wp (dy gets Wp - oW zero columns),
        # so that tap (ky, kx) adds ONE contiguous run of oH*Wp numbers per channel, starting at
        # ky*dH*Wp + kx*dW of the flattened padded input: long, fast adds instead of short rows.
        L = oH * Wp
        out = xp.zeros((N, C, Hp + 1, Wp), dtype=dy.dtype)  # one spare row for the last tap
        plane = (Hp + 1) * Wp
        # With many channels the CPU takes the columns tap by tap, each channel's row one dst
        # plane after the last (zeros between): col2im then adds ONE run per image and tap,
        # (C - 1) * plane + L numbers, instead of C runs of L (faster from 16 channels, slower
        # with few: docs/performance.md). The backend's `col2im_tap_major_from` says where.
        tap_major = G == 1 and C >= getattr(device.backend, "col2im_tap_major_from", math.inf)
        if tap_major:
            wT = xp.ascontiguousarray(w.transpose(2, 3, 1, 0)).reshape(1, K, F)  # (ky, kx, c) rows
        nb = _block(device, N, K * (plane if tap_major else L) * dy.itemsize)

        def work(n0: int, n1: int) -> None:  # images n0:n1 (a thread's share, see backend.split)
            wide = xp.zeros((min(nb, n1 - n0), F, oH, Wp), dtype=dy.dtype)
            if tap_major:
                buf = xp.zeros((min(nb, n1 - n0), kH, kW, C, plane), dtype=dy.dtype)
            else:
                buf = xp.empty((min(nb, n1 - n0), G, K, L), dtype=dy.dtype)
            for b0 in range(n0, n1, nb):
                b1 = min(n1, b0 + nb)
                m = b1 - b0
                wide[:m, :, :, :oW] = dy[b0:b1]
                d = wide[:m].reshape(m, G, Fg, L)
                if tap_major:  # the GEMM writes L of each row's `plane` numbers
                    xp.matmul(wT, d, out=buf[:m].reshape(m, 1, K, plane)[..., :L])
                    cols = buf[:m].transpose(0, 3, 1, 2, 4)[..., :L]
                else:
                    cols = _times_w(xp, wT, d, buf[:m]).reshape(m, C, kH, kW, L)
                col2im(cols, out[b0:b1], (kH, kW), (1, 1), (dH, dW), (oH, oW), Wp)

        split(device, N, work, flops=2 * K * F * L * N)
    else:
        out = xp.zeros((N, C, Hp, Wp), dtype=dy.dtype)
        P = oH * oW
        nb = _block(device, N, G * K * P * dy.itemsize)
        dy4 = dy.reshape(N, G, Fg, P)

        def work(n0: int, n1: int) -> None:  # images n0:n1 (a thread's share, see backend.split)
            buf = xp.empty((min(nb, n1 - n0), G, K, P), dtype=dy.dtype)
            for b0 in range(n0, n1, nb):
                b1 = min(n1, b0 + nb)
                cols = _times_w(xp, wT, dy4[b0:b1], buf[: b1 - b0])
                col2im(cols.reshape(b1 - b0, C, kH, kW, P), out[b0:b1], (kH, kW), (sH, sW),
                       (dH, dW), (oH, oW), oW)  # fmt: skip

        split(device, N, work, flops=2 * K * F * P * N)
    return out[:, :, pt : pt + H, pl : pl + W]  # a view: cropping needs no copy


def _add_bias(y: Array, b: Array | None) -> Array:
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y


# ----- the Functions -----------------------------------------------------------------------


def _f(torch):
    return torch.nn.functional


def _torch_conv2d(torch, x, w, b=None, **kw):
    import warnings

    with warnings.catch_warnings():  # "same" with an even kernel: torch warns that it pads a copy
        warnings.simplefilter("ignore")
        return torch.nn.functional.conv2d(x, w, b, **kw)


@register
class Conv2d(Function):
    """y[n, f] = sum_c correlate(pad(x)[n, c], w[f, c], stride, dilation) + b[f]   (per group)
    dx = conv_transpose2d(grad, w);  dw = conv2d_weight(x, grad);  db = grad.sum((0, 2, 3))
    """

    @staticmethod
    def forward(ctx, x, w, b, spec):
        ctx.save_for_backward(x, w)
        ctx.spec = spec
        return _conv_forward(ctx.device, x, w, spec, b)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        dx = ConvTranspose2d.apply(grad, w, None, ctx.spec, x.shape[2:]) if need[0] else None
        dw = Conv2dWeightGrad.apply(x, grad, w.shape, ctx.spec) if need[1] else None
        db = grad.sum(dim=(0, 2, 3)) if need[2] else None
        return dx, dw, db, None

    samples = staticmethod(
        lambda: [
            Sample(((2, 3, 6, 6), (4, 3, 3, 3), (4,)), _torch_conv2d, conv2d, name="3x3+bias"),
            Sample(((1, 2, 7, 5), (3, 2, 2, 3)), _torch_conv2d, conv2d,
                   kwargs={"stride": 2, "padding": (1, 0)}, name="stride2-pad(1,0)-2x3"),
            Sample(((2, 4, 6, 6), (4, 2, 3, 3), (4,)), _torch_conv2d, conv2d,
                   kwargs={"groups": 2, "dilation": 2, "padding": 2}, name="groups2-dil2"),
            Sample(((1, 3, 5, 5), (3, 1, 3, 3)), _torch_conv2d, conv2d,
                   kwargs={"groups": 3, "padding": "same"}, name="depthwise-same"),
            Sample(((1, 2, 5, 6), (2, 2, 2, 2)), _torch_conv2d, conv2d,
                   kwargs={"padding": "same", "dilation": (1, 2)}, name="same-even-kernel"),
            Sample(((2, 3, 3, 4), (5, 3, 1, 1), (5,)), _torch_conv2d, conv2d, name="1x1"),
            Sample(((1, 2, 7, 7), (2, 2, 2, 2)), _torch_conv2d, conv2d, kwargs={"stride": 3},
                   name="stride-larger-than-kernel"),
        ]
    )  # fmt: skip


@register
class ConvTranspose2d(Function):
    """y = col2im(w^T @ x): the adjoint of conv2d in its input, cropped by padding to out_hw
    dx = conv2d(grad, w);  dw = conv2d_weight(grad, x);  db = grad.sum((0, 2, 3))
    """

    @staticmethod
    def forward(ctx, x, w, b, spec, out_hw):
        ctx.save_for_backward(x, w)
        ctx.spec = spec
        return _add_bias(_conv_input(ctx.device, x, w, tuple(out_hw), spec), b)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        dx = Conv2d.apply(grad, w, None, ctx.spec) if need[0] else None
        dw = Conv2dWeightGrad.apply(grad, x, w.shape, ctx.spec) if need[1] else None
        db = grad.sum(dim=(0, 2, 3)) if need[2] else None
        return dx, dw, db, None, None

    samples = staticmethod(
        lambda: [
            Sample(((2, 4, 3, 3), (4, 3, 3, 3), (3,)),
                   lambda torch, x, w, b: _f(torch).conv_transpose2d(x, w, b), conv_transpose2d,
                   name="3x3+bias"),
            Sample(((1, 2, 3, 4), (2, 3, 3, 2)),
                   lambda torch, x, w, **k: _f(torch).conv_transpose2d(x, w, **k), conv_transpose2d,
                   kwargs={"stride": 2, "padding": (1, 0), "output_padding": 1},
                   name="stride2-outpad"),
            Sample(((1, 4, 3, 3), (4, 1, 2, 2)),
                   lambda torch, x, w, **k: _f(torch).conv_transpose2d(x, w, **k), conv_transpose2d,
                   kwargs={"groups": 2, "dilation": 2, "padding": 1}, name="groups2-dil2"),
            Sample(((2, 2, 2, 2), (2, 2, 1, 1)),
                   lambda torch, x, w, **k: _f(torch).conv_transpose2d(x, w, **k), conv_transpose2d,
                   kwargs={"stride": 3}, name="1x1-stride3"),
        ]
    )  # fmt: skip


def _torch_conv_weight(torch, x, dy, w_shape, **kw):
    """dw from PyTorch's autograd (create_graph, so its own gradient can be checked too)."""
    w = torch.zeros(w_shape, dtype=x.dtype, requires_grad=True)
    y = torch.nn.functional.conv2d(x, w, **kw)
    return torch.autograd.grad(y, w, dy, create_graph=True)[0]


@register
class Conv2dWeightGrad(Function):
    """dw[f, c] = sum_n correlate(pad(x)[n, c], dy[n, f])   (stride and dilation swap roles)
    dx = conv_transpose2d(dy, grad);  d(dy) = conv2d(x, grad)
    """

    @staticmethod
    def forward(ctx, x, dy, w_shape, spec):
        ctx.save_for_backward(x, dy)
        ctx.spec = spec
        return _conv_weight(ctx.device, x, dy, tuple(w_shape), spec)

    @staticmethod
    def backward(ctx, grad):
        x, dy = ctx.saved_tensors
        need = ctx.needs_input_grad
        dx = ConvTranspose2d.apply(dy, grad, None, ctx.spec, x.shape[2:]) if need[0] else None
        ddy = Conv2d.apply(x, grad, None, ctx.spec) if need[1] else None
        return dx, ddy, None, None

    samples = staticmethod(
        lambda: [
            Sample(((2, 3, 5, 5), (2, 4, 3, 3)),
                   lambda torch, x, dy: _torch_conv_weight(torch, x, dy, (4, 3, 3, 3)),
                   lambda x, dy: conv2d_weight(x, (4, 3, 3, 3), dy), name="3x3"),
            Sample(((1, 4, 7, 6), (1, 2, 4, 4)),
                   lambda torch, x, dy: _torch_conv_weight(
                       torch, x, dy, (2, 2, 2, 3), stride=(2, 1), padding=1, dilation=(1, 2),
                       groups=2),
                   lambda x, dy: conv2d_weight(x, (2, 2, 2, 3), dy, stride=(2, 1), padding=1,
                                               dilation=(1, 2), groups=2),
                   name="stride-pad-dil-groups"),
        ]
    )  # fmt: skip


# ----- argument checks and the public functions ----------------------------------------------


def _check_tensors(op: str, x, weight, bias) -> None:
    for name, t in (("input", x), ("weight", weight), ("bias", bias)):
        if (t is not None or name != "bias") and not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if weight.ndim != 4:
        raise ValueError(
            f"{op}: weight must be 4-D (out, in // groups, kH, kW), got shape {tuple(weight.shape)}"
        )
    if x.ndim not in (3, 4):
        raise ValueError(
            f"{op}: input must be 4-D (N, C, H, W) or 3-D (C, H, W), got shape {tuple(x.shape)}"
        )
    if 0 in weight.shape[2:]:
        raise ValueError(
            f"{op}: the kernel size (kH, kW) = {tuple(weight.shape[2:])} of weight "
            f"{tuple(weight.shape)} has a zero; every kernel dim must be positive"
        )
    for name, t in (("input", x), ("weight", weight), ("bias", bias)):
        if t is not None and not t.dtype.is_floating_point:
            raise RuntimeError(f"{op}: {name} must be a float tensor, got {t.dtype}")
    dts = {str(t.dtype) for t in (x, weight, bias) if t is not None}
    if len(dts) > 1:
        raise RuntimeError(
            f"{op}: input {x.dtype}, weight {weight.dtype}"
            + (f", bias {bias.dtype}" if bias is not None else "")
            + " must share one dtype; convert with .to(dtype)"
        )


def _groups(op: str, groups) -> int:
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    return groups


def _describe(x, weight) -> str:
    return f"(input {tuple(x.shape)}, weight {tuple(weight.shape)})"


def _unbatched(x):
    return x.ndim == 3


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:  # fmt: skip
    """2-D cross-correlation of a batch of images with a bank of filters (PyTorch's conv2d).

    Args:
        x: input (N, C, H, W), or (C, H, W) for one image.
        weight: filters (F, C // groups, kH, kW).
        bias: optional (F,) added to each output channel. Default None.
        stride: int or (sH, sW). Default 1.
        padding: int, (pH, pW), "valid" (= 0) or "same" (output size = input size; stride 1;
            with an even kernel the extra row/column goes bottom/right, as PyTorch). Default 0.
        dilation: int or (dH, dW), the spacing between kernel taps. Default 1.
        groups: split channels into this many independent convolutions (groups = C is
            depthwise). Default 1.

    Shape:
        output (N, F, oH, oW), oH = (H + 2 pH - dH (kH - 1) - 1) // sH + 1 (same for W).

    Example:
        >>> x = tn.randn(1, 5, 100, 100)
        >>> w = tn.randn(10, 5, 5, 5, requires_grad=True)
        >>> conv2d(x, w).shape
        (1, 10, 96, 96)
    """
    op = "conv2d"
    _check_tensors(op, x, weight, bias)
    if _unbatched(x):
        return conv2d(x.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    spec = _conv_spec(op, x.shape, weight.shape, stride, padding, dilation, groups, x, weight)
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(
            f"{op}: bias must have shape ({weight.shape[0]},), one per filter, got "
            f"{tuple(bias.shape)} {_describe(x, weight)}"
        )
    return Conv2d.apply(x, weight, bias, spec)


def _conv_spec(op, x_shape, w_shape, stride, padding, dilation, groups, x, weight) -> ConvSpec:
    """Check conv2d's arguments against the shapes and normalise them to a ConvSpec."""
    N, C, H, W = x_shape
    F, Cg, kH, kW = w_shape
    groups = _groups(op, groups)
    stride = _pair(op, "stride", stride, 1)
    dilation = _pair(op, "dilation", dilation, 1)
    if C % groups:
        raise ValueError(
            f"{op}: groups={groups} does not divide the {C} input channels {_describe(x, weight)}"
        )
    if F % groups:
        raise ValueError(
            f"{op}: groups={groups} does not divide the {F} filters (out channels) "
            f"{_describe(x, weight)}"
        )
    if Cg * groups != C:
        raise ValueError(
            f"{op}: input has {C} channels, weight expects {Cg * groups} "
            f"(= {Cg} per group x groups={groups}) {_describe(x, weight)}"
        )
    if isinstance(padding, str):
        if padding == "valid":
            pads = (0, 0, 0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise ValueError(
                    f"{op}: padding='same' needs stride 1, got stride={stride}; "
                    "pad explicitly for strided convolutions"
                )
            pads = ()
            for d, k in zip(dilation, (kH, kW)):  # as PyTorch: the odd extra goes after
                total = d * (k - 1)
                pads += (total // 2, total - total // 2)
        else:
            raise ValueError(
                f"{op}: padding must be 'valid', 'same', an int or a pair, got {padding!r}"
            )
    else:
        pH, pW = _pair(op, "padding", padding, 0)
        pads = (pH, pH, pW, pW)
    spec = ConvSpec(stride, pads, dilation, groups)
    eH, eW = dilation[0] * (kH - 1) + 1, dilation[1] * (kW - 1) + 1
    if eH > H + pads[0] + pads[1] or eW > W + pads[2] + pads[3]:
        raise ValueError(
            f"{op}: kernel {kH}x{kW} (spanning {eH}x{eW} with dilation {dilation}) is larger than "
            f"the padded input {H + pads[0] + pads[1]}x{W + pads[2] + pads[3]} "
            f"{_describe(x, weight)}, padding={padding!r}; pad more or use a smaller kernel"
        )
    return spec


def conv_transpose2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:  # fmt: skip
    """Transposed convolution: the gradient of conv2d with respect to its input (PyTorch's).

    Each input pixel scatters its value times the filter onto the output; it is
    the adjoint of `conv2d` with the same weight, stride, padding and dilation.

    Args:
        x: input (N, C_in, H, W), or (C_in, H, W).
        weight: (C_in, C_out // groups, kH, kW) (the layout of the conv2d it transposes).
        bias: optional (C_out,). Default None.
        stride, padding, dilation: as the conv2d being transposed (int or pair).
        output_padding: extra rows/columns added on one side of the output, to pick among
            the input sizes a strided conv2d maps to the same size; less than stride or
            dilation. Default 0.
        groups: as conv2d. Default 1.

    Shape:
        output (N, C_out, oH, oW), oH = (H - 1) sH - 2 pH + dH (kH - 1) + output_padding + 1.

    Example:
        >>> conv_transpose2d(tn.randn(1, 4, 8, 8), tn.randn(4, 2, 3, 3), stride=2).shape
        (1, 2, 17, 17)
    """
    op = "conv_transpose2d"
    _check_tensors(op, x, weight, bias)
    if _unbatched(x):
        return conv_transpose2d(x.unsqueeze(0), weight, bias, stride, padding, output_padding,
                                groups, dilation).squeeze(0)  # fmt: skip
    N, C, H, W = x.shape
    Cin, Cg_out, kH, kW = weight.shape
    groups = _groups(op, groups)
    stride = _pair(op, "stride", stride, 1)
    dilation = _pair(op, "dilation", dilation, 1)
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding must be an int or a pair, got {padding!r}")
    pH, pW = _pair(op, "padding", padding, 0)
    opH, opW = _pair(op, "output_padding", output_padding, 0)
    if C != Cin:
        raise ValueError(
            f"{op}: input has {C} channels, weight expects {Cin} {_describe(x, weight)}"
        )
    if Cin % groups:
        raise ValueError(
            f"{op}: groups={groups} does not divide the {Cin} input channels {_describe(x, weight)}"
        )
    for o, s, d in ((opH, stride[0], dilation[0]), (opW, stride[1], dilation[1])):
        if o >= max(s, d):
            raise ValueError(
                f"{op}: output_padding={output_padding!r} must be smaller than stride {stride} "
                f"or dilation {dilation}"
            )
    oH = (H - 1) * stride[0] - 2 * pH + dilation[0] * (kH - 1) + opH + 1
    oW = (W - 1) * stride[1] - 2 * pW + dilation[1] * (kW - 1) + opW + 1
    if oH < 1 or oW < 1:
        raise ValueError(
            f"{op}: the output would be {oH}x{oW} {_describe(x, weight)}, stride={stride}, "
            f"padding={padding!r}; use less padding"
        )
    if bias is not None and tuple(bias.shape) != (Cg_out * groups,):
        raise ValueError(
            f"{op}: bias must have shape ({Cg_out * groups},), one per output channel, got "
            f"{tuple(bias.shape)} {_describe(x, weight)}"
        )
    # The conv2d this transposes: an output_padding of a whole stride or more (allowed when
    # dilation > stride) adds rows that conv2d would map to an extra output row: crop them.
    pads = (pH, pH - stride[0] * (opH // stride[0]), pW, pW - stride[1] * (opW // stride[1]))
    spec = ConvSpec(stride, pads, dilation, groups)
    return ConvTranspose2d.apply(x, weight, bias, spec, (oH, oW))


def conv2d_weight(x: Tensor, weight_size, grad_output: Tensor, stride=1, padding=0, dilation=1,
                  groups: int = 1) -> Tensor:  # fmt: skip
    """The gradient of conv2d with respect to its weight (as torch.nn.grad.conv2d_weight).

    dw[f, c] is the cross-correlation of input channel c with output-gradient
    channel f, summed over the batch (docs/conv2d.md). Differentiable.

    Args:
        x: the conv2d input (N, C, H, W).
        weight_size: (F, C // groups, kH, kW).
        grad_output: dE/dy, (N, F, oH, oW).
        stride, padding, dilation, groups: as the conv2d.

    Shape:
        output `weight_size`.

    Example:
        >>> dw = conv2d_weight(tn.randn(1, 5, 100, 100), (10, 5, 5, 5), tn.randn(1, 10, 96, 96))
    """
    op = "conv2d_weight"
    weight_size = tuple(int(s) for s in weight_size)
    if len(weight_size) != 4:
        raise ValueError(f"{op}: weight_size must have 4 numbers, got {weight_size}")
    if not isinstance(x, Tensor) or not isinstance(grad_output, Tensor):
        raise TypeError(f"{op}: input and grad_output must be Tensors")
    if x.ndim != 4 or grad_output.ndim != 4:
        raise ValueError(
            f"{op}: input and grad_output must be 4-D, got {tuple(x.shape)} and "
            f"{tuple(grad_output.shape)}"
        )
    proxy = _Shape(weight_size)
    spec = _conv_spec(op, x.shape, weight_size, stride, padding, dilation, groups, x, proxy)
    want = (x.shape[0], weight_size[0]) + spec.out_hw(*x.shape[2:], *weight_size[2:])
    if tuple(grad_output.shape) != want:
        raise ValueError(
            f"{op}: grad_output has shape {tuple(grad_output.shape)}, the conv2d output is {want}"
        )
    if grad_output.dtype != x.dtype:
        raise RuntimeError(f"{op}: input {x.dtype} and grad_output {grad_output.dtype} differ")
    return Conv2dWeightGrad.apply(x, grad_output, weight_size, spec)


def conv2d_input(input_size, weight: Tensor, grad_output: Tensor, stride=1, padding=0, dilation=1,
                 groups: int = 1) -> Tensor:  # fmt: skip
    """The gradient of conv2d with respect to its input (as torch.nn.grad.conv2d_input).

    Equal to conv_transpose2d(grad_output, weight, ...) with the output_padding
    that gives back `input_size`. Differentiable.

    Args:
        input_size: (N, C, H, W) of the conv2d input.
        weight: (F, C // groups, kH, kW).
        grad_output: dE/dy, (N, F, oH, oW).
        stride, padding, dilation, groups: as the conv2d.

    Shape:
        output `input_size`.

    Example:
        >>> dx = conv2d_input((1, 5, 100, 100), tn.randn(10, 5, 5, 5), tn.randn(1, 10, 96, 96))
    """
    op = "conv2d_input"
    input_size = tuple(int(s) for s in input_size)
    if len(input_size) != 4:
        raise ValueError(f"{op}: input_size must have 4 numbers (N, C, H, W), got {input_size}")
    _check_tensors(op, grad_output, weight, None)
    proxy = _Shape(input_size)
    spec = _conv_spec(op, input_size, weight.shape, stride, padding, dilation, groups, proxy,
                      weight)  # fmt: skip
    want = (input_size[0], weight.shape[0]) + spec.out_hw(*input_size[2:], *weight.shape[2:])
    if tuple(grad_output.shape) != want:
        raise ValueError(
            f"{op}: grad_output has shape {tuple(grad_output.shape)}, the conv2d output is {want}"
        )
    return ConvTranspose2d.apply(grad_output, weight, None, spec, input_size[2:])
