"""The run plan: the key parts the executor records beside each memo entry are the memo key's
own, and a planned run is called cached, new, or retrained for the part that changed (that
method's code, the shared code, hparams, data), on memo directories a build really wrote."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

import lazy_artist
from lazy_artist.methods.algorithms import build_algorithm, get_algorithm_class
from lazy_artist.methods.executor import RunRequest, fit_many
from lazy_artist.methods.grid import plan_runs, run_bias_sweep, run_grid, sweep_canvases
from lazy_artist.methods.memo import RunMemo, payload_key
from lazy_artist.methods.recipes import RECIPES
from lazy_artist.methods.run_parts import PARTS_DIR, KeyParts, read_sidecars
from lazy_artist.methods.run_plan import (
    CACHED,
    CHANGED,
    DAMAGED,
    NEW,
    RETRAIN,
    PlannedRun,
    RunPlanner,
    plan_t4,
)
from tests.methods.test_algorithms import synthetic_mnist, tiny_canvas
from tests.methods.test_memo import insert_code

RECIPE = dataclasses.replace(RECIPES["cheater_cnn"], width=4, epochs=1, batch_size=64)
METHODS = ("erm", "cf_invar")


@pytest.fixture(scope="module")
def canvas():
    return tiny_canvas(n_train=256)


@pytest.fixture(scope="module")
def trained_memo(canvas, tmp_path_factory) -> Path:
    """A memo a build wrote: erm and cf_invar, seed 0, through the executor."""
    directory = tmp_path_factory.mktemp("memo") / "t4"
    requests = [RunRequest(m, "c", RECIPE, 0) for m in METHODS]
    fit_many(requests, {"c": canvas}, memo=RunMemo(directory), jobs=1, executor="local")
    return directory


@pytest.fixture
def memo_dir(trained_memo, tmp_path) -> Path:
    copy = tmp_path / "t4"
    shutil.copytree(trained_memo, copy)
    return copy


def planned(canvas, method="erm", seed=0, hparams=None, recipe=RECIPE) -> PlannedRun:
    return PlannedRun("grid", method, recipe, seed, hparams, canvas, canvas.bias)


def test_the_recorded_parts_hash_to_the_memo_key(canvas, trained_memo):
    memo = RunMemo(None)
    for method in METHODS:
        algorithm = build_algorithm(
            method, RECIPE.hparams(), backbone_kwargs={"width": 4}, backbone="cheater_cnn"
        )
        options = {"epochs": 1, "seed": 0, "device": "cpu", "precision": RECIPE.precision}
        parts = KeyParts().parts(algorithm, canvas, **options)
        assert payload_key(parts) == memo.key(algorithm, canvas, **options)
    # The executor wrote one sidecar per entry, named by the entry's key.
    entries = {p.name for p in trained_memo.glob("[0-9a-f][0-9a-f]/*")}
    sidecars = read_sidecars(trained_memo)
    assert {s["key"] for s in sidecars} == entries and len(entries) == len(METHODS)
    assert {s["parts"]["method"] for s in sidecars} == set(METHODS)
    assert all(s["bias"] == canvas.bias for s in sidecars)


def test_the_parallel_path_records_parts_too(canvas, tmp_path):
    memo = RunMemo(tmp_path / "memo")
    requests = [RunRequest("erm", "c", RECIPE, s) for s in (3, 4)]
    fit_many(requests, {"c": canvas}, memo=memo, jobs=2, executor="local")
    entries = {p.name for p in (tmp_path / "memo").glob("[0-9a-f][0-9a-f]/*")}
    assert {s["key"] for s in read_sidecars(tmp_path / "memo")} == entries and len(entries) == 2


def test_stored_runs_are_cached_and_others_are_new(canvas, memo_dir):
    planner = RunPlanner(memo_dir)
    assert [planner.judge(planned(canvas, m)).state for m in METHODS] == [CACHED, CACHED]
    fresh = planner.judge(planned(canvas, "erm", seed=1))
    assert (fresh.state, fresh.why) == (NEW, "no memo entry")
    retrained = RunPlanner(memo_dir, retrain=["cf_invar"])
    assert retrained.judge(planned(canvas, "erm")).state == CACHED
    assert retrained.judge(planned(canvas, "cf_invar")).state == RETRAIN


def test_an_edit_of_one_methods_code_names_that_method_only(canvas, memo_dir, tmp_path):
    package = tmp_path / "lazy_artist"
    shutil.copytree(
        Path(lazy_artist.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__")
    )
    insert_code(
        package / "methods" / "algorithms.py",
        get_algorithm_class("cf_invar").__name__,
        "_edited = 1",
    )
    planner = RunPlanner(memo_dir, parts=KeyParts(package))
    assert planner.judge(planned(canvas, "erm")).state == CACHED
    verdict = planner.judge(planned(canvas, "cf_invar"))
    assert (verdict.state, verdict.why) == (CHANGED, "code of cf_invar changed")


def test_an_edit_of_the_shared_code_retrains_every_run(canvas, memo_dir, tmp_path):
    package = tmp_path / "lazy_artist"
    shutil.copytree(
        Path(lazy_artist.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__")
    )
    trainer = package / "methods" / "trainer.py"
    trainer.write_text(trainer.read_text() + "\nA_SHARED_CHANGE = print()\n")
    planner = RunPlanner(memo_dir, parts=KeyParts(package))
    for method in METHODS:
        verdict = planner.judge(planned(canvas, method))
        assert (verdict.state, verdict.why) == (CHANGED, "shared training code changed")


def test_hparams_and_data_changes_are_named(canvas, memo_dir):
    planner = RunPlanner(memo_dir)
    verdict = planner.judge(planned(canvas, "cf_invar", hparams={"lambda_cf": 7.0}))
    assert (verdict.state, verdict.why) == (CHANGED, "hparams changed (lambda_cf)")
    other = tiny_canvas(seed=0, n_train=200)  # same bias, other images
    verdict = planner.judge(PlannedRun("grid", "erm", RECIPE, 0, None, other, other.bias))
    assert (verdict.state, verdict.why) == (CHANGED, "data changed (canvas)")
    longer = dataclasses.replace(RECIPE, epochs=2)
    verdict = planner.judge(planned(canvas, "erm", recipe=longer))
    assert (verdict.state, verdict.why) == (CHANGED, "recipe changed (epochs)")


def test_an_entry_without_recorded_parts_is_new_and_says_so(canvas, memo_dir):
    shutil.rmtree(memo_dir / PARTS_DIR)  # as a memo written before parts were recorded
    planner = RunPlanner(memo_dir)
    assert planner.judge(planned(canvas, "erm")).state == CACHED  # the key alone decides
    verdict = planner.judge(planned(canvas, "cf_invar", hparams={"lambda_cf": 7.0}))
    assert verdict.state == NEW and "records none" in verdict.why


def t4_params(bias: float, **changes) -> dict:
    params = {
        "seed": 0,
        "methods": ",".join(METHODS),
        "backbones": "cheater_cnn",
        "recipes": {"cheater_cnn": {"width": 4, "epochs": 1, "batch_size": 64}},
        "n_seeds": 1,
        "train_subset": None,
        "hparams": {},
        "n_draws": 1,
        "tuned": "none",
        "tune_seed": 1000,
        "sweep_backbone": "cheater_cnn",
        "sweep_methods": "erm,best",
        "sweep_seeds": 1,
        "bias_sweep": [bias, 0.8],
        "alpha": 0.05,
    }
    return {**params, **changes}


def test_a_bias_independent_sweep_method_is_never_retrained_at_another_bias(canvas, tmp_path):
    """gray_oracle's input has no colour: the sweep draws it flat from the grid's runs on the
    comparison canvas, so no run of it is planned at another bias."""
    params = t4_params(
        canvas.bias, methods="erm,gray_oracle", sweep_methods="erm,gray_oracle", bias_sweep=[0.8]
    )
    plan = plan_t4(params, canvas, RunPlanner(tmp_path / "t4"), lambda: synthetic_mnist(seed=0))
    swept = [(v.run.method, v.run.bias) for v in plan.verdicts if v.run.stage == "bias sweep"]
    assert swept == [("erm", 0.8)]
    assert [v.run.method for v in plan.verdicts if v.run.stage == "grid"] == ["erm", "gray_oracle"]


def test_the_t4_plan_is_the_set_of_runs_the_grid_and_sweep_fit(canvas, tmp_path):
    """Planned before and after the grid and the sweep really ran: every run they fitted is
    then cached, and what the winner's sweep needs is unknown until the grid has trained."""
    memo_dir = tmp_path / "t4"
    params = t4_params(canvas.bias)
    mnist = synthetic_mnist(seed=0)
    before = plan_t4(params, canvas, RunPlanner(memo_dir), lambda: mnist)
    assert [v.state for v in before.verdicts] == [NEW, NEW, NEW]  # the grid, erm at bias 0.8
    assert any("winner" in text for text in before.unknown)

    recipe = RECIPE  # what t4_params' recipes override resolves to
    memo = RunMemo(memo_dir)
    records = run_grid(
        plan_runs(list(METHODS), ["cheater_cnn"], [0]),
        canvas,
        {"cheater_cnn": recipe},
        memo=memo,
        probe_images=20,
        log=lambda m: None,
    )
    middle = plan_t4(params, canvas, RunPlanner(memo_dir), lambda: mnist)
    assert [v.state for v in middle.verdicts[:2]] == [CACHED, CACHED] and not middle.unknown
    swept = [v for v in middle.verdicts if v.run.stage == "bias sweep"]
    assert swept and all(v.state == NEW and v.run.bias == 0.8 for v in swept)

    digests: dict[str, str] = {}
    winner = {v.run.method for v in swept} - {"erm"}
    run_bias_sweep(
        sweep_canvases(mnist, canvas, [canvas.bias, 0.8]),
        ["erm", *winner],
        recipe,
        [0],
        rule="conflict_val",
        memo=memo,
        records=records,
        comparison=canvas,
        log=lambda m: None,
    )
    after = plan_t4(params, canvas, RunPlanner(memo_dir), lambda: mnist, digests, "t0key")
    assert len(after.verdicts) == len(middle.verdicts)
    assert all(v.state == CACHED for v in after.verdicts), [v.why for v in after.verdicts]
    assert list(digests) == ["t0key/0.8"], "the derived canvas's digest is kept"

    def no_mnist():
        raise AssertionError("the kept digest should spare rebuilding the canvas")

    again = plan_t4(params, canvas, RunPlanner(memo_dir), no_mnist, digests, "t0key")
    assert all(v.state == CACHED for v in again.verdicts)
    assert (
        again.lines()[0]
        == f"runs: {len(after.verdicts)} planned, {len(after.verdicts)} memoised, 0 to train"
    )
    changed = plan_t4(
        {**params, "hparams": {"cf_invar": {"lambda_cf": 3.0}}},
        canvas,
        RunPlanner(memo_dir),
        no_mnist,
        digests,
        "t0key",
    )
    lines = changed.lines()
    assert (
        lines[1] == "  train grid cheater_cnn cf_invar seed 0 bias 0.9: hparams changed (lambda_cf)"
    )
    assert json.dumps(lines)  # plain strings


def test_a_damaged_entry_is_named(canvas, memo_dir):
    planner = RunPlanner(memo_dir)
    key = planner.judge(planned(canvas, "erm")).key
    network = planner.memo.entry(key) / "network.pt"
    network.write_bytes(network.read_bytes()[:-8])  # truncated, as by a full disk
    verdict = planner.judge(planned(canvas, "erm"))
    assert verdict.state == DAMAGED and verdict.why.startswith("stored entry damaged")
