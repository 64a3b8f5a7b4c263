"""Where a saliency map puts its mass: on the digit's stroke or on the background.

The masks come from the raw MNIST digit (``CanvasSplit.digits``), so they are the same for
every colouring of it. ratio = mean map value on background pixels / mean on stroke pixels:
well below 1 means the map sits on the stroke; near or above 1 means it is spread over the
image. The anti-aliased rim between the two (intensity between the thresholds) belongs to
neither, so a slightly blurred map is not penalised for touching the stroke's edge.

Over many images the per-image ratio is heavy-tailed (a map with next to nothing on the stroke
gives an enormous ratio), so a group of images is summarised by the *pooled* ratio, mean
background attention / mean stroke attention over all its images, with a bootstrap interval,
plus the median and quartiles of the per-image ratios.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STROKE_MIN = 0.5  # digit intensity (0..1) at or above which a pixel is stroke
BACKGROUND_MAX = 0.05  # at or below which it is background
EMPTY = 1e-12  # a map with less mass than this on the stroke and background has no ratio


@dataclass
class DigitMasks:
    stroke: np.ndarray  # bool (N, H, W)
    background: np.ndarray  # bool (N, H, W)


def digit_masks(
    digits: np.ndarray, stroke_min: float = STROKE_MIN, background_max: float = BACKGROUND_MAX
) -> DigitMasks:
    """Stroke and background masks from raw digits (uint8 0..255 or float 0..1)."""
    digits = np.asarray(digits)
    if digits.ndim != 3:
        raise ValueError(f"digits must be (N, H, W), got shape {digits.shape}")
    intensity = digits / 255.0 if digits.dtype == np.uint8 else digits.astype(np.float64)
    if not 0.0 <= background_max < stroke_min <= 1.0:
        raise ValueError("need 0 <= background_max < stroke_min <= 1")
    return DigitMasks(stroke=intensity >= stroke_min, background=intensity <= background_max)


@dataclass
class RegionMeans:
    """Per image, the mean of its map over background pixels and over stroke pixels."""

    background: np.ndarray  # (N,)
    stroke: np.ndarray  # (N,)

    def ratios(self) -> np.ndarray:
        """(N,) background / stroke per image: NaN for a map that is zero on both regions
        (nothing to compare), inf for one that is zero on the stroke only."""
        ratio = np.full(len(self.stroke), np.nan)
        has_stroke = self.stroke > EMPTY
        ratio[has_stroke] = self.background[has_stroke] / self.stroke[has_stroke]
        ratio[~has_stroke & (self.background > EMPTY)] = np.inf
        return ratio

    def pooled_ratio(self, index: np.ndarray | None = None) -> float:
        """Mean background attention / mean stroke attention over the images (all, or those
        at ``index``). Every map peaks at 1, so no single image can dominate, unlike the
        mean of per-image ratios, which one map with next to nothing on the stroke can."""
        background = self.background if index is None else self.background[index]
        stroke = self.stroke if index is None else self.stroke[index]
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.nanmean(background) / np.nanmean(stroke))


def region_means(maps: np.ndarray, digits: np.ndarray) -> RegionMeans:
    """Mean of each (non-negative) map on its digit's background and stroke pixels."""
    maps = np.asarray(maps, dtype=np.float64)
    masks = digit_masks(digits)
    if maps.shape != masks.stroke.shape:
        raise ValueError(f"maps {maps.shape} and digits {masks.stroke.shape} differ in shape")
    if maps.size and maps.min() < 0:
        raise ValueError("attention maps must be non-negative")
    return RegionMeans(
        background=_masked_mean(maps, masks.background), stroke=_masked_mean(maps, masks.stroke)
    )


def background_stroke_ratio(maps: np.ndarray, digits: np.ndarray) -> np.ndarray:
    """(N,) mean of each map on the background / its mean on the stroke (see ``ratios``)."""
    return region_means(maps, digits).ratios()


def _masked_mean(maps: np.ndarray, mask: np.ndarray) -> np.ndarray:
    counts = mask.reshape(len(mask), -1).sum(axis=1)
    sums = (maps * mask).reshape(len(maps), -1).sum(axis=1)
    return np.divide(sums, counts, out=np.full(len(maps), np.nan), where=counts > 0)


@dataclass
class RatioSummary:
    pooled: float  # mean background / mean stroke attention over all images
    ci_low: float  # 95% bootstrap interval of ``pooled``
    ci_high: float
    median: float  # of the per-image ratios
    q1: float
    q3: float
    n: int  # images
    n_off_stroke: int  # images whose map has no mass on the stroke (per-image ratio undefined)

    def as_dict(self) -> dict[str, float | int]:
        return dict(self.__dict__)


def order_quantiles(values: np.ndarray, q: list[float]) -> np.ndarray:
    # Sample values, not interpolations: an interpolation next to an infinite ratio is NaN.
    return np.quantile(values, q, method="inverted_cdf")


def _bootstrap_indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def summarise_ratios(means: RegionMeans, n_boot: int = 1000, seed: int = 0) -> RatioSummary:
    """The pooled ratio with a percentile-bootstrap 95% interval over images, and the median
    and quartiles of the per-image ratios (the off-stroke images count as +inf there)."""
    ratios = means.ratios()
    n = len(ratios)
    boot = [means.pooled_ratio(index) for index in _bootstrap_indices(n, n_boot, seed)]
    low, high = order_quantiles(np.array(boot), [0.025, 0.975]) if n else (np.nan, np.nan)
    defined = ratios[~np.isnan(ratios)]
    q1, median, q3 = order_quantiles(defined, [0.25, 0.5, 0.75]) if len(defined) else (np.nan,) * 3
    return RatioSummary(
        pooled=means.pooled_ratio() if n else float("nan"),
        ci_low=float(low),
        ci_high=float(high),
        median=float(median),
        q1=float(q1),
        q3=float(q3),
        n=n,
        n_off_stroke=int((~np.isfinite(ratios)).sum()),
    )


@dataclass
class Difference:
    """first - second for the pooled ratio, with a 95% paired-bootstrap interval."""

    estimate: float
    low: float
    high: float
    n: int


def pooled_difference(
    first: RegionMeans, second: RegionMeans, n_boot: int = 1000, seed: int = 0
) -> Difference:
    """Pooled ratio of ``first`` minus that of ``second`` over the same images (aligned vs
    conflicting version of each digit, or two models on the same images): each bootstrap
    sample redraws images and keeps both members of a pair together."""
    n = len(first.stroke)
    if len(second.stroke) != n:
        raise ValueError(f"paired comparison needs the same images: {n} vs {len(second.stroke)}")
    boot = [
        first.pooled_ratio(index) - second.pooled_ratio(index)
        for index in _bootstrap_indices(n, n_boot, seed)
    ]
    low, high = order_quantiles(np.array(boot), [0.025, 0.975])
    return Difference(first.pooled_ratio() - second.pooled_ratio(), float(low), float(high), n)
