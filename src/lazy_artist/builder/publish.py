"""From a build's run record to the finished report: assemble, render, summarise."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from lazy_artist.builder.assemble import assemble
from lazy_artist.builder.changes import with_changes
from lazy_artist.builder.project import Project
from lazy_artist.builder.render import TABLES_FILTER, choose_renderer
from lazy_artist.builder.report_folder import check_report_dir, staged_report
from lazy_artist.builder.summary import summarise, write_summary
from lazy_artist.builder.task_results import compare_with_references, load_task_results

# What report.qmd's front matter names beside it (Quarto reads them there; pandoc by path).
QUARTO_HELPERS = ("style.css", "typst-header.typ", TABLES_FILTER)


def publish(
    project: Project, run_record: dict[str, Any], baseline: Path | None = None
) -> list[Path]:
    """Write report.qmd, report.html, report.pdf and summary.json under ``report/``; the
    changes are against ``baseline`` (a summary.json) or the previous build of the profile.
    The report is written whole into a fresh folder that then replaces ``report/``
    (:mod:`~lazy_artist.builder.report_folder`): a failed render leaves the previous one."""
    profile = run_record.get("profile")  # the build's (checked when it ran): named in fixes
    check_report_dir(project.report_dir, profile)  # before any state moves
    # Every results.json read once, the reference comparison computed once, for all three.
    results = load_task_results(run_record)
    comparison = compare_with_references(project.root, run_record, results)
    summary = summarise(run_record, project.root, results, comparison)
    run_record = with_changes(project, run_record, baseline, current=summary)
    summary["changes"] = run_record["changes"].as_dict()
    # All of it is written into a fresh folder, which replaces report/ only once complete.
    with staged_report(project, profile) as staging:
        source = assemble(project, run_record, staging, results, comparison)
        # Quarto reads these beside the source; pandoc gets them by path.
        for helper in QUARTO_HELPERS:
            shutil.copy2(project.templates_dir / helper, staging / helper)
        outputs = choose_renderer().render(source, project.templates_dir)
        outputs.append(write_summary(summary, staging))
    return [project.report_dir / path.relative_to(staging) for path in outputs]
