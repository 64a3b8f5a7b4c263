"""The one training loop: seeded ``randperm`` batches, one update per batch, per-epoch
evaluation and the best epoch per selection rule.

Both trainers run it, with a registered algorithm's ``update`` as the step:
:func:`lazy_artist.training.train_classifier` over in-memory arrays (T7's classifiers, ERM on
grayscale images) and :func:`lazy_artist.methods.trainer.train_algorithm` over the canvas
(every T4 method; ERM is one of them). Which data a batch holds and what an epoch is scored
on are theirs; the loop owns the order of
batches, the per-epoch history, the progress bar and the checkpoint each rule keeps (the
highest score, the earliest epoch on ties). Selection reads only what the caller's scores
read: the trainers refuse any rule that would read the hard test set.
"""

from __future__ import annotations

import copy
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from tqdm import tqdm

# One batch's update: given the batch's indices and the epoch, each loss term's contribution
# to the epoch mean as (sum, count), e.g. {"loss": (loss * len(idx), len(idx))}.
Step = Callable[[torch.Tensor, int], Mapping[str, tuple[float, float]]]
# Fills an epoch's history row with its scores (``acc_<split>``); False: not evaluated.
Evaluate = Callable[[int, dict[str, Any]], bool]


@dataclass(frozen=True)
class Kept:
    """The epoch a selection rule keeps: its score, its number and the weights then."""

    score: float
    epoch: int
    state: dict[str, torch.Tensor]


@dataclass(frozen=True)
class LoopResult:
    history: list[dict[str, Any]]  # per epoch: epoch, losses (means), seconds, the scores
    kept: dict[str, Kept]  # per rule; only evaluated epochs compete
    train_seconds: float  # time in the steps only


def refuse_hard_test(splits: Sequence[str], what: str) -> None:
    """Stop a selection rule that names the hard test set before any training starts."""
    if any("hard" in split.lower() for split in splits):
        raise ValueError(f"{what}: the hard test set must never be used for selection")


def selection_rule_text(splits: Sequence[str], every_epoch: bool = True) -> str:
    """The selection rule in words, as results and the report state it."""
    never = "the hard test set is never used for selection"
    if not every_epoch:
        return f"last epoch (no per-epoch evaluation); {never}"
    what = " and ".join(f"'{split}'" for split in splits)
    mean = "mean accuracy on" if len(splits) > 1 else "accuracy on"
    return f"epoch with the highest {mean} {what} (earliest on ties); {never}"


def epoch_batches(n: int, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """One epoch's batches of indices: a seeded ``randperm`` cut into consecutive slices (views,
    no copies); the last one may be short."""
    return torch.randperm(n, generator=generator).split(batch_size)


def progress_bar(batches: Any, desc: str, progress: bool) -> tqdm:
    """The throttled per-epoch tqdm bar every training loop shows on stderr."""
    return tqdm(
        batches,
        desc=desc,
        file=sys.stderr,
        ascii=True,
        mininterval=1.0,
        leave=True,
        disable=not progress,
    )


def run_epochs(
    network: torch.nn.Module,
    n: int,
    batch_size: int,
    epochs: int,
    generator: torch.Generator,
    step: Step,
    evaluate: Evaluate,
    rules: Mapping[str, Callable[[dict[str, Any]], float]],
    train_mode: Callable[[], Any],
    name: str = "",
    progress: bool = True,
    report: Callable[[dict[str, Any]], str] | None = None,
) -> LoopResult:
    """``epochs`` passes over ``n`` training items in ``batch_size`` batches drawn from
    ``generator``; after each, ``evaluate`` scores the epoch and every rule of ``rules`` keeps
    a copy of ``network``'s weights at its best evaluated epoch. ``train_mode`` is called at
    the start of every epoch (evaluation may leave eval mode on); ``report(row)`` is printed
    after each epoch when ``progress``."""
    history: list[dict[str, Any]] = []
    kept: dict[str, Kept] = {}
    train_seconds = 0.0
    label = f"{name} epoch" if name else "epoch"
    for epoch in range(1, epochs + 1):
        train_mode()
        epoch_start = time.perf_counter()
        sums: dict[str, float] = defaultdict(float)
        counts: dict[str, float] = defaultdict(float)
        batches = epoch_batches(n, batch_size, generator)
        for idx in progress_bar(batches, f"{label} {epoch}/{epochs}", progress):
            for key, (total, count) in step(idx, epoch).items():
                sums[key] += total
                counts[key] += count
        seconds = time.perf_counter() - epoch_start
        train_seconds += seconds
        row: dict[str, Any] = {
            "epoch": epoch,
            "losses": {key: sums[key] / counts[key] for key in sums},
            "seconds": seconds,
        }
        if evaluate(epoch, row):
            for rule, score_of in rules.items():
                score = score_of(row)
                if rule not in kept or score > kept[rule].score:  # strict: earliest on ties
                    kept[rule] = Kept(score, epoch, copy.deepcopy(network.state_dict()))
        history.append(row)
        if progress and report is not None:
            print(report(row), file=sys.stderr, flush=True)
    return LoopResult(history, kept, train_seconds)
