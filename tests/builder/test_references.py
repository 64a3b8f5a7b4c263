"""The comparison with the reference reports: the data file against its sources, metric lookup,
rows for tasks not built yet, and the section in a rendered report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from lazy_artist.builder.build import build
from lazy_artist.builder.publish import publish
from lazy_artist.builder.references import (
    REFERENCES_FILE,
    UNITS,
    ReferenceDataError,
    compare,
    comparison_tables,
    load_references,
    parse_references,
    resolve_metric,
    unit_legend,
)

from .conftest import REPO

SEEDS = REPO.parent / "shared" / "seeds"
REFERENCES = load_references(REPO / REFERENCES_FILE)


def entry(**overrides) -> dict:
    base = {
        "id": "x",
        "quantity": "Cheater, hard test accuracy",
        "unit": "percent",
        "value": 0.243,
        "source": {"file": "002_seed.txt", "line": 179, "quote": "24.3%"},
        "compare_to": {"task": "t1", "metric": "hard_test_acc"},
    }
    return {**base, **overrides}


def number_forms(reference) -> list[str]:
    """How the reference's number(s) may be written in the seed text (a share as a
    percentage or as a fraction)."""
    values = reference.value if isinstance(reference.value, tuple) else (reference.value,)
    forms = []
    for value in values:
        written = {value, 100 * value} if reference.unit == "percent" else {value}
        forms.append({f"{number:.{digits}f}" for number in written for digits in range(5)})
    return forms


@pytest.mark.skipif(
    not SEEDS.is_dir(), reason=f"the seed reports are not beside the repo ({SEEDS})"
)
@pytest.mark.parametrize("reference", REFERENCES, ids=lambda reference: reference.id)
def test_every_reference_number_is_copied_exactly_from_its_source(reference):
    lines = (SEEDS / reference.seed_file).read_text(encoding="utf-8").splitlines()
    assert reference.line <= len(lines), f"{reference.seed_file} has {len(lines)} lines"
    assert reference.quote in lines[reference.line - 1], (
        f"{reference.seed_file}:{reference.line} does not say {reference.quote!r}"
    )
    numbers_in_quote = set(re.findall(r"\d+(?:\.\d+)?", reference.quote))
    for forms in number_forms(reference):
        assert forms & numbers_in_quote, f"{reference.value} is not a number the quote states"


def test_the_references_cover_what_the_issue_lists():
    by_task = {}
    for reference in REFERENCES:
        by_task.setdefault(reference.task, []).append(reference)
    metrics = {reference.metric for reference in REFERENCES}
    assert {"easy_val_acc", "hard_test_acc"} <= metrics, "cheater easy and hard"
    # methods.<backbone>.<rule>.<method>.<field>
    methods = {m.split(".")[3] for m in metrics if m.startswith("methods.")}
    assert {"colour_aug", "colour_invariance", "cf_invar", "dann", "saliency_penalty"} <= methods
    assert any("success_rate_at_0.05" in metric for metric in metrics), "attack success rates"
    assert len({reference.id for reference in REFERENCES}) == len(REFERENCES)


def test_metric_paths_walk_nested_metrics_and_keys_with_dots():
    metrics = {
        "hard_test_acc": 0.1,
        "methods": {"cf_invar": {"hard_test_acc_mean": 0.9}},
        "attack": {"cheater": {"success_rate_at_0.05": 0.5, "success_rate_at_0.1": 0.8}},
        "curve": [0.1, 0.2],
    }
    assert resolve_metric(metrics, "hard_test_acc") == 0.1
    assert resolve_metric(metrics, "methods.cf_invar.hard_test_acc_mean") == 0.9
    assert resolve_metric(metrics, "attack.cheater.success_rate_at_0.05") == 0.5
    assert resolve_metric(metrics, "attack.cheater.success_rate_at_0.1") == 0.8
    assert resolve_metric(metrics, "curve.1") == 0.2
    for absent in ("curve.2", "methods.dann.hard_test_acc_mean", "hard_test_acc.deeper"):
        with pytest.raises(KeyError):
            resolve_metric(metrics, absent)


def test_rows_say_why_a_value_is_missing_instead_of_failing():
    references = parse_references(
        {
            "references": [
                entry(id="done"),
                entry(id="range", value=[0.2, 0.3]),
                entry(id="outside", value=[0.3, 0.4]),
                entry(id="no-metric", compare_to={"task": "t1", "metric": "nope"}),
                entry(id="text", compare_to={"task": "t1", "metric": "selection_rule"}),
                entry(id="none", compare_to={"task": "t1", "metric": "epochs_to_70"}),
                entry(id="failed", compare_to={"task": "t4", "metric": "best_method"}),
                entry(id="future", compare_to={"task": "t5", "metric": "attack.cheater.x"}),
            ]
        }
    )
    rows = compare(
        references,
        {"t1": {"hard_test_acc": 0.25, "selection_rule": "val", "epochs_to_70": None}, "t4": None},
        {"t1": "complete", "t4": "failed"},
    )
    shown = {row.reference.id: (row.this_run, row.difference) for row in rows}
    assert shown["done"] == ("25.0%", "+0.7 pp")
    assert shown["range"] == ("25.0%", "+0.0 pp (inside)")
    assert shown["outside"] == ("25.0%", "−5.0 pp")
    assert shown["no-metric"] == ("not measured by t1", "n/a")
    assert shown["text"] == ("t1.selection_rule is not a number", "n/a")
    assert shown["none"] == ("none (t1 recorded no value)", "n/a")
    assert shown["failed"] == ("t4 failed in this build", "n/a")
    assert shown["future"] == ("t5 not in this project", "n/a")

    (table,) = comparison_tables(rows[:1], {"t1": "T1: the cheater"})
    assert table["columns"] == ["Quantity", "Reference", "Source", "This run", "Difference"]
    assert table["rows"] == [
        ["Cheater, hard test accuracy", "24.3%", "002, l. 179", "25.0%", "+0.7 pp"]
    ]
    assert table["caption"] == "T1: the cheater: the reference reports and this run"
    assert "percentage points" in unit_legend(rows) and "ε" not in unit_legend(rows)


def test_units_and_approximate_values_are_shown_as_written():
    (approx, exact, epsilon) = parse_references(
        {
            "references": [
                entry(id="a", value=0.2, approx=True),
                entry(id="x", value=0.1152),
                entry(id="e", unit="epsilon", value=0.0445),
            ]
        }
    )
    assert approx.shown() == "≈20%" and exact.shown() == "11.52%" and epsilon.shown() == "0.0445"
    assert UNITS["epsilon"].show_difference(-0.002) == "−0.0020"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"refs": []}, "a list under 'references'"),
        ({"references": [entry(unit="furlongs")]}, "reference 'x': unknown unit 'furlongs'"),
        ({"references": [entry(value="high")]}, "reference 'x': value must be a number"),
        ({"references": [entry(value=[0.5, 0.1])]}, "value must be a number or [low, high]"),
        ({"references": [entry(), entry()]}, "reference 'x': id used twice"),
        ({"references": [{"id": "y"}]}, "reference 'y': missing field 'unit'"),
        (
            {"references": [entry(source={"file": "f", "line": 0, "quote": "q"})]},
            "line must be >= 1",
        ),
        (
            {"references": [entry(compare_to={"task": "t1"})]},
            "reference 'x' compare_to: missing field 'metric'",
        ),
    ],
)
def test_malformed_reference_data_is_rejected_naming_the_entry(document, message):
    with pytest.raises(ReferenceDataError, match=re.escape(message)):
        parse_references(document)


def test_the_report_ends_with_the_comparison_table(fixture_project):
    references = fixture_project.root / REFERENCES_FILE
    references.parent.mkdir()
    references.write_text(
        yaml.safe_dump(
            {
                "references": [
                    entry(
                        id="value",
                        quantity="Produced value",
                        unit="epochs",
                        value=2,
                        compare_to={"task": "produce", "metric": "value"},
                    ),
                    entry(id="later", compare_to={"task": "t7", "metric": "accuracy"}),
                ]
            }
        )
    )
    result = build(
        fixture_project, "quick", only=["produce"], stream=False, say=lambda message: None
    )
    publish(fixture_project, result.as_record())
    qmd = (fixture_project.report_dir / "report.qmd").read_text()
    comparison = qmd[qmd.index("# Comparison with the reference reports") :]
    assert "| Produced value | 2 | 002, l. 179 | 3 | +1 |" in comparison
    assert "t7 not in this project" in comparison
    assert "{#tbl-comparison-produce}" in comparison
    html = (fixture_project.report_dir / "report.html").read_text()
    assert 'id="tbl-comparison-produce"' in html and "Produced value" in html
    summary = json.loads((fixture_project.report_dir / "summary.json").read_text())
    rows = {row["id"]: row for row in summary["comparison"]}
    assert rows["value"]["this_run"] == 3 and rows["value"]["difference"] == 1
    assert (
        rows["later"]["this_run"] is None and rows["later"]["missing"] == "t7 not in this project"
    )


def test_a_broken_reference_file_is_reported_in_place(fixture_project):
    (fixture_project.root / "references").mkdir()
    (fixture_project.root / REFERENCES_FILE).write_text("references: [{id: q}]\n")
    result = build(
        fixture_project, "quick", only=["produce"], stream=False, say=lambda message: None
    )
    publish(fixture_project, result.as_record())
    qmd = (fixture_project.report_dir / "report.qmd").read_text()
    assert "**The reference data could not be read**" in qmd
    assert "reference \\'q\\': missing field \\'unit\\'" in qmd  # quotes escaped: run text


def test_the_packaged_path_is_where_the_repository_keeps_the_data():
    assert (REPO / REFERENCES_FILE).is_file()
    assert Path(REFERENCES_FILE).parts == ("references", "seed_results.yaml")
