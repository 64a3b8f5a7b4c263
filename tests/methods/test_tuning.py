"""T4's tuning protocol: the same draws per method, chosen on the selection split only, runs
through the memo, and a committed tuning read back only where it still applies."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lazy_artist.methods.grid import (
    COMPARISON_COLUMNS,
    attach_tuning,
    augmentation_bias,
    comparison_rows,
    relative_compute,
)
from lazy_artist.methods.hparams import (
    DEFAULT_HPARAMS,
    METHOD_SPECS,
    own_hparams,
    random_hparams,
    sweep_draw,
    tunable,
)
from lazy_artist.methods.memo import RunMemo
from lazy_artist.methods.recipes import RECIPES
from lazy_artist.methods.tuning import (
    Draw,
    choose,
    chosen_hparams,
    committed_choice,
    merge_tunings,
    plan_draws,
    provenance_groups,
    run_tuning,
    stale_tunings,
    tuned_module_text,
    tuning_record,
    tuning_requests,
    tuning_rows,
)
from tests.methods.test_algorithms import tiny_canvas
from tests.methods.test_grid import _table

TINY = {"lenet_cnn": dataclasses.replace(RECIPES["lenet_cnn"], width=4, epochs=1, batch_size=64)}


@pytest.fixture(scope="module")
def canvas():
    return tiny_canvas(n_train=128)


def test_draw_zero_is_the_defaults_and_later_draws_are_seeded_own_hparams():
    assert (
        sweep_draw("cf_invar", 0)
        == own_hparams("cf_invar")
        == {"lambda_cf": 1.0, "lambda_cons": 1.0}
    )
    first = sweep_draw("cf_invar", 1)
    assert first == sweep_draw("cf_invar", 1) != sweep_draw("cf_invar", 2)
    assert first == {k: random_hparams("cf_invar", 1)[k] for k in ("lambda_cf", "lambda_cons")}
    assert "lr" not in first  # the recipe owns the optimiser
    assert sweep_draw("cf_invar", 3, {"lambda_cf": 2.0})["lambda_cf"] == 2.0  # pinned holds
    with pytest.raises(ValueError, match="lambda_cf"):
        sweep_draw("cf_invar", 3, {"lambda_cf": -1.0})
    with pytest.raises(ValueError, match="draw must be"):
        sweep_draw("cf_invar", -1)
    # Variants are never drawn: a sweep keeps the named method's definition.
    assert "region" not in tunable("saliency_penalty")
    assert "adv_condition" not in tunable("dann_colour")
    assert {sweep_draw("saliency_penalty", k)["region"] for k in range(5)} == {"stroke"}


def test_every_method_gets_the_same_number_of_draws():
    plan = plan_draws(list(METHOD_SPECS), 4, {"logit_consistency": {"warmup_epochs": 0}})
    for method, draws in plan.items():
        expected = 4 if tunable(method) else 1
        assert len(draws) == expected, method
        assert [d.draw for d in draws] == list(range(expected))
        assert draws[0].hparams == {
            **own_hparams(method),
            **({"warmup_epochs": 0} if method == "logit_consistency" else {}),
        }
    assert all(d.hparams["warmup_epochs"] == 0 for d in plan["logit_consistency"])
    # Everything pinned: one configuration.
    pinned = {"cf_invar": {"lambda_cf": 1.0, "lambda_cons": 2.0}}
    assert len(plan_draws(["cf_invar"], 4, pinned)["cf_invar"]) == 1
    with pytest.raises(ValueError, match="n_draws"):
        plan_draws(["erm"], 0)


def test_only_methods_with_a_choice_are_run_and_on_the_tuning_seed():
    plan = plan_draws(["erm", "cf_invar", "lff"], 3)
    requests = tuning_requests(plan, {**TINY, "cheater_cnn": RECIPES["cheater_cnn"]}, 1000)
    assert len(requests) == 2 * 2 * 3  # 2 backbones x 2 tunable methods x 3 draws
    assert {r.method for _, _, r in requests} == {"cf_invar", "lff"}
    assert {r.seed for _, _, r in requests} == {1000}
    assert {r.recipe.backbone for _, _, r in requests} == {"cheater_cnn", "lenet_cnn"}


def _scores(values):
    """Per draw (easy_val score, conflict_val score)."""
    return [
        {"draw": k, "hparams": {"p": 0.1 * k}, "scores": {"easy_val": e, "conflict_val": c}}
        for k, (e, c) in enumerate(values)
    ]


def test_the_draw_is_chosen_on_the_backbones_rule_never_the_hard_test():
    plan = {
        "colour_aug": [Draw("colour_aug", k, {"p": 0.1 * k}) for k in range(3)],
        "erm": [Draw("erm", 0, {})],
    }
    recipes = {"lenet_cnn": RECIPES["lenet_cnn"], "cheater_cnn": RECIPES["cheater_cnn"]}
    runs = _scores([(0.99, 0.50), (0.90, 0.80), (0.95, 0.80)])  # conflict tie: draws 1 and 2
    for run in runs:  # a hard-test score that would pick draw 0 is never read
        run["scores"]["hard_test"] = 1.0 - run["draw"]
    chosen = choose(plan, {b: {"colour_aug": runs} for b in recipes}, recipes)
    lenet, cheater = chosen["lenet_cnn"]["colour_aug"], chosen["cheater_cnn"]["colour_aug"]
    assert (lenet["rule"], lenet["draw"], lenet["draws"]) == (
        "conflict_val",
        1,
        3,
    )  # lowest on ties
    assert lenet["hparams"] == {"p": 0.1} and lenet["score"] == 0.80
    assert lenet["other_rules"] == {"easy_val": 0}
    assert (cheater["rule"], cheater["draw"]) == ("easy_val", 0)
    assert chosen["lenet_cnn"]["erm"]["draws"] == 1
    assert chosen["lenet_cnn"]["erm"]["source"] == "defaults (no hparams to tune)"
    assert chosen_hparams(chosen)["lenet_cnn"] == {"colour_aug": {"p": 0.1}, "erm": {}}
    rows = tuning_rows(chosen["lenet_cnn"], ["erm", "colour_aug"])
    assert rows[1][:5] == ["colour_aug", 3, 1, "oracle-style selection", "80.0 (50.0-80.0)"]
    assert rows[0][1:3] == [1, 0] and rows[0][5] == "(none)"


def test_tuning_runs_go_through_the_memo(canvas, tmp_path):
    plan = plan_draws(["lff"], 2)
    memo = RunMemo(tmp_path / "memo")
    scores = run_tuning(plan, canvas, TINY, 1000, memo=memo, log=lambda _: None)
    assert memo.misses == 2 and memo.hits == 0
    assert [run["draw"] for run in scores["lenet_cnn"]["lff"]] == [0, 1]
    assert all(0 <= run["scores"]["conflict_val"] <= 1 for run in scores["lenet_cnn"]["lff"])
    again = run_tuning(plan, canvas, TINY, 1000, memo=memo, log=lambda _: None)
    assert memo.hits == 2 and again["lenet_cnn"]["lff"][1]["reused"]
    assert [r["scores"] for r in again["lenet_cnn"]["lff"]] == [
        r["scores"] for r in scores["lenet_cnn"]["lff"]
    ]


def _record(canvas, plan, recipes, method="colour_aug", when="today"):
    """A tune build's record: two draws of ``method`` (colour_aug: p = 0.0 / 0.1) scored
    (0.9, 0.5) and (0.9, 0.7) on (easy, conflict) validation, plus ERM (nothing to tune)."""
    values = (
        [{"p": 0.1 * k} for k in range(2)]
        if method == "colour_aug"
        else [sweep_draw(method, k) for k in range(2)]
    )
    runs = [{**run, "hparams": values[run["draw"]]} for run in _scores([(0.9, 0.5), (0.9, 0.7)])]
    swept = {
        "erm": [Draw("erm", 0, {})],
        method: [Draw(method, k, values[k]) for k in range(2)],
    }
    chosen = choose(swept, {b: {method: runs} for b in recipes}, recipes)
    return tuning_record(chosen, recipes, canvas, 2, 1000, "code-digest", when, "tune")


def test_a_committed_tuning_round_trips_through_its_module_and_applies(canvas):
    plan = {"erm": [Draw("erm", 0, {})], "colour_aug": [Draw("colour_aug", 0, {"p": 0.9})]}
    recipes = {"lenet_cnn": RECIPES["lenet_cnn"]}
    record = _record(canvas, plan, recipes)
    assert set(record["lenet_cnn"]) == {"colour_aug"}  # only what was swept is recorded
    namespace: dict = {}
    exec(tuned_module_text(record), namespace)  # the artefact is the module the full build reads
    assert namespace["TUNED"] == record
    chosen, problems = committed_choice(namespace["TUNED"], plan, recipes, canvas)
    assert problems == []
    entry = chosen["lenet_cnn"]["colour_aug"]
    assert entry["hparams"] == {"p": 0.1} and entry["draws"] == 2
    assert entry["source"] == "committed tuning"
    assert chosen["lenet_cnn"]["erm"]["source"] == "defaults (no hparams to tune)"
    assert provenance_groups(chosen) == [
        {
            "backbone": "lenet_cnn",
            "provenance": record["lenet_cnn"]["colour_aug"]["provenance"],
            "methods": ["colour_aug"],
        }
    ]
    pinned, _ = committed_choice(record, plan, recipes, canvas, {"colour_aug": {"p": 0.5}})
    assert pinned["lenet_cnn"]["colour_aug"]["hparams"] == {"p": 0.5}
    assert "set by t4.hparams" in pinned["lenet_cnn"]["colour_aug"]["source"]


def test_a_committed_tuning_is_not_used_where_it_no_longer_applies(canvas):
    plan = {"erm": [Draw("erm", 0, {})], "colour_aug": [Draw("colour_aug", 0, {"p": 0.9})]}
    recipes = {"lenet_cnn": RECIPES["lenet_cnn"]}
    chosen, problems = committed_choice({}, plan, recipes, canvas)
    assert problems == [
        "lenet_cnn: not tuned (no tune build of it in lazy_artist/methods/tuned.py)"
    ]
    assert chosen["lenet_cnn"]["colour_aug"]["draws"] == 1
    record = _record(canvas, plan, recipes)
    longer = {"lenet_cnn": dataclasses.replace(RECIPES["lenet_cnn"], epochs=9)}
    chosen, problems = committed_choice(record, plan, longer, canvas)
    assert problems == ["lenet_cnn: its recipe differs from the one tuned"]
    assert chosen["lenet_cnn"]["colour_aug"]["hparams"] == {"p": 0.9}
    other = tiny_canvas(n_train=64)
    _, problems = committed_choice(record, plan, recipes, other)
    assert len(problems) == 1 and problems[0].startswith("lenet_cnn: tuned on another canvas")
    entry = record["lenet_cnn"]["colour_aug"]
    renamed = {"lenet_cnn": {"colour_aug": {**entry, "hparams": {"q": 1}}}}
    _, problems = committed_choice(renamed, plan, recipes, canvas)
    assert problems == ["lenet_cnn: its hparams changed since the tuning"]


def test_tunings_done_in_parts_merge_and_each_entry_applies_on_its_own(canvas):
    """A sweep done in parts (one backbone, or some methods, per tune build): each build's
    module keeps what earlier builds committed, and a build of both backbones uses each
    entry with its own recipe checked; what no build tuned trains its defaults, named."""
    plan = {
        "erm": [Draw("erm", 0, {})],
        "colour_aug": [Draw("colour_aug", 0, {"p": 0.9})],
        "group_dro": [Draw("group_dro", 0, own_hparams("group_dro"))],
    }
    first = _record(canvas, plan, {"cheater_cnn": RECIPES["cheater_cnn"]}, when="monday")
    second = _record(canvas, plan, {"lenet_cnn": RECIPES["lenet_cnn"]}, when="tuesday")
    merged, carried = merge_tunings(first, second)
    assert carried == ["colour_aug@cheater_cnn"] and set(merged) == {"cheater_cnn", "lenet_cnn"}
    assert merged["cheater_cnn"] == first["cheater_cnn"]
    third = _record(canvas, plan, {"lenet_cnn": RECIPES["lenet_cnn"]}, "group_dro", "wednesday")
    merged, carried = merge_tunings(merged, third)
    assert carried == ["colour_aug@cheater_cnn", "colour_aug@lenet_cnn"]
    assert set(merged["lenet_cnn"]) == {"colour_aug", "group_dro"}
    namespace: dict = {}
    exec(tuned_module_text(merged), namespace)
    both = {b: RECIPES[b] for b in ("cheater_cnn", "lenet_cnn")}
    chosen, problems = committed_choice(namespace["TUNED"], plan, both, canvas)
    assert problems == [
        "cheater_cnn (group_dro): not tuned (no tune build of it in lazy_artist/methods/tuned.py)"
    ]
    # Each on its own recipe's rule: the draws tie on easy validation (cheater_cnn's rule,
    # the lower draw wins) and draw 1 wins on conflict validation (lenet_cnn's).
    assert chosen["cheater_cnn"]["colour_aug"]["hparams"] == {"p": 0.0}
    assert chosen["lenet_cnn"]["colour_aug"]["hparams"] == {"p": 0.1}
    assert chosen["lenet_cnn"]["group_dro"]["hparams"] == sweep_draw("group_dro", 1)
    assert chosen["cheater_cnn"]["group_dro"]["hparams"] == own_hparams("group_dro")
    dates = [
        (g["backbone"], g["provenance"]["date"], g["methods"]) for g in provenance_groups(chosen)
    ]
    assert dates == [
        ("cheater_cnn", "monday", ["colour_aug"]),
        ("lenet_cnn", "tuesday", ["colour_aug"]),
        ("lenet_cnn", "wednesday", ["group_dro"]),
    ]
    # Tuning a method again replaces its entry.
    again, _ = merge_tunings(merged, second)
    assert again == merged


def test_stale_tunings_names_the_entries_tuned_on_other_training_code(canvas):
    plan = {"colour_aug": [Draw("colour_aug", 0, {"p": 0.9})]}
    record = _record(canvas, plan, {"lenet_cnn": RECIPES["lenet_cnn"]})
    assert stale_tunings(record, ["lenet_cnn", "cheater_cnn"], "code-digest") == []
    assert stale_tunings(record, ["lenet_cnn", "cheater_cnn"], "other") == ["colour_aug@lenet_cnn"]


def test_tables_show_hparams_draws_and_compute_relative_to_erm():
    table = _table({"erm": [(0.9, 0.5, 0.3)], "lff": [(0.9, 0.6, 0.5)]})
    rows = table["lenet_cnn"]["conflict_val"]
    rows["erm"].update(backward_passes_mean=100.0, train_seconds_mean=10.0)
    rows["lff"].update(backward_passes_mean=100.0, train_seconds_mean=25.0)
    relative_compute(table)
    assert rows["lff"]["train_seconds_vs_erm"] == 2.5 and rows["erm"]["train_seconds_vs_erm"] == 1.0
    assert rows["lff"]["steps_vs_erm"] == 1.0
    chosen = {
        "lenet_cnn": {
            "erm": {"hparams": {}, "draws": 1, "draw": 0, "source": "defaults"},
            "lff": {"hparams": {"gce_q": 0.6}, "draws": 4, "draw": 2, "source": "sweep"},
        }
    }
    attach_tuning(table, chosen)
    assert rows["lff"]["hparams"] == {"gce_q": 0.6} and rows["lff"]["draws"] == 4
    out = comparison_rows(rows, ["erm", "lff"])
    assert len(out[0]) == len(COMPARISON_COLUMNS)
    assert out[1][1] == "lff" and out[1][7] == 4 and out[1][9] == "25.0 (2.50x)"


def test_colour_aug_effective_bias_is_measured_beside_its_expectation():
    from tests.methods.test_grid import _fake

    canvas = tiny_canvas(n_train=128)
    record = _fake("colour_aug", 0, {"easy_val": {}, "conflict_val": {}})
    record.result.hparams = {"p": 0.9}
    record.result.images_seen = 10_000
    record.result.history = [{"losses": {"own_colour": 0.20}}, {"losses": {"own_colour": 0.18}}]
    out = augmentation_bias({("lenet_cnn", "colour_aug", 0): record}, canvas)["lenet_cnn"]
    aligned = float(np.mean(canvas["train"].colours == canvas["train"].labels))
    assert out["aligned_train"] == pytest.approx(aligned)
    assert out["expected"] == pytest.approx(0.09 + 0.1 * aligned)
    assert out["measured"] == pytest.approx(0.19) and out["chance"] == 0.1
    assert out["above_chance"]  # 0.09 above chance with 10,000 images: far beyond 3 errors
    record.result.history = [{"losses": {"own_colour": 0.101}}]
    assert not augmentation_bias({("lenet_cnn", "colour_aug", 0): record}, canvas)["lenet_cnn"][
        "above_chance"
    ]
    assert DEFAULT_HPARAMS["colour_aug"]["p"] == 0.9


def test_the_grid_trains_each_backbone_with_its_chosen_values(canvas):
    from lazy_artist.methods.grid import plan_runs, run_grid

    records = run_grid(
        plan_runs(["colour_aug"], ["lenet_cnn"], [0]),
        canvas,
        TINY,
        hparams={"colour_aug": {"p": 0.9}},
        backbone_hparams={"lenet_cnn": {"colour_aug": {"p": 0.3}}},
        probe_images=20,
        log=lambda _: None,
    )
    assert records[("lenet_cnn", "colour_aug", 0)].result.hparams["p"] == 0.3


def test_the_committed_tuning_module_is_one_a_full_build_can_read():
    """methods/tuned.py as committed: per backbone a provenance naming a recipe of that backbone
    (every field the check compares) and, per method, its own hparams' names only (else the
    full build would silently train the defaults for it)."""
    from lazy_artist.methods.names import METHOD_NAMES
    from lazy_artist.methods.tuned import TUNED

    fields = {f.name for f in dataclasses.fields(type(RECIPES["lenet_cnn"]))} - {"why"}
    for backbone, methods in TUNED.items():
        assert backbone in RECIPES and set(methods) <= set(METHOD_NAMES)
        for method, entry in methods.items():
            provenance = entry["provenance"]
            assert set(provenance["recipe"]) == fields, (backbone, method)
            assert provenance["recipe"]["backbone"] == backbone
            assert provenance["tune_seed"] >= 0 and provenance["n_draws"] >= 1
            assert set(entry["hparams"]) == set(own_hparams(method)), (backbone, method)
            assert 1 < entry["draws"] <= provenance["n_draws"] and entry["source"] == "sweep"


def test_every_committed_entry_applies_to_the_full_profile():
    """What the full build's ``tuning_applies`` check compares, checked without building: the
    tune profile changes nothing the canvas or the recipes are made of, so every committed
    entry must name the full profile's recipe of its backbone and the full T0's canvas (one
    canvas for all of them). A recipe or canvas edited after a tuning fails here, not two
    hours into a full build that then trains the defaults."""
    from lazy_artist.builder.tasks import COMMON_PARAMS
    from lazy_artist.methods.recipes import resolve_recipes
    from lazy_artist.methods.tuned import TUNED
    from lazy_artist.study.tasks import STUDY_TASKS

    t0, t4 = STUDY_TASKS["t0"], STUDY_TASKS["t4"]
    assert "tune" not in t0.profiles
    assert set(t4.profiles["tune"]) <= {"tuned", "n_draws", "n_seeds", "sweep_seeds", "bias_sweep"}
    full = {**COMMON_PARAMS, **t4.params}
    recipes = resolve_recipes(full["backbones"], full["recipes"])
    fields = [f.name for f in dataclasses.fields(type(RECIPES["lenet_cnn"])) if f.name != "why"]
    canvases = []
    for backbone, methods in TUNED.items():
        expected = {f: getattr(recipes[backbone], f) for f in fields}
        for method, entry in methods.items():
            provenance = entry["provenance"]
            assert provenance["recipe"] == expected, (backbone, method)
            canvases.append(provenance["canvas"])
    assert canvases and all(canvas == canvases[0] for canvas in canvases)
    assert (canvases[0]["bias"], canvases[0]["seed"]) == (t0.params["bias"], full["seed"])
    assert full["train_subset"] is None and t0.params["n_train"] is None  # the whole split
