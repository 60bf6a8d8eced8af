"""Prototype: Winograd F(2x2, 3x3) forward against tinynet's im2col forward, A/B in one process.

    python benchmarks/winograd_proto.py [--rounds 7]

Not used by tinynet: this measures whether the fast path would pay on the classic net's
conv2 (64x32x26x26, 64 filters 3x3) before writing it (docs/performance.md records the
result). The transforms are GEMMs with the Kronecker products of the small matrices
(V = kron(B^T, B^T) @ tiles, U = kron(G, G) @ w, y = kron(A^T, A^T) @ (U @ V)), so every
pass is one BLAS call; the tiles are gathered from a strided view in one copy.
Not collected by pytest.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tinynet as tn  # noqa: E402
from tinynet.ops import conv as C  # noqa: E402

BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], np.float32)
G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], np.float32)
AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], np.float32)
KB, KG, KA = np.kron(BT, BT), np.kron(G, G), np.kron(AT, AT)


def winograd_forward(x, w, parts=None):
    """y = conv2d(x, w), stride 1, no padding, 3x3, output size even (a prototype)."""
    N, Cc, H, W = x.shape
    F = w.shape[0]
    oH, oW = H - 2, W - 2
    tH, tW = oH // 2, oW // 2
    P = N * tH * tW
    s = x.strides
    view = np.lib.stride_tricks.as_strided(
        x, (4, 4, Cc, N, tH, tW), (s[2], s[3], s[1], s[0], 2 * s[2], 2 * s[3]), writeable=False
    )
    if parts is not None:
        parts["t0"] = time.perf_counter()
    d = np.ascontiguousarray(view).reshape(16, Cc * P)  # the tiles: 16/4 = 4x the input
    if parts is not None:
        parts["gather"] = time.perf_counter()
    v = (KB @ d).reshape(16, Cc, P)
    if parts is not None:
        parts["V"] = time.perf_counter()
    u = (KG @ w.reshape(F * Cc, 9).T).reshape(16, F, Cc)
    m = np.matmul(u, v)  # (16, F, P): 16 GEMMs summing over C
    if parts is not None:
        parts["M"] = time.perf_counter()
    yt = (KA @ m.reshape(16, F * P)).reshape(2, 2, F, N, tH, tW)
    if parts is not None:
        parts["Y"] = time.perf_counter()
    y = np.ascontiguousarray(yt.transpose(3, 2, 4, 0, 5, 1)).reshape(N, F, oH, oW)
    if parts is not None:
        parts["scatter"] = time.perf_counter()
    return y


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--blas-threads", type=int, default=1, help="BLAS threads for Winograd")
    args = p.parse_args()
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 32, 26, 26)).astype(np.float32)
    w = rng.standard_normal((64, 32, 3, 3)).astype(np.float32)
    dev = tn.device("cpu")
    spec = C.ConvSpec((1, 1), (0, 0, 0, 0), (1, 1), 1)
    ref = C._conv_forward(dev, x.astype(np.float64), w.astype(np.float64), spec)
    y = winograd_forward(x, w)
    err = np.abs(y - ref).max() / np.abs(ref).max()
    print(f"load average {os.getloadavg()}; max relative error float32 {err:.2e}")
    wino, im2col, ratios, parts = [], [], [], []
    for r in range(args.rounds):
        for mode in (0, 1) if r % 2 else (1, 0):
            t = time.perf_counter()
            if mode:
                d: dict = {}
                with threadpool_limits(args.blas_threads, user_api="blas"):
                    winograd_forward(x, w, d)
                parts.append(d)
                wino.append(time.perf_counter() - t)
            else:
                C._conv_forward(dev, x, w, spec)
                im2col.append(time.perf_counter() - t)
        ratios.append(wino[-1] / im2col[-1])
    ratios.sort()
    a, b = 1e3 * statistics.median(wino), 1e3 * statistics.median(im2col)
    print(f"winograd {a:.1f} ms, im2col {b:.1f} ms, ratio {statistics.median(ratios):.2f} "
          f"({ratios[0]:.2f}-{ratios[-1]:.2f})")  # fmt: skip
    keys = ["t0", "gather", "V", "M", "Y", "scatter"]
    share = {k: statistics.median(1e3 * (d[k] - d[j]) for d in parts)
             for j, k in zip(keys, keys[1:])}  # fmt: skip
    print("winograd passes, median ms: " + ", ".join(f"{k} {v:.1f}" for k, v in share.items()))
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
