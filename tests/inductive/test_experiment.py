"""T7's data preparation and training run: disjoint splits, one permutation for all, and a test
set that is measured, never used to choose."""

from __future__ import annotations

import numpy as np
import pytest

from lazy_artist.data.mnist import MnistArrays
from lazy_artist.data.scramble import pixel_permutation, scramble
from lazy_artist.inductive.experiment import GRAY_DATASETS, fit_and_test, gray_splits


def fake_arrays(n_train: int = 300, n_test: int = 100) -> MnistArrays:
    """A learnable toy: class k lights up row 2k+4 of the image."""
    rng = np.random.default_rng(0)

    def images(labels):
        x = rng.integers(0, 40, (len(labels), 28, 28)).astype(np.uint8)
        x[np.arange(len(labels)), 2 * labels + 4, :] = 255
        return x

    train_labels, test_labels = rng.integers(0, 10, n_train), rng.integers(0, 10, n_test)
    return MnistArrays(
        images(train_labels),
        train_labels.astype(np.int64),
        images(test_labels),
        test_labels.astype(np.int64),
        "toy",
    )


def test_splits_are_disjoint_scaled_and_seeded():
    arrays = fake_arrays()
    splits = gray_splits(arrays, n_train=200, n_val=50, n_test=40, seed=1)
    assert splits.sizes() == {"train": 200, "val": 50, "test": 40}
    x, _ = splits.train
    assert x.dtype == np.float32 and x.shape[1:] == (1, 28, 28) and 0 <= x.min() <= x.max() <= 1
    # Validation and training images are different rows of the training pool.
    rows = {tuple(r) for r in (splits.val[0][:, 0] * 255).round().astype(np.uint8).reshape(50, -1)}
    train_rows = {tuple(r) for r in (x[:, 0] * 255).round().astype(np.uint8).reshape(200, -1)}
    assert not rows & train_rows
    again = gray_splits(arrays, n_train=200, n_val=50, n_test=40, seed=1)
    assert np.array_equal(again.val[1], splits.val[1])
    with pytest.raises(ValueError, match="n_val"):
        gray_splits(arrays, None, 0, None, 0)


def test_scrambled_splits_share_one_permutation():
    splits = gray_splits(fake_arrays(), n_train=20, n_val=10, n_test=10, seed=0)
    perm = pixel_permutation(784, 0)
    scrambled = splits.scrambled(perm)
    for name in ("train", "val", "test"):
        x, y = getattr(splits, name)
        sx, sy = getattr(scrambled, name)
        assert np.array_equal(sx, scramble(x, perm)) and np.array_equal(sy, y)


def test_fit_selects_on_validation_and_measures_test_once():
    splits = gray_splits(fake_arrays(), n_train=200, n_val=50, n_test=60, seed=0)
    fit = fit_and_test(
        "mlp", {"in_channels": 1, "hidden": [32]}, splits, epochs=3, batch_size=32, lr=3e-3, seed=0
    )
    assert fit.test_accuracy > 0.5  # the toy is easy: a real fit, not chance
    # Scrambling the test labels changes the test score but not which checkpoint was chosen.
    x, y = splits.test
    shuffled = type(splits)(splits.train, splits.val, (x, np.roll(y, 1)))
    other = fit_and_test(
        "mlp",
        {"in_channels": 1, "hidden": [32]},
        shuffled,
        epochs=3,
        batch_size=32,
        lr=3e-3,
        seed=0,
    )
    assert other.selected_epoch == fit.selected_epoch and other.val_accuracy == fit.val_accuracy


def test_both_data_sets_are_registered():
    assert set(GRAY_DATASETS) == {"mnist", "fashion_mnist"}
    assert len(GRAY_DATASETS["fashion_mnist"].class_names) == 10
