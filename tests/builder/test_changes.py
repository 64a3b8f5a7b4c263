"""Changes between two builds: moved metrics (beyond the tolerance only), flipped checks, re-run
tasks with their reason, "no change", and the real path through build + publish."""

from __future__ import annotations

import json

import pytest

from lazy_artist.builder.build import build
from lazy_artist.builder.cache import TaskKeyParts
from lazy_artist.builder.changes import (
    ABS_TOL,
    LAST_SUMMARY,
    PREVIOUS_SUMMARY,
    REL_TOL,
    SummaryFileError,
    compare_summaries,
    flatten,
    key_inputs,
    load_summary,
)
from lazy_artist.builder.publish import publish


def inputs(**changed) -> dict:
    parts = dict(
        notebook_text="print(1)",
        params={"epochs": 1, "hparams": {"cf_invar": {"lambda_cf": 1.0}}},
        library="a" * 64,
        upstream_ids={"t0": "b" * 64},
        data_identity={"mnist": "c" * 64},
        versions={"torch": "2.0"},
        device="cpu",
    )
    parts.update(changed)
    return key_inputs(TaskKeyParts(**parts))


def task(status="cached", key="k1", metrics=None, checks=None, **extra) -> dict:
    return {
        "status": status,
        "runtime_s": 1.0,
        "checks": checks if checks is not None else {"holds": True},
        "metrics": metrics if metrics is not None else {"acc": 0.9},
        "key": key,
        "key_inputs": extra.pop("key_inputs", inputs()),
        **extra,
    }


def summary(**tasks) -> dict:
    return {
        "profile": "quick",
        "started_at": "2026-12-01T00:00:00+00:00",
        "git": {},
        "tasks": tasks,
    }


def test_identical_summaries_are_no_change():
    before = summary(t0=task(), t4=task(metrics={"methods": {"erm": {"hard": 0.8}}}))
    changes = compare_summaries(before, json.loads(json.dumps(before)))
    assert changes.no_change
    assert (changes.metrics, changes.checks, changes.tasks) == ([], [], [])
    assert changes.as_dict()["no_change"] is True
    assert "no change" in changes.as_text()


def test_a_metric_beyond_the_tolerance_is_listed_and_one_within_it_is_not():
    before = summary(t4=task(metrics={"big": 0.5, "small": 0.5, "count": 10}))
    within = 0.5 * (1 + REL_TOL / 10)
    after = summary(t4=task(metrics={"big": 0.51, "small": within, "count": 11}))
    changes = compare_summaries(before, after)
    assert [(row.task, row.metric) for row in changes.metrics] == [("t4", "big"), ("t4", "count")]
    big = changes.metrics[0]
    assert (big.before, big.after, big.change) == (0.5, 0.51, "+0.01")
    assert not changes.no_change


def test_wall_times_that_moved_are_counted_not_listed():
    before = summary(t4=task(metrics={"acc": 0.5, "seconds": 3.0, "m": {"train_seconds": 1.0}}))
    after = summary(t4=task(metrics={"acc": 0.6, "seconds": 4.0, "m": {"train_seconds": 2.0}}))
    changes = compare_summaries(before, after)
    assert [row.metric for row in changes.metrics] == ["acc"]
    assert changes.timings_moved == 2 and changes.as_dict()["timings_moved"] == 2
    only_timings = compare_summaries(
        before, summary(t4=task(metrics={"acc": 0.5, "seconds": 9.0, "m": {"train_seconds": 1.0}}))
    )
    assert only_timings.timings_moved == 1 and only_timings.no_change


def test_the_absolute_tolerance_keeps_noise_around_zero_out():
    before = summary(t1=task(metrics={"gap": 0.0}))
    after = summary(t1=task(metrics={"gap": ABS_TOL / 2}))
    assert compare_summaries(before, after).metrics == []
    assert compare_summaries(before, summary(t1=task(metrics={"gap": ABS_TOL * 3}))).metrics


