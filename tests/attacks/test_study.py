"""Which models T5 attacks and what it calls them: matched pairs loaded once, labels that load
the same checkpoint again, cross-model rows kept apart."""

from __future__ import annotations

import pytest
import torch

from lazy_artist.attacks.study import (
    CANDIDATE,
    CROSS_MODEL,
    REFERENCE,
    is_cheater,
    load_compared_models,
    short_name,
)
from lazy_artist.methods.artefacts import MethodIndex, read_index
from lazy_artist.zoo import DEFAULT_BACKBONE, load_study_model, matched_pairs
from tests._t4_index import add_untrained_run


@pytest.fixture
def upstream(tmp_path):
    """T4 with erm, cf_invar and gray_oracle on both backbones, seeds 0 and 1; cf_invar the
    best debiasing method on both (each rule a different network)."""
    t4 = tmp_path / "t4"
    index = MethodIndex(t4 / "artefacts" / "models", default_backbone=DEFAULT_BACKBONE)
    for backbone, rule in (("cheater_cnn", "easy_val"), ("lenet_cnn", "conflict_val")):
        for method in ("erm", "cf_invar", "gray_oracle"):
            for seed in (0, 1):
                add_untrained_run(
                    index, method, backbone, seed, default_rule=rule, distinct_rules=True
                )
        index.set_best("erm", backbone=backbone, rule="conflict_val")
        index.set_best("cf_invar", backbone, "conflict_val", debiased=True)
    index.save()
    return {"t4": str(t4)}


def _weights(model) -> torch.Tensor:
    return next(iter(model.network.state_dict().values()))


def test_labels_always_name_method_and_backbone_and_drop_only_default_seed_and_rule(upstream):
    index = read_index(upstream["t4"])
    assert short_name("erm", "cheater_cnn", 0, "easy_val", index) == "erm@cheater_cnn"
    assert short_name("erm", "cheater_cnn", 0, "conflict_val", index) == (
        "erm@cheater_cnn:conflict_val"
    )
    assert short_name("erm", "cheater_cnn", 1, "easy_val", index) == "erm@cheater_cnn#1"
    assert short_name("cf_invar", "lenet_cnn", 0, "conflict_val", index) == "cf_invar@lenet_cnn"
    assert short_name("cf_invar", "lenet_cnn", 1, "easy_val", index) == (
        "cf_invar@lenet_cnn#1:easy_val"
    )
    assert is_cheater("erm", "cheater_cnn", 0) and not is_cheater("erm", "lenet_cnn", 0)


def test_pairs_are_loaded_once_labelled_by_names_that_load_them_again(upstream):
    pairs = matched_pairs(upstream)
    compared = load_compared_models(upstream, pairs, "gray_oracle@lenet_cnn,erm@lenet_cnn")
    assert compared.names == [
        "erm@cheater_cnn",
        "cf_invar@cheater_cnn",
        "erm@cheater_cnn#1",
        "cf_invar@cheater_cnn#1",
        "erm@lenet_cnn",
        "cf_invar@lenet_cnn",
        "erm@lenet_cnn#1",
        "cf_invar@lenet_cnn#1",
        "gray_oracle@lenet_cnn",  # the extra erm@lenet_cnn is the pair's: not repeated
    ]
    assert compared.roles["erm@cheater_cnn"] == REFERENCE
    assert compared.roles["cf_invar@lenet_cnn#1"] == CANDIDATE
    assert compared.roles["gray_oracle@lenet_cnn"] == CROSS_MODEL
    for name, model in compared.models.items():
        again = load_study_model(upstream, name)
        assert model.record() == {**again.record(), "name": name}
        assert torch.equal(_weights(model), _weights(again))
    # The pair's own (long) names map to the labels, and the cheater is T1's model.
    assert compared.labels["erm@cheater_cnn#0:easy_val"] == "erm@cheater_cnn"
    cheater = compared.models["erm@cheater_cnn"]
    assert (cheater.backbone, cheater.method, cheater.seed, cheater.rule) == (
        "cheater_cnn",
        "erm",
        0,
        "easy_val",
    )
    assert compared.matched_reference("cf_invar@lenet_cnn#1") == "erm@lenet_cnn#1"
    assert compared.matched_reference("gray_oracle@lenet_cnn") is None
    records = compared.records()
    assert records[0]["role"] == REFERENCE and {"backbone", "seed", "rule"} <= set(records[0])


def test_the_showcase_is_each_backbones_first_seed_pair_and_the_extra_rows(upstream):
    compared = load_compared_models(upstream, matched_pairs(upstream), "gray_oracle@lenet_cnn")
    assert compared.showcase() == [
        "erm@cheater_cnn",
        "cf_invar@cheater_cnn",
        "erm@lenet_cnn",
        "cf_invar@lenet_cnn",
        "gray_oracle@lenet_cnn",
    ]
    assert compared.first_pairs() == [
        ("erm@cheater_cnn", "cf_invar@cheater_cnn"),
        ("erm@lenet_cnn", "cf_invar@lenet_cnn"),
    ]
    only = load_compared_models(upstream, matched_pairs(upstream, "lenet_cnn", n_seeds=1), "")
    assert only.names == ["erm@lenet_cnn", "cf_invar@lenet_cnn"] == only.showcase()


def test_no_pairs_or_an_unknown_extra_model_is_a_clear_error(upstream):
    with pytest.raises(ValueError, match="no matched pairs"):
        load_compared_models(upstream, [], "")
    with pytest.raises(ValueError, match="unknown model 'wizard'"):
        load_compared_models(upstream, matched_pairs(upstream), "wizard")
