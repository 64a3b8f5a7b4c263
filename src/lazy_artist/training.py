"""Training, prediction and checkpoints shared by every task that trains a classifier.

Batches come from plain tensors indexed by ``torch.randperm`` (much faster than a DataLoader for
in-memory arrays on CPU). The kept checkpoint is chosen on a validation split only: a name
containing "hard" is refused, so the hard test set can never drive selection.
"""

from __future__ import annotations

import copy
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from lazy_artist.models import build_model
from lazy_artist.precision import autocast, channels_last, channels_last_module, check_precision

ArrayPair = tuple[Any, Any]  # (images, labels) as numpy arrays or tensors


def configure_threads() -> int:
    """Use every available core for intra-op work, but never more threads than cores."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    threads = max(1, min(cores, torch.get_num_threads()))
    torch.set_num_threads(threads)
    return threads


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


@dataclass
class TrainResult:
    model: nn.Module  # with the selected checkpoint's weights loaded, in eval mode
    history: list[dict[str, float]]  # one row per epoch: epoch, train_loss, train_acc, acc_<set>...
    selected_epoch: int
    selection_rule: str
    selected_score: float
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


def selection_rule_text(select_on: str) -> str:
    return (
        f"epoch with the highest accuracy on '{select_on}' (earliest on ties); "
        "the hard test set is never used for selection"
    )


def train_classifier(
    model: nn.Module,
    train: ArrayPair,
    eval_sets: dict[str, ArrayPair],
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    device: torch.device | str = "cpu",
    select_on: str = "val",
    weight_decay: float = 0.0,
    schedule: str = "constant",
    progress: bool = True,
    precision: str = "fp32",
) -> TrainResult:
    """Adam + cross-entropy; evaluates every set each epoch and keeps the best ``select_on`` epoch.

    ``schedule="cosine"`` decays the learning rate per step to zero over the run, which settles
    the weights at the end of training (less epoch-to-epoch noise in the selection score).
    ``precision="bf16"`` runs the forward passes under bfloat16 autocast (see
    :mod:`lazy_artist.precision`); the loop holds the weights channels-last either way."""
    if "hard" in select_on.lower():
        raise ValueError(
            f"select_on={select_on!r}: the hard test set must never be used for selection"
        )
    if select_on not in eval_sets:
        raise ValueError(f"select_on={select_on!r} is not one of the eval sets {sorted(eval_sets)}")
    if schedule not in ("constant", "cosine"):
        raise ValueError(f"schedule must be 'constant' or 'cosine', got {schedule!r}")
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be positive, got {epochs}, {batch_size}")
    check_precision(precision)
    configure_threads()
    device = torch.device(device)
    images, labels = _as_tensors(train)
    images = channels_last(images)
    evals = {name: _as_tensors(pair) for name, pair in eval_sets.items()}
    model.to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(int(seed))  # batch order depends only on the seed

    history: list[dict[str, float]] = []
    best_score, best_epoch, best_state = -1.0, 0, None
    started = time.perf_counter()
    n = len(labels)
    n_batches = (n + batch_size - 1) // batch_size
    scheduler = None
    if schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=epochs * n_batches)
    with channels_last_module(model):
        for epoch in range(1, epochs + 1):
            model.train()
            loss_sum, correct = 0.0, 0
            bar = progress_bar(
                epoch_batches(n, batch_size, generator), f"epoch {epoch}/{epochs}", progress
            )
            for idx in bar:
                x, y = (
                    images[idx].to(device, non_blocking=True),
                    labels[idx].to(device, non_blocking=True),
                )
                with autocast(device, precision):
                    logits = model(x)
                    loss = loss_fn(logits, y)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                if scheduler is not None:
                    scheduler.step()
                loss_sum += loss.item() * len(idx)
                correct += (logits.argmax(1) == y).sum().item()
            bar.close()
            row: dict[str, float] = {
                "epoch": epoch,
                "train_loss": loss_sum / n,
                "train_acc": correct / n,
            }
            for name, (x_eval, y_eval) in evals.items():
                preds, _ = predict(model, x_eval, batch_size=max(batch_size, 1024), device=device)
                row[f"acc_{name}"] = float((preds == y_eval.numpy()).mean())
            history.append(row)
            score = row[f"acc_{select_on}"]
            if score > best_score:  # strict: the earliest epoch wins ties
                best_score, best_epoch = score, epoch
                best_state = copy.deepcopy(model.state_dict())
            if progress:
                summary = ", ".join(f"{k}={v:.4f}" for k, v in row.items() if k != "epoch")
                print(f"epoch {epoch}: {summary}", file=sys.stderr, flush=True)

    assert best_state is not None
    model.load_state_dict(best_state)
    model.eval()
    return TrainResult(
        model=model,
        history=history,
        selected_epoch=best_epoch,
        selection_rule=selection_rule_text(select_on),
        selected_score=best_score,
        seconds=time.perf_counter() - started,
    )


@torch.no_grad()
def predict(
    model: nn.Module,
    images: Any,
    batch_size: int = 1024,
    device: torch.device | str = "cpu",
) -> tuple[np.ndarray, np.ndarray]:
    """Predicted class (int64, N) and softmax probabilities (float32, N x classes)."""
    was_training = model.training
    model.eval()
    device = torch.device(device)
    x_all = (
        images if torch.is_tensor(images) else torch.as_tensor(np.asarray(images, dtype=np.float32))
    )
    probs = []
    for start in range(0, len(x_all), batch_size):
        logits = model(channels_last(x_all[start : start + batch_size].float().to(device)))
        probs.append(torch.softmax(logits, dim=1).cpu())
    model.train(was_training)
    if not probs:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    prob = torch.cat(probs).numpy().astype(np.float32)
    return prob.argmax(1).astype(np.int64), prob


def save_checkpoint(
    path: str | Path,
    model_name: str,
    model: nn.Module,
    extra: dict[str, Any] | None = None,
    model_kwargs: dict[str, Any] | None = None,
) -> Path:
    """Save weights with the registry name and constructor arguments (``model.config`` by default)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    kwargs = dict(model_kwargs if model_kwargs is not None else getattr(model, "config", {}))
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {
        "model_name": model_name,
        "model_kwargs": kwargs,
        "state_dict": state,
        "extra": extra or {},
    }
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def _read_checkpoint(path: str | Path) -> dict[str, Any]:
    # weights_only: a checkpoint is tensors and plain values, never arbitrary pickled objects.
    return torch.load(Path(path), map_location="cpu", weights_only=True)


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> nn.Module:
    """Rebuild the model through the registry and load its weights; returned in eval mode."""
    payload = _read_checkpoint(path)
    model = build_model(payload["model_name"], **payload["model_kwargs"])
    model.load_state_dict(payload["state_dict"])
    return model.to(torch.device(device)).eval()


def checkpoint_extra(path: str | Path) -> dict[str, Any]:
    """The ``extra`` dictionary stored with a checkpoint (selection rule, epoch, ...)."""
    return dict(_read_checkpoint(path)["extra"])
