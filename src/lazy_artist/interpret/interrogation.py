"""T3's protocol: the matched models, Grad-CAM on every aligned/conflicting pair, the tables.

Models come in matched pairs (:func:`lazy_artist.zoo.matched_pairs`): per backbone and seed,
ERM and the best debiasing method of that backbone, both at the backbone's recipe rule (on
``cheater_cnn`` seed 0, ERM *is* the cheater). Each model's Grad-CAM comes from its own last
conv layer; within a backbone both models share it, and so the resolution of their maps,
which :func:`measure_pairs` verifies (a comparison of maps of different resolution would
compare blur, not attention). Across backbones the resolutions differ (``cheater_cnn``: 7x7,
``lenet_cnn``: 14x14), so no finding crosses backbones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lazy_artist.data.canvas import COLOUR_NAMES, CanvasSplit
from lazy_artist.interpret.attention import RegionMeans
from lazy_artist.interpret.attention_findings import (
    Finding,
    SeedPooled,
    backbone_findings,
    identity,
    seed_pooled,
)
from lazy_artist.interpret.contrast import ColourPairs, verdicts
from lazy_artist.interpret.pair_attention import TARGETS, GroupAttention, attention_on_groups
from lazy_artist.interpret.plots import VERDICT_COLOURS, Cell
from lazy_artist.zoo import (
    CHEATER,
    CHEATER_BACKBONE,
    CHEATER_METHOD,
    MatchedPair,
    StudyModel,
    load_study_model,
    matched_pairs,
)

GROUPS = ("aligned", "conflicting")


def describe(split: CanvasSplit, i: int) -> str:
    """``"7 · red"``: image ``i``'s true digit and stroke colour."""
    return f"{split.labels[i]} · {COLOUR_NAMES[split.colours[i]]}"


def is_cheater(model: StudyModel, rule: str | None = None) -> bool:
    """ERM on the cheater backbone, seed 0, at the backbone's recipe rule (``rule``; the
    pairs load every model at it): the very model T1 analyses."""
    return (
        model.method == CHEATER_METHOD
        and model.backbone == CHEATER_BACKBONE
        and model.seed == 0
        and (rule is None or model.rule == rule)
    )


def model_label(model: StudyModel, rule: str | None = None) -> str:
    """What figures call a model: method, backbone and seed (``erm = cheater`` for T1's)."""
    method = f"{model.method} = {CHEATER}" if is_cheater(model, rule) else model.method
    return f"{method} · {model.backbone} #{model.seed}"


@dataclass
class ModelAttention:
    """Grad-CAM of one model on every pair, for both target classes."""

    model: StudyModel
    label: str
    by_target: dict[str, dict[str, GroupAttention]]  # target -> group -> result
    accuracy: dict[str, float]  # group -> accuracy
    used_colour: float  # share of conflicting images read as the digit of their colour
    layer: str
    resolution: tuple[int, int]
    cheater: bool = False  # ERM on the cheater backbone, seed 0, its recipe rule: T1's model

    def predictions(self, group: str) -> np.ndarray:
        return self.by_target["predicted"][group].predictions

    def record(self) -> dict[str, Any]:
        """The model's record (backbone, seed, rule) with its Grad-CAM layer and resolution."""
        return {
            **self.model.record(),
            "label": self.label,
            "gradcam_layer": self.layer,
            "gradcam_resolution": list(self.resolution),
            "is_cheater": self.cheater,
        }


def measure_model(
    model: StudyModel, pairs: ColourPairs, seed: int = 0, rule: str | None = None
) -> ModelAttention:
    """Grad-CAM of the predicted and of the true class on both colourings of every pair."""
    groups = {"aligned": pairs.aligned, "conflicting": pairs.conflicting}
    by_target = {target: attention_on_groups(model, groups, target, seed) for target in TARGETS}
    accuracy = {
        group: float(np.mean(result.predictions == groups[group].labels))
        for group, result in by_target["predicted"].items()
    }
    conflicting = pairs.conflicting
    said = verdicts(
        by_target["predicted"]["conflicting"].predictions, conflicting.labels, conflicting.colours
    )
    cam = by_target["predicted"]["aligned"].cam
    return ModelAttention(
        model=model,
        label=model_label(model, rule),
        by_target=by_target,
        accuracy=accuracy,
        used_colour=float(np.mean(np.asarray(said) == "used colour")) if said else float("nan"),
        layer=cam.layer,
        resolution=tuple(cam.resolution),
        cheater=is_cheater(model, rule),
    )


