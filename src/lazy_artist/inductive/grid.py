"""T7's protocol: the (data set x architecture x variant) training grid, run concurrently, and
what the notebook tabulates and checks from it.

Every fit is independent, so :func:`run_fits` hands them to :func:`lazy_artist.parallel.
process_map` (one thread per fit, so ``jobs`` never changes a number). Workers receive each
data set's clean splits and the permutation once and scramble their own copy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from lazy_artist.attacks.sweep import fgsm_sweep
from lazy_artist.data.scramble import scramble
from lazy_artist.inductive.experiment import FitResult, GraySplits, fit_and_test
from lazy_artist.parallel import process_map, resolve_workers, shared

VARIANTS = ("clean", "scrambled")
FC, CNN = "fcnn", "cnn"


@dataclass(frozen=True)
class FitSpec:
    dataset: str
    arch: str
    variant: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.dataset, self.arch, self.variant)


@dataclass(frozen=True)
class Training:
    """What every fit of the grid shares: the budget and the seed."""

    epochs: int
    batch_size: int
    lr: float
    seed: int


@dataclass(frozen=True)
class Finding:
    name: str
    passed: bool
    detail: str


def plan_fits(datasets: Sequence[str], architectures: Sequence[str]) -> list[FitSpec]:
    """Every (data set, architecture, variant), data-set-major."""
    return [FitSpec(d, a, v) for d in datasets for a in architectures for v in VARIANTS]


def _fit_one(
    spec: FitSpec,
    architectures: Mapping[str, tuple[str, Mapping[str, Any]]],
    training: Training,
    device: str,
) -> FitResult:
    data = shared()
    splits: GraySplits = data["splits"][spec.dataset]
    if spec.variant == "scrambled":
        splits = splits.scrambled(data["permutation"])
    model_name, kwargs = architectures[spec.arch]
    fit = fit_and_test(
        model_name,
        kwargs,
        splits,
        epochs=training.epochs,
        batch_size=training.batch_size,
        lr=training.lr,
        seed=training.seed,
        device=device,
    )
    fit.model = fit.model.cpu()  # a worker's tensors travel back through pickling
    return fit


def run_fits(
    specs: Sequence[FitSpec],
    splits: Mapping[str, GraySplits],
    permutation: np.ndarray,
    architectures: Mapping[str, tuple[str, Mapping[str, Any]]],
    training: Training,
    device: torch.device | str = "cpu",
    jobs: int = 0,
) -> dict[tuple[str, str, str], FitResult]:
    """Fit every spec (``jobs`` workers; 0 = one per core), keyed by ``spec.key``; the models
    come back on ``device``. ``splits`` are the clean splits per data set."""
    workers = resolve_workers(jobs, len(specs))
    if torch.device(device).type == "cuda":
        workers = 1  # one process owns the GPU; fits are small enough to run one by one
    fits = process_map(
        _fit_one,
        specs,
        workers,
        data={"splits": dict(splits), "permutation": permutation},
        args=(dict(architectures), training, str(device)),
    )
    results = {}
    for spec, fit in zip(specs, fits, strict=True):
        fit.model = fit.model.to(device)
        results[spec.key] = fit
    return results


def accuracy_table(
    fits: Mapping[tuple[str, str, str], FitResult],
) -> dict[str, dict[str, dict[str, float]]]:
    """Test accuracy as ``[data set][architecture][variant]``."""
    table: dict[str, dict[str, dict[str, float]]] = {}
    for (dataset, arch, variant), fit in fits.items():
        table.setdefault(dataset, {}).setdefault(arch, {})[variant] = fit.test_accuracy
    return table


def accuracy_rows(
    accuracy: Mapping[str, Mapping[str, Mapping[str, float]]],
    models: Mapping[str, str],
    titles: Mapping[str, str],
) -> list[list[Any]]:
    """One table row per (data set, architecture): clean, scrambled, change in points."""
    return [
        [
            titles[dataset],
            arch,
            models[arch],
            cells["clean"],
            cells["scrambled"],
            100 * (cells["scrambled"] - cells["clean"]),
        ]
        for dataset, per_arch in accuracy.items()
        for arch, cells in per_arch.items()
    ]


def fgsm_grid(
    fits: Mapping[tuple[str, str, str], FitResult],
    splits: Mapping[str, GraySplits],
    permutation: np.ndarray,
    epsilons: Sequence[float],
    n_images: int | None,
    device: torch.device | str = "cpu",
) -> dict[str, dict[str, dict[str, list[float]]]]:
    """Untargeted FGSM accuracy per epsilon as ``[data set][architecture][variant]``: the first
    ``n_images`` test images (None: all), scrambled models attacked in their own input space."""
    grid: dict[str, dict[str, dict[str, list[float]]]] = {}
    for (dataset, arch, variant), fit in fits.items():
        x, y = splits[dataset].test
        if variant == "scrambled":
            x = scramble(x, permutation)
        count = len(y) if n_images is None else min(n_images, len(y))
        sweep = fgsm_sweep(
            fit.model,
            torch.as_tensor(x[:count]).to(device),
            torch.as_tensor(y[:count]).to(device),
            list(epsilons),
        )
        grid.setdefault(dataset, {}).setdefault(arch, {})[variant] = sweep.accuracy
    return grid


def expected_findings(
    accuracy: Mapping[str, Mapping[str, Mapping[str, float]]],
    titles: Mapping[str, str],
    fc_tolerance: float,
    min_cnn_drop: float,
) -> list[Finding]:
    """The three findings declared before the run, per data set: the FCNN is indifferent to
    the permutation, the CNN loses its spatial prior, the CNN beats the FCNN on clean images."""
    findings = []
    for dataset, per_arch in accuracy.items():
        title = titles[dataset]
        fc, cnn = per_arch[FC], per_arch[CNN]
        fc_change = fc["scrambled"] - fc["clean"]
        cnn_drop = cnn["clean"] - cnn["scrambled"]
        findings += [
            Finding(
                f"FCNN indifferent to the permutation [{title}]",
                abs(fc_change) <= fc_tolerance,
                f"FCNN clean {fc['clean']:.4f}, scrambled {fc['scrambled']:.4f} "
                f"(change {fc_change:+.4f}, allowed ±{fc_tolerance})",
            ),
            Finding(
                f"CNN loses its spatial prior [{title}]",
                cnn_drop >= min_cnn_drop,
                f"CNN clean {cnn['clean']:.4f}, scrambled {cnn['scrambled']:.4f} "
                f"(drop {cnn_drop:+.4f}, required >= {min_cnn_drop})",
            ),
            Finding(
                f"CNN beats FCNN on clean images [{title}]",
                cnn["clean"] > fc["clean"],
                f"clean test accuracy CNN {cnn['clean']:.4f} vs FCNN {fc['clean']:.4f}",
            ),
        ]
    return findings
