"""What ``strength_check.py`` and ``targeted_search.py`` share: their command line, the model
and samples they attack, T5 full's battery plan, and the search as the battery ran it before
(every loss from the grid's bottom), which both time the battery's search against."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import torch
from min_epsilon import TARGET, make_images, make_model

from lazy_artist.attacks.battery import BatteryPlan
from lazy_artist.attacks.min_epsilon import LowestOf, lowest_of, min_epsilon, pgd_attack
from lazy_artist.attacks.pgd import PGDConfig

GRID = (0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 1.0)  # T5 full's


def parse_args(description: str, argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--n", type=int, default=25, help="samples (T5 full: 25 in its check)")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--restarts", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    return parser.parse_args(argv)


def setup(
    args: argparse.Namespace,
) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor, PGDConfig, BatteryPlan]:
    """The model, ``--n`` samples it classifies correctly, the targeted attack's base budget
    and T5 full's battery plan around it (``--threads`` set first)."""
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
    return model, images, labels, config, plan


def searched_from_the_bottom(
    model: torch.nn.Module,
    plan: BatteryPlan,
    config: PGDConfig,
    images: torch.Tensor,
    labels: torch.Tensor,
    seed: int,
    sweep_first: bool = True,
) -> LowestOf:
    """The search as it was: every loss its own search from the grid's bottom (the first
    sweeping every budget when ``sweep_first``, the others stopping at their first success),
    the lowest per sample kept."""
    searches = {
        loss: min_epsilon(
            pgd_attack(model, replace(config, loss=loss), TARGET, seed + 1000 * k),
            images,
            labels,
            plan.grid,
            plan.bisection_steps,
            sweep_all=sweep_first and k == 0,
        )
        for k, loss in enumerate(plan.losses)
    }
    return lowest_of(searches)
