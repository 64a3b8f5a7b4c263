"""Where a project's pieces live: notebooks, templates, build cache and report output."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lazy_artist.builder.params import BuildInputError
from lazy_artist.builder.tasks import STUDY_TASKS, TaskGraph


@dataclass(frozen=True)
class Project:
    root: Path
    graph: TaskGraph = STUDY_TASKS

    @property
    def build_dir(self) -> Path:
        return self.root / "build"

    @property
    def report_dir(self) -> Path:
        return self.root / "report"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    def notebook(self, task: str) -> Path:
        return self.root / self.graph[task].notebook

    def check_layout(self, task_names: list[str]) -> None:
        """Fail early, naming what is missing, when the project root is not a lazy-artist checkout."""
        if not self.templates_dir.is_dir():
            raise BuildInputError(
                f"no templates/ directory under {self.root}: run from the repository root or pass --root"
            )
        for name in task_names:
            path = self.notebook(name)
            if not path.exists():
                raise BuildInputError(f"task {name}: notebook {path} does not exist")
