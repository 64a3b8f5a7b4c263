"""How fast is regenerating the report? Times, in a temporary copy of the checkout (the repo's own
build/ is never touched):

  (i)   a cold build (empty cache), per task and in all;
  (ii)  a rebuild with nothing changed (everything cached, the report re-rendered);
  (iii) a rebuild after a template-only change (no notebook may run), and ``render`` alone;
  (iv)  a rebuild after editing one task's notebook (that task and its dependants re-run);
  (v)   training throughput of the T4 trainer against a minimal plain PyTorch loop
        (``benchmarks/train_throughput.py``).

    python benchmarks/build_timings.py --out build/bench/build_timings.json

Every build is a fresh ``python -m lazy_artist`` process, as a user runs it, so interpreter and
import time are included. Writes one JSON (with the machine it ran on and its load, since
timings on a shared machine are noisy) and prints a short table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

# What a checkout needs to build the report; the library is the installed package.
CHECKOUT_PARTS = ("analyses", "templates", "references")
TEMPLATE_EDIT = "\nA sentence added by the build-timings benchmark.\n"
# The targets: a no-change rebuild under 5% of a cold build; a template-only change
# re-rendered "in seconds" (taken as under 30 s, with no notebook run).
NO_CHANGE_MAX_SHARE = 0.05
TEMPLATE_ONLY_MAX_S = 30.0


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return {
        "cpu": cpu,
        "cores": cores,
        "platform": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "python": platform.python_version(),
    }


def load_average() -> list[float] | None:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def make_checkout(root: Path) -> None:
    for part in CHECKOUT_PARTS:
        shutil.copytree(REPO / part, root / part)
    if (REPO / "data").is_dir():  # an existing MNIST folder: read it, do not download again
        (root / "data").symlink_to(REPO / "data")


def lazy_artist(root: Path, *args: str) -> tuple[float, dict[str, Any] | None]:
    """Run the CLI in a fresh process; returns its wall time and the summary it wrote."""
    command = [sys.executable, "-m", "lazy_artist", "--root", str(root), *args]
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    # 1: a task failed; its status is in the summary and the timings still mean something.
    if completed.returncode not in (0, 1):
        raise SystemExit(
            f"{' '.join(args)} failed ({completed.returncode}):\n{completed.stderr[-4000:]}"
        )
    summary = root / "report" / "summary.json"
    return seconds, json.loads(summary.read_text()) if summary.exists() else None


def statuses(summary: dict[str, Any]) -> dict[str, str]:
    """Statuses of the tasks this build selected (with --only, the rest are "not run")."""
    return {
        name: task["status"]
        for name, task in summary["tasks"].items()
        if task["status"] != "not run"
    }


def build(root: Path, profile: str, only: list[str]) -> tuple[float, dict[str, Any]]:
    selection = ["--only", *only] if only else []
    seconds, summary = lazy_artist(root, "build", "--profile", profile, "--quiet", *selection)
    assert summary is not None
    return seconds, summary


def task_notebook(task: str) -> str:
    from lazy_artist.study import STUDY_TASKS

    return STUDY_TASKS[task].notebook


def measure(root: Path, profile: str, invalidate: str, only: list[str]) -> dict[str, Any]:
    results: dict[str, Any] = {}

    cold_s, summary = build(root, profile, only)
    results["cold"] = {
        "wall_s": round(cold_s, 2),
        "tasks_s": {
            name: task["runtime_s"]
            for name, task in summary["tasks"].items()
            if task["status"] != "not run"
        },
        "statuses": statuses(summary),
    }

    no_change_s, summary = build(root, profile, only)
    results["no_change"] = {
        "wall_s": round(no_change_s, 2),
        "share_of_cold": round(no_change_s / cold_s, 4),
        "statuses": statuses(summary),
    }

    template = root / "templates" / "report.qmd.j2"  # rendered whichever tasks are built
    template.write_text(template.read_text() + TEMPLATE_EDIT)
    template_s, summary = build(root, profile, only)
    rendered = TEMPLATE_EDIT.strip() in (root / "report" / "report.html").read_text()
    render_s, _ = lazy_artist(root, "render", "--profile", profile)
    results["template_only"] = {
        "wall_s": round(template_s, 2),
        "render_only_s": round(render_s, 2),
        "statuses": statuses(summary),
        "edit_in_report": rendered,
    }

    notebook = root / task_notebook(invalidate)
    notebook.write_text(notebook.read_text() + "\n# %%\n# an edit by the build-timings benchmark\n")
    one_task_s, summary = build(root, profile, only)
    results["one_task"] = {
        "task": invalidate,
        "wall_s": round(one_task_s, 2),
        "re_ran": [name for name, status in statuses(summary).items() if status != "cached"],
        "tasks_s": {
            name: task["runtime_s"]
            for name, task in summary["tasks"].items()
            if task["status"] not in ("cached", "not run")
        },
    }
    return results


def verdicts(results: dict[str, Any]) -> dict[str, bool]:
    cached = {"cached"}
    return {
        "no_change_under_5pct_of_cold": results["no_change"]["share_of_cold"] < NO_CHANGE_MAX_SHARE,
        "no_change_ran_nothing": set(results["no_change"]["statuses"].values()) <= cached,
        "template_only_ran_no_notebook": set(results["template_only"]["statuses"].values())
        <= cached,
        "template_only_in_seconds": results["template_only"]["wall_s"] < TEMPLATE_ONLY_MAX_S
        and results["template_only"]["edit_in_report"],
    }


def throughput(n: int, epochs: int, repeats: int) -> dict[str, Any]:
    import train_throughput

    return train_throughput.main(
        ["--n", str(n), "--epochs", str(epochs), "--repeats", str(repeats)]
    )


def table(report: dict[str, Any]) -> str:
    builds = report["builds"]
    lines = [
        f"build timings, {report['profile']} profile, on {report['machine']['cpu']} "
        f"({report['machine']['cores']} cores; load {report['load_before']} -> {report['load_after']})",
        f"{'what':<44}{'seconds':>10}",
    ]

    def row(what: str, seconds: float) -> None:
        lines.append(f"{what:<44}{seconds:>10.1f}")

    row("(i) cold build", builds["cold"]["wall_s"])
    for name, seconds in builds["cold"]["tasks_s"].items():
        row(f"      {name} notebook", seconds or 0.0)
    share = 100 * builds["no_change"]["share_of_cold"]
    row(f"(ii) no-change rebuild ({share:.1f}% of cold)", builds["no_change"]["wall_s"])
    row("(iii) template-only rebuild", builds["template_only"]["wall_s"])
    row("      render alone", builds["template_only"]["render_only_s"])
    one = builds["one_task"]
    row(f"(iv) {one['task']} edited, re-ran {','.join(one['re_ran'])}", one["wall_s"])
    if report.get("throughput"):
        speed = report["throughput"]
        lines.append(
            f"(v) training: trainer {speed['trainer_images_per_s']:.0f} img/s, plain loop "
            f"{speed['plain_images_per_s']:.0f} img/s (ratio {speed['ratio']:.2f}); "
            f"{speed['precision']} + channels-last {speed['precision_layout_speedup']:.2f}x "
            "a naive fp32 loop"
        )
    lines.append(
        "targets: "
        + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in report["verdicts"].items())
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="quick", help="build profile to time (default quick)")
    parser.add_argument(
        "--invalidate", default="t1", help="task whose notebook (iv) edits (default t1)"
    )
    parser.add_argument(
        "--only", nargs="+", default=[], metavar="TASK", help="build only these (and their needs)"
    )
    parser.add_argument("--throughput-n", type=int, default=10_000, help="images for (v)")
    parser.add_argument("--throughput-epochs", type=int, default=1)
    parser.add_argument("--throughput-repeats", type=int, default=3)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--keep", type=Path, default=None, help="build here and keep it")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "bench" / "build_timings.json")
    args = parser.parse_args(argv)

    from lazy_artist.builder.tasks import PROFILES
    from lazy_artist.study import STUDY_TASKS

    if args.profile not in PROFILES:
        parser.error(f"unknown profile {args.profile!r}: choose one of {', '.join(PROFILES)}")
    for task in (args.invalidate, *args.only):
        if task not in STUDY_TASKS.tasks:
            parser.error(f"unknown task {task!r}: known tasks are {', '.join(STUDY_TASKS.names())}")

    report: dict[str, Any] = {
        "benchmark": "build_timings",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "profile": args.profile,
        "only": args.only or "every task",
        "machine": machine(),
        "load_before": load_average(),
    }
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="lazy-artist-bench-"))
    try:
        root = workdir / "checkout"
        if root.exists():
            shutil.rmtree(root)
        make_checkout(root)
        report["builds"] = measure(root, args.profile, args.invalidate, args.only)
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    report["verdicts"] = verdicts(report["builds"])
    if not args.skip_throughput:
        report["throughput"] = throughput(
            args.throughput_n, args.throughput_epochs, args.throughput_repeats
        )
    report["load_after"] = load_average()

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    print(f"written: {args.out}")
    return report


if __name__ == "__main__":
    main()
