"""Downloads and decompression are bounded: a slow server or a gzip bomb fails fast.

docs/reliability.md, "Downloads are bounded". A real HTTP server on 127.0.0.1 that
stops itself; nothing reaches the network.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import threading
import time
import zlib

import numpy as np
import pytest

from tinynet.data.datasets import MNIST, read_idx

NAME = "train-images-idx3-ubyte.gz"


class _Slow(http.server.BaseHTTPRequestHandler):
    """Serves `body` at `pause` seconds per `step` bytes (a trickle), or stalls after headers."""

    body = b""
    pause = 0.1
    step = 1
    stall = False
    limit = 8.0  # seconds: the server gives up on its own, whatever the client does

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.flush()
        t0 = time.monotonic()
        try:
            for i in range(0, len(self.body), self.step):
                if time.monotonic() - t0 > self.limit:
                    return
                time.sleep(self.limit if self.stall else self.pause)
                self.wfile.write(self.body[i : i + self.step])
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up, as it should

    def log_message(self, *args):
        pass


@pytest.fixture
def slow_server():
    servers = []

    def start(**attrs):
        handler = type("Handler", (_Slow,), attrs)
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        servers.append((httpd, thread))
        return f"http://127.0.0.1:{httpd.server_address[1]}/"

    yield start
    for httpd, thread in servers:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _one_file_class(body: bytes, **bounds):
    resources = {NAME: hashlib.md5(body).hexdigest()}
    return type("OneFile", (MNIST,), {"resources": resources, **bounds})


@pytest.mark.parametrize("kind", ["trickle", "stall"])
def test_a_slow_server_fails_within_the_deadline_and_leaves_nothing(slow_server, tmp_path, kind):
    body = bytes(range(256)) * 40  # 10 KB
    url = slow_server(body=body, stall=kind == "stall")
    # a trickle of 10 bytes/s against a minimum of 1 KB/s over 0.5 s; a stall against the
    # read timeout and the deadline
    cls = _one_file_class(body, timeout=5.0, deadline=1.5, min_rate=1024.0, rate_window=0.5)
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="could not download") as info:
        cls(tmp_path, download=True, mirrors=[url], progress=False)
    took = time.monotonic() - t0
    assert took < 1.5 + 1.0, f"took {took:.1f} s"
    assert "too slow" in str(info.value) or "timed out" in str(info.value)
    assert list(tmp_path.iterdir()) == []  # the partial file is gone


def test_a_fast_enough_server_still_delivers(slow_server, tmp_path):
    images = np.zeros((2, 28, 28), np.uint8)
    body = gzip.compress(b"\x00\x00\x08\x03" + np.array([2, 28, 28], ">u4").tobytes() +
                         images.tobytes(), mtime=0)  # fmt: skip
    url = slow_server(body=body, pause=0.001, step=4096)
    cls = _one_file_class(body, deadline=10.0, min_rate=100.0, rate_window=0.2)
    ds = object.__new__(cls)  # just the download, without reading a full set
    ds.root = tmp_path
    ds.download(mirrors=[url], progress=False)
    assert (tmp_path / NAME).read_bytes() == body


def _idx_header(shape, type_byte=0x08) -> bytes:
    return bytes([0, 0, type_byte, len(shape)]) + np.array(shape, ">u4").tobytes()


def test_a_gzip_bomb_stops_at_the_size_its_header_promises(tmp_path):
    # the header promises 10 bytes; the stream holds 64 MB of zeros (in ~64 KB of gzip)
    z = zlib.compressobj(1, zlib.DEFLATED, 31)
    body = z.compress(_idx_header([10]))
    zeros = bytes(1 << 20)
    for _ in range(64):
        body += z.compress(zeros)
    body += z.flush()
    bomb = tmp_path / "bomb.gz"
    bomb.write_bytes(body)
    t0 = time.monotonic()
    with pytest.raises(ValueError, match="more than the 18 bytes its header promises"):
        read_idx(bomb)
    assert time.monotonic() - t0 < 0.5  # it did not inflate 64 MB first


def test_a_header_promising_more_than_the_gzip_can_hold_fails_at_once(tmp_path):
    body = gzip.compress(_idx_header([60000, 28000, 28000]) + bytes(100))
    bad = tmp_path / "big.gz"
    bad.write_bytes(body)
    with pytest.raises(ValueError, match="more than a .*gzip file can hold"):
        read_idx(bad)


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4)])
def test_honest_gzipped_files_still_read(tmp_path, shape):
    a = (np.arange(np.prod(shape)) % 251).astype(np.uint8).reshape(shape)
    f = tmp_path / "ok.gz"
    f.write_bytes(gzip.compress(_idx_header(shape) + a.tobytes()))
    np.testing.assert_array_equal(read_idx(f), a)
