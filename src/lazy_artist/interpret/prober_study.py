"""T2's protocol for one model: probe every layer, synthesise prototypes, pick exemplars.

The notebook runs these per model of T2's matched pairs and draws what they return; the
comparisons between models (same backbone only) live in :mod:`prober_findings`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from torch import nn

from lazy_artist.data.canvas import CanvasSplit
from lazy_artist.interpret.activation_max import (
    ActMaxConfig,
    ObjectiveTable,
    Prototypes,
    objective_tables,
    visualise_channels,
)
from lazy_artist.interpret.exemplars import top_exemplars
from lazy_artist.interpret.hooks import PENULTIMATE, conv_layer_names, probe_layer_names
from lazy_artist.interpret.plots import ExemplarStrip
from lazy_artist.interpret.probe import (
    LayerProbe,
    kind_label,
    margins_against,
    pooled_share,
    probe_activations,
    representative_channels,
)

if TYPE_CHECKING:
    from lazy_artist.zoo import MatchedPair, StudyModel

# A prototype that ties the best real image counts as reaching it: a conv1 channel's strongest
# position saturates at pixel values (0 or 1) that real images can have too.
TIE_TOLERANCE = 1e-4
# The score selectivity and exemplars rank by: a channel's mean over its map.
MEAN = "channel_mean"


def deciding_layers(network: nn.Module) -> list[str]:
    """The layers a model's classifier reads: its deepest conv layer and the penultimate."""
    convs = conv_layer_names(network)
    return ([convs[-1]] if convs else []) + [PENULTIMATE]


@dataclass
class ModelProbe:
    """Colour vs digit selectivity of every channel of every probed layer of one model."""

    layers: dict[str, LayerProbe]
    deciding: list[str]  # the layers its classifier reads

    def shares(self) -> dict[str, float]:
        """Per layer, the share of colour-dominated channels among the active ones."""
        return {layer: probe.colour_dominated_share() for layer, probe in self.layers.items()}

    def share(self, layer: str) -> float:
        """One layer's share (NaN when the model has no such layer or it is all silent)."""
        probe = self.layers.get(layer)
        return probe.colour_dominated_share() if probe is not None else float("nan")

    def pooled(self) -> float:
        return pooled_share(self.layers)

    def silent(self) -> dict[str, int]:
        return {layer: probe.n_silent for layer, probe in self.layers.items()}

    def mean_selectivity(self) -> dict[str, dict[str, float | None]]:
        """Per layer, the mean colour and digit eta^2 over the active channels (None if none)."""
        means: dict[str, dict[str, float | None]] = {}
        for layer, probe in self.layers.items():
            active = probe.active.any()
            means[layer] = {
                factor: float(getattr(probe.selectivity, factor)[probe.active].mean())
                if active
                else None
                for factor in ("colour", "digit")
            }
        return means

    def scatter(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per layer, (colour, digit) selectivity of the active channels (the figure's dots)."""
        return {
            layer: (p.selectivity.colour[p.active], p.selectivity.digit[p.active])
            for layer, p in self.layers.items()
        }


def probe_model(
    network: nn.Module,
    inputs: np.ndarray,
    data: CanvasSplit,
    table: ObjectiveTable | None = None,
) -> ModelProbe:
    """Probe every conv layer and the penultimate of ``network`` on ``inputs`` (the split's
    images in the form the model reads), labelled by the split's colours and digits; from
    ``table`` when its channel means are already computed."""
    if table is None:
        table = objective_tables(network, probe_layer_names(network), [MEAN], inputs)
    return ModelProbe(
        layers={
            layer: probe_activations(per[MEAN], data.colours, data.labels)
            for layer, per in table.scores.items()
        },
        deciding=deciding_layers(network),
    )


@dataclass
class PrototypeSet:
    """Activation-maximisation prototypes of one model: per layer and objective, and how each
    compares with the best real image (``margins``: prototype objective minus the best
    image's, one array per distinct optimisation: on a vector layer, where every objective is
    the unit's value, the objectives share one)."""

    by_layer: dict[str, dict[str, Prototypes]] = field(default_factory=dict)
    shown: dict[str, list[int]] = field(default_factory=dict)  # the grid's channels per layer
    margins: list[np.ndarray] = field(default_factory=list)

    @property
    def n_pairs(self) -> int:
        """Distinct (channel, objective) prototypes optimised."""
        return int(sum(len(m) for m in self.margins))

    def win_share(self, tolerance: float = TIE_TOLERANCE) -> float:
        """Share of prototypes that excite their channel at least as much as any real image."""
        if not self.n_pairs:
            return float("nan")
        return float(np.mean(np.concatenate(self.margins) >= -tolerance))

    def grid(self, probe: ModelProbe) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, list]]:
        """What ``plots.prototype_grid`` takes: the shown channels' images per layer and
        objective, and their labels (channel and which factor leads it)."""
        images, labels = {}, {}
        for layer, per_objective in self.by_layer.items():
            picks = self.shown[layer]
            labels[layer] = [f"ch {c} · {kind_label(probe.layers[layer], c)}" for c in picks]
            images[layer] = {
                objective: found.images[[found.channels.index(c) for c in picks]]
                for objective, found in per_objective.items()
            }
        return images, labels


