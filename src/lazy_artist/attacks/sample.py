"""The fair sample: images of the source class that *every* compared model classifies correctly.

A model that already misreads an input cannot be "attacked" on it; comparing attack budgets
across models is only fair on inputs all of them start out getting right. The sample is the
first ``n`` such images in split order (the canvas splits are already shuffled).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np


class FairSampleError(ValueError):
    """Too few images that every model classifies correctly; the message says how many."""


@dataclass
class FairSample:
    indices: np.ndarray  # (n,) positions in the split
    fair: bool  # True: every model classifies every chosen image correctly
    n_requested: int
    n_candidates: int  # images of the requested class(es) in the split
    n_fair_available: int  # of those, how many every model gets right
    correct_per_model: dict[str, int]  # of the candidates, how many each model gets right

    def describe(self) -> str:
        per_model = ", ".join(f"{name} {count}" for name, count in self.correct_per_model.items())
        return (
            f"{self.n_fair_available} of {self.n_candidates} candidate images are classified "
            f"correctly by every model (per model: {per_model})"
        )


def fair_sample(
    predictions: Mapping[str, np.ndarray],
    labels: np.ndarray,
    n: int,
    source_class: int | None = None,
    allow_unfair: bool = False,
) -> FairSample:
    """The first ``n`` images (of ``source_class``; None = any class) that every model in
    ``predictions`` (name -> predicted class per image of the split) classifies correctly.

    Fewer than ``n`` such images raise :class:`FairSampleError`, unless ``allow_unfair``: then
    the sample is topped up with the candidates the most models get right (``fair=False``, for
    smoke-test runs whose models are too weak for a fair sample; the caller must report it)."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"sample size must be an integer >= 1, got {n!r}")
    if not predictions:
        raise ValueError("fair_sample needs the predictions of at least one model")
    labels = np.asarray(labels)
    for name, predicted in predictions.items():
        if np.shape(predicted) != labels.shape:
            raise ValueError(
                f"model {name!r}: {np.shape(predicted)} predictions for {labels.shape} labels"
            )
    candidates = (
        np.arange(len(labels)) if source_class is None else np.flatnonzero(labels == source_class)
    )
    correct = np.stack(
        [np.asarray(p)[candidates] == labels[candidates] for p in predictions.values()]
    )
    all_correct = correct.all(axis=0)
    fair_positions = candidates[all_correct]
    sample = FairSample(
        indices=fair_positions[:n],
        fair=len(fair_positions) >= n,
        n_requested=n,
        n_candidates=len(candidates),
        n_fair_available=len(fair_positions),
        correct_per_model={
            name: int(row.sum()) for name, row in zip(predictions, correct, strict=True)
        },
    )
    if sample.fair:
        return sample
    what = "images" if source_class is None else f"images of class {source_class}"
    if not allow_unfair:
        raise FairSampleError(
            f"need {n} {what} that every model classifies correctly, but {sample.describe()}; "
            "lower the sample size, attack another split, or compare better-trained models"
        )
    if len(candidates) < n:
        raise FairSampleError(f"need {n} {what}, but the split has only {len(candidates)}")
    # Stable sort: among equally many correct models, split order decides.
    ranked = candidates[np.argsort(-correct.sum(axis=0), kind="stable")]
    sample.indices = ranked[:n]
    return sample
