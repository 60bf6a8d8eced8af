"""Sliding blocks of images as columns and back: im2col (torch's F.unfold) and col2im (F.fold).

The same kernels as conv2d's (ops/conv.py): a strided view of the padded input gives
every receptive field at once, and the backend's col2im adds columns back tap by tap.
The two Functions are each other's adjoint, so each one's backward is the other.
"""

from __future__ import annotations

from ..autograd.function import Function
from ..tensor import Tensor
from .conv import ConvSpec, _Cols, _pad, _pair, _windows
from .registry import Arg, Sample, register

__all__ = ["im2col", "col2im"]


def _layout(H: int, W: int, kernel: tuple, spec: ConvSpec) -> _Cols:
    """The compact column layout (pitch = oW) for one group of C channels."""
    oH, oW = spec.out_hw(H, W, *kernel)
    return _Cols(0, oH * oW, oW, oH, oW, False)


@register
class Im2col(Function):
    """y[n, (c, i, j), (oy, ox)] = xpad[n, c, oy*sH + i*dH, ox*sW + j*dW]
    dx = col2im(grad)   (each column entry added back where it was read)
    """

    @staticmethod
    def forward(ctx, x, kernel, spec):
        N, C, H, W = x.shape
        ctx.hw, ctx.kernel, ctx.spec = (H, W), kernel, spec
        lay = _layout(H, W, kernel, spec)
        xpad = _pad(ctx.device.xp, x, spec.padding)
        view = _windows(ctx.device.backend, xpad, (1, C) + kernel, spec, lay)
        return view.reshape(N, C * kernel[0] * kernel[1], lay.L)  # the one copy

    @staticmethod
    def backward(ctx, grad):
        return Col2im.apply(grad, ctx.hw, ctx.kernel, ctx.spec), None, None


@register
class Col2im(Function):
    """y = zeros(N, C, H, W) with y[n, c, oy*sH + i*dH - pH, ox*sW + j*dW - pW]
           += x[n, (c, i, j), (oy, ox)]   (overlapping blocks add up)
    dx = im2col(grad)
    """

    @staticmethod
    def forward(ctx, x, hw, kernel, spec):
        ctx.kernel, ctx.spec = kernel, spec
        (H, W), (kH, kW) = hw, kernel
        N, L = x.shape[0], x.shape[2]
        C = x.shape[1] // (kH * kW)
        lay = _layout(H, W, kernel, spec)
        pt, pb, pl, pr = spec.padding
        out = ctx.device.xp.zeros((N, C, H + pt + pb, W + pl + pr), dtype=x.dtype)
        ctx.device.backend.col2im(
            x.reshape(N, C, kH, kW, L), out, kernel, spec.stride, spec.dilation,
            (lay.oH, lay.oW), lay.pitch,
        )  # fmt: skip
        return out[:, :, pt : pt + H, pl : pl + W]

    @staticmethod
    def backward(ctx, grad):
        return Im2col.apply(grad, ctx.kernel, ctx.spec), None, None, None


def _spec(op: str, kernel_size, dilation, padding, stride):
    kernel = _pair(op, "kernel_size", kernel_size, 1)
    p = _pair(op, "padding", padding, 0)
    spec = ConvSpec(_pair(op, "stride", stride, 1), (p[0], p[0], p[1], p[1]),
                    _pair(op, "dilation", dilation, 1), 1)  # fmt: skip
    return kernel, spec


