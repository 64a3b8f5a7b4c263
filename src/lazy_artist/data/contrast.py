"""Stroke/background contrast of a painted canvas, measured on the generated images.

Per image, the contrast is the largest per-channel difference (L-infinity distance in RGB)
between the mean colour of the stroke pixels and the mean colour of the background pixels.
The largest channel, not an average over channels, because a stroke is visible as soon as it
differs from the background in one channel (a red stroke on a background of equal red
intensity is still plain in green and blue); it is in pixel units, so it compares directly
with the noise sigma (0.02). Stroke pixels are those where the MNIST digit's intensity is at
least ``STROKE_ALPHA``; background pixels those where it is zero. The faint anti-aliased rim
in between belongs to neither.

T0 summarises the contrast per stroke colour and checks that every colour clears a margin
declared as a task parameter before the run (``contrast_failures``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from lazy_artist.data.canvas import COLOUR_NAMES, N_CLASSES, CanvasSplit, colourise, quantise

STROKE_ALPHA = 0.5  # digit intensity (0..1) from which a pixel counts as stroke
_CHUNK = 4096  # images per vectorised block: bounds temporary memory on the full data


@dataclass(frozen=True)
class ColourContrast:
    """The contrast of the images whose stroke is painted one palette colour."""

    colour: int
    name: str
    n: int  # images with this stroke colour (0: colour absent, the other fields NaN)
    median: float
    p01: float  # 1st percentile: how the worst images fare
    share_below: float  # share of these images whose contrast is below the margin


def stroke_contrast(
    images: np.ndarray, digits: np.ndarray, stroke_alpha: float = STROKE_ALPHA
) -> np.ndarray:
    """Per image: max over channels of |mean stroke colour - mean background colour|.

    ``images`` is (N, C, H, W) in [0, 1] (the painted canvas), ``digits`` the (N, H, W) uint8
    MNIST digits they were painted from. Returns float64 (N,). An image without stroke or
    without background pixels is a ValueError (it has no contrast to measure).
    """
    images, digits = np.asarray(images), np.asarray(digits)
    if images.ndim != 4 or digits.shape != (images.shape[0], *images.shape[2:]):
        raise ValueError(
            f"need images (N, C, H, W) and digits (N, H, W) of the same N, H, W; "
            f"got {images.shape} and {digits.shape}"
        )
    if not 0.0 < stroke_alpha <= 1.0:
        raise ValueError(f"stroke_alpha must lie in (0, 1], got {stroke_alpha}")
    threshold = stroke_alpha * 255.0
    out = np.empty(images.shape[0], dtype=np.float64)
    for start in range(0, images.shape[0], _CHUNK):
        stop = min(start + _CHUNK, images.shape[0])
        block = images[start:stop].astype(np.float64)
        stroke = digits[start:stop].astype(np.float64) >= threshold
        background = digits[start:stop] == 0
        n_stroke, n_background = stroke.sum(axis=(1, 2)), background.sum(axis=(1, 2))
        empty = np.flatnonzero((n_stroke == 0) | (n_background == 0))
        if empty.size:
            raise ValueError(
                f"image {start + int(empty[0])} has no stroke or no background pixels "
                f"(stroke_alpha {stroke_alpha})"
            )
        mean_stroke = np.einsum("nchw,nhw->nc", block, stroke) / n_stroke[:, None]
        mean_background = np.einsum("nchw,nhw->nc", block, background) / n_background[:, None]
        out[start:stop] = np.abs(mean_stroke - mean_background).max(axis=1)
    return out


def contrast_by_colour(
    contrast: np.ndarray, colours: np.ndarray, margin: float
) -> list[ColourContrast]:
    """One summary per palette colour (all ten, in palette order) of per-image ``contrast``."""
    contrast, colours = np.asarray(contrast, dtype=np.float64), np.asarray(colours)
    if contrast.shape != colours.shape:
        raise ValueError(f"contrast {contrast.shape} and colours {colours.shape} differ in shape")
    summaries = []
    for colour in range(N_CLASSES):
        values = contrast[colours == colour]
        if values.size == 0:
            summaries.append(
                ColourContrast(colour, COLOUR_NAMES[colour], 0, np.nan, np.nan, np.nan)
            )
            continue
        summaries.append(
            ColourContrast(
                colour=colour,
                name=COLOUR_NAMES[colour],
                n=int(values.size),
                median=float(np.median(values)),
                p01=float(np.quantile(values, 0.01)),
                share_below=float(np.mean(values < margin)),
            )
        )
    return summaries


def split_contrast(split: CanvasSplit, margin: float) -> list[ColourContrast]:
    """``contrast_by_colour`` of one canvas split's colour images."""
    return contrast_by_colour(stroke_contrast(split.images, split.digits), split.colours, margin)


def contrast_failures(
    per_split: Mapping[str, list[ColourContrast]], max_share_below: float
) -> list[str]:
    """What keeps the contrast check from holding; empty when every colour clears the margin.

    A colour fails in a split where more than ``max_share_below`` of its images fall below the
    margin. A colour absent from a split is not judged there, but a colour measured in no
    split at all fails: the check cannot vouch for it.
    """
    if not 0.0 <= max_share_below < 1.0:
        raise ValueError(f"max_share_below must lie in [0, 1), got {max_share_below}")
    failures = []
    measured = set()
    for split_name, summaries in per_split.items():
        for summary in summaries:
            if summary.n == 0:
                continue
            measured.add(summary.colour)
            if summary.share_below > max_share_below:
                failures.append(
                    f"{summary.name} in {split_name}: {summary.share_below:.1%} below the margin "
                    f"(median {summary.median:.3f}, n = {summary.n})"
                )
    failures += [
        f"{COLOUR_NAMES[colour]}: in no split"
        for colour in range(N_CLASSES)
        if colour not in measured
    ]
    return failures


def repainted_contrast(
    split: CanvasSplit, bg_range: tuple[float, float], margin: float, seed: int
) -> list[ColourContrast]:
    """The split's digits and stroke colours repainted on backgrounds from ``bg_range``.

    T0 uses it to measure, on the same digits, what another background range (the seed
    reports' U(0.3, 0.6)) would have given: the departure's reason, in numbers.
    """
    rng = np.random.default_rng([seed, 99])  # a stream of its own: the canvas is untouched
    images = quantise(colourise(split.digits, split.colours, rng, bg_range=bg_range))
    return contrast_by_colour(stroke_contrast(images, split.digits), split.colours, margin)


def weakest(per_split: Mapping[str, list[ColourContrast]]) -> dict[str, object]:
    """The (split, colour) with the lowest median contrast: what the margin is closest to."""
    candidates = [
        (summary.median, split_name, summary)
        for split_name, summaries in per_split.items()
        for summary in summaries
        if summary.n
    ]
    if not candidates:
        raise ValueError("no colour was measured in any split")
    _, split_name, summary = min(candidates, key=lambda item: item[0])
    return {
        "split": split_name,
        "colour": summary.name,
        "median": summary.median,
        "p01": summary.p01,
        "share_below": summary.share_below,
        "n": summary.n,
    }


def contrast_metrics(per_split: Mapping[str, list[ColourContrast]]) -> dict[str, list[float]]:
    """Flat metrics for results.json: per split, the median and below-margin share per colour
    (palette order; None where a colour is absent)."""
    metrics: dict[str, list[float]] = {}
    for split_name, summaries in per_split.items():
        metrics[f"contrast_median_{split_name}"] = [summary.median for summary in summaries]
        metrics[f"contrast_share_below_{split_name}"] = [
            summary.share_below for summary in summaries
        ]
    return metrics
