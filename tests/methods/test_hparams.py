"""The hparams registry: STUDY.md's defaults, validation with clear messages, seeded sweeps."""

from __future__ import annotations

import pytest

from lazy_artist.methods import algorithms
from lazy_artist.methods.algorithms import ALGORITHMS, build_algorithm
from lazy_artist.methods.hparams import (
    COMMON_HPARAMS,
    DEFAULT_HPARAMS,
    METHOD_SPECS,
    hparams_for,
    random_hparams,
)


def test_every_algorithm_has_defaults_and_study_values():
    assert list(DEFAULT_HPARAMS) == list(METHOD_SPECS) == ALGORITHMS
    for method in ALGORITHMS:
        assert COMMON_HPARAMS.items() <= DEFAULT_HPARAMS[method].items()
        assert hparams_for(method) == DEFAULT_HPARAMS[method]
    assert DEFAULT_HPARAMS["colour_aug"]["p"] == 0.9
    assert DEFAULT_HPARAMS["colour_invariance"]["lambda_inv"] == 2.0
    cf = DEFAULT_HPARAMS["cf_invar"]
    assert (cf["lambda_cf"], cf["lambda_cons"]) == (1.0, 1.0)
    lc = DEFAULT_HPARAMS["logit_consistency"]
    assert (lc["lambda_cons"], lc["warmup_epochs"]) == (0.5, 2)
    assert DEFAULT_HPARAMS["dann"]["disc_steps"] == 3
    assert DEFAULT_HPARAMS["input_gradient"]["lambda_grad"] == 0.1


def test_overrides_are_applied_and_converted():
    hp = hparams_for("dann", {"disc_steps": 5.0, "lr": 1})
    assert hp["disc_steps"] == 5 and isinstance(hp["disc_steps"], int)
    assert hp["lr"] == 1.0 and isinstance(hp["lr"], float)
    assert DEFAULT_HPARAMS["dann"]["disc_steps"] == 3  # the registry itself is untouched


def test_unknown_method_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown method 'irm'.*erm.*cf_invar.*lff"):
        hparams_for("irm")


def test_unknown_hparam_lists_the_valid_names():
    with pytest.raises(
        ValueError, match=r"'lambda'.*colour_invariance.*valid names: lr.*lambda_inv"
    ):
        hparams_for("colour_invariance", {"lambda": 2.0})


@pytest.mark.parametrize(
    ("method", "name", "value", "allowed"),
    [
        ("colour_invariance", "lambda_inv", -1.0, r"\[0, inf\)"),
        ("colour_aug", "p", 1.5, r"\[0, 1\]"),
        ("colour_aug", "p", -0.1, r"\[0, 1\]"),
        ("dann", "disc_steps", 0, r"integer in \[1, inf\)"),
        ("dann", "disc_steps", 2.5, r"integer"),
        ("erm", "lr", 0.0, r"\(0, inf\)"),
        ("erm", "lr", -1e-3, r"\(0, inf\)"),
        ("erm", "lr", "fast", r"\(0, inf\)"),
        ("erm", "lr", True, r"\(0, inf\)"),
        ("erm", "lr", float("nan"), r"\(0, inf\)"),
        ("erm", "batch_size", 0, r"integer in \[1, inf\)"),
        ("erm", "schedule", "linear", r"'constant', 'cosine'"),
        ("lff", "gce_q", 0.0, r"\(0, 1\]"),
    ],
)
def test_bad_values_name_the_hparam_and_its_range(method, name, value, allowed):
    with pytest.raises(
        ValueError, match=rf"hparam '{name}' of method '{method}' must be .*{allowed}"
    ):
        hparams_for(method, {name: value})


def test_bad_hparams_fail_before_anything_is_built(monkeypatch):
    def no_model(*args, **kwargs):
        raise AssertionError("a model was built before the hparams were checked")

    monkeypatch.setattr(algorithms, "build_model", no_model)
    with pytest.raises(ValueError, match="lambda_cf"):
        build_algorithm("cf_invar", {"lambda_cf": -1.0})
    with pytest.raises(ValueError, match="unknown algorithm 'nope'.*erm"):
        build_algorithm("nope")


def test_random_hparams_are_seeded_valid_and_varied():
    for method in ALGORITHMS:
        draw = random_hparams(method, seed=3)
        assert draw == random_hparams(method, seed=3)
        assert draw == hparams_for(method, draw)
    draws = [random_hparams("cf_invar", seed) for seed in range(5)]
    assert len({d["lr"] for d in draws}) == 5
    assert len({d["lambda_cf"] for d in draws}) == 5
