"""T4's tuning protocol, DomainBed style: the same number of hyper-parameter draws per method.

Draw 0 of a method is its defaults; draws 1..n-1 come from
:func:`~lazy_artist.methods.hparams.random_hparams` (the method's own hparams only: the
optimiser settings belong to the backbone's recipe, shared by every method). Each draw is one
independent run with the recipe's full budget on a tuning seed that none of the reported runs
uses (so the reported seeds are not the ones the draw was picked on), planned as grid runs:
they go through the run memo and the executor like any other. The draw with the highest score
on the backbone's selection split (its recipe's rule: the split its checkpoints are chosen on)
wins, the lowest draw on ties (the defaults first); the hard test set is never read.

A sweep on the full data costs hours on 2 CPU cores, so it runs in the ``tune`` profile; its
T4 writes the chosen values as a module (``artefacts/tuned.py``) that, copied over
:mod:`lazy_artist.methods.tuned`, the full profile reads (``t4.tuned = "committed"``) with its
provenance. Each method's choice on each backbone is a record of its own, so a tune build of
one backbone (``nox -s tune -- BACKBONE``) or of some methods (``--set t4.methods=...``) adds
to the committed module without redoing the others: a sweep too long for one sitting on
2 cores is done in parts. The module is library code, so committing new values changes T4's
cache key.
"""

from __future__ import annotations

import dataclasses
import pprint
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from lazy_artist.data.canvas import Canvas
from lazy_artist.methods.executor import RunRequest, fit_many
from lazy_artist.methods.hparams import own_hparams, sweep_draw, tunable
from lazy_artist.methods.memo import RunMemo
from lazy_artist.methods.recipes import Recipe
from lazy_artist.methods.selection import RULE_LABELS, RULES

TUNING_MODES = ("none", "committed")  # "none": this build's own draws; "committed": tuned.py
# Recipe fields a tuning must match to be reused (``why`` is prose).
_RECIPE_FIELDS = tuple(f.name for f in dataclasses.fields(Recipe) if f.name != "why")


@dataclass(frozen=True)
class Draw:
    method: str
    draw: int  # 0 = the defaults
    hparams: dict[str, Any]  # the method's own hparams (the recipe supplies the rest)


def plan_draws(
    methods: Sequence[str], n_draws: int, pinned: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, list[Draw]]:
    """``n_draws`` draws per method; a method with nothing left to draw (no own hparams with a
    sampler, or all of them pinned by ``t4.hparams``) has one configuration, its draw 0.
    Draws that repeat an earlier one's values are dropped (they would be the same run)."""
    if isinstance(n_draws, bool) or not isinstance(n_draws, int) or n_draws < 1:
        raise ValueError(f"n_draws must be an integer >= 1, got {n_draws!r}")
    pinned = pinned or {}
    plan = {}
    for method in methods:
        fixed = dict(pinned.get(method) or {})
        free = [name for name in tunable(method) if name not in fixed]
        draws: list[Draw] = []
        for k in range(n_draws if free else 1):
            values = sweep_draw(method, k, fixed)
            if all(d.hparams != values for d in draws):
                draws.append(Draw(method, k, values))
        plan[method] = draws
    return plan


def tuning_requests(
    plan: Mapping[str, Sequence[Draw]], recipes: Mapping[str, Recipe], tune_seed: int
) -> list[tuple[str, Draw, RunRequest]]:
    """One run per backbone x method x draw on ``tune_seed``; methods with one configuration
    need no run (there is nothing to choose)."""
    return [
        (backbone, draw, RunRequest(draw.method, "grid", recipe, tune_seed, draw.hparams))
        for backbone, recipe in recipes.items()
        for draws in plan.values()
        if len(draws) > 1
        for draw in draws
    ]


