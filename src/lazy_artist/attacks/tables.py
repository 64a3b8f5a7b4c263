"""T5's summaries and table rows: per model (backbone, seed and role named) and per matched
comparison, plus the flat sanity checklist and the pooling of seeds for the figures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from lazy_artist.attacks.battery import (
    BatteryPlan,
    BatteryResult,
    SanityThresholds,
    finite_or_none,
    order_statistic,
    sanity_checks,
    summary_row,
)
from lazy_artist.attacks.compare import CI_LEVEL, MatchedComparison
from lazy_artist.attacks.sanity import SanityCheck
from lazy_artist.attacks.study import CROSS_MODEL, ComparedModels


def model_summaries(
    compared: ComparedModels, results: Mapping[str, BatteryResult], plan: BatteryPlan
) -> dict[str, dict[str, Any]]:
    """label -> :func:`summary_row` with the model's method, backbone, seed, rule, input kind,
    role, and for a candidate the ratio of its median minimum epsilon to its matched ERM's
    (same backbone and seed); None for other models or an unbroken median."""
    summary = {}
    for name, result in results.items():
        model = compared.models[name]
        summary[name] = {
            **summary_row(result, plan),
            "method": model.method,
            "backbone": model.backbone,
            "seed": model.seed,
            "rule": model.rule,
            "input_kind": model.input_kind,
            "role": compared.roles[name],
            "matched_reference": compared.matched_reference(name),
        }
    for row in summary.values():
        reference = row["matched_reference"]
        own = row["median_min_eps"]
        other = summary[reference]["median_min_eps"] if reference in summary else None
        row["ratio_to_matched_erm"] = own / other if own and other else None
    return summary


def _converged_text(row: Mapping[str, Any]) -> str:
    """ "yes (budget)", "NO" or "unchecked" (the strength check did not run on the model)."""
    if row.get("converged") is None:
        return "unchecked"
    if not row["converged"]:
        return "NO"
    level = row["convergence"]["levels"][row["convergence"]["level"]]
    return f"yes ({level['steps']}x{level['restarts']})"


def _eps(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


ATTACK_COLUMNS = (
    "model",
    "backbone",
    "seed",
    "role",
    "input",
    "success at eps {eps}",
    "median min eps [IQR]",
    "mean ± std min eps",
    "median vs matched ERM",
    "mean best P({target}) at {eps}",
    "unbroken",
    "converged",
)


def attack_table(
    summary: Mapping[str, Mapping[str, Any]], plan: BatteryPlan
) -> tuple[list[str], list[list[Any]], dict[str, str]]:
    """(columns, rows, formats) of the per-model table."""
    eps = f"{plan.report_epsilon:g}"
    columns = [c.format(eps=eps, target=plan.target_class) for c in ATTACK_COLUMNS]
    rows = []
    for name, row in summary.items():
        ratio = row["ratio_to_matched_erm"]
        rows.append(
            [
                name,
                row["backbone"],
                row["seed"],
                row["role"],
                row["input_kind"],
                row[f"success_rate_at_{eps}"],
                f"{_eps(row['median_min_eps'])} [{_eps(row['q25_min_eps'])}, "
                f"{_eps(row['q75_min_eps'])}]",
                f"{_eps(row['mean_min_eps'])} ± {_eps(row['std_min_eps'])}",
                "n/a" if ratio is None else f"{ratio:.2f}",
                row[f"mean_best_p_target_at_{eps}"],
                row["n_unbroken"],
                _converged_text(row),
            ]
        )
    formats = {columns[5]: ".1%", columns[9]: ".3f"}
    return columns, rows, formats


COMPARISON_COLUMNS = [
    "backbone",
    "candidate vs reference",
    "seeds",
    "images per seed",
    "median min eps (candidate / reference)",
    "ratio [{level:.0%} CI]",
    "per-seed ratios",
    "Wilcoxon p",
    "harder to attack",
]


def comparison_table(
    comparisons: Mapping[str, MatchedComparison],
) -> tuple[list[str], list[list[Any]]]:
    """(columns, rows) of the matched comparisons, one row per backbone."""
    rows = []
    for backbone, c in comparisons.items():
        lo, hi = c.ratio_ci95
        p = c.test.p_value
        rows.append(
            [
                backbone,
                f"{c.candidate_method} vs {c.reference_method}",
                ", ".join(map(str, c.seeds)),
                c.n_images,
                f"{c.candidate_median:.4f} / {c.reference_median:.4f}",
                f"{c.ratio:.2f} [{lo:.2f}, {hi:.2f}]",
                ", ".join(f"{r:.2f}" for r in c.per_seed_ratio),
                "n/a" if p is None else (f"{p:.2g}" if p < 0.001 else f"{p:.3f}"),
                c.harder if c.significant else "not measurably different",
            ]
        )
    return [c.format(level=CI_LEVEL) for c in COMPARISON_COLUMNS], rows


def checklist(
    results: Mapping[str, BatteryResult], plan: BatteryPlan, thresholds: SanityThresholds
) -> dict[str, SanityCheck]:
    """Every model's sanity checks, flat: ``"<title> [<model>]"`` -> check."""
    return {
        f"{title} [{name}]": check
        for name, result in results.items()
        for title, check in sanity_checks(result, plan, thresholds).items()
    }


