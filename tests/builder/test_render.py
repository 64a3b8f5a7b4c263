"""Both renderers: the embedded pandoc + typst path, and Quarto (through a stand-in on PATH)."""

import hashlib
import json
import os
import stat
import sys
from pathlib import Path

import yaml

from lazy_artist.builder.build import build
from lazy_artist.builder.publish import publish
from lazy_artist.builder.render import PandocTypstRenderer, QuartoRenderer, choose_renderer

STAND_IN = """#!{python}
import hashlib, json, os, sys
from pathlib import Path
source_text = Path(sys.argv[2]).read_text()
with open({log!r}, "a") as log:
    log.write(json.dumps({{"argv": sys.argv[1:], "cwd": os.getcwd(),
                          "inputs": sorted(p.name for p in Path.cwd().iterdir()),
                          "source_sha256": hashlib.sha256(source_text.encode()).hexdigest(),
                          "front_matter": source_text.split("---")[1]}}) + "\\n")
source = Path(sys.argv[2])
target = sys.argv[sys.argv.index("--to") + 1]
output = source.with_suffix(".html" if target == "html" else ".pdf")
output.write_text("rendered by the stand-in")
"""


def test_quarto_on_path_is_used_with_the_exact_commands(fixture_project, tmp_path, monkeypatch):
    bin_dir, log = tmp_path / "bin", tmp_path / "quarto.log"
    bin_dir.mkdir()
    quarto = bin_dir / "quarto"
    quarto.write_text(STAND_IN.format(python=sys.executable, log=str(log)))
    quarto.chmod(quarto.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert choose_renderer() == QuartoRenderer(str(quarto))

    result = build(
        fixture_project, "quick", only=["produce"], stream=False, say=lambda message: None
    )
    outputs = publish(fixture_project, result.as_record())

    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [call["argv"] for call in calls] == [
        ["render", "report.qmd", "--to", "html"],
        ["render", "report.qmd", "--to", "typst"],
    ]
    # Quarto renders in the fresh folder beside report/ that then replaces it whole.
    (cwd,) = {Path(call["cwd"]) for call in calls}
    assert cwd.parent == fixture_project.root and cwd.name.startswith(".report-new-")
    assert not cwd.exists(), "the staging folder became report/"
    assert (fixture_project.report_dir / "report.html").read_text() == "rendered by the stand-in"
    for call in calls:
        assert {"report.qmd", "figures", "style.css", "typst-header.typ", "tables.lua"} <= set(
            call["inputs"]
        )
    # Quarto reads the very document the pandoc path would render, and the helper files its
    # front matter names are among its inputs.
    source = (fixture_project.report_dir / "report.qmd").read_bytes()
    assert {call["source_sha256"] for call in calls} == {hashlib.sha256(source).hexdigest()}
    formats = yaml.safe_load(calls[0]["front_matter"])["format"]
    assert formats["html"]["toc"] and formats["html"]["number-sections"]
    assert formats["html"]["embed-resources"] and formats["typst"]["toc"]
    assert formats["html"]["css"] in calls[0]["inputs"]
    assert formats["typst"]["include-in-header"] in calls[1]["inputs"]
    assert formats["html"]["filters"] == ["tables.lua"]  # the same table break points as pandoc's
    assert [path.name for path in outputs] == ["report.html", "report.pdf", "summary.json"]


def test_without_quarto_pandoc_and_typst_render_a_self_contained_report(
    fixture_project, monkeypatch
):
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable))  # no quarto there
    assert choose_renderer() == PandocTypstRenderer()
    result = build(
        fixture_project, "quick", only=["produce"], stream=False, say=lambda message: None
    )
    publish(fixture_project, result.as_record())
    html = (fixture_project.report_dir / "report.html").read_text()
    assert "data:image/png;base64," in html, (
        "figures must be embedded so the HTML opens from a file"
    )
    assert 'src="figures/' not in html
    assert "Squares up to 2" in html
    # The crossref filter numbers captions as Quarto would (typst numbers the PDF's itself).
    flat = " ".join(html.split())
    assert "<strong>Figure 1:</strong> Squares up to 2" in flat
    assert "<strong>Table 1:</strong> Task status" in flat
    pdf = (fixture_project.report_dir / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
