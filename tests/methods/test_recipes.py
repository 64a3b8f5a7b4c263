"""One recipe per backbone: resolution, overrides and their validation before any work."""

import pytest

from lazy_artist.methods.design import ALLOWED_DATA, DECISIONS, hard_test_free
from lazy_artist.methods.recipes import (
    RECIPES,
    check_method_hparams,
    parse_backbones,
    resolve_recipes,
)
from lazy_artist.methods.selection import RULES, best_epochs
from lazy_artist.models import known_models


def test_every_recipe_names_a_registered_backbone_and_a_rule():
    for name, recipe in RECIPES.items():
        assert recipe.backbone == name and name in known_models()
        assert recipe.selection in RULES
    # The cheater is ERM with T1's recipe: fp32, 7 epochs, easy-validation selection.
    cheater = RECIPES["cheater_cnn"]
    assert (cheater.epochs, cheater.precision, cheater.selection, cheater.width) == (
        7,
        "fp32",
        "easy_val",
        8,
    )


def test_overrides_apply_per_backbone_and_leave_the_registry_alone():
    resolved = resolve_recipes("cheater_cnn, lenet_cnn", {"lenet_cnn": {"epochs": 6, "lr": 1e-3}})
    assert list(resolved) == ["cheater_cnn", "lenet_cnn"]
    assert resolved["lenet_cnn"].epochs == 6 and resolved["lenet_cnn"].lr == 1e-3
    assert RECIPES["lenet_cnn"].epochs == 4
    assert resolved["cheater_cnn"] == RECIPES["cheater_cnn"]


@pytest.mark.parametrize(
    ("backbones", "overrides", "message"),
    [
        ("resnet", {}, "unknown or missing backbone"),
        ("", {}, "unknown or missing backbone"),
        ("lenet_cnn,lenet_cnn", {}, "twice"),
        ("lenet_cnn", {"resnet": {}}, "no recipe for backbone"),
        ("lenet_cnn", {"lenet_cnn": {"epoch": 3}}, "unknown field"),
        ("lenet_cnn", {"lenet_cnn": {"epochs": 0}}, "epochs must be an integer >= 1"),
        ("lenet_cnn", {"lenet_cnn": {"epochs": True}}, "epochs must be an integer"),
        ("lenet_cnn", {"lenet_cnn": {"lr": 0}}, "lr must be > 0"),
        ("lenet_cnn", {"lenet_cnn": {"precision": "fp16"}}, "precision must be one of"),
        ("lenet_cnn", {"lenet_cnn": {"selection": "hard_test"}}, "selection must be one of"),
        ("lenet_cnn", {"lenet_cnn": 4}, "must map backbones"),
    ],
)
def test_bad_backbones_or_overrides_fail_with_one_clear_line(backbones, overrides, message):
    with pytest.raises(ValueError, match=message):
        resolve_recipes(backbones, overrides)


def test_method_hparams_may_not_change_the_shared_recipe():
    check_method_hparams({"cf_invar": {"lambda_cf": 2.0}})
    with pytest.raises(ValueError, match="belong to the backbone's recipe"):
        check_method_hparams({"cf_invar": {"lr": 0.1}})
    assert parse_backbones(["lenet_cnn"]) == ["lenet_cnn"]


def test_both_rules_pick_their_own_epoch_from_one_history_and_never_read_hard():
    history = [
        {"epoch": 1, "acc_val": 0.99, "acc_conflict_val": 0.10, "acc_hard_test": 0.05},
        {"epoch": 2, "acc_val": 0.97, "acc_conflict_val": 0.60, "acc_hard_test": 0.99},
        {"epoch": 3, "acc_val": 0.99, "acc_conflict_val": 0.60, "acc_hard_test": 0.50},
    ]
    assert best_epochs(history) == {"easy_val": 1, "conflict_val": 2}  # earliest wins ties
    with pytest.raises(ValueError, match="unknown selection rule"):
        best_epochs(history, ["hard_test"])


def test_no_design_decision_was_made_on_the_hard_test_set():
    assert hard_test_free() == []
    for decision in DECISIONS:
        parts = [part.strip() for part in decision.chosen_on.split(";")]
        assert all(part in ALLOWED_DATA for part in parts), decision
