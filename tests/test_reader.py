"""What a reader gets, checked on the one quick end-to-end build (``quick_build`` in conftest.py):
the HTML in a real headless browser (every image loads, every internal link lands), the PDF
(its sections, numbered figures and tables, every page rendering, nothing off the page, no
table cell drawn over another; the last also on a deliberately wide table)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from lazy_artist.builder.assemble import markdown_table, reading_key
from lazy_artist.builder.render import CROSSREF_FILTER, TABLES_FILTER, PandocTypstRenderer
from lazy_artist.study import STUDY_TASKS

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
    // A table wider than its box: part of it is hidden behind a scroll bar or cut off.
    overflowing_tables: [...document.querySelectorAll("table")]
      .filter((table) => table.scrollWidth > table.clientWidth + 1 || table.getBoundingClientRect().right > document.documentElement.clientWidth)
      .map((table) => (table.querySelector("caption")?.textContent || table.textContent).trim().slice(0, 80)),
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
        # A laptop's window: every table must fit it without scrolling sideways.
        result = run_chromium(
            probe,
            tmp_path / "chromium-profile",
            "--window-size=1024,768",
            "--virtual-time-budget=10000",
            "--dump-dom",
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
        "<img src='data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==' alt='fine'>"
        "<table><caption>fits</caption><tr><td>a</td></tr></table>"
        "<table style='display:block;overflow-x:auto;width:5em'><caption>too wide</caption>"
        "<tr><td>colour_invariance@lenet_cnn</td></tr></table></body></html>"
    )
    verdict = open_in_browser(page, tmp_path)
    assert verdict["images"] == 2 and verdict["unloaded"] == ["lost figure"]
    assert verdict["missing_targets"] == ["#nowhere"]
    assert verdict["broken_files"] == ["missing.ipynb"]
    assert verdict["overflowing_tables"] == ["too wide"]


def test_the_html_opens_in_chromium_with_every_image_and_link_intact(quick_build, tmp_path):
    html = quick_build.report / "report.html"
    verdict = open_in_browser(html, tmp_path)
    figures = list((quick_build.report / "figures").rglob("*.png"))
    assert verdict["images"] >= len(figures) > 0
    assert verdict["unloaded"] == [], "images that did not load"
    assert verdict["missing_targets"] == [], "internal links to nothing"
    assert verdict["broken_files"] == [], "links to files not shipped beside the report"
    assert verdict["overflowing_tables"] == [], "tables wider than the page (scrolled or cut off)"
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


# --- Table layout: no cell's text drawn over another's, nothing beyond the text area. ---


@dataclass(frozen=True)
class Word:
    """One word as pdftotext places it: a box in points, origin at the page's top left."""

    page: int
    x0: float
    y0: float
    x1: float
    y1: float
    text: str


@dataclass(frozen=True)
class Rule:
    """A vertical line the PDF strokes (a table's column rule), in the words' coordinates."""

    page: int
    x: float
    y0: float
    y1: float


_WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>'
)
_PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.S)
# pdftocairo writes each stroked line as a path with its own transform matrix(a,b,c,d,e,f).
_STROKE = re.compile(
    r'<path style="fill:none;[^"]*stroke-width[^"]*" d="([^"]*)"(?: transform="matrix\(([^)]*)\)")?'
)
_POINT = re.compile(r"[ML] (-?[\d.e-]+) (-?[\d.e-]+)")
# Points of slack: a glyph's box may touch the rule beside it, or its neighbour's box.
TOUCH = 0.5


def pdf_pages(pdf: Path) -> tuple[list[tuple[float, float]], list[Word]]:
    """Every page's size and every word of the PDF (poppler's ``pdftotext -bbox``)."""
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (Debian poppler-utils) is needed; .ci/run installs it")
    layout = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    sizes, words = [], []
    for page, (width, height, body) in enumerate(_PAGE.findall(layout), start=1):
        sizes.append((float(width), float(height)))
        for x0, y0, x1, y1, text in _WORD.findall(body):
            words.append(Word(page, float(x0), float(y0), float(x1), float(y1), unescape(text)))
    return sizes, words


def pdf_vertical_rules(pdf: Path, n_pages: int, scratch: Path) -> list[Rule]:
    """Every vertical stroked segment of every page (poppler's ``pdftocairo -svg``, one page
    per file)."""
    if shutil.which("pdftocairo") is None:
        pytest.fail("pdftocairo (Debian poppler-utils) is needed; .ci/run installs it")
    rules = []
    for page in range(1, n_pages + 1):
        svg = scratch / f"page-{page}.svg"
        subprocess.run(
            ["pdftocairo", "-svg", "-f", str(page), "-l", str(page), str(pdf), str(svg)],
            check=True,
            capture_output=True,
        )
        for path, matrix in _STROKE.findall(svg.read_text(encoding="utf-8")):
            a, b, c, d, e, f = map(float, matrix.split(",")) if matrix else (1, 0, 0, 1, 0, 0)
            points = [
                (a * x + c * y + e, b * x + d * y + f)
                for x, y in ((float(x), float(y)) for x, y in _POINT.findall(path))
            ]
            for (xa, ya), (xb, yb) in zip(points, points[1:], strict=False):
                if abs(xa - xb) < 0.01 and abs(ya - yb) > 1:
                    rules.append(Rule(page, xa, min(ya, yb), max(ya, yb)))
    return rules


