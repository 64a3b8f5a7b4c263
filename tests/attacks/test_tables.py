"""T5's summaries and tables: each row names its backbone and seed, candidates get the ratio
to their matched ERM, cross-model rows none; the checklist is flat; seeds pool per group."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lazy_artist.attacks.compare import compare_min_epsilon
from lazy_artist.attacks.study import CANDIDATE, CROSS_MODEL, REFERENCE, ComparedModels
from lazy_artist.attacks.tables import (
    attack_table,
    checklist,
    comparison_table,
    group_records,
    groups,
    model_summaries,
    pooled_curves,
)
from lazy_artist.zoo import MatchedPair, StudyModel

from .conftest import PLAN, THRESHOLDS, fake_battery


def _model(name, method, backbone, seed, kind="colour"):
    return StudyModel(name, None, kind, "t4", {}, backbone, method, seed, "easy_val")


@pytest.fixture
def compared():
    pairs = [
        MatchedPair("cheater_cnn", s, "easy_val", "cf_invar", f"erm#{s}", f"cf#{s}") for s in (0, 1)
    ]
    models = {
        "cheater": _model("cheater", "erm", "cheater_cnn", 0),
        "cf_invar@cheater_cnn": _model("cf_invar@cheater_cnn", "cf_invar", "cheater_cnn", 0),
        "erm@cheater_cnn#1": _model("erm@cheater_cnn#1", "erm", "cheater_cnn", 1),
        "cf_invar@cheater_cnn#1": _model("cf_invar@cheater_cnn#1", "cf_invar", "cheater_cnn", 1),
        "gray_oracle": _model("gray_oracle", "gray_oracle", "lenet_cnn", 0, "gray"),
    }
    roles = dict(
        zip(models, [REFERENCE, CANDIDATE, REFERENCE, CANDIDATE, CROSS_MODEL], strict=True)
    )
    labels = {
        "erm#0": "cheater",
        "cf#0": "cf_invar@cheater_cnn",
        "erm#1": "erm@cheater_cnn#1",
        "cf#1": "cf_invar@cheater_cnn#1",
    }
    return ComparedModels(models, roles, pairs, labels, {"cheater_cnn": 0})


@pytest.fixture
def results():
    return {
        "cheater": fake_battery([0.04, 0.05, 0.06]),
        "cf_invar@cheater_cnn": fake_battery([0.08, 0.1, 0.3]),
        "erm@cheater_cnn#1": fake_battery([0.05, 0.05, 0.2], strength=False),
        "cf_invar@cheater_cnn#1": fake_battery([0.2, 0.3, 0.4], strength=False),
        "gray_oracle": fake_battery([0.3, math.inf, math.inf]),
    }


def test_summaries_name_backbone_seed_role_and_the_ratio_to_the_matched_erm(compared, results):
    summary = model_summaries(compared, results, PLAN)
    assert summary["cf_invar@cheater_cnn"]["ratio_to_matched_erm"] == pytest.approx(0.1 / 0.05)
    assert summary["cf_invar@cheater_cnn#1"]["ratio_to_matched_erm"] == pytest.approx(0.3 / 0.05)
    assert summary["cf_invar@cheater_cnn#1"]["matched_reference"] == "erm@cheater_cnn#1"
    assert summary["cheater"]["ratio_to_matched_erm"] is None  # a reference has none
    oracle = summary["gray_oracle"]
    assert oracle["ratio_to_matched_erm"] is None and oracle["role"] == CROSS_MODEL
    assert oracle["median_min_eps"] is None and oracle["backbone"] == "lenet_cnn"
    assert summary["erm@cheater_cnn#1"]["seed"] == 1

    columns, rows, formats = attack_table(summary, PLAN)
    assert columns[:4] == ["model", "backbone", "seed", "role"]
    assert "success at eps 0.1" in formats and "mean best P(3) at 0.1" in formats
    by_name = {row[0]: row for row in rows}
    assert by_name["cf_invar@cheater_cnn"][8] == "2.00"
    assert by_name["gray_oracle"][8] == "n/a" and by_name["gray_oracle"][-2] == 2
    # fake batteries carry no convergence run: "unchecked", never a pass they did not earn
    assert columns[-1] == "converged" and by_name["gray_oracle"][-1] == "unchecked"


def test_the_checklist_is_flat_and_names_each_model(results):
    checks = checklist(results, PLAN, THRESHOLDS)
    assert "2x steps and restarts agree [cheater]" in checks
    assert "2x steps and restarts agree [erm@cheater_cnn#1]" not in checks  # no re-run
    assert "no zero gradients [gray_oracle]" in checks
    # The oracle's two unbroken samples: success at epsilon 1 is not total.
    assert not checks["large epsilon breaks everything [gray_oracle]"].passed
    assert checks["large epsilon breaks everything [cheater]"].passed


def test_groups_pool_seeds_per_method_and_backbone(compared, results):
    grouped = groups(compared)
    assert grouped == {
        "erm@cheater_cnn": ["cheater", "erm@cheater_cnn#1"],
        "cf_invar@cheater_cnn": ["cf_invar@cheater_cnn", "cf_invar@cheater_cnn#1"],
        "gray_oracle@lenet_cnn (cross-model)": ["gray_oracle"],
    }
    pooled = pooled_curves(results, grouped)
    erm = pooled["erm@cheater_cnn"]
    assert erm["seeds"] == 2 and len(erm["min_epsilon"]) == 6
    expected = np.mean(
        [results[n].search.success_curve() for n in ("cheater", "erm@cheater_cnn#1")], axis=0
    )
    assert np.allclose(erm["pgd_success"], expected)
    assert erm["median_min_eps"] == 0.05
    assert pooled["gray_oracle@lenet_cnn (cross-model)"]["median_min_eps"] is None
    records = group_records(pooled, grouped, PLAN)
    assert records["erm@cheater_cnn"]["models"] == ["cheater", "erm@cheater_cnn#1"]
    # Success at 0.1, mean over seeds: 3 of 3 (cheater) and 2 of 3 (seed 1) broken by then.
    assert records["erm@cheater_cnn"]["success_rate_at_0.1"] == pytest.approx(5 / 6)
    assert records["cf_invar@cheater_cnn"]["success_rate_at_0.5"] == pytest.approx(1.0)


def test_the_comparison_table_names_a_winner_only_when_the_check_holds():
    reference = [np.linspace(0.02, 0.2, 50)]
    harder = compare_min_epsilon(
        [3 * reference[0]], reference, 2.0, backbone="cheater_cnn",
        candidate_method="cf_invar", reference_method="erm", seeds=[0],
    )  # fmt: skip
    tied = compare_min_epsilon(
        [reference[0][::-1]], reference, 2.0, backbone="lenet_cnn",
        candidate_method="lff", reference_method="erm", seeds=[0],
    )  # fmt: skip
    columns, rows = comparison_table({"cheater_cnn": harder, "lenet_cnn": tied})
    assert columns[0] == "backbone" and len(rows) == 2
    assert rows[0][1] == "cf_invar vs erm" and rows[0][-1] == "cf_invar"
    assert rows[1][-1] == "not measurably different"
