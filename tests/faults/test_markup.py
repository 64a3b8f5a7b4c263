"""Fault: markup injected through every route a run's text takes into the report.

A fixture project whose tasks carry a payload (raw HTML with a script, markdown emphasis,
links, math, citations, code fences, ``--no-deps``) in an error message and its traceback,
a parameter value, every text field of results.json (headline, check name and detail, table
column, cell and caption, figure name and caption) and the provenance strings. The report
is rendered by the real pandoc + typst renderer; the HTML is parsed and opened in headless
Chromium, the PDF's text extracted: the payload is shown as text everywhere, never run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from lazy_artist.builder.build import build
from lazy_artist.builder.lock import release_all
from lazy_artist.builder.project import Project
from lazy_artist.builder.publish import publish
from lazy_artist.builder.tasks import Task, TaskGraph

from ..builder.conftest import FIXTURE_NOTEBOOKS, REPO

FIXTURE_TEMPLATES = REPO / "tests" / "fixtures" / "project" / "templates"
SCRIPT = (
    "<script>document.title='PWNED';document.body.appendChild("
    "Object.assign(document.createElement('div'),{id:'pwned'}))</script>"
)
# Every kind of markup, and a code fence with a newline to break out of a code block.
MARKUP = (
    f"{SCRIPT} <img src=x onerror=\"document.title='PWNED'\"> --no-deps *em* __strong__ "
    "[link](javascript:alert(1)) $x^2$ @fig-x ~sub~ & &amp; | cell |\n```\n<i>after fence</i>"
)


def payload(route: str) -> str:
    return f"ROUTE-{route} {MARKUP}"


GRAPH = TaskGraph(
    [
        Task(
            "inject_fail",
            "Fails with markup",
            "analyses/inject_fail.py",
            params={"message": payload("error")},
        ),
        Task(
            "inject_results",
            "Records markup",
            "analyses/inject_results.py",
            params={"label": payload("param"), "payload": payload("results")},
            section="sections/inject.md.j2",
        ),
    ]
)


class Page(HTMLParser):
    """Elements and the visible text of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._hidden += tag in ("style", "script", "title")

    def handle_endtag(self, tag):
        self._hidden -= tag in ("style", "script", "title")

    def handle_data(self, data):
        if not self._hidden:
            self.text.append(data)

    @property
    def visible(self) -> str:
        return " ".join(" ".join(self.text).split())


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("markup") / "project"
    shutil.copytree(REPO / "templates", root / "templates")
    shutil.copytree(FIXTURE_TEMPLATES, root / "templates", dirs_exist_ok=True)
    shutil.copytree(FIXTURE_NOTEBOOKS, root / "analyses")
    project = Project(root, GRAPH)
    try:
        result = build(project, "quick", stream=False, say=lambda message: None)
    finally:
        release_all()  # build() holds the profile's lock until its caller is done
    assert {name: o.status for name, o in result.outcomes.items()} == {
        "inject_fail": "failed",
        "inject_results": "complete",
    }
    record = result.as_record()
    provenance = record["provenance"]
    provenance["platform"] = payload("platform")
    provenance["device"] = payload("device")
    provenance["git"] = {"commit": payload("commit"), "dirty": True}
    provenance["date"] = payload("date")
    publish(project, record)
    return project.report_dir


def test_the_payload_reaches_the_report_through_every_route(report):
    text = parse((report / "report.html").read_text()).visible
    for route in ("error", "param", "results", "platform", "device", "commit", "date"):
        assert f"ROUTE-{route} <script>document.title=" in text, route
    for field in ("headline", "check", "detail", "cell", "caption", "figcaption"):
        assert f"{field} ROUTE-results <script>" in text, field
    assert "Parameter as code: ROUTE-param <script>" in text


