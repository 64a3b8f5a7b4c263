"""One method, one seed: build it with validated hparams and train it on a canvas (or reuse the
identical run from a :class:`~lazy_artist.methods.memo.RunMemo`).

Every run keeps one checkpoint per selection rule (:mod:`lazy_artist.methods.selection`); the
memo stores them all in one entry, so a reused run offers both rules like a fresh one.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from lazy_artist.data.canvas import Canvas
from lazy_artist.methods.algorithms import Algorithm, build_algorithm
from lazy_artist.methods.memo import RunMemo
from lazy_artist.methods.recipes import Recipe
from lazy_artist.methods.selection import RULES
from lazy_artist.methods.trainer import MethodResult, train_algorithm
from lazy_artist.precision import TRAINING_PRECISION


class _RuleCheckpoints:
    """What the memo stores for one run: a copy of the network per selection rule (the memo
    reads and writes ``.network``'s state dict)."""

    def __init__(self, network: nn.Module) -> None:
        self.network = nn.ModuleDict({rule: copy.deepcopy(network) for rule in RULES})

    def states(self) -> dict[str, dict[str, torch.Tensor]]:
        return {rule: self.network[rule].state_dict() for rule in RULES}

    @classmethod
    def of(cls, algorithm: Algorithm) -> _RuleCheckpoints:
        holder = cls(algorithm.network)
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
) -> tuple[Algorithm, MethodResult]:
    """Train ``name`` on ``canvas`` (selection on validation only); returns the algorithm, whose
    network holds the ``selection`` epoch's weights (``algorithm.rule_states`` every rule's), and
    the run's record. With ``memo``, an identical earlier run is loaded instead of trained
    (``result.extra["reused"]``). ``selection`` is one rule's split(s) ("val" or
    "conflict_val"): a reused run restores exactly the rules it stored."""
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
        holder = _RuleCheckpoints(algorithm.network)
        reused = memo.load(key, holder)  # type: ignore[arg-type]  # duck-typed: .network only
        if reused is not None and reused.selections:
            algorithm.rule_states = holder.states()
            _select(algorithm, reused, selection)
            algorithm.to(device)
            return algorithm, reused
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
        memo.store(
            key,
            _RuleCheckpoints.of(algorithm),  # type: ignore[arg-type]
            result,
            about={"method": name, "seed": seed, "epochs": epochs, "bias": canvas.bias},
        )
    return algorithm, result


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


def fit_recipe(
    name: str,
    canvas: Canvas,
    recipe: Recipe,
    seed: int,
    hparams: Mapping[str, Any] | None = None,
    device: torch.device | str = "cpu",
    memo: RunMemo | None = None,
) -> tuple[Algorithm, MethodResult]:
    """``fit_method`` with the backbone's recipe: its optimiser settings replace the common
    hparams of every method (``hparams`` may only set the method's own)."""
    return fit_method(
        name,
        canvas,
        hparams={**dict(hparams or {}), **recipe.hparams()},
        backbone_width=recipe.width,
        epochs=recipe.epochs,
        seed=seed,
        device=device,
        backbone=recipe.backbone,
        memo=memo,
        precision=recipe.precision,
        selection=rule_selection(recipe.selection),
    )