def test_nested_metrics_are_compared_by_path():
    metrics = {"methods": {"erm": {"hard": 0.8, "seeds": [0.7, 0.9]}, "cf": {"hard": 0.95}}}
    moved = json.loads(json.dumps(metrics))
    moved["methods"]["erm"]["seeds"][1] = 0.85
    moved["methods"]["new"] = {"hard": 0.5}
    changes = compare_summaries(summary(t4=task(metrics=metrics)), summary(t4=task(metrics=moved)))
    rows = {row.metric: (row.before, row.after) for row in changes.metrics}
    assert set(rows) == {"methods.erm.seeds[1]", "methods.new.hard"}
    assert rows["methods.erm.seeds[1]"] == (0.9, 0.85)
    assert changes.as_dict()["metrics"][1]["before"] is None  # absent before


def test_flatten_keeps_text_and_empty_containers_as_leaves():
    assert flatten({"a": {"b": [1, {"c": "x"}]}, "d": [], "e": None}) == {
        "a.b[0]": 1,
        "a.b[1].c": "x",
        "d": [],
        "e": None,
    }


def test_a_text_metric_that_changed_is_listed():
    before = summary(t4=task(metrics={"best_method": "cf_invar"}))
    after = summary(t4=task(metrics={"best_method": "group_dro"}))
    [row] = compare_summaries(before, after).metrics
    assert (row.metric, row.before, row.after, row.change) == (
        "best_method",
        "cf_invar",
        "group_dro",
        "",
    )


def test_a_flipped_check_is_listed():
    before = summary(t1=task(checks={"easy": True, "hard": True}))
    after = summary(t1=task(checks={"easy": True, "hard": False}))
    [row] = compare_summaries(before, after).checks
    assert (row.task, row.check, row.before, row.after) == ("t1", "hard", True, False)
    assert "FAILED" in compare_summaries(before, after).as_text()


def test_a_re_run_task_names_the_changed_parameter_and_its_dependants_the_upstream():
    changed = {"epochs": 1, "hparams": {"cf_invar": {"lambda_cf": 2.0}}}
    before = summary(t0=task(key="k0"), t4=task(key="k4"), t6=task(key="k6"))
    after = summary(
        t0=task(key="k0"),
        t4=task(status="complete", key="k4b", key_inputs=inputs(params=changed)),
        t6=task(
            status="complete",
            key="k6b",
            key_inputs=inputs(upstream_ids={"t0": "b" * 64, "t4": "x"}),
        ),
    )
    rows = {row.task: row for row in compare_summaries(before, after).tasks}
    assert set(rows) == {"t4", "t6"}, "t0 was cached with the same key: not listed"
    assert rows["t4"].why == "re-ran: parameters changed (hparams)"
    assert (rows["t4"].before, rows["t4"].after) == ("cached", "complete")
    assert rows["t6"].why == "re-ran: upstream task changed (t4)"


def test_rerun_reasons_for_notebook_library_and_versions():
    before = summary(t1=task(key="a"))
    after = summary(
        t1=task(
            status="complete",
            key="b",
            key_inputs=inputs(
                notebook_text="print(2)", library="d" * 64, versions={"torch": "2.1"}
            ),
        )
    )
    [row] = compare_summaries(before, after).tasks
    assert row.why == (
        "re-ran: notebook edited; library code changed; package versions changed (torch 2.0 -> 2.1)"
    )


def test_a_forced_rerun_and_a_baseline_without_key_inputs_are_said_as_such():
    forced = compare_summaries(summary(t1=task()), summary(t1=task(status="complete")))
    assert forced.tasks[0].why == "re-ran with unchanged inputs (--force)"
    old = summary(t1=task(key="a", key_inputs=None))
    new = summary(t1=task(status="complete", key="b"))
    assert "baseline does not record which" in compare_summaries(old, new).tasks[0].why