@dataclass
class MeasuredPair:
    """One matched pair (same backbone, recipe, seed, rule), both models measured."""

    pair: MatchedPair
    reference: ModelAttention  # ERM
    candidate: ModelAttention  # the backbone's best debiasing method

    @property
    def models(self) -> tuple[ModelAttention, ModelAttention]:
        return (self.reference, self.candidate)


def load_matched(
    upstream: Mapping[str, str | Path],
    backbones: str | list[str] = "all",
    n_seeds: int | None = None,
    device: torch.device | str = "cpu",
) -> list[tuple[MatchedPair, StudyModel, StudyModel]]:
    """Every matched pair T4 offers (see :func:`lazy_artist.zoo.matched_pairs`), loaded."""
    return [
        (
            pair,
            load_study_model(upstream, pair.reference, device),
            load_study_model(upstream, pair.candidate, device),
        )
        for pair in matched_pairs(upstream, backbones, n_seeds)
    ]


def measure_pairs(
    loaded: Sequence[tuple[MatchedPair, StudyModel, StudyModel]],
    pairs: ColourPairs,
    seed: int = 0,
) -> list[MeasuredPair]:
    """Grad-CAM of both models of every pair on the same images. Raises ValueError when the
    two models of a pair (or two seeds of one backbone) do not share the Grad-CAM layer and
    resolution: their maps would not be comparable."""
    measured = [
        MeasuredPair(
            pair,
            measure_model(reference, pairs, seed, pair.rule),
            measure_model(candidate, pairs, seed, pair.rule),
        )
        for pair, reference, candidate in loaded
    ]
    layers = comparison_layers(measured)
    for entry in measured:
        for attention in entry.models:
            expected = layers[entry.pair.backbone]
            if (attention.layer, list(attention.resolution)) != (
                expected["layer"],
                expected["resolution"],
            ):
                raise ValueError(
                    f"{attention.label}: Grad-CAM at {attention.layer} "
                    f"{attention.resolution}, but {entry.pair.backbone}'s other models use "
                    f"{expected['layer']} {tuple(expected['resolution'])}: not comparable"
                )
    return measured


def comparison_layers(measured: Sequence[MeasuredPair]) -> dict[str, dict[str, Any]]:
    """Per backbone: the Grad-CAM layer and map resolution (h, w) of its first measured model,
    which every comparison on that backbone uses."""
    out: dict[str, dict[str, Any]] = {}
    for entry in measured:
        first = entry.reference
        out.setdefault(
            entry.pair.backbone,
            {
                "layer": first.layer,
                "resolution": list(first.resolution),
                "reference": first.model.method,
                "candidate": entry.pair.method,
            },
        )
    return out


def by_backbone(measured: Sequence[MeasuredPair]) -> dict[str, list[MeasuredPair]]:
    """The measured pairs grouped by backbone, seeds in order."""
    out: dict[str, list[MeasuredPair]] = {}
    for entry in measured:
        out.setdefault(entry.pair.backbone, []).append(entry)
    return {b: sorted(entries, key=lambda e: e.pair.seed) for b, entries in out.items()}


def _regions(
    entries: Sequence[MeasuredPair], target: str
) -> dict[str, dict[str, list[RegionMeans]]]:
    """``[method][group]`` -> one RegionMeans per seed (ERM as "erm", the candidate by name)."""
    out: dict[str, dict[str, list[RegionMeans]]] = {}
    for entry in entries:
        for attention in entry.models:
            per_group = out.setdefault(attention.model.method, {g: [] for g in GROUPS})
            for group in GROUPS:
                per_group[group].append(attention.by_target[target][group].regions)
    return out


