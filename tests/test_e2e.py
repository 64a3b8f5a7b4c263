"""One real end-to-end build of the quick profile (the session fixture ``quick_build`` in
conftest.py, shared with the reader tests), then the caching promises on top of it."""

import json
from pathlib import Path

import pytest

from lazy_artist.builder.store import BuildStore
from lazy_artist.cli import main
from lazy_artist.study import STUDY_TASKS

pytestmark = pytest.mark.e2e
ALL_TASKS = STUDY_TASKS.names()


def build_quick(root: Path) -> dict:
    assert main(["--root", str(root), "build", "--profile", "quick", "--quiet"]) == 0
    return json.loads((root / "report" / "summary.json").read_text())


def statuses(summary: dict) -> dict:
    return {name: task["status"] for name, task in summary["tasks"].items()}


def finished(root: Path, task: str) -> int:
    return BuildStore.for_profile(root / "build", "quick").completed_record(task)["finished_at_ns"]


def dependants(task: str) -> set[str]:
    """Every task that reads ``task``'s results, directly or through another task."""
    found: set[str] = set()
    for candidate in STUDY_TASKS:  # dependency order: a task's upstreams come first
        if task in candidate.depends or found & set(candidate.depends):
            found.add(candidate.name)
    return found


@pytest.fixture(scope="module")
def checkout(quick_build) -> Path:
    return quick_build.root


def test_quick_build_writes_the_report(quick_build):
    summary = quick_build.summary
    assert quick_build.exit_code == 0, statuses(summary)
    assert summary["profile"] == "quick"
    assert statuses(summary) == dict.fromkeys(ALL_TASKS, "complete"), "every study task runs"
    t1 = summary["tasks"]["t1"]
    for metric in ("easy_val_acc", "hard_test_acc"):
        assert 0.0 <= t1["metrics"][metric] <= 1.0
    assert set(t1["checks"]) >= {"easy_val_at_least", "hard_test_at_most", "predicts_colour_digit"}
    assert summary["tasks"]["t0"]["checks"] and all(summary["tasks"]["t0"]["checks"].values())

    report = quick_build.report
    html = (report / "report.html").read_text()
    figures = sorted((report / "figures").rglob("*.png"))
    assert len(figures) >= 7
    assert html.count("data:image/png;base64,") == len(figures), "every figure embedded in the HTML"
    for task in ALL_TASKS:
        assert (report / "notebooks" / f"{task}.ipynb").exists(), f"{task}'s notebook shipped"
        assert f'href="notebooks/{task}.ipynb"' in html, f"{task}'s notebook linked"
    qmd = (report / "report.qmd").read_text()
    for task in STUDY_TASKS:
        assert task.title in qmd, f"{task.name}'s section"
    assert "T0: the biased canvas" in qmd and "T1: the cheater" in qmd
    assert "T4: the intervention" in qmd
    assert "# Comparison with the reference reports" in qmd

    t4 = summary["tasks"]["t4"]["metrics"]
    from lazy_artist.methods.algorithms import ALGORITHMS

    assert set(t4["methods"]) == set(t4["backbones"]) == {"cheater_cnn", "lenet_cnn"}
    for backbone, rules in t4["methods"].items():
        assert set(rules) == {"easy_val", "conflict_val"}, backbone
        for rule, table in rules.items():
            assert set(table) == set(ALGORITHMS), "the quick profile runs every method"
            for method in table.values():
                assert {
                    "hard_test_acc_mean",
                    "hard_test_acc_ci95",
                    "easy_val_acc_ci95",
                    "conflict_val_acc_ci95",
                    "n_seeds",
                    "group",
                    "hparams",
                    "draws",
                    "backward_passes_vs_erm",
                    "train_seconds_vs_erm",
                } <= set(method), (backbone, rule)
    assert t4["best_method"] != "gray_oracle"
    # The quick profile draws once: every method trains its defaults (the tuning protocol's
    # draw 0) and says so.
    assert t4["n_draws"] == 1 and t4["tuning_mode"] == "none"
    assert all(entry["draws"] == 1 for b in t4["tuning"].values() for entry in b.values())
    assert set(t4["colour_aug_effective_bias"]) == {"cheater_cnn", "lenet_cnn"}


def test_a_rebuild_with_no_change_runs_nothing(checkout):
    before = {task: finished(checkout, task) for task in ALL_TASKS}
    assert statuses(build_quick(checkout)) == dict.fromkeys(ALL_TASKS, "cached")
    assert {task: finished(checkout, task) for task in ALL_TASKS} == before


def test_a_template_change_only_re_renders(checkout):
    template = checkout / "templates" / "sections" / "t1.md.j2"
    template.write_text(template.read_text() + "\nA sentence added to the template.\n")
    before = {task: finished(checkout, task) for task in ALL_TASKS}
    assert statuses(build_quick(checkout)) == dict.fromkeys(ALL_TASKS, "cached")
    assert {task: finished(checkout, task) for task in ALL_TASKS} == before
    assert "A sentence added to the template." in (checkout / "report" / "report.html").read_text()


def test_a_t1_notebook_change_re_runs_t1_only(checkout):
    """T1 re-runs; its dependants read none of its files (their reads of T1 are recorded as
    none: they load T4's models themselves), so they stay cached with every other task (the
    early cut-off: a task re-runs when what it read of an upstream changes)."""
    for task in dependants("t1"):
        record = json.loads((checkout / "build" / "quick" / task / "task.json").read_text())
        assert record["reads"]["t1"] == [], task
        assert "artefacts/canvas.npz" in record["reads"]["t0"], task
    rerun = {"t1"}
    untouched = {task: finished(checkout, task) for task in ALL_TASKS if task not in rerun}
    notebook = checkout / "analyses" / "t1_cheater.py"
    notebook.write_text(notebook.read_text() + "\n# %%\nprint('an edit to T1 only')\n")
    expected = {task: "complete" if task in rerun else "cached" for task in ALL_TASKS}
    assert statuses(build_quick(checkout)) == expected
    assert {task: finished(checkout, task) for task in untouched} == untouched


def test_a_t4_rerun_reuses_every_training_run_from_the_memo(checkout):
    """A T4 parameter that does not touch training (the colour probe's size) re-executes the
    notebook, which loads every run from the memo: same numbers, nothing retrained."""
    before = json.loads((checkout / "build" / "quick" / "t4" / "results.json").read_text())
    args = ["--root", str(checkout), "run", "t4", "--profile", "quick", "--quiet", "--no-render"]
    assert main([*args, "--set", "t4.probe_images=300"]) == 0
    after = json.loads((checkout / "build" / "quick" / "t4" / "results.json").read_text())
    runs = before["metrics"]["runs_trained"] + before["metrics"]["runs_reused"]
    assert after["metrics"]["runs_trained"] == 0 and after["metrics"]["runs_reused"] == runs
    assert after["metrics"]["training_seconds_total"] == before["metrics"]["training_seconds_total"]
    for backbone, rules in before["metrics"]["methods"].items():
        for rule, table in rules.items():
            for name, row in table.items():
                moved = after["metrics"]["methods"][backbone][rule][name]
                assert moved["hard_test_acc_mean"] == row["hard_test_acc_mean"]
