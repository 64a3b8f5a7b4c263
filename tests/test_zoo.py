import pytest
import torch

from lazy_artist.methods.artefacts import MethodIndex
from lazy_artist.zoo import (
    CHEATER,
    DEFAULT_BACKBONE,
    ModelName,
    load_study_model,
    parse_model_name,
    parse_model_names,
)
from tests._t4_index import add_untrained_run


@pytest.fixture
def upstream(tmp_path):
    """A T4 index with erm/gray_oracle on both backbones, seeds 0 and 1, both rules each
    (the conflict_val checkpoint is a different network, so the rule visibly matters)."""
    t4 = tmp_path / "t4"
    index = MethodIndex(t4 / "artefacts" / "models", default_backbone=DEFAULT_BACKBONE)
    nets = {}
    for backbone, rule in (("cheater_cnn", "easy_val"), ("lenet_cnn", "conflict_val")):
        for method in ("erm", "gray_oracle"):
            for seed in (0, 1):
                networks = add_untrained_run(
                    index, method, backbone, seed, default_rule=rule, distinct_rules=True
                )
                for which, network in networks.items():
                    nets[(backbone, method, seed, which)] = network
        index.set_best("gray_oracle", backbone=backbone, rule="conflict_val")
        index.set_best("erm", backbone=backbone, rule="easy_val")
    index.save()
    return {"t4": str(t4)}, nets


def _same(model, network, channels=3):
    x = torch.rand(2, channels, 28, 28)
    network.eval()
    return torch.allclose(model.network(x), network(x))


def test_the_cheater_is_erm_on_the_cheater_backbone_seed_0_under_its_recipe_rule(upstream):
    dirs, nets = upstream
    cheater = load_study_model(dirs, CHEATER)
    assert (cheater.name, cheater.source, cheater.input_kind) == ("cheater", "t4", "colour")
    assert (cheater.backbone, cheater.method, cheater.seed, cheater.rule) == (
        "cheater_cnn",
        "erm",
        0,
        "easy_val",
    )
    assert _same(cheater, nets[("cheater_cnn", "erm", 0, "easy_val")])
    same = load_study_model(dirs, "erm@cheater_cnn")
    assert same.name == "erm@cheater_cnn" and _same(
        same, nets[("cheater_cnn", "erm", 0, "easy_val")]
    )
    assert load_study_model(dirs, "cheater#1").seed == 1


def test_names_select_backbone_seed_and_rule(upstream):
    dirs, nets = upstream
    model = load_study_model(dirs, "erm@lenet_cnn#1")
    assert (model.backbone, model.seed, model.rule) == ("lenet_cnn", 1, "conflict_val")
    assert _same(model, nets[("lenet_cnn", "erm", 1, "conflict_val")])
    model = load_study_model(dirs, "erm@lenet_cnn#1:easy_val")
    assert model.rule == "easy_val" and _same(model, nets[("lenet_cnn", "erm", 1, "easy_val")])
    # The seed argument applies when the name has none.
    assert load_study_model(dirs, "erm@lenet_cnn", seed=1).seed == 1
    assert model.record()["backbone"] == "lenet_cnn"


def test_old_names_keep_their_meaning_on_the_default_backbone(upstream):
    dirs, nets = upstream
    erm = load_study_model(dirs, "erm")
    assert erm.name == "erm" and erm.backbone == DEFAULT_BACKBONE
    best = load_study_model(dirs, "best")
    # "best" resolves to the winner's own name (oracle-style rule) and its input kind.
    assert (best.name, best.input_kind, best.rule) == ("gray_oracle", "gray", "conflict_val")
    assert _same(best, nets[(DEFAULT_BACKBONE, "gray_oracle", 0, "conflict_val")], channels=1)
    winner = load_study_model(dirs, "best@cheater_cnn")
    assert winner.name == "gray_oracle@cheater_cnn" and winner.backbone == "cheater_cnn"
    assert load_study_model(dirs, "best@cheater_cnn:easy_val").method == "erm"


def test_missing_upstream_or_unknown_model_is_a_clear_error(upstream):
    dirs, _ = upstream
    with pytest.raises(KeyError, match="t4"):
        load_study_model({}, CHEATER)
    with pytest.raises(KeyError, match="no 'dann' model"):
        load_study_model(dirs, "dann")
    with pytest.raises(KeyError, match="for seed 7"):
        load_study_model(dirs, "erm#7")


