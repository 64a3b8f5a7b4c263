"""One method, one seed: build it with validated hparams and train it on a canvas (or reuse the
identical run from a :class:`~lazy_artist.methods.memo.RunMemo`).

Every run keeps one checkpoint per selection rule (:mod:`lazy_artist.methods.selection`); the
memo stores them all in one entry, so a reused run offers both rules like a fresh one.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from lazy_artist.data.canvas import Canvas
from lazy_artist.methods.algorithms import build_algorithm
from lazy_artist.methods.base import Algorithm
from lazy_artist.methods.memo import RunMemo
from lazy_artist.methods.recipes import Recipe
from lazy_artist.methods.selection import RULES
from lazy_artist.methods.trainer import MethodResult, train_algorithm
from lazy_artist.precision import TRAINING_PRECISION


class _RuleCheckpoints:
    """What the memo stores for one run: a copy of the network per selection rule (the memo
    reads and writes ``.network``'s state dict and reads the method's ``.name``)."""

    def __init__(self, network: nn.Module, name: str = "") -> None:
        self.network = nn.ModuleDict({rule: copy.deepcopy(network) for rule in RULES})
        self.name = name

    def states(self) -> dict[str, dict[str, torch.Tensor]]:
        return {rule: self.network[rule].state_dict() for rule in RULES}

    @classmethod
    def of(cls, algorithm: Algorithm) -> _RuleCheckpoints:
        holder = cls(algorithm.network, algorithm.name)
        for rule, state in algorithm.rule_states.items():
            holder.network[rule].load_state_dict(state)
        return holder


def fit_method(
    name: str,
    canvas: Canvas,
    hparams: Mapping[str, Any] | None,
    backbone_width: int,
    epochs: int,
    seed: int,
    device: torch.device | str = "cpu",
    backbone: str = "cheater_cnn",
    memo: RunMemo | None = None,
    precision: str = TRAINING_PRECISION,
    selection: str = "conflict_val",
    lookup_only: bool = False,
) -> tuple[Algorithm, MethodResult] | None:
    """Train ``name`` on ``canvas`` (selection on validation only); returns the algorithm, whose
    network holds the ``selection`` epoch's weights (``algorithm.rule_states`` every rule's), and
    the run's record. With ``memo``, an identical earlier run is loaded instead of trained
    (``result.extra["reused"]``). ``selection`` is one rule's split(s) ("val" or
    "conflict_val"): a reused run restores exactly the rules it stored. ``lookup_only``: return
    None instead of training when the memo does not hold the run."""
    if selection not in {rule_selection(rule) for rule in RULES}:
        raise ValueError(
            f"selection={selection!r}: use one rule's split, "
            f"{' or '.join(repr(rule_selection(rule)) for rule in RULES)}"
        )
    algorithm = build_algorithm(
        name, hparams, backbone=backbone, backbone_kwargs={"width": backbone_width}, seed=seed
    )
    key = None
    if memo is not None and memo.enabled:
        key = memo.key(
            algorithm, canvas, epochs=epochs, seed=seed, device=device, precision=precision
        )
        holder = _RuleCheckpoints(algorithm.network, algorithm.name)
        reused = memo.load(key, holder)  # type: ignore[arg-type]  # duck-typed: .network only
        if reused is not None and reused.selections:
            algorithm.rule_states = holder.states()
            _select(algorithm, reused, selection)
            algorithm.to(device)
            return algorithm, reused
    if lookup_only:
        return None
    result = train_algorithm(
        algorithm,
        canvas,
        epochs=epochs,
        seed=seed,
        device=device,
        precision=precision,
        selection=selection,
    )
    if key is not None:
        _store(memo, key, algorithm, result, name=name, seed=seed, epochs=epochs, canvas=canvas)
    return algorithm, result


def _store(
    memo: RunMemo,
    key: str,
    algorithm: Algorithm,
    result: MethodResult,
    *,
    name: str,
    seed: int,
    epochs: int,
    canvas: Canvas,
) -> None:
    memo.store(
        key,
        _RuleCheckpoints.of(algorithm),  # type: ignore[arg-type]
        result,
        about={"method": name, "seed": seed, "epochs": epochs, "bias": canvas.bias},
    )


def _select(algorithm: Algorithm, result: MethodResult, selection: str) -> None:
    """Put the checkpoint of ``selection`` (a rule's splits, e.g. "val") into the network."""
    for rule, splits in RULES.items():
        if "+".join(splits) == selection:
            algorithm.network.load_state_dict(algorithm.rule_states[rule])
            return
    raise ValueError(f"a reused run offers the rules {', '.join(RULES)}, not {selection!r}")


def rule_selection(rule: str) -> str:
    """The trainer's ``selection`` string for a rule of :data:`RULES` ("val", "conflict_val")."""
    return "+".join(RULES[rule])


def _recipe_kwargs(recipe: Recipe, hparams: Mapping[str, Any] | None) -> dict[str, Any]:
    """``fit_method``'s arguments for a backbone's recipe: its optimiser settings replace the
    common hparams of every method (``hparams`` may only set the method's own)."""
    return {
        "hparams": {**dict(hparams or {}), **recipe.hparams()},
        "backbone_width": recipe.width,
        "epochs": recipe.epochs,
        "backbone": recipe.backbone,
        "precision": recipe.precision,
        "selection": rule_selection(recipe.selection),
    }


def fit_recipe(
    name: str,
    canvas: Canvas,
    recipe: Recipe,
    seed: int,
    hparams: Mapping[str, Any] | None = None,
    device: torch.device | str = "cpu",
    memo: RunMemo | None = None,
    lookup_only: bool = False,
) -> tuple[Algorithm, MethodResult] | None:
    """``fit_method`` with the backbone's recipe (see :func:`_recipe_kwargs`)."""
    return fit_method(
        name,
        canvas,
        seed=seed,
        device=device,
        memo=memo,
        lookup_only=lookup_only,
        **_recipe_kwargs(recipe, hparams),
    )


@dataclass
class TrainedRun:
    """A run trained away from the driver (memo off): every rule's checkpoint on the CPU and
    the record; :func:`restore_run` turns it back into an algorithm and stores it."""

    rule_states: dict[str, dict[str, torch.Tensor]]
    result: MethodResult


def train_recipe(
    name: str,
    canvas: Canvas,
    recipe: Recipe,
    seed: int,
    hparams: Mapping[str, Any] | None = None,
    device: torch.device | str = "cpu",
) -> TrainedRun:
    """Train one run with the memo off (what a worker does); only its checkpoints come back."""
    trained = fit_recipe(name, canvas, recipe, seed, hparams, device, memo=None)
    assert trained is not None  # no memo: always trained
    algorithm, result = trained
    states = {
        rule: {k: v.detach().cpu() for k, v in state.items()}
        for rule, state in algorithm.rule_states.items()
    }
    return TrainedRun(states, result)


def restore_run(
    trained: TrainedRun,
    name: str,
    canvas: Canvas,
    recipe: Recipe,
    seed: int,
    hparams: Mapping[str, Any] | None = None,
    device: torch.device | str = "cpu",
    memo: RunMemo | None = None,
) -> tuple[Algorithm, MethodResult]:
    """The algorithm of a run trained elsewhere, rebuilt as a memo hit is (same build, every
    rule's checkpoint, the recipe's rule in the network), and its memo entry written here."""
    kwargs = _recipe_kwargs(recipe, hparams)
    algorithm = build_algorithm(
        name,
        kwargs["hparams"],
        backbone=recipe.backbone,
        backbone_kwargs={"width": recipe.width},
        seed=seed,
    )
    algorithm.rule_states = trained.rule_states
    _select(algorithm, trained.result, kwargs["selection"])
    algorithm.to(device)
    algorithm.eval()
    if memo is not None and memo.enabled:
        # The same call as fit_method's lookup: a parallel run is stored under the key that
        # a serial build would look it up by.
        key = memo.key(
            algorithm,
            canvas,
            epochs=recipe.epochs,
            seed=seed,
            device=device,
            precision=recipe.precision,
        )
        _store(
            memo,
            key,
            algorithm,
            trained.result,
            name=name,
            seed=seed,
            epochs=recipe.epochs,
            canvas=canvas,
        )
    return algorithm, trained.result
