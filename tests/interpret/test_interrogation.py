"""T3's protocol on a tiny T4 index: matched models of both backbones, same-resolution maps,
findings per backbone, the tables and the figure data."""

import numpy as np
import pytest

from lazy_artist.data.canvas import COLOUR_NAMES, CanvasSplit
from lazy_artist.interpret.contrast import colour_pairs
from lazy_artist.interpret.interrogation import (
    FINDING_COLUMNS,
    GRID_TABLE_COLUMNS,
    LAYER_COLUMNS,
    PER_SEED_COLUMNS,
    POOLED_COLUMNS,
    by_backbone,
    comparison_layers,
    describe,
    finding_rows,
    findings,
    first_of_each,
    first_seed,
    gradcam_grid,
    is_cheater,
    layer_rows,
    load_matched,
    measure_pairs,
    model_label,
    per_seed_rows,
    pooled_ratios,
    pooled_rows,
    ratio_panels,
)
from lazy_artist.methods.artefacts import MethodIndex
from lazy_artist.zoo import DEFAULT_BACKBONE, load_study_model
from tests._t4_index import add_untrained_run


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    """ERM and cf_invar on both backbones, seeds 0 and 1 (random weights, width 4); cf_invar
    is the debiased winner on both."""
    t4 = tmp_path_factory.mktemp("interrogation") / "t4"
    index = MethodIndex(t4 / "artefacts" / "models", default_backbone=DEFAULT_BACKBONE)
    for backbone, rule in (("cheater_cnn", "easy_val"), ("lenet_cnn", "conflict_val")):
        for method in ("erm", "cf_invar"):
            for seed in (0, 1):
                add_untrained_run(index, method, backbone, seed, default_rule=rule)
        index.set_best("erm", backbone=backbone, rule="conflict_val")
        index.set_best("cf_invar", backbone, "conflict_val", debiased=True)
    index.save()
    return {"t4": str(t4)}


def _split(n: int = 24) -> CanvasSplit:
    rng = np.random.default_rng(0)
    digits = np.zeros((n, 28, 28), dtype=np.uint8)
    digits[:, 6:22, 11:17] = 255  # a bar, with background all round it
    labels = np.arange(n) % 10
    return CanvasSplit(
        images=np.zeros((n, 3, 28, 28), np.float32),
        gray=np.zeros((n, 1, 28, 28), np.float32),
        labels=labels,
        colours=rng.integers(0, 10, n),
        digits=digits,
        source_index=np.arange(n),
    )


@pytest.fixture(scope="module")
def measured(upstream):
    pairs = colour_pairs(_split(), bg_range=(0.05, 0.25), seed=0)
    return measure_pairs(load_matched(upstream, "all", None), pairs, seed=0), pairs


def test_pairs_are_matched_and_each_backbone_keeps_one_layer_and_resolution(measured):
    entries, _ = measured
    assert [(e.pair.backbone, e.pair.seed) for e in entries] == [
        ("cheater_cnn", 0),
        ("cheater_cnn", 1),
        ("lenet_cnn", 0),
        ("lenet_cnn", 1),
    ]
    for entry in entries:
        ref, cand = entry.models
        assert (ref.model.backbone, ref.model.seed, ref.model.rule) == (
            cand.model.backbone,
            cand.model.seed,
            cand.model.rule,
        )
        assert (ref.model.method, cand.model.method) == ("erm", "cf_invar")
        assert (ref.layer, ref.resolution) == (cand.layer, cand.resolution)
    layers = comparison_layers(entries)
    assert layers["cheater_cnn"] == {
        "layer": "conv3",
        "resolution": [7, 7],
        "reference": "erm",
        "candidate": "cf_invar",
    }
    assert layers["lenet_cnn"]["layer"] == "conv4" and layers["lenet_cnn"]["resolution"] == [14, 14]
    record = entries[0].reference.record()
    assert record["backbone"] == "cheater_cnn" and record["gradcam_resolution"] == [7, 7]
    assert record["label"] == "erm = cheater · cheater_cnn #0" and record["is_cheater"]
    assert [a.cheater for e in entries for a in e.models] == [True] + [False] * 7
    assert list(by_backbone(entries)) == ["cheater_cnn", "lenet_cnn"]


def test_the_cheater_label_goes_to_erm_on_the_cheater_backbone_seed_0_only(upstream):
    cheater = load_study_model(upstream, "cheater")
    assert is_cheater(cheater, "easy_val") and not is_cheater(cheater, "conflict_val")
    other = load_study_model(upstream, "erm@lenet_cnn#0")
    assert not is_cheater(other) and model_label(other) == "erm · lenet_cnn #0"
    assert model_label(load_study_model(upstream, "cheater#1")) == "erm · cheater_cnn #1"


def test_models_of_different_resolution_are_never_compared(upstream):
    loaded = load_matched(upstream, "cheater_cnn", 1)
    pair, reference, _ = loaded[0]
    lenet = load_study_model(upstream, "cf_invar@lenet_cnn#0")
    pairs = colour_pairs(_split(10), bg_range=(0.05, 0.25))
    with pytest.raises(ValueError, match="not comparable"):
        measure_pairs([(pair, reference, lenet)], pairs)


