"""The study's trained models, loaded by name for the tasks that inspect or attack them.

Every model comes from T4, which trains ERM and every method on each backbone with that
backbone's recipe (:mod:`lazy_artist.methods.recipes`). A name is

    <model>[@<backbone>][#<seed>][:<rule>]

- ``<model>``: a T4 method (``erm``, ``cf_invar``, ...), ``best`` (T4's winner on the backbone
  under oracle-style selection, resolved to its own name) or ``cheater``: ERM on
  ``cheater_cnn`` (T1's recipe), seed 0 unless ``#k`` is given; T1 analyses this very model.
- ``@<backbone>``: default :data:`DEFAULT_BACKBONE` (``lenet_cnn``, the T4 comparison's
  original backbone), so ``cf_invar`` and ``best`` mean what they meant before backbones were
  an axis.
- ``#<seed>``: default the first seed T4 trained.
- ``:<rule>``: ``easy_val`` or ``conflict_val`` (:mod:`lazy_artist.methods.selection`);
  default the backbone's recipe rule (``best``: ``conflict_val``, the rule it won under).

Every model takes inputs in [0, 1] and returns logits; ``input_kind`` says whether it reads the
colour images or their grayscale version (the oracle); ``backbone`` says which architecture.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lazy_artist.data.canvas import CanvasSplit
from lazy_artist.methods.artefacts import BEST, BEST_RULE, load_method, read_index

CHEATER = "cheater"
CHEATER_BACKBONE = "cheater_cnn"
CHEATER_METHOD = "erm"
DEFAULT_BACKBONE = "lenet_cnn"
_NAME = re.compile(
    r"^(?P<model>[A-Za-z_][A-Za-z0-9_]*)(?:@(?P<backbone>[A-Za-z_][A-Za-z0-9_]*))?"
    r"(?:#(?P<seed>\d+))?(?::(?P<rule>[A-Za-z_]+))?$"
)


@dataclass(frozen=True)
class ModelName:
    """A parsed model name; ``display`` is what tables call it (the name as given, with ``best``
    replaced by the winner once resolved)."""

    model: str  # "cheater", "best" or a method
    backbone: str | None
    seed: int | None
    rule: str | None

    @property
    def method(self) -> str:
        return CHEATER_METHOD if self.model == CHEATER else self.model

    @property
    def resolved_backbone(self) -> str:
        if self.model == CHEATER:
            return CHEATER_BACKBONE
        return self.backbone or DEFAULT_BACKBONE

    def display(self, model: str | None = None) -> str:
        text = model or self.model
        if self.backbone and self.model != CHEATER:
            text += f"@{self.backbone}"
        if self.seed is not None:
            text += f"#{self.seed}"
        if self.rule:
            text += f":{self.rule}"
        return text


def parse_model_name(name: str) -> ModelName:
    """``"cf_invar@lenet_cnn#1:easy_val"`` -> its parts, each checked (clear error otherwise)."""
    from lazy_artist.methods.names import METHOD_NAMES
    from lazy_artist.methods.recipes import RECIPES
    from lazy_artist.methods.selection import RULES

    match = _NAME.match(name.strip()) if isinstance(name, str) else None
    if match is None:
        raise ValueError(
            f"model name {name!r} is not <model>[@<backbone>][#<seed>][:<rule>], "
            "e.g. 'cheater', 'best@cheater_cnn', 'cf_invar@lenet_cnn#1'"
        )
    model, backbone, seed, rule = match.group("model", "backbone", "seed", "rule")
    if model not in (CHEATER, BEST, *METHOD_NAMES):
        raise ValueError(
            f"unknown model {model!r}: choose from {CHEATER!r}, {BEST!r} or the T4 methods "
            f"{', '.join(METHOD_NAMES)}"
        )
    if model == CHEATER and backbone not in (None, CHEATER_BACKBONE):
        raise ValueError(
            f"'cheater' is ERM on {CHEATER_BACKBONE}; for another backbone name erm@{backbone}"
        )
    if backbone is not None and backbone not in RECIPES:
        raise ValueError(
            f"unknown backbone {backbone!r} in {name!r}: choose from {', '.join(RECIPES)}"
        )
    if rule is not None and rule not in RULES:
        raise ValueError(
            f"unknown selection rule {rule!r} in {name!r}: choose from {', '.join(RULES)}"
        )
    return ModelName(model, backbone, None if seed is None else int(seed), rule)


@dataclass
class StudyModel:
    name: str  # what the report calls it: "cheater", "erm", "cf_invar@cheater_cnn#1", ...
    network: nn.Module  # eval mode, on the requested device
    input_kind: str  # "colour" or "gray"
    source: str  # the task that trained it ("t4")
    meta: dict[str, Any]
    backbone: str = ""  # model-registry architecture
    method: str = ""  # the T4 method ("erm" for the cheater)
    seed: int | None = None
    rule: str = ""  # selection rule of the checkpoint
    extra: dict[str, Any] = field(default_factory=dict)

    def inputs(self, split: CanvasSplit) -> Any:
        """The split's images in the form this model reads (N, C, 28, 28) in [0, 1]."""
        return split.gray if self.input_kind == "gray" else split.images

    def record(self) -> dict[str, Any]:
        """What a table or summary says about the model (its backbone included)."""
        return {
            "name": self.name,
            "method": self.method,
            "backbone": self.backbone,
            "seed": self.seed,
            "rule": self.rule,
        }


