"""What would N workers give? An estimate from one measured build, for machines this one is
not: each task's parallel units (T4's training runs, T5's batteries, T7's fits), timed in the
build with one thread each, are scheduled longest-first onto N workers; the rest of the task's
measured wall time (loading, the serial cells, drawing) is kept as it was.

    python benchmarks/scale_estimate.py --root . --profile full --workers 1 2 4 8

    estimate(task, N) = (measured wall - LPT(units, measured workers)) + LPT(units, N)

It is a projection, not a measurement: it assumes a unit takes as long on a bigger machine as
it did here (no faster cores, no slower memory under more workers) and that tasks run one
after another (the builder can also overlap independent tasks). Prints one JSON line and a
table.
"""

from __future__ import annotations

import argparse
import heapq
import json
from pathlib import Path
from typing import Any

from _report import emit


def makespan(units: list[float], workers: int) -> float:
    """Longest-processing-time-first list scheduling of ``units`` onto ``workers``."""
    if not units:
        return 0.0
    loads = [0.0] * max(1, workers)
    heapq.heapify(loads)
    for seconds in sorted(units, reverse=True):
        heapq.heappush(loads, heapq.heappop(loads) + seconds)
    return max(loads)


def t4_units(build: Path) -> list[float]:
    """Every memoised T4 run's wall seconds (grid, tuning draws and sweep alike)."""
    units = []
    for path in sorted((build / ".memo" / "t4").glob("*/*/result.json")):
        record = json.loads(path.read_text())
        result = record.get("result", record)
        if isinstance(result.get("seconds"), (int, float)):
            units.append(float(result["seconds"]))
    return units


def metric_units(build: Path, task: str, metric: str) -> list[float]:
    path = build / task / "results.json"
    if not path.is_file():
        return []
    values = json.loads(path.read_text())["metrics"].get(metric) or {}
    return [float(v) for v in values.values() if isinstance(v, (int, float))]


UNITS = {
    "t4": lambda build: t4_units(build),
    "t5": lambda build: metric_units(build, "t5", "battery_seconds"),
    "t7": lambda build: metric_units(build, "t7", "train_seconds"),
}


def estimate(
    summary: dict[str, Any], build: Path, measured_workers: int, workers: list[int]
) -> dict[str, Any]:
    tasks: dict[str, Any] = {}
    for name, entry in summary["tasks"].items():
        wall = entry.get("runtime_s")
        if not isinstance(wall, (int, float)):
            continue
        units = UNITS[name](build) if name in UNITS else []
        serial_part = max(0.0, wall - makespan(units, measured_workers))
        tasks[name] = {
            "measured_s": round(wall, 1),
            "units": len(units),
            "unit_seconds_total": round(sum(units), 1),
            "estimate_s": {str(n): round(serial_part + makespan(units, n), 1) for n in workers},
        }
    totals = {
        str(n): round(sum(t["estimate_s"][str(n)] for t in tasks.values()), 1) for n in workers
    }
    return {"tasks": tasks, "total_estimate_s": totals}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("."))
    parser.add_argument("--profile", default="full")
    parser.add_argument("--measured-workers", type=int, default=2, help="workers of the build")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    summary = json.loads((args.root / "report" / "summary.json").read_text())
    if summary.get("profile") != args.profile:
        raise SystemExit(f"report/summary.json is of profile {summary.get('profile')!r}")
    result = estimate(
        summary, args.root / "build" / args.profile, args.measured_workers, args.workers
    )
    report = emit(
        {
            "benchmark": "scale_estimate",
            "profile": args.profile,
            "measured_workers": args.measured_workers,
            **result,
        },
        args.out,
    )
    header = "task  measured  " + "  ".join(f"N={n:<5}" for n in args.workers)
    print(header)
    for name, row in result["tasks"].items():
        cells = "  ".join(f"{row['estimate_s'][str(n)] / 60:6.1f}m" for n in args.workers)
        print(f"{name:<5} {row['measured_s'] / 60:7.1f}m  {cells}")
    totals = "  ".join(f"{result['total_estimate_s'][str(n)] / 60:6.1f}m" for n in args.workers)
    print(f"all   {sum(r['measured_s'] for r in result['tasks'].values()) / 60:7.1f}m  {totals}")
    return report


if __name__ == "__main__":
    main()
