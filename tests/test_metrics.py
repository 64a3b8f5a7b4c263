"""Metrics against brute-force counts."""

from __future__ import annotations

import numpy as np
import pytest

from lazy_artist.data.canvas import COLOUR_NAMES
from lazy_artist.metrics import (
    accuracy,
    colour_probe,
    confusion_matrix,
    digit_colour_accuracy_grid,
    per_colour_accuracy,
)


def test_confusion_matrix_matches_a_brute_force_count():
    rng = np.random.default_rng(0)
    labels, preds = rng.integers(0, 10, 500), rng.integers(0, 10, 500)
    matrix = confusion_matrix(labels, preds)
    for true in range(10):
        for pred in range(10):
            assert matrix[true, pred] == sum(
                1 for t, p in zip(labels, preds, strict=True) if t == true and p == pred
            )
    assert np.trace(matrix) / 500 == accuracy(preds, labels)


def test_accuracy_rejects_mismatched_shapes():
    with pytest.raises(ValueError):
        accuracy(np.zeros(3), np.zeros(4))


def test_accuracy_grid_cells_and_empty_cells():
    labels = np.array([0, 0, 0, 1])
    colours = np.array([0, 0, 5, 1])
    preds = np.array([0, 3, 0, 2])
    grid = digit_colour_accuracy_grid(preds, labels, colours)
    assert grid[0, 0] == 0.5 and grid[0, 5] == 1.0 and grid[1, 1] == 0.0
    assert np.isnan(grid[2, 2]) and np.isnan(grid[0, 1])


def test_colour_probe_shares_and_following():
    labels = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 1])
    preds = np.tile(labels, (10, 1))  # colour-blind model: predicts the true digit
    preds[3] = 3  # painted yellow: everything read as 3
    probe = colour_probe(preds, labels)
    assert probe.shares.shape == (10, 10)
    assert np.allclose(probe.shares.sum(axis=1), 1.0)
    assert probe.follows[3] == 1.0  # 11 digits other than 3, all read as 3
    assert probe.follows[0] == 0.0
    assert probe.follows_overall == pytest.approx(11 / sum(np.sum(labels != c) for c in range(10)))
    assert probe.shares[3, 3] == 1.0 and probe.shares[1, 1] == 3 / 12


def test_per_colour_accuracy_counts_each_stroke_colour():
    labels = np.array([1, 2, 3, 4, 5, 6])
    preds = np.array([1, 0, 3, 4, 0, 0])
    colours = np.array([9, 9, 9, 0, 0, 3])
    result = per_colour_accuracy(preds, labels, colours)
    assert list(result) == list(COLOUR_NAMES) and list(result)[9] == "gray"
    assert result["gray"] == {"index": 9, "n": 3, "accuracy": pytest.approx(2 / 3)}
    assert result["red"] == {"index": 0, "n": 2, "accuracy": 0.5}
    assert result["yellow"] == {"index": 3, "n": 1, "accuracy": 0.0}
    assert result["green"] == {"index": 1, "n": 0, "accuracy": None}
    assert sum(entry["n"] for entry in result.values()) == len(labels)


def test_per_colour_accuracy_rejects_bad_input():
    with pytest.raises(ValueError, match="same length"):
        per_colour_accuracy(np.zeros(3), np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="palette"):
        per_colour_accuracy(np.zeros(2), np.zeros(2), np.array([0, 10]))
