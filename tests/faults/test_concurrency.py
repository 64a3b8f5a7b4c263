"""One build per profile at a time: a second waits (saying for whom) or refuses; each build
stages in its own directory; a lock of a dead process blocks nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from lazy_artist.builder.lock import BuildLock, BuildLockedError, build_lock, release_all
from lazy_artist.builder.store import BuildStore
from tests.builder.conftest import make_fixture_project
from tests.faults._fixture_cli import run_cli, start_cli

HOLD = """
import sys, time
from lazy_artist.builder.lock import BuildLock
BuildLock(sys.argv[1]).acquire(command="the holder")
print("held", flush=True)
time.sleep(60)
"""


@pytest.fixture
def holder(tmp_path):
    """Another process holding the lock of ``tmp_path / 'quick'``."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path / "quick")], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "held"
    yield process
    process.kill()
    process.wait()


def test_a_held_lock_refuses_naming_the_holder_then_frees_when_it_dies(tmp_path, holder):
    lock = BuildLock(tmp_path / "quick")
    with pytest.raises(
        BuildLockedError, match=rf"in use by build pid {holder.pid} \(started .*the holder"
    ):
        lock.acquire(wait=False)
    said = []
    started = time.monotonic()
    with pytest.raises(BuildLockedError, match=f"build pid {holder.pid}"):
        lock.acquire(timeout_s=0.6, say=said.append)
    assert time.monotonic() - started >= 0.6
    assert len(said) == 1 and said[0].startswith(f"waiting for build pid {holder.pid} (started ")
    assert said[0].endswith("to finish")

    holder.kill()  # a dead holder: the kernel dropped its flock
    holder.wait()
    lock.acquire(wait=False)
    record = json.loads((tmp_path / "quick" / ".lock").read_text())
    assert record["pid"] != holder.pid and record["started_at"]
    lock.release()
    assert (tmp_path / "quick" / ".lock").read_text() == "", "no stale holder is left named"


def test_the_lock_is_reentrant_within_a_process_and_released_by_release_all(tmp_path):
    first = build_lock(tmp_path / "quick", wait=False)
    assert build_lock(tmp_path / "quick", wait=False) is first
    release_all()
    assert not first.held
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from lazy_artist.builder.lock import BuildLock; "
            "BuildLock(sys.argv[1]).acquire(wait=False)",
            str(tmp_path / "quick"),
        ],
        capture_output=True,
        text=True,
    )
    assert probe.returncode == 0, probe.stderr


def build_argv(*extra):
    return ("build", "--profile", "quick", "--only", "produce", "--no-render", "--quiet", *extra)


def wait_for_staging(store: BuildStore, process) -> None:
    deadline = time.monotonic() + 120
    while not store.staging_dirs("produce"):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the first build never started its notebook"
        time.sleep(0.1)


def test_a_second_build_waits_for_the_first_and_the_result_is_one_run(tmp_path):
    project = make_fixture_project(tmp_path / "project")
    store = BuildStore.for_profile(project.build_dir, "quick")
    first = start_cli(
        project.root, *build_argv("--set", "produce.sleep_s=6", "--set", "produce.value=4")
    )
    try:
        wait_for_staging(store, first)
        (first_staging,) = store.staging_dirs("produce")
        second = run_cli(project.root, *build_argv("--set", "produce.value=5"))
        first_out, first_err = first.communicate(timeout=120)
    finally:
        first.kill()
    assert first.returncode == 0, first_err
    assert second.returncode == 0, second.stderr
    assert f"waiting for build pid {first.pid} (started " in second.stderr
    # The second ran after the first committed: its staging was its own, and the committed
    # task is the second's run, whole: results.json, task.json and hashes agree.
    assert f"-{first.pid}-" in first_staging.parent.name
    record = store.completed_record("produce")
    results = json.loads((store.task_dir("produce") / "results.json").read_text())
    assert record["params"]["value"] == 5 and results["metrics"]["value"] == 5
    assert (store.task_dir("produce") / "artefacts" / "value.txt").read_text() == "5"
    assert store.verify("produce", record) is None
    assert not store.staging_dirs("produce")


REFUSING = {
    "build": build_argv("--no-wait"),
    "run": ("run", "produce", "--profile", "quick", "--no-render", "--no-wait"),
    "render": ("render", "--profile", "quick", "--no-wait"),
    "clean": ("clean", "--profile", "quick", "--no-wait"),
}


def test_with_no_wait_every_writing_command_refuses_in_one_line(tmp_path):
    project = make_fixture_project(tmp_path / "project")
    assert run_cli(project.root, *build_argv()).returncode == 0  # a run.json for render
    store = BuildStore.for_profile(project.build_dir, "quick")
    good = store.completed_record("produce")
    # Sleeps far longer than the four refused commands take on a loaded machine; killed below.
    first = start_cli(project.root, *build_argv("--force", "--set", "produce.sleep_s=900"))
    try:
        wait_for_staging(store, first)
        refused = {name: run_cli(project.root, *argv) for name, argv in REFUSING.items()}
        assert first.poll() is None, "the first build must still be running"
    finally:
        first.kill()
        first.wait()
    for name, outcome in refused.items():
        assert outcome.returncode == 2, (name, outcome.stderr)
        lines = outcome.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (name, lines)
        assert f"in use by build pid {first.pid}" in lines[0], name
    assert store.completed_record("produce") == good, "the refused commands touched nothing"


def test_the_staging_of_a_dead_build_is_cleaned_when_the_next_takes_the_lock(tmp_path):
    project = make_fixture_project(tmp_path / "project")
    store = BuildStore.for_profile(project.build_dir, "quick")
    dead = store.root / ".staging" / "20260101T000000-999999-000001" / "produce"
    dead.mkdir(parents=True)
    (dead / "half.txt").write_text("from a killed build")
    assert run_cli(project.root, *build_argv()).returncode == 0
    assert not dead.exists() and not store.staging_dirs("produce")
    assert store.completed_record("produce") is not None
