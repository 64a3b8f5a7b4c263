"""Section templates over the quick build's real results, in the branches a quick build does
not reach itself: T4's tuning paragraph when the values come from committed tune builds (the
full profile's mode), with its checks held or failed."""

from __future__ import annotations

from pathlib import Path

import pytest

from lazy_artist.builder.assemble import TaskView, render_section, template_environment
from lazy_artist.builder.store import BuildStore
from lazy_artist.fileio import read_json
from lazy_artist.study.tasks import STUDY_TASKS

REPO = Path(__file__).resolve().parents[1]
T4 = STUDY_TASKS["t4"]
PROVENANCE = {"profile": "tune", "date": "2026-12-07 15:00 UTC", "n_draws": 8, "tune_seed": 1000}


@pytest.fixture
def t4_run(quick_build) -> tuple[dict, dict]:
    """T4's parameters and results.json in the cold quick build (read afresh for each test,
    which edits them)."""
    store = BuildStore.for_profile(quick_build.root / "build", "quick")
    params = store.completed_record("t4")["params"]
    return params, read_json(store.task_dir("t4") / "results.json")


def render_t4(params: dict, results: dict) -> str:
    outcome = {"name": "t4", "title": T4.title, "status": "complete", "params": params}
    view = TaskView(outcome, T4.notebook, commit=None, results=results)
    view.copied_figures = {name: f"figures/t4/{name}.png" for name in results["figures"]}
    text = render_section(template_environment(REPO / "templates"), T4.section, view, {"tasks": {}})
    return text.replace("\\", "")  # without markdown's escapes (cf\_invar): the words are checked


def committed(results: dict, applies: bool, same_code: bool) -> dict:
    """``results`` as a committed-mode build would have written them."""
    metrics, checks = results["metrics"], results["checks"]
    metrics["tuning_mode"] = "committed"
    metrics["tuning_provenance"] = [
        {"backbone": "lenet_cnn", "provenance": PROVENANCE, "methods": ["cf_invar", "lff"]}
    ]
    checks["tuning_applies"] = {
        "passed": applies,
        "detail": "every method's committed tuned values apply to this build"
        if applies
        else "lenet_cnn: not tuned (group_dro)",
    }
    checks["tuned_on_this_training_code"] = {
        "passed": same_code,
        "detail": "the training code is the one the tune builds ran"
        if same_code
        else "the training code changed since lff@lenet_cnn was tuned (values may be stale)",
    }
    return results


def test_the_quick_build_says_it_trained_the_defaults_untuned(t4_run):
    text = render_t4(*t4_run)
    assert "every method trains its defaults, untuned" in text
    assert "its section template failed" not in text


def test_committed_values_name_their_tune_build_and_say_they_apply(t4_run):
    params, results = t4_run
    text = render_t4(params, committed(results, applies=True, same_code=True))
    assert "its section template failed" not in text, text
    assert "The values in use\nfor cf_invar, lff on `lenet_cnn` were chosen by a `tune` build" in (
        text
    )
    assert "(2026-12-07 15:00 UTC; 8 draws per method, tuning seed 1000;" in text
    assert "They apply to every method of this build." in text
    assert "earlier version of the\nmethods" not in text
    assert "trains its defaults, untuned" not in text


def test_failed_tuning_checks_are_said_with_their_detail(t4_run):
    params, results = t4_run
    text = render_t4(params, committed(results, applies=False, same_code=False))
    assert "could not all be used here (lenet_cnn: not tuned (group_dro))" in text
    assert "They apply to every method" not in text
    assert "chosen on an earlier version of the\nmethods: the training code changed since lff" in (
        text
    )
