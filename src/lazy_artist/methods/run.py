"""One method, one seed: build it with validated hparams and train it on a canvas."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from lazy_artist.data.canvas import Canvas
from lazy_artist.methods.algorithms import Algorithm, build_algorithm
from lazy_artist.methods.trainer import MethodResult, train_algorithm


def fit_method(
    name: str,
    canvas: Canvas,
    hparams: Mapping[str, Any] | None,
    backbone_width: int,
    epochs: int,
    seed: int,
    device: torch.device | str = "cpu",
    backbone: str = "cheater_cnn",
) -> tuple[Algorithm, MethodResult]:
    """Train ``name`` on ``canvas`` (selection on validation only); returns the algorithm, whose
    network holds the selected epoch's weights, and the run's record."""
    algorithm = build_algorithm(
        name, hparams, backbone=backbone, backbone_kwargs={"width": backbone_width}, seed=seed
    )
    result = train_algorithm(algorithm, canvas, epochs=epochs, seed=seed, device=device)
    return algorithm, result
