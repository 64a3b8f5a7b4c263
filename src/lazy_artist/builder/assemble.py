"""Assemble the report source (``report/report.qmd``) from task results with Jinja2.

Each task's section is rendered on its own: a section whose template breaks (a metric the
notebook no longer records, say) shows the error in place and the rest of the report still
renders. Figures and executed notebooks are copied beside the report so that it is
self-contained.

Every ``{{ expr }}`` goes through :func:`lazy_artist.builder.markdown.finalize`: text from a
run is escaped (it can never become markup), markdown built by the helpers here is a
:class:`~lazy_artist.builder.markdown.Markdown` string and passes as it is. Templates put run
text in code with the ``code`` / ``code_block`` filters and in the YAML header with ``yaml``.
"""

from __future__ import annotations

import re
import shutil
import traceback
from pathlib import Path
from typing import Any

import jinja2

from lazy_artist.builder.markdown import (
    Markdown,
    code,
    code_block,
    escape,
    finalize,
    identifier,
    yaml_string,
)
from lazy_artist.builder.outcome import Status
from lazy_artist.builder.project import Project
from lazy_artist.builder.references import (
    REFERENCES_FILE,
    ComparisonRow,
    comparison_tables,
    summary_counts,
    unit_legend,
)
from lazy_artist.builder.store import EXECUTED_NOTEBOOK
from lazy_artist.builder.task_results import (
    ReferenceComparison,
    compare_with_references,
    load_task_results,
)
from lazy_artist.fileio import atomic_write_text

REPORT_TEMPLATE = "report.qmd.j2"
REPORT_SOURCE = "report.qmd"
COMPARISON_TEMPLATE = "sections/comparison.md.j2"


# The number filters print digits, '.', '-', '%' and "n/a" only: markdown-safe as they are.
def pct(value: float | None, digits: int = 1) -> Markdown:
    return Markdown("n/a" if value is None else f"{100 * value:.{digits}f}%")


def num(value: float | None, digits: int = 3) -> Markdown:
    return Markdown(
        "n/a"
        if value is None
        else f"{value:.{digits}g}"
        if abs(value) < 1e-3 and value
        else f"{value:.{digits}f}"
    )


def fmt(value: Any, spec: str = "") -> str:
    """A value with a format spec; a number's text is :class:`Markdown`, other text is not
    (it is escaped where it is placed)."""
    if value is None:
        return Markdown("n/a")
    if isinstance(value, Markdown):
        return value
    if spec.endswith("%") and isinstance(value, (int, float)):
        return pct(value, int(spec.strip(".%") or 1))
    text = format(value, spec)
    return Markdown(text) if isinstance(value, (int, float)) else text


def _cell(value: Any) -> Markdown:
    """One table cell: run text escaped (``|`` included), builder markdown kept; one line."""
    return Markdown(" ".join(escape(value, newlines="space", line_start=False).splitlines()))


def _visible_length(cell: str) -> int:
    """Characters a reader sees: a link counts by its text, markup characters not at all."""
    text = re.sub(r"\[((?:\\.|[^\]\\])*)\]\([^)]*\)", r"\1", cell)  # a link by its text
    text = re.sub(r"(?<!\\)[`*]", "", text)  # unescaped code and emphasis marks
    return len(re.sub(r"\\(.)", r"\1", text))  # an escaped character is one character


def markdown_table(table: dict[str, Any], label: str) -> str:
    """A pipe table with its caption and a Quarto cross-reference label.

    Pandoc sizes wide pipe tables by the dash counts of the separator line, so each column
    gets dashes in proportion to its longest cell: long text columns get the room.
    """
    columns, formats = table["columns"], table.get("formats", {})
    body = [
        [
            _cell(fmt(cell, formats.get(column, "")))
            for column, cell in zip(columns, row, strict=True)
        ]
        for row in table["rows"]
    ]
    header = [_cell(str(column)) for column in columns]
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
    lines.append(
        f": {escape(table['caption'], 'space', line_start=False)} {{#tbl-{identifier(label)}}}"
    )
    return Markdown("\n".join(lines) + "\n")