def load_study_model(
    upstream: Mapping[str, str | Path],
    name: str,
    device: torch.device | str = "cpu",
    seed: int | None = None,
) -> StudyModel:
    """Load a study model by name (see the module docstring) from upstream t4.

    ``seed`` selects the seed when the name has no ``#k``. ``best`` resolves to the winning
    method's own name, so tables and figures say which it is."""
    parsed = parse_model_name(name)
    if "t4" not in upstream:
        raise KeyError(
            f"model {name!r} comes from task t4 (every model, the cheater included, is trained "
            "there), which this task does not depend on"
        )
    chosen_seed = parsed.seed if parsed.seed is not None else seed
    if parsed.model == CHEATER and chosen_seed is None:
        chosen_seed = 0
    network, input_kind, meta = load_method(
        Path(upstream["t4"]),
        parsed.method,
        seed=chosen_seed,
        device=device,
        backbone=parsed.resolved_backbone,
        rule=parsed.rule,
    )
    resolved = meta["method"]
    display = parsed.display(resolved if parsed.model == BEST else None)
    return StudyModel(
        display,
        network,
        input_kind,
        "t4",
        meta,
        backbone=meta["backbone"],
        method=resolved,
        seed=meta["seed"],
        rule=meta["rule"],
    )


def parse_model_names(value: str | list[str]) -> list[str]:
    """``"cheater,best"`` or a list -> names, stripped, empty entries dropped, order kept."""
    names = value.split(",") if isinstance(value, str) else list(value)
    return [name.strip() for name in names if name and name.strip()]


@dataclass(frozen=True)
class MatchedPair:
    """Two T4 models that differ only in the method: the same backbone, recipe, seed and
    selection rule. ``reference`` is ERM (on ``cheater_cnn`` under its recipe rule: the
    cheater itself); ``candidate`` is the best debiasing method on that backbone, chosen by T4
    on conflict validation (oracle-style selection), loaded at the pair's rule."""

    backbone: str
    seed: int
    rule: str  # the checkpoint rule of both models: the backbone's recipe rule
    method: str  # the candidate's method
    reference: str  # zoo name, e.g. "erm@cheater_cnn#0:easy_val"
    candidate: str  # zoo name, e.g. "cf_invar@cheater_cnn#0:easy_val"

    @property
    def names(self) -> tuple[str, str]:
        return (self.reference, self.candidate)

    def record(self) -> dict[str, Any]:
        return {
            "backbone": self.backbone,
            "seed": self.seed,
            "rule": self.rule,
            "reference": self.reference,
            "candidate": self.candidate,
            "method": self.method,
            "chosen_on": BEST_RULE,
        }


def parse_backbone_selection(value: str | list[str]) -> list[str] | None:
    """``"all"`` -> None (every backbone T4 trained); else the names, order kept."""
    if value == "all" or value == ["all"]:
        return None
    names = parse_model_names(value)
    if not names:
        raise ValueError("backbones: name at least one backbone, or 'all'")
    from lazy_artist.methods.recipes import parse_backbones

    return parse_backbones(names)


def matched_pairs(
    upstream: Mapping[str, str | Path],
    backbones: str | list[str] = "all",
    n_seeds: int | None = None,
) -> list[MatchedPair]:
    """Per backbone T4 trained (or those named) and per seed (the first ``n_seeds``, default
    every seed both models have): ERM against the best debiasing method of that backbone.

    Raises ValueError naming what is missing (a backbone T4 did not train, fewer seeds than
    asked, no debiasing method named by T4)."""
    if "t4" not in upstream:
        raise KeyError("matched pairs come from task t4, which this task does not depend on")
    index = read_index(upstream["t4"])
    trained = list(index["backbones"])
    wanted = parse_backbone_selection(backbones) or trained
    missing = [b for b in wanted if b not in trained]
    if missing:
        raise ValueError(
            f"T4 trained no model on {', '.join(missing)}; it trained {', '.join(trained)} "
            f"(set t4.backbones, or choose from those)"
        )
    if n_seeds is not None and (isinstance(n_seeds, bool) or int(n_seeds) < 1):
        raise ValueError(f"n_seeds must be an integer >= 1 or None (every seed), got {n_seeds!r}")
    pairs = []
    for backbone in wanted:
        entry = index["backbones"][backbone]
        method = entry.get("debiased", {}).get(BEST_RULE)
        if method is None:
            raise ValueError(
                f"T4 named no debiasing method on {backbone!r} (train at least one method "
                "besides erm and gray_oracle)"
            )
        common = sorted(
            set(map(int, entry["methods"].get(CHEATER_METHOD, {})))
            & set(map(int, entry["methods"][method]))
        )
        if n_seeds is not None and len(common) < n_seeds:
            raise ValueError(
                f"{n_seeds} seeds asked on {backbone!r}, but T4 trained erm and {method} for "
                f"{len(common)} ({', '.join(map(str, common)) or 'none'}): raise t4.n_seeds"
            )
        rule = entry["rule"]
        for seed in common[: n_seeds or len(common)]:
            pairs.append(
                MatchedPair(
                    backbone,
                    seed,
                    rule,
                    method,
                    f"{CHEATER_METHOD}@{backbone}#{seed}:{rule}",
                    f"{method}@{backbone}#{seed}:{rule}",
                )
            )
    return pairs
