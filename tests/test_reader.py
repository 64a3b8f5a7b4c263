"""What a reader gets, checked on the one quick end-to-end build (``quick_build`` in conftest.py):
the HTML in a real headless browser (every image loads, every internal link lands), the PDF
(its sections, numbered figures and tables, every page rendering, nothing off the page)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from lazy_artist.builder.assemble import reading_key
from lazy_artist.builder.tasks import STUDY_TASKS

REPO = Path(__file__).resolve().parents[1]
# Screenshots and page images kept for a person (or CI) to look at after the run.
ARTIFACTS = Path(os.environ.get("LAZY_ARTIST_TEST_ARTIFACTS", REPO / "build" / "test-artifacts"))
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
SECTIONS = (
    "Summary",
    "Provenance",
    *(STUDY_TASKS[name].title for name in sorted(STUDY_TASKS.names(), key=reading_key)),
    "Comparison with the reference reports",
)

pytestmark = pytest.mark.e2e

# Runs in the page once everything has loaded; its verdict is written into the DOM, which
# chromium's --dump-dom then prints.
READER_CHECK = """<script>
window.addEventListener("load", () => {
  const images = [...document.images];
  const verdict = {
    images: images.length,
    unloaded: images
      .filter((img) => !(img.complete && img.naturalWidth > 0))
      .map((img) => (img.getAttribute("alt") || img.getAttribute("src")).slice(0, 100)),
    links: [...document.querySelectorAll("a[href]")].map((a) => a.getAttribute("href")),
    missing_targets: [...document.querySelectorAll("a[href^='#']")]
      .map((a) => a.getAttribute("href"))
      .filter((href) => href.length > 1 && !document.getElementById(decodeURIComponent(href.slice(1)))),
  };
  const out = document.createElement("pre");
  out.id = "reader-check";
  out.textContent = JSON.stringify(verdict);
  document.body.appendChild(out);
});
</script>
"""


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    pytest.skip("chromium is not installed (apt-get install chromium; .ci/run installs it)")


def run_chromium(page: Path, user_data: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={user_data}", *flags, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
    )


def open_in_browser(html: Path, tmp_path: Path) -> dict:
    """Load ``html`` (a copy with the check script, beside the original so relative links
    resolve alike) in headless chromium; returns the page's verdict."""
    probe = html.with_name(f"reader-check-{html.name}")
    probe.write_text(html.read_text(encoding="utf-8").replace("</body>", READER_CHECK + "</body>"))
    try:
        result = run_chromium(
            probe, tmp_path / "chromium-profile", "--virtual-time-budget=10000", "--dump-dom"
        )
    finally:
        probe.unlink()
    match = re.search(r'<pre id="reader-check">(.*?)</pre>', result.stdout, re.S)
    assert match, f"the page never finished loading in chromium:\n{result.stderr[-3000:]}"
    verdict = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    verdict["broken_files"] = [
        href
        for href in verdict["links"]
        if not urlparse(href).scheme
        and not href.startswith("#")
        and not (html.parent / unquote(href.split("#")[0])).exists()
    ]
    return verdict


class _Captions(HTMLParser):
    """The text of every <figcaption> and table <caption>, and the table of contents' links."""

    def __init__(self) -> None:
        super().__init__()
        self.captions: list[str] = []
        self.toc_links: list[str] = []
        self._depth = 0
        self._in_toc = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "nav" and attrs.get("id") == "TOC":
            self._in_toc = True
        if tag == "a" and self._in_toc:
            self.toc_links.append(attrs.get("href", ""))
        if tag in ("figcaption", "caption"):
            self._depth += 1
            self.captions.append("")

    def handle_endtag(self, tag):
        if tag in ("figcaption", "caption"):
            self._depth -= 1
        if tag == "nav":
            self._in_toc = False

    def handle_data(self, data):
        if self._depth:
            self.captions[-1] += data


def captions(html: str) -> _Captions:
    parser = _Captions()
    parser.feed(html)
    parser.captions = [" ".join(caption.split()) for caption in parser.captions]
    return parser


def test_the_reader_check_itself_catches_a_broken_image_and_links(tmp_path):
    """The browser check must be able to fail: a page with one of each defect."""
    page = tmp_path / "page.html"
    page.write_text(
        "<html><body><h1 id='here'>x</h1><a href='#here'>ok</a><a href='#nowhere'>bad</a>"
        "<a href='missing.ipynb'>gone</a><img src='missing.png' alt='lost figure'>"
        "<img src='data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==' alt='fine'></body></html>"
    )
    verdict = open_in_browser(page, tmp_path)
    assert verdict["images"] == 2 and verdict["unloaded"] == ["lost figure"]
    assert verdict["missing_targets"] == ["#nowhere"]
    assert verdict["broken_files"] == ["missing.ipynb"]