def test_findings_are_per_backbone_and_name_it(measured):
    entries, _ = measured
    found = findings(entries, "predicted", 0.1, n_boot=50)
    assert [f.name for f in found] == [
        "erm_attention_spreads_on_conflicting [cheater_cnn]",
        "erm_spreads_more_than_cf_invar [cheater_cnn]",
        "cf_invar_attention_stable [cheater_cnn]",
        "erm_attention_spreads_on_conflicting [lenet_cnn]",
        "erm_spreads_more_than_cf_invar [lenet_cnn]",
        "cf_invar_attention_stable [lenet_cnn]",
    ]
    assert all(f.stat.n_seeds == 2 and f.stat.n_images == 24 for f in found)
    assert "conv3 (7x7)" in found[0].detail and "conv4 (14x14)" in found[3].detail
    # The statistic is computed from the two models' own maps on the same images.
    ref = [e.reference.by_target["predicted"] for e in by_backbone(entries)["lenet_cnn"]]
    cand = [e.candidate.by_target["predicted"] for e in by_backbone(entries)["lenet_cnn"]]
    gaps = [
        r["conflicting"].regions.pooled_ratio() - c["conflicting"].regions.pooled_ratio()
        for r, c in zip(ref, cand, strict=True)
    ]
    assert found[4].stat.per_seed == pytest.approx(gaps)
    rows = finding_rows(found)
    assert len(rows) == 6 and all(len(row) == len(FINDING_COLUMNS) for row in rows)
    assert rows[2][5] == "upper bound ≤ 0.1" and rows[0][5] == "interval > 0"


def test_tables_name_backbone_and_seed(measured):
    entries, _ = measured
    pooled = pooled_ratios(entries, n_boot=50)
    # backbones x methods x targets x colourings
    assert len(pooled) == 2 * 2 * 2 * 2
    first = pooled[0]
    assert (first.backbone, first.method, first.group, first.target) == (
        "cheater_cnn",
        "erm",
        "aligned",
        "predicted",
    )
    assert first.n_maps == 2 * 24 and first.ratio.n_seeds == 2
    assert all(len(row) == len(POOLED_COLUMNS) for row in pooled_rows(pooled))
    seeds = per_seed_rows(entries, "predicted")
    assert len(seeds) == 4 * 2 * 2 and all(len(r) == len(PER_SEED_COLUMNS) for r in seeds)
    assert seeds[0][:4] == ["cheater_cnn", "erm", 0, "easy_val"]
    layers = layer_rows(entries, (28, 28))
    assert all(len(r) == len(LAYER_COLUMNS) for r in layers)
    assert layers[0] == ["cheater_cnn", "erm", "0, 1", "conv3", "7×7", "28×28 (bilinear)"]
    assert layers[2][3:5] == ["conv4", "14×14"]
    panels = ratio_panels(entries, "predicted", pooled)
    assert list(panels) == ["cheater_cnn", "lenet_cnn"]
    assert panels["cheater_cnn"]["title"] == "cheater_cnn: conv3, 7×7 maps"
    assert len(panels["lenet_cnn"]["ratios"]["erm"]["aligned"]) == 2 * 24
    assert len(panels["lenet_cnn"]["per_seed"]["cf_invar"]["conflicting"]) == 2


def test_the_grid_shows_the_first_seed_of_each_backbone(measured):
    entries, pairs = measured
    shown_models = first_seed(entries)
    assert [(a.model.backbone, a.model.seed) for a in shown_models] == [
        ("cheater_cnn", 0),
        ("cheater_cnn", 0),
        ("lenet_cnn", 0),
        ("lenet_cnn", 0),
    ]
    shown = first_of_each(pairs.aligned.labels, [0, 3, 12])
    assert shown == [0, 3]
    grid = gradcam_grid(shown_models, pairs, shown)
    assert len(grid.cells) == 1 + 4 and all(len(row) == 4 for row in grid.cells)
    assert grid.row_labels[1] == "erm = cheater\ncheater_cnn #0"
    assert grid.column_titles == ["digit 0", "", "digit 3", ""]
    assert len(grid.table_rows) == 4 * 4
    assert all(len(r) == len(GRID_TABLE_COLUMNS) for r in grid.table_rows)
    assert describe(pairs.aligned, 3) == f"3 · {COLOUR_NAMES[3]}"  # aligned: its own colour


def test_what_the_report_text_reads(measured):
    from lazy_artist.interpret.interrogation import headline, nested_ratios, used_colour_by_method

    entries, _ = measured
    pooled = pooled_ratios(entries, n_boot=20)
    nested = nested_ratios(pooled, "true")
    assert set(nested) == {"cheater_cnn", "lenet_cnn"}
    assert set(nested["lenet_cnn"]) == {"erm", "cf_invar"}
    assert nested["lenet_cnn"]["erm"]["conflicting"]["target"] == "true"
    used = used_colour_by_method(entries)
    expected = np.mean([e.candidate.used_colour for e in by_backbone(entries)["cheater_cnn"]])
    assert used["cheater_cnn"]["cf_invar"] == pytest.approx(expected)
    text = headline(pooled, "predicted", comparison_layers(entries))
    assert "cheater_cnn (conv3 7×7, 2 seed(s)): erm " in text and "lenet_cnn (conv4 14×14" in text