def findings(
    measured: Sequence[MeasuredPair],
    target: str,
    max_stable_increase: float,
    n_boot: int = 1000,
    seed: int = 0,
) -> list[Finding]:
    """The declared findings of every backbone (:func:`backbone_findings`), pooled over its
    seeds, on the Grad-CAM of ``target`` ("predicted" or "true")."""
    out: list[Finding] = []
    for backbone, entries in by_backbone(measured).items():
        first = entries[0]
        out += backbone_findings(
            backbone,
            first.reference.model.method,
            first.candidate.model.method,
            _regions(entries, target),
            max_stable_increase,
            which=f"{target}-class Grad-CAM at {first.reference.layer} "
            f"({first.reference.resolution[0]}x{first.reference.resolution[1]})",
            n_boot=n_boot,
            seed=seed,
        )
    return out


@dataclass
class PooledRatio:
    """One (backbone, method, colouring, target) over every seed."""

    backbone: str
    method: str
    group: str
    target: str
    ratio: SeedPooled  # pooled ratio per seed, averaged, with the two-stage interval
    accuracy: float  # mean over seeds
    median: float  # of the per-image ratios, every seed's images together
    q1: float
    q3: float
    n_off_stroke: int  # over every seed
    n_maps: int

    def record(self) -> dict[str, Any]:
        return {
            "backbone": self.backbone,
            "method": self.method,
            "group": self.group,
            "target": self.target,
            **self.ratio.record(),
            "accuracy": self.accuracy,
            "median": self.median,
            "q1": self.q1,
            "q3": self.q3,
            "n_off_stroke": self.n_off_stroke,
            "n_maps": self.n_maps,
        }


def pooled_ratios(
    measured: Sequence[MeasuredPair], n_boot: int = 1000, seed: int = 0
) -> list[PooledRatio]:
    """Every (backbone, method, colouring, target)'s pooled ratio over seeds."""
    out = []
    for backbone, entries in by_backbone(measured).items():
        for role in ("reference", "candidate"):
            attentions = [getattr(entry, role) for entry in entries]
            method = attentions[0].model.method
            for target in TARGETS:
                for group in GROUPS:
                    results = [a.by_target[target][group] for a in attentions]
                    ratios = np.concatenate([r.regions.ratios() for r in results])
                    defined = ratios[~np.isnan(ratios)]
                    quartiles = (
                        np.quantile(defined, [0.25, 0.5, 0.75], method="inverted_cdf")
                        if len(defined)
                        else (np.nan,) * 3
                    )
                    out.append(
                        PooledRatio(
                            backbone,
                            method,
                            group,
                            target,
                            seed_pooled(
                                identity, [r.regions for r in results], n_boot=n_boot, seed=seed
                            ),
                            float(np.mean([a.accuracy[group] for a in attentions])),
                            float(quartiles[1]),
                            float(quartiles[0]),
                            float(quartiles[2]),
                            int((~np.isfinite(ratios)).sum()),
                            len(ratios),
                        )
                    )
    return out


def _interval(low: float, high: float) -> str:
    return f"{low:.2f}–{high:.2f}" if np.isfinite(low) and np.isfinite(high) else "n/a"


POOLED_COLUMNS = [
    "backbone",
    "model",
    "colouring",
    "class",
    "accuracy",
    "pooled",
    "95% CI",
    "median (IQR)",
    "off stroke",
]


def pooled_rows(rows: Sequence[PooledRatio]) -> list[list[Any]]:
    """Rows of the seed-pooled attention table (columns :data:`POOLED_COLUMNS`)."""
    return [
        [
            r.backbone,
            r.method,
            r.group,
            r.target,
            r.accuracy,
            r.ratio.estimate,
            _interval(r.ratio.low, r.ratio.high),
            f"{r.median:.2f} ({r.q1:.2f}–{r.q3:.2f})",
            f"{r.n_off_stroke}/{r.n_maps}",
        ]
        for r in rows
    ]


PER_SEED_COLUMNS = [
    "backbone",
    "model",
    "seed",
    "rule",
    "colouring",
    "accuracy",
    "pooled",
    "95% CI",
    "off stroke",
]


