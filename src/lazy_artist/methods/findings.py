"""T4's expected findings, evaluated on the aggregated table (:func:`grid.aggregate`).

The thresholds are T4's parameters, declared before the runs; each function returns whether the
finding held and the evidence as text, so the notebook records one check per call. The ERM
statistics on a backbone where ERM learns shape are a *finding with numbers*, not a check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lazy_artist.methods.grid import ORACLE
from lazy_artist.methods.selection import RULES

Table = Mapping[str, Mapping[str, Mapping[str, Mapping[str, Any]]]]


def _ci(row: Mapping[str, Any], name: str) -> str:
    lo, hi = row[f"{name}_ci95"]
    interval = "" if lo is None else f" [{lo:.4f}, {hi:.4f}]"
    return f"{row[f'{name}_mean']:.4f}{interval} (n = {row['n_seeds']})"


def erm_stays_the_cheater(
    table: Table, backbone: str, max_hard: float, method: str = "erm"
) -> tuple[bool, str]:
    """ERM's mean hard-test accuracy on ``backbone`` is at most ``max_hard`` under every rule."""
    rows = {rule: table[backbone][rule][method] for rule in RULES}
    passed = all(row["hard_test_acc_mean"] <= max_hard for row in rows.values())
    detail = "; ".join(
        f"{rule}: ERM hard test {_ci(row, 'hard_test_acc')}" for rule, row in rows.items()
    )
    return passed, f"on {backbone}, {detail} vs required <= {max_hard} under every rule"


def best_reads_shape(
    table: Table,
    winners: Mapping[str, Mapping[str, Mapping[str, Any]]],
    backbone: str,
    rule: str,
    min_hard: float,
    min_easy: float,
) -> tuple[bool, str]:
    """The winner on ``backbone`` under ``rule`` reaches ``min_hard`` hard and ``min_easy`` easy
    validation accuracy (means over seeds)."""
    winner = winners[backbone][rule]["winner"]
    row = table[backbone][rule][winner]
    passed = row["hard_test_acc_mean"] >= min_hard and row["easy_val_acc_mean"] >= min_easy
    return passed, (
        f"best on {backbone} by {winners[backbone][rule]['selected_on']} ({rule} rule): {winner}, "
        f"hard test {_ci(row, 'hard_test_acc')} (required >= {min_hard}), easy val "
        f"{_ci(row, 'easy_val_acc')} (required >= {min_easy})"
    )


def oracle_is_the_ceiling(
    table: Table, backbone: str, rule: str, tolerance: float
) -> tuple[bool, str] | None:
    """The gray oracle's mean hard accuracy is within ``tolerance`` of the best colour-input
    method's, or above it; None when the oracle was not trained."""
    rows = table[backbone][rule]
    if ORACLE not in rows or len(rows) < 2:
        return None
    others = {name: row["hard_test_acc_mean"] for name, row in rows.items() if name != ORACLE}
    top = max(others, key=others.get)
    oracle = rows[ORACLE]["hard_test_acc_mean"]
    return oracle >= others[top] - tolerance, (
        f"on {backbone} ({rule} rule), grayscale oracle hard test {oracle:.4f} vs best "
        f"colour-input method {top} {others[top]:.4f} (tolerance {tolerance})"
    )


def erm_against_winner(
    table: Table,
    winners: Mapping[str, Mapping[str, Mapping[str, Any]]],
    backbone: str,
    rule: str,
    probe_images: int,
    method: str = "erm",
) -> dict[str, Any] | None:
    """A statistic, not a check: ERM's hard accuracy and colour following on ``backbone`` beside
    the winner's (how much shape ERM learned from the counter-examples). None without ERM."""
    rows = table[backbone][rule]
    if method not in rows:
        return None
    winner = winners[backbone][rule]["winner"]
    erm, best = rows[method], rows[winner]
    best_follows = best["colour_following_mean"]
    if best_follows is None or erm["colour_following_mean"] is None:
        ratio = None  # a gray-input model cannot follow colour at all
    else:  # floor: one image of the probe's 9 x n (digit, other colour) pairs
        ratio = erm["colour_following_mean"] / max(best_follows, 1.0 / (9 * probe_images))
    return {
        "backbone": backbone,
        "rule": rule,
        "winner": winner,
        "erm_hard_test_acc_mean": erm["hard_test_acc_mean"],
        "erm_hard_test_acc_ci95": erm["hard_test_acc_ci95"],
        "hard_gap_to_winner": best["hard_test_acc_mean"] - erm["hard_test_acc_mean"],
        "erm_colour_following_mean": erm["colour_following_mean"],
        "winner_colour_following_mean": best_follows,
        "colour_following_ratio": ratio,
    }
