"""Shared fixtures: seeds, the torch oracle, and the devices the suite runs on."""

from __future__ import annotations

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


# The devices the device-parametrized tests run on. "cpu" always; the backend work adds the
# strict CuPy stand-in ("fakecuda", tests/fakecuda.py) and "cuda" where a real GPU is present.
DEVICES = ["cpu"]


@pytest.fixture(params=DEVICES)
def device(request):
    return tn.device(request.param)
