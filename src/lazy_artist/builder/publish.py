"""From a build's run record to the finished report: assemble, render, summarise."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from lazy_artist.builder.assemble import assemble
from lazy_artist.builder.project import Project
from lazy_artist.builder.render import choose_renderer
from lazy_artist.builder.summary import write_summary


def publish(project: Project, run_record: dict[str, Any]) -> list[Path]:
    """Write report.qmd, report.html, report.pdf and summary.json under ``report/``."""
    source = assemble(project, run_record)
    # Quarto reads these beside the source; pandoc gets them by path.
    for helper in ("style.css", "typst-header.typ"):
        shutil.copy2(project.templates_dir / helper, project.report_dir / helper)
    outputs = choose_renderer().render(source, project.templates_dir)
    outputs.append(write_summary(run_record, project.report_dir, project.root))
    return outputs
