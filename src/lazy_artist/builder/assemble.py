"""Assemble the report source (``report/report.qmd``) from task results with Jinja2.

Each task's section is rendered on its own: a section whose template breaks (a metric the
notebook no longer records, say) shows the error in place and the rest of the report still
renders. Figures and executed notebooks are copied beside the report so that it is
self-contained.
"""

from __future__ import annotations

import re
import shutil
import traceback
from pathlib import Path
from typing import Any

import jinja2

from lazy_artist.builder.build import BLOCKED, FAILED, USABLE
from lazy_artist.builder.comparison import (
    REFERENCES_FILE,
    ComparisonRow,
    ReferenceDataError,
    compare,
    comparison_tables,
    load_references,
    summary_counts,
    unit_legend,
)
from lazy_artist.builder.project import Project
from lazy_artist.builder.store import EXECUTED_NOTEBOOK
from lazy_artist.fileio import atomic_write_text
from lazy_artist.results import load_results

REPORT_TEMPLATE = "report.qmd.j2"
REPORT_SOURCE = "report.qmd"
COMPARISON_TEMPLATE = "sections/comparison.md.j2"


def pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{100 * value:.{digits}f}%"


def num(value: float | None, digits: int = 3) -> str:
    return (
        "n/a"
        if value is None
        else f"{value:.{digits}g}"
        if abs(value) < 1e-3 and value
        else f"{value:.{digits}f}"
    )


def fmt(value: Any, spec: str = "") -> str:
    if value is None:
        return "n/a"
    if spec.endswith("%") and isinstance(value, (int, float)):
        return pct(value, int(spec.strip(".%") or 1))
    return format(value, spec)


