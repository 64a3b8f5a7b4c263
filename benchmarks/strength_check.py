"""What does T5's convergence check cost? On one model and one sample, after the base search:
the stronger attack asked only below each sample's minimum (``stronger_search``, what the
battery runs) against a whole minimum-epsilon search at the stronger budget from the bottom
of the grid (what it ran before). Both are timed ``--repeats`` times, interleaved, in one run;
the medians are compared, and both checks' medians are printed (they should agree).

    python benchmarks/strength_check.py --n 25 --out build/bench/strength_check.json

The model is the study's cheater architecture trained for a few seconds on synthetic strokes
(as in ``min_epsilon.py``), or ``--checkpoint``. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from _report import emit
from min_epsilon import TARGET, make_images, make_model

from lazy_artist.attacks.battery import BatteryPlan, order_statistic, stronger_search
from lazy_artist.attacks.min_epsilon import lowest_of, min_epsilon, pgd_attack
from lazy_artist.attacks.pgd import PGDConfig

GRID = (0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 1.0)  # T5 full's


def whole_search(model, plan: BatteryPlan, config: PGDConfig, images, labels, seed: int):
    """The check as it was: the search again at ``config``, every loss, from the grid's bottom."""
    searches = {
        loss: min_epsilon(
            pgd_attack(model, replace(config, loss=loss), TARGET, seed + k),
            images,
            labels,
            plan.grid,
            plan.bisection_steps,
            sweep_all=False,
        )
        for k, loss in enumerate(plan.losses)
    }
    return lowest_of(searches).search


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=25, help="samples (T5 full: 25)")
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
    base_config = PGDConfig(
        steps=args.steps,
        restarts=args.restarts,
        schedule="cosine",
        loss="ce",
        target_confidence=0.9,
    )
    plan = BatteryPlan(
        targeted=base_config,
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
    base = whole_search(model, plan, base_config, images, labels, args.seed).epsilon
    stronger = base_config.stronger(plan.strength_factor)
    seconds: dict[str, list[float]] = {"below": [], "whole": []}
    medians: dict[str, float] = {}
    for repeat in range(args.repeats):
        for name in ("below", "whole"):
            started = time.perf_counter()
            if name == "below":
                found = stronger_search(model, plan, stronger, images, labels, base, repeat)
            else:
                found = whole_search(model, plan, stronger, images, labels, 1000 + repeat)
            seconds[name].append(time.perf_counter() - started)
            medians[name] = float(order_statistic(found.epsilon, 0.5))
    below, whole = (statistics.median(seconds[name]) for name in ("below", "whole"))
    return emit(
        {
            "benchmark": "strength_check",
            "n_samples": args.n,
            "steps": args.steps,
            "restarts": args.restarts,
            "strength_factor": plan.strength_factor,
            "threads": args.threads,
            "median_min_eps_base": float(order_statistic(base, 0.5)),
            "median_min_eps_stronger": medians,
            "seconds_below": below,
            "seconds_whole_search": whole,
            "cost_ratio_below_vs_whole": below / whole,
            "unbroken_base": int(np.isinf(base).sum()),
            "seconds": seconds,
        },
        args.out,
    )


if __name__ == "__main__":
    main()
