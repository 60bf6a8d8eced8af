"""The plain-loop convolution: forward, dX, dW and db, written to be read, not to be fast.

Every option of `tinynet.ops.conv` (stride, padding including "same", dilation,
groups) appears here as the loops a textbook would write, on NumPy arrays. Step
through it in a debugger to see which input pixels each output and each
gradient touches; the test suite uses it as an oracle that shares no code with
the vectorised ops. docs/conv2d.md derives every line.

Index names, the same in docs/conv2d.md, ops/conv.py and backend/cpu.py:
n image, f filter (output channel), c input channel (within its group), g group,
(oy, ox) output pixel, (ky, kx) kernel tap, (iy, ix) input pixel. Arrays are x
(input), w (weights), b (bias), y (output), and dy, dx, dw, db their gradients;
sH/sW, dH/dW are stride and dilation, and xpad is x with its padding.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "correlate2d_valid", "conv2d", "conv2d_backward", "conv2d_input", "conv2d_weight",
    "conv_transpose2d", "padding_amounts",
]  # fmt: skip


def _pair(v) -> tuple[int, int]:
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


def padding_amounts(padding, kernel_hw, dilation=1) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) for an int, a pair, "valid" or "same" (PyTorch's rule:
    total d * (k - 1), the odd extra on the bottom / right)."""
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        out = ()
        for k, d in zip(kernel_hw, _pair(dilation)):
            total = d * (k - 1)
            out += (total // 2, total - total // 2)
        return out
    pH, pW = _pair(padding)
    return (pH, pH, pW, pW)


def _pad(x, pads):
    pt, pb, pl, pr = pads
    return np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))


