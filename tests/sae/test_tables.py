"""T6's tables and figures name every model's backbone, method and seed."""

import matplotlib
import matplotlib.pyplot as plt
import pytest

from lazy_artist.sae.compare import CANDIDATE, REFERENCE, compare_pairs, comparison_panels
from lazy_artist.sae.plots import (
    ablation_comparison,
    ablation_data,
    feature_rows,
    seed_comparison,
    selectivity_points,
    selectivity_scatter,
)
from lazy_artist.sae.tables import (
    comparison_table,
    interventions_table,
    quality_table,
    selectivity_table,
)
from tests.sae.fakes import analysis, pairs, result

matplotlib.use("Agg")


@pytest.fixture
def matched():
    """Two backbones x two seeds; seed 0 swept at two configurations, seed 1 at the focus."""
    found, analyses = pairs(seeds=(0, 1)), []
    for pair in found:
        for role, name, share in ((REFERENCE, pair.reference, 0.9), (CANDIDATE, pair.candidate, 0.2)):  # fmt: skip
            extra = [result(name, "features:vector")] if pair.seed == 0 else []
            focus = result(name, colour=(share, 0.8, 0.1), digit=(0.5, 0.2, 0.7), flip=share / 2)
            analyses.append(
                analysis(name, role, pair.backbone, pair.seed, focus, pair.seed == 0, extra)
            )
    return found, analyses


def test_every_row_names_backbone_model_and_seed(matched):
    _, analyses = matched
    quality = quality_table(analyses)
    assert quality["columns"][:4] == ["backbone", "model", "seed", "configuration"]
    assert len(quality["rows"]) == 4 * 2 + 4  # swept models: two SAEs; the others: one
    assert quality["rows"][0][:4] == ["cheater_cnn", "erm", 0, "conv3:spatial_mean"]
    selectivity = selectivity_table(analyses, 4.0)
    assert "flips: colour x4" in selectivity["formats"]
    assert selectivity["rows"][0][-2] == "2.0% ± 1.0"  # random draws 1%, 2%, 3%
    interventions = interventions_table(analyses[:2], 3, 4.0)
    assert [row[4] for row in interventions["rows"][:3]] == ["none", "top 3 colour x0", "top 3 colour x4"]  # fmt: skip
    assert {row[1] for row in interventions["rows"]} == {"erm", "cf_invar"}
    for table in (quality, selectivity, interventions):
        assert all(len(row) == len(table["columns"]) for row in table["rows"])


def test_comparison_table_and_figures(matched):
    found, analyses = matched
    comparisons = compare_pairs(found, {a.name: a for a in analyses})
    table = comparison_table(comparisons)
    assert len(table["rows"]) == 2 * 3  # backbones x measures
    row = table["rows"][0]
    assert row[:4] == ["cheater_cnn", "colour-dominated features", "conv3:spatial_mean", "0, 1"]
    assert row[5] == "cf_invar" and row[-1] == "erm larger"  # a constant shift: p = 0
    swept = [a for a in analyses if a.full_sweep]
    figures = [
        seed_comparison(comparison_panels(comparisons)),
        selectivity_scatter(selectivity_points(swept[:2])),
        ablation_comparison(*ablation_data(swept)),
    ]
    assert len(figures[0].axes) == 3
    assert set(selectivity_points(swept[:2])["features:vector"]) == {"erm #0", "cf_invar #0"}
    results, colours = ablation_data(swept)
    assert colours["cheater_cnn: cf_invar #0"] == "cf_invar"
    assert set(results["cheater_cnn: erm #0"]) == {"conv3:spatial_mean", "features:vector"}
    rows = feature_rows(swept[0], 1, 2)
    assert [r.label for r in rows] == ["colour #0", "digit #2"]
    for fig in figures:
        plt.close(fig)
