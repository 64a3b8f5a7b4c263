"""Does running T4's training runs concurrently pay? Two measurements, in one session so the ratios
compare like with like:

  (i)  T4 alone (``--only t4 --force``, its run memo emptied before each build so every run
       trains) in a temporary copy of the checkout: serial (``--set t4.jobs=1``) against the
       default (``jobs=0``, one single-threaded run per core). T4's own runtime from the
       build summary, so T0 (built once, before) does not count.
  (ii) one epoch of cheater_cnn ERM on a full-size synthetic canvas: 1 run in this process on
       1 thread (what every run uses, serial or not), the same run on all cores' threads (how
       runs trained before the executor pinned the count), and one run per core in parallel.

    python benchmarks/t4_parallel.py --profile quick --out build/bench/t4_parallel.json

Prints one JSON line (with the machine and its load: a shared machine makes timings noisy).
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from _report import emit  # noqa: E402
from build_timings import lazy_artist, load_average, machine, make_checkout  # noqa: E402


def t4_seconds(root: Path, profile: str, jobs: int | None) -> float:
    """T4's runtime in one forced build with an empty run memo (every run trains)."""
    for memo in (root / "build").glob("**/.memo"):
        shutil.rmtree(memo)
    extra = [] if jobs is None else ["--set", f"t4.jobs={jobs}"]
    _, summary = lazy_artist(
        root, "build", "--profile", profile, "--quiet", "--only", "t4", "--force", *extra
    )
    task = (summary or {}).get("tasks", {}).get("t4", {})
    if task.get("status") != "complete" or task.get("metrics", {}).get("runs_reused"):
        raise SystemExit(
            f"T4 (jobs={jobs}) did not train every run: status {task.get('status')!r}, "
            f"runs reused {task.get('metrics', {}).get('runs_reused')!r}"
        )
    return float(task["runtime_s"])


def grid_comparison(profile: str, repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="t4-parallel-") as tmp:
        root = Path(tmp)
        make_checkout(root)
        lazy_artist(root, "build", "--profile", profile, "--quiet", "--only", "t0")
        serial, default = [], []
        for _ in range(repeats):  # interleaved: drifts in machine load hit both alike
            serial.append(t4_seconds(root, profile, 1))
            default.append(t4_seconds(root, profile, None))
    best_serial, best_default = min(serial), min(default)
    return {
        "profile": profile,
        "t4_serial_s": serial,
        "t4_default_s": default,
        "speedup_default_vs_serial": round(best_serial / best_default, 3),
    }


def epoch_comparison(n_train: int) -> dict[str, Any]:
    from train_throughput import synthetic_canvas

    from lazy_artist.methods.executor import RunRequest, fit_many
    from lazy_artist.methods.recipes import RECIPES
    from lazy_artist.methods.run import fit_recipe
    from lazy_artist.parallel import available_cores, pinned_threads

    canvas = synthetic_canvas(n_train)
    recipe = dataclasses.replace(RECIPES["cheater_cnn"], epochs=1)
    cores = available_cores()
    canvases = {"c": canvas}

    def one_run(threads: int, seed: int = 0) -> float:
        with pinned_threads(threads):  # fit_recipe directly: fit_many would pin ITEM_THREADS
            return fit_recipe("erm", canvas, recipe, seed)[1].seconds

    for threads in (1, cores):  # warm-up: kernel selection and allocator, not measured
        one_run(threads, seed=9)
    pinned = one_run(1)  # what every run uses now, serial or parallel
    threaded = one_run(cores)  # how a run trained before its thread count was pinned
    requests = [RunRequest("erm", "c", recipe, s) for s in range(cores)]
    started = time.perf_counter()
    parallel = fit_many(requests, canvases, jobs=cores, executor="local")
    wall = time.perf_counter() - started
    slowest = max(result.seconds for _, result in parallel)
    return {
        "n_train": n_train,
        "cores": cores,
        "one_run_1_thread_s": round(pinned, 2),
        f"one_run_{cores}_threads_s": round(threaded, 2),
        f"{cores}_runs_{cores}_workers_run_s": round(slowest, 2),
        f"{cores}_runs_{cores}_workers_wall_s": round(wall, 2),  # + worker start, canvas copy
        # Runs per second of ``cores`` single-threaded workers against one run at a time.
        "throughput_parallel_vs_1_thread": round(cores * pinned / slowest, 3),
        f"throughput_parallel_vs_{cores}_threads": round(cores * threaded / slowest, 3),
        "start_overhead_s": round(wall - slowest, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--epoch-n", type=int, default=50000, help="0 skips part (ii)")
    parser.add_argument("--skip-grid", action="store_true", help="only part (ii)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    report: dict[str, Any] = {"machine": machine(), "load_before": load_average()}
    if not args.skip_grid:
        report["t4"] = grid_comparison(args.profile, args.repeats)
    if args.epoch_n:
        report["epoch"] = epoch_comparison(args.epoch_n)
    report["load_after"] = load_average()
    emit(report, args.out)


if __name__ == "__main__":
    main()
