"""The two checkpoint-selection rules every T4 run is read under (DomainBed's terms).

- ``easy_val``: training-distribution selection, on easy validation only (data drawn like the
  training set). What a practitioner without any counter-examples could do.
- ``conflict_val``: oracle-style selection, on conflict validation (training digits painted in
  another digit's colour): a sibling of the hard test's distribution, so it knows what the test
  rewards. Never the hard test itself.

One training run is evaluated every epoch; each rule keeps its own best epoch from the same run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

RULES: dict[str, tuple[str, ...]] = {
    "easy_val": ("val",),
    "conflict_val": ("conflict_val",),
}
RULE_LABELS: dict[str, str] = {
    "easy_val": "training-distribution selection (easy validation)",
    "conflict_val": "oracle-style selection (conflict validation)",
}
# The split each rule also uses to pick the winning method: the same data as the checkpoint.
RULE_SPLIT: dict[str, str] = {"easy_val": "val", "conflict_val": "conflict_val"}


def check_rule(rule: str) -> str:
    if rule not in RULES:
        raise ValueError(f"unknown selection rule {rule!r}: choose from {', '.join(RULES)}")
    return rule


def best_epochs(
    history: Sequence[Mapping[str, Any]], rules: Sequence[str] = tuple(RULES)
) -> dict[str, int]:
    """Per rule, the epoch (1-based, as in ``history[i]["epoch"]``) with the highest mean accuracy
    on the rule's splits; the earliest wins ties. Reads only validation accuracies."""
    chosen = {}
    for rule in rules:
        splits = RULES[check_rule(rule)]
        scored = [
            (sum(row[f"acc_{split}"] for split in splits) / len(splits), -index, row["epoch"])
            for index, row in enumerate(history)
            if all(row.get(f"acc_{split}") is not None for split in splits)
        ]
        if not scored:
            raise ValueError(f"rule {rule!r}: no epoch of the history was evaluated")
        chosen[rule] = max(scored)[2]
    return chosen