def run_tuning(
    plan: Mapping[str, Sequence[Draw]],
    canvas: Canvas,
    recipes: Mapping[str, Recipe],
    tune_seed: int,
    device: torch.device | str = "cpu",
    memo: RunMemo | None = None,
    jobs: int = 1,
    executor: str = "auto",
    log: Callable[[str], None] = print,
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Train every draw (through the memo and the executor); ``[backbone][method]`` -> per
    draw: its number, hparams, validation score per rule and its compute."""
    planned = tuning_requests(plan, recipes, tune_seed)
    fitted = fit_many(
        [r for _, _, r in planned], {"grid": canvas}, device, memo, jobs, executor, log
    )
    scores: dict[str, dict[str, list[dict[str, Any]]]] = {b: {} for b in recipes}
    for (backbone, draw, _), (_, result) in zip(planned, fitted, strict=True):
        scores[backbone].setdefault(draw.method, []).append(
            {
                "draw": draw.draw,
                "hparams": draw.hparams,
                "scores": {rule: float(result.selections[rule]["score"]) for rule in RULES},
                "seconds": result.seconds,
                "reused": bool(result.extra.get("reused")),
            }
        )
        log(
            f"tuning {backbone} {draw.method} draw {draw.draw}: "
            + ", ".join(f"{r} {result.selections[r]['score']:.4f}" for r in RULES)
        )
    return scores


def _best(runs: Sequence[Mapping[str, Any]], rule: str) -> Mapping[str, Any]:
    # Highest score; the lowest draw number (the defaults first) on ties.
    return max(runs, key=lambda run: (run["scores"][rule], -run["draw"]))


def choose(
    plan: Mapping[str, Sequence[Draw]],
    scores: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]],
    recipes: Mapping[str, Recipe],
) -> dict[str, dict[str, dict[str, Any]]]:
    """``[backbone][method]`` -> the chosen draw on the backbone's selection split: ``hparams``,
    ``draw``, ``draws`` (the number of configurations it was chosen among), ``rule``, ``score``
    and every draw's score; ``other_rules`` says which draw each other rule would have chosen
    (shown, never used)."""
    chosen: dict[str, dict[str, dict[str, Any]]] = {}
    for backbone, recipe in recipes.items():
        chosen[backbone] = {}
        for method, draws in plan.items():
            runs = scores.get(backbone, {}).get(method, [])
            if len(draws) == 1 or not runs:
                why = "one draw" if tunable(method) else "no hparams to tune"
                chosen[backbone][method] = _untuned(draws[0], recipe.selection, why)
                continue
            best = _best(runs, recipe.selection)
            chosen[backbone][method] = {
                "hparams": dict(best["hparams"]),
                "draw": best["draw"],
                "draws": len(runs),
                "rule": recipe.selection,
                "score": best["scores"][recipe.selection],
                "draw_scores": [run["scores"][recipe.selection] for run in runs],
                "other_rules": {
                    rule: _best(runs, rule)["draw"] for rule in RULES if rule != recipe.selection
                },
                "source": "sweep",
            }
    return chosen


def _untuned(draw: Draw, rule: str, why: str) -> dict[str, Any]:
    return {
        "hparams": dict(draw.hparams),
        "draw": draw.draw,
        "draws": 1,
        "rule": rule,
        "score": None,
        "draw_scores": [],
        "other_rules": {},
        "source": f"defaults ({why})",
    }


def _canvas_identity(canvas: Canvas) -> dict[str, Any]:
    # What a tuning records of its canvas, and what a later build must match to reuse it.
    return {"bias": canvas.bias, "seed": canvas.seed, "sizes": canvas.sizes()}


def tuning_record(
    chosen: Mapping[str, Mapping[str, Mapping[str, Any]]],
    recipes: Mapping[str, Recipe],
    canvas: Canvas,
    n_draws: int,
    tune_seed: int,
    code: str,
    when: str,
    profile: str,
) -> dict[str, dict[str, Any]]:
    """What a tuning build hands to later builds: ``[backbone][method]`` -> the chosen draw of
    every method it swept, each with its own provenance (the build, the canvas, the recipe).
    Each entry stands alone, so backbones and methods may be tuned in separate builds (``nox
    -s tune -- BACKBONE``, or ``--set t4.methods=...``) and their records merged
    (:func:`merge_tunings`)."""
    canvas_info = _canvas_identity(canvas)
    record: dict[str, dict[str, Any]] = {}
    for backbone, recipe in recipes.items():
        provenance = {
            "profile": profile,
            "date": when,
            "n_draws": n_draws,
            "tune_seed": tune_seed,
            "training_code": code,
            "canvas": canvas_info,
            "recipe": {f: getattr(recipe, f) for f in _RECIPE_FIELDS},
        }
        record[backbone] = {
            method: {**dict(entry), "provenance": provenance}
            for method, entry in chosen[backbone].items()
            if entry["source"] == "sweep"
        }
    return record


def merge_tunings(
    committed: Mapping[str, Mapping[str, Any]], tuned: Mapping[str, Mapping[str, Any]]
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The committed record with this build's entries put in (a method tuned again replaces
    its entry), and the committed entries carried over unchanged, as ``method@backbone``."""
    merged = {backbone: dict(methods) for backbone, methods in committed.items()}
    carried = [
        f"{method}@{backbone}"
        for backbone, methods in committed.items()
        for method in methods
        if method not in tuned.get(backbone, {})
    ]
    for backbone, methods in tuned.items():
        merged.setdefault(backbone, {}).update(methods)
    return merged, carried


def provenance_groups(
    chosen: Mapping[str, Mapping[str, Mapping[str, Any]]],
) -> list[dict[str, Any]]:
    """Per backbone, the tune builds the values in use come from: each build's provenance with
    the methods it chose (methods trained with their defaults have none)."""
    groups: list[dict[str, Any]] = []
    for backbone, methods in chosen.items():
        for method, entry in methods.items():
            provenance = entry.get("provenance")
            if provenance is None:
                continue
            group = next(
                (g for g in groups if g["backbone"] == backbone and g["provenance"] == provenance),
                None,
            )
            if group is None:
                group = {"backbone": backbone, "provenance": provenance, "methods": []}
                groups.append(group)
            group["methods"].append(method)
    return groups


def tuned_module_text(record: Mapping[str, Any]) -> str:
    """The source of :mod:`lazy_artist.methods.tuned` holding ``record``."""
    body = pprint.pformat(dict(record), sort_dicts=False, width=96)
    return (
        '"""T4\'s chosen hyper-parameters per backbone and method, written by ``tune``-profile\n'
        "builds of T4 (their ``artefacts/tuned.py``; ``nox -s tune`` copies it here) and read by\n"
        'the full profile (``t4.tuned = "committed"``). See :mod:`lazy_artist.methods.tuning`;\n'
        'do not edit by hand."""\n\n'
        "from typing import Any\n\n"
        f"TUNED: dict[str, Any] = {body}\n"
    )


def committed_choice(
    record: Mapping[str, Any],
    plan: Mapping[str, Sequence[Draw]],
    recipes: Mapping[str, Recipe],
    canvas: Canvas,
    pinned: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[dict[str, dict[str, dict[str, Any]]], list[str]]:
    """The committed tuning's choice per backbone and method where it applies, else the
    defaults; and why some entries could not be used (empty when all were). A method's entry
    applies when it was tuned on this build's canvas with this build's recipe and its hparam
    names are this build's; a method with no hparams of its own needs none. Values pinned by
    ``t4.hparams`` override the tuned ones (and say so)."""
    pinned = pinned or {}
    here = _canvas_identity(canvas)
    problems = []
    chosen: dict[str, dict[str, dict[str, Any]]] = {}
    for backbone, recipe in recipes.items():
        chosen[backbone] = {}
        current = {f: getattr(recipe, f) for f in _RECIPE_FIELDS}
        unusable: dict[str, list[str]] = {}
        for method, draws in plan.items():
            if not tunable(method):
                chosen[backbone][method] = _untuned(
                    draws[0], recipe.selection, "no hparams to tune"
                )
                continue
            entry = record.get(backbone, {}).get(method)
            reason = _unusable(entry, method, here, current)
            if reason is None:
                fixed = {k: v for k, v in dict(pinned.get(method) or {}).items()}
                source = "committed tuning"
                if any(entry["hparams"].get(k) != v for k, v in fixed.items()):
                    source += f" ({', '.join(sorted(fixed))} set by t4.hparams)"
                hparams = {**dict(entry["hparams"]), **fixed}
                chosen[backbone][method] = {**dict(entry), "hparams": hparams, "source": source}
                continue
            unusable.setdefault(reason, []).append(method)
            chosen[backbone][method] = _untuned(draws[0], recipe.selection, "not tuned")
        every = [method for method in plan if tunable(method)]
        for reason, methods in unusable.items():
            which = "" if methods == every else f" ({', '.join(methods)})"
            problems.append(f"{backbone}{which}: {reason}")
    return chosen, problems


def _unusable(
    entry: Mapping[str, Any] | None,
    method: str,
    canvas: Mapping[str, Any],
    recipe: Mapping[str, Any],
) -> str | None:
    if entry is None:
        return "not tuned (no tune build of it in lazy_artist/methods/tuned.py)"
    provenance = entry.get("provenance", {})
    if provenance.get("canvas") != canvas:
        return f"tuned on another canvas ({provenance.get('canvas')}, here {canvas})"
    if provenance.get("recipe") != recipe:
        return "its recipe differs from the one tuned"
    if set(entry.get("hparams", {})) != set(own_hparams(method)):
        return "its hparams changed since the tuning"
    return None


def stale_tunings(record: Mapping[str, Any], backbones: Sequence[str], code: str) -> list[str]:
    """The ``method@backbone`` entries of ``backbones`` tuned on other training code."""
    return [
        f"{method}@{backbone}"
        for backbone in backbones
        for method, entry in record.get(backbone, {}).items()
        if entry["provenance"]["training_code"] != code
    ]


def tuning_rows(
    chosen: Mapping[str, Mapping[str, Any]], order: Sequence[str] = ()
) -> list[list[Any]]:
    """The tuning table's rows: method, draws, chosen draw, chosen on, score, hparams, source."""
    names = [m for m in order if m in chosen] + [m for m in chosen if m not in order]
    rows = []
    for method in names:
        entry = chosen[method]
        scores = entry.get("draw_scores") or []
        spread = f"{100 * min(scores):.1f}-{100 * max(scores):.1f}" if scores else "-"
        rows.append(
            [
                method,
                entry["draws"],
                entry["draw"],
                RULE_LABELS[entry["rule"]].split(" (")[0] if entry["draws"] > 1 else "-",
                "-" if entry["score"] is None else f"{100 * entry['score']:.1f} ({spread})",
                ", ".join(f"{k}={_value(v)}" for k, v in entry["hparams"].items()) or "(none)",
                entry["source"],
            ]
        )
    return rows


def _value(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def chosen_hparams(
    chosen: Mapping[str, Mapping[str, Mapping[str, Any]]],
) -> dict[str, dict[str, dict[str, Any]]]:
    """``[backbone][method]`` -> the hparams to train the reported seeds with."""
    return {b: {m: dict(e["hparams"]) for m, e in methods.items()} for b, methods in chosen.items()}
