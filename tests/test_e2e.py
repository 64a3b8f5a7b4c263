"""One real end-to-end build of the quick profile, then the caching promises on top of it."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from lazy_artist.builder.store import BuildStore
from lazy_artist.cli import main

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.e2e


def build_quick(root: Path) -> dict:
    assert main(["--root", str(root), "build", "--profile", "quick", "--quiet"]) == 0
    return json.loads((root / "report" / "summary.json").read_text())


def statuses(summary: dict) -> dict:
    return {name: task["status"] for name, task in summary["tasks"].items()}


def finished(root: Path, task: str) -> int:
    return BuildStore.for_profile(root / "build", "quick").completed_record(task)["finished_at_ns"]


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("e2e") / "checkout"
    for part in ("analyses", "templates"):
        shutil.copytree(REPO / part, root / part)
    return root


def test_quick_build_writes_the_report(checkout):
    summary = build_quick(checkout)
    assert summary["profile"] == "quick"
    assert statuses(summary) == {"t0": "complete", "t1": "complete", "t4": "complete"}
    t1 = summary["tasks"]["t1"]
    for metric in ("easy_val_acc", "hard_test_acc"):
        assert 0.0 <= t1["metrics"][metric] <= 1.0
    assert set(t1["checks"]) >= {"easy_val_at_least", "hard_test_at_most", "predicts_colour_digit"}
    assert summary["tasks"]["t0"]["checks"] and all(summary["tasks"]["t0"]["checks"].values())

    report = checkout / "report"
    html = (report / "report.html").read_text()
    figures = sorted((report / "figures").rglob("*.png"))
    assert len(figures) >= 7
    assert html.count("data:image/png;base64,") == len(figures), "every figure embedded in the HTML"
    assert (report / "notebooks" / "t1.ipynb").exists() and 'href="notebooks/t1.ipynb"' in html
    qmd = (report / "report.qmd").read_text()
    assert (
        "T0: the biased canvas" in qmd
        and "T1: the cheater" in qmd
        and "T4: the intervention" in qmd
    )

    t4 = summary["tasks"]["t4"]["metrics"]
    from lazy_artist.methods.algorithms import ALGORITHMS

    assert set(t4["methods"]) == set(ALGORITHMS), "the quick profile runs every registered method"
    for method in t4["methods"].values():
        assert {"hard_test_acc_mean", "hard_test_acc_std", "easy_val_acc_mean", "n_seeds"} <= set(
            method
        )
    assert t4["best_method"] != "gray_oracle"


def test_every_pdf_page_renders(checkout, tmp_path):
    pdf = checkout / "report" / "report.pdf"
    assert shutil.which("pdftoppm"), (
        "pdftoppm (Debian poppler-utils) is needed; .ci/run installs it"
    )
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 3 and all(page.stat().st_size > 2_000 for page in pages)


def test_a_rebuild_with_no_change_runs_nothing(checkout):
    before = {task: finished(checkout, task) for task in ("t0", "t1", "t4")}
    assert statuses(build_quick(checkout)) == {"t0": "cached", "t1": "cached", "t4": "cached"}
    assert {task: finished(checkout, task) for task in ("t0", "t1", "t4")} == before


def test_a_template_change_only_re_renders(checkout):
    template = checkout / "templates" / "sections" / "t1.md.j2"
    template.write_text(template.read_text() + "\nA sentence added to the template.\n")
    before = finished(checkout, "t1")
    assert statuses(build_quick(checkout)) == {"t0": "cached", "t1": "cached", "t4": "cached"}
    assert finished(checkout, "t1") == before
    assert "A sentence added to the template." in (checkout / "report" / "report.html").read_text()


def test_a_t1_notebook_change_re_runs_t1_only(checkout):
    t0_before = finished(checkout, "t0")
    notebook = checkout / "analyses" / "t1_cheater.py"
    notebook.write_text(notebook.read_text() + "\n# %%\n# an edit to T1 only\n")
    assert statuses(build_quick(checkout)) == {"t0": "cached", "t1": "complete", "t4": "cached"}
    assert finished(checkout, "t0") == t0_before
