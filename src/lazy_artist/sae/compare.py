"""T6's matched comparison: ERM against the best debiasing method on the same backbone.

Every comparative finding pairs two T4 models that differ only in the method (the same
backbone, recipe, seed and checkpoint rule: :func:`lazy_artist.zoo.matched_pairs`), both read
at the same configuration (the focus layer and aggregation, which on one backbone is one layer
of one resolution). A measure is computed per model, pooled per backbone over seeds (mean and
Student-t 95% interval over seeds), and ERM is compared with the debiasing method by a paired
t test over seeds: with fewer than two seeds, or p >= alpha, the two are *tied*.

The declared expectation for every measure is that ERM's value is the larger (ERM trained on
the colour-biased canvas reads colour, the debiased model should not), so each measure's check
passes only when ERM is larger and the test separates the two; a tie or a reversal fails it.

Cost: every configuration is analysed for the first ``sweep_seeds`` seeds of each backbone
(:func:`plan_models`), the later seeds only at the focus configuration, which is all the
comparison over seeds reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lazy_artist.sae.study import ConfigResult, ModelAnalysis
from lazy_artist.stats import Interval, PairedTest, mean_ci95, paired_t_test, tied
from lazy_artist.zoo import CHEATER_BACKBONE, MatchedPair

REFERENCE, CANDIDATE = "reference", "candidate"
CI_LEVEL = 0.95  # the level of lazy_artist.stats.mean_ci95's Student-t intervals


@dataclass(frozen=True)
class PlannedModel:
    """One model T6 analyses: its zoo name, its role in its pair, and whether it gets every
    configuration (``full_sweep``) or only the focus one."""

    name: str
    role: str  # REFERENCE (ERM) or CANDIDATE (the debiasing method)
    backbone: str
    seed: int
    full_sweep: bool


def plan_models(pairs: Sequence[MatchedPair], sweep_seeds: int = 1) -> list[PlannedModel]:
    """Both models of every pair, in pair order; the first ``sweep_seeds`` seeds of each
    backbone get the full configuration sweep."""
    if isinstance(sweep_seeds, bool) or int(sweep_seeds) < 1:
        raise ValueError(f"sweep_seeds must be an integer >= 1, got {sweep_seeds!r}")
    seeds: dict[str, list[int]] = {}
    for pair in pairs:
        seeds.setdefault(pair.backbone, []).append(pair.seed)
    planned = []
    for pair in pairs:
        sweep = pair.seed in sorted(seeds[pair.backbone])[:sweep_seeds]
        for role, name in ((REFERENCE, pair.reference), (CANDIDATE, pair.candidate)):
            planned.append(PlannedModel(name, role, pair.backbone, pair.seed, sweep))
    return planned


# --- measures ----------------------------------------------------------------------------


def colour_dominated_share(result: ConfigResult) -> float:
    """Share of live SAE features more colour- than digit-selective (conflict validation)."""
    return result.colour_dominated_share()


def excess_ablation_flip_rate(result: ConfigResult) -> float:
    """Hard predictions changed by ablating the top colour features, minus the mean over
    random live feature sets of the same size: what the colour features do beyond any
    features."""
    random = result.random_flip_rates()
    baseline = float(random.mean()) if len(random) else 0.0
    return result.effects["ablate"].flip_rate - baseline


def colour_probability_drop(result: ConfigResult) -> float:
    """How much ablating the top colour features lowers the mean probability of the digit the
    stroke colour stands for, on the hard test set."""
    effect = result.effects["ablate"]
    return effect.colour_prob_before - effect.colour_prob_after


@dataclass(frozen=True)
class Measure:
    name: str  # summary.json key
    label: str  # what tables and figures call it
    check: str  # the check's name, "[<backbone>]" appended
    claim: str  # what the check asserts, for its detail
    compute: Callable[[ConfigResult], float]
    percent: bool  # shown as a percentage (a share) or as a number


MEASURES: dict[str, Measure] = {
    measure.name: measure
    for measure in (
        Measure(
            "colour_dominated_share",
            "colour-dominated features",
            "erm_more_colour_features",
            "more of ERM's live SAE features are more colour- than digit-selective",
            colour_dominated_share,
            True,
        ),
        Measure(
            "excess_ablation_flip_rate",
            "flips beyond random (colour ablation)",
            "erm_colour_ablation_flips_more",
            "ablating ERM's top colour features changes more hard predictions beyond random "
            "feature sets",
            excess_ablation_flip_rate,
            True,
        ),
        Measure(
            "colour_probability_drop",
            "drop of P(colour digit) (colour ablation)",
            "erm_colour_probability_drops_more",
            "ablating ERM's top colour features lowers the probability of the colour's digit more",
            colour_probability_drop,
            False,
        ),
    )
}


def check_name(base: str, backbone: str) -> str:
    """Check names carry the backbone: ``erm_more_colour_features [cheater_cnn]``."""
    return f"{base} [{backbone}]"


def format_value(value: float, percent: bool) -> str:
    """A share as a percentage with one decimal, any other measure with four decimals."""
    return f"{100 * value:.1f}%" if percent else f"{value:.4f}"


def format_interval(interval: Interval, percent: bool) -> str:
    """``mean [lo, hi]`` (the mean alone when there is no interval)."""
    if interval.lo is None or interval.hi is None:
        return format_value(interval.mean, percent)
    return (
        f"{format_value(interval.mean, percent)} [{format_value(interval.lo, percent)}, "
        f"{format_value(interval.hi, percent)}]"
    )


@dataclass(frozen=True)
class MeasureComparison:
    """One measure on one backbone: ERM's per-seed values against the debiasing method's."""

    measure: Measure
    backbone: str
    config: str  # the configuration both models are read at
    method: str  # the debiasing method
    seeds: tuple[int, ...]
    reference: tuple[float, ...]  # ERM, per seed (same order as ``seeds``)
    candidate: tuple[float, ...]
    alpha: float = 0.05

    @property
    def reference_interval(self) -> Interval:
        return mean_ci95(self.reference)

    @property
    def candidate_interval(self) -> Interval:
        return mean_ci95(self.candidate)

    @property
    def test(self) -> PairedTest:
        """Paired t test of ERM minus the method over seeds."""
        return paired_t_test(self.reference, self.candidate)

    @property
    def tied(self) -> bool:
        return tied(self.test, self.alpha)

    @property
    def larger(self) -> str | None:
        """Which model's value is larger (REFERENCE or CANDIDATE), None when tied."""
        if self.tied:
            return None
        return REFERENCE if self.test.mean_diff > 0 else CANDIDATE

    @property
    def check(self) -> str:
        return check_name(self.measure.check, self.backbone)

    @property
    def passed(self) -> bool:
        return self.larger == REFERENCE

    def verdict(self) -> str:
        """``erm larger`` / ``<method> larger`` / ``tied``, with the test behind it."""
        p = self.test.p_value
        test = "no test with one seed" if p is None else f"paired t test p = {p:.3g}"
        larger = {REFERENCE: "erm", CANDIDATE: self.method, None: None}[self.larger]
        return f"{'tied' if larger is None else larger + ' larger'}, {test}"

    def detail(self) -> str:
        test, percent = self.test, self.measure.percent
        diff = format_interval(Interval(test.mean_diff, test.lo, test.hi, test.n), percent)
        return (
            f"{self.backbone} at {self.config}, {self.measure.label} over {len(self.seeds)} "
            f"seed(s) (mean [{CI_LEVEL:.0%} interval]): erm {format_interval(self.reference_interval, percent)}"
            f", {self.method} {format_interval(self.candidate_interval, percent)}; difference "
            f"{diff}; {self.verdict()} (alpha {self.alpha:g}; required: {self.measure.claim}, "
            "significantly)"
        )

    def record(self) -> dict[str, Any]:
        """The summary.json entry (intervals as ``[lo, hi]``)."""
        test = self.test
        return {
            "backbone": self.backbone,
            "config": self.config,
            "method": self.method,
            "seeds": list(self.seeds),
            "n_seeds": len(self.seeds),
            "erm": list(self.reference),
            "debiased": list(self.candidate),
            "erm_mean": self.reference_interval.mean,
            "erm_ci95": self.reference_interval.as_list(),
            "debiased_mean": self.candidate_interval.mean,
            "debiased_ci95": self.candidate_interval.as_list(),
            "diff_mean": test.mean_diff,
            "diff_ci95": [test.lo, test.hi],
            "p_value": test.p_value,
            "test": test.test,
            "alpha": self.alpha,
            "tied": self.tied,
            "larger": {REFERENCE: "erm", CANDIDATE: self.method, None: None}[self.larger],
            "check": self.check,
            "percent": self.measure.percent,
            "label": self.measure.label,
        }


