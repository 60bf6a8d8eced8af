"""From the cs231n loops to tinynet: `conv_forward_naive` and `conv_backward_naive`.

Run: python examples/cs231n_bridge.py

Stanford's cs231n (assignment 2) has you write a convolutional layer as plain
loops, with these two functions, names and signatures:

    out, cache = conv_forward_naive(x, w, b, conv_param)   # conv_param = {"stride": s, "pad": p}
    dx, dw, db = conv_backward_naive(dout, cache)

They are written here as a learner would, with the index names of
docs/conv2d.md ((oy, ox) output pixel, the patch of input it reads, f filter),
then checked against tinynet's `F.conv2d` and its autograd on a grid of N, C, F,
stride and pad. The last function, `conv_backward_gemm`, is the same backward
with each loop turned into a matrix product: the loop over output pixels that
adds `dout * patch` into dw becomes `dY @ cols.T` (docs/conv2d.md, step 11).
"""

from __future__ import annotations

import itertools

import numpy as np

import tinynet as tn
import tinynet.nn.functional as F


def conv_forward_naive(x, w, b, conv_param):
    """A naive forward pass for a convolutional layer.

    Inputs:
    - x: input data of shape (N, C, H, W)
    - w: filter weights of shape (F, C, HH, WW)
    - b: biases, of shape (F,)
    - conv_param: a dictionary with "stride" (pixels between neighbouring receptive fields,
      both directions) and "pad" (zeros added on each side of the input, both directions)

    Returns a tuple of:
    - out: output data, of shape (N, F, H', W') where
        H' = 1 + (H + 2 * pad - HH) // stride
        W' = 1 + (W + 2 * pad - WW) // stride
    - cache: (x, w, b, conv_param)
    """
    N, C, H, W = x.shape
    nf, _, kH, kW = w.shape  # cs231n's F, HH, WW
    s, p = conv_param["stride"], conv_param["pad"]
    x_pad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    oH = 1 + (H + 2 * p - kH) // s
    oW = 1 + (W + 2 * p - kW) // s
    out = np.zeros((N, nf, oH, oW), dtype=np.result_type(x, w))
    for n in range(N):
        for f in range(nf):
            for oy in range(oH):
                for ox in range(oW):
                    patch = x_pad[n, :, oy * s : oy * s + kH, ox * s : ox * s + kW]  # (C, kH, kW)
                    out[n, f, oy, ox] = np.sum(patch * w[f]) + b[f]
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    """A naive backward pass for a convolutional layer.

    Inputs:
    - dout: upstream derivatives, of shape (N, F, H', W')
    - cache: a tuple (x, w, b, conv_param) as in conv_forward_naive

    Returns a tuple of:
    - dx: gradient with respect to x
    - dw: gradient with respect to w
    - db: gradient with respect to b
    """
    x, w, b, conv_param = cache
    N, C, H, W = x.shape
    nf, _, kH, kW = w.shape
    s, p = conv_param["stride"], conv_param["pad"]
    x_pad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dx_pad = np.zeros_like(x_pad, dtype=np.result_type(x, w, dout))
    dw = np.zeros(w.shape, dtype=dx_pad.dtype)
    db = dout.sum(axis=(0, 2, 3))  # b[f] was added to every pixel of output channel f
    _, _, oH, oW = dout.shape
    for n in range(N):
        for f in range(nf):
            for oy in range(oH):
                for ox in range(oW):
                    rows = slice(oy * s, oy * s + kH)
                    cols = slice(ox * s, ox * s + kW)
                    # out[n, f, oy, ox] = sum(patch * w[f]) + b[f]: so its gradient flows to
                    # the patch, times w[f], and to w[f], times the patch
                    dx_pad[n, :, rows, cols] += dout[n, f, oy, ox] * w[f]
                    dw[f] += dout[n, f, oy, ox] * x_pad[n, :, rows, cols]
    dx = dx_pad[:, :, p : p + H, p : p + W]  # the padding zeros were constants: crop them
    return dx, dw, db


