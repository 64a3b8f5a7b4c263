"""The builder's data registry knows FashionMNIST: it fingerprints whichever source is present
and, with none, fails with the loader's error naming every way to provide it."""

from __future__ import annotations

import numpy as np
import pytest

from lazy_artist.builder import datasets
from lazy_artist.data import fashion
from lazy_artist.data.mnist import DataUnavailableError, mnist_fingerprint


def no_download(data_root):
    raise OSError("network disabled in tests")


def test_fashion_mnist_is_registered_and_fingerprinted(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    debian = tmp_path / "debian"
    for name, stem in fashion.IDX_FILES.items():
        shape = (6, 28, 28) if name.endswith("images") else (6,)
        fashion.write_idx(debian / f"{stem}.gz", rng.integers(0, 10, shape))
    monkeypatch.setattr(fashion, "DEBIAN_DIR", debian)
    monkeypatch.setattr(fashion, "_download", no_download)
    memo = tmp_path / "memo.json"
    identity = datasets.data_identity("fashion_mnist", tmp_path / "data", memo)
    assert identity == mnist_fingerprint(fashion.load_idx_folder(debian, ".gz"))
    assert datasets.data_identity("fashion_mnist", tmp_path / "data", memo) == identity
    assert "fashion_mnist" in memo.read_text()


def test_missing_fashion_mnist_names_every_source(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion, "DEBIAN_DIR", tmp_path / "not-installed")
    monkeypatch.setattr(fashion, "_download", no_download)
    with pytest.raises(DataUnavailableError) as caught:
        datasets.data_identity("fashion_mnist", tmp_path / "data", tmp_path / "memo.json")
    message = str(caught.value)
    assert "FashionMNIST/raw" in message and "apt-get install dataset-fashion-mnist" in message
    assert "network disabled in tests" in message