def where(word: Word) -> str:
    return f"page {word.page}, y {word.y0:.0f} pt:"


def layout_faults(pdf: Path, scratch: Path, margin: float = 56.7) -> list[str]:
    """What a reader would see as broken in the PDF's tables: a word drawn across a column
    rule (its cell's text runs into the next cell), two words drawn over each other, or a word
    beyond the text area's sides by more than half the margin (``margin``: 2 cm in points)."""
    sizes, words = pdf_pages(pdf)
    rules = pdf_vertical_rules(pdf, len(sizes), scratch)
    faults = []
    for word in words:
        width = sizes[word.page - 1][0]
        if word.x0 < margin / 2 or word.x1 > width - margin / 2:
            faults.append(f"{where(word)} {word.text!r} beyond the text area")
    for rule in rules:
        for word in words:
            crosses = word.x0 + TOUCH < rule.x < word.x1 - TOUCH
            if word.page == rule.page and crosses and word.y0 < rule.y1 and rule.y0 < word.y1:
                faults.append(f"{where(word)} {word.text!r} crosses a column rule")
    # Overlapping words, by a sweep down each page (words of one line sit side by side).
    for page in range(1, len(sizes) + 1):
        on_page = sorted((w for w in words if w.page == page), key=lambda w: w.y0)
        for index, word in enumerate(on_page):
            for other in on_page[index + 1 :]:
                if other.y0 >= word.y1 - TOUCH:
                    break
                if min(word.x1, other.x1) - max(word.x0, other.x0) > TOUCH:
                    faults.append(f"{where(word)} {word.text!r} drawn over {other.text!r}")
    return list(dict.fromkeys(faults))  # a word crossing a rule drawn in pieces counts once


# A table as wide as T5's: model labels joined by @ and _, a long list cell, and eight
# columns of means with their intervals.
WIDE_TABLE = {
    "columns": [
        "model",
        "rule",
        "clean easy-val",
        "clean hard",
        "PGD eps 0.03",
        "PGD eps 0.1",
        "ratio to ERM",
        "colours followed",
        "seconds",
    ],
    "rows": [
        [
            f"{method}@{backbone}",
            rule,
            "98.1 [97.2, 99.0]",
            "45.3 [40.1, 50.5]",
            "12.3 [10.0, 14.6]",
            "3.1 [0.2, 6.0]",
            "0.842 [0.611, 1.073]",
            "red_0.12,green_0.55,blue_0.99,gray_0.31",
            1234.5,
        ]
        for method in ("colour_aug", "colour_invariance", "erm")
        for backbone in ("cheater_cnn", "lenet_cnn")
        for rule in ("conflict_val", "easy_val")
    ],
    "caption": "A deliberately wide table",
}
BARE_HEADER = (
    "#set table(stroke: 0.4pt + luma(160), inset: 4pt)\n#show table: set text(size: 8pt)\n"
)


def render_wide_table(folder: Path, templates: Path) -> Path:
    """The wide table in a report of its own, rendered by the builder's pandoc + typst path
    with the given templates folder; returns the PDF."""
    folder.mkdir(parents=True)
    source = folder / "report.qmd"
    body = markdown_table(WIDE_TABLE, "wide")
    source.write_text(
        '---\ntitle: "Wide"\npapersize: a4\nmargin:\n  x: 2cm\n  y: 2cm\n---\n\n'
        f"# Results\n\n{body}\n",
        encoding="utf-8",
    )
    PandocTypstRenderer().render(source, templates)
    return source.with_suffix(".pdf")


def test_a_wide_table_fits_the_pdf_page_with_no_cell_drawn_over_another(tmp_path):
    pdf = render_wide_table(tmp_path / "report", REPO / "templates")
    faults = layout_faults(pdf, tmp_path)
    assert faults == [], f"the wide table's cells collide: {faults[:10]}"
    # The check saw the table: its column rules, and every cell's text (an identifier broken
    # over lines reads back whole once the line breaks are taken out).
    sizes, words = pdf_pages(pdf)
    assert len({round(rule.x) for rule in pdf_vertical_rules(pdf, len(sizes), tmp_path)}) == 10
    text = "".join(word.text for word in words)
    for row in WIDE_TABLE["rows"]:
        for cell in row:
            assert str(cell).replace(" ", "") in text, cell


def test_the_layout_check_catches_cells_drawn_over_each_other(tmp_path):
    """The check must be able to fail: the same table with pandoc's own column widths (its
    dash counts as fixed percentages) and no room made for long identifiers."""
    templates = tmp_path / "bare-templates"
    templates.mkdir()
    for name in (CROSSREF_FILTER, TABLES_FILTER, "style.css"):
        shutil.copy2(REPO / "templates" / name, templates / name)
    (templates / "typst-header.typ").write_text(BARE_HEADER, encoding="utf-8")
    pdf = render_wide_table(tmp_path / "report", templates)
    faults = layout_faults(pdf, tmp_path)
    assert any("crosses a column rule" in fault for fault in faults), faults


def test_no_table_cell_is_drawn_over_another_in_the_pdf(quick_build, tmp_path):
    faults = layout_faults(quick_build.report / "report.pdf", tmp_path)
    assert faults == [], f"{len(faults)} layout faults in the PDF: {faults[:10]}"
