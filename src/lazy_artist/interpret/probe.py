"""T2's measurements over every probed layer of a model: colour vs digit selectivity of each
channel, which channels to show, and how prototypes compare with the best real images."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from torch import nn

from lazy_artist.interpret.activation_max import Prototypes, objective_values
from lazy_artist.interpret.hooks import layer_activations, probe_layer_names
from lazy_artist.interpret.selectivity import Selectivity, colour_digit_selectivity

SILENT_VARIANCE = 1e-10  # a unit whose activation varies less than this over the data is silent


@dataclass
class LayerProbe:
    selectivity: Selectivity
    active: np.ndarray  # bool (U,): the unit's activation varies over the data

    @property
    def n_silent(self) -> int:
        return int((~self.active).sum())

    def colour_dominated_share(self) -> float:
        """Share of colour-dominated units among the active ones: a silent unit (a ReLU that
        never fires on this data) scores 0 for both factors and says nothing about either."""
        n_active = int(self.active.sum())
        dominated = self.selectivity.colour_dominated & self.active
        return float(dominated.sum() / n_active) if n_active else float("nan")


def layer_selectivity(
    model: nn.Module,
    images: np.ndarray,
    colours: np.ndarray,
    digits: np.ndarray,
    layers: Sequence[str] | None = None,
) -> dict[str, LayerProbe]:
    """Per layer (default: every conv layer and the penultimate), the selectivity of each
    channel's spatially averaged activation. Measure on a split where colour and digit vary
    independently (hard test, conflict validation), never on the easy ones."""
    layers = list(layers) if layers is not None else probe_layer_names(model)
    return {
        layer: probe_activations(layer_activations(model, layer, images), colours, digits)
        for layer in layers
    }


def probe_activations(acts: np.ndarray, colours: np.ndarray, digits: np.ndarray) -> LayerProbe:
    """One layer's probe from its (N, U) spatially averaged activations."""
    return LayerProbe(
        selectivity=colour_digit_selectivity(acts, colours, digits),
        active=np.asarray(acts, dtype=np.float64).var(axis=0) > SILENT_VARIANCE,
    )


def pooled_share(per_layer: dict[str, LayerProbe]) -> float:
    """Share of colour-dominated units among the active units of all given layers together."""
    active = np.concatenate([probe.active for probe in per_layer.values()])
    dominated = np.concatenate(
        [probe.selectivity.colour_dominated & probe.active for probe in per_layer.values()]
    )
    return float(dominated.sum() / active.sum()) if active.any() else float("nan")


def representative_channels(probe: LayerProbe, k: int) -> list[int]:
    """``k`` active channels to show: alternately the most colour-leaning and the most
    digit-leaning (by colour - digit selectivity), so a grid shows both kinds where both exist;
    silent channels only if there are not enough active ones."""
    margin = probe.selectivity.colour - probe.selectivity.digit
    order = [int(i) for i in np.argsort(-margin, kind="stable")]
    active = [i for i in order if probe.active[i]]
    chosen: list[int] = []
    for pair in zip(active, active[::-1], strict=True):
        for channel in pair:
            if channel not in chosen and len(chosen) < k:
                chosen.append(channel)
    chosen += [i for i in order if not probe.active[i]][: k - len(chosen)]
    return chosen


def kind_label(probe: LayerProbe, channel: int) -> str:
    """'colour', 'digit' (which factor explains more of the channel's variance) or 'silent'."""
    if not probe.active[channel]:
        return "silent"
    return "colour" if probe.selectivity.colour_dominated[channel] else "digit"


def prototype_vs_exemplar(
    model: nn.Module, prototypes: Prototypes, images: np.ndarray, topk: int
) -> np.ndarray:
    """(K,) prototype objective minus the best real image's, per channel (>= 0: the synthetic
    input excites the channel at least as much as anything in the data)."""
    real = objective_values(
        model, prototypes.layer, prototypes.objective, images, prototypes.channels, topk=topk
    )
    return prototypes.values - real.max(axis=0)


def margins_against(prototypes: Prototypes, real: np.ndarray) -> np.ndarray:
    """As :func:`prototype_vs_exemplar`, from the objective of every channel on every real image
    already computed (``real``: (N, C) for all the layer's channels)."""
    return prototypes.values - np.asarray(real)[:, prototypes.channels].max(axis=0)
