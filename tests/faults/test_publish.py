"""Fault: publishing is all or nothing, and an unwritable report folder is one clear line.

The report is written into a fresh folder beside ``report/`` and swapped in whole: a render
that fails (or is interrupted) after writing part of its output leaves the previous report
byte-identical; a successful one replaces every generated file and keeps report/README.md.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from lazy_artist.builder import publish as publish_module
from lazy_artist.builder import report_folder
from lazy_artist.builder.build import build
from lazy_artist.builder.lock import release_all
from lazy_artist.builder.publish import publish
from lazy_artist.builder.render import RenderError
from lazy_artist.builder.report_folder import OutputPathError

from ..builder.conftest import make_fixture_project
from ._fixture_cli import run_cli

README = "# report/\n\nThe repository's own file: publishing keeps it.\n"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A fixture project with one built task, and that build's run record."""
    project = make_fixture_project(tmp_path_factory.mktemp("publish") / "project")
    try:
        result = build(project, "quick", only=["produce"], stream=False, say=lambda message: None)
    finally:
        release_all()  # build() holds the profile's lock until its caller is done
    return project, result.as_record()


@pytest.fixture
def published(built):
    """``built`` with a fresh, good report/ (README.md in it, as in a checkout)."""
    project, record = built
    shutil.rmtree(project.report_dir, ignore_errors=True)
    project.report_dir.mkdir()
    (project.report_dir / "README.md").write_text(README)
    publish(project, record)
    return project, record


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def leftovers(project) -> list[str]:
    return [p.name for p in project.root.iterdir() if p.name.startswith(".report")]


class PartialRenderer:
    """Writes a new report.html beside the source, then fails (or is interrupted)."""

    name = "partial"

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def render(self, source: Path, templates_dir: Path) -> list[Path]:
        source.with_suffix(".html").write_text("<p>half a new report</p>")
        raise self.error


@pytest.mark.parametrize(
    "error", [RenderError("typst could not compile report.typ"), KeyboardInterrupt()]
)
def test_a_failing_render_leaves_the_previous_report_byte_identical(published, monkeypatch, error):
    project, record = published
    before = snapshot(project.report_dir)
    assert {"report.html", "report.pdf", "summary.json", "README.md"} <= set(before)
    monkeypatch.setattr(publish_module, "choose_renderer", lambda: PartialRenderer(error))
    with pytest.raises(type(error)):
        publish(project, record)
    assert snapshot(project.report_dir) == before
    assert leftovers(project) == [], "the half-written folder is removed"


def test_a_successful_render_replaces_the_report_whole(published):
    project, record = published
    report = project.report_dir
    stale = report / "figures" / "gone" / "old.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"an old figure")
    (report / "notes.txt").write_text("a user's own file")
    old_html = (report / "report.html").stat().st_ino

    outputs = publish(project, record)

    assert [path.name for path in outputs] == ["report.html", "report.pdf", "summary.json"]
    assert all(path.parent == report and path.exists() for path in outputs)
    assert (report / "report.html").stat().st_ino != old_html, "a new file, not an edit"
    assert not stale.exists(), "what the previous publish wrote is replaced, not merged"
    assert (report / "README.md").read_text() == README
    assert (report / "notes.txt").read_text() == "a user's own file", "not the builder's: kept"
    manifest = json.loads((report / ".generated").read_text())
    assert {"report.html", "report.pdf", "report.qmd", "summary.json", "figures"} <= set(manifest)
    assert "README.md" not in manifest and "notes.txt" not in manifest
    assert leftovers(project) == []


def test_the_report_is_readable_by_the_group(built):
    project, record = built
    previous = os.umask(0o022)
    try:
        shutil.rmtree(project.report_dir, ignore_errors=True)
        publish(project, record)
    finally:
        os.umask(previous)
    report = project.report_dir
    assert stat.S_IMODE(report.stat().st_mode) == 0o755, "not mkdtemp's private 0700"
    for name in ("summary.json", "report.qmd", "report.html", "report.pdf"):
        assert stat.S_IMODE((report / name).stat().st_mode) == 0o644, name


def _one_line(error: BaseException) -> str:
    message = str(error)
    assert "\n" not in message and isinstance(error, RenderError)
    return message


def test_report_being_a_file_is_one_line_before_any_work(built, monkeypatch):
    project, record = built
    shutil.rmtree(project.report_dir, ignore_errors=True)
    project.report_dir.write_text("someone's file")
    monkeypatch.setattr(
        publish_module, "assemble", lambda *a, **k: pytest.fail("work started anyway")
    )
    try:
        with pytest.raises(OutputPathError) as caught:
            publish(project, record)
        message = _one_line(caught.value)
        assert message.startswith(f"cannot write the report to {project.report_dir}: it is a file")
        assert "not a folder: move or delete it" in message
        assert "python -m lazy_artist render --profile quick" in message
        assert project.report_dir.read_text() == "someone's file", "never deleted"
    finally:
        project.report_dir.unlink()


def test_an_unwritable_report_folder_is_one_line(published, monkeypatch):
    # Tests run as root, for whom chmod stops nothing: the permission check is simulated.
    project, record = published
    before = snapshot(project.report_dir)
    real_access = os.access
    monkeypatch.setattr(
        report_folder.os,
        "access",
        lambda path, mode: False if Path(path) == project.report_dir else real_access(path, mode),
    )
    with pytest.raises(OutputPathError) as caught:
        publish(project, record)
    message = _one_line(caught.value)
    assert f"permission denied on {project.report_dir}: make it writable" in message
    assert snapshot(project.report_dir) == before


def test_a_full_disk_mid_publish_is_one_line_and_loses_nothing(published, monkeypatch):
    project, record = published
    before = snapshot(project.report_dir)

    def disk_full(run_record, report_dir, root=None):
        raise OSError(errno.ENOSPC, "No space left on device", str(report_dir / "summary.json"))

    monkeypatch.setattr(publish_module, "write_summary", disk_full)
    with pytest.raises(OutputPathError) as caught:
        publish(project, record)
    message = _one_line(caught.value)
    assert message.startswith(f"cannot write the report to {project.report_dir}: no space left")
    assert snapshot(project.report_dir) == before and leftovers(project) == []


def test_the_cli_exits_3_with_the_line(tmp_path):
    project = make_fixture_project(tmp_path / "project")
    project.report_dir.write_text("in the way")
    completed = run_cli(project.root, "build", "--profile", "quick", "--only", "produce")
    assert completed.returncode == 3, completed.stderr[-2000:]
    assert f"{project.report_dir}: it is a file, not a folder" in completed.stderr
    assert "Traceback" not in completed.stderr