def groups(compared: ComparedModels) -> dict[str, list[str]]:
    """``method@backbone`` (cross-model rows marked) -> the labels of its seeds, table order."""
    grouped: dict[str, list[str]] = {}
    for name, model in compared.models.items():
        key = f"{model.method}@{model.backbone}"
        if compared.roles[name] == CROSS_MODEL:
            key += " (cross-model)"
        grouped.setdefault(key, []).append(name)
    return grouped


def pooled_curves(
    results: Mapping[str, BatteryResult], grouped: Mapping[str, list[str]]
) -> dict[str, dict[str, Any]]:
    """Per group, over its seeds: mean targeted PGD and FGSM success curves, every sample's
    minimum epsilon (concatenated) and the mean untargeted FGSM and PGD accuracies."""
    pooled = {}
    for group, names in grouped.items():
        runs = [results[name] for name in names if name in results]
        if not runs:
            continue
        pooled[group] = {
            "seeds": len(runs),
            "pgd_success": np.mean([r.search.success_curve() for r in runs], axis=0),
            "fgsm_success": np.mean([r.fgsm_targeted.success for r in runs], axis=0),
            "min_epsilon": np.concatenate([r.search.epsilon for r in runs]),
            "fgsm_untargeted": np.mean([r.fgsm_untargeted.accuracy for r in runs], axis=0),
            "pgd_untargeted": np.mean([r.pgd_untargeted.accuracy for r in runs], axis=0),
            "median_min_eps": finite_or_none(
                order_statistic(np.concatenate([r.search.epsilon for r in runs]), 0.5)
            ),
        }
    return pooled


def group_records(
    pooled: Mapping[str, Mapping[str, Any]], grouped: Mapping[str, list[str]], plan: BatteryPlan
) -> dict[str, dict[str, Any]]:
    """summary.json's view of each group (method@backbone over its seeds): its models, seeds,
    pooled median minimum epsilon and mean success at the report and visible budgets."""
    k_report, k_visible = plan.position(plan.report_epsilon), plan.position(plan.visible_epsilon)
    return {
        group: {
            "models": list(grouped[group]),
            "seeds": curves["seeds"],
            "median_min_eps": curves["median_min_eps"],
            f"success_rate_at_{plan.report_epsilon:g}": float(curves["pgd_success"][k_report]),
            f"success_rate_at_{plan.visible_epsilon:g}": float(curves["pgd_success"][k_visible]),
        }
        for group, curves in pooled.items()
    }
