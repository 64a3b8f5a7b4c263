"""T6's tables as ``rec.table`` arguments (columns, rows, formats): every row names the model's
backbone, method and seed, so no table mixes models without saying which they are."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lazy_artist.sae.compare import MeasureComparison, format_interval
from lazy_artist.sae.study import ModelAnalysis
from lazy_artist.stats import Interval

MODEL_COLUMNS = ["backbone", "model", "seed", "configuration"]


def _model_cells(analysis: ModelAnalysis, label: str) -> list[Any]:
    return [analysis.backbone, analysis.method, analysis.seed, label]


def quality_table(analyses: Iterable[ModelAnalysis]) -> dict[str, Any]:
    """Each SAE's held-out quality: FVE, L0, dead share, accuracy as is and spliced."""
    rows = [
        [
            *_model_cells(a, r.config.label),
            f"{r.run.sae.input_dim} -> {r.run.sae.n_features}",
            r.quality.fve,
            r.quality.l0,
            r.quality.dead_fraction,
            r.val_acc,
            r.spliced_val_acc,
        ]
        for a in analyses
        for r in a.results.values()
    ]
    return {
        "columns": [*MODEL_COLUMNS, "D -> K", "FVE", "L0", "dead", "val acc", "spliced"],
        "rows": rows,
        "formats": {"FVE": ".3f", "L0": ".1f", "dead": ".1%", "val acc": ".1%", "spliced": ".1%"},
    }


def selectivity_table(analyses: Iterable[ModelAnalysis], amplify_factor: float) -> dict[str, Any]:
    """Per SAE: best colour and digit selectivity, colour-dominated share, and the hard-set
    flip rates of the colour ablation, random ablations (mean ± std) and the amplification."""
    amplify = f"flips: colour x{amplify_factor:g}"
    rows = []
    for a in analyses:
        for r in a.results.values():
            random = r.random_flip_rates()
            spread = f" ± {100 * random.std(ddof=1):.1f}" if len(random) > 1 else ""
            rows.append(
                [
                    *_model_cells(a, r.config.label),
                    r.max_selectivity("colour"),
                    r.max_selectivity("digit"),
                    r.colour_dominated_share(),
                    r.effects["ablate"].flip_rate,
                    f"{100 * random.mean():.1f}%{spread}" if len(random) else "n/a",
                    r.effects["amplify"].flip_rate,
                ]
            )
    return {
        "columns": [
            *MODEL_COLUMNS,
            "max colour sel.",
            "max digit sel.",
            "colour > digit",
            "flips: top colour",
            "flips: random",
            amplify,
        ],
        "rows": rows,
        "formats": {
            "max colour sel.": ".2f",
            "max digit sel.": ".2f",
            "colour > digit": ".0%",
            "flips: top colour": ".1%",
            amplify: ".1%",
        },
    }


def interventions_table(
    analyses: Iterable[ModelAnalysis], n_ablate: int, amplify_factor: float
) -> dict[str, Any]:
    """At each model's focus configuration: no edit, the colour ablation, the amplification."""
    rows = []
    for a in analyses:
        r = a.focus_result
        ablate = r.effects["ablate"]
        rows.append(
            [
                *_model_cells(a, r.config.label),
                "none",
                0.0,
                0.0,
                ablate.accuracy_before,
                ablate.colour_following_before,
                ablate.colour_prob_before,
            ]
        )
        for kind, label in (
            ("ablate", f"top {n_ablate} colour x0"),
            ("amplify", f"top {n_ablate} colour x{amplify_factor:g}"),
        ):
            effect = r.effects[kind]
            rows.append(
                [
                    *_model_cells(a, r.config.label),
                    label,
                    effect.flip_rate,
                    effect.confidence_change,
                    effect.accuracy_after,
                    effect.colour_following_after,
                    effect.colour_prob_after,
                ]
            )
    return {
        "columns": [
            *MODEL_COLUMNS,
            "intervention",
            "flips",
            "conf. change",
            "hard acc",
            "reads colour",
            "P(colour digit)",
        ],
        "rows": rows,
        "formats": {
            "flips": ".1%",
            "conf. change": "+.3f",
            "hard acc": ".1%",
            "reads colour": ".1%",
            "P(colour digit)": ".3f",
        },
    }


def comparison_table(
    comparisons: Mapping[str, Mapping[str, MeasureComparison]],
) -> dict[str, Any]:
    """Per backbone and measure: ERM and the debiasing method (mean [95% interval] over seeds),
    their paired difference, the paired t test's p and the verdict."""
    rows = []
    for backbone, per_measure in comparisons.items():
        for c in per_measure.values():
            test, percent = c.test, c.measure.percent
            diff = Interval(test.mean_diff, test.lo, test.hi, test.n)
            verdict = {"reference": "erm larger", "candidate": f"{c.method} larger", None: "tied"}
            rows.append(
                [
                    backbone,
                    c.measure.label,
                    c.config,
                    ", ".join(map(str, c.seeds)),
                    format_interval(c.reference_interval, percent),
                    c.method,
                    format_interval(c.candidate_interval, percent),
                    format_interval(diff, percent),
                    "n/a" if test.p_value is None else f"{test.p_value:.3g}",
                    verdict[c.larger],
                ]
            )
    return {
        "columns": [
            "backbone",
            "measure",
            "configuration",
            "seeds",
            "erm",
            "debiased method",
            "its value",
            "erm - debiased",
            "p",
            "verdict",
        ],
        "rows": rows,
        "formats": {},
    }
