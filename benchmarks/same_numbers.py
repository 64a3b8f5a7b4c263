"""Does a refactoring keep the numbers? Builds the report at two revisions, each in its own
temporary copy, and compares their ``summary.json`` exactly (every metric and every check's
verdict; wall-clock timings and cache keys aside, since the code is meant to differ):

    python benchmarks/same_numbers.py 254fed9             # that commit vs the working tree
    python benchmarks/same_numbers.py 254fed9 9676914     # two commits
    python benchmarks/same_numbers.py A B --profile quick --out build/bench/same_numbers.json

Each build runs that revision's own library (``PYTHONPATH=<copy>/src``) with the installed
dependencies, in a fresh ``python -m lazy_artist`` process and an empty build folder. Exit
status 0 when the numbers are the same, 1 when any metric moved or any check flipped (they
are listed).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
WORKTREE = "worktree"  # the revision name that means the checkout as it is now
# Build metadata recorded among the metrics (when, from which code), not numbers of the study:
# listed apart, never counted as a difference.
PROVENANCE = "provenance"


def export(revision: str, root: Path) -> str:
    """The tree of ``revision`` (or the working tree) written to ``root``; its commit id."""
    root.mkdir(parents=True)
    if revision == WORKTREE:
        files = subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"],
            cwd=REPO,
            check=True,
            capture_output=True,
        ).stdout.split(b"\0")
        for name in filter(None, (f.decode() for f in files)):
            source = REPO / name
            if source.is_file():
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                (root / name).write_bytes(source.read_bytes())
        described = "working tree"
    else:
        archive = root.parent / f"{root.name}.tar"
        subprocess.run(
            ["git", "archive", "--format=tar", "-o", str(archive), revision], cwd=REPO, check=True
        )
        with tarfile.open(archive) as tar:
            tar.extractall(root, filter="data")
        archive.unlink()
        described = subprocess.run(
            ["git", "rev-parse", "--short", revision],
            cwd=REPO,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    if (REPO / "data").is_dir():  # installed data sets: read them, do not fetch again
        (root / "data").symlink_to(REPO / "data")
    return described


def build(root: Path, profile: str, extra: list[str]) -> tuple[float, Path]:
    """One cold build of ``root`` with its own library; (seconds, its summary.json)."""
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "lazy_artist", "--root", str(root), "build", "--profile", profile]
        + ["--quiet", *extra],
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - began
    summary = root / "report" / "summary.json"
    if done.returncode != 0 or not summary.is_file():
        tail = (done.stdout + done.stderr)[-3000:]
        raise SystemExit(f"the build of {root} failed (exit {done.returncode}):\n{tail}")
    return seconds, summary


def _plain(value: Any) -> Any:
    """A value JSON can hold; a metric or check present on one side only is "absent"."""
    try:
        json.dumps(value)
    except TypeError:
        return "absent"
    return value


def compare(before: Path, after: Path) -> dict[str, Any]:
    """Exact comparison: any moved metric or flipped check counts."""
    from lazy_artist.builder.changes import compare_summaries, load_summary

    changes = compare_summaries(load_summary(before), load_summary(after), rel_tol=0, abs_tol=0)
    moved = [m for m in changes.metrics if PROVENANCE not in m.metric]
    return {
        "same": not (moved or changes.checks),
        "provenance_moved": [m.metric for m in changes.metrics if PROVENANCE in m.metric],
        "metrics_moved": [
            {
                "task": m.task,
                "metric": m.metric,
                "before": _plain(m.before),
                "after": _plain(m.after),
            }
            for m in moved
        ],
        "checks_flipped": [
            {"task": c.task, "check": c.check, "before": _plain(c.before), "after": _plain(c.after)}
            for c in changes.checks
        ],
        "timings_moved": changes.timings_moved,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", help="a git revision")
    parser.add_argument(
        "after", nargs="?", default=WORKTREE, help="a git revision, or the worktree"
    )
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--set", action="append", default=[], metavar="TASK.NAME=VALUE")
    parser.add_argument("--only", nargs="+", default=None, metavar="TASK", help="these tasks")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    extra = [arg for assignment in args.set for arg in ("--set", assignment)]
    extra += ["--only", *args.only] if args.only else []
    from _report import emit

    with tempfile.TemporaryDirectory(prefix="same-numbers-") as tmp:
        sides: dict[str, Any] = {}
        for side, revision in (("before", args.before), ("after", args.after)):
            root = Path(tmp) / side
            described = export(revision, root)
            seconds, summary = build(root, args.profile, extra)
            sides[side] = {"revision": described, "seconds": round(seconds, 1), "summary": summary}
        result = compare(sides["before"]["summary"], sides["after"]["summary"])
    report = {
        "benchmark": "same_numbers",
        "profile": args.profile,
        **{side: {k: v for k, v in info.items() if k != "summary"} for side, info in sides.items()},
        **result,
    }
    emit(report, args.out)
    for row in result["metrics_moved"]:
        print(f"moved: {row['task']} {row['metric']}: {row['before']} -> {row['after']}")
    for row in result["checks_flipped"]:
        print(f"flipped: {row['task']} {row['check']}: {row['before']} -> {row['after']}")
    print("same numbers" if result["same"] else "the numbers differ", file=sys.stderr)
    return 0 if result["same"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
