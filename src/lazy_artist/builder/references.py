"""The reference reports' headline numbers beside this run's (the report's comparison section).

The numbers live in ``references/seed_results.yaml``: each with its source in the seed
write-ups, its unit and the metric of this run it compares to (a task and a dotted path into
that task's metrics, as in ``report/summary.json``). A row whose task was not built, or whose
metric this run did not record, says so instead of failing: tasks land one at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lazy_artist.builder.params import BuildInputError

REFERENCES_FILE = Path("references") / "seed_results.yaml"


class ReferenceDataError(ValueError):
    """The references file is malformed; the message names the entry and the field."""


@dataclass(frozen=True)
class Unit:
    """How a quantity of this unit is shown, and how a difference of two is shown."""

    show: Callable[[float], str]  # this run's values
    show_reference: Callable[[float], str]  # the reference's, with the precision they were written
    show_difference: Callable[[float], str]
    legend: str


def _with_minus_sign(text: str) -> str:
    return text.replace("-", "−")  # a real minus sign: clearer in tables


def _as_written(value: float, digits: int) -> str:
    """At most ``digits`` decimals, trailing zeros dropped: 0.1152 -> 11.52, 0.95 -> 95."""
    return f"{value:.{digits}f}".rstrip("0").rstrip(".")


UNITS: Mapping[str, Unit] = {
    "percent": Unit(
        show=lambda value: f"{100 * value:.1f}%",
        show_reference=lambda value: f"{_as_written(100 * value, 2)}%",
        show_difference=lambda delta: _with_minus_sign(f"{100 * delta:+.1f} pp"),
        legend="accuracies and shares in %, their differences in percentage points (pp)",
    ),
    "epsilon": Unit(
        show=lambda value: f"{value:.4f}",
        show_reference=lambda value: _as_written(value, 4),
        show_difference=lambda delta: _with_minus_sign(f"{delta:+.4f}"),
        legend="ε: L∞ perturbation budget on pixels in [0, 1]",
    ),
    "epochs": Unit(
        show=lambda value: f"{value:.3g}",
        show_reference=lambda value: f"{value:g}",
        show_difference=lambda delta: _with_minus_sign(f"{delta:+g}"),
        legend="epochs: passes over the training set",
    ),
}


@dataclass(frozen=True)
class Reference:
    id: str
    quantity: str
    unit: str
    value: float | tuple[float, float]
    seed_file: str
    line: int
    quote: str
    task: str
    metric: str
    approx: bool = False
    note: str = ""

    def shown(self) -> str:
        unit = UNITS[self.unit]
        if isinstance(self.value, tuple):
            low, high = (unit.show_reference(bound) for bound in self.value)
            return f"{low}–{high}"
        return ("≈" if self.approx else "") + unit.show_reference(self.value)

    def difference(self, observed: float) -> float:
        """This run minus the reference; for a range, the distance outside it (0 inside)."""
        if isinstance(self.value, tuple):
            low, high = self.value
            return observed - low if observed < low else observed - high if observed > high else 0.0
        return observed - self.value

    @property
    def source(self) -> str:
        return f"{self.seed_file.split('_')[0]}, l. {self.line}"


def _require(entry: Mapping[str, Any], key: str, where: str, kind: type | tuple) -> Any:
    if key not in entry:
        raise ReferenceDataError(f"{where}: missing field {key!r}")
    value = entry[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ReferenceDataError(f"{where}: field {key!r} has the wrong type ({value!r})")
    return value


def _value(raw: Any, where: str) -> float | tuple[float, float]:
    number = (int, float)
    if isinstance(raw, number) and not isinstance(raw, bool):
        return float(raw)
    if (
        isinstance(raw, list)
        and len(raw) == 2
        and all(isinstance(bound, number) for bound in raw)
        and raw[0] <= raw[1]
    ):
        return (float(raw[0]), float(raw[1]))
    raise ReferenceDataError(f"{where}: value must be a number or [low, high], got {raw!r}")


def parse_references(data: Any) -> list[Reference]:
    """Validate the YAML document's structure; every error names the entry and what is wrong."""
    if not isinstance(data, dict) or not isinstance(data.get("references"), list):
        raise ReferenceDataError("the file must hold a mapping with a list under 'references'")
    references, seen = [], set()
    for index, entry in enumerate(data["references"]):
        where = f"reference #{index + 1}"
        if not isinstance(entry, dict):
            raise ReferenceDataError(f"{where}: expected a mapping, got {entry!r}")
        ident = _require(entry, "id", where, str)
        where = f"reference {ident!r}"
        if ident in seen:
            raise ReferenceDataError(f"{where}: id used twice")
        seen.add(ident)
        unit = _require(entry, "unit", where, str)
        if unit not in UNITS:
            raise ReferenceDataError(
                f"{where}: unknown unit {unit!r}: choose from {', '.join(UNITS)}"
            )
        source = _require(entry, "source", where, dict)
        target = _require(entry, "compare_to", where, dict)
        line = _require(source, "line", f"{where} source", int)
        if line < 1:
            raise ReferenceDataError(f"{where} source: line must be >= 1, got {line}")
        references.append(
            Reference(
                id=ident,
                quantity=_require(entry, "quantity", where, str),
                unit=unit,
                value=_value(_require(entry, "value", where, object), where),
                seed_file=_require(source, "file", f"{where} source", str),
                line=line,
                quote=_require(source, "quote", f"{where} source", str),
                task=_require(target, "task", f"{where} compare_to", str),
                metric=_require(target, "metric", f"{where} compare_to", str),
                approx=bool(entry.get("approx", False)),
                note=str(entry.get("note", "")),
            )
        )
    return references


