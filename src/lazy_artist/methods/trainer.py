"""Train any T4 method on the canvas, evaluate it per epoch, select a checkpoint on validation only.

The loop is training.py's: seeded ``randperm`` batches of in-memory tensors (gathered only for the
fields the method needs), one ``algorithm.update()`` per batch and nothing else per step. Each
epoch is scored on easy validation ("val"), conflict validation and the hard test set; the hard
accuracy is *recorded* for learning curves and never read by the selection rule.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from lazy_artist.data.canvas import BG_RANGE, Canvas, CanvasSplit
from lazy_artist.inference import predict
from lazy_artist.loop import refuse_hard_test, run_epochs, selection_rule_text
from lazy_artist.methods.base import Algorithm, Batch
from lazy_artist.methods.names import INPUT_KINDS
from lazy_artist.methods.selection import RULES
from lazy_artist.metrics import accuracy
from lazy_artist.precision import (
    TRAINING_PRECISION,
    autocast,
    channels_last,
    channels_last_module,
    check_precision,
)
from lazy_artist.runtime import configure_threads

EVAL_SPLITS = ("val", "conflict_val", "hard_test")
SELECTION_SPLITS = ("val", "conflict_val")  # validation data only: never a test split
DEFAULT_SELECTION = "val+conflict_val"
SELECTED = "selected"  # run_epochs' name for the rule this call selects on (not one of RULES)


@dataclass
class MethodResult:
    """What one training run produced. ``algorithm.network`` holds the selected epoch's weights."""

    method: str
    hparams: dict[str, Any]
    history: list[dict[str, Any]]  # per epoch: epoch, losses, acc_<split>, seconds, eval_seconds
    selected_epoch: int
    selection_rule: str
    selected_score: float
    selected: dict[str, float]  # the selected epoch's accuracies, e.g. {"hard_test": 0.97, ...}
    seconds: float  # wall time of the whole run, evaluation included
    train_seconds: float  # time spent in update() steps only
    steps: int
    images_seen: int
    extra: dict[str, Any] = field(default_factory=dict)
    # Per selection rule (selection.RULES) of the same run: {"epoch", "score", "selected"}; the
    # weights of each are in ``algorithm.rule_states[rule]`` after training.
    selections: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_selection(selection: str) -> tuple[str, ...]:
    """Validation splits whose mean accuracy picks the epoch; any "hard" split is refused."""
    splits = tuple(part.strip() for part in str(selection).split("+"))
    refuse_hard_test(splits, f"selection={selection!r}")
    bad = [part for part in splits if part not in SELECTION_SPLITS]
    if bad:
        raise ValueError(
            f"selection={selection!r}: {', '.join(map(repr, bad))} not allowed; use validation "
            f"splits {' / '.join(SELECTION_SPLITS)} joined by '+', e.g. {DEFAULT_SELECTION!r}"
        )
    return splits


def selection_score(row: dict[str, Any], splits: tuple[str, ...]) -> float:
    """The rule's score for one history row; reads only the selection splits' accuracies."""
    return float(np.mean([row[f"acc_{split}"] for split in splits]))


def evaluate(
    model: Algorithm | nn.Module,
    split: CanvasSplit,
    input_kind: str | None = None,
    device: torch.device | str = "cpu",
    batch_size: int = 1024,
) -> float:
    """Accuracy of an algorithm (or a bare network) on a canvas split; the grayscale images are
    used for gray-input models (``input_kind`` defaults to the algorithm's own)."""
    kind = input_kind or getattr(model, "input_kind", "colour")
    if kind not in INPUT_KINDS:
        raise ValueError(f"input_kind must be one of {INPUT_KINDS}, got {kind!r}")
    network = model.network if isinstance(model, Algorithm) else model
    images = split.gray if kind == "gray" else split.images
    preds, _ = predict(network, images, batch_size=batch_size, device=device)
    return accuracy(preds, split.labels)


def _stream_seed(seed: int, stream: int) -> int:
    return int(np.random.SeedSequence([int(seed), stream]).generate_state(1)[0])