def per_seed_rows(measured: Sequence[MeasuredPair], target: str) -> list[list[Any]]:
    """Per model and colouring, the pooled ratio of ``target``'s Grad-CAM with its bootstrap
    interval over pairs (columns :data:`PER_SEED_COLUMNS`)."""
    return [
        [
            attention.model.backbone,
            attention.model.method,
            attention.model.seed,
            attention.model.rule,
            group,
            attention.accuracy[group],
            s.pooled,
            _interval(s.ci_low, s.ci_high),
            s.n_off_stroke,
        ]
        for entry in measured
        for attention in entry.models
        for group in GROUPS
        for s in [attention.by_target[target][group].summary]
    ]


LAYER_COLUMNS = ["backbone", "model", "seeds", "Grad-CAM layer", "map resolution", "shown at"]


def layer_rows(measured: Sequence[MeasuredPair], input_size: tuple[int, int]) -> list[list[Any]]:
    """Per backbone and method: the layer, its map resolution and the display size."""
    rows = []
    for backbone, entries in by_backbone(measured).items():
        for role in ("reference", "candidate"):
            first = getattr(entries[0], role)
            h, w = first.resolution
            rows.append(
                [
                    backbone,
                    first.model.method,
                    ", ".join(str(getattr(e, role).model.seed) for e in entries),
                    first.layer,
                    f"{h}×{w}",
                    f"{input_size[0]}×{input_size[1]} (bilinear)",
                ]
            )
    return rows


FINDING_COLUMNS = ["backbone", "check", "estimate", "95% CI", "per seed", "required", "held"]


def finding_rows(found: Sequence[Finding]) -> list[list[Any]]:
    return [
        [
            f.backbone,
            f.name.split(" [")[0],
            f.stat.estimate,
            _interval(f.stat.low, f.stat.high),
            ", ".join(f"{v:.2f}" for v in f.stat.per_seed),
            f"{'upper bound ≤' if f.kind == 'stable' else 'interval >'} {f.bound:g}",
            "yes" if f.passed else "NO",
        ]
        for f in found
    ]


def first_seed(measured: Sequence[MeasuredPair]) -> list[ModelAttention]:
    """Both models of each backbone's first seed: the rows of the picture figures."""
    return [a for entries in by_backbone(measured).values() for a in entries[0].models]


def first_of_each(labels: np.ndarray, digits: Sequence[int]) -> list[int]:
    """The index of the first image of each digit in ``digits`` that ``labels`` has."""
    return [int(np.flatnonzero(labels == d)[0]) for d in digits if np.any(labels == d)]


@dataclass
class MapGrid:
    cells: list[list[Cell]]
    row_labels: list[str]
    column_titles: list[str]
    table_rows: list[list[Any]]


GRID_TABLE_COLUMNS = [
    "true",
    "colour",
    "colouring",
    "model",
    "backbone",
    "seed",
    "prediction",
    "confidence",
    "verdict",
    "bg/stroke",
]


def gradcam_grid(
    models: Sequence[ModelAttention], pairs: ColourPairs, shown: Sequence[int]
) -> MapGrid:
    """The Grad-CAM grid: a row of inputs, then per model its predicted-class maps on the
    aligned and conflicting version of each shown pair, captioned with prediction, confidence
    and verdict; and the same as table rows (columns :data:`GRID_TABLE_COLUMNS`)."""
    groups = {"aligned": pairs.aligned, "conflicting": pairs.conflicting}
    columns = [(i, group) for i in shown for group in GROUPS]
    cells = [
        [Cell(groups[g].images[i], caption=f"{describe(groups[g], i)}\n{g}") for i, g in columns]
    ]
    rows = []
    for attention in models:
        row = []
        for i, g in columns:
            result = attention.by_target["predicted"][g]
            pred = int(result.predictions[i])
            confidence = float(result.cam.probabilities[i, pred])
            verdict = verdicts([pred], [groups[g].labels[i]], [groups[g].colours[i]])[0]
            row.append(
                Cell(
                    groups[g].images[i],
                    result.cam.maps[i],
                    f"pred {pred} ({confidence:.0%})\n{verdict}",
                    VERDICT_COLOURS[verdict],
                )
            )
            ratio = result.regions.ratios()[i]
            rows.append(
                [
                    int(groups[g].labels[i]),
                    COLOUR_NAMES[groups[g].colours[i]],
                    g,
                    attention.model.method,
                    attention.model.backbone,
                    attention.model.seed,
                    pred,
                    confidence,
                    verdict,
                    f"{ratio:.2f}" if np.isfinite(ratio) else "off stroke",
                ]
            )
        cells.append(row)
    return MapGrid(
        cells,
        ["input", *(a.label.replace(" · ", "\n") for a in models)],
        [f"digit {groups[g].labels[i]}" if g == "aligned" else "" for i, g in columns],
        rows,
    )