def test_no_markup_of_the_payload_becomes_html(report):
    html = (report / "report.html").read_text()
    page = parse(html)
    tags = [tag for tag, _ in page.tags]
    assert "script" not in tags and "i" not in tags
    for tag, attrs in page.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        if tag == "img":
            assert attrs["src"].startswith("data:image/png;base64,"), "only embedded figures"
        if tag == "a":
            assert not attrs.get("href", "").startswith("javascript"), attrs
    assert "<sub>" not in html and 'class="math' not in html
    # Typography stays off: two hyphens, not an en dash; the payload's <script> is visible.
    assert "--no-deps" in page.visible and "–no-deps" not in page.visible
    assert page.visible.count("<script>") >= 10
    # The traceback is a code block holding the whole payload, its ``` fence included.
    blocks = re.findall(r"<pre[^>]*><code>(.*?)</code></pre>", html, re.S)
    assert any("```" in block and "&lt;i&gt;after fence" in block for block in blocks)


def test_the_figure_file_name_from_results_json_is_the_builders(report):
    figures = sorted(p.name for p in (report / "figures" / "inject_results").iterdir())
    assert figures == ["odd-fig-name-1.png"]
    qmd = (report / "report.qmd").read_text()
    assert "](figures/inject_results/odd-fig-name-1.png){#fig-inject_results-odd-fig" in qmd
    assert 'width="100%"' in qmd, "a width with quotes in it is replaced"


def test_the_pdf_shows_the_payload_as_text(report):
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = subprocess.run(
        [pdftotext, str(report / "report.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = " ".join(text.split())
    assert "--no-deps" in flat and "–no-deps" not in flat
    assert "ROUTE-error <script>document.title=" in flat
    assert "Parameter as code: ROUTE-param <script>document.title=" in flat
    # Emphasis and code marks are shown, not applied (typst would have eaten them).
    assert "*em* __strong__ [link](javascript:alert(1)) $x^2$ @fig-x ~sub~" in flat


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.skip("no headless Chromium installed")


def _dump_dom(page: Path) -> str:
    completed = subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=2000",
            f"--user-data-dir={page.parent / '.chromium'}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(page.parent)},
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed.stdout


def test_no_script_runs_in_a_browser(report, tmp_path):
    # The check can fail: the same script, really in a page, shows in the dumped DOM.
    control = tmp_path / "control.html"
    control.write_text(f"<html><head><title>control</title></head><body>{SCRIPT}</body></html>")
    dom = _dump_dom(control)
    assert "<title>PWNED</title>" in dom and 'id="pwned"' in dom

    page = tmp_path / "report.html"
    shutil.copy(report / "report.html", page)
    dom = _dump_dom(page)
    assert "Records markup" in dom, "the report itself was loaded"
    assert "PWNED</title>" not in dom and 'id="pwned"' not in dom
    assert "&lt;script&gt;document.title=" in dom


def test_the_summary_keeps_the_raw_text(report):
    summary = json.loads((report / "summary.json").read_text())
    assert summary["tasks"]["inject_fail"]["error"] == f"ValueError: {payload('error')}"


if __name__ == "__main__":  # pragma: no cover - run this file alone
    sys.exit(pytest.main([__file__, "-q"]))


def test_a_figure_path_outside_its_task_is_not_copied(tmp_path):
    """results.json names its figure files; one outside the task's directory (or missing)
    is never copied into the report: its section says so and the rest still renders."""
    from ..builder.conftest import make_fixture_project

    project = make_fixture_project(tmp_path / "project")
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not for the report")
    try:
        result = build(project, "quick", only=["produce"], stream=False, say=lambda m: None)
    finally:
        release_all()
    results_file = Path(result.outcomes["produce"].task_dir) / "results.json"
    results = json.loads(results_file.read_text())
    results["figures"]["squares"]["file"] = "../" * 8 + str(secret).lstrip("/")
    results_file.write_text(json.dumps(results))

    publish(project, result.as_record())

    copied = [p for p in project.report_dir.rglob("*") if p.is_file()]
    assert all(p.read_bytes() != b"not for the report" for p in copied)
    qmd = (project.report_dir / "report.qmd").read_text()
    assert "**This section could not be rendered**: its section template failed" in qmd
    assert "figure \\'squares\\'" in qmd and "Task status" in qmd
