"""Aligned vs conflicting pairs: the same digit strokes painted twice, once in the digit's own
colour and once in another digit's colour, on the same background with the same noise.

Everything but the stroke colour is identical within a pair, so a difference in a model's
prediction or attention between the two images is caused by the colour alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lazy_artist.data.canvas import (
    N_CLASSES,
    CanvasSplit,
    check_bg_range,
    colourise,
    grayscale,
    quantise,
)


@dataclass
class ColourPairs:
    aligned: CanvasSplit  # every digit in its own colour
    conflicting: CanvasSplit  # every digit in another digit's colour


def conflicting_colours(
    labels: np.ndarray, colours: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """The split's colours where they already differ from the digit; elsewhere one of the other
    9 colours, uniformly."""
    labels = np.asarray(labels, dtype=np.int64)
    redrawn = (labels + rng.integers(1, N_CLASSES, size=labels.shape)) % N_CLASSES
    return np.where(np.asarray(colours) != labels, colours, redrawn).astype(np.int64)


def _painted(
    split: CanvasSplit, colours: np.ndarray, seed: int, bg_range: tuple[float, float]
) -> CanvasSplit:
    # The same seed for both colourings: the rng draws backgrounds and noise in the same order,
    # so the two images of a pair differ only where the stroke is.
    images = quantise(
        colourise(split.digits, colours, np.random.default_rng(seed), bg_range=bg_range)
    )
    gray = quantise(grayscale(split.digits, np.random.default_rng(seed), bg_range=bg_range))
    return CanvasSplit(
        images=images,
        gray=gray,
        labels=split.labels.copy(),
        colours=colours,
        digits=split.digits,
        source_index=split.source_index,
    )


def colour_pairs(
    split: CanvasSplit, *, bg_range: tuple[float, float], seed: int = 0
) -> ColourPairs:
    """Aligned and conflicting versions of every image of ``split``, painted on backgrounds
    from ``bg_range``: pass the canvas's own (``Canvas.bg_range``, T0's ``bg_range``), so the
    pairs come from the distribution the models were trained and tested on. There is no
    default on purpose: the module constant would silently disagree with a canvas built with
    another range."""
    conflicting = conflicting_colours(split.labels, split.colours, np.random.default_rng([seed, 1]))
    bg_range = check_bg_range(bg_range)
    return ColourPairs(
        aligned=_painted(split, split.labels.astype(np.int64), seed, bg_range),
        conflicting=_painted(split, conflicting, seed, bg_range),
    )


def verdicts(predictions: np.ndarray, labels: np.ndarray, colours: np.ndarray) -> list[str]:
    """Per image: "correct", "used colour" (predicted the digit its colour stands for, which
    is not its own) or "other error"."""
    out = []
    for pred, label, colour in zip(predictions, labels, colours, strict=True):
        if pred == label:
            out.append("correct")
        elif pred == colour:
            out.append("used colour")
        else:
            out.append("other error")
    return out
