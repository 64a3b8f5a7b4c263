"""Classification metrics for the study: accuracy, confusion matrix, (digit, colour) grid, probe."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lazy_artist.data.canvas import COLOUR_NAMES, N_CLASSES, recolour_all
from lazy_artist.inference import predict


def accuracy(preds: np.ndarray, labels: np.ndarray) -> float:
    preds, labels = np.asarray(preds), np.asarray(labels)
    if preds.shape != labels.shape:
        raise ValueError(f"preds {preds.shape} and labels {labels.shape} differ in shape")
    return float(np.mean(preds == labels)) if labels.size else float("nan")


def confusion_matrix(
    labels: np.ndarray, preds: np.ndarray, n_classes: int = N_CLASSES
) -> np.ndarray:
    """Counts: rows are true labels, columns predictions."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels, dtype=np.int64), np.asarray(preds, dtype=np.int64)), 1)
    return matrix


def digit_colour_accuracy_grid(
    preds: np.ndarray, labels: np.ndarray, colours: np.ndarray, n_classes: int = N_CLASSES
) -> np.ndarray:
    """Accuracy in each (digit row, colour column) cell; NaN where a cell has no samples."""
    labels, colours = np.asarray(labels, dtype=np.int64), np.asarray(colours, dtype=np.int64)
    hits = np.zeros((n_classes, n_classes))
    counts = np.zeros((n_classes, n_classes))
    np.add.at(counts, (labels, colours), 1)
    np.add.at(hits, (labels, colours), (np.asarray(preds) == labels).astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, hits / np.maximum(counts, 1), np.nan)


def per_colour_accuracy(
    predictions: np.ndarray, labels: np.ndarray, colour_ids: np.ndarray
) -> dict[str, dict[str, float | int | None]]:
    """Accuracy among the images of each stroke colour, keyed by colour name in palette order.

    Each entry is ``{"index": palette index, "n": images, "accuracy": share correct}``, with
    ``accuracy`` None for a colour with no images (so it stays valid JSON). On the hard test
    set this separates "the model fails on gray strokes" from "the model follows colour".
    """
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    colour_ids = np.asarray(colour_ids, dtype=np.int64)
    if not predictions.shape == labels.shape == colour_ids.shape or predictions.ndim != 1:
        raise ValueError(
            f"predictions {predictions.shape}, labels {labels.shape} and colour_ids "
            f"{colour_ids.shape} must be one-dimensional and of the same length"
        )
    if colour_ids.size and (colour_ids.min() < 0 or colour_ids.max() >= N_CLASSES):
        raise ValueError(f"colour_ids must be palette indices 0..{N_CLASSES - 1}")
    correct = predictions == labels
    result: dict[str, dict[str, float | int | None]] = {}
    for colour, name in enumerate(COLOUR_NAMES):
        members = colour_ids == colour
        n = int(members.sum())
        result[name] = {
            "index": colour,
            "n": n,
            "accuracy": float(correct[members].mean()) if n else None,
        }
    return result


@dataclass
class ColourProbe:
    """Predictions when every digit is painted one colour c (row c of each array)."""

    shares: np.ndarray  # (10 colours, 10 classes): share of predictions per class; rows sum to 1
    follows: np.ndarray  # (10,): among digits != c, the share predicted as digit c
    follows_overall: float  # the same, pooled over every colour
    n_images: int


def colour_probe(preds_by_colour: np.ndarray, labels: np.ndarray) -> ColourProbe:
    """Summarise probe predictions ``preds_by_colour[c, i]`` (image i painted colour c)."""
    preds_by_colour = np.asarray(preds_by_colour, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    n_colours, n = preds_by_colour.shape
    if n != len(labels):
        raise ValueError(f"{n} predictions per colour but {len(labels)} labels")
    shares = np.stack([np.bincount(row, minlength=N_CLASSES) / n for row in preds_by_colour])
    follows = np.full(n_colours, np.nan)
    hits = total = 0
    for colour in range(n_colours):
        others = labels != colour  # a digit painted its own colour says nothing about cheating
        hit = int(np.sum(preds_by_colour[colour, others] == colour))
        follows[colour] = hit / max(int(others.sum()), 1)
        hits, total = hits + hit, total + int(others.sum())
    return ColourProbe(
        shares=shares, follows=follows, follows_overall=hits / max(total, 1), n_images=n
    )


@torch.no_grad()
def colour_probe_predictions(
    model: nn.Module,
    digits: np.ndarray,
    seed: int,
    device: torch.device | str = "cpu",
    batch_size: int = 1024,
    *,
    bg_range: tuple[float, float],
) -> np.ndarray:
    """Predictions (10, N): every digit in ``digits`` (uint8 MNIST) painted each palette colour
    on backgrounds from ``bg_range``: the canvas's own (``Canvas.bg_range``), required so the
    probe's images come from the distribution the model was trained on, not the module
    default."""
    rng = np.random.default_rng([seed, 99])
    rows = []
    for colour in range(N_CLASSES):
        painted = recolour_all(digits, colour, rng, bg_range=bg_range)
        preds, _ = predict(model, painted, batch_size=batch_size, device=device)
        rows.append(preds)
    return np.stack(rows)
