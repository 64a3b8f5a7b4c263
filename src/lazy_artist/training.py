"""Training an algorithm on in-memory arrays (T7's classifiers), on the one training loop
(:mod:`lazy_artist.loop`; T4 trains its methods on the canvas with
:mod:`lazy_artist.methods.trainer`).

What a step does is the algorithm's own ``update``: T7's classifiers are ERM
(:mod:`lazy_artist.methods.base`), as T4's baseline is, so there is one ERM step and one
optimiser set-up in the library. Batches come from plain tensors indexed by
``torch.randperm`` (much faster than a DataLoader for in-memory arrays on CPU). The kept
checkpoint is chosen on a validation split only: a name containing "hard" is refused, so the
hard test set can never drive selection. Checkpoints are saved and loaded beside the model
registry (:mod:`lazy_artist.models.checkpoints`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from lazy_artist.inference import predict
from lazy_artist.loop import refuse_hard_test, run_epochs, selection_rule_text
from lazy_artist.methods.base import Algorithm, Batch
from lazy_artist.precision import autocast, channels_last, channels_last_module, check_precision
from lazy_artist.runtime import configure_threads

ArrayPair = tuple[Any, Any]  # (images, labels) as numpy arrays or tensors


def _as_tensors(pair: ArrayPair) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = pair
    images = torch.as_tensor(
        np.asarray(images, dtype=np.float32) if not torch.is_tensor(images) else images
    )
    labels = torch.as_tensor(
        np.asarray(labels, dtype=np.int64) if not torch.is_tensor(labels) else labels
    )
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    return images.float(), labels.long()


@dataclass
class TrainResult:
    model: nn.Module  # with the selected checkpoint's weights loaded, in eval mode
    history: list[dict[str, float]]  # one row per epoch: epoch, train_<loss term>, acc_<set>...
    selected_epoch: int
    selection_rule: str
    selected_score: float
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


def train_classifier(
    algorithm: Algorithm,
    train: ArrayPair,
    eval_sets: dict[str, ArrayPair],
    epochs: int,
    seed: int,
    device: torch.device | str = "cpu",
    select_on: str = "val",
    progress: bool = True,
    precision: str = "fp32",
) -> TrainResult:
    """``algorithm.update`` per batch of ``train`` (its hparams give the batch size, its
    optimisers and schedules the rest); every set of ``eval_sets`` is evaluated each epoch and
    the best ``select_on`` epoch is kept in ``algorithm.network``, which the result returns.

    The images go in the batch field of the algorithm's input kind (``images`` or ``gray``);
    ``precision="bf16"`` runs the forward passes under bfloat16 autocast (see
    :mod:`lazy_artist.precision`); the loop holds the weights channels-last either way."""
    refuse_hard_test([select_on], f"select_on={select_on!r}")
    if select_on not in eval_sets:
        raise ValueError(f"select_on={select_on!r} is not one of the eval sets {sorted(eval_sets)}")
    batch_size = int(algorithm.hparams["batch_size"])
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be positive, got {epochs}, {batch_size}")
    check_precision(precision)
    configure_threads()
    device = torch.device(device)
    images, labels = _as_tensors(train)
    images = channels_last(images)
    evals = {name: _as_tensors(pair) for name, pair in eval_sets.items()}
    field_name = "gray" if algorithm.input_kind == "gray" else "images"
    model = algorithm.network
    algorithm.to(device)
    generator = torch.Generator().manual_seed(int(seed))  # batch order depends only on the seed
    n = len(labels)
    algorithm.prepare(total_steps=epochs * math.ceil(n / batch_size), n_train=n)

    def step(idx: torch.Tensor, epoch: int) -> dict[str, tuple[float, float]]:
        x = images[idx].to(device, non_blocking=True)
        y = labels[idx].to(device, non_blocking=True)
        with autocast(device, precision):
            losses = algorithm.update(Batch(labels=y, **{field_name: x}), epoch)
        algorithm.step_schedules()
        return {f"train_{key}": (value * len(idx), len(idx)) for key, value in losses.items()}

    def evaluate(epoch: int, row: dict[str, Any]) -> bool:
        for name, (x_eval, y_eval) in evals.items():
            preds, _ = predict(model, x_eval, batch_size=max(batch_size, 1024), device=device)
            row[f"acc_{name}"] = float((preds == y_eval.numpy()).mean())
        return True

    def report(row: dict[str, Any]) -> str:
        return f"epoch {row['epoch']}: " + ", ".join(f"{k}={v:.4f}" for k, v in flat(row).items())

    def flat(row: dict[str, Any]) -> dict[str, float]:
        """The row as this trainer records it: train_<loss term>, acc_<set>."""
        scores = {k: v for k, v in row.items() if k.startswith("acc_")}
        return {**row["losses"], **scores}

    started = time.perf_counter()
    with channels_last_module(model):
        run = run_epochs(
            model,
            n,
            batch_size,
            epochs,
            generator,
            step,
            evaluate,
            {select_on: lambda row: row[f"acc_{select_on}"]},
            algorithm.train,
            progress=progress,
            report=report,
        )
    history = [{"epoch": row["epoch"], **flat(row)} for row in run.history]
    best = run.kept[select_on]

    model.load_state_dict(best.state)
    algorithm.eval()
    return TrainResult(
        model=model,
        history=history,
        selected_epoch=best.epoch,
        selection_rule=selection_rule_text([select_on]),
        selected_score=best.score,
        seconds=time.perf_counter() - started,
    )
