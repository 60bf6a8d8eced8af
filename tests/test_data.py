"""tn.data: DataLoader batching and seeded shuffles, the IDX reader, MNIST downloads, the sample."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import pathlib
import socket
import threading

import numpy as np
import pytest

import tinynet as tn
from tinynet.data import DataLoader, Dataset, Subset, TensorDataset
from tinynet.data.datasets import MNIST, FashionMNIST, mnist_sample, read_idx

# ----- DataLoader ----------------------------------------------------------------------------


def _ids(loader):
    return [b[1].tolist() for b in loader]


def _range_ds(n):
    return TensorDataset(tn.arange(n).float().reshape(n, 1), tn.arange(n))


def test_batches_in_order_with_a_short_last_batch():
    loader = DataLoader(_range_ds(10), batch_size=4)
    assert len(loader) == 3
    assert _ids(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    x, y = next(iter(loader))
    assert x.shape == (4, 1) and x.dtype == tn.float32 and y.dtype == tn.int64


def test_drop_last():
    loader = DataLoader(_range_ds(10), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert _ids(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(DataLoader(_range_ds(8), batch_size=4, drop_last=True)) == 2
    assert list(DataLoader(_range_ds(3), batch_size=4, drop_last=True)) == []


def test_shuffle_is_a_fresh_permutation_each_epoch_and_reproducible_from_seed():
    loader = DataLoader(_range_ds(50), batch_size=7, shuffle=True, seed=3)
    e1, e2 = sum(_ids(loader), []), sum(_ids(loader), [])
    assert sorted(e1) == sorted(e2) == list(range(50))
    assert e1 != e2 and e1 != list(range(50))
    again = DataLoader(_range_ds(50), batch_size=7, shuffle=True, seed=3)
    assert sum(_ids(again), []) == e1 and sum(_ids(again), []) == e2
    other = DataLoader(_range_ds(50), batch_size=7, shuffle=True, seed=4)
    assert sum(_ids(other), []) != e1
    resumed = DataLoader(_range_ds(50), batch_size=7, shuffle=True, seed=3)
    resumed.set_epoch(1)  # a resumed run picks up the second epoch's order
    assert sum(_ids(resumed), []) == e2


def test_shuffle_without_seed_follows_manual_seed():
    tn.manual_seed(11)
    a = sum(_ids(DataLoader(_range_ds(30), batch_size=8, shuffle=True)), [])
    tn.manual_seed(11)
    b = sum(_ids(DataLoader(_range_ds(30), batch_size=8, shuffle=True)), [])
    assert a == b and sorted(a) == list(range(30)) and a != list(range(30))


def test_shuffled_drop_last_keeps_full_batches_only():
    loader = DataLoader(_range_ds(10), batch_size=3, shuffle=True, drop_last=True, seed=0)
    ids = _ids(loader)
    assert [len(b) for b in ids] == [3, 3, 3] and len(set(sum(ids, []))) == 9


def test_batched_fetch_is_one_call_per_batch():
    class Counting(Dataset):
        def __init__(self):
            self.calls = []

        def __len__(self):
            return 10

        def __getitem__(self, i):
            raise AssertionError("the loader must use __getitems__")

        def __getitems__(self, idx):
            self.calls.append(idx.copy())
            return tn.from_numpy(idx.astype(np.float32)), tn.from_numpy(idx)

    ds = Counting()
    batches = list(DataLoader(ds, batch_size=4, shuffle=True, seed=0))
    assert len(ds.calls) == 3 and all(c.dtype == np.int64 for c in ds.calls)
    assert sorted(np.concatenate(ds.calls).tolist()) == list(range(10))
    assert batches[0][1].tolist() == ds.calls[0].tolist()


def test_generic_dataset_is_collated_by_stacking():
    class Generic(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return tn.full((2, 3), float(i)), i, np.full(4, i, np.float32), 0.5 * i

    x, y, a, f = next(iter(DataLoader(Generic(), batch_size=3)))
    assert x.shape == (3, 2, 3) and x.numpy()[:, 0, 0].tolist() == [0, 1, 2]
    assert y.dtype == tn.int64 and y.tolist() == [0, 1, 2]
    assert a.shape == (3, 4) and f.dtype == tn.float64 and f.tolist() == [0.0, 0.5, 1.0]  # as torch


def test_tensor_dataset_and_subset():
    x, y = tn.randn(6, 2, 3), tn.arange(6)
    ds = TensorDataset(x, y)
    assert len(ds) == 6
    xi, yi = ds[-1]
    np.testing.assert_array_equal(xi.numpy(), x.numpy()[5])
    assert yi.item() == 5 and yi.ndim == 0
    sub = Subset(ds, [4, 0, 2])
    assert len(sub) == 3 and sub[0][1].item() == 4
    assert _ids(DataLoader(sub, batch_size=2)) == [[4, 0], [2]]
    with pytest.raises(IndexError, match="out of range"):
        ds[6]
    ds_np = TensorDataset(np.zeros((4, 2), np.float32), np.arange(4))
    assert next(iter(DataLoader(ds_np, batch_size=4)))[1].tolist() == [0, 1, 2, 3]


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match=r"first dimension \(\[3, 4\]\)"):
        TensorDataset(tn.zeros(3, 2), tn.zeros(4))
    with pytest.raises(TypeError, match="Tensors or NumPy arrays"):
        TensorDataset([1, 2, 3])
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        DataLoader(_range_ds(3), batch_size=0)
    with pytest.raises(TypeError, match="batch_size must be an int"):
        DataLoader(_range_ds(3), batch_size=2.5)
    with pytest.raises(TypeError, match="not a dataset"):
        DataLoader(42)
    with pytest.raises(IndexError, match="out of range"):
        _range_ds(3).__getitems__(np.array([0, 3]))


# ----- IDX files ---------------------------------------------------------------------------


def _idx_bytes(a: np.ndarray) -> bytes:
    code = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D,
            np.float64: 0x0E}[a.dtype.type]  # fmt: skip
    header = bytes([0, 0, code, a.ndim]) + np.asarray(a.shape, ">u4").tobytes()
    return header + a.astype(a.dtype.newbyteorder(">")).tobytes()


def _write(path: pathlib.Path, a: np.ndarray, gz: bool) -> pathlib.Path:
    data = _idx_bytes(a)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.float32])
def test_read_idx_roundtrip(tmp_path, gz, dtype):
    a = (np.arange(2 * 3 * 4) * 7 % 251).astype(dtype).reshape(2, 3, 4)
    out = read_idx(_write(tmp_path / "f", a, gz))
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, a)


def test_read_idx_rejects_bad_files(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x00\x01\x08\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(bad)
    bad.write_bytes(b"")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(bad)
    short = _idx_bytes(np.zeros((3, 4), np.uint8))[:-2]
    bad.write_bytes(short)
    with pytest.raises(ValueError, match="truncated or damaged"):
        read_idx(bad)
    bad.write_bytes(gzip.compress(_idx_bytes(np.zeros(5, np.uint8)))[:-6])
    with pytest.raises(ValueError, match="damaged gzip"):
        read_idx(bad)


def _fake_mnist(n=12, seed=0, classes=10):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % classes).astype(np.uint8)
    return images, labels


NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte")  # fmt: skip


def _write_mnist(folder: pathlib.Path, gz=True, n_train=12, n_test=6):
    folder.mkdir(parents=True, exist_ok=True)
    tr, te = _fake_mnist(n_train, 0), _fake_mnist(n_test, 1)
    for name, a in zip(NAMES, (tr[0], tr[1], te[0], te[1])):
        _write(folder / (name + (".gz" if gz else "")), a, gz)
    return tr, te


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_mnist_reads_idx_files(tmp_path, gz):
    (xtr, ytr), (xte, yte) = _write_mnist(tmp_path, gz)
    train, test = MNIST(tmp_path), MNIST(tmp_path, train=False)
    assert len(train) == 12 and len(test) == 6
    x, y = train[3]
    assert x.shape == (1, 28, 28) and x.dtype == tn.float32 and y == int(ytr[3])
    np.testing.assert_allclose(x.numpy()[0], xtr[3] / 255.0, rtol=1e-6)
    xb, yb = next(iter(DataLoader(test, batch_size=4)))
    assert xb.shape == (4, 1, 28, 28) and yb.dtype == tn.int64
    assert yb.tolist() == yte[:4].tolist()
    norm = MNIST(tmp_path, normalize=(0.5, 0.25))
    np.testing.assert_allclose(norm[0][0].numpy()[0], (xtr[0] / 255 - 0.5) / 0.25, atol=1e-6)
    twice = MNIST(tmp_path, transform=lambda t: t * 2)
    np.testing.assert_allclose(twice[0][0].numpy(), 2 * train[0][0].numpy())


def test_mnist_finds_files_in_subfolders_and_default_root(tmp_path, monkeypatch):
    _write_mnist(tmp_path / "MNIST" / "raw")  # torchvision's layout
    assert len(MNIST(tmp_path)) == 12
    _write_mnist(tmp_path / "env" / "mnist", n_train=8)
    monkeypatch.setenv("TINYNET_DATA", str(tmp_path / "env"))
    assert len(MNIST()) == 8


def test_fashion_mnist_finds_the_debian_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYNET_DATA", str(tmp_path / "empty"))
    _write_mnist(tmp_path / "usr-share", n_train=10)
    monkeypatch.setattr(FashionMNIST, "system_dirs", (str(tmp_path / "usr-share"),))
    ds = FashionMNIST()
    assert len(ds) == 10 and ds.classes[9] == "Ankle boot"


def test_mnist_missing_or_inconsistent_files_raise_clear_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYNET_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=r"download=True.*put them in .*nowhere"):
        MNIST()
    _write(tmp_path / NAMES[0], _fake_mnist(5)[0], False)
    _write(tmp_path / NAMES[1], _fake_mnist(4)[1], False)
    with pytest.raises(ValueError, match="5 images .* but 4 labels"):
        MNIST(tmp_path)
    _write(tmp_path / NAMES[1], np.full(5, 10, np.uint8), False)
    with pytest.raises(ValueError, match="label 10, outside 0..9"):
        MNIST(tmp_path)
    _write(tmp_path / NAMES[1], np.zeros((5, 2), np.uint8), False)
    with pytest.raises(ValueError, match=r"uint8 labels \(N,\)"):
        MNIST(tmp_path)


# ----- download from a local HTTP server -----------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, tuple[bytes, str]] = {}  # path -> (body, "good" | "truncated")

    def do_GET(self):  # noqa: N802
        entry = self.files.get(self.path)
        if entry is None:
            self.send_error(404)
            return
        body, mode = entry
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # a truncated response promises the whole body, sends half, then hangs up
        self.wfile.write(body[: len(body) // 2] if mode == "truncated" else body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    """A real HTTP server on 127.0.0.1 (port 0), shut down after the test."""
    handler = type("Handler", (_Handler,), {"files": {}})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", handler.files
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _serve_mnist(files: dict, prefix: str, corrupt=None, truncated=None):
    """Serve a tiny MNIST under `prefix`; return the {name: md5} of the GOOD files."""
    tr, te = _fake_mnist(12, 0), _fake_mnist(6, 1)
    resources = {}
    for name, a in zip(NAMES, (tr[0], tr[1], te[0], te[1])):
        fname = name + ".gz"
        body = gzip.compress(_idx_bytes(a), mtime=0)
        resources[fname] = hashlib.md5(body).hexdigest()
        mode = "good"
        if fname == corrupt:
            body = body[:-9] + bytes(9)  # same length, wrong content
        if fname == truncated:
            mode = "truncated"
        files[f"{prefix}/{fname}"] = (body, mode)
    return resources, tr, te


def _tiny_mnist_class(resources):
    return type("TinyMNIST", (MNIST,), {"resources": resources, "timeout": 5.0})


def _leftovers(folder: pathlib.Path):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_good_files_verifies_and_loads(server, tmp_path):
    base, files = server
    resources, (xtr, ytr), _ = _serve_mnist(files, "/good")
    cls = _tiny_mnist_class(resources)
    ds = cls(tmp_path, download=True, mirrors=[base + "/missing/", base + "/good/"],
             progress=False)  # fmt: skip
    assert len(ds) == 12 and ds.targets.tolist() == ytr.tolist()
    np.testing.assert_array_equal(ds.data[:, 0], xtr)
    assert _leftovers(tmp_path) == sorted(resources)  # the four files, no temp files
    assert len(cls(tmp_path, train=False)) == 6  # already there: no download needed
    files.clear()  # and a second download=True does not fetch again
    assert len(cls(tmp_path, download=True, mirrors=[base + "/good/"], progress=False)) == 12


@pytest.mark.parametrize("fault", ["corrupt", "truncated"])
def test_download_fault_leaves_nothing_behind(server, tmp_path, fault):
    base, files = server
    bad = "train-images-idx3-ubyte.gz"
    resources, _, _ = _serve_mnist(files, "/m", **{fault: bad})
    cls = _tiny_mnist_class(resources)
    with pytest.raises(RuntimeError, match="could not download train-images") as info:
        cls(tmp_path, download=True, mirrors=[base + "/m/"], progress=False)
    msg = str(info.value)
    assert ("checksum mismatch" in msg) if fault == "corrupt" else ("truncated" in msg)
    assert f"put them (gz or raw) in {tmp_path}" in msg
    assert bad not in _leftovers(tmp_path)
    assert not [n for n in _leftovers(tmp_path) if n.endswith(".part")]
    with pytest.raises(FileNotFoundError):
        cls(tmp_path)  # the failed file never looks complete


def test_download_without_network_says_where_to_put_the_files(tmp_path):
    with socket.socket() as s:  # a port nobody listens on: connection refused, no network
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(RuntimeError) as info:
        MNIST(tmp_path / "data", download=True, mirrors=[f"http://127.0.0.1:{port}/"],
              progress=False)  # fmt: skip
    msg = str(info.value)
    assert "could not download" in msg and "refused" in msg.lower()
    assert f"put them (gz or raw) in {tmp_path / 'data'}" in msg
    assert _leftovers(tmp_path / "data") == []


def test_bundled_mnist_files_list_known_checksums():
    for cls in (MNIST, FashionMNIST):
        assert sorted(cls.resources) == sorted(n + ".gz" for n in NAMES)
        assert all(len(h) == 32 for h in cls.resources.values()) and cls.mirrors


# ----- the bundled sample ------------------------------------------------------------------


def test_mnist_sample_split_shapes_and_classes():
    train, test = mnist_sample(), mnist_sample(train=False)
    assert len(train) == 4000 and len(test) == 1000
    assert train.data.shape == (4000, 1, 28, 28) and train.data.dtype == np.uint8
    assert np.bincount(train.targets).tolist() == [400] * 10
    assert np.bincount(test.targets).tolist() == [100] * 10
    x, y = train[0]
    assert x.shape == (1, 28, 28) and isinstance(y, int)
    xb, yb = next(iter(DataLoader(test, batch_size=1000)))
    assert xb.shape == (1000, 1, 28, 28) and yb.dtype == tn.int64
    a = xb.numpy()
    # real digits are mostly background
    assert a.min() == 0.0 and a.max() == 1.0 and 0.08 < a.mean() < 0.2
    # the split is fixed and disjoint: no test image appears in the training set
    train_rows = {r.tobytes() for r in train.data}
    assert not any(r.tobytes() in train_rows for r in test.data)
    again = mnist_sample(train=False)
    np.testing.assert_array_equal(again.data, test.data)
    norm = mnist_sample(normalize=True)
    m = next(iter(DataLoader(norm, batch_size=4000)))[0].numpy()
    assert abs(m.mean()) < 0.1 and 0.9 < m.std() < 1.1


def test_tensor_dataset_batches_stay_on_the_tensors_device(device):
    x = tn.arange(12, device=device).float().reshape(6, 2)
    ds = TensorDataset(x, tn.arange(6, device=device))
    xb, yb = next(iter(DataLoader(ds, batch_size=4, shuffle=True, seed=0)))
    assert xb.device == device and yb.device == device and xb.shape == (4, 2)
    assert xb[:, 0].cpu().tolist() == [2.0 * v for v in yb.cpu().tolist()]
    xi, yi = ds[5]
    assert xi.device == device and yi.item() == 5

    class Generic(Dataset):  # the stacking fallback, on the same device
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return x[i], i

    gx, gy = next(iter(DataLoader(Generic(), batch_size=3)))
    assert gx.device == device and gx.cpu().tolist() == x[:3].cpu().tolist()