def im2col(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Every sliding block of a batch of images as a column (torch.nn.functional.unfold).

    Args:
        input: (N, C, H, W), or (C, H, W) for one image.
        kernel_size: int or (kH, kW), the block size.
        dilation: int or pair, the spacing between a block's elements. Default 1.
        padding: int or pair, zeros added on both sides of H and W. Default 0.
        stride: int or pair, the step between blocks. Default 1.

    Shape:
        output (N, C * kH * kW, L): L = oH * oW blocks, oH = (H + 2 pH - dH (kH - 1) - 1)
        // sH + 1 (same for W); row (c, i, j) holds element (i, j) of channel c's block.

    Example:
        >>> im2col(tn.randn(2, 3, 5, 5), 3).shape
        (2, 27, 9)
    """
    op = "unfold"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim == 3:
        return im2col(input.unsqueeze(0), kernel_size, dilation, padding, stride).squeeze(0)
    if input.ndim != 4:
        raise RuntimeError(
            f"{op}: input must be 4-D (N, C, H, W) or 3-D (C, H, W), got shape {tuple(input.shape)}"
        )
    kernel, spec = _spec(op, kernel_size, dilation, padding, stride)
    oH, oW = spec.out_hw(input.shape[2], input.shape[3], *kernel)
    if oH < 1 or oW < 1:
        raise RuntimeError(
            f"{op}: kernel {kernel} with dilation {spec.dilation} does not fit the padded input "
            f"of shape {tuple(input.shape)} (padding {padding}): no block remains"
        )
    return Im2col.apply(input, kernel, spec)


def col2im(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Columns of sliding blocks summed back into images (torch.nn.functional.fold), the
    adjoint of `im2col` with the same arguments: overlapping block elements add up.

    Args:
        input: (N, C * kH * kW, L), or (C * kH * kW, L) for one image.
        output_size: int or (H, W), the size of the images.
        kernel_size, dilation, padding, stride: as in `im2col`.

    Shape:
        output (N, C, H, W); L must be the number of blocks im2col gives for (H, W).

    Example:
        >>> col2im(tn.randn(2, 27, 9), (5, 5), 3).shape
        (2, 3, 5, 5)
    """
    op = "fold"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim == 2:
        out = col2im(input.unsqueeze(0), output_size, kernel_size, dilation, padding, stride)
        return out.squeeze(0)
    if input.ndim != 3:
        raise RuntimeError(
            f"{op}: input must be 3-D (N, C * kH * kW, L) or 2-D, got shape {tuple(input.shape)}"
        )
    hw = _pair(op, "output_size", output_size, 1)
    kernel, spec = _spec(op, kernel_size, dilation, padding, stride)
    kk = kernel[0] * kernel[1]
    if input.shape[1] % kk:
        raise RuntimeError(
            f"{op}: input's dim 1 ({input.shape[1]}) must be divisible by kH * kW = {kk} "
            f"(input of shape {tuple(input.shape)}, kernel_size {kernel})"
        )
    oH, oW = spec.out_hw(*hw, *kernel)
    if oH < 1 or oW < 1 or input.shape[2] != oH * oW:
        raise RuntimeError(
            f"{op}: input has {input.shape[2]} blocks but output_size {hw} with kernel "
            f"{kernel}, dilation {spec.dilation}, padding {padding}, stride {spec.stride} "
            f"gives {max(oH, 0) * max(oW, 0)} (input of shape {tuple(input.shape)})"
        )
    return Col2im.apply(input, hw, kernel, spec)


# ----- registry samples and torch oracles ------------------------------------------------


def _unfold_fns(**kw):
    return (lambda torch, a, k: torch.nn.functional.unfold(a, k, **kw)), (
        lambda a, k: im2col(a, k, **kw)
    )


def _fold_fns(size, **kw):
    return (lambda torch, a, k: torch.nn.functional.fold(a, size, k, **kw)), (
        lambda a, k: col2im(a, size, k, **kw)
    )


Im2col.samples = staticmethod(
    lambda: [
        Sample(((2, 3, 5, 6), Arg(3)), *_unfold_fns()),
        Sample(((1, 2, 7, 6), Arg((2, 3))), *_unfold_fns(stride=2, padding=1), name="stride pad"),
        Sample(((2, 2, 7, 7), Arg(2)), *_unfold_fns(dilation=(2, 1), stride=(1, 2)),
               name="dilation"),
        Sample(((3, 6, 5), Arg(2)), *_unfold_fns(padding=(0, 1)), name="unbatched"),
    ]
)  # fmt: skip

Col2im.samples = staticmethod(
    lambda: [
        Sample(((2, 27, 12), Arg(3)), *_fold_fns((5, 6))),
        Sample(((1, 12, 12), Arg((2, 3))), *_fold_fns((7, 6), stride=2, padding=1),
               name="stride pad"),
        Sample(((2, 8, 15), Arg(2)), *_fold_fns((7, 7), dilation=(2, 1), stride=(1, 2)),
               name="dilation"),
        Sample(((12, 30), Arg(2)), *_fold_fns((6, 5), padding=(0, 1)), name="unbatched"),
    ]
)  # fmt: skip
