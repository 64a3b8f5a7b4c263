"""T5's attack battery on every model, the models at once in worker processes.

Each model's battery is independent (its own seeds, its own inputs), so the models are mapped
over :func:`lazy_artist.parallel.process_map`: ``jobs`` single-threaded workers (0 = one per
core), the same numbers for any ``jobs`` (every battery runs with the pinned thread count, in a
worker or in this process). A CUDA device runs them one by one in this process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from lazy_artist.attacks.battery import BatteryPlan, BatteryResult, run_battery
from lazy_artist.parallel import process_map, resolve_workers


@dataclass(frozen=True)
class BatteryJob:
    """One model's battery: its network, its view of the fair samples, its seed."""

    name: str
    network: nn.Module
    targeted_images: torch.Tensor
    targeted_labels: torch.Tensor
    untargeted_images: torch.Tensor
    untargeted_labels: torch.Tensor
    seed: int
    strength: bool = True  # run the convergence (strength) re-runs on this model


def _run_one(job: BatteryJob, plan: BatteryPlan, device: str) -> BatteryResult:
    network = job.network.to(device).eval()

    def on(tensor: torch.Tensor) -> torch.Tensor:
        return tensor.to(device)

    return run_battery(
        network,
        on(job.targeted_images),
        on(job.targeted_labels),
        on(job.untargeted_images),
        on(job.untargeted_labels),
        plan,
        seed=job.seed,
        strength=job.strength,
    )


def run_batteries(
    batteries: Sequence[BatteryJob],
    plan: BatteryPlan,
    jobs: int = 0,
    device: torch.device | str = "cpu",
    log: Callable[[str], None] = print,
) -> dict[str, BatteryResult]:
    """Every job's battery result by model name, in job order."""
    names = [job.name for job in batteries]
    if len(set(names)) != len(names):
        raise ValueError(f"battery jobs repeat a model name: {names}")
    workers = resolve_workers(jobs, len(batteries))
    if torch.device(device).type == "cuda":
        workers = 1  # one process owns the GPU
    log(f"attacking {len(batteries)} model(s) on {workers} worker(s)")
    results = {}
    mapped = process_map(_run_one, batteries, workers, args=(plan, str(device)))
    for job, result in zip(batteries, mapped, strict=True):
        results[job.name] = result
        log(f"  {job.name}: battery done in {result.seconds:.0f} s")
    return results
