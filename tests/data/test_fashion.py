"""FashionMNIST loading: the IDX reader, each source, the real Debian files when installed, and
the error that names every way to provide the data."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from lazy_artist.data.fashion import (
    DEBIAN_DIR,
    IDX_FILES,
    TORCHVISION_FOLDER,
    load_fashion_mnist,
    load_idx_folder,
    read_idx,
    write_idx,
)
from lazy_artist.data.mnist import DataUnavailableError, mnist_fingerprint


def tiny_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "train_images": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, 12).astype(np.uint8),
        "test_images": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, 5).astype(np.uint8),
    }


def write_folder(folder, arrays, suffix: str) -> None:
    for name, stem in IDX_FILES.items():
        write_idx(folder / f"{stem}{suffix}", arrays[name])


def test_idx_file_is_read_back_byte_for_byte_as_written_by_hand(tmp_path):
    # Written by hand from the format (magic 0x00000803, big-endian dims), not by write_idx.
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    raw = bytes([0, 0, 8, 3]) + (2).to_bytes(4, "big") + (3).to_bytes(4, "big")
    raw += (4).to_bytes(4, "big") + images.tobytes()
    (tmp_path / "plain-idx3-ubyte").write_bytes(raw)
    (tmp_path / "packed-idx3-ubyte.gz").write_bytes(gzip.compress(raw))
    for name in ("plain-idx3-ubyte", "packed-idx3-ubyte.gz"):
        loaded = read_idx(tmp_path / name)
        assert loaded.dtype == np.uint8 and np.array_equal(loaded, images)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (bytes([1, 0, 8, 1]) + (3).to_bytes(4, "big") + b"abc", "bad magic"),
        (bytes([0, 0, 0x0D, 1]) + (3).to_bytes(4, "big") + b"abc", "type code"),
        (bytes([0, 0, 8, 1]) + (5).to_bytes(4, "big") + b"abc", "header says"),  # truncated
    ],
)
def test_broken_idx_files_are_refused(tmp_path, raw, message):
    (tmp_path / "bad").write_bytes(raw)
    with pytest.raises(ValueError, match=message):
        read_idx(tmp_path / "bad")


def test_debian_layout_is_read(tmp_path):
    arrays = tiny_arrays()
    write_folder(tmp_path / "debian", arrays, ".gz")
    loaded = load_fashion_mnist(
        tmp_path / "empty", allow_download=False, debian_dir=tmp_path / "debian"
    )
    assert "dataset-fashion-mnist" in loaded.source
    for name, expected in arrays.items():
        assert np.array_equal(getattr(loaded, name), expected), name
    assert loaded.train_labels.dtype == np.int64


def test_torchvision_folder_comes_first_and_gives_the_same_arrays(tmp_path):
    arrays = tiny_arrays()
    write_folder(tmp_path / "debian", arrays, ".gz")
    write_folder(tmp_path / "root" / TORCHVISION_FOLDER, arrays, "")
    folder = load_fashion_mnist(
        tmp_path / "root", allow_download=False, debian_dir=tmp_path / "debian"
    )
    debian = load_idx_folder(tmp_path / "debian", ".gz")
    assert folder.source.startswith("torchvision folder")
    assert mnist_fingerprint(folder) == mnist_fingerprint(debian)


def test_torchvision_itself_reads_the_folder_we_read(tmp_path):
    torchvision = pytest.importorskip("torchvision")
    arrays = tiny_arrays(1)
    write_folder(tmp_path / TORCHVISION_FOLDER, arrays, "")
    reference = torchvision.datasets.FashionMNIST(str(tmp_path), train=False, download=False)
    ours = load_fashion_mnist(tmp_path, allow_download=False, debian_dir=tmp_path / "none")
    assert np.array_equal(reference.data.numpy(), ours.test_images)
    assert np.array_equal(reference.targets.numpy(), ours.test_labels)


def test_no_source_names_every_way_to_provide_the_data(tmp_path):
    with pytest.raises(DataUnavailableError) as caught:
        load_fashion_mnist(tmp_path, allow_download=False, debian_dir=tmp_path / "no-debian")
    message = str(caught.value)
    assert "FashionMNIST is not available" in message
    assert str(tmp_path / TORCHVISION_FOLDER) in message  # (a) the torchvision folder
    assert "apt-get install dataset-fashion-mnist" in message  # (b) the Debian package
    assert "download" in message  # (c) torchvision's download
    assert "download: not tried" in message
    assert "--skip t7" in message  # the way to build without it


@pytest.mark.skipif(not DEBIAN_DIR.exists(), reason="dataset-fashion-mnist is not installed")
def test_the_installed_debian_files_are_fashion_mnist(tmp_path):
    arrays = load_fashion_mnist(tmp_path, allow_download=False)
    # Published facts: 60k / 10k images, exactly 6000 / 1000 per class.
    assert arrays.train_images.shape == (60000, 28, 28) and arrays.test_images.shape == (
        10000,
        28,
        28,
    )
    assert np.bincount(arrays.train_labels).tolist() == [6000] * 10
    assert np.bincount(arrays.test_labels).tolist() == [1000] * 10
    assert arrays.train_labels[:5].tolist() == [9, 0, 0, 3, 0]  # the files' first labels