def train_algorithm(
    algorithm: Algorithm,
    canvas: Canvas,
    epochs: int,
    seed: int,
    device: torch.device | str = "cpu",
    selection: str = DEFAULT_SELECTION,
    progress: bool = True,
    eval_every_epoch: bool = True,
    precision: str = TRAINING_PRECISION,
) -> MethodResult:
    """Train on ``canvas["train"]`` for ``epochs``; keep the epoch the selection rule prefers.

    ``precision="bf16"`` runs the forward passes under bfloat16 autocast (weights, losses and
    evaluation stay fp32; see :mod:`lazy_artist.precision`). With ``eval_every_epoch=False`` only
    the last epoch is evaluated (and kept): for timing."""
    splits = parse_selection(selection)
    check_precision(precision)
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    configure_threads()
    device = torch.device(device)
    algorithm.to(device)
    algorithm.bg_range = tuple(canvas.meta.get("bg_range", BG_RANGE))
    train = canvas["train"]
    n, batch_size = len(train), algorithm.hparams["batch_size"]
    fields = [name for name in algorithm.batch_fields if name != "index"]
    data = {
        name: channels_last(torch.as_tensor(getattr(train, name)).to(device)) for name in fields
    }
    with_index = "index" in algorithm.batch_fields
    order_generator = torch.Generator().manual_seed(_stream_seed(seed, 0))
    # On-the-fly randomness (recolouring) lives on the training device, seeded separately.
    aug_generator = torch.Generator(device=device).manual_seed(_stream_seed(seed, 1))
    n_batches = math.ceil(n / batch_size)
    algorithm.prepare(total_steps=epochs * n_batches, n_train=n)

    def step(idx: torch.Tensor, epoch: int) -> dict[str, tuple[float, float]]:
        idx = idx.to(device, non_blocking=True)
        batch = Batch(
            generator=aug_generator,
            index=idx if with_index else None,
            **{name: tensor[idx] for name, tensor in data.items()},
        )
        with autocast(device, precision):
            losses = algorithm.update(batch, epoch)
        algorithm.step_schedules()
        return {key: (value, 1) for key, value in losses.items()}  # the mean over batches

    def evaluate_epoch(epoch: int, row: dict[str, Any]) -> bool:
        if not (eval_every_epoch or epoch == epochs):
            return False
        eval_start = time.perf_counter()
        for name in EVAL_SPLITS:
            row[f"acc_{name}"] = evaluate(algorithm, canvas[name], device=device)
        row["eval_seconds"] = time.perf_counter() - eval_start
        return True

    def report(row: dict[str, Any]) -> str:
        accs = ", ".join(f"{k}={v:.4f}" for k, v in row.items() if k.startswith("acc_"))
        losses_text = ", ".join(f"{k}={v:.4f}" for k, v in row["losses"].items())
        return f"{algorithm.name} epoch {row['epoch']}: {losses_text}; {accs}"

    def scored(rule_splits: tuple[str, ...]) -> Callable[[dict[str, Any]], float]:
        return lambda row: selection_score(row, rule_splits) if eval_every_epoch else 0.0

    # The rule this call selects on, and every rule of selection.RULES, each keeping its own
    # best epoch of this same run.
    rules = {SELECTED: scored(splits), **{rule: scored(rs) for rule, rs in RULES.items()}}
    started = time.perf_counter()
    # Channels-last weights for the loop only: the selected state is stored in that layout and
    # loaded back below, after the network has returned to the default layout.
    with channels_last_module(algorithm):
        run = run_epochs(
            algorithm.network,
            n,
            batch_size,
            epochs,
            order_generator,
            step,
            evaluate_epoch,
            rules,
            algorithm.train,
            name=algorithm.name,
            progress=progress,
            report=report,
        )
    history, best = run.history, run.kept[SELECTED]
    algorithm.network.load_state_dict(best.state)
    algorithm.eval()
    chosen = history[best.epoch - 1]
    best_score = best.score if eval_every_epoch else selection_score(chosen, splits)
    rule_best = {rule: kept for rule, kept in run.kept.items() if rule in RULES}
    # Detached from the network's (channels-last) storage: loadable into any copy of it.
    algorithm.rule_states = {
        rule: {k: v.detach().cpu().contiguous() for k, v in kept.state.items()}
        for rule, kept in rule_best.items()
    }
    selections = {
        rule: {
            "epoch": kept.epoch,
            "score": selection_score(history[kept.epoch - 1], RULES[rule]),
            "selected": {name: history[kept.epoch - 1][f"acc_{name}"] for name in EVAL_SPLITS},
        }
        for rule, kept in rule_best.items()
    }
    return MethodResult(
        method=algorithm.name,
        hparams=dict(algorithm.hparams),
        history=history,
        selected_epoch=best.epoch,
        selection_rule=selection_rule_text(splits, eval_every_epoch),
        selected_score=best_score,
        selected={name: chosen[f"acc_{name}"] for name in EVAL_SPLITS},
        seconds=time.perf_counter() - started,
        train_seconds=run.train_seconds,
        steps=epochs * n_batches,
        images_seen=epochs * n,
        # Backward passes (each followed by optimiser updates) over the run, for T4's compute.
        extra={"precision": precision, "backward_passes": algorithm.backward_passes},
        selections=selections,
    )
