"""--force re-runs the named tasks only, --force-all their dependencies too, and --retrain is
what retrains memoised runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lazy_artist.builder.build import CACHED, COMPLETE, build, forced_tasks, memo_params
from lazy_artist.builder.params import BuildInputError
from lazy_artist.builder.project import Project
from lazy_artist.builder.store import BuildStore
from lazy_artist.builder.tasks import MEMO_PARAM, RETRAIN_PARAM, Task, TaskGraph
from lazy_artist.cli import _retrain
from lazy_artist.methods.memo import RunMemo
from lazy_artist.results import RESULTS_FILE

from .conftest import FIXTURE_GRAPH


def quiet_build(project, **kwargs):
    return build(project, "quick", stream=False, say=lambda message: None, **kwargs)


def statuses(result, *names):
    return {name: result.outcomes[name].status for name in names}


def test_force_reruns_the_named_task_and_force_all_its_dependencies(fixture_project):
    quiet_build(fixture_project, only=["consume"])
    forced = quiet_build(fixture_project, only=["consume"], force=True)
    assert statuses(forced, "produce", "consume") == {"produce": CACHED, "consume": COMPLETE}
    every = quiet_build(fixture_project, only=["consume"], force_all=True)
    assert statuses(every, "produce", "consume") == {"produce": COMPLETE, "consume": COMPLETE}
    # Not forced, nothing changed: both cached again.
    again = quiet_build(fixture_project, only=["consume"])
    assert statuses(again, "produce", "consume") == {"produce": CACHED, "consume": CACHED}


def test_forced_sets():
    graph = FIXTURE_GRAPH
    selected = {"produce", "consume"}
    assert forced_tasks(graph, selected, ["consume"], force=True) == {"consume"}
    assert forced_tasks(graph, selected, ["consume"], force_all=True) == selected
    assert forced_tasks(graph, selected, None, force=True) == selected
    assert forced_tasks(graph, selected, ["consume"]) == set()


MEMOISED = Task("memoised", "Memoised", "analyses/memoised.py", params={"label": "a"}, memo=True)
MEMO_GRAPH = TaskGraph([*FIXTURE_GRAPH.tasks.values(), MEMOISED])


def test_retrain_reaches_the_memo_task_and_forces_it_alone(tmp_path):
    store = BuildStore.for_profile(tmp_path / "build", "quick")
    selected = {"produce", "memoised"}
    # Without --retrain a memo task keeps its memo, even when forced.
    assert memo_params(store, "memoised", None) == {
        MEMO_PARAM: str(store.memo_dir("memoised").resolve()),
        RETRAIN_PARAM: None,
    }
    assert memo_params(store, "memoised", ["cf_invar", "erm"])[RETRAIN_PARAM] == [
        "cf_invar",
        "erm",
    ]
    assert memo_params(store, "memoised", "all")[RETRAIN_PARAM] == "all"
    assert forced_tasks(MEMO_GRAPH, selected, None, retrain="all") == {"memoised"}
    assert forced_tasks(MEMO_GRAPH, selected, None, retrain=["erm"]) == {"memoised"}


def test_retrain_in_a_build_injects_the_methods(fixture_project):
    project = Project(fixture_project.root, MEMO_GRAPH)
    quiet_build(project, only=["memoised"])
    result = quiet_build(project, only=["memoised"], retrain=["erm"])
    assert result.outcomes["memoised"].status == COMPLETE  # cached, but --retrain re-runs it
    executed = json.loads(
        (Path(result.outcomes["memoised"].task_dir) / "notebook.ipynb").read_text()
    )
    injected = "".join(
        "".join(cell["source"])
        for cell in executed["cells"]
        if "injected-parameters" in cell["metadata"].get("tags", [])
    )
    assert 'memo_retrain = ["erm"]' in injected and 'memo_dir = "' in injected
    metrics = json.loads((Path(result.outcomes["memoised"].task_dir) / RESULTS_FILE).read_text())
    assert metrics["metrics"]["memo_dir"] is not None


def test_retrain_names_are_checked_before_any_work():
    assert _retrain(None) is None and _retrain("all") == "all"
    assert _retrain("erm, cf_invar") == ["erm", "cf_invar"]
    with pytest.raises(BuildInputError, match="--retrain: unknown method"):
        _retrain("erm,not_a_method")


@pytest.mark.parametrize(
    ("retrain", "reused"), [(None, True), ("all", False), (["cf_invar"], True)]
)
def test_the_memo_bypasses_only_the_runs_it_is_told_to_retrain(tmp_path, retrain, reused):
    from lazy_artist.methods.run import fit_method
    from tests.methods.test_algorithms import TINY, tiny_canvas

    canvas = tiny_canvas(n_train=64)

    def fit(memo):
        return fit_method(
            "erm",
            canvas,
            hparams=None,
            backbone_width=TINY["width"],
            epochs=1,
            seed=0,
            backbone="lenet_cnn",
            memo=memo,
            precision="bf16",
        )[1]

    fit(RunMemo(tmp_path))
    memo = RunMemo(tmp_path, retrain=retrain)
    result = fit(memo)
    assert bool(result.extra.get("reused")) is reused
    assert (memo.hits, memo.misses) == ((1, 0) if reused else (0, 1))