def by_backbone(analyses: Iterable[ModelAnalysis]) -> dict[str, list[ModelAnalysis]]:
    """The analyses grouped by backbone, order kept."""
    groups: dict[str, list[ModelAnalysis]] = {}
    for analysis in analyses:
        groups.setdefault(analysis.backbone, []).append(analysis)
    return groups


def index_analyses(analyses: Iterable[ModelAnalysis]) -> dict[str, ModelAnalysis]:
    return {analysis.name: analysis for analysis in analyses}


def headline_analysis(analyses: Sequence[ModelAnalysis]) -> ModelAnalysis:
    """The model of the worked example: ERM on the cheater backbone at its first swept seed
    (the cheater itself), else the first swept ERM model."""
    swept = [a for a in analyses if a.role == REFERENCE and a.full_sweep]
    if not swept:
        raise ValueError("no ERM model was analysed with the full configuration sweep")
    return next((a for a in swept if a.backbone == CHEATER_BACKBONE), swept[0])


def compare_pairs(
    pairs: Sequence[MatchedPair],
    analyses: Mapping[str, ModelAnalysis],
    alpha: float = 0.05,
    measures: Iterable[str] = tuple(MEASURES),
) -> dict[str, dict[str, MeasureComparison]]:
    """``[backbone][measure]`` -> the comparison over that backbone's seeds, at each model's
    focus configuration. Raises ValueError if a pair's two models were read at different
    configurations (a comparison must hold the layer fixed)."""
    by_backbone: dict[str, list[MatchedPair]] = {}
    for pair in pairs:
        by_backbone.setdefault(pair.backbone, []).append(pair)
    compared: dict[str, dict[str, MeasureComparison]] = {}
    for backbone, group in by_backbone.items():
        reference = [analyses[pair.reference] for pair in group]
        candidate = [analyses[pair.candidate] for pair in group]
        configs = {a.focus for a in (*reference, *candidate)}
        methods = {pair.method for pair in group}
        if len(configs) != 1 or len(methods) != 1:
            raise ValueError(
                f"{backbone}: the pairs must share one focus configuration and one method, got "
                f"{sorted(configs)} and {sorted(methods)}"
            )
        config = next(iter(configs))
        compared[backbone] = {
            name: MeasureComparison(
                MEASURES[name],
                backbone,
                config,
                group[0].method,
                tuple(pair.seed for pair in group),
                tuple(MEASURES[name].compute(a.focus_result) for a in reference),
                tuple(MEASURES[name].compute(a.focus_result) for a in candidate),
                alpha,
            )
            for name in measures
        }
    return compared


