"""Render ``report.qmd`` to HTML and PDF: Quarto when it is on PATH, else pandoc + typst.

Both paths take the same Quarto-compatible markdown and produce ``report.html`` (self
contained: figures embedded) and ``report.pdf`` (via typst, no LaTeX).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

CROSSREF_FILTER = "crossref.lua"
# Break points after "@", "_", "," and "=" in the HTML's table cells (typst-header.typ makes
# the same ones in the PDF, for Quarto's typst format as well).
TABLES_FILTER = "tables.lua"


class RenderError(RuntimeError):
    """The report could not be rendered or written (the CLI exits 3)."""


def _run(command: list[str], cwd: Path) -> None:
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RenderError(
            f"{' '.join(command)} failed ({completed.returncode}):\n{completed.stderr[-4000:]}"
        )


@dataclass(frozen=True)
class QuartoRenderer:
    executable: str
    name: str = "quarto"

    def render(self, source: Path, templates_dir: Path) -> list[Path]:
        for target in ("html", "typst"):
            _run([self.executable, "render", source.name, "--to", target], cwd=source.parent)
        return [source.with_suffix(".html"), source.with_suffix(".pdf")]


@dataclass(frozen=True)
class PandocTypstRenderer:
    name: str = "pandoc+typst"

    def render(self, source: Path, templates_dir: Path) -> list[Path]:
        import pypandoc
        import typst

        pandoc = pypandoc.get_pandoc_path()
        report_dir = source.parent
        html, typ, pdf = (source.with_suffix(suffix) for suffix in (".html", ".typ", ".pdf"))
        common = [
            pandoc,
            source.name,
            "--from",
            "markdown",
            "--standalone",
            "--toc",
            "--number-sections",
            # Figure and table numbers and @fig-/@tbl- references, as Quarto would give them.
            "--lua-filter",
            str((templates_dir / CROSSREF_FILTER).resolve()),
            "--lua-filter",
            str((templates_dir / TABLES_FILTER).resolve()),
        ]
        css = templates_dir / "style.css"
        _run(
            [
                *common,
                "--to",
                "html5",
                "--embed-resources",
                "--css",
                str(css.resolve()),
                "--output",
                html.name,
            ],
            report_dir,
        )
        header = templates_dir / "typst-header.typ"
        _run(
            [
                *common,
                "--to",
                "typst",
                "--include-in-header",
                str(header.resolve()),
                "--output",
                typ.name,
            ],
            report_dir,
        )
        try:
            typst.compile(str(typ), output=str(pdf), root=str(report_dir))
        except Exception as error:  # typst raises its own error type with the diagnostics
            raise RenderError(f"typst could not compile {typ}: {error}") from error
        return [html, pdf]


def choose_renderer() -> QuartoRenderer | PandocTypstRenderer:
    """Quarto if installed (as the users' own toolchain), else the embedded pandoc + typst."""
    quarto = shutil.which("quarto")
    return QuartoRenderer(quarto) if quarto else PandocTypstRenderer()
