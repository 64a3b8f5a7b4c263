import numpy as np
import pytest

from lazy_artist.interpret.probe import LayerProbe
from lazy_artist.interpret.prober_findings import model_tag, prober_findings
from lazy_artist.interpret.prober_study import ModelProbe, ProbedModel, PrototypeSet
from lazy_artist.interpret.selectivity import Selectivity
from lazy_artist.zoo import MatchedPair

THRESHOLD, WIN = 0.5, 0.9
EVIDENCE = "on 100 hard_test images"


def _layer(colour_dominated: int, of: int) -> LayerProbe:
    """A layer with ``of`` active channels, the first ``colour_dominated`` led by colour."""
    colour = np.array([0.9] * colour_dominated + [0.1] * (of - colour_dominated))
    return LayerProbe(Selectivity(colour=colour, digit=1.0 - colour), np.ones(of, bool))


def _probed(method, backbone, seed, conv3, features, margins=(0.1, 0.2)) -> ProbedModel:
    """conv3 / features: colour-dominated channels out of 10."""
    probe = ModelProbe(
        {"conv1": _layer(5, 10), "conv3": _layer(conv3, 10), "features": _layer(features, 10)},
        deciding=["conv3", "features"],
    )
    name = f"{method}@{backbone}#{seed}:easy_val"
    record = {"name": name, "method": method, "backbone": backbone, "seed": seed, "rule": "r"}
    return ProbedModel(record, probe, PrototypeSet(margins=[np.array(margins)]))


def _pair(backbone, seed, method="cf_invar") -> MatchedPair:
    return MatchedPair(
        backbone,
        seed,
        "easy_val",
        method,
        f"erm@{backbone}#{seed}:easy_val",
        f"{method}@{backbone}#{seed}:easy_val",
    )


def _study(specs):
    """specs: (backbone, seed, erm (conv3, features), candidate (conv3, features), margins)."""
    pairs, probed = [], {}
    for backbone, seed, erm, candidate, *margins in specs:
        pair = _pair(backbone, seed)
        pairs.append(pair)
        probed[pair.reference] = _probed("erm", backbone, seed, *erm)
        probed[pair.candidate] = _probed("cf_invar", backbone, seed, *candidate, *margins)
    return pairs, probed


def _checks(findings) -> dict[str, bool]:
    return {check.name: check.passed for check in findings.checks}


def test_checks_are_named_by_backbone_and_seed_and_hold_when_expected():
    pairs, probed = _study([("cheater_cnn", 0, (9, 8), (3, 2)), ("lenet_cnn", 0, (4, 4), (2, 1))])
    findings = prober_findings(pairs, probed, THRESHOLD, WIN, EVIDENCE)
    assert _checks(findings) == {
        "erm_channels_colour_selective [cheater_cnn#0]": True,
        "cf_invar_penultimate_not_colour_dominated [cheater_cnn#0]": True,
        "erm_prototypes_beat_exemplars [cheater_cnn#0]": True,
        "cf_invar_prototypes_beat_exemplars [cheater_cnn#0]": True,
        "cf_invar_penultimate_less_colour_dominated_than_erm [cheater_cnn]": True,
        # No expectation for ERM off the cheater backbone: no check, a statistic.
        "cf_invar_penultimate_not_colour_dominated [lenet_cnn#0]": True,
        "erm_prototypes_beat_exemplars [lenet_cnn#0]": True,
        "cf_invar_prototypes_beat_exemplars [lenet_cnn#0]": True,
        "cf_invar_penultimate_less_colour_dominated_than_erm [lenet_cnn]": True,
    }
    cheater, lenet = findings.comparisons
    assert cheater["erm_is_the_cheater"] and not lenet["erm_is_the_cheater"]
    assert lenet["per_seed"][0]["checks"]["erm_colour_selective"] is None
    assert lenet["per_seed"][0]["reference_shares"] == {"conv3": 0.4, "features": 0.4}
    assert cheater["mean_reference_penultimate"] == pytest.approx(0.8)
    assert cheater["mean_candidate_penultimate"] == pytest.approx(0.2)
    assert findings.headline() == (
        "colour-dominated penultimate units, same backbone: cheater_cnn erm 80% vs cf_invar "
        "20%; lenet_cnn erm 40% vs cf_invar 10%"
    )
    detail = next(c.detail for c in findings.checks if "less_colour" in c.name)
    assert "seed 0 0.800 vs 0.200" in detail and EVIDENCE in detail


def test_the_cheater_check_fails_when_one_deciding_layer_is_not_mostly_colour():
    pairs, probed = _study([("cheater_cnn", 0, (4, 9), (3, 2))])
    checks = _checks(prober_findings(pairs, probed, THRESHOLD, WIN, EVIDENCE))
    assert checks["erm_channels_colour_selective [cheater_cnn#0]"] is False
    # Exactly the threshold is not "more than" it.
    pairs, probed = _study([("cheater_cnn", 0, (5, 9), (3, 2))])
    checks = _checks(prober_findings(pairs, probed, THRESHOLD, WIN, EVIDENCE))
    assert checks["erm_channels_colour_selective [cheater_cnn#0]"] is False


def test_the_comparison_needs_every_seed_and_the_absolute_check_the_threshold():
    pairs, probed = _study([("lenet_cnn", 0, (4, 4), (2, 1)), ("lenet_cnn", 1, (4, 4), (6, 6))])
    findings = prober_findings(pairs, probed, THRESHOLD, WIN, EVIDENCE)
    checks = _checks(findings)
    assert checks["cf_invar_penultimate_less_colour_dominated_than_erm [lenet_cnn]"] is False
    assert checks["cf_invar_penultimate_not_colour_dominated [lenet_cnn#0]"] is True
    assert checks["cf_invar_penultimate_not_colour_dominated [lenet_cnn#1]"] is False
    (comparison,) = findings.comparisons
    assert comparison["seeds"] == [0, 1]
    assert comparison["mean_candidate_penultimate"] == pytest.approx(0.35)
    assert "(mean of 2 seeds)" in findings.headline()


def test_an_all_silent_penultimate_fails_rather_than_passes():
    pairs, probed = _study([("lenet_cnn", 0, (4, 4), (2, 1))])
    silent = probed[pairs[0].candidate].probe.layers["features"]
    silent.active[:] = False
    checks = _checks(prober_findings(pairs, probed, THRESHOLD, WIN, EVIDENCE))
    assert checks["cf_invar_penultimate_not_colour_dominated [lenet_cnn#0]"] is False
    assert checks["cf_invar_penultimate_less_colour_dominated_than_erm [lenet_cnn]"] is False


def test_prototype_checks_count_ties_and_fail_below_the_share():
    pairs, probed = _study([("lenet_cnn", 0, (4, 4), (2, 1), (-1e-5, 0.1, -0.5))])
    findings = prober_findings(pairs, probed, THRESHOLD, WIN, EVIDENCE)
    checks = _checks(findings)
    assert checks["erm_prototypes_beat_exemplars [lenet_cnn#0]"] is True
    assert checks["cf_invar_prototypes_beat_exemplars [lenet_cnn#0]"] is False  # 2 of 3
    assert findings.comparisons[0]["per_seed"][0]["candidate_win_share"] == pytest.approx(2 / 3)
    relaxed = _checks(prober_findings(pairs, probed, THRESHOLD, 0.6, EVIDENCE))
    assert relaxed["cf_invar_prototypes_beat_exemplars [lenet_cnn#0]"] is True


def test_model_tag():
    assert model_tag("lenet_cnn") == "[lenet_cnn]"
    assert model_tag("lenet_cnn", 2) == "[lenet_cnn#2]"
