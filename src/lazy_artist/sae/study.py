"""T6 for one model and one configuration: train the SAE, score its features, intervene.

Data roles (the hard test set never trains or selects anything):

- training split: the activations the SAE and its standardisation are fitted on;
- easy validation split: the SAE's held-out quality (FVE, L0, dead features, spliced accuracy);
- conflict validation (colour independent of digit, built from training digits): per-feature
  colour and digit selectivity, and therefore *which* features count as the top colour ones;
- hard test: only where the chosen interventions' effects are measured.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from lazy_artist.interpret.selectivity import Selectivity, colour_digit_selectivity
from lazy_artist.sae.activations import Config, Standardiser
from lazy_artist.sae.autoencoder import SaeRun, SaeSettings, train_sae
from lazy_artist.sae.interventions import Intervention, LayerSae, random_feature_sets
from lazy_artist.sae.metrics import (
    InterventionEffect,
    SaeQuality,
    intervention_effect,
    sae_quality,
)


@dataclass(frozen=True)
class InterventionSettings:
    n_ablate: int = 10  # top colour features ablated (and random features per draw)
    n_random_draws: int = 10
    amplify_factor: float = 4.0
    seed: int = 0


@dataclass
class Split:
    """What a study step needs of a canvas split, in the form the model reads."""

    images: np.ndarray
    labels: np.ndarray
    colours: np.ndarray


@dataclass
class ConfigResult:
    model: str
    config: Config
    bound: LayerSae
    run: SaeRun
    quality: SaeQuality
    val_acc: float
    spliced_val_acc: float
    selectivity: Selectivity  # over all features; dead ones score 0
    live: np.ndarray  # (K,) features active on some conflict-validation image
    codes: np.ndarray  # (N_conflict, K) per-image feature activations
    top_colour: list[int]
    top_digit: list[int]
    logits: dict[str, np.ndarray] = field(default_factory=dict)  # hard set, per condition
    effects: dict[str, InterventionEffect] = field(default_factory=dict)
    random_effects: list[InterventionEffect] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.model}/{self.config.label}"

    def max_selectivity(self, kind: str) -> float:
        scores = getattr(self.selectivity, kind)[self.live]
        return float(scores.max()) if len(scores) else float("nan")

    def colour_dominated_share(self) -> float:
        live = self.live
        return float((self.selectivity.colour[live] > self.selectivity.digit[live]).mean())

    def random_flip_rates(self) -> np.ndarray:
        return np.array([effect.flip_rate for effect in self.random_effects])

    def summary(self) -> dict[str, float]:
        """The per-configuration numbers of ``summary.json``."""
        random = self.random_flip_rates()
        return {
            "input_dim": self.run.sae.input_dim,
            "n_features": self.run.sae.n_features,
            "fve": self.quality.fve,
            "l0": self.quality.l0,
            "dead_fraction": self.quality.dead_fraction,
            "val_acc": self.val_acc,
            "spliced_val_acc": self.spliced_val_acc,
            "max_color_selectivity": self.max_selectivity("colour"),
            "max_digit_selectivity": self.max_selectivity("digit"),
            "colour_dominated_share": self.colour_dominated_share(),
            "ablation_flip_rate": self.effects["ablate"].flip_rate,
            "ablation_confidence_change": self.effects["ablate"].confidence_change,
            "random_flip_rate_mean": float(random.mean()) if len(random) else None,
            "random_flip_rate_std": float(random.std(ddof=1)) if len(random) > 1 else None,
            "amplify_flip_rate": self.effects["amplify"].flip_rate,
            "amplify_confidence_change": self.effects["amplify"].confidence_change,
            "train_seconds": self.run.seconds,
        }


def fit_layer_sae(
    network: nn.Module,
    config: Config,
    train_vectors: np.ndarray,
    settings: SaeSettings,
    device: torch.device | str = "cpu",
) -> tuple[LayerSae, SaeRun]:
    """Standardise on the training vectors, train the SAE, bind it to its layer."""
    standardiser = Standardiser.fit(train_vectors)
    run = train_sae(standardiser.transform(train_vectors), settings, device)
    return LayerSae(network, config, run.sae, standardiser), run


def rank_features(scores: np.ndarray, live: np.ndarray, n: int) -> list[int]:
    """The ``n`` live features with the highest scores, highest first."""
    order = np.argsort(-scores, kind="stable")
    return [int(i) for i in order if live[i]][:n]


def analyse_config(
    model_name: str,
    network: nn.Module,
    config: Config,
    train_vectors: np.ndarray,
    val_vectors: np.ndarray,
    val: Split,
    conflict: Split,
    hard: Split,
    sae_settings: SaeSettings,
    intervention_settings: InterventionSettings,
    device: torch.device | str = "cpu",
) -> ConfigResult:
    bound, run = fit_layer_sae(network, config, train_vectors, sae_settings, device)
    quality = sae_quality(run.sae, bound.standardiser.transform(val_vectors))
    val_logits = bound.logits(val.images)
    spliced_logits = bound.logits(val.images, bound.reconstruction_edit())

    codes = bound.image_codes(conflict.images)
    selectivity = colour_digit_selectivity(codes, conflict.colours, conflict.labels)
    live = (codes > 0).any(axis=0)
    if not live.any():
        raise ValueError(
            f"{model_name}/{config.label}: no SAE feature fires on conflict validation; "
            "lower l1_coefficient or train longer"
        )
    n = intervention_settings.n_ablate
    top_colour = rank_features(selectivity.colour, live, n)
    result = ConfigResult(
        model=model_name,
        config=config,
        bound=bound,
        run=run,
        quality=quality,
        val_acc=float((val_logits.argmax(1) == val.labels).mean()),
        spliced_val_acc=float((spliced_logits.argmax(1) == val.labels).mean()),
        selectivity=selectivity,
        live=live,
        codes=codes,
        top_colour=top_colour,
        top_digit=rank_features(selectivity.digit, live, n),
    )

    before = bound.logits(hard.images)
    conditions = {
        "ablate": Intervention("ablate", tuple(top_colour)),
        "amplify": Intervention("scale", tuple(top_colour), intervention_settings.amplify_factor),
    }
    result.logits["before"] = before
    for name, intervention in conditions.items():
        after = bound.logits(hard.images, bound.intervention_edit(intervention))
        result.logits[name] = after
        result.effects[name] = intervention_effect(before, after, hard.labels, hard.colours)
    # Random sets are drawn from the other live features; when there are too few of them for
    # a set as large as the colour set, from all live features (sizes must match).
    live_features = [int(i) for i in np.flatnonzero(live)]
    others = [i for i in live_features if i not in top_colour]
    pool = others if len(others) >= len(top_colour) else live_features
    if top_colour:
        for features in random_feature_sets(
            pool, len(top_colour), intervention_settings.n_random_draws, intervention_settings.seed
        ):
            after = bound.logits(
                hard.images, bound.intervention_edit(Intervention("ablate", features))
            )
            result.random_effects.append(
                intervention_effect(before, after, hard.labels, hard.colours)
            )
    return result


def pick_worked_example(
    before: np.ndarray, ablated: np.ndarray, colours: np.ndarray
) -> tuple[int, str]:
    """(index, the rule that chose it): the first image (in split order) read as its colour's
    digit whose prediction the ablation changes; else the first whose prediction changes; else
    the first image. A fixed rule, stated with the example, rather than a hand-picked image."""
    changed = before.argmax(1) != ablated.argmax(1)
    reads_colour = before.argmax(1) == np.asarray(colours)
    for mask, rule in (
        (
            changed & reads_colour,
            "the first hard image read as its colour's digit whose prediction the ablation changes",
        ),
        (
            changed,
            "the first hard image whose prediction the ablation changes (no image read as its "
            "colour's digit changes)",
        ),
    ):
        if mask.any():
            return int(np.flatnonzero(mask)[0]), rule
    return 0, "no hard prediction changes under the ablation, so the first image is shown"
