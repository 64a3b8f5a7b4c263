"""The matched comparison over seeds: planning, measures, the paired test and its checks."""

import matplotlib
import pytest
from scipy import stats as scipy_stats

from lazy_artist.sae.compare import (
    CANDIDATE,
    MEASURES,
    REFERENCE,
    MeasureComparison,
    by_backbone,
    colour_dominated_share,
    colour_probability_drop,
    compare_pairs,
    comparison_findings,
    comparison_panels,
    comparison_records,
    excess_ablation_flip_rate,
    fve_finding,
    headline_analysis,
    index_analyses,
    noop_finding,
    plan_models,
    reference_findings,
)
from tests.sae.fakes import analysis as _analysis
from tests.sae.fakes import pairs as _pairs
from tests.sae.fakes import result as _result

matplotlib.use("Agg")


def test_plan_models_sweeps_the_first_seeds_of_each_backbone_only():
    plan = plan_models(_pairs())
    assert len(plan) == 12
    assert [(p.backbone, p.seed, p.role) for p in plan[:2]] == [
        ("cheater_cnn", 0, REFERENCE),
        ("cheater_cnn", 0, CANDIDATE),
    ]
    assert {(p.backbone, p.seed) for p in plan if p.full_sweep} == {
        ("cheater_cnn", 0),
        ("lenet_cnn", 0),
    }
    assert sum(p.full_sweep for p in plan_models(_pairs(), sweep_seeds=2)) == 8
    assert plan[1].name == "cf_invar@cheater_cnn#0:easy_val"
    with pytest.raises(ValueError, match="sweep_seeds"):
        plan_models(_pairs(), sweep_seeds=0)


def test_the_measures_read_what_they_say():
    result = _result(colour=(0.9, 0.8, 0.1, 0.5), digit=(0.1, 0.2, 0.7, 0.5))
    assert colour_dominated_share(result) == pytest.approx(0.5)  # a tie is not colour-dominated
    assert excess_ablation_flip_rate(result) == pytest.approx(0.2 - 0.02)
    assert colour_probability_drop(result) == pytest.approx(0.3)


def _comparison(reference, candidate, measure="colour_dominated_share"):
    seeds = tuple(range(len(reference)))
    return MeasureComparison(
        MEASURES[measure], "cheater_cnn", "conv3:spatial_mean", "cf_invar", seeds,
        tuple(reference), tuple(candidate),
    )  # fmt: skip


def test_erm_clearly_larger_over_three_seeds_passes_with_scipys_p_value():
    reference, candidate = (0.80, 0.75, 0.78), (0.20, 0.22, 0.18)
    c = _comparison(reference, candidate)
    assert c.test.p_value == pytest.approx(scipy_stats.ttest_rel(reference, candidate).pvalue)
    assert (c.tied, c.larger, c.passed) == (False, REFERENCE, True)
    assert c.check == "erm_more_colour_features [cheater_cnn]"
    assert "erm larger" in c.detail() and "erm 77.7% [" in c.detail()
    record = c.record()
    assert record["erm_ci95"][0] < record["erm_mean"] < record["erm_ci95"][1]
    assert record["larger"] == "erm" and record["n_seeds"] == 3 and record["tied"] is False


@pytest.mark.parametrize(
    ("reference", "candidate", "larger", "verdict"),
    [
        ((0.2, 0.6, 0.4), (0.3, 0.35, 0.45), None, "tied"),  # noisy: not separated
        ((0.20, 0.22, 0.18), (0.80, 0.75, 0.78), CANDIDATE, "cf_invar larger"),  # reversed
        ((0.9,), (0.1,), None, "no test with one seed"),  # one seed: no test, tied
    ],
)
def test_a_tie_a_reversal_or_one_seed_fails_the_check(reference, candidate, larger, verdict):
    c = _comparison(reference, candidate)
    assert c.larger == larger and not c.passed
    assert verdict in c.verdict()
    finding = comparison_findings({"cheater_cnn": {"x": c}})[0]
    assert not finding.passed and finding.name == c.check


def _matched_analyses(erm_share, method_share, configs=None):
    pairs = _pairs(backbones=("cheater_cnn",), seeds=tuple(range(len(erm_share))))
    analyses = []
    for pair, share_e, share_m in zip(pairs, erm_share, method_share, strict=True):
        # Four live features; the first k of them colour-dominated.
        for name, role, share in ((pair.reference, REFERENCE, share_e), (pair.candidate, CANDIDATE, share_m)):  # fmt: skip
            k = int(round(4 * share))
            colour = [0.9] * k + [0.1] * (4 - k)
            digit = [0.1] * k + [0.9] * (4 - k)
            config = (configs or {}).get(name, "conv3:spatial_mean")
            result = _result(name, config, colour, digit)
            analyses.append(_analysis(name, role, pair.backbone, pair.seed, result))
    return pairs, analyses


