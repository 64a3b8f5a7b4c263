"""T3's attention findings, per backbone and pooled over seeds.

Every comparison is between models of one backbone (ERM against the best debiasing method on
the same backbone, recipe, seed and selection rule), so both maps come from the same layer at
the same resolution. Each seed contributes one value of a statistic built from pooled
background/stroke ratios (:meth:`RegionMeans.pooled_ratio`), e.g. ERM's conflicting ratio
minus its aligned ratio; the finding is the mean of the per-seed values.

Its 95% interval is a two-stage (cluster) percentile bootstrap over seeds and pairs: each
replicate draws seeds with replacement, then, within every drawn seed, the image pairs with
replacement; the same pair indices serve every model and both colourings of that seed, so the
comparison stays paired. The first stage carries the variation between training seeds, the
second the finite sample of digits. With one seed (the quick profile) it reduces to a paired
bootstrap over pairs, conditional on that seed. With three seeds the first stage has few
distinct draws, so the interval is a rough one; the per-seed values are reported beside it.
A replicate whose statistic is undefined (no attention on the stroke of any drawn image) is
NaN and makes the interval NaN, which fails the check rather than hiding it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lazy_artist.interpret.attention import RegionMeans, order_quantiles

N_BOOT = 1000

# The findings T3 declares per backbone, before any run (names carry the backbone).
MOVES_OFF = "moves_off_stroke"  # ERM's map moves off the stroke on conflicting images
SPREADS_MORE = "spreads_more"  # ERM's map spreads more than the debiased model's (conflicting)
STABLE = "stable"  # the debiased model's ratio rises by at most a stated share


@dataclass(frozen=True)
class SeedPooled:
    """A per-seed statistic averaged over seeds, with its two-stage bootstrap interval."""

    estimate: float  # mean of ``per_seed``
    low: float
    high: float
    per_seed: tuple[float, ...]
    n_images: int

    @property
    def n_seeds(self) -> int:
        return len(self.per_seed)

    def record(self) -> dict[str, Any]:
        return {
            "estimate": self.estimate,
            "ci95": [self.low, self.high],
            "per_seed": list(self.per_seed),
            "n_seeds": self.n_seeds,
            "n_images": self.n_images,
        }

    def interval_text(self, digits: int = 3) -> str:
        return f"{self.low:.{digits}f}..{self.high:.{digits}f}"


def _stack(series: Sequence[RegionMeans]) -> tuple[np.ndarray, np.ndarray]:
    """(seeds, images) arrays of background and stroke means; every seed on the same images."""
    lengths = {len(means.stroke) for means in series}
    if len(lengths) != 1:
        raise ValueError(f"every seed must be measured on the same images, got sizes {lengths}")
    background = np.stack([np.asarray(m.background, float) for m in series])
    stroke = np.stack([np.asarray(m.stroke, float) for m in series])
    return background, stroke


def _ratios(
    background: np.ndarray, stroke: np.ndarray, seeds: np.ndarray, images: np.ndarray
) -> np.ndarray:
    """Pooled ratio of each drawn seed over its drawn images: (B, k) from (B, k) seed indices
    and (B, k, n) image indices."""
    rows = seeds[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.nanmean(background[rows, images], axis=-1) / np.nanmean(
            stroke[rows, images], axis=-1
        )


def seed_pooled(
    combine: Callable[..., np.ndarray],
    *series: Sequence[RegionMeans],
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> SeedPooled:
    """``combine`` (elementwise, on arrays of pooled ratios) of several series, each one
    :class:`RegionMeans` per seed (same seeds in the same order, same images), averaged over
    seeds, with the two-stage bootstrap interval of the module docstring.

    ``seed_pooled(lambda a, b: a - b, erm_conflicting, erm_aligned)`` is ERM's rise."""
    if not series or not series[0]:
        raise ValueError("seed_pooled needs at least one series with at least one seed")
    if len({len(s) for s in series}) != 1:
        raise ValueError("every series needs one RegionMeans per seed, the same seeds")
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}")
    stacks = [_stack(s) for s in series]
    k, n = stacks[0][1].shape
    if any(stroke.shape != (k, n) for _, stroke in stacks):
        raise ValueError("paired series must cover the same images")
    every = np.arange(k)[None, :]
    all_images = np.broadcast_to(np.arange(n), (1, k, n))
    per_seed = combine(*(_ratios(bg, st, every, all_images) for bg, st in stacks))[0]
    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, k, size=(n_boot, k))
    images = rng.integers(0, n, size=(n_boot, k, n))
    with np.errstate(invalid="ignore"):
        replicates = combine(*(_ratios(bg, st, seeds, images) for bg, st in stacks)).mean(axis=1)
    if np.any(np.isnan(replicates)):
        low = high = float("nan")
    else:
        low, high = (float(v) for v in order_quantiles(replicates, [0.025, 0.975]))
    with np.errstate(invalid="ignore"):
        estimate = float(np.mean(per_seed))
    return SeedPooled(estimate, low, high, tuple(float(v) for v in per_seed), n)


def difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a - b


def relative_rise(after: np.ndarray, before: np.ndarray) -> np.ndarray:
    """after / before - 1: the rise as a share of the starting ratio."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return after / before - 1.0


def identity(a: np.ndarray) -> np.ndarray:
    return a


@dataclass(frozen=True)
class Finding:
    name: str  # the check's name, backbone included
    kind: str  # MOVES_OFF, SPREADS_MORE or STABLE
    backbone: str
    subject: str  # the method the finding is about
    other: str | None  # the method it is compared with (SPREADS_MORE)
    stat: SeedPooled
    bound: float  # the interval must lie above it (MOVES_OFF, SPREADS_MORE) or below (STABLE)
    passed: bool
    detail: str

    def record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "backbone": self.backbone,
            "subject": self.subject,
            "other": self.other,
            "bound": self.bound,
            "passed": self.passed,
            **self.stat.record(),
        }


def finding_name(kind: str, backbone: str, reference: str, candidate: str) -> str:
    """``erm_spreads_more_than_cf_invar [lenet_cnn]`` and the like."""
    stem = {
        MOVES_OFF: f"{reference}_attention_spreads_on_conflicting",
        SPREADS_MORE: f"{reference}_spreads_more_than_{candidate}",
        STABLE: f"{candidate}_attention_stable",
    }[kind]
    return f"{stem} [{backbone}]"


def _per_seed_text(stat: SeedPooled) -> str:
    return ", ".join(f"{v:.3f}" for v in stat.per_seed)


def backbone_findings(
    backbone: str,
    reference: str,
    candidate: str,
    regions: Mapping[str, Mapping[str, Sequence[RegionMeans]]],
    max_stable_increase: float,
    which: str = "Grad-CAM",
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> list[Finding]:
    """The three declared findings on one backbone. ``regions[method][group]`` holds one
    :class:`RegionMeans` per seed (the same seeds for both methods, the same pairs for every
    seed), ``group`` "aligned" or "conflicting"; ``reference`` is ERM, ``candidate`` the
    debiasing method. ``which`` names the map in the details."""
    ref, cand = regions[reference], regions[candidate]
    if len(ref["conflicting"]) != len(cand["conflicting"]):
        raise ValueError(f"{backbone}: {reference} and {candidate} need the same seeds")
    rise = seed_pooled(difference, ref["conflicting"], ref["aligned"], n_boot=n_boot, seed=seed)
    gap = seed_pooled(difference, ref["conflicting"], cand["conflicting"], n_boot=n_boot, seed=seed)
    drift = seed_pooled(
        relative_rise, cand["conflicting"], cand["aligned"], n_boot=n_boot, seed=seed
    )
    seeds = f"{rise.n_seeds} seed(s) x {rise.n_images} pairs"
    findings = [
        Finding(
            finding_name(MOVES_OFF, backbone, reference, candidate),
            MOVES_OFF,
            backbone,
            reference,
            None,
            rise,
            0.0,
            bool(rise.low > 0),
            f"{backbone}, {which}: {reference}'s pooled ratio conflicting - aligned "
            f"{rise.estimate:.3f} (mean over seeds; 95% bootstrap over seeds and pairs "
            f"{rise.interval_text()}; per seed {_per_seed_text(rise)}; {seeds}); required: "
            "interval above 0",
        ),
        Finding(
            finding_name(SPREADS_MORE, backbone, reference, candidate),
            SPREADS_MORE,
            backbone,
            reference,
            candidate,
            gap,
            0.0,
            bool(gap.low > 0),
            f"{backbone}, {which}, conflicting images: pooled ratio {reference} - {candidate} "
            f"{gap.estimate:.3f} (95% bootstrap over seeds and pairs {gap.interval_text()}; "
            f"per seed {_per_seed_text(gap)}; {seeds}); required: interval above 0",
        ),
        Finding(
            finding_name(STABLE, backbone, reference, candidate),
            STABLE,
            backbone,
            candidate,
            None,
            drift,
            max_stable_increase,
            bool(drift.high <= max_stable_increase),
            f"{backbone}, {which}: {candidate}'s pooled ratio conflicting / aligned - 1 "
            f"{drift.estimate:.3f} (95% bootstrap over seeds and pairs "
            f"{drift.interval_text()}; per seed {_per_seed_text(drift)}; {seeds}); required: "
            f"upper bound <= {max_stable_increase:g}",
        ),
    ]
    return findings