def conv_backward_gemm(dout, cache):
    """conv_backward_naive with each loop nest turned into one matrix product per image.

    cols[n] holds one patch per column: cols[n][(c, ky, kx), (oy, ox)] =
    x_pad[n, c, oy*s + ky, ox*s + kx]. The loop `for oy, ox: dw[f] += dout[n, f, oy, ox] *
    patch` sums over the output pixels, the shared index of dY = dout[n] as (F, oH*oW) and
    cols[n].T, so it is (dY @ cols[n].T)[f]; `dx_pad[patch] += dout * w[f]` is the column
    (oy, ox) of W2.T @ dY, added back onto its patch (col2im).
    """
    x, w, b, conv_param = cache
    N, C, H, W = x.shape
    nf, _, kH, kW = w.shape
    s, p = conv_param["stride"], conv_param["pad"]
    _, _, oH, oW = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    win = np.lib.stride_tricks.sliding_window_view(x_pad, (kH, kW), axis=(2, 3))
    win = win[:, :, : (oH - 1) * s + 1 : s, : (oW - 1) * s + 1 : s]  # [n, c, oy, ox, ky, kx]
    cols = win.transpose(0, 1, 4, 5, 2, 3).reshape(N, C * kH * kW, oH * oW)
    W2 = w.reshape(nf, C * kH * kW)
    dw = np.zeros(W2.shape, dtype=np.result_type(x, w, dout))
    dx_pad = np.zeros_like(x_pad, dtype=dw.dtype)
    for n in range(N):
        dY = dout[n].reshape(nf, oH * oW)
        dw += dY @ cols[n].T  # the loop over output pixels, as one product
        dcols = (W2.T @ dY).reshape(C, kH, kW, oH, oW)  # each pixel's patch gradient
        for ky in range(kH):  # col2im: a loop over kernel taps, never over pixels
            for kx in range(kW):
                dx_pad[n, :, ky : ky + s * (oH - 1) + 1 : s, kx : kx + s * (oW - 1) + 1 : s] += (
                    dcols[:, ky, kx]
                )
    return dx_pad[:, :, p : p + H, p : p + W], dw.reshape(w.shape), dout.sum(axis=(0, 2, 3))


def tinynet_conv(x, w, b, conv_param, dout):
    """out, dx, dw, db from tinynet's conv2d and autograd (the reference here)."""
    tx, tw, tb = (tn.tensor(a, requires_grad=True) for a in (x, w, b))
    out = F.conv2d(tx, tw, tb, stride=conv_param["stride"], padding=conv_param["pad"])
    out.backward(tn.tensor(dout))
    return out.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()


GRID = dict(N=(1, 2), C=(1, 3), F=(1, 2), stride=(1, 2, 3), pad=(0, 1, 2))


def check(H=7, W=8, k=3, seed=0) -> int:
    """Compare the loops (and the GEMM version) with tinynet on every point of GRID."""
    rng = np.random.default_rng(seed)
    cases = 0
    for N, C, nf, s, p in itertools.product(*GRID.values()):
        x = rng.standard_normal((N, C, H, W))
        w = rng.standard_normal((nf, C, k, k))
        b = rng.standard_normal(nf)
        param = {"stride": s, "pad": p}
        out, cache = conv_forward_naive(x, w, b, param)
        dout = rng.standard_normal(out.shape)
        mine = (out, *conv_backward_naive(dout, cache))
        ref = tinynet_conv(x, w, b, param, dout)
        for name, a, r in zip(("out", "dx", "dw", "db"), mine, ref):
            if a.shape != r.shape or not np.allclose(a, r, rtol=1e-10, atol=1e-10):
                raise AssertionError(f"{name} differs for N={N} C={C} F={nf} stride={s} pad={p}")
        for name, a, r in zip(("dx", "dw", "db"), conv_backward_gemm(dout, cache), mine[1:]):
            if not np.allclose(a, r, rtol=1e-10, atol=1e-10):
                raise AssertionError(f"gemm {name} differs for N={N} C={C} F={nf} s={s} p={p}")
        cases += 1
    return cases


def main() -> None:
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 3, 7, 7)), rng.standard_normal((4, 3, 3, 3)), np.zeros(4)
    out, cache = conv_forward_naive(x, w, b, {"stride": 2, "pad": 1})
    dx, dw, db = conv_backward_naive(np.ones_like(out), cache)
    print(f"x {x.shape}, w {w.shape}, stride 2, pad 1 -> out {out.shape}; dx {dx.shape}, "
          f"dw {dw.shape}, db {db.shape}")  # fmt: skip
    n = check()
    print(
        f"conv_forward_naive / conv_backward_naive agree with tinynet on all {n} cases of "
        f"{ {k: list(v) for k, v in GRID.items()} }, and so does the dY @ cols.T version."
    )


if __name__ == "__main__":
    main()
