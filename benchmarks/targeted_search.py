"""What does T5's targeted search cost with the second loss asked only at and below the first
loss's minima, and a raised budget asked only below the base minima? On one model and one
sample, each against what the battery ran before, timed ``--repeats`` times, interleaved, in
one run (medians compared; the medians of the minimum epsilons are printed, they should agree):

- search: ``battery.targeted_search`` (the CE sweep and bisection, then margin at and below
  each CE minimum) vs the CE sweep and a margin search of its own from the grid's bottom;
- raised: ``battery.raised_search`` at ``strength_factor`` x steps and restarts, below the base
  minima, vs the whole search again at that budget (what a converged raised model re-ran).

    python benchmarks/targeted_search.py --n 25 --out build/bench/targeted_search.json

The model is the study's cheater architecture trained for a few seconds on synthetic strokes
(as in ``min_epsilon.py``), or ``--checkpoint``. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from _report import emit
from min_epsilon import TARGET, make_images, make_model
from strength_check import GRID

from lazy_artist.attacks.battery import (
    BatteryPlan,
    order_statistic,
    raised_search,
    targeted_search,
)
from lazy_artist.attacks.min_epsilon import LowestOf, lowest_of, min_epsilon, pgd_attack
from lazy_artist.attacks.pgd import PGDConfig


def searched_from_the_bottom(
    model, plan: BatteryPlan, config: PGDConfig, images, labels, seed: int
) -> LowestOf:
    """The search as it was: every loss its own search (the first sweeping every budget, the
    others stopping at their first success), the lowest per sample kept."""
    searches = {
        loss: min_epsilon(
            pgd_attack(model, replace(config, loss=loss), TARGET, seed + 1000 * k),
            images,
            labels,
            plan.grid,
            plan.bisection_steps,
            sweep_all=k == 0,
        )
        for k, loss in enumerate(plan.losses)
    }
    return lowest_of(searches)


def timed(run: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    out = run(*args)
    return time.perf_counter() - started, out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=25, help="samples (T5 full: 100)")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--restarts", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = make_model(args.checkpoint, args.seed)
    images, labels = make_images(model, args.n, args.seed)
    config = PGDConfig(
        steps=args.steps, restarts=args.restarts, schedule="cosine", target_confidence=0.9
    )
    plan = BatteryPlan(
        targeted=config,
        untargeted=PGDConfig(steps=args.steps, restarts=args.restarts, loss="margin"),
        target_class=TARGET,
        grid=GRID,
        untargeted_epsilons=(0.0, 0.1),
        bisection_steps=6,
        strength_factor=2,
        n_strength_samples=args.n,
        report_epsilon=0.05,
        visible_epsilon=0.4,
        extra_losses=("margin",),
    )
    raised = config.stronger(plan.strength_factor)
    seconds: dict[str, list[float]] = {k: [] for k in ("below", "bottom", "raised", "rerun")}
    medians: dict[str, float] = {}
    for repeat in range(args.repeats):
        seed = args.seed + 10 * repeat
        base = (model, plan, config, images, labels, seed)
        more = (model, plan, raised, images, labels)
        took, new = timed(targeted_search, *base)
        seconds["below"].append(took)
        took, old = timed(searched_from_the_bottom, *base)
        seconds["bottom"].append(took)
        took, (joined, _) = timed(raised_search, *more, new.search, seed + 1)
        seconds["raised"].append(took)
        took, rerun = timed(searched_from_the_bottom, *more, seed + 1)
        seconds["rerun"].append(took)
        for name, found in (
            ("below", new.search),
            ("bottom", old.search),
            ("raised", joined),
            ("rerun", rerun.search),
        ):
            medians[name] = float(order_statistic(found.epsilon, 0.5))
    median = {name: statistics.median(values) for name, values in seconds.items()}
    return emit(
        {
            "benchmark": "targeted_search",
            "n_samples": args.n,
            "steps": args.steps,
            "restarts": args.restarts,
            "threads": args.threads,
            "checkpoint": str(args.checkpoint) if args.checkpoint else None,
            "median_min_eps": medians,
            "seconds_median": median,
            "cost_ratio_search_below_vs_bottom": median["below"] / median["bottom"],
            "cost_ratio_raised_below_vs_rerun": median["raised"] / median["rerun"],
            "seconds": seconds,
        },
        args.out,
    )


if __name__ == "__main__":
    main()
