"""What a build produces: each task's status and outcome, and the build's result.

The statuses are an :class:`enum.StrEnum`, so a run record written as JSON and read back
compares equal to the members (``"complete" == Status.COMPLETE``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    COMPLETE = "complete"  # ran in this build
    CACHED = "cached"  # reused: inputs unchanged
    FAILED = "failed"  # raised, timed out, or its data was missing
    BLOCKED = "blocked"  # a task it needs did not complete
    NOT_RUN = "not run"  # not selected, or the build stopped first


# The statuses whose results later tasks and the report may use.
USABLE = frozenset({Status.COMPLETE, Status.CACHED})


@dataclass
class TaskOutcome:
    name: str
    title: str
    status: Status
    key: str | None = None
    runtime_s: float | None = None
    params: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    blocked_by: list[str] = field(default_factory=list)
    task_dir: str | None = None
    failed_dir: str | None = None
    key_inputs: dict[str, Any] = field(default_factory=dict)


@dataclass
class BuildResult:
    profile: str
    outcomes: dict[str, TaskOutcome]
    started_at: str
    wall_s: float
    provenance: dict[str, Any]

    @property
    def ok(self) -> bool:
        return not any(
            outcome.status in (Status.FAILED, Status.BLOCKED) for outcome in self.outcomes.values()
        )

    def as_record(self) -> dict[str, Any]:
        """The run record (plain JSON types: statuses as their strings)."""
        tasks = {}
        for name, outcome in self.outcomes.items():
            record = asdict(outcome)
            record["status"] = str(outcome.status)
            tasks[name] = record
        return {
            "profile": self.profile,
            "started_at": self.started_at,
            "wall_s": self.wall_s,
            "provenance": self.provenance,
            "tasks": tasks,
        }