def _escape_cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def _visible_length(cell: str) -> int:
    """Characters a reader sees: a link counts by its text, markup characters not at all."""
    return len(re.sub(r"[`*]", "", re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", cell)))


def markdown_table(table: dict[str, Any], label: str) -> str:
    """A pipe table with its caption and a Quarto cross-reference label.

    Pandoc sizes wide pipe tables by the dash counts of the separator line, so each column
    gets dashes in proportion to its longest cell: long text columns get the room.
    """
    columns, formats = table["columns"], table.get("formats", {})
    body = [
        [
            _escape_cell(fmt(cell, formats.get(column, "")))
            for column, cell in zip(columns, row, strict=True)
        ]
        for row in table["rows"]
    ]
    header = [_escape_cell(str(column)) for column in columns]
    lines = ["| " + " | ".join(header) + " |"]
    separators = []
    for index in range(len(columns)):
        # +2: a cell's padding, so that short columns ("complete") are not squeezed.
        width = min(max(_visible_length(cells[index]) for cells in [header, *body]) + 2, 60)
        numeric = any(isinstance(row[index], (int, float)) for row in table["rows"])
        dashes = "-" * max(width, 3)
        separators.append(f"{dashes}:" if numeric else f":{dashes}")
    lines.append("|" + "|".join(separators) + "|")
    lines.extend("| " + " | ".join(cells) + " |" for cells in body)
    lines.append("")
    lines.append(f": {table['caption']} {{#tbl-{label}}}")
    return "\n".join(lines) + "\n"


def markdown_figure(figure: dict[str, Any], path: str, label: str, source: str) -> str:
    caption = f"{figure['caption']} *(drawn by `{source}`)*"
    return f'![{caption}]({path}){{#fig-{label} width="{figure.get("width", "100%")}"}}\n'


class TaskView:
    """What a section template sees of one task: status, results and helpers to place them."""

    def __init__(self, outcome: dict[str, Any], notebook_source: str, commit: str | None) -> None:
        # ``commit`` as figure captions cite it: a short hash, "-dirty" when the tree differed.
        self.name = outcome["name"]
        self.title = outcome["title"]
        self.status = outcome["status"]
        self.runtime_s = outcome.get("runtime_s")
        self.params = outcome.get("params", {})
        self.error = outcome.get("error")
        self.blocked_by = outcome.get("blocked_by", [])
        self.source = notebook_source
        self.commit = commit
        self.results: dict[str, Any] | None = None
        task_dir = outcome.get("task_dir")
        if self.status in USABLE and task_dir and (Path(task_dir) / "results.json").exists():
            self.results = load_results(task_dir)
        self.task_dir = Path(task_dir) if task_dir else None
        self.notebook_link: str | None = None

    @property
    def available(self) -> bool:
        return self.results is not None

    @property
    def m(self) -> dict[str, Any]:
        return self.results["metrics"] if self.results else {}

    @property
    def headline(self) -> str:
        if self.results:
            return self.results.get("headline", "")
        if self.status == FAILED and self.error:
            return f"failed: {self.error.get('error')}"
        if self.status == BLOCKED:
            return f"blocked by {', '.join(self.blocked_by)}"
        return ""

    @property
    def checks(self) -> dict[str, dict[str, Any]]:
        return self.results["checks"] if self.results else {}

    @property
    def finding(self) -> str:
        checks = self.checks
        if not checks:
            return "n/a"
        passed = sum(check["passed"] for check in checks.values())
        return f"{'yes' if passed == len(checks) else 'NO'} ({passed}/{len(checks)} checks)"

    def figure(self, name: str) -> str:
        figure = self.results["figures"][name]
        source = f"{self.source} @ {self.commit}" if self.commit else self.source
        return markdown_figure(
            figure,
            f"figures/{self.name}/{Path(figure['file']).name}",
            f"{self.name}-{name}",
            source,
        )

    def table(self, name: str) -> str:
        return markdown_table(self.results["tables"][name], f"{self.name}-{name.replace('_', '-')}")

    def checklist(self) -> str:
        rows = [
            [name, "yes" if check["passed"] else "NO", check["detail"]]
            for name, check in self.checks.items()
        ]
        table = {
            "columns": ["Check", "Held", "Computed evidence"],
            "rows": rows,
            "caption": f"{self.title}: expected findings, checked against this run's numbers",
        }
        return markdown_table(table, f"{self.name}-checks")


def reading_key(task: str) -> list[Any]:
    """Sections follow the study's numbering (T0, T1, T2, ... T10), not the build order in
    which T4 runs before the tasks that use its models."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", task)]


def status_table(views: list[TaskView]) -> str:
    """The summary's task table: status, headline, finding, runtime and executed notebook."""
    rows = []
    for view in views:
        runtime = "n/a" if view.runtime_s is None else num(view.runtime_s, 1)
        if view.status == "cached" and view.runtime_s is not None:
            runtime += " (cached run)"
        notebook = f"[{view.name}.ipynb]({view.notebook_link})" if view.notebook_link else "none"
        rows.append([view.title, view.status, view.headline, view.finding, runtime, notebook])
    table = {
        "columns": ["Task", "Status", "Headline", "Expected finding", "Runtime (s)", "Notebook"],
        "rows": rows,
        "caption": (
            "Task status, computed from this build; runtime is the wall time of the task's "
            "notebook run (for a cached task, of the run whose result was reused)"
        ),
    }
    return markdown_table(table, "status")


class ComparisonView:
    """What the comparison template sees: this run's metrics beside the reference reports'."""

    def __init__(self, references_path: Path, views: list[TaskView]) -> None:
        self.file = str(REFERENCES_FILE)
        self.error: str | None = None
        self.rows: list[ComparisonRow] = []
        self._titles = {view.name: view.title for view in views}
        if not references_path.exists():
            self.error = f"{REFERENCES_FILE} is missing from this checkout"
            return
        try:
            references = load_references(references_path)
        except ReferenceDataError as error:
            self.error = str(error)
            return
        self.rows = compare(
            references,
            {view.name: view.m if view.available else None for view in views},
            {view.name: view.status for view in views},
        )

    @property
    def counts(self) -> dict[str, int]:
        return summary_counts(self.rows)

    @property
    def legend(self) -> str:
        return unit_legend(self.rows)

    def tables(self) -> list[str]:
        return [
            markdown_table(table, f"comparison-{table['name']}")
            for table in comparison_tables(self.rows, self._titles)
        ]


def _environment(templates_dir: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # output is markdown, not HTML
        # Quarto labels look like {#fig-x}; keep them out of Jinja's comment syntax.
        comment_start_string="{##",
        comment_end_string="##}",
    )
    env.filters.update(pct=pct, num=num, fmt=fmt)
    return env


def assemble(project: Project, run_record: dict[str, Any]) -> Path:
    """Write ``report/report.qmd`` (plus figures and notebooks) from a build's run record."""
    report_dir = project.report_dir
    report_dir.mkdir(parents=True, exist_ok=True)
    for generated in ("figures", "notebooks"):
        shutil.rmtree(report_dir / generated, ignore_errors=True)
    env = _environment(project.templates_dir)
    provenance = run_record["provenance"]
    commit = provenance["git"].get("commit")
    if commit:
        commit = commit[:10] + ("-dirty" if provenance["git"].get("dirty") else "")

    views = []
    for name, outcome in sorted(run_record["tasks"].items(), key=lambda item: reading_key(item[0])):
        source = project.graph[name].notebook if name in project.graph.tasks else name
        view = TaskView(outcome, source, commit)
        _copy_outputs(view, outcome, report_dir)
        views.append(view)

    sections = []
    for view in views:
        task = project.graph.tasks.get(view.name)
        sections.append(_render_section(env, task.section if task else None, view, run_record))
    comparison = _render_comparison(env, ComparisonView(project.root / REFERENCES_FILE, views))
    text = env.get_template(REPORT_TEMPLATE).render(
        profile=run_record["profile"],
        provenance=provenance,
        tasks=views,
        status_table=status_table(views),
        sections=sections,
        comparison=comparison,
        run=run_record,
    )
    path = report_dir / REPORT_SOURCE
    atomic_write_text(path, text)
    return path


def _copy_outputs(view: TaskView, outcome: dict[str, Any], report_dir: Path) -> None:
    if view.results and view.task_dir:
        figures = report_dir / "figures" / view.name
        figures.mkdir(parents=True, exist_ok=True)
        for figure in view.results["figures"].values():
            shutil.copy2(view.task_dir / figure["file"], figures / Path(figure["file"]).name)
    notebook_dir = (
        view.task_dir
        if view.results
        else Path(outcome["failed_dir"])
        if outcome.get("failed_dir")
        else None
    )
    if notebook_dir and (notebook_dir / EXECUTED_NOTEBOOK).exists():
        (report_dir / "notebooks").mkdir(exist_ok=True)
        shutil.copy2(
            notebook_dir / EXECUTED_NOTEBOOK, report_dir / "notebooks" / f"{view.name}.ipynb"
        )
        view.notebook_link = f"notebooks/{view.name}.ipynb"


def _render_section(
    env: jinja2.Environment, template: str | None, view: TaskView, run_record: dict[str, Any]
) -> str:
    if view.available:
        try:
            return env.get_template(template or "sections/generic.md.j2").render(
                t=view, run=run_record
            )
        except Exception as error:  # a broken section must not take the report down with it
            detail = "".join(traceback.format_exception_only(error)).strip()
            return env.get_template("sections/unavailable.md.j2").render(
                t=view, reason=f"its section template failed: {detail}"
            )
    return env.get_template("sections/unavailable.md.j2").render(t=view, reason=None)


def _render_comparison(env: jinja2.Environment, view: ComparisonView) -> str:
    try:
        return env.get_template(COMPARISON_TEMPLATE).render(c=view)
    except Exception as error:  # like a task section: shown in place, the report still renders
        detail = "".join(traceback.format_exception_only(error)).strip()
        return (
            "# Comparison with the reference reports\n\n"
            f"**This section could not be rendered**: `{detail}`\n"
        )
