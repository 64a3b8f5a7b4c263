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

import statistics
import time
from collections.abc import Callable
from typing import Any

from _report import emit
from _search_bench import parse_args, searched_from_the_bottom, setup

from lazy_artist.attacks.battery import order_statistic, raised_search, targeted_search


def timed(run: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    out = run(*args)
    return time.perf_counter() - started, out


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv)
    model, images, labels, config, plan = setup(args)
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