# A figure width as Quarto and pandoc take it ("100%", "12cm", "300px"); anything else is
# replaced, since it is written into an attribute.
_WIDTH = re.compile(r"\d+(\.\d+)?(%|px|cm|mm|in|em)?")


def markdown_figure(figure: dict[str, Any], path: str, label: str, source: str) -> Markdown:
    """An image with its caption; ``path`` is a file name the builder chose (see
    :func:`_figure_file`), never one taken from a run."""
    caption = f"{escape(figure['caption'], 'space', line_start=False)} *(drawn by {code(source)})*"
    width = str(figure.get("width", "100%"))
    if not _WIDTH.fullmatch(width):
        width = "100%"
    return Markdown(f'![{caption}]({path}){{#fig-{identifier(label)} width="{width}"}}\n')


def _figure_file(name: str) -> str:
    """The report's file name for figure ``name``: safe in a URL and in typst, no quoting."""
    return f"{identifier(name)}.png"


class TaskView:
    """What a section template sees of one task: status, results and helpers to place them."""

    def __init__(
        self,
        outcome: dict[str, Any],
        notebook_source: str,
        commit: str | None,
        results: dict[str, Any] | None = None,
    ) -> None:
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
        self.results = results  # read once by the caller (builder/task_results.py)
        task_dir = outcome.get("task_dir")
        self.task_dir = Path(task_dir) if task_dir else None
        self.notebook_link: str | None = None
        self.copied_figures: dict[str, str] = {}  # figure name -> path under report/

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
        if self.status == Status.FAILED and self.error:
            return f"failed: {self.error.get('error')}"
        if self.status == Status.BLOCKED:
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

    def figure(self, name: str) -> Markdown:
        figure = self.results["figures"][name]
        if name not in self.copied_figures:
            raise FileNotFoundError(f"figure {name!r}: its file {figure['file']!r} was not found")
        source = f"{self.source} @ {self.commit}" if self.commit else self.source
        return markdown_figure(figure, self.copied_figures[name], f"{self.name}-{name}", source)

    def table(self, name: str) -> Markdown:
        return markdown_table(self.results["tables"][name], f"{self.name}-{name.replace('_', '-')}")

    def checklist(self) -> Markdown:
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


def status_table(views: list[TaskView]) -> Markdown:
    """The summary's task table: status, headline, finding, runtime and executed notebook."""
    rows = []
    for view in views:
        runtime = "n/a" if view.runtime_s is None else num(view.runtime_s, 1)
        if view.status == "cached" and view.runtime_s is not None:
            runtime += " (cached run)"
        notebook = (
            Markdown(f"[{escape(view.name, line_start=False)}.ipynb]({view.notebook_link})")
            if view.notebook_link
            else "none"
        )
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

    def __init__(self, comparison: ReferenceComparison, views: list[TaskView]) -> None:
        self.file = str(REFERENCES_FILE)
        self.error = comparison.error
        self.rows: list[ComparisonRow] = comparison.rows
        self._titles = {view.name: view.title for view in views}

    @property
    def counts(self) -> dict[str, int]:
        return summary_counts(self.rows)

    @property
    def legend(self) -> str:
        return unit_legend(self.rows)

    def tables(self) -> list[Markdown]:
        return [
            markdown_table(table, f"comparison-{table['name']}")
            for table in comparison_tables(self.rows, self._titles)
        ]