def optimise_prototypes(
    network: nn.Module,
    probe: ModelProbe,
    table: ObjectiveTable,
    objectives: Sequence[str],
    config: ActMaxConfig,
    grid_channels: int,
    all_channels: bool,
    input_shape: tuple[int, int, int],
) -> PrototypeSet:
    """Prototypes for every probed layer and objective: every channel (``all_channels``, for
    the win-share check) or only the ``grid_channels`` shown ones (colour- and digit-leaning
    alternately), each scored against the best real image of ``table`` (the same objective
    on the data). A vector layer is optimised once: its objectives coincide, and so would the
    optimisations (same seed, same gradients)."""
    found = PrototypeSet()
    for layer, layer_probe in probe.layers.items():
        found.shown[layer] = representative_channels(layer_probe, grid_channels)
        channels = list(range(len(layer_probe.active))) if all_channels else found.shown[layer]
        found.by_layer[layer] = {}
        first: Prototypes | None = None
        for objective in objectives:
            if first is not None and table.positions[layer] == 1:
                found.by_layer[layer][objective] = replace(first, objective=objective)
                continue
            prototypes = visualise_channels(
                network, layer, channels, objective, config, input_shape=input_shape
            )
            found.by_layer[layer][objective] = prototypes
            found.margins.append(margins_against(prototypes, table.scores[layer][objective]))
            first = first or prototypes
    return found


def exemplar_rows(
    probed: ProbedModel, data: CanvasSplit, objective: str, k: int
) -> dict[str, list[ExemplarStrip]]:
    """Per layer, the most colour-leaning and the most digit-leaning shown channel: its
    ``objective`` prototype and the ``k`` images of ``data`` with the highest mean activation
    (drawn in colour whatever the model reads), with their digit and stroke colour."""
    rows = {}
    for layer, layer_probe in probed.probe.layers.items():
        picks = probed.prototypes.shown[layer][:2]
        top = top_exemplars(probed.mean_activations[layer][:, picks], data.labels, data.colours, k)
        found = probed.prototypes.by_layer[layer][objective]
        rows[layer] = [
            ExemplarStrip(
                label=f"ch {c} · {kind_label(layer_probe, c)}",
                prototype=found.images[found.channels.index(c)],
                images=data.images[top.indices[j]],
                digits=top.digits[j].tolist(),
                colours=top.colours[j].tolist(),
            )
            for j, c in enumerate(picks)
        ]
    return rows


def selectivity_rows(
    records: Sequence[dict[str, Any]], probes: Sequence[ModelProbe]
) -> list[list[Any]]:
    """The selectivity table: one row per (model, layer), naming the model's method, backbone
    and seed (``records`` are ``StudyModel.record()``, in the order of ``probes``)."""
    rows = []
    for record, probe in zip(records, probes, strict=True):
        means = probe.mean_selectivity()
        for layer, layer_probe in probe.layers.items():
            rows.append(
                [
                    record["method"],
                    record["backbone"],
                    record["seed"],
                    layer,
                    len(layer_probe.active),
                    layer_probe.n_silent,
                    layer_probe.colour_dominated_share(),
                    means[layer]["colour"],
                    means[layer]["digit"],
                ]
            )
    return rows


SELECTIVITY_COLUMNS = [
    "method",
    "backbone",
    "seed",
    "layer",
    "channels",
    "silent",
    "colour-dominated",
    "mean colour η²",
    "mean digit η²",
]


@dataclass
class ProbedModel:
    """What T2 measured on one model."""

    record: dict[str, Any]  # StudyModel.record(): name, method, backbone, seed, rule
    probe: ModelProbe
    prototypes: PrototypeSet
    seconds: float = 0.0  # scoring, probing and prototypes, wall time
    # Per layer, every channel's spatial mean on every image (N, C): ranks the exemplars.
    mean_activations: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """A file-safe name for its figures: ``<method>_<backbone>_s<seed>``."""
        return figure_key(self.record)


def figure_key(record: Mapping[str, Any]) -> str:
    return f"{record['method']}_{record['backbone']}_s{record['seed']}"


def probe_study_model(
    model: StudyModel,
    data: CanvasSplit,
    objectives: Sequence[str],
    config: ActMaxConfig,
    grid_channels: int,
    all_channels: bool,
) -> ProbedModel:
    """T2 on one study model: every objective of every channel on the data (one forward pass
    per batch), the selectivity of every channel, then its prototypes."""
    started = time.perf_counter()
    inputs = model.inputs(data)
    network = model.network
    scored = list(dict.fromkeys([*objectives, MEAN]))
    table = objective_tables(network, probe_layer_names(network), scored, inputs, config.topk)
    probe = probe_model(network, inputs, data, table)
    prototypes = optimise_prototypes(
        network,
        probe,
        table,
        objectives,
        config,
        grid_channels,
        all_channels,
        tuple(inputs.shape[1:]),
    )
    return ProbedModel(
        model.record(),
        probe,
        prototypes,
        time.perf_counter() - started,
        {layer: per[MEAN] for layer, per in table.scores.items()},
    )


def pair_model_names(pairs: Sequence[MatchedPair]) -> list[str]:
    """The zoo names the pairs need, each once, in pair order (reference first)."""
    return list(dict.fromkeys(name for pair in pairs for name in pair.names))


def group_by_backbone(
    pairs: Sequence[MatchedPair], probed: Mapping[str, ProbedModel]
) -> dict[str, dict[str, ProbedModel]]:
    """Per backbone, its pairs' models under the label a same-backbone figure gives them: the
    method, with ``#seed`` when the backbone has several seeds."""
    seeds: dict[str, set[int]] = {}
    for pair in pairs:
        seeds.setdefault(pair.backbone, set()).add(pair.seed)
    groups: dict[str, dict[str, ProbedModel]] = {}
    for pair in pairs:
        for name in pair.names:
            record = probed[name].record
            label = record["method"]
            if len(seeds[pair.backbone]) > 1:
                label += f"#{record['seed']}"
            groups.setdefault(pair.backbone, {})[label] = probed[name]
    return groups
