"""T4's protocol: run planning, both selection rules from one run, aggregation with intervals,
grouping, the winner and tie logic, the bias sweep and the per-colour table."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from lazy_artist.methods.algorithms import ALGORITHMS, get_algorithm_class
from lazy_artist.methods.artefacts import MethodIndex, load_method, read_index
from lazy_artist.methods.base import GROUPS
from lazy_artist.methods.grid import (
    RunRecord,
    RunSpec,
    aggregate,
    bias_independent,
    compare_winners,
    comparison_rows,
    per_colour_rows,
    plan_runs,
    record_winners,
    run_bias_sweep,
    run_grid,
    unconverged,
)
from lazy_artist.methods.memo import RunMemo
from lazy_artist.methods.recipes import RECIPES
from lazy_artist.methods.trainer import MethodResult
from lazy_artist.stats import mean_ci95, paired_t_test
from tests.methods.test_algorithms import tiny_canvas

TINY_RECIPES = {
    "cheater_cnn": dataclasses.replace(RECIPES["cheater_cnn"], width=4, epochs=2, batch_size=64),
    "lenet_cnn": dataclasses.replace(RECIPES["lenet_cnn"], width=4, epochs=1, batch_size=64),
}


@pytest.fixture(scope="module")
def canvas():
    return tiny_canvas(n_train=256)


def _fake(method: str, seed: int, accs: dict[str, dict[str, float]]) -> RunRecord:
    """A record whose per-rule accuracies are given (no training)."""
    selections = {
        rule: {"epoch": 1 + i, "score": 0.0, "selected": dict(values)}
        for i, (rule, values) in enumerate(accs.items())
    }
    result = MethodResult(
        method,
        {},
        [{"epoch": 1, "losses": {"loss": 9.0}}],
        1,
        "r",
        0.0,
        selections["conflict_val"]["selected"],
        1.0,
        1.0,
        1,
        1,
        selections=selections,
    )
    record = RunRecord(RunSpec("lenet_cnn", method, seed), algorithm=None, result=result)
    record.following = {"easy_val": 0.5, "conflict_val": 0.25}
    return record


def _accs(val, conflict, hard):
    return {"val": val, "conflict_val": conflict, "hard_test": hard}


def test_plan_covers_every_backbone_method_seed_once():
    specs = plan_runs(["erm", "cf_invar"], ["cheater_cnn", "lenet_cnn"], [0, 1, 2])
    assert len(specs) == 12 and len({s.key for s in specs}) == 12
    assert [s.backbone for s in specs[:6]] == ["cheater_cnn"] * 6, "backbone-major order"
    with pytest.raises(ValueError, match="unknown algorithm"):
        plan_runs(["erm", "magic"], ["lenet_cnn"], [0])
    with pytest.raises(ValueError, match="repeats"):
        plan_runs(["erm", "erm"], ["lenet_cnn"], [0])


def test_every_registered_method_declares_its_privileged_information():
    groups = {name: get_algorithm_class(name).privileged for name in ALGORITHMS}
    assert set(groups.values()) <= set(GROUPS)
    assert {n for n, g in groups.items() if g == "colour_generator"} == {
        "colour_aug",
        "colour_invariance",
        "cf_invar",
        "logit_consistency",
    }
    assert {n for n, g in groups.items() if g == "nuisance_labels"} == {
        "group_dro",
        "dann",
        "dann_colour",
        "saliency_penalty",
    }
    assert {n for n, g in groups.items() if g == "none"} == {"erm", "lff", "input_gradient"}
    assert groups["gray_oracle"] == "oracle"


def test_aggregate_gives_the_mean_and_t_interval_per_rule():
    hard = {0: 0.90, 1: 0.94, 2: 0.95}
    records = {
        ("lenet_cnn", "erm", s): _fake(
            "erm",
            s,
            {
                "easy_val": _accs(0.99, 0.50, 0.40 + s / 100),
                "conflict_val": _accs(0.98, 0.80, hard[s]),
            },
        )
        for s in (0, 1, 2)
    }
    table = aggregate(records, ["lenet_cnn"], ["erm"], [0, 1, 2])
    row = table["lenet_cnn"]["conflict_val"]["erm"]
    expected = mean_ci95(list(hard.values()))
    assert row["hard_test_acc_mean"] == pytest.approx(expected.mean)
    assert row["hard_test_acc_ci95"] == pytest.approx([expected.lo, expected.hi])
    assert row["hard_test_acc_per_seed"] == [0.90, 0.94, 0.95]
    assert table["lenet_cnn"]["easy_val"]["erm"]["hard_test_acc_mean"] == pytest.approx(0.41)
    assert row["group"] == "none" and row["n_seeds"] == 3 and row["selected_epochs"] == [2, 2, 2]
    assert row["colour_following_mean"] == pytest.approx(0.25)


def _table(per_method: dict[str, list[tuple[float, float, float]]]):
    records = {}
    for method, runs in per_method.items():
        for seed, (val, conflict, hard) in enumerate(runs):
            accs = _accs(val, conflict, hard)
            records[("lenet_cnn", method, seed)] = _fake(
                method, seed, {"easy_val": accs, "conflict_val": accs}
            )
    seeds = list(range(len(next(iter(per_method.values())))))
    return aggregate(records, ["lenet_cnn"], list(per_method), seeds)


def test_winner_is_chosen_on_the_rules_split_never_hard_and_tested_against_runner_up():
    table = _table(
        {
            # a: best conflict validation, b: best easy validation, oracle: best hard (excluded)
            "cf_invar": [(0.95, 0.96, 0.90), (0.95, 0.97, 0.91), (0.95, 0.96, 0.92)],
            "colour_aug": [(0.99, 0.90, 0.99), (0.99, 0.91, 0.99), (0.99, 0.90, 0.98)],
            "gray_oracle": [(0.999, 0.999, 0.999)] * 3,
        }
    )
    winners = compare_winners(table)["lenet_cnn"]
    assert winners["conflict_val"]["winner"] == "cf_invar"
    assert winners["conflict_val"]["runner_up"] == "colour_aug"
    assert winners["easy_val"]["winner"] == "colour_aug"
    test = paired_t_test([0.90, 0.91, 0.92], [0.99, 0.99, 0.98])
    assert winners["conflict_val"]["p_value"] == pytest.approx(test.p_value)
    assert winners["conflict_val"]["hard_diff"] == pytest.approx(test.mean_diff)
    assert winners["conflict_val"]["tied"] is False  # a large, consistent difference


def test_a_noisy_difference_is_tied_and_one_seed_is_untestable():
    table = _table(
        {
            "cf_invar": [(0.9, 0.96, 0.90), (0.9, 0.96, 0.99), (0.9, 0.96, 0.80)],
            "colour_aug": [(0.9, 0.95, 0.91), (0.9, 0.95, 0.95), (0.9, 0.95, 0.85)],
        }
    )
    entry = compare_winners(table)["lenet_cnn"]["conflict_val"]
    assert entry["winner"] == "cf_invar" and entry["tied"] is True and entry["testable"]
    single = compare_winners(_table({"erm": [(0.9, 0.5, 0.3)], "lff": [(0.9, 0.4, 0.2)]}))
    entry = single["lenet_cnn"]["conflict_val"]
    assert entry["testable"] is False and entry["tied"] is True and entry["p_value"] is None


def test_comparison_rows_are_grouped_by_privileged_information():
    table = _table({m: [(0.9, 0.9, 0.9)] * 2 for m in ("erm", "group_dro", "cf_invar", "lff")})
    rows = comparison_rows(
        table["lenet_cnn"]["conflict_val"], order=["erm", "group_dro", "cf_invar", "lff"]
    )
    assert [row[1] for row in rows] == ["cf_invar", "group_dro", "erm", "lff"]
    assert rows[0][0] == GROUPS["colour_generator"] and rows[2][0] == GROUPS["none"]
    assert rows[0][4] == "90.0 [90.0, 90.0]"


def test_unconverged_reads_the_easy_validation_checkpoint():
    records = {
        ("lenet_cnn", "dann", 0): _fake(
            "dann", 0, {"easy_val": _accs(0.5, 0.1, 0.1), "conflict_val": _accs(0.4, 0.2, 0.1)}
        )
    }
    found = unconverged(records, 0.9)
    assert found == [
        {
            "backbone": "lenet_cnn",
            "method": "dann",
            "seed": 0,
            "easy_val_acc": 0.5,
            "first_epoch_losses": {"loss": 9.0},
        }
    ]


def test_grid_trains_both_rules_from_one_run_reuses_the_memo_and_indexes_both(tmp_path, canvas):
    memo = RunMemo(tmp_path / "memo")
    index = MethodIndex(tmp_path / "t4" / "artefacts" / "models", default_backbone="lenet_cnn")
    specs = plan_runs(["erm", "gray_oracle"], ["cheater_cnn", "lenet_cnn"], [0, 1])
    records = run_grid(
        specs, canvas, TINY_RECIPES, memo=memo, index=index, probe_images=20, log=lambda _: None
    )
    assert memo.misses == 8 and memo.hits == 0
    record = records[("cheater_cnn", "erm", 0)]
    history = record.result.history
    for rule, split in (("easy_val", "val"), ("conflict_val", "conflict_val")):
        chosen = record.result.selections[rule]
        best = max(history, key=lambda row: (row[f"acc_{split}"], -row["epoch"]))
        assert chosen["epoch"] == best["epoch"], "each rule keeps its own best epoch of the run"
        assert chosen["selected"]["hard_test"] == history[chosen["epoch"] - 1]["acc_hard_test"]
    assert record.following["easy_val"] is not None
    assert records[("lenet_cnn", "gray_oracle", 0)].following["conflict_val"] is None

    table = aggregate(records, ["cheater_cnn", "lenet_cnn"], ["erm", "gray_oracle"], [0, 1])
    winners = compare_winners(table)
    record_winners(index, winners)
    index.save()
    assert read_index(tmp_path / "t4")["backbones"]["cheater_cnn"]["rule"] == "easy_val"
    network, _, meta = load_method(tmp_path / "t4", "erm", seed=0, backbone="cheater_cnn")
    assert meta["rule"] == "easy_val" and meta["backbone"] == "cheater_cnn"
    x = torch.rand(3, 3, 28, 28)
    assert torch.allclose(network(x), record.network("easy_val")(x))

    again = run_grid(specs, canvas, TINY_RECIPES, memo=memo, log=lambda _: None)
    assert memo.hits == 8, "a second grid reuses every run"
    reused = again[("cheater_cnn", "erm", 0)]
    assert reused.result.selections == record.result.selections
    assert torch.allclose(reused.network("conflict_val")(x), record.network("conflict_val")(x))

    sweep = run_bias_sweep(
        {0.9: canvas},
        ["erm"],
        TINY_RECIPES["lenet_cnn"],
        [0, 1],
        "conflict_val",
        records=records,
        comparison=canvas,
        log=lambda _: None,
    )
    assert sweep["training_seconds"] == 0.0, "the comparison canvas reads the grid's runs"
    point = sweep["hard_test_acc"]["erm"][0]
    assert point["mean"] == pytest.approx(
        table["lenet_cnn"]["conflict_val"]["erm"]["hard_test_acc_mean"]
    )
    assert point["n"] == 2

    # Another canvas object with the same content: ERM is retrained there (to the grid's very
    # numbers: same seed, same data); gray_oracle sees no colour, so it is read from the grid
    # once and drawn flat, never retrained.
    assert bias_independent("gray_oracle") and not bias_independent("erm")
    twin = dataclasses.replace(canvas)
    swept = run_bias_sweep(
        {0.9: canvas, 0.8: twin},
        ["erm", "gray_oracle"],
        TINY_RECIPES["lenet_cnn"],
        [0, 1],
        "conflict_val",
        records=records,
        comparison=canvas,
        log=lambda _: None,
    )
    assert swept["flat"] == ["gray_oracle"]
    assert swept["training_seconds"] > 0, "ERM is trained on the other canvas"
    erm, gray = swept["hard_test_acc"]["erm"], swept["hard_test_acc"]["gray_oracle"]
    assert erm[1]["mean"] == pytest.approx(erm[0]["mean"], abs=1e-12)
    assert gray[0] == gray[1]
    assert gray[0]["mean"] == pytest.approx(
        table["lenet_cnn"]["conflict_val"]["gray_oracle"]["hard_test_acc_mean"]
    )
    with pytest.raises(ValueError, match="comparison canvas"):
        run_bias_sweep({0.9: canvas}, ["gray_oracle"], TINY_RECIPES["lenet_cnn"], [0], "val")

    colours = per_colour_rows(records, canvas, "lenet_cnn", ["erm", "erm"], [0, 1], "conflict_val")
    assert list(colours) == ["erm"] and len(colours["erm"]) == 10
    assert sum(row["images"] for row in colours["erm"]) == len(canvas["hard_test"])
    hard = canvas["hard_test"]
    manual = []
    for s in (0, 1):
        preds = (
            records[("lenet_cnn", "erm", s)]
            .network("conflict_val")(torch.from_numpy(hard.images))
            .argmax(1)
            .numpy()
        )
        mask = hard.colours == 3
        manual.append(float(np.mean(preds[mask] == hard.labels[mask])))
    assert colours["erm"][3]["mean"] == pytest.approx(np.mean(manual), abs=1e-6)


def test_the_debiased_winner_is_the_best_method_other_than_erm():
    table = _table({"erm": [(0.99, 0.9, 0.3)], "lff": [(0.9, 0.6, 0.5)], "dann": [(0.9, 0.4, 0.4)]})
    entry = compare_winners(table)["lenet_cnn"]["conflict_val"]
    assert (entry["winner"], entry["debiased_winner"]) == ("erm", "lff")
    assert (
        compare_winners(_table({"erm": [(0.9, 0.5, 0.3)]}))["lenet_cnn"]["easy_val"][
            "debiased_winner"
        ]
        is None
    )
