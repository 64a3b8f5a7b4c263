"""T4's method table and ranking: summaries over seeds, the winner, and which methods a sweep
covers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lazy_artist.methods.names import METHOD_NAMES

# The one name for "the winner" (here in a list of method names, in artefacts.py a checkpoint to
# load); defined here, where the winner is chosen (best_method).
BEST = "best"


def resolve_method_names(methods: str) -> list[str]:
    """``"all"`` -> every registered method; else comma-separated names, each checked."""
    if methods.strip() == "all":
        return list(METHOD_NAMES)
    names = [name.strip() for name in methods.split(",") if name.strip()]
    unknown = [name for name in names if name not in METHOD_NAMES]
    if unknown or not names:
        raise ValueError(
            f"unknown method(s) {', '.join(map(repr, unknown)) or '(none given)'}: "
            f"choose from {', '.join(METHOD_NAMES)} or 'all'"
        )
    return names


def sweep_method_names(sweep_methods: str, winner: str | None, trained: Sequence[str]) -> list[str]:
    """The methods of the bias sweep; ``best`` stands for the comparison's winner."""
    names = []
    for name in (part.strip() for part in sweep_methods.split(",")):
        if name == BEST:
            name = winner
        if name and name in trained and name not in names:
            names.append(name)
    return names


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    array = np.asarray(values, dtype=float)
    return float(array.mean()), float(array.std(ddof=1)) if len(array) > 1 else 0.0


def epochs_to_reach(
    histories: Sequence[Sequence[Mapping[str, float]]], key: str, level: float
) -> float | None:
    """Mean over seeds of the first epoch whose ``key`` reaches ``level``; None if no seed does."""
    reached = []
    for history in histories:
        epochs = [row["epoch"] for row in history if row.get(key) is not None and row[key] >= level]
        if epochs:
            reached.append(min(epochs))
    return float(np.mean(reached)) if reached else None


def best_method(
    per_method: Mapping[str, Mapping[str, float]], exclude: Sequence[str] = ("gray_oracle",)
) -> str:
    """The winner by mean conflict-validation accuracy: validation data, never the hard test set.

    The grayscale oracle is excluded: it sees different inputs and is reported as the ceiling.
    """
    candidates = {name: row for name, row in per_method.items() if name not in exclude} or dict(
        per_method
    )
    return max(
        candidates,
        key=lambda name: (
            candidates[name]["conflict_val_acc_mean"],
            candidates[name]["easy_val_acc_mean"],
        ),
    )


def unconverged_runs(
    runs: Mapping[tuple[str, int], Any], min_easy_val: float
) -> list[dict[str, Any]]:
    """Runs whose selected checkpoint reads *easy* validation below ``min_easy_val``: training
    diverged or stalled (every converged method passes 97% there), so the method's mean and std
    over seeds mix a failed optimisation with a result. Each: method, seed, easy validation
    accuracy and the first epoch's mean losses (a diverging run shows them exploding)."""
    found = []
    for (method, seed), run in runs.items():
        if run.selected["val"] < min_easy_val:
            found.append(
                {
                    "method": method,
                    "seed": seed,
                    "easy_val_acc": run.selected["val"],
                    "first_epoch_losses": dict(run.history[0]["losses"]) if run.history else {},
                }
            )
    return found
