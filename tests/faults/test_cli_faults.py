"""Faults at the command line: each a one-line message and its exit code, nothing good lost."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import time

import pytest

from lazy_artist import cli
from lazy_artist.builder.store import BuildStore
from tests.builder.conftest import make_fixture_project
from tests.faults._fixture_cli import run_cli, start_cli

BUILD = ("build", "--profile", "quick", "--only", "produce", "--no-render", "--quiet")


@pytest.fixture
def built(tmp_path):
    project = make_fixture_project(tmp_path / "project")
    done = run_cli(project.root, *BUILD)
    assert done.returncode == 0, done.stderr
    return project


def store(project) -> BuildStore:
    return BuildStore.for_profile(project.build_dir, "quick")


def error_line(outcome) -> str:
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1, outcome.stderr
    assert "Traceback" not in outcome.stderr
    return lines[0]


@pytest.mark.parametrize("name", [".staging", ".failed"])
def test_a_file_where_the_builder_keeps_a_directory_is_named_with_the_fix(built, name):
    good = store(built).completed_record("produce")
    in_the_way = store(built).root / name
    if in_the_way.is_dir():
        shutil.rmtree(in_the_way)
    in_the_way.write_text("not a directory")
    outcome = run_cli(built.root, *BUILD, "--force")
    assert outcome.returncode == 2
    line = error_line(outcome)
    assert f"{in_the_way} is a file" in line and "move it away" in line
    assert store(built).completed_record("produce") == good


def test_ctrl_c_stops_the_kernel_keeps_the_last_result_and_says_so_in_one_line(built):
    good = store(built).completed_record("produce")
    process = start_cli(built.root, *BUILD, "--force", "--set", "produce.sleep_s=60")
    try:
        deadline = time.monotonic() + 120
        while not store(built).staging_dirs("produce"):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(1.0)  # the notebook is sleeping in its kernel now
        kernels = subprocess.run(
            ["pgrep", "-P", str(process.pid)], capture_output=True, text=True
        ).stdout.split()
        assert kernels, "the build should have a kernel running"
        os.killpg(process.pid, signal.SIGINT)  # what the terminal sends on Ctrl-C
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130
    assert "Traceback" not in stderr
    (line,) = [line for line in stderr.splitlines() if line.startswith("interrupted:")]
    assert "kept" in line and stderr.rstrip().endswith(line)
    for pid in kernels:
        assert not os.path.exists(f"/proc/{pid}"), f"kernel {pid} still running"
    assert store(built).completed_record("produce") == good
    assert store(built).verify("produce", good) is None
    assert not store(built).staging_dirs("produce"), "the interrupted run is discarded"


def user_files(root):
    (root / "report").mkdir(parents=True)
    (root / "build" / "quick").mkdir(parents=True)
    for path in (
        "report/thesis.pdf",
        "report/README.md",
        "build/quick/data.csv",
        "build/notes.txt",
    ):
        (root / path).write_text(f"the user's {path}")
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def test_clean_outside_a_project_deletes_nothing(tmp_path):
    root = tmp_path / "somewhere"
    before = user_files(root)
    for argv in (("clean",), ("clean", "--profile", "quick")):
        assert cli.main(["--root", str(root), *argv]) == cli.EXIT_BAD_INPUT
        assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == before


def test_clean_outside_a_project_says_why_in_one_line(tmp_path):
    root = tmp_path / "somewhere"
    user_files(root)
    outcome = run_cli(root, "clean")
    assert outcome.returncode == 2
    line = error_line(outcome)
    assert "is not a lazy-artist project" in line and "refusing to delete anything" in line


@pytest.mark.parametrize("argv", [("render", "--profile", "quick"), BUILD])
def test_render_and_build_outside_a_project_write_nothing(tmp_path, argv):
    root = tmp_path / "somewhere"
    before = user_files(root)
    assert cli.main(["--root", str(root), *argv]) == cli.EXIT_BAD_INPUT
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == before


def test_clean_in_a_project_deletes_only_what_the_builder_made(built, capsys):
    root = built.root
    (root / "report").mkdir(exist_ok=True)
    for name in ("report.html", "report.pdf", "summary.json", "report.qmd"):
        (root / "report" / name).write_text("generated")
    (root / "report" / "figures" / "produce").mkdir(parents=True)
    (root / "report" / "README.md").write_text("the repository's own file")
    (root / "report" / "my-notes.txt").write_text("the user's file")
    (root / "build" / "my-data.csv").write_text("the user's file")
    assert cli.main(["--root", str(root), "clean"]) == 0
    left = sorted(p.relative_to(root).as_posix() for p in (root / "report").rglob("*"))
    assert left == ["report/README.md", "report/my-notes.txt"]
    assert not (root / "build" / "quick").exists() or [
        p.name for p in (root / "build" / "quick").iterdir()
    ] == [".lock"]
    assert not (root / "build" / ".jupyter").exists()
    assert (root / "build" / "my-data.csv").read_text() == "the user's file"
    assert capsys.readouterr().err.startswith("cleaned: build/quick")


def test_clean_of_one_profile_keeps_the_other_and_the_report_readme(built):
    other = built.build_dir / "full" / "t0"
    other.mkdir(parents=True)
    assert cli.main(["--root", str(built.root), "clean", "--profile", "quick"]) == 0
    assert other.exists()
    assert store(built).completed_record("produce") is None


@pytest.mark.parametrize("command", ["render", "status"])
def test_a_malformed_run_record_is_a_message_not_a_traceback(built, command):
    run_json = store(built).root / "run.json"
    run_json.write_text('{"tasks": {"produce": ')
    outcome = run_cli(built.root, command, "--profile", "quick")
    assert outcome.returncode == 2
    line = error_line(outcome)
    assert f"{run_json} is not valid JSON" in line and "run a build to write it again" in line


@pytest.mark.parametrize(
    ("error", "fix"),
    [
        (
            OSError(errno.ENOSPC, "No space left on device", "/x/report/report.pdf"),
            "free some disk space",
        ),
        (
            PermissionError(errno.EACCES, "Permission denied", "/x/report"),
            "make /x/report writable",
        ),
        (
            NotADirectoryError(errno.ENOTDIR, "Not a directory", "/x/report"),
            "a file or directory is in the way at /x/report",
        ),
    ],
    ids=["full disk", "read-only", "a file in the way"],
)
def test_an_os_error_is_one_line_naming_the_path_and_the_fix(
    tmp_path, capsys, monkeypatch, error, fix
):
    def fail(project, args):
        raise error

    monkeypatch.setitem(cli._COMMANDS, "status", fail)
    assert cli.main(["--root", str(tmp_path), "status"]) == cli.EXIT_RENDER_FAILED
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: cannot write or read {error.filename}: ") and fix in line


def test_a_build_killed_between_the_renames_of_a_commit_gets_its_result_back(built):
    # kill -9 after the old result was moved to .trash and before the new one took its place
    good = store(built).completed_record("produce")
    trash = store(built).root / ".trash" / f"produce-{time.time_ns()}"
    trash.parent.mkdir()
    store(built).task_dir("produce").rename(trash)
    outcome = run_cli(built.root, *BUILD)
    assert outcome.returncode == 0, outcome.stderr
    assert "produce: cached" in outcome.stderr
    assert store(built).completed_record("produce") == good
    assert not trash.parent.exists()
