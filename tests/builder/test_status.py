"""`status` and `build --dry-run` recompute every key and say why a task would run."""

from __future__ import annotations

import dataclasses
import json

import pytest

import lazy_artist.cli as cli
from lazy_artist.builder.build import build
from lazy_artist.builder.explain import CACHED, NOT_SELECTED, WILL_RUN, plan
from lazy_artist.builder.project import Project
from lazy_artist.builder.run_hooks import RunPlanQuery
from lazy_artist.builder.store import BuildStore
from lazy_artist.builder.tasks import TaskGraph

from .conftest import FIXTURE_GRAPH


@pytest.fixture
def built(fixture_project):
    build(fixture_project, "quick", only=["consume"], stream=False, say=lambda m: None)
    return fixture_project


def states(project, **options):
    return {task.name: (task.state, task.why) for task in plan(project, "quick", **options)}


def status_lines(project, monkeypatch, capsys, *argv):
    monkeypatch.setattr(cli, "Project", lambda root, *_: Project(root, FIXTURE_GRAPH))
    code = cli.main(["--root", str(project.root), *argv])
    assert code == 0
    return dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())


def test_nothing_changed_is_cached(built, monkeypatch, capsys):
    lines = status_lines(built, monkeypatch, capsys, "status", "--profile", "quick")
    assert lines["produce"] == "cached" and lines["consume"] == "cached"
    assert lines["explode"] == "will run: no stored result"


def test_an_edited_notebook_is_named_and_its_dependants_follow(built, monkeypatch, capsys):
    notebook = built.notebook("produce")
    notebook.write_text(notebook.read_text() + "\nprint('edited')\n", encoding="utf-8")
    lines = status_lines(built, monkeypatch, capsys, "status", "--profile", "quick")
    assert lines["produce"] == "will run: notebook edited"
    # consume's own inputs are as they were: it re-runs only if what it read of produce moves.
    assert lines["consume"] == (
        "may run: produce runs first; this re-runs only if the files it read there "
        "(1 of produce's) change"
    )
    # A stored run without a read trace (from before reads were traced) simply follows.
    store = BuildStore.for_profile(built.build_dir, "quick")
    record = store.completed_record("consume")
    del record["reads"]
    (store.task_dir("consume") / "task.json").write_text(json.dumps(record))
    lines = status_lines(built, monkeypatch, capsys, "status", "--profile", "quick")
    assert lines["consume"] == "will run: upstream task changed (produce)"


def test_a_markdown_edit_stays_cached(built):
    notebook = built.notebook("produce")
    notebook.write_text(
        notebook.read_text().replace("# # Fixture:", "# # Reworded fixture:"), encoding="utf-8"
    )
    assert states(built, only=["consume"])["produce"] == (CACHED, "")


def test_a_parameter_set_on_the_command_line_is_named(built, monkeypatch, capsys):
    lines = status_lines(
        built, monkeypatch, capsys, "status", "--profile", "quick", "--set", "consume.factor=7"
    )
    assert lines["consume"] == "will run: parameters changed (factor)"
    assert lines["produce"] == "cached"


def test_a_library_edit_names_the_module(built):
    store = BuildStore.for_profile(built.build_dir, "quick")
    record = store.completed_record("produce")
    # As if results.py had other code when produce ran (the record is what status compares).
    record["key"] = "other"
    record["key_inputs"]["library"]["results.py"] = "0" * 16
    (store.task_dir("produce") / "task.json").write_text(json.dumps(record))
    assert states(built)["produce"] == (WILL_RUN, "library code changed (results.py)")


def test_dry_run_says_what_force_would_do_and_runs_nothing(built, monkeypatch, capsys):
    store = BuildStore.for_profile(built.build_dir, "quick")
    before = store.completed_record("consume")["finished_at_ns"]
    argv = ("build", "--profile", "quick", "--only", "consume", "--force", "--dry-run")
    lines = status_lines(built, monkeypatch, capsys, *argv)
    assert lines["consume"] == "will run: --force" and lines["produce"] == "cached"
    assert lines["explode"] == NOT_SELECTED + ": no stored result"
    assert store.completed_record("consume")["finished_at_ns"] == before
    assert not store.staging_dirs("consume")


