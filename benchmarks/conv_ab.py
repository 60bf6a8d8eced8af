"""A/B of conv2d's CPU kernels in one process: threaded split on vs off, with NumPy's sgemm.

    python benchmarks/conv_ab.py [--rounds 7] [--shapes 2,3]

For each shape of benchmarks/conv.py and each pass (forward, dX, dW; the array kernels of
tinynet/ops/conv.py, no autograd), times the kernel with the backend's `split` on (the
default rule) and off (`split_min_flops` set to infinity), interleaved run by run, and
prints the median of the paired ratios new/old with their spread, and GFLOP/s beside the
same run's NumPy float32 GEMM rate on a GEMM of the conv's own size (the roofline).
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

from conv import SHAPES as CONV_SHAPES  # noqa: E402
from conv import _label  # noqa: E402

import tinynet as tn  # noqa: E402
from tinynet.backend import cpu  # noqa: E402
from tinynet.ops import conv as C  # noqa: E402

#: benchmarks/conv.py's shapes (0-5), then the other convs of benchmarks/train.py's nets:
#: 6 the classic net's conv1, 7 LeNet-5's conv2 at batch 128
SHAPES = CONV_SHAPES + [(64, 1, 28, 28, 32, 3, {}), (128, 6, 14, 14, 16, 5, {})]


def _spec(shape):
    N, Ci, H, W, F, k, extra = shape
    s = extra.get("stride", 1)
    p = extra.get("padding", 0)
    d = extra.get("dilation", 1)
    return C.ConvSpec((s, s), (p, p, p, p), (d, d), extra.get("groups", 1))


def _time(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _sgemm_rate(m, k, n, reps=5):
    """GFLOP/s of NumPy's float32 (m x k) @ (k x n), best of reps."""
    a = np.ones((m, k), np.float32)
    b = np.ones((k, n), np.float32)
    a @ b
    return 2 * m * k * n / min(_time(lambda: a @ b) for _ in range(reps)) / 1e9


def _passes(dev, x, w, dy, spec):
    return {
        "forward": lambda: C._conv_forward(dev, x, w, spec),
        "dX": lambda: C._conv_input(dev, dy, w, x.shape[2:], spec),
        "dW": lambda: C._conv_weight(dev, x, dy, w.shape, spec),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--shapes", default="0,1,2,3,4,5")
    p.add_argument("--min-flops", type=float, help="split_min_flops for the 'split' side")
    args = p.parse_args()
    dev = tn.device("cpu")
    env = {k: os.environ.get(k, "unset") for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    print(f"numpy {np.__version__}, {env}, load average {os.getloadavg()}")
    on = cpu.split_min_flops if args.min_flops is None else args.min_flops
    print("shape | pass | split ms | unsplit ms | ratio split/unsplit (min-max) | GFLOP/s | "
          "sgemm GFLOP/s")  # fmt: skip
    for i in map(int, args.shapes.split(",")):
        N, Ci, H, W, F, k, extra = SHAPES[i]
        spec = _spec(SHAPES[i])
        rng = np.random.default_rng(0)
        x = rng.standard_normal((N, Ci, H, W)).astype(np.float32)
        w = rng.standard_normal((F, Ci // spec.groups, k, k)).astype(np.float32)
        y = C._conv_forward(dev, x, w, spec)
        dy = rng.standard_normal(y.shape).astype(np.float32)
        flops = 2.0 * N * F * (Ci // spec.groups) * k * k * y.shape[2] * y.shape[3]
        passes = _passes(dev, x, w, dy, spec)
        gemm = _sgemm_rate(F, Ci // spec.groups * k * k, N * y.shape[2] * y.shape[3])
        for name, fn in passes.items():
            fn()
            new, old = [], []
            for r in range(args.rounds):
                for mode in (0, 1) if r % 2 else (1, 0):
                    cpu.split_min_flops = on if mode else float("inf")
                    (new if mode else old).append(_time(fn))
            cpu.split_min_flops = on
            ratios = sorted(a / b for a, b in zip(new, old))
            mn, mo = statistics.median(new), statistics.median(old)
            print(f"{_label(SHAPES[i])} | {name} | {1e3 * mn:.2f} | {1e3 * mo:.2f} | "
                  f"{statistics.median(ratios):.2f} ({ratios[0]:.2f}-{ratios[-1]:.2f}) | "
                  f"{flops / mn / 1e9:.0f} | {gemm:.0f}", flush=True)  # fmt: skip
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