def load_references(path: Path) -> list[Reference]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ReferenceDataError(f"{path} is not valid YAML: {error}") from None
    try:
        return parse_references(data)
    except ReferenceDataError as error:
        raise ReferenceDataError(f"{path}: {error}") from None


def check_reference_file(root: Path) -> None:
    """Reject a malformed references file before any work starts (a missing one is fine:
    the comparison section then says so)."""
    path = root / REFERENCES_FILE
    if path.exists():
        try:
            load_references(path)
        except ReferenceDataError as error:
            raise BuildInputError(f"{error} (fix the entry in {REFERENCES_FILE})") from None


_MISSING = object()


def resolve_metric(metrics: Any, path: str) -> Any:
    """The value at a dotted ``path`` in nested metrics; ``KeyError`` when there is none.

    Keys may contain dots themselves (``success_rate_at_0.05``): at each level the longest run
    of path parts that is a key wins. List items are addressed by their index.
    """
    parts, node, start = path.split("."), metrics, 0
    while start < len(parts):
        found = _MISSING
        for stop in range(len(parts), start, -1):
            key = ".".join(parts[start:stop])
            if isinstance(node, dict) and key in node:
                found, start = node[key], stop
                break
            if isinstance(node, list) and key.isdigit() and int(key) < len(node):
                found, start = node[int(key)], stop
                break
        if found is _MISSING:
            raise KeyError(path)
        node = found
    return node


@dataclass(frozen=True)
class ComparisonRow:
    reference: Reference
    observed: float | None
    # Why there is no value: the task was not built, or it did not record this metric.
    missing: str | None = None

    @property
    def this_run(self) -> str:
        if self.observed is None:
            return str(self.missing)
        return UNITS[self.reference.unit].show(self.observed)

    @property
    def difference(self) -> str:
        if self.observed is None:
            return "n/a"
        delta = self.reference.difference(self.observed)
        shown = UNITS[self.reference.unit].show_difference(delta)
        return (
            f"{shown} (inside)" if isinstance(self.reference.value, tuple) and not delta else shown
        )


def compare(
    references: Iterable[Reference],
    metrics: Mapping[str, Mapping[str, Any] | None],
    statuses: Mapping[str, str],
) -> list[ComparisonRow]:
    """One row per reference: ``metrics[task]`` is that task's metrics (None when it has no
    usable result this build), ``statuses[task]`` its build status."""
    rows = []
    for reference in references:
        task_metrics = metrics.get(reference.task)
        if task_metrics is None:
            status = statuses.get(reference.task)
            why = (
                f"{reference.task} not in this project"
                if status is None
                else f"{reference.task} {status} in this build"
            )
            rows.append(ComparisonRow(reference, None, why))
            continue
        try:
            value = resolve_metric(task_metrics, reference.metric)
        except KeyError:
            rows.append(ComparisonRow(reference, None, f"not measured by {reference.task}"))
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            why = (
                f"none ({reference.task} recorded no value)"
                if value is None
                else f"{reference.task}.{reference.metric} is not a number"
            )
            rows.append(ComparisonRow(reference, None, why))
            continue
        rows.append(ComparisonRow(reference, float(value)))
    return rows


def comparison_tables(rows: list[ComparisonRow], task_titles: Mapping[str, str]) -> list[dict]:
    """One table (as the report's table dicts) per task, in the order the tasks appear."""
    by_task: dict[str, list[ComparisonRow]] = {}
    for row in rows:
        by_task.setdefault(row.reference.task, []).append(row)
    tables = []
    for task, task_rows in by_task.items():
        tables.append(
            {
                "name": task,
                "columns": ["Quantity", "Reference", "Source", "This run", "Difference"],
                "rows": [
                    [
                        row.reference.quantity
                        + (f" ({row.reference.note})" if row.reference.note else ""),
                        row.reference.shown(),
                        row.reference.source,
                        row.this_run,
                        row.difference,
                    ]
                    for row in task_rows
                ],
                "caption": f"{task_titles.get(task, task.upper())}: the reference reports and this run",
            }
        )
    return tables


def unit_legend(rows: list[ComparisonRow]) -> str:
    """What the units of these rows mean, in the order of :data:`UNITS`."""
    units = {row.reference.unit for row in rows}
    return "; ".join(unit.legend for name, unit in UNITS.items() if name in units)


def summary_counts(rows: list[ComparisonRow]) -> dict[str, int]:
    compared = sum(row.observed is not None for row in rows)
    return {"references": len(rows), "compared": compared, "missing": len(rows) - compared}
