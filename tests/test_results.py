"""The Recorder: what a notebook records lands in results.json unchanged; it is read back only
through read-only views, and notebooks do not read back what they just recorded."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest

from lazy_artist.results import RESULTS_FILE, Recorder, load_results

REPO = Path(__file__).resolve().parents[1]


def thawed(value):
    """A view back as plain JSON values (mappings to dicts, tuples to lists)."""
    if isinstance(value, MappingProxyType | dict):
        return {key: thawed(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [thawed(item) for item in value]
    return value


@pytest.fixture
def rec(tmp_path) -> Recorder:
    rec = Recorder(tmp_path / "t9", task="t9")
    rec.metric("accuracy", np.float32(0.75))
    rec.metric("per_seed", np.array([1, 2, 3]))
    rec.metric("nested", {"a": [1, {"b": math.nan}]})
    rec.check("accurate", np.bool_(True), "0.75 >= 0.5")
    rec.table("t", ["n", "square"], [[1, 1], [2, 4]], caption="Squares", formats={"n": "d"})
    return rec


def test_recording_returns_what_was_recorded(rec):
    assert rec.metric("seeds", 3) == 3
    assert rec.check("held", 1 > 0, "1 > 0") is True
    assert rec.headline("accuracy 75.0%") == "accuracy 75.0%"
    assert rec.headline_text == "accuracy 75.0%"


def test_the_views_are_what_results_json_holds(rec):
    rec.headline("accuracy 75.0%")
    saved = load_results(rec.save().parent)
    assert saved == json.loads((rec.output_dir / RESULTS_FILE).read_text())
    assert thawed(rec.metrics) == saved["metrics"]
    assert saved["metrics"]["nested"] == {"a": [1, {"b": None}]}  # NaN -> None, valid JSON
    assert (
        thawed(rec.checks)
        == saved["checks"]
        == {"accurate": {"passed": True, "detail": "0.75 >= 0.5"}}
    )
    assert thawed(rec.tables) == saved["tables"]
    assert thawed(rec.figures) == saved["figures"] == {}
    assert rec.headline_text == saved["headline"]


def test_the_views_are_read_only_all_the_way_down(rec):
    with pytest.raises(TypeError):
        rec.metrics["accuracy"] = 1.0
    with pytest.raises(TypeError):
        rec.metrics["nested"]["a"][1]["b"] = 0
    with pytest.raises(AttributeError):
        rec.metrics["per_seed"].append(4)
    with pytest.raises(TypeError):
        rec.checks["accurate"]["passed"] = False
    with pytest.raises(AttributeError):
        rec.headline_text = "typed by hand"
    assert rec.metrics["accuracy"] == 0.75 and rec.checks["accurate"]["passed"] is True


def test_a_view_is_a_snapshot_and_the_record_moves_on(rec):
    before = rec.metrics
    rec.metric("accuracy", 0.5)
    assert before["accuracy"] == 0.75 and rec.metrics["accuracy"] == 0.5


@pytest.mark.parametrize(
    "notebook", sorted((REPO / "analyses").glob("*.py")), ids=lambda path: path.name
)
def test_notebooks_read_no_trailing_underscore_fields(notebook):
    source = notebook.read_text(encoding="utf-8")
    found = re.findall(r"\brec\.(?:metrics|checks|tables|figures|headline)_\b", source)
    assert not found, f"{notebook.name} reads {sorted(set(found))}: use the value it recorded"