def comparison_records(
    comparisons: Mapping[str, Mapping[str, MeasureComparison]],
) -> dict[str, dict[str, dict[str, Any]]]:
    """``[backbone][measure]`` -> :meth:`MeasureComparison.record` (summary.json)."""
    return {
        backbone: {name: c.record() for name, c in per.items()}
        for backbone, per in comparisons.items()
    }


def comparison_panels(
    comparisons: Mapping[str, Mapping[str, MeasureComparison]],
) -> dict[str, list[MeasureComparison]]:
    """``[measure label]`` -> the comparison of every backbone (one figure panel each)."""
    panels: dict[str, list[MeasureComparison]] = {}
    for per in comparisons.values():
        for c in per.values():
            panels.setdefault(c.measure.label, []).append(c)
    return panels


# --- checks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """A check to record: ``rec.check(f.name, f.passed, f.detail)``."""

    name: str
    passed: bool
    detail: str


def comparison_findings(
    comparisons: Mapping[str, Mapping[str, MeasureComparison]],
) -> list[Finding]:
    return [
        Finding(c.check, c.passed, c.detail())
        for per_backbone in comparisons.values()
        for c in per_backbone.values()
    ]


def fve_finding(analysis: ModelAnalysis, min_fve: float) -> Finding:
    """Every SAE of one model explains at least ``min_fve`` of its held-out variance."""
    detail = "; ".join(
        f"{r.config.label} {r.quality.fve:.3f} at L0 {r.quality.l0:.1f}"
        for r in analysis.results.values()
    )
    return Finding(
        check_name("sae_fve", analysis.name),
        all(r.quality.fve >= min_fve for r in analysis.results.values()),
        f"{analysis.label}, fraction of variance explained on easy validation "
        f"(required >= {min_fve:g}): {detail}",
    )


