"""The matched robustness comparison: a debiased model against ERM on the same backbone.

Per backbone, the candidate (the best debiasing method there) and the reference (ERM, on
``cheater_cnn`` the cheater itself) share the backbone, recipe, seed and checkpoint rule
(:class:`lazy_artist.zoo.MatchedPair`), and every model of the task is attacked on the same fair
sample of images. So each image has one minimum epsilon per model and seed: the comparison is
paired, image by image, and pooled over seeds.

- **Unbroken samples** (no budget of the grid reached the goal, minimum epsilon ``inf``) are
  censored at ``censor_at`` (the task uses twice the grid's largest budget): above every
  finite value, so they rank as the hardest, and finite, so logs, ranks and ratios are defined.
  A pair unbroken on both models becomes a zero difference, which the signed-rank test drops
  (it says nothing about which is harder).
- **Effect**: the ratio of pooled medians, candidate / reference (> 1: the candidate is harder
  to attack). Medians are order statistics of the censored values; a censored median makes
  the ratio a bound (``median_censored`` says so).
- **Interval**: a percentile bootstrap over *images*: each replicate draws image indices with
  replacement and uses the same draw on every seed (the seeds attacked the same images, whose
  difficulty is shared across seeds; resampling seeds independently would treat the
  ``n_seeds x n_images`` values as independent and give too narrow an interval).
- **Test**: a two-sided Wilcoxon signed-rank test (:func:`lazy_artist.stats.
  wilcoxon_signed_rank`) on per-image log minimum epsilon, candidate vs reference, each image's
  log averaged over seeds first: the image is the unit, so the test's ``n`` is the number of
  images, not images x seeds.
- **The check** (:meth:`MatchedComparison.significant`): the interval excludes 1 *and*
  p < alpha. Otherwise the two are "not measurably different" in this run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lazy_artist.attacks.battery import order_statistic
from lazy_artist.stats import PairedTest, wilcoxon_signed_rank

# Unbroken samples enter at this multiple of the grid's largest budget.
CENSOR_FACTOR = 2.0
# Level of every interval T5 reports (the report prints it from here, never typed in).
CI_LEVEL = 0.95


def censor(values: Sequence[float] | np.ndarray, censor_at: float) -> np.ndarray:
    """Minimum epsilons with ``inf`` (unbroken) replaced by ``censor_at``; the finite ones must
    be positive and below it."""
    array = np.asarray(values, dtype=np.float64)
    if np.any(np.isnan(array)):
        raise ValueError("minimum epsilons contain NaN")
    finite = array[np.isfinite(array)]
    if np.any(finite <= 0):
        raise ValueError("minimum epsilons must be > 0 (a search never reports a zero budget)")
    if len(finite) and finite.max() >= censor_at:
        raise ValueError(
            f"censor_at={censor_at!r} must lie above every finite minimum epsilon "
            f"(largest {finite.max():g})"
        )
    return np.where(np.isfinite(array), array, censor_at)


def median_ratio(candidate: np.ndarray, reference: np.ndarray) -> float:
    """Ratio of pooled medians (order statistics), candidate / reference, over every value of
    the (seeds, images) arrays."""
    return order_statistic(candidate.ravel(), 0.5) / order_statistic(reference.ravel(), 0.5)


def image_bootstrap(
    candidate: np.ndarray,
    reference: np.ndarray,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = CI_LEVEL,
) -> tuple[float, float]:
    """Percentile interval of :func:`median_ratio` over bootstrap replicates that resample the
    images (columns) with replacement, the same draw for every seed (row) and both models.

    With one seed this is :func:`lazy_artist.stats.bootstrap_ci` with ``paired=True`` (the
    same draws from the same generator), which the tests check."""
    if candidate.shape != reference.shape or candidate.ndim != 2 or candidate.shape[1] == 0:
        raise ValueError(
            f"need two (seeds, images) arrays of one shape, got {candidate.shape} and "
            f"{reference.shape}"
        )
    if n_boot < 1 or not 0.0 < level < 1.0:
        raise ValueError(f"n_boot must be >= 1 and level in (0, 1), got {n_boot}, {level}")
    rng = np.random.default_rng(seed)
    n_images = candidate.shape[1]
    replicates = np.empty(n_boot)
    for b in range(n_boot):
        idx = rng.integers(0, n_images, size=n_images)
        replicates[b] = median_ratio(candidate[:, idx], reference[:, idx])
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(replicates, [tail, 1.0 - tail])
    return float(lo), float(hi)


@dataclass(frozen=True)
class MatchedComparison:
    """One backbone's comparison (see the module docstring); methods and labels name the
    models, ``seeds`` the matched pairs pooled."""

    backbone: str
    reference_method: str
    candidate_method: str
    reference_models: list[str]  # labels, one per seed
    candidate_models: list[str]
    seeds: list[int]
    n_images: int
    reference_median: float  # pooled, censored
    candidate_median: float
    ratio: float  # candidate / reference
    ratio_ci95: tuple[float, float]
    per_seed_ratio: list[float]
    test: PairedTest  # Wilcoxon on per-image mean log min eps, candidate - reference
    censor_at: float
    n_unbroken_reference: int
    n_unbroken_candidate: int
    alpha: float
    n_boot: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median_censored(self) -> bool:
        return self.censor_at in (self.reference_median, self.candidate_median)

    @property
    def interval_excludes_one(self) -> bool:
        lo, hi = self.ratio_ci95
        return lo > 1.0 or hi < 1.0

    @property
    def significant(self) -> bool:
        """The check: the interval excludes 1 and p < alpha."""
        p = self.test.p_value
        return self.interval_excludes_one and p is not None and p < self.alpha

    @property
    def harder(self) -> str | None:
        """The method harder to attack (larger median minimum epsilon); None when equal."""
        if self.ratio > 1.0:
            return self.candidate_method
        if self.ratio < 1.0:
            return self.reference_method
        return None

    @property
    def easier(self) -> str | None:
        harder = self.harder
        if harder is None:
            return None
        return self.reference_method if harder == self.candidate_method else self.candidate_method

    @property
    def factor(self) -> float:
        """How many times larger the harder model's median is (>= 1)."""
        return self.ratio if self.ratio >= 1.0 else 1.0 / self.ratio

    @property
    def factor_ci95(self) -> tuple[float, float]:
        lo, hi = self.ratio_ci95
        return (lo, hi) if self.ratio >= 1.0 else (1.0 / hi, 1.0 / lo)

    def detail(self) -> str:
        """The check's computed evidence, one line."""
        lo, hi = self.ratio_ci95
        p = self.test.p_value
        bound = " (a censored median: the ratio is a bound)" if self.median_censored else ""
        verdict = (
            "the interval excludes 1 and p < alpha"
            if self.significant
            else "not measurably different: "
            + (
                "the interval contains 1"
                if not self.interval_excludes_one
                else f"p >= {self.alpha:g}"
            )
        )
        return (
            f"{self.candidate_method} vs {self.reference_method} on {self.backbone}, "
            f"seed(s) {', '.join(map(str, self.seeds))}, {self.n_images} images each: median "
            f"minimum epsilon {self.candidate_median:.4f} vs {self.reference_median:.4f}, ratio "
            f"{self.ratio:.2f} [{lo:.2f}, {hi:.2f}]{bound} ({CI_LEVEL:.0%} bootstrap over images, "
            f"{self.n_boot} replicates); Wilcoxon signed-rank on per-image log minimum epsilon "
            f"p = {_p_text(p)} (n = {self.test.n}, {self.test.test}); {verdict} "
            f"(alpha {self.alpha:g})"
        )

    def record(self) -> dict[str, Any]:
        """summary.json's entry (JSON-able)."""
        return {
            "backbone": self.backbone,
            "reference": self.reference_method,
            "candidate": self.candidate_method,
            "reference_models": list(self.reference_models),
            "candidate_models": list(self.candidate_models),
            "seeds": list(self.seeds),
            "n_images": self.n_images,
            "n_pairs": self.n_images * len(self.seeds),
            "reference_median_min_eps": self.reference_median,
            "candidate_median_min_eps": self.candidate_median,
            "ratio": self.ratio,
            "ratio_ci95": list(self.ratio_ci95),
            "per_seed_ratio": list(self.per_seed_ratio),
            "p_value": self.test.p_value,
            "wilcoxon_statistic": self.test.statistic,
            "test": self.test.test,
            "mean_log_diff": self.test.mean_diff,
            "n_unbroken_reference": self.n_unbroken_reference,
            "n_unbroken_candidate": self.n_unbroken_candidate,
            "censor_at": self.censor_at,
            "median_censored": self.median_censored,
            "alpha": self.alpha,
            "n_boot": self.n_boot,
            "significant": self.significant,
            "harder": self.harder,
            "easier": self.easier,
            "factor": self.factor,
            "factor_ci95": list(self.factor_ci95),
            **self.extra,
        }


