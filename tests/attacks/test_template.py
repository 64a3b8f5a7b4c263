"""T5's section follows its checks: the "harder to attack" sentence appears only where the
matched comparison's check holds, "not measurably different" where it fails, and the strength
verdict follows the sanity checks. The results are built by the library functions the notebook
calls, on constructed minimum epsilons."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from lazy_artist.attacks.checklist import all_converged, checklist_rows
from lazy_artist.attacks.compare import CENSOR_FACTOR, CI_LEVEL, compare_pairs
from lazy_artist.attacks.study import CANDIDATE, CROSS_MODEL, REFERENCE, ComparedModels
from lazy_artist.attacks.tables import (
    attack_table,
    checklist,
    comparison_table,
    group_records,
    groups,
    model_summaries,
    pooled_curves,
)
from lazy_artist.builder.assemble import TaskView, template_environment
from lazy_artist.fileio import atomic_write_json
from lazy_artist.study import STUDY_TASKS
from lazy_artist.zoo import MatchedPair, StudyModel

from .conftest import PLAN, THRESHOLDS, fake_battery

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = STUDY_TASKS["t5"].section
FIGURES = (
    "matched_comparison",
    "success_curves",
    "min_eps_distribution",
    "untargeted",
    "transfer",
    "perturbations",
    "visible",
)


def _eps(seed: int, scale: float = 0.05) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(scale * np.exp(rng.normal(0.0, 0.3, 40)), 1e-3, 0.9)


def _results(
    cheater_factor: float,
    weak_oracle: bool = False,
    weak_cheater: bool = False,
    unconverged: tuple[str, ...] = (),
) -> dict:
    """results.json of a run with two backbones (one seed each) and the gray oracle: the
    cheater_cnn candidate ``cheater_factor`` x harder than ERM, the lenet_cnn one no different."""
    models = {
        "cheater": ("erm", "cheater_cnn", REFERENCE),
        "cf_invar@cheater_cnn": ("cf_invar", "cheater_cnn", CANDIDATE),
        "erm": ("erm", "lenet_cnn", REFERENCE),
        "lff": ("lff", "lenet_cnn", CANDIDATE),
        "gray_oracle": ("gray_oracle", "lenet_cnn", CROSS_MODEL),
    }
    compared = ComparedModels(
        {n: StudyModel(n, None, "colour", "t4", {}, b, m, 0, "easy_val") for n, (m, b, _) in models.items()},
        {n: role for n, (_, _, role) in models.items()},
        [
            MatchedPair("cheater_cnn", 0, "easy_val", "cf_invar", "erm@c", "cf@c"),
            MatchedPair("lenet_cnn", 0, "easy_val", "lff", "erm@l", "lff@l"),
        ],
        {"erm@c": "cheater", "cf@c": "cf_invar@cheater_cnn", "erm@l": "erm", "lff@l": "lff"},
        {"cheater_cnn": 0, "lenet_cnn": 0},
    )  # fmt: skip
    base = _eps(1)
    if weak_cheater:  # one sample no budget breaks: "large epsilon breaks everything" fails
        base = np.concatenate([base[:-1], [math.inf]])
    rng = np.random.default_rng(2)
    eps = {
        "cheater": base,
        "cf_invar@cheater_cnn": base * cheater_factor * np.exp(rng.normal(0, 0.05, 40)),
        "erm": _eps(3),
        "lff": _eps(3) * np.exp(rng.normal(0, 0.3, 40)),
        "gray_oracle": np.array([0.3] * 39 + [math.inf]) if weak_oracle else _eps(5, 0.2),
    }
    batteries = {name: fake_battery(values, grid=PLAN.grid) for name, values in eps.items()}
    summary = model_summaries(compared, batteries, PLAN)
    grouped = groups(compared)
    comparisons = compare_pairs(
        compared.pairs,
        {n: b.min_epsilon for n, b in batteries.items()},
        compared.labels,
        CENSOR_FACTOR,
        n_boot=300,
    )
    sanity = checklist(batteries, PLAN, THRESHOLDS)
    converged = {name: name not in unconverged for name in compared.names}
    comparison_converged = {
        b: all_converged(c.reference_models + c.candidate_models, converged)
        for b, c in comparisons.items()
    }
    checks = {
        **{
            f"attack converged on every compared model [{b}]": {"passed": held, "detail": "d"}
            for b, held in comparison_converged.items()
        },
        "fair sample": {"passed": True, "detail": "40 of 50"},
        **{
            f"comparison_significant [{b}]": {"passed": c.significant, "detail": c.detail()}
            for b, c in comparisons.items()
        },
        **{t: {"passed": c.passed, "detail": c.detail} for t, c in sanity.items()},
    }
    columns, rows, formats = attack_table(summary, PLAN)
    comparison_columns, comparison_rows = comparison_table(comparisons)
    metrics = {
        "models": compared.names,
        "model_records": compared.records(),
        "pairs": [p.record() for p in compared.pairs],
        "input_kinds": {n: "colour" for n in compared.names},
        "backbones": ["cheater_cnn", "lenet_cnn"],
        "cross_model": ["gray_oracle"],
        "showcase": compared.showcase(),
        "strength_models": "showcase",
        "attack_split": "easy_test",
        "n_samples": 40,
        "fair_sevens_available": 40,
        "sevens_in_split": 50,
        "sevens_correct_per_model": {n: 45 for n in compared.names},
        "n_untargeted": 30,
        "fair_sample": True,
        "attack": summary,
        "epsilons": list(PLAN.grid),
        "report_epsilon": PLAN.report_epsilon,
        "visible_epsilon": PLAN.visible_epsilon,
        "comparisons": {b: c.record() for b, c in comparisons.items()},
        "headline_backbone": "cheater_cnn",
        "censor_at": CENSOR_FACTOR,
        "ci_level": CI_LEVEL,
        "converged": converged,
        "comparison_converged": comparison_converged,
        "probes": {
            "cheater": {
                "square_success": 0.25,
                "pgd_success": 0.5,
                "many_restarts": 40,
                "many_restarts_success": 0.5,
            }
        },
        "groups": group_records(pooled_curves(batteries, grouped), grouped, PLAN),
        "sanity_passed": sum(c.passed for c in sanity.values()),
        "sanity_total": len(sanity),
        "sanity_failed": [t for t, c in sanity.items() if not c.passed],
        "sanity_failed_by_model": {
            n: [
                t.rsplit(" [", 1)[0]
                for t, c in sanity.items()
                if not c.passed and t.endswith(f"[{n}]")
            ]
            for n in compared.names
        },
    }
    checklist_columns, checklist_table = checklist_rows(sanity)
    tables = {
        "robustness_checklist": {
            "columns": checklist_columns,
            "rows": checklist_table,
            "caption": "checklist",
            "formats": {},
        },
        "attack": {"columns": columns, "rows": rows, "caption": "per model", "formats": formats},
        "comparison": {
            "columns": comparison_columns,
            "rows": comparison_rows,
            "caption": "matched",
            "formats": {},
        },
    }
    figures = {name: {"file": f"figures/{name}.png", "caption": name} for name in FIGURES}
    return {"task": "t5", "headline": "h", "metrics": metrics, "checks": checks,
            "tables": tables, "figures": figures}  # fmt: skip


def _render(tmp_path, results: dict) -> str:
    atomic_write_json(tmp_path / "results.json", results)
    task = STUDY_TASKS["t5"]
    outcome = {
        "name": "t5",
        "title": task.title,
        "status": "complete",
        "params": {**task.defaults(), **task.profiles["quick"]},
        "task_dir": str(tmp_path),
    }
    view = TaskView(outcome, task.notebook, "abc123")
    view.results = results  # what the builder reads from results.json
    view.copied_figures = {name: f"figures/t5/{name}.png" for name in FIGURES}
    text = template_environment(ROOT / "templates").get_template(TEMPLATES).render(t=view, run={})
    # One line, markdown escapes undone: the assertions read the sentences.
    text = " ".join(text.split())
    for escaped in ("_", "@", "[", "]"):
        text = text.replace("\\" + escaped, escaped)
    return text


def test_the_harder_sentence_appears_only_where_the_check_holds(tmp_path):
    results = _results(cheater_factor=3.0)
    assert results["checks"]["comparison_significant [cheater_cnn]"]["passed"]
    assert not results["checks"]["comparison_significant [lenet_cnn]"]["passed"]
    text = _render(tmp_path, results)
    assert "**cf_invar** is harder to attack than erm on this backbone" in text
    factor = results["metrics"]["comparisons"]["cheater_cnn"]["factor"]
    assert f"**{factor:.2f}×** as large" in text
    assert "lff and erm are **not measurably different** in this run" in text
    assert "cross-model reference row" in text and "T1's cheater" in text
    assert "Every one of these checks holds" in text


def test_when_the_check_fails_no_model_is_called_harder(tmp_path):
    results = _results(cheater_factor=1.0)
    assert not results["checks"]["comparison_significant [cheater_cnn]"]["passed"]
    text = _render(tmp_path, results)
    assert "harder to attack than" not in text
    assert "cf_invar and erm are **not measurably different** in this run" in text


def test_a_failed_sanity_check_is_named_and_the_verdict_withheld(tmp_path):
    text = _render(tmp_path, _results(cheater_factor=3.0, weak_oracle=True))
    assert "The expected finding did not hold: large epsilon breaks everything [gray_oracle]" in (
        text
    )
    assert "Every one of these checks holds" not in text
    # The oracle is a cross-model row: its failure is no caveat on a matched comparison.
    assert "Caveat" not in text


@pytest.mark.parametrize("factor", [3.0, 1.0])
def test_no_number_is_left_unformatted_or_undefined(tmp_path, factor):
    text = _render(tmp_path, _results(cheater_factor=factor))
    assert "{{" not in text and "n/a of the sample" not in text


def test_a_matched_model_failing_a_sanity_check_adds_a_caveat_to_its_finding(tmp_path):
    results = _results(cheater_factor=3.0, weak_cheater=True)
    assert results["checks"]["comparison_significant [cheater_cnn]"]["passed"]
    text = _render(tmp_path, results)
    assert "**cf_invar** is harder to attack than erm" in text
    assert "Caveat: sanity checks failed for cheater" in text


def test_a_comparison_on_a_model_that_did_not_converge_claims_nothing(tmp_path):
    results = _results(cheater_factor=3.0, unconverged=("cf_invar@cheater_cnn",))
    assert results["checks"]["comparison_significant [cheater_cnn]"]["passed"]
    text = _render(tmp_path, results)
    assert "harder to attack than" not in text
    assert "the attack did **not converge** on every compared model" in text
    assert "**Not converged:** cf_invar@cheater_cnn." in text


def test_the_interval_level_is_printed_from_the_results_never_typed_in(tmp_path):
    results = _results(cheater_factor=3.0)
    results["metrics"]["ci_level"] = 0.9
    text = _render(tmp_path, results)
    assert "90% percentile bootstrap interval" in text and "(90% interval" in text
    # The tables and check details were computed at 0.95; the template's sentences follow m.
    assert "95% percentile" not in text and "(95% interval" not in text


def test_the_checklist_table_and_square_next_to_pgd_are_shown(tmp_path):
    text = _render(tmp_path, _results(cheater_factor=3.0))
    assert "Square 25%, PGD 50%, PGD with 40 restarts 50%" in text
    assert "models held" in text
