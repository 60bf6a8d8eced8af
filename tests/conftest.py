"""Shared fixtures: seeds, the torch oracle, and the devices the suite runs on."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import tinynet as tn


@pytest.fixture(autouse=True)
def _seed():
    tn.manual_seed(0)
    np.random.seed(0)
    yield


@pytest.fixture
def torch():
    """PyTorch, the test oracle; tests that take this fixture skip where it is absent."""
    return pytest.importorskip("torch")


# The devices the device-parametrized tests run on: "cpu" always; the strict CuPy stand-in
# ("fakecuda", tests/fakecuda.py, registered here and only in the tests), so that a host
# round trip or a NumPy-only call in an op fails without a GPU; "cuda" where CuPy and a GPU
# are present.
sys.path.insert(0, os.path.dirname(__file__))
import fakecuda  # noqa: E402

fakecuda.register()
CUDA_AVAILABLE = tn.cuda.is_available()
DEVICES = ["cpu", "fakecuda"] + (["cuda"] if CUDA_AVAILABLE else [])


def pytest_collection_modifyitems(config, items):
    """Tests marked `gpu` need CuPy and a real GPU: skip them, saying why, when absent."""
    if CUDA_AVAILABLE:
        return
    skip = pytest.mark.skip(reason=f"needs CuPy and a CUDA GPU: {tn.cuda.unavailable_reason()}")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=DEVICES)
def device(request):
    return tn.device(request.param)


class FakeBlas:
    """Stands in for threadpoolctl's BLAS handle (the CPU split's tests): says 2 threads,
    records what is set."""

    def __init__(self):
        self.num_threads, self.set = 2, []

    def set_num_threads(self, n):
        self.set.append(n)
        self.num_threads = n
