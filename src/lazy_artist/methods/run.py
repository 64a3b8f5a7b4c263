"""One method, one seed: build it with validated hparams and train it on a canvas (or reuse the
identical run from a :class:`~lazy_artist.methods.memo.RunMemo`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from lazy_artist.data.canvas import Canvas
from lazy_artist.methods.algorithms import Algorithm, build_algorithm
from lazy_artist.methods.memo import RunMemo
from lazy_artist.methods.trainer import MethodResult, train_algorithm
from lazy_artist.precision import TRAINING_PRECISION


def fit_method(
    name: str,
    canvas: Canvas,
    hparams: Mapping[str, Any] | None,
    backbone_width: int,
    epochs: int,
    seed: int,
    device: torch.device | str = "cpu",
    backbone: str = "cheater_cnn",
    memo: RunMemo | None = None,
    precision: str = TRAINING_PRECISION,
) -> tuple[Algorithm, MethodResult]:
    """Train ``name`` on ``canvas`` (selection on validation only); returns the algorithm, whose
    network holds the selected epoch's weights, and the run's record. With ``memo``, an identical
    earlier run is loaded instead of trained (``result.extra["reused"]``)."""
    algorithm = build_algorithm(
        name, hparams, backbone=backbone, backbone_kwargs={"width": backbone_width}, seed=seed
    )
    key = None
    if memo is not None and memo.enabled:
        key = memo.key(
            algorithm, canvas, epochs=epochs, seed=seed, device=device, precision=precision
        )
        reused = memo.load(key, algorithm)
        if reused is not None:
            algorithm.to(device)
            return algorithm, reused
    result = train_algorithm(
        algorithm, canvas, epochs=epochs, seed=seed, device=device, precision=precision
    )
    if key is not None:
        memo.store(
            key,
            algorithm,
            result,
            about={"method": name, "seed": seed, "epochs": epochs, "bias": canvas.bias},
        )
    return algorithm, result