def test_the_html_opens_in_chromium_with_every_image_and_link_intact(quick_build, tmp_path):
    html = quick_build.report / "report.html"
    verdict = open_in_browser(html, tmp_path)
    figures = list((quick_build.report / "figures").rglob("*.png"))
    assert verdict["images"] >= len(figures) > 0
    assert verdict["unloaded"] == [], "images that did not load"
    assert verdict["missing_targets"] == [], "internal links to nothing"
    assert verdict["broken_files"] == [], "links to files not shipped beside the report"
    for task in STUDY_TASKS.names():
        assert f"notebooks/{task}.ipynb" in verdict["links"], f"{task}'s notebook not linked"

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "report-html.png"
    screenshot.unlink(missing_ok=True)
    run_chromium(
        html, tmp_path / "chromium-shot", "--window-size=1280,2400", f"--screenshot={screenshot}"
    )
    assert screenshot.exists() and screenshot.stat().st_size > 20_000, "screenshot not written"


def test_the_html_has_a_contents_list_and_numbered_captions_naming_their_notebook(quick_build):
    html = (quick_build.report / "report.html").read_text(encoding="utf-8")
    parsed = captions(html)
    assert {"#summary", "#provenance", "#comparison"} <= set(parsed.toc_links)
    assert len(parsed.toc_links) >= len(SECTIONS)

    figure_captions = [c for c in parsed.captions if c.startswith("Figure")]
    table_captions = [c for c in parsed.captions if c.startswith("Table")]
    assert len(figure_captions) == len(list((quick_build.report / "figures").rglob("*.png")))
    for kind, found in (("Figure", figure_captions), ("Table", table_captions)):
        numbers = [int(re.match(rf"{kind}\s(\d+):", caption).group(1)) for caption in found]
        assert numbers == list(range(1, len(found) + 1)), f"{kind} numbers run 1, 2, ..."
    commit = quick_build.summary["git"]["commit"]
    for caption in figure_captions:
        assert re.search(r"drawn by analyses/\w+\.py", caption), caption
        if commit:
            assert f"@ {commit[:10]}" in caption, caption


def pdf_text(pdf: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (Debian poppler-utils) is needed; .ci/run installs it")
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_the_pdf_has_the_expected_sections_and_numbered_captions(quick_build):
    text = pdf_text(quick_build.report / "report.pdf")
    assert "Contents" in text
    for number, section in enumerate(SECTIONS, start=1):
        assert re.search(rf"^\s*{number}\s+{re.escape(section)}\s*$", text, re.M), (
            f"section {number} {section!r} missing from the PDF"
        )
    for kind in ("Figure", "Table"):
        assert re.search(rf"{kind} 1:", text) and re.search(rf"{kind} 2:", text), kind


def test_every_pdf_page_renders(quick_build, tmp_path):
    pdf = quick_build.report / "report.pdf"
    assert shutil.which("pdftoppm"), (
        "pdftoppm (Debian poppler-utils) is needed; .ci/run installs it"
    )
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    n_pages = int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.M).group(1))
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == n_pages >= 3 and all(page.stat().st_size > 2_000 for page in pages)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy2(pages[0], ARTIFACTS / "report-pdf-page-1.png")


def test_no_text_runs_off_the_pdf_page(quick_build, tmp_path):
    """Tables and figures fit the page: every word lies inside the text area, give or take
    half the 2 cm margin (the page number, alone below the text, excepted)."""
    pdf = quick_build.report / "report.pdf"
    boxes = tmp_path / "boxes.html"
    subprocess.run(["pdftotext", "-bbox", str(pdf), str(boxes)], check=True)
    layout = boxes.read_text(encoding="utf-8")
    pages = re.findall(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', layout, re.S)
    assert pages
    half_margin = 28.0  # points; the report's margins are 2 cm = 57 pt
    overflowing = []
    for page, (width, height, body) in enumerate(pages, start=1):
        right, bottom = float(width) - half_margin, float(height) - half_margin
        for y_min, x_max, y_max, word in re.findall(
            r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>',
            body,
        ):
            page_number = word == str(page) and float(y_min) > bottom - half_margin
            if float(x_max) > right or (float(y_max) > bottom and not page_number):
                overflowing.append((page, word, x_max, y_max))
    assert overflowing == [], f"text outside the page's text area: {overflowing[:10]}"
