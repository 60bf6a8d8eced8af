"""The CPU backend's threads (backend/cpu.py `split`): every pass that runs its rows or images
in threads gives the unsplit result, and BLAS is held at one thread while they run.

The thresholds are forced to 0 so that small inputs take the threaded path; a stand-in for
threadpoolctl's BLAS handle says 2 threads and records what is set.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from conftest import FakeBlas

import tinynet as tn
from tinynet.backend import cpu

F = tn.nn.functional


@pytest.fixture
def threaded(monkeypatch):
    """Switch: threaded(True) forces every split, threaded(False) forbids them."""
    blas = FakeBlas()
    monkeypatch.setattr(cpu, "_blas_controllers", lambda: [blas])
    seen = []
    real = cpu.split

    def spy(work, n, *a, **k):
        seen.append(threading.current_thread().name)
        return real(work, n, *a, **k)

    monkeypatch.setattr(cpu, "split", spy)

    def switch(on: bool):
        big = 0 if on else float("inf")
        monkeypatch.setattr(cpu, "split_min_flops", big)
        monkeypatch.setattr(cpu, "split_min_bytes", big)
        monkeypatch.setattr(cpu, "serial_min_flops", big)
        seen.clear()
        return blas, seen

    return switch


def _both(threaded, make):
    threaded(False)
    want = make()
    blas, seen = threaded(True)
    got = make()
    assert seen, "no pass went through the split"
    assert blas.num_threads == 2, "BLAS got its thread count back"
    return want, got


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_and_max_pool_passes_match_unsplit(threaded, dtype):
    rng = np.random.default_rng(0)
    base = rng.standard_normal((5, 3, 8, 9)).astype(dtype)
    base[0, 0, 0, :4] = 0.0  # ties: the first tap wins in both
    base[1, 1, 2, 2] = np.nan  # a NaN window
    grad_pool = rng.standard_normal((5, 3, 4, 4)).astype(dtype)
    grad_pool[2, 0, 0, 0] = np.inf  # an inf gradient stays out of the zeros

    def make():
        out = []
        for kw in (dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)):
            x = tn.tensor(base, requires_grad=True)
            y = F.max_pool2d(F.relu(x), **kw)
            g = tn.tensor(grad_pool if y.shape == grad_pool.shape else np.ones(y.shape, dtype))
            y.backward(g)
            out += [y.detach().numpy(), x.grad.numpy()]
        return out

    want, got = _both(threaded, make)
    for a, b in zip(want, got):
        np.testing.assert_array_equal(a, b)


def test_masked_matches_where_in_threads(threaded):
    rng = np.random.default_rng(1)
    v = rng.standard_normal((6, 50)).astype(np.float32)
    v[3, 7], v[4, 9] = np.inf, np.nan
    mask = rng.random((6, 50)) > 0.5
    threaded(True)
    got = cpu.masked(v, mask)
    np.testing.assert_array_equal(got, np.where(mask, v, np.float32(0)))


@pytest.mark.parametrize(
    "a_shape,b_shape",
    [((7, 5), (5, 3)), ((3, 5), (5, 9)), ((2, 7, 5), (5, 4)), ((4, 1, 6, 5), (3, 5, 2))],
)
def test_matmul_and_linear_match_unsplit(threaded, a_shape, b_shape):
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    w = rng.standard_normal((4, a_shape[-1]))

    def make():
        x, y = tn.tensor(a, requires_grad=True), tn.tensor(b, requires_grad=True)
        z = x @ y
        z.sum().backward()
        lw = tn.tensor(w, requires_grad=True)
        lin = F.linear(x, lw)
        lin.sum().backward()
        return [z.detach().numpy(), x.grad.numpy(), y.grad.numpy(), lin.detach().numpy(),
                lw.grad.numpy()]  # fmt: skip

    want, got = _both(threaded, make)
    for a_, b_ in zip(want, got):
        np.testing.assert_allclose(a_, b_, rtol=1e-12, atol=1e-12)


def test_blas_count_survives_overlapping_splits(threaded):
    """Two Python threads inside splits at once: BLAS stays at one thread until both leave,
    then gets its count back (no thread restores 1 over another's 2)."""
    blas, _ = threaded(True)
    release = threading.Event()

    def hold():
        cpu.split(lambda i, j: release.wait(10), 2, flops=1.0)

    t = threading.Thread(target=hold)
    t.start()
    try:
        for _ in range(100):  # the other thread is holding BLAS at one thread
            if blas.num_threads == 1:
                break
            threading.Event().wait(0.01)
        assert blas.num_threads == 1
        cpu.split(lambda i, j: None, 4, flops=1.0)
        assert blas.num_threads == 1, "the second caller must not restore BLAS under the first"
    finally:
        release.set()
        t.join()
    assert blas.num_threads == 2


def test_a_split_inside_a_split_runs_serially_and_covers_its_range(threaded):
    """A share of a split that splits again (masked inside max pool's scatter) runs its part
    on its own thread, whole: no nested wait on the pool's busy workers, nothing skipped; and
    once the outer split is over the next one splits again."""
    threaded(True)
    covered, inner_threads = [], []

    def inner(i, j):
        inner_threads.append(threading.current_thread().name)
        covered.extend(range(i, j))

    def outer(i, j):
        for _ in range(i, j):
            cpu.split(inner, 6, nbytes=1.0)

    cpu.split(outer, 2, nbytes=1.0)
    assert sorted(covered) == sorted(list(range(6)) * 2)
    assert len(inner_threads) == 2, "each nested split ran as one call"
    seen = []
    cpu.split(lambda i, j: seen.append((i, j)), 4, nbytes=1.0)
    assert len(seen) == 2, "the guard was released: this split ran in two parts"


def test_one_image_keeps_blas_threads(threaded):
    """Nothing to split in one image: BLAS keeps its own threads for it."""
    blas, _ = threaded(True)
    seen = []
    cpu.split(lambda i, j: seen.append((i, j, blas.num_threads)), 1, flops=1e12)
    assert seen == [(0, 1, 2)] and blas.set == []
    cpu.split(lambda i, j: seen.append((i, j, blas.num_threads)), 2, flops=1e12)
    assert sorted(seen[1:]) == [(0, 1, 1), (1, 2, 1)] and blas.set == [1, 2]


def test_relu_keeps_torchs_dtype_rules(threaded):
    """relu's forward writes into an output of the input's dtype: ints stay ints, and bool is
    refused as torch refuses it (not a NumPy casting error)."""
    for on in (False, True):
        threaded(on)
        assert F.relu(tn.tensor([[1, -2], [3, -4]])).tolist() == [[1, 0], [3, 0]]
        assert F.relu(tn.tensor([[1, -2]], dtype=tn.int8)).dtype == tn.int8
        with pytest.raises(RuntimeError, match="Boolean inputs not supported for relu"):
            F.relu(tn.tensor([[True, False]]))


def test_matmul_batch_mismatch_is_a_named_error(threaded):
    for on in (False, True):
        threaded(on)
        with pytest.raises(RuntimeError, match=r"matmul: shapes \(2, 3, 4\) and \(3, 4, 5\)"):
            tn.matmul(tn.ones(2, 3, 4), tn.ones(3, 4, 5))
