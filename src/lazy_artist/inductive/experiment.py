"""T7's experiment: grayscale data sets as tensors, their scrambled twins, and one training run.

Selection uses a validation split carved from the training images (never the test set); test
accuracy is measured once, on the selected checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from lazy_artist.data.fashion import CLASS_NAMES as FASHION_CLASSES
from lazy_artist.data.fashion import load_fashion_mnist
from lazy_artist.data.mnist import MnistArrays, load_mnist
from lazy_artist.data.scramble import scramble
from lazy_artist.inference import predict
from lazy_artist.methods.base import GrayOracle, seeded
from lazy_artist.training import train_classifier


@dataclass(frozen=True)
class GrayDataset:
    title: str
    load: Callable[[Path], MnistArrays]
    class_names: tuple[str, ...]


# name (as tasks and the builder's data registry call it) -> how to load it
GRAY_DATASETS: Mapping[str, GrayDataset] = {
    "mnist": GrayDataset("MNIST", lambda root: load_mnist(root), tuple(str(d) for d in range(10))),
    "fashion_mnist": GrayDataset(
        "FashionMNIST", lambda root: load_fashion_mnist(root), FASHION_CLASSES
    ),
}


@dataclass
class GraySplits:
    """float32 images (N, 1, 28, 28) in [0, 1] and int64 labels for train / val / test."""

    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]

    def sizes(self) -> dict[str, int]:
        return {name: len(getattr(self, name)[1]) for name in ("train", "val", "test")}

    def scrambled(self, permutation: np.ndarray) -> GraySplits:
        """The same splits with one pixel permutation applied to every image of every split."""
        return GraySplits(
            *((scramble(x, permutation), y) for x, y in (self.train, self.val, self.test))
        )


def _pixels(images: np.ndarray) -> np.ndarray:
    return (np.asarray(images, dtype=np.float32) / np.float32(255.0))[:, None]


def gray_splits(
    arrays: MnistArrays,
    n_train: int | None,
    n_val: int,
    n_test: int | None,
    seed: int,
) -> GraySplits:
    """Validation = ``n_val`` random training images; train = ``n_train`` of the rest (None:
    all); test = ``n_test`` random test images (None: all)."""
    pool = len(arrays.train_labels)
    if not 0 < n_val < pool:
        raise ValueError(f"n_val must be in 1..{pool - 1}, got {n_val}")
    order = np.random.default_rng([seed, 0]).permutation(pool)
    val_idx, rest = order[:n_val], order[n_val:]
    train_idx = rest if n_train is None else rest[:n_train]
    if n_train is not None and not 0 < n_train <= len(rest):
        raise ValueError(f"n_train must be in 1..{len(rest)}, got {n_train}")
    n_test_pool = len(arrays.test_labels)
    test_idx = (
        np.arange(n_test_pool)
        if n_test is None
        else np.sort(np.random.default_rng([seed, 1]).permutation(n_test_pool)[:n_test])
    )
    return GraySplits(
        train=(_pixels(arrays.train_images[train_idx]), arrays.train_labels[train_idx]),
        val=(_pixels(arrays.train_images[val_idx]), arrays.train_labels[val_idx]),
        test=(_pixels(arrays.test_images[test_idx]), arrays.test_labels[test_idx]),
    )


@dataclass
class FitResult:
    model: nn.Module  # selected checkpoint, eval mode
    test_accuracy: float
    val_accuracy: float
    selected_epoch: int
    seconds: float
    history: list[dict[str, float]]


def fit_and_test(
    model_name: str,
    model_kwargs: Mapping[str, Any],
    splits: GraySplits,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    device: torch.device | str = "cpu",
) -> FitResult:
    """Train a registered model on ``splits.train`` (checkpoint chosen on ``val``), then measure
    test accuracy once."""
    hparams = {"lr": lr, "batch_size": batch_size, "weight_decay": 0.0, "schedule": "cosine"}
    # ERM on grayscale input; the initial weights depend on the seed only.
    algorithm = seeded(GrayOracle, hparams, seed, backbone=model_name, backbone_kwargs=model_kwargs)
    result = train_classifier(
        algorithm,
        splits.train,
        {"val": splits.val},
        epochs=epochs,
        seed=seed,
        device=device,
        select_on="val",
        progress=False,
    )
    predicted, _ = predict(result.model, splits.test[0], device=device)
    return FitResult(
        model=result.model,
        test_accuracy=float((predicted == splits.test[1]).mean()),
        val_accuracy=result.selected_score,
        selected_epoch=result.selected_epoch,
        seconds=result.seconds,
        history=result.history,
    )
