"""A hung cell fails its task after the per-cell timeout instead of holding the build."""

from __future__ import annotations

import time

import pytest

import lazy_artist.cli as cli
from lazy_artist.builder.build import BLOCKED, COMPLETE, FAILED, build
from lazy_artist.builder.project import Project
from lazy_artist.builder.tasks import DEFAULT_TIMEOUT_S, Task, TaskGraph
from lazy_artist.study import STUDY_TASKS
from tests.builder.conftest import FIXTURE_GRAPH, make_fixture_project

HANG = Task("hang", "Hang", "analyses/hang.py", params={"sleep_s": 600.0}, timeout_s={"quick": 3})
AFTER = Task("after_hang", "After hang", "analyses/after_explode.py", depends=("hang",))
GRAPH = TaskGraph([FIXTURE_GRAPH["produce"], HANG, AFTER])


@pytest.fixture
def project(tmp_path) -> Project:
    return Project(make_fixture_project(tmp_path / "project").root, GRAPH)


def test_a_hung_cell_fails_its_task_with_the_cell_and_the_limit(project):
    lines: list[str] = []
    started = time.perf_counter()
    result = build(project, "quick", stream=False, say=lines.append)
    assert time.perf_counter() - started < 120, "the 600 s sleep must not be waited out"
    statuses = {name: outcome.status for name, outcome in result.outcomes.items()}
    assert statuses == {"produce": COMPLETE, "hang": FAILED, "after_hang": BLOCKED}
    error = result.outcomes["hang"].error
    # Cells by execution count: parameters 1, injected parameters 2, imports 3, the sleep 4.
    assert error["error"] == "CellTimeout" and error["cell"] == 4
    assert error["message"].startswith("cell 4 exceeded the 3 s timeout")
    assert "--set hang.timeout_s=" in error["message"]
    assert any(
        line.startswith("hang: FAILED") and "exceeded the 3 s timeout" in line for line in lines
    )


def test_the_timeout_is_set_from_the_command_line(project, monkeypatch, capsys):
    monkeypatch.setattr(cli, "Project", lambda root, *_: Project(root, GRAPH))
    argv = ["--root", str(project.root), "build", "--profile", "quick", "--only", "hang"]
    argv += ["--no-render", "--quiet", "--set", "hang.sleep_s=2", "--set", "hang.timeout_s=1"]
    assert cli.main(argv) == cli.EXIT_TASK_FAILED
    assert "exceeded the 1 s timeout" in capsys.readouterr().err
    # A generous limit lets the same 2 s cell finish.
    assert cli.main([*argv[:-2], "--timeout-s", "60"]) == cli.EXIT_OK


@pytest.mark.parametrize("bad", [["--timeout-s", "0"], ["--set", "hang.timeout_s=soon"]])
def test_a_bad_timeout_is_rejected_before_any_work(project, monkeypatch, capsys, bad):
    monkeypatch.setattr(cli, "Project", lambda root, *_: Project(root, GRAPH))
    argv = ["--root", str(project.root), "build", "--profile", "quick", "--no-render", *bad]
    assert cli.main(argv) == cli.EXIT_BAD_INPUT
    assert "positive number of seconds" in capsys.readouterr().err
    assert not (project.build_dir / "quick" / "produce").exists()


def test_every_study_task_has_a_limit_far_above_its_normal_time():
    for task in STUDY_TASKS:
        for profile in ("quick", "full"):
            assert task.cell_timeout_s(profile) >= DEFAULT_TIMEOUT_S[profile]
