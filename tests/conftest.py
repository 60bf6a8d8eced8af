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