def correlate2d_valid(a, k):
    """out[oy, ox] = sum_{ky,kx} a[oy + ky, ox + kx] * k[ky, kx]: one channel, no padding."""
    H, W = a.shape
    kH, kW = k.shape
    out = np.zeros((H - kH + 1, W - kW + 1), dtype=np.result_type(a, k))
    for oy in range(out.shape[0]):
        for ox in range(out.shape[1]):
            for ky in range(kH):
                for kx in range(kW):
                    out[oy, ox] += a[oy + ky, ox + kx] * k[ky, kx]
    return out


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """y[n, f, oy, ox] = b[f] + sum_{c,ky,kx} xpad[n, g*Cg + c, oy*sH + ky*dH, ox*sW + kx*dW]
    * w[f, c, ky, kx], where g = f // (F // groups) is the group of filter f."""
    N, C, H, W = x.shape
    F, Cg, kH, kW = w.shape
    (sH, sW), (dH, dW) = _pair(stride), _pair(dilation)
    xpad = _pad(x, padding_amounts(padding, (kH, kW), dilation))
    oH = (xpad.shape[2] - dH * (kH - 1) - 1) // sH + 1
    oW = (xpad.shape[3] - dW * (kW - 1) - 1) // sW + 1
    Fg = F // groups
    y = np.zeros((N, F, oH, oW), dtype=np.result_type(x, w))
    for n in range(N):
        for f in range(F):
            c0 = (f // Fg) * Cg  # the first input channel of this filter's group
            for oy in range(oH):
                for ox in range(oW):
                    # the receptive field of output pixel (oy, ox): Cg x kH x kW input values
                    patch = xpad[n, c0 : c0 + Cg,
                               oy * sH : oy * sH + dH * (kH - 1) + 1 : dH,
                               ox * sW : ox * sW + dW * (kW - 1) + 1 : dW]  # fmt: skip
                    y[n, f, oy, ox] = np.sum(patch * w[f])
            if b is not None:
                y[n, f] += b[f]
    return y


def conv2d_backward(x, w, dy, stride=1, padding=0, dilation=1, groups=1, bias=True):
    """(dx, dw, db) of conv2d, given dy = dE/dy. Every output pixel sent x's patch times w[f]
    forward, so backward sends dy[n, f, oy, ox] times w[f] back onto that patch (dx), and
    x's patch times dy[n, f, oy, ox] into w[f] (dw)."""
    N, C, H, W = x.shape
    F, Cg, kH, kW = w.shape
    (sH, sW), (dH, dW) = _pair(stride), _pair(dilation)
    pads = padding_amounts(padding, (kH, kW), dilation)
    xpad = _pad(x, pads)
    dxpad = np.zeros_like(xpad, dtype=np.result_type(x, w, dy))
    dw = np.zeros(w.shape, dtype=dxpad.dtype)
    Fg = F // groups
    oH, oW = dy.shape[2:]
    for n in range(N):
        for f in range(F):
            c0 = (f // Fg) * Cg
            for oy in range(oH):
                for ox in range(oW):
                    # the receptive field: rows oy*sH + ky*dH, columns ox*sW + kx*dW
                    iy = slice(oy * sH, oy * sH + dH * (kH - 1) + 1, dH)
                    ix = slice(ox * sW, ox * sW + dW * (kW - 1) + 1, dW)
                    grad = dy[n, f, oy, ox]
                    dxpad[n, c0 : c0 + Cg, iy, ix] += grad * w[f]
                    dw[f] += grad * xpad[n, c0 : c0 + Cg, iy, ix]
    pt, pb, pl, pr = pads
    dx = dxpad[:, :, pt : pt + H, pl : pl + W]
    db = dy.sum(axis=(0, 2, 3)) if bias else None
    return dx, dw, db


def conv2d_weight(x, w_shape, dy, stride=1, padding=0, dilation=1, groups=1):
    """dw alone, written as the correlation the docs derive: for each filter f and each of its
    input channels c, dw[f, c] = sum_n correlate(xpad[n, channel c of f's group], dy[n, f])
    with dy as the kernel, dilated by the stride and stepping by the dilation."""
    F, Cg, kH, kW = w_shape
    (sH, sW), (dH, dW) = _pair(stride), _pair(dilation)
    xpad = _pad(x, padding_amounts(padding, (kH, kW), dilation))
    N, oH, oW = dy.shape[0], dy.shape[2], dy.shape[3]
    Fg = F // groups
    dw = np.zeros(w_shape, dtype=np.result_type(x, dy))
    for f in range(F):
        c0 = (f // Fg) * Cg
        for c in range(Cg):
            for ky in range(kH):
                for kx in range(kW):
                    for n in range(N):
                        # tap (ky, kx) of filter f saw these oH x oW input values, one per output
                        seen = xpad[n, c0 + c,
                                  ky * dH : ky * dH + sH * (oH - 1) + 1 : sH,
                                  kx * dW : kx * dW + sW * (oW - 1) + 1 : sW]  # fmt: skip
                        dw[f, c, ky, kx] += np.sum(seen * dy[n, f])
    return dw


def conv2d_input(x_shape, w, dy, stride=1, padding=0, dilation=1, groups=1):
    """dx alone: each dy[n, f, oy, ox] spread over its receptive field, times w[f]."""
    N, C, H, W = x_shape
    F, Cg, kH, kW = w.shape
    (sH, sW), (dH, dW) = _pair(stride), _pair(dilation)
    pt, pb, pl, pr = padding_amounts(padding, (kH, kW), dilation)
    dxpad = np.zeros((N, C, H + pt + pb, W + pl + pr), dtype=np.result_type(w, dy))
    Fg = F // groups
    for n in range(N):
        for f in range(F):
            c0 = (f // Fg) * Cg
            for oy in range(dy.shape[2]):
                for ox in range(dy.shape[3]):
                    iy = slice(oy * sH, oy * sH + dH * (kH - 1) + 1, dH)
                    ix = slice(ox * sW, ox * sW + dW * (kW - 1) + 1, dW)
                    dxpad[n, c0 : c0 + Cg, iy, ix] += dy[n, f, oy, ox] * w[f]
    return dxpad[:, :, pt : pt + H, pl : pl + W]


def conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The transpose of conv2d: conv2d_input with x in the role of dy and w of shape
    (C_in, C_out // groups, kH, kW); output_padding adds rows/columns at the bottom/right."""
    N, Cin, H, W = x.shape
    _, Cg_out, kH, kW = w.shape
    (sH, sW), (dH, dW) = _pair(stride), _pair(dilation)
    (pH, pW), (oph, opw) = _pair(padding), _pair(output_padding)
    oH = (H - 1) * sH - 2 * pH + dH * (kH - 1) + oph + 1
    oW = (W - 1) * sW - 2 * pW + dW * (kW - 1) + opw + 1
    y = conv2d_input((N, Cg_out * groups, oH, oW), w, x, stride, (pH, pW), dilation, groups)
    if b is not None:
        y = y + b.reshape(1, -1, 1, 1)
    return y