def noop_finding(gaps: Mapping[str, float], config_of: Mapping[str, str], n_images: int) -> Finding:
    """Scaling features by one changes no logit of any model (``gaps``: model -> largest
    logit change at its focus configuration)."""
    worst = max(gaps.values()) if gaps else float("nan")
    detail = "; ".join(f"{name} at {config_of[name]} {gap:.3g}" for name, gap in gaps.items())
    return Finding(
        "noop_reproduces_logits",
        bool(gaps) and worst == 0.0,
        f"largest logit change over {n_images} hard images when the top colour features are "
        f"scaled x1 (required exactly 0): {detail}",
    )


def reference_findings(
    analyses: Iterable[ModelAnalysis], n_ablate: int, n_random_draws: int, amplify_factor: float
) -> list[Finding]:
    """Per backbone, over ERM's seeds, the single-model findings of the cheater study: its
    dictionary is organised around colour (in every configuration analysed, the best colour
    feature beats the best digit feature), ablating its top colour features changes more
    predictions than every random draw, and ablation lowers / amplification raises the
    probability of the colour's digit (at the focus configuration)."""
    references = [analysis for analysis in analyses if analysis.role == REFERENCE]
    findings = []
    for backbone, group in by_backbone(references).items():
        results = [(a, r) for a in group for r in a.results.values()]
        findings.append(
            Finding(
                check_name("erm_colour_over_digit", backbone),
                all(r.max_selectivity("colour") > r.max_selectivity("digit") for _, r in results),
                "best colour vs best digit selectivity of ERM's SAE features (conflict "
                "validation; required: colour higher everywhere): "
                + "; ".join(
                    f"#{a.seed} {r.config.label} {r.max_selectivity('colour'):.3f} vs "
                    f"{r.max_selectivity('digit'):.3f}"
                    for a, r in results
                ),
            )
        )
        beats = [
            (a, a.focus_result.effects["ablate"].flip_rate, a.focus_result.random_flip_rates())
            for a in group
        ]
        findings.append(
            Finding(
                check_name("erm_colour_ablation_beats_random", backbone),
                all(len(rnd) and flips > rnd.max() for _, flips, rnd in beats),
                f"ERM at {group[0].focus}, hard predictions changed by ablating the top "
                f"{n_ablate} colour features vs the largest of {n_random_draws} draws of as many "
                "random live features (required: above it in every seed): "
                + "; ".join(
                    f"#{a.seed} {flips:.4f} vs {rnd.max() if len(rnd) else float('nan'):.4f} "
                    f"(mean {rnd.mean() if len(rnd) else float('nan'):.4f})"
                    for a, flips, rnd in beats
                ),
            )
        )
        steer = [
            (a, a.focus_result.effects["ablate"], a.focus_result.effects["amplify"]) for a in group
        ]
        findings.append(
            Finding(
                check_name("erm_colour_features_steer", backbone),
                all(
                    ab.colour_prob_after < ab.colour_prob_before < am.colour_prob_after
                    for _, ab, am in steer
                ),
                f"ERM at {group[0].focus}, mean probability of the digit the stroke colour "
                f"stands for on the hard set: as is / top {n_ablate} colour features ablated / "
                f"x{amplify_factor:g} (required: ablation lowers it, amplification raises it, in "
                "every seed): "
                + "; ".join(
                    f"#{a.seed} {ab.colour_prob_before:.4f} / {ab.colour_prob_after:.4f} / "
                    f"{am.colour_prob_after:.4f}"
                    for a, ab, am in steer
                ),
            )
        )
    return findings
