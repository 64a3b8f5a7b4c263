"""T6's models analysed concurrently: one work item per model of the matched pairs.

Every model's SAEs are independent of every other model's, so :func:`analyse_models` hands the
planned models to :func:`lazy_artist.parallel.process_map`: ``jobs`` worker processes (0 = one
per core), each analysing one model at a time on one torch thread, exactly as a serial run
does, so ``jobs`` never changes a number. A worker loads the canvas from T0's artefact once and
the model by its zoo name; the analysis comes back through pickling (with its own copy of the
network, on the CPU).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lazy_artist.data.canvas import Canvas, CanvasSplit, load_canvas
from lazy_artist.parallel import process_map, resolve_workers, shared
from lazy_artist.sae.autoencoder import SaeSettings
from lazy_artist.sae.compare import PlannedModel
from lazy_artist.sae.study import (
    InterventionSettings,
    ModelAnalysis,
    analyse_model,
    model_splits,
    noop_gap,
)
from lazy_artist.zoo import load_study_model


@dataclass(frozen=True)
class AnalysisSettings:
    """What every model's analysis shares (the notebook's parameters)."""

    configs: str | tuple[str, ...]
    focus_config: str
    positions_per_image: int | None
    n_train_images: int | None
    n_hard_images: int | None
    sae: SaeSettings
    interventions: InterventionSettings


def study_splits(canvas: Canvas, settings: AnalysisSettings) -> dict[str, CanvasSplit]:
    """The splits T6 reads: training (first ``n_train_images``), easy and conflict validation,
    and the hard test set (first ``n_hard_images``)."""
    train, hard = canvas["train"], canvas["hard_test"]
    return {
        "train": train if settings.n_train_images is None else train.head(settings.n_train_images),
        "val": canvas["val"],
        "conflict": canvas["conflict_val"],
        "hard": hard if settings.n_hard_images is None else hard.head(settings.n_hard_images),
    }


_CANVAS: dict[str, Canvas] = {}  # per process: the canvas a worker loaded, by path


def _canvas() -> Canvas:
    data = shared()
    if data.get("canvas") is not None:
        return data["canvas"]
    path = str(data["canvas_path"])
    if path not in _CANVAS:
        _CANVAS.clear()
        _CANVAS[path] = load_canvas(Path(path))
    return _CANVAS[path]


def _analyse_one(planned: PlannedModel, settings: AnalysisSettings, device: str) -> ModelAnalysis:
    splits = study_splits(_canvas(), settings)
    model = load_study_model(shared()["upstream"], planned.name, device)
    seen = model_splits(model, {k: v for k, v in splits.items() if k != "train"})
    analysis = analyse_model(
        model.record(),
        planned.role,
        model.network,
        settings.configs,
        settings.focus_config,
        planned.full_sweep,
        model.inputs(splits["train"]),
        seen,
        settings.positions_per_image,
        settings.sae,
        settings.interventions,
        device,
    )
    # Measured on the real model through the hooked full forward pass, against the logits the
    # analysis computed from the site onward: an edit that changes nothing must change nothing.
    analysis.noop_gap = noop_gap(analysis.focus_result, seen["hard"].images)
    return analysis


def analyse_models(
    plan: Sequence[PlannedModel],
    upstream: Mapping[str, str | Path],
    canvas_path: str | Path,
    settings: AnalysisSettings,
    device: torch.device | str = "cpu",
    jobs: int = 0,
    canvas: Canvas | None = None,
) -> list[ModelAnalysis]:
    """Every planned model's analysis, in plan order (``jobs`` workers, 0 = one per core; a
    CUDA device runs them one by one in this process). ``canvas``, when given, is used by a
    serial run instead of loading ``canvas_path`` again."""
    workers = resolve_workers(jobs, len(plan))
    if torch.device(device).type == "cuda":
        workers = 1  # one process owns the GPU
    data: dict[str, Any] = {
        "upstream": {name: str(path) for name, path in upstream.items()},
        "canvas_path": str(canvas_path),
        "canvas": canvas if workers == 1 else None,
    }
    return list(process_map(_analyse_one, plan, workers, data=data, args=(settings, str(device))))