def ratio_panels(
    measured: Sequence[MeasuredPair], target: str, pooled: Sequence[PooledRatio]
) -> dict[str, dict[str, Any]]:
    """What :func:`lazy_artist.interpret.plots.ratio_panels` draws: per backbone (its layer
    and resolution in the title), per method and colouring, the per-image ratios of every seed
    together, the seed-pooled ratio and each seed's pooled ratio."""
    layers = comparison_layers(measured)
    means = {(p.backbone, p.method, p.group): p.ratio for p in pooled if p.target == target}
    panels = {}
    for backbone, entries in by_backbone(measured).items():
        methods = [a.model.method for a in entries[0].models]
        ratios = {
            method: {
                group: np.concatenate(
                    [
                        a.by_target[target][group].regions.ratios()
                        for e in entries
                        for a in e.models
                        if a.model.method == method
                    ]
                )
                for group in GROUPS
            }
            for method in methods
        }
        h, w = layers[backbone]["resolution"]
        panels[backbone] = {
            "title": f"{backbone}: {layers[backbone]['layer']}, {h}×{w} maps",
            "ratios": ratios,
            "pooled": {m: {g: means[(backbone, m, g)].estimate for g in GROUPS} for m in methods},
            "per_seed": {
                m: {g: list(means[(backbone, m, g)].per_seed) for g in GROUPS} for m in methods
            },
        }
    return panels


def all_models(measured: Sequence[MeasuredPair]) -> list[ModelAttention]:
    """Every measured model, pair by pair (ERM first)."""
    return [attention for entry in measured for attention in entry.models]


def headline(pooled: Sequence[PooledRatio], target: str, layers: Mapping[str, Any]) -> str:
    """Per backbone, each method's seed-pooled ratio aligned -> conflicting (``target``'s
    Grad-CAM), with the backbone's layer, resolution and number of seeds."""
    parts = []
    for backbone, info in layers.items():
        chosen = [p for p in pooled if p.backbone == backbone and p.target == target]
        methods = list(dict.fromkeys(p.method for p in chosen))
        ratio = {(p.method, p.group): p.ratio for p in chosen}
        h, w = info["resolution"]
        seeds = ratio[(methods[0], "aligned")].n_seeds
        text = "; ".join(
            f"{m} {ratio[(m, 'aligned')].estimate:.2f} → {ratio[(m, 'conflicting')].estimate:.2f}"
            for m in methods
        )
        parts.append(f"{backbone} ({info['layer']} {h}×{w}, {seeds} seed(s)): {text}")
    return "Grad-CAM background/stroke, aligned → conflicting, " + " | ".join(parts)


def nested_ratios(
    pooled: Sequence[PooledRatio], target: str
) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """``[backbone][method][group]`` -> the seed-pooled record of ``target``'s Grad-CAM (what
    the report's text reads)."""
    out: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    for p in pooled:
        if p.target == target:
            out.setdefault(p.backbone, {}).setdefault(p.method, {})[p.group] = p.record()
    return out


def used_colour_by_method(measured: Sequence[MeasuredPair]) -> dict[str, dict[str, float]]:
    """``[backbone][method]`` -> mean over seeds of the share of conflicting images read as
    the digit their colour stands for."""
    out: dict[str, dict[str, list[float]]] = {}
    for entry in measured:
        for a in entry.models:
            out.setdefault(entry.pair.backbone, {}).setdefault(a.model.method, []).append(
                a.used_colour
            )
    return {b: {m: float(np.mean(v)) for m, v in per.items()} for b, per in out.items()}
