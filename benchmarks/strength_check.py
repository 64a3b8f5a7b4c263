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

import statistics
import time

import numpy as np
from _report import emit
from _search_bench import parse_args, searched_from_the_bottom, setup

from lazy_artist.attacks.battery import order_statistic, stronger_search


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv)
    model, images, labels, base_config, plan = setup(args)
    # The base minima (default budget); "whole" below is the check as it was: the same search
    # again at the stronger budget, every loss from the grid's bottom.
    base = searched_from_the_bottom(
        model, plan, base_config, images, labels, args.seed, sweep_first=False
    ).search.epsilon
    stronger = base_config.stronger(plan.strength_factor)
    seconds: dict[str, list[float]] = {"below": [], "whole": []}
    medians: dict[str, float] = {}
    for repeat in range(args.repeats):
        for name in ("below", "whole"):
            started = time.perf_counter()
            if name == "below":
                found = stronger_search(model, plan, stronger, images, labels, base, repeat)
            else:
                found = searched_from_the_bottom(
                    model, plan, stronger, images, labels, 1000 + repeat, sweep_first=False
                ).search
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
