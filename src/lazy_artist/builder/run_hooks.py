"""Task hooks that explain a memo task's runs for ``status`` / ``build --dry-run``.

A task may declare ``run_plan``: a function of a :class:`RunPlanQuery` returning the lines to
print under the task's own line (which of its memoised runs a build would reuse, which it
would train and why). The builder calls it for a task that will run and prints what it
returns; it knows nothing of what the runs are. A hook must train nothing and answer in
seconds. This module imports no torch: the study's hooks import their protocol when called.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RunPlanQuery:
    """What a ``run_plan`` hook is told about the task it explains."""

    root: Path  # the project root (relative data roots resolve against it)
    params: Mapping[str, Any]  # the task's resolved, validated parameters
    memo_dir: Path  # where its memoised runs are kept (may not exist yet)
    # Each dependency's stored output directory; None when it is not built or will re-run
    # (its outputs, and so this task's runs, are not known until it has).
    upstream: Mapping[str, Path | None]
    device: str  # the task's resolved device ("cpu", "cuda:0", ...)
    retrain: str | Sequence[str] | None  # --retrain: "all", method names, or None


RunPlanHook = Callable[[RunPlanQuery], Sequence[str]]
