"""Dataset exemplars: the real images that most excite each channel, with their digit and colour.

The honest companion of a prototype: a synthetic image can look like anything, while the top
images of a split where colour and digit vary independently show which of the two the channel
actually follows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Exemplars:
    indices: np.ndarray  # (U, k) dataset indices, strongest first
    values: np.ndarray  # (U, k) the channel's score on those images
    digits: np.ndarray  # (U, k) their digit labels
    colours: np.ndarray  # (U, k) their palette colour indices

    def purity(self) -> tuple[np.ndarray, np.ndarray]:
        """Per unit, the share of its top-k sharing the most common colour, and digit: a channel
        whose exemplars are all one colour but many digits reads colour."""
        return _mode_share(self.colours), _mode_share(self.digits)


def _mode_share(values: np.ndarray) -> np.ndarray:
    if values.shape[1] == 0:
        return np.full(len(values), np.nan)
    return np.array([np.bincount(row).max() / len(row) for row in values])


def top_exemplars(scores: np.ndarray, digits: np.ndarray, colours: np.ndarray, k: int) -> Exemplars:
    """Top-``k`` images per unit from ``scores`` (N, U) (e.g. the channel's spatial mean);
    ties are broken by dataset order so the result is deterministic."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or len(scores) != len(digits) or len(digits) != len(colours):
        raise ValueError(
            f"scores must be (N, units) with N = len(digits) = len(colours); got {scores.shape}, "
            f"{len(digits)} digits, {len(colours)} colours"
        )
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    k = min(k, len(scores))
    # Stable sort of the negated scores: descending, earlier images first among equals.
    order = np.argsort(-scores, axis=0, kind="stable")[:k].T
    return Exemplars(
        indices=order,
        values=np.take_along_axis(scores.T, order, axis=1),
        digits=np.asarray(digits)[order],
        colours=np.asarray(colours)[order],
    )
