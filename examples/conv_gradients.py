"""dE/dF for a convolution with many channels and filters, three ways (docs/conv2d.md).

The classic question: an input X of 5 channels x 100 x 100, 10 filters of
5 x 5 x 5, so the output O is 10 x 96 x 96, and some dE/dO arrives from the
layers above. What is dE/dF, the gradient of each filter?

    dE/dF[f, c] = the valid cross-correlation of X[c] with dE/dO[f]

This script computes it with tinynet's autograd, with one small correlation per
(filter, channel) pair, and with the plain loops of tinynet/ops/conv_reference.py,
shows that they agree, and saves a picture of filter 0's gradient, channel by
channel: they differ, because each channel's gradient correlates the same
dE/dO[0] with a different input channel.

    python examples/conv_gradients.py [--out conv_gradients.png]

The picture needs matplotlib (`pip install matplotlib`, or tinynet[plot]).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import tinynet as tn
import tinynet.nn.functional as F
from tinynet.ops import conv_reference as ref


def make_input(rng) -> np.ndarray:
    """Five channels with different patterns, so that their gradients visibly differ."""
    yy, xx = np.mgrid[0:100, 0:100] / 100.0
    channels = [
        np.sin(2 * np.pi * 12 * yy),  # horizontal stripes
        np.sin(2 * np.pi * 12 * xx),  # vertical stripes
        np.sin(2 * np.pi * 9 * (xx + yy)),  # diagonal stripes
        np.sign(np.sin(2 * np.pi * 6 * xx) * np.sin(2 * np.pi * 6 * yy)),  # checkerboard
        rng.standard_normal((100, 100)),  # noise
    ]
    return np.stack(channels)


def correlate_valid(a: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Valid cross-correlation of one channel `a` with one kernel `k` (here k is dE/dO[f],
    96 x 96, so the output is 5 x 5: one product-sum per position)."""
    oH, oW = a.shape[0] - k.shape[0] + 1, a.shape[1] - k.shape[1] + 1
    out = np.empty((oH, oW))
    for oy in range(oH):
        for ox in range(oW):
            out[oy, ox] = np.sum(a[oy : oy + k.shape[0], ox : ox + k.shape[1]] * k)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="conv_gradients.png", help="where to save the picture")
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    X = make_input(rng)  # (5, 100, 100)
    W = rng.standard_normal((10, 5, 5, 5)) * 0.1  # 10 filters of 5 x 5 x 5
    dO = rng.standard_normal((10, 96, 96))  # the given dE/dO
    print("X", X.shape, " filters", W.shape, " dE/dO", dO.shape)

    # 1. tinynet autograd: the forward records the graph, backward(dE/dO) fills W.grad
    t = time.perf_counter()
    x = tn.tensor(X[None])  # a batch of one image
    w = tn.tensor(W, requires_grad=True)
    O = F.conv2d(x, w)
    assert O.shape == (1, 10, 96, 96)
    O.backward(tn.tensor(dO[None]))
    dF_autograd = w.grad.numpy()
    t_autograd = time.perf_counter() - t

    # 2. one correlation per (filter, channel) pair: dE/dF[f, c] = correlate(X[c], dE/dO[f])
    t = time.perf_counter()
    dF_corr = np.array([[correlate_valid(X[c], dO[f]) for c in range(5)] for f in range(10)])
    t_corr = time.perf_counter() - t

    # 3. plain loops over every (filter, output pixel): tinynet/ops/conv_reference.py
    t = time.perf_counter()
    _, dF_loops, _ = ref.conv2d_backward(X[None], W, dO[None])
    t_loops = time.perf_counter() - t

    print(f"dE/dF shape {dF_autograd.shape}")
    print(f"  tinynet autograd         {1e3 * t_autograd:8.1f} ms (forward + backward)")
    print(f"  per-channel correlation  {1e3 * t_corr:8.1f} ms   "
          f"max |difference| {np.abs(dF_corr - dF_autograd).max():.1e}")  # fmt: skip
    print(f"  plain loops              {1e3 * t_loops:8.1f} ms   "
          f"max |difference| {np.abs(dF_loops - dF_autograd).max():.1e}")  # fmt: skip
    scale = np.abs(dF_autograd).max()
    assert np.abs(dF_corr - dF_autograd).max() <= 1e-9 * scale
    assert np.abs(dF_loops - dF_autograd).max() <= 1e-9 * scale
    print("the three agree.")

    spread = [np.abs(dF_autograd[0, c] - dF_autograd[0, 0]).max() for c in range(1, 5)]
    print("filter 0: largest difference between channel 0's gradient and channels 1-4:",
          ", ".join(f"{s:.1f}" for s in spread))  # fmt: skip
    save_picture(X, dF_autograd, args.out)


def save_picture(X: np.ndarray, dF: np.ndarray, path: str) -> None:
    """Top row: a corner of each input channel; bottom row: dE/dF[0, c] for that channel."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed, so no picture was saved; "
              "`pip install matplotlib` (or tinynet[plot]) and run again to get one.")  # fmt: skip
        return
    names = ["horizontal", "vertical", "diagonal", "checkerboard", "noise"]
    fig, axes = plt.subplots(2, 5, figsize=(13, 5.6), layout="constrained")
    lim = np.abs(dF[0]).max()  # one symmetric scale for the five gradients: 0 is white
    for c in range(5):
        im = axes[0, c].imshow(X[c, :30, :30], cmap="gray")
        axes[0, c].set_title(f"X[{c}]: {names[c]}", fontsize=9)
        fig.colorbar(im, ax=axes[0, c], shrink=0.8)
        im = axes[1, c].imshow(dF[0, c], cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[1, c].set_title(f"dE/dF[0, {c}] (5x5)", fontsize=9)
        fig.colorbar(im, ax=axes[1, c], shrink=0.8)
        for ax in axes[:, c]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle("One filter, five channels. Top: a 30x30 corner of each input channel. Bottom: "
                 "its gradient, X[c] correlated with dE/dO[0], on one shared scale")  # fmt: skip
    fig.savefig(path, dpi=100)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