def test_compare_pairs_pools_each_backbone_over_its_seeds():
    pairs, analyses = _matched_analyses((0.75, 0.75, 1.0), (0.25, 0.0, 0.25))
    compared = compare_pairs(pairs, index_analyses(analyses))
    c = compared["cheater_cnn"]["colour_dominated_share"]
    assert c.reference == (0.75, 0.75, 1.0) and c.candidate == (0.25, 0.0, 0.25)
    assert c.seeds == (0, 1, 2) and c.config == "conv3:spatial_mean" and c.method == "cf_invar"
    assert c.passed
    assert set(compared["cheater_cnn"]) == set(MEASURES)
    records = comparison_records(compared)
    assert records["cheater_cnn"]["colour_dominated_share"]["check"] == c.check
    panels = comparison_panels(compared)
    assert list(panels) == [m.label for m in MEASURES.values()]


def test_compare_pairs_refuses_models_read_at_different_layers():
    pairs, analyses = _matched_analyses(
        (0.75, 0.5), (0.25, 0.25), configs={"cf_invar@cheater_cnn#1:easy_val": "conv2:spatial_mean"}
    )
    with pytest.raises(ValueError, match="one focus configuration"):
        compare_pairs(pairs, index_analyses(analyses))


def test_fve_and_noop_findings():
    good = _analysis("erm@a#0", REFERENCE, "a", 0, _result(fve=0.95))
    bad = _analysis(
        "erm@a#1", REFERENCE, "a", 1, _result(fve=0.95), extra=[_result(config="features:vector", fve=0.5)]
    )  # fmt: skip
    assert fve_finding(good, 0.9).passed and fve_finding(good, 0.9).name == "sae_fve [erm@a#0]"
    finding = fve_finding(bad, 0.9)
    assert not finding.passed and "features:vector 0.500" in finding.detail
    config_of = {"x": "conv3:spatial_mean", "y": "conv4:spatial_mean"}
    assert noop_finding({"x": 0.0, "y": 0.0}, config_of, 10).passed
    assert not noop_finding({"x": 0.0, "y": 1e-7}, config_of, 10).passed
    assert not noop_finding({}, {}, 10).passed


def test_reference_findings_hold_only_when_every_seed_shows_them():
    steady = _result()  # colour 0.9 > digit 0.7; ablation 0.2 > random 0.03; 0.3 < 0.6 < 0.9
    weak = _result(colour=(0.5, 0.1), digit=(0.6, 0.1), flip=0.01, prob=(0.6, 0.7, 0.5))
    candidate = _result(colour=(0.1,), digit=(0.9,), flip=0.0)  # candidates are not checked here
    analyses = [
        _analysis("erm@a#0", REFERENCE, "a", 0, steady),
        _analysis("cf@a#0", CANDIDATE, "a", 0, candidate),
        _analysis("erm@b#0", REFERENCE, "b", 0, steady),
        _analysis("erm@b#1", REFERENCE, "b", 1, weak),
    ]
    findings = {f.name: f for f in reference_findings(analyses, 10, 3, 4.0)}
    assert set(findings) == {
        f"{base} [{b}]"
        for base in (
            "erm_colour_over_digit",
            "erm_colour_ablation_beats_random",
            "erm_colour_features_steer",
        )
        for b in "ab"
    }
    assert all(findings[f"{base} [a]"].passed for base in ("erm_colour_over_digit", "erm_colour_ablation_beats_random", "erm_colour_features_steer"))  # fmt: skip
    assert not any(findings[f"{base} [b]"].passed for base in ("erm_colour_over_digit", "erm_colour_ablation_beats_random", "erm_colour_features_steer"))  # fmt: skip
    assert "#1 conv3:spatial_mean 0.500 vs 0.600" in findings["erm_colour_over_digit [b]"].detail


def test_headline_analysis_prefers_the_cheater():
    a = _analysis("erm@lenet_cnn#0", REFERENCE, "lenet_cnn", 0, _result())
    b = _analysis("erm@cheater_cnn#0", REFERENCE, "cheater_cnn", 0, _result())
    c = _analysis("cf@cheater_cnn#0", CANDIDATE, "cheater_cnn", 0, _result())
    assert headline_analysis([a, c, b]) is b
    assert headline_analysis([a, c]) is a
    assert list(by_backbone([a, b, c])) == ["lenet_cnn", "cheater_cnn"]
    with pytest.raises(ValueError, match="full configuration sweep"):
        headline_analysis([c])
