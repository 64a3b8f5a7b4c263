"""IG completeness summaries: per (model, output, baseline), the worst gap, the map row."""

import math

import numpy as np
import pytest

from lazy_artist.data.canvas import CanvasSplit
from lazy_artist.interpret.ig_summary import (
    MAP_TITLES,
    ROW_COLUMNS,
    GapSummary,
    completeness,
    completeness_gaps,
    gaps_by_model,
    map_row,
)
from lazy_artist.zoo import StudyModel


def _split(images, labels, masks) -> CanvasSplit:
    return CanvasSplit(
        images=images.numpy(),
        gray=images.mean(1, keepdim=True).numpy(),
        labels=labels.numpy(),
        colours=labels.numpy(),
        digits=masks.numpy(),
        source_index=np.arange(len(labels)),
    )


def test_gaps_cover_every_model_output_and_baseline_and_shrink_with_steps(trained_tiny):
    model, images, labels, masks = trained_tiny
    split = _split(images[:6], labels[:6], masks[:6])
    study = StudyModel(
        "tiny", model, "colour", "test", {}, backbone="tiny_cnn", method="erm", seed=0
    )
    coarse = completeness_gaps([study], split, steps=2)
    fine = completeness_gaps([study], split, steps=64)
    assert [(g.output, g.baseline) for g in fine] == [
        ("logits", "zero"),
        ("logits", "blur"),
        ("softmax", "zero"),
        ("softmax", "blur"),
    ]
    assert all(len(g.row()) == len(ROW_COLUMNS) for g in fine)
    logit_coarse, logit_fine = coarse[0].median, fine[0].median
    assert logit_fine < logit_coarse, "more trapezoid steps, a smaller quadrature error"
    by_model = gaps_by_model(fine)
    assert set(by_model["tiny"]) == {"logits", "softmax"}
    assert by_model["tiny"]["logits"]["zero"] == fine[0].median


def _gap(median: float, output: str = "logits") -> GapSummary:
    return GapSummary(
        "m", "b", "erm", 0, output, "zero", 0 if math.isnan(median) else 5, median, median, 0.5
    )


def test_the_check_reads_the_worst_measured_gap_and_can_fail():
    result = completeness([_gap(0.001), _gap(0.02, "softmax"), _gap(float("nan"))], 0.01)
    assert result.worst.median == 0.02 and result.n_unmeasured == 1
    assert not result.passed
    assert "largest median completeness gap 0.0200" in result.detail(8, 32)
    assert "1 (model, output, baseline) with no output change" in result.detail(8, 32)
    assert completeness([_gap(0.001), _gap(0.005)], 0.01).passed
    nothing = completeness([_gap(float("nan"))], 0.01)
    assert nothing.worst is None and not nothing.passed
    assert "not measurable" in nothing.detail(8, 32)


def test_map_row_has_a_cell_per_title(trained_tiny):
    model, images, labels, masks = trained_tiny
    split = _split(images[:3], labels[:3], masks[:3])
    study = StudyModel("tiny", model, "colour", "test", {})
    row = map_row(study, split, 1, steps=8, caption="x")
    assert len(row) == len(MAP_TITLES)
    assert row[0].heat is None and all(cell.heat is not None for cell in row[1:])
    assert all(cell.heat.max() == pytest.approx(1.0) for cell in row[1:] if cell.heat.max() > 0)