def _p_text(p: float | None) -> str:
    if p is None:
        return "n/a"
    return f"{p:.2g}" if p < 0.001 else f"{p:.3f}"


def compare_min_epsilon(
    candidate: Sequence[np.ndarray],
    reference: Sequence[np.ndarray],
    censor_at: float,
    alpha: float = 0.05,
    n_boot: int = 2000,
    seed: int = 0,
    *,
    backbone: str = "",
    candidate_method: str = "candidate",
    reference_method: str = "reference",
    candidate_models: Sequence[str] = (),
    reference_models: Sequence[str] = (),
    seeds: Sequence[int] = (),
    extra: Mapping[str, Any] | None = None,
) -> MatchedComparison:
    """Compare per-image minimum epsilons, one array per seed for each model (the same images
    in the same order on every seed and both models). See the module docstring."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    if len(candidate) != len(reference) or not len(candidate):
        raise ValueError(
            f"need one array per seed for both models, got {len(candidate)} and {len(reference)}"
        )
    cand = np.stack([censor(values, censor_at) for values in candidate])
    ref = np.stack([censor(values, censor_at) for values in reference])
    if cand.shape != ref.shape or cand.shape[1] == 0:
        raise ValueError(
            f"the models must be attacked on the same images: shapes {cand.shape} vs {ref.shape}"
        )
    raw_ref, raw_cand = np.stack(list(reference)), np.stack(list(candidate))
    seeds = list(seeds) or list(range(len(cand)))
    test = wilcoxon_signed_rank(np.log(cand).mean(axis=0), np.log(ref).mean(axis=0))
    return MatchedComparison(
        backbone=backbone,
        reference_method=reference_method,
        candidate_method=candidate_method,
        reference_models=list(reference_models),
        candidate_models=list(candidate_models),
        seeds=seeds,
        n_images=int(cand.shape[1]),
        reference_median=order_statistic(ref.ravel(), 0.5),
        candidate_median=order_statistic(cand.ravel(), 0.5),
        ratio=median_ratio(cand, ref),
        ratio_ci95=image_bootstrap(cand, ref, n_boot, seed, CI_LEVEL),
        per_seed_ratio=[median_ratio(c[None], r[None]) for c, r in zip(cand, ref, strict=True)],
        test=test,
        censor_at=float(censor_at),
        n_unbroken_reference=int((~np.isfinite(raw_ref)).sum()),
        n_unbroken_candidate=int((~np.isfinite(raw_cand)).sum()),
        alpha=float(alpha),
        n_boot=int(n_boot),
        extra=dict(extra or {}),
    )


def compare_pairs(
    pairs: Sequence[Any],
    min_epsilons: Mapping[str, np.ndarray],
    labels: Mapping[str, str],
    censor_at: float,
    alpha: float = 0.05,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, MatchedComparison]:
    """One :class:`MatchedComparison` per backbone of ``pairs`` (:class:`lazy_artist.zoo.
    MatchedPair`, the seeds of a backbone pooled). ``labels`` maps a pair's zoo names to the
    labels ``min_epsilons`` is keyed by."""
    by_backbone: dict[str, list[Any]] = {}
    for pair in pairs:
        by_backbone.setdefault(pair.backbone, []).append(pair)
    comparisons = {}
    for backbone, group in by_backbone.items():
        methods = {pair.method for pair in group}
        if len(methods) != 1:
            raise ValueError(f"pairs on {backbone!r} name several candidates: {sorted(methods)}")
        reference = [labels[pair.reference] for pair in group]
        candidate = [labels[pair.candidate] for pair in group]
        comparisons[backbone] = compare_min_epsilon(
            [min_epsilons[name] for name in candidate],
            [min_epsilons[name] for name in reference],
            censor_at,
            alpha,
            n_boot,
            seed,
            backbone=backbone,
            candidate_method=group[0].method,
            reference_method=_method_of(group[0].reference),
            candidate_models=candidate,
            reference_models=reference,
            seeds=[pair.seed for pair in group],
            extra={"rule": group[0].rule},
        )
    return comparisons


def _method_of(zoo_name: str) -> str:
    return zoo_name.split("@", 1)[0]