@pytest.mark.parametrize(
    ("name", "parsed"),
    [
        ("cheater", ModelName("cheater", None, None, None)),
        ("best@cheater_cnn", ModelName("best", "cheater_cnn", None, None)),
        ("cf_invar@lenet_cnn#1", ModelName("cf_invar", "lenet_cnn", 1, None)),
        ("erm#2:easy_val", ModelName("erm", None, 2, "easy_val")),
    ],
)
def test_parse_model_name(name, parsed):
    assert parse_model_name(name) == parsed
    assert parsed.display() == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("resnet", "unknown model 'resnet'"),
        ("erm@resnet", "unknown backbone 'resnet'"),
        ("erm:hard_test", "unknown selection rule 'hard_test'"),
        ("cheater@lenet_cnn", "ERM on cheater_cnn"),
        ("erm#one", "is not <model>"),
        ("", "is not <model>"),
    ],
)
def test_bad_names_fail_with_one_clear_line(name, message):
    with pytest.raises(ValueError, match=message):
        parse_model_name(name)


def test_parse_model_names():
    assert parse_model_names(" cheater, best ,,erm") == ["cheater", "best", "erm"]
    assert parse_model_names(["a", " b "]) == ["a", "b"]


@pytest.fixture
def matched(tmp_path):
    """A T4 index with erm and two methods on both backbones (three seeds of erm and
    cf_invar, one of lff), cf_invar the debiased winner on lenet_cnn and lff on cheater_cnn."""
    t4 = tmp_path / "t4"
    index = MethodIndex(t4 / "artefacts" / "models", default_backbone=DEFAULT_BACKBONE)
    for backbone, rule in (("cheater_cnn", "easy_val"), ("lenet_cnn", "conflict_val")):
        for method, seeds in (("erm", (0, 1, 2)), ("cf_invar", (0, 1, 2)), ("lff", (0,))):
            for seed in seeds:
                add_untrained_run(index, method, backbone, seed, default_rule=rule)
        index.set_best("erm", backbone=backbone, rule="conflict_val")
    index.set_best("cf_invar", "lenet_cnn", "conflict_val", debiased=True)
    index.set_best("lff", "cheater_cnn", "conflict_val", debiased=True)
    index.save()
    return {"t4": str(t4)}


def test_matched_pairs_hold_everything_but_the_method_fixed(matched):
    from lazy_artist.zoo import matched_pairs

    pairs = matched_pairs(matched)
    # lenet_cnn: ERM ranked first, yet the pair compares it with the best *debiasing* method.
    lenet = [p for p in pairs if p.backbone == "lenet_cnn"]
    assert [p.seed for p in lenet] == [0, 1, 2]
    assert {p.method for p in lenet} == {"cf_invar"}
    assert lenet[1].names == ("erm@lenet_cnn#1:conflict_val", "cf_invar@lenet_cnn#1:conflict_val")
    # cheater_cnn: its recipe rule for both models; lff has one seed, so one pair.
    cheater = [p for p in pairs if p.backbone == "cheater_cnn"]
    assert [(p.seed, p.rule, p.method) for p in cheater] == [(0, "easy_val", "lff")]
    # Both names load, and the reference on cheater_cnn is the cheater's own checkpoint.
    ref, cand = (load_study_model(matched, n) for n in cheater[0].names)
    assert (ref.backbone, ref.method, ref.rule) == (cand.backbone, "erm", cand.rule)
    assert cand.method == "lff"
    assert torch.equal(
        next(iter(ref.network.state_dict().values())),
        next(iter(load_study_model(matched, CHEATER).network.state_dict().values())),
    )
    assert cheater[0].record()["chosen_on"] == "conflict_val"


def test_matched_pairs_select_backbones_and_seeds_or_say_what_is_missing(matched):
    from lazy_artist.zoo import matched_pairs, parse_backbone_selection

    assert [p.seed for p in matched_pairs(matched, "lenet_cnn", n_seeds=2)] == [0, 1]
    assert parse_backbone_selection("all") is None
    with pytest.raises(ValueError, match="unknown or missing backbone"):
        parse_backbone_selection("resnet")
    with pytest.raises(ValueError, match="raise t4.n_seeds"):
        matched_pairs(matched, "cheater_cnn", n_seeds=3)
    with pytest.raises(ValueError, match="n_seeds must be"):
        matched_pairs(matched, "all", n_seeds=0)
    with pytest.raises(KeyError, match="t4"):
        matched_pairs({}, "all")
