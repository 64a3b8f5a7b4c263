"""The models T5 attacks: matched pairs per backbone and seed, plus cross-model reference rows.

:func:`lazy_artist.zoo.matched_pairs` gives, per backbone and seed, ERM and the best debiasing
method at the backbone's recipe rule. Each model is loaded once and labelled ``method@backbone``
(:func:`short_name`; ``#seed`` and ``:rule`` only where they differ from the backbone's first
seed and default rule): a zoo name that loads the same checkpoint again, and never a bare
``erm`` that does not say which backbone. ERM on ``cheater_cnn`` seed 0 is T1's cheater
(``erm@cheater_cnn``, :func:`is_cheater`).

Extra models (by default the gray oracle, the shape-only ceiling) are *cross-model reference
rows*: shown beside the pairs, never part of a comparison.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from lazy_artist.methods.artefacts import read_index
from lazy_artist.zoo import (
    CHEATER_BACKBONE,
    CHEATER_METHOD,
    MatchedPair,
    StudyModel,
    load_study_model,
    parse_model_names,
)

REFERENCE, CANDIDATE, CROSS_MODEL = "reference (ERM)", "candidate", "cross-model reference"


def short_name(method: str, backbone: str, seed: int, rule: str, index: Mapping[str, Any]) -> str:
    """The label of a T4 model (see the module docstring): always ``method@backbone`` (a bare
    ``erm`` would not say which backbone), then ``#seed`` and ``:rule`` only where they differ
    from the backbone's first seed and default rule; ``index`` is T4's model index
    (:func:`lazy_artist.methods.artefacts.read_index`)."""
    entry = index["backbones"][backbone]
    first_seed = min(int(s) for s in entry["methods"][method])
    text = f"{method}@{backbone}"
    if seed != first_seed:
        text += f"#{seed}"
    if rule != entry["rule"]:
        text += f":{rule}"
    return text


def is_cheater(method: str, backbone: str, seed: int) -> bool:
    """ERM on the cheater backbone, seed 0: T1's cheater (the same checkpoint)."""
    return method == CHEATER_METHOD and backbone == CHEATER_BACKBONE and seed == 0


@dataclass
class ComparedModels:
    """Every model T5 attacks, by label, in the order tables show them: per backbone the pairs
    seed by seed (reference, candidate), then the extra rows."""

    models: dict[str, StudyModel]
    roles: dict[str, str]  # label -> REFERENCE, CANDIDATE or CROSS_MODEL
    pairs: list[MatchedPair]
    labels: dict[str, str]  # a pair's zoo name -> label
    first_seed: dict[str, int] = field(default_factory=dict)  # backbone -> its first pair seed

    @property
    def names(self) -> list[str]:
        return list(self.models)

    def records(self) -> list[dict[str, Any]]:
        """``StudyModel.record()`` of every model, with its role."""
        return [{**m.record(), "role": self.roles[name]} for name, m in self.models.items()]

    def showcase(self) -> list[str]:
        """The models the expensive extras run on: each backbone's first-seed pair, then the
        extra rows."""
        chosen = []
        for pair in self.pairs:
            if pair.seed == self.first_seed[pair.backbone]:
                chosen += [self.labels[pair.reference], self.labels[pair.candidate]]
        return chosen + [name for name, role in self.roles.items() if role == CROSS_MODEL]

    def first_pairs(self) -> list[tuple[str, str]]:
        """(reference, candidate) labels of each backbone's first-seed pair."""
        return [
            (self.labels[pair.reference], self.labels[pair.candidate])
            for pair in self.pairs
            if pair.seed == self.first_seed[pair.backbone]
        ]

    def matched_reference(self, name: str) -> str | None:
        """The same-backbone, same-seed ERM of a candidate (None for other models)."""
        for pair in self.pairs:
            if self.labels[pair.candidate] == name:
                return self.labels[pair.reference]
        return None


def load_compared_models(
    upstream: Mapping[str, str | Path],
    pairs: Sequence[MatchedPair],
    extra_models: str | Sequence[str] = "",
    device: torch.device | str = "cpu",
) -> ComparedModels:
    """Load every model of ``pairs`` once, and the extra rows (``extra_models``: zoo names,
    comma-separated; one that is already a pair's model is not repeated)."""
    if not pairs:
        raise ValueError("no matched pairs to compare (T4 trained none on the chosen backbones)")
    index = read_index(upstream["t4"])
    models: dict[str, StudyModel] = {}
    roles: dict[str, str] = {}
    labels: dict[str, str] = {}
    first_seed: dict[str, int] = {}
    for pair in pairs:
        first_seed.setdefault(pair.backbone, pair.seed)
        for zoo_name, role in ((pair.reference, REFERENCE), (pair.candidate, CANDIDATE)):
            loaded = load_study_model(upstream, zoo_name, device)
            label = short_name(loaded.method, loaded.backbone, loaded.seed, loaded.rule, index)
            labels[zoo_name] = label
            models.setdefault(label, replace(loaded, name=label))
            roles.setdefault(label, role)
    for requested in parse_model_names(extra_models):
        loaded = load_study_model(upstream, requested, device)
        label = short_name(loaded.method, loaded.backbone, loaded.seed, loaded.rule, index)
        if label not in models:
            models[label] = replace(loaded, name=label)
            roles[label] = CROSS_MODEL
    return ComparedModels(models, roles, list(pairs), labels, first_seed)