def template_environment(templates_dir: Path) -> jinja2.Environment:
    """The Jinja2 environment every report template renders in: strict about undefined
    names, markdown-escaping, with the report's filters (``pct``, ``num``, ``fmt``, ...)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # output is markdown, not HTML: ``finalize`` escapes for markdown
        finalize=finalize,
        # Quarto labels look like {#fig-x}; keep them out of Jinja's comment syntax.
        comment_start_string="{##",
        comment_end_string="##}",
    )
    env.filters.update(
        pct=pct, num=num, fmt=fmt, code=code, code_block=code_block, yaml=yaml_string
    )
    return env


def assemble(
    project: Project,
    run_record: dict[str, Any],
    report_dir: Path | None = None,
    results: dict[str, dict[str, Any] | None] | None = None,
    comparison: ReferenceComparison | None = None,
) -> Path:
    """Write ``report.qmd`` (plus figures and notebooks) from a build's run record into
    ``report_dir`` (default ``report/``; :func:`~lazy_artist.builder.publish.publish` passes a
    fresh folder that it renames into place once the whole report is rendered, and the
    results and reference comparison it has already read and computed)."""
    results = load_task_results(run_record) if results is None else results
    if comparison is None:
        comparison = compare_with_references(project.root, run_record, results)
    report_dir = project.report_dir if report_dir is None else report_dir
    report_dir.mkdir(parents=True, exist_ok=True)
    for generated in ("figures", "notebooks"):
        shutil.rmtree(report_dir / generated, ignore_errors=True)
    env = template_environment(project.templates_dir)
    provenance = run_record["provenance"]
    commit = provenance["git"].get("commit")
    if commit:
        commit = commit[:10] + ("-dirty" if provenance["git"].get("dirty") else "")

    views = []
    for name, outcome in sorted(run_record["tasks"].items(), key=lambda item: reading_key(item[0])):
        source = project.graph[name].notebook if name in project.graph.tasks else name
        view = TaskView(outcome, source, commit, results.get(name))
        _copy_outputs(view, outcome, report_dir)
        views.append(view)

    sections = []
    for view in views:
        task = project.graph.tasks.get(view.name)
        sections.append(render_section(env, task.section if task else None, view, run_record))
    comparison = _render_comparison(env, ComparisonView(comparison, views))
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
    """Copy the task's figures and executed notebook beside the report, under names the
    builder chooses (a run's file names never reach the markdown)."""
    if view.results and view.task_dir:
        task_dir = view.task_dir.resolve()
        folder = f"figures/{identifier(view.name)}"
        for name, figure in view.results["figures"].items():
            file = (task_dir / str(figure.get("file", ""))).resolve()
            # Only a file inside the task's own directory: a results.json cannot pull
            # another file into the report. A missing one fails its section (figure()).
            if not file.is_relative_to(task_dir) or not file.is_file():
                continue
            target = f"{folder}/{_figure_file(name)}"
            if target in view.copied_figures.values():  # two names that differ in symbols only
                target = f"{folder}/{len(view.copied_figures)}-{_figure_file(name)}"
            (report_dir / folder).mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, report_dir / target)
            view.copied_figures[name] = target
    notebook_dir = (
        view.task_dir
        if view.results
        else Path(outcome["failed_dir"])
        if outcome.get("failed_dir")
        else None
    )
    if notebook_dir and (notebook_dir / EXECUTED_NOTEBOOK).exists():
        (report_dir / "notebooks").mkdir(exist_ok=True)
        target = f"notebooks/{identifier(view.name)}.ipynb"
        shutil.copy2(notebook_dir / EXECUTED_NOTEBOOK, report_dir / target)
        view.notebook_link = Markdown(target)  # a name the builder chose


def render_section(
    env: jinja2.Environment, template: str | None, view: TaskView, run_record: dict[str, Any]
) -> Markdown:
    """One task's section (``template``, or the generic one): the "unavailable" section when
    the task has no results or its template fails, so one broken section never takes the
    report down."""
    if view.available:
        try:
            return Markdown(
                env.get_template(template or "sections/generic.md.j2").render(
                    t=view, run=run_record
                )
            )
        except Exception as error:  # a broken section must not take the report down with it
            detail = "".join(traceback.format_exception_only(error)).strip()
            return Markdown(
                env.get_template("sections/unavailable.md.j2").render(
                    t=view, reason=f"its section template failed: {detail}"
                )
            )
    return Markdown(env.get_template("sections/unavailable.md.j2").render(t=view, reason=None))


def _render_comparison(env: jinja2.Environment, view: ComparisonView) -> Markdown:
    try:
        return Markdown(env.get_template(COMPARISON_TEMPLATE).render(c=view))
    except Exception as error:  # like a task section: shown in place, the report still renders
        detail = "".join(traceback.format_exception_only(error)).strip()
        return Markdown(
            "# Comparison with the reference reports\n\n"
            f"**This section could not be rendered**: {code(detail)}\n"
        )
