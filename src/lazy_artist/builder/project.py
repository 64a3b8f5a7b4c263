"""Where a project's pieces live: notebooks, templates, build cache and report output."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from lazy_artist.builder.params import BuildInputError
from lazy_artist.builder.tasks import TaskGraph

# What publishing writes under report/ (report/README.md is the repository's own file). A
# ``report/.generated`` manifest (a JSON list of names), when a publisher writes one, adds to it.
GENERATED_REPORT_ENTRIES = (
    "report.qmd",
    "report.html",
    "report.pdf",
    "report.typ",
    "report_files",
    "summary.json",
    "style.css",
    "typst-header.typ",
    "tables.lua",
    "figures",
    "notebooks",
    ".generated",
)
REPORT_MANIFEST = ".generated"
# What the builder keeps directly under build/ besides one directory per profile.
BUILDER_BUILD_ENTRIES = (".jupyter", ".data-identity.json")
# Files that mark a lazy-artist project root (a checkout, or a test's fixture project).
PROJECT_MARKERS = ("templates/report.qmd.j2", "analyses")


@dataclass(frozen=True)
class Project:
    root: Path
    graph: TaskGraph  # the study it builds (lazy_artist.study.STUDY_TASKS for this one)

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

    def check_project(self, doing: str) -> None:
        """Refuse to write or delete anything unless ``root`` is a lazy-artist project."""
        missing = [marker for marker in PROJECT_MARKERS if not (self.root / marker).exists()]
        if missing:
            raise BuildInputError(
                f"{self.root} is not a lazy-artist project (no {', '.join(missing)}): refusing "
                f"to {doing}; run from the repository root or pass --root"
            )

    def generated_report_entries(self) -> list[Path]:
        """The entries under report/ that publishing wrote (never anything else there)."""
        names = set(GENERATED_REPORT_ENTRIES)
        manifest = self.report_dir / REPORT_MANIFEST
        if manifest.is_file():
            try:
                listed = json.loads(manifest.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                listed = []
            # Only plain names: a manifest must not point outside report/.
            names.update(
                name
                for name in listed
                if isinstance(name, str) and name not in ("", ".", "..") and "/" not in name
            )
        names.discard("README.md")
        return [
            self.report_dir / name for name in sorted(names) if (self.report_dir / name).exists()
        ]

    def check_layout(self, task_names: list[str]) -> None:
        """Fail early, naming what is missing, when the project root is not a lazy-artist checkout."""
        if not self.templates_dir.is_dir():
            raise BuildInputError(
                f"no templates/ directory under {self.root}: run from the repository root or pass --root"
            )
        self.check_project("build")
        for name in task_names:
            path = self.notebook(name)
            if not path.exists():
                raise BuildInputError(f"task {name}: notebook {path} does not exist")