def test_a_task_that_failed_now_is_listed_with_its_error_and_no_metric_rows():
    before = summary(t7=task())
    after = summary(
        t7=task(status="failed", metrics={}, checks={}, error="DataUnavailableError: x")
    )
    changes = compare_summaries(before, after)
    assert [(row.task, row.before, row.after, row.why) for row in changes.tasks] == [
        ("t7", "cached", "failed", "DataUnavailableError: x")
    ]
    assert changes.metrics == [] and changes.checks == []


def test_load_summary_rejects_missing_and_malformed_files(tmp_path):
    with pytest.raises(SummaryFileError, match="does not exist"):
        load_summary(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SummaryFileError, match="not valid JSON"):
        load_summary(bad)
    bad.write_text('{"profile": "quick"}')
    with pytest.raises(SummaryFileError, match="no 'tasks' object"):
        load_summary(bad)


def test_rebuilds_report_what_changed_then_no_change(fixture_project):
    """The real path: build + publish, a parameter change, then a rebuild with no change."""
    report = fixture_project.report_dir
    only = ["produce", "consume"]

    def build_and_publish(**overrides) -> tuple[dict, str]:
        result = build(fixture_project, "quick", only=only, stream=False, overrides=overrides)
        publish(fixture_project, result.as_record())
        return json.loads((report / "summary.json").read_text()), (
            report / "report.qmd"
        ).read_text()

    first, qmd = build_and_publish()
    assert first["changes"]["baseline"] is None
    assert "There is no earlier build of the quick profile" in qmd

    second, qmd = build_and_publish(produce={"value": 4})
    changes = second["changes"]
    assert changes["baseline"].startswith("the previous quick build of ")
    assert [(row["task"], row["why"]) for row in changes["tasks"]] == [
        ("produce", "re-ran: parameters changed (value)"),
        ("consume", "re-ran: upstream task changed (produce)"),
    ]
    assert [
        (row["task"], row["metric"], row["before"], row["after"]) for row in changes["metrics"]
    ] == [
        ("produce", "value", 3, 4),
        ("consume", "product", 6, 8),
    ]
    assert changes["checks"] == []
    assert "# Changes since the previous build" in qmd
    # Cells are escaped for markdown by the report's table helper ("\+1", "re\-ran").
    assert "| produce | value | 3 | 4 |" in qmd and "| consume | product | 6 | 8 |" in qmd
    assert "upstream task changed" in qmd and "parameters changed" in qmd

    store = fixture_project.build_dir / "quick"
    assert json.loads((store / PREVIOUS_SUMMARY).read_text())["started_at"] == first["started_at"]
    assert json.loads((store / LAST_SUMMARY).read_text())["started_at"] == second["started_at"]

    third, qmd = build_and_publish(produce={"value": 4})
    assert third["changes"]["no_change"] is True
    assert "**No change**" in qmd


def test_a_baseline_file_is_compared_with_and_its_published_page_linked(fixture_project, tmp_path):
    result = build(fixture_project, "quick", only=["produce"], stream=False, say=lambda m: None)
    published = tmp_path / "previous"
    published.mkdir()
    baseline = summary(produce=task(status="complete", metrics={"value": 2}, checks={}))
    (published / "summary.json").write_text(json.dumps(baseline))
    (published / "index.html").write_text("<html>the previous report</html>")
    publish(fixture_project, result.as_record(), baseline=published / "summary.json")
    changes = json.loads((fixture_project.report_dir / "summary.json").read_text())["changes"]
    assert changes["baseline"].startswith(f"{published / 'summary.json'}: quick build of")
    assert changes["previous_report"] == "previous/index.html"
    assert [(row["metric"], row["before"], row["after"]) for row in changes["metrics"]] == [
        ("value", 2, 3)
    ]
    qmd = (fixture_project.report_dir / "report.qmd").read_text()
    assert "(previous/index" in qmd, "the section links the previous report"
