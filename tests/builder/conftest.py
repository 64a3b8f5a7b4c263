"""A throwaway project of tiny fixture notebooks, so builder tests run in seconds."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lazy_artist.builder.project import Project
from lazy_artist.builder.tasks import Task, TaskGraph

REPO = Path(__file__).resolve().parents[2]
FIXTURE_NOTEBOOKS = REPO / "tests" / "fixtures" / "project" / "analyses"

FIXTURE_GRAPH = TaskGraph(
    [
        Task("produce", "Produce", "analyses/produce.py", params={"value": 3, "sleep_s": 0.0}),
        Task(
            "consume",
            "Consume",
            "analyses/consume.py",
            depends=("produce",),
            params={"factor": 2, "sleep_s": 0.0},
        ),
        Task("explode", "Explode", "analyses/explode.py"),
        Task("after_explode", "After explode", "analyses/after_explode.py", depends=("explode",)),
    ]
)


def make_fixture_project(root: Path) -> Project:
    shutil.copytree(REPO / "templates", root / "templates")
    shutil.copytree(FIXTURE_NOTEBOOKS, root / "analyses")
    return Project(root, FIXTURE_GRAPH)


@pytest.fixture
def fixture_project(tmp_path: Path) -> Project:
    return make_fixture_project(tmp_path / "project")
