"""T6's section template: it renders from what the notebook records, and every interpretive
sentence follows its check (a passing and a failing run say different things)."""

import re
from pathlib import Path

import numpy as np
import pytest

from lazy_artist.builder.assemble import TaskView, template_environment
from lazy_artist.builder.params import resolve_params
from lazy_artist.sae.compare import (
    CANDIDATE,
    CI_LEVEL,
    MEASURES,
    REFERENCE,
    compare_pairs,
    comparison_findings,
    comparison_records,
    fve_finding,
    index_analyses,
    noop_finding,
    reference_findings,
)
from lazy_artist.sae.study import all_summaries
from lazy_artist.sae.tables import (
    comparison_table,
    interventions_table,
    quality_table,
    selectivity_table,
)
from lazy_artist.study import STUDY_TASKS
from tests.sae.fakes import analysis, pairs, result

REPO = Path(__file__).resolve().parents[2]
TASK = next(task for task in STUDY_TASKS if task.name == "t6")


def _results(erm_reads_colour: bool) -> dict:
    """What the notebook records, for 2 backbones x 3 seeds of hand-built analyses: ERM far
    more colour-driven than the method (or, reversed, the method more than ERM)."""
    rng = np.random.default_rng(0)
    found, analyses = pairs(seeds=(0, 1, 2)), []
    high, low = (0.9, 0.1) if erm_reads_colour else (0.1, 0.9)
    for pair in found:
        for role, name, level in ((REFERENCE, pair.reference, high), (CANDIDATE, pair.candidate, low)):  # fmt: skip
            colour = list(np.clip(rng.normal(level, 0.05, 8), 0, 1))
            digit = list(np.clip(rng.normal(0.5, 0.05, 8), 0, 1))
            focus = result(
                name,
                colour=colour,
                digit=digit,
                flip=level / 3 + rng.normal(0, 0.005),
                prob=(0.6, 0.6 - level / 2, 0.6 + level / 4),
            )
            extra = [result(name, "features:vector")] if pair.seed == 0 else []
            analyses.append(
                analysis(name, role, pair.backbone, pair.seed, focus, pair.seed == 0, extra)
            )
    comparisons = compare_pairs(found, index_analyses(analyses))
    swept = [a for a in analyses if a.full_sweep]
    findings = [
        noop_finding({a.name: 0.0 for a in analyses}, {a.name: a.focus for a in analyses}, 50),
        *[fve_finding(a, 0.9) for a in analyses],
        *reference_findings(analyses, 10, 3, 4.0),
        *comparison_findings(comparisons),
    ]
    tables = {
        "comparison": comparison_table(comparisons),
        "quality": quality_table(analyses),
        "selectivity": selectivity_table(analyses, 4.0),
        "interventions": interventions_table(swept, 10, 4.0),
        "worked_example": {"columns": ["condition"], "rows": [["original"]], "formats": {}},
    }
    backbones = list(dict.fromkeys(p.backbone for p in found))
    figures = ["seed_comparison", "ablation", "worked_example"]
    figures += [f"selectivity_scatter_{b}" for b in backbones]
    return {
        "metrics": {
            "pairs": [p.record() for p in found],
            "backbones": backbones,
            "comparisons": comparison_records(comparisons),
            "ci_level": CI_LEVEL,
            "measures": list(MEASURES),
            "configs": all_summaries(analyses),
            "n_train_images": 100,
            "n_hard_images": 50,
            "model_records": [a.record for a in analyses],
            "focus_config": {a.name: a.focus for a in analyses},
            "top_feature_figures": [],
            "worked_example": {"model": swept[0].record},
            "ablation_flip_rate": 0.1,
            "random_ablation_flip_rate_mean": 0.01,
            "random_ablation_flip_rate_std": 0.005,
        },
        "checks": {f.name: {"passed": f.passed, "detail": f.detail} for f in findings},
        "tables": {name: {**table, "caption": name} for name, table in tables.items()},
        "figures": {name: {"file": f"figures/{name}.png", "caption": name} for name in figures},
    }


def _render(results: dict) -> str:
    outcome = {
        "name": "t6",
        "title": TASK.title,
        "status": "complete",
        "params": resolve_params(TASK, "full", {}),
    }
    view = TaskView(outcome, TASK.notebook, "abc", results)
    view.copied_figures = {name: f"figures/t6/{name}.png" for name in results["figures"]}
    return (
        template_environment(REPO / "templates").get_template(TASK.section).render(t=view, run={})
    )


@pytest.fixture(scope="module")
def passing() -> tuple[dict, str]:
    results = _results(erm_reads_colour=True)
    return results, _render(results)


def test_a_run_whose_checks_hold_says_so(passing):
    results, text = passing
    assert all(check["passed"] for check in results["checks"].values())
    assert len(re.findall(r"`erm@\w+` scores higher, as expected\.", text)) == 2 * len(MEASURES)
    assert text.count("the difference is the method's") == 2
    assert "its dictionary is organised around colour" in text
    assert "`erm@cheater_cnn`'s colour features are causal for its decisions" in text
    assert "did not hold" not in text and "The two are tied" not in text
    # Every pair is named, with both models' numbers and intervals.
    assert "`erm@cheater_cnn` against `cf_invar@cheater_cnn`" in text
    assert "paired t test p = " in text


def test_a_run_whose_checks_fail_says_that_instead(passing):
    results = _results(erm_reads_colour=False)
    text = _render(results)
    assert not any(
        results["checks"][f"{m.check} [cheater_cnn]"]["passed"] for m in MEASURES.values()
    )
    assert "scores higher, as expected." not in text
    assert "the difference is the method's" not in text
    assert "'s colour features are causal" not in text
    assert (
        text.count("The expected finding did not hold: `cf_invar@cheater_cnn` scores higher.") >= 2
    )
    # The same numbers are printed either way; only the verdicts change.
    assert len(re.findall(r"Colour-dominated features: `erm@\w+`", text)) == 2


def test_one_seed_is_tied_not_a_finding(passing):
    results, _ = passing
    one_seed = {**results, "metrics": dict(results["metrics"])}
    comparisons = {
        backbone: {
            name: {**c, "p_value": None, "tied": True, "erm_ci95": [None, None]}
            for name, c in per.items()
        }
        for backbone, per in results["metrics"]["comparisons"].items()
    }
    one_seed["metrics"]["comparisons"] = comparisons
    checks = {
        name: ({**c, "passed": False} if name.startswith("erm_") and "colour_over" not in name else c)
        for name, c in results["checks"].items()
    }  # fmt: skip
    one_seed["checks"] = checks
    text = _render(one_seed)
    assert "(one seed: no test). The two are tied" in text
    assert "` scores higher" not in text