def test_the_build_says_its_progress_as_each_task_starts_and_ends(fixture_project):
    lines: list[str] = []
    build(fixture_project, "quick", only=["consume"], stream=False, say=lines.append)
    progress = [line for line in lines if line.startswith("build: ")]
    assert progress == [
        "build: 0 of 2 tasks done, running produce, 1 waiting",
        "build: 1 of 2 tasks done, 1 waiting",
        "build: 1 of 2 tasks done, running consume, 0 waiting",
        "build: 2 of 2 tasks done, 0 waiting",
    ]
    lines.clear()
    build(fixture_project, "quick", only=["after_explode"], stream=False, say=lines.append)
    assert [line for line in lines if line.startswith("build: ")][-1] == (
        "build: 1 of 2 tasks done (1 failed or blocked), 1 waiting"
    )


# --- a task's run_plan hook (T4's runs): asked only for a task that will run ----------------


def hooked(hook) -> TaskGraph:
    """The fixture graph with ``consume`` declaring a ``run_plan`` hook (as tasks.py does T4's)."""
    return TaskGraph(
        dataclasses.replace(t, run_plan=hook) if t.name == "consume" else t for t in FIXTURE_GRAPH
    )


def hook_output(project, monkeypatch, capsys, hook, *argv) -> list[str]:
    monkeypatch.setattr(cli, "Project", lambda root, *_: Project(root, hooked(hook)))
    assert cli.main(["--root", str(project.root), "status", "--profile", "quick", *argv]) == 0
    return capsys.readouterr().out.splitlines()


def test_a_hook_explains_the_runs_of_a_task_that_will_run(built, monkeypatch, capsys):
    asked: list[RunPlanQuery] = []

    def hook(query: RunPlanQuery) -> list[str]:
        asked.append(query)
        return ["runs: 3 planned, 1 memoised, 2 to train", f"  factor {query.params['factor']}"]

    store = BuildStore.for_profile(built.build_dir, "quick")
    lines = hook_output(built, monkeypatch, capsys, hook, "--set", "consume.factor=7")
    at = lines.index("consume will run: parameters changed (factor)")
    assert lines[at + 1 : at + 3] == [
        "     runs: 3 planned, 1 memoised, 2 to train",
        "       factor 7",
    ]
    (query,) = asked
    assert query.upstream == {"produce": store.task_dir("produce")}
    assert query.memo_dir == store.memo_dir("consume") and query.device == "cpu"

    # Nothing changed: consume is cached, its runs are not asked about.
    asked.clear()
    assert "consume cached" in hook_output(built, monkeypatch, capsys, hook)
    assert not asked
    # Its dependency will re-run: the hook is told that its outputs are not known yet.
    notebook = built.notebook("produce")
    notebook.write_text(notebook.read_text() + "\nprint('edited')\n", encoding="utf-8")
    hook_output(built, monkeypatch, capsys, hook)
    assert [q.upstream for q in asked] == [{"produce": None}]


def test_a_failing_hook_is_one_line_and_status_still_answers(built, monkeypatch, capsys):
    def hook(query: RunPlanQuery) -> list[str]:
        raise FileNotFoundError("no canvas")

    lines = hook_output(built, monkeypatch, capsys, hook, "--set", "consume.factor=7")
    at = lines.index("consume will run: parameters changed (factor)")
    assert lines[at + 1] == "     run plan unavailable: FileNotFoundError: no canvas"
    assert "produce cached" in lines


def test_t4s_plan_waits_for_t0(tmp_path):
    from lazy_artist.study.hooks import t4_run_plan

    query = RunPlanQuery(
        tmp_path, {"data_root": "data"}, tmp_path / "memo", {"t0": None}, "cpu", None
    )
    assert t4_run_plan(query) == ["runs: plan unknown until t0 runs"]
