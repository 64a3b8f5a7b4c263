"""T6 for one model: per configuration train the SAE, score its features, intervene.

Data roles (the hard test set never trains or selects anything):

- training split: the activations the SAE and its standardisation are fitted on;
- easy validation split: the SAE's held-out quality (FVE, L0, dead features, spliced accuracy);
- conflict validation (colour independent of digit, built from training digits): per-feature
  colour and digit selectivity, and therefore *which* features count as the top colour ones;
- hard test: only where the chosen interventions' effects are measured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from lazy_artist.interpret.selectivity import Selectivity, colour_digit_selectivity
from lazy_artist.sae.activations import Config, Standardiser, collect_vectors, resolve_configs
from lazy_artist.sae.autoencoder import SaeRun, SaeSettings, single_thread, train_sae
from lazy_artist.sae.interventions import Intervention, LayerSae, random_feature_sets
from lazy_artist.sae.metrics import (
    InterventionEffect,
    SaeQuality,
    intervention_effect,
    sae_quality,
)

if TYPE_CHECKING:
    from lazy_artist.data.canvas import CanvasSplit
    from lazy_artist.zoo import StudyModel


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


def model_splits(model: StudyModel, splits: Mapping[str, CanvasSplit]) -> dict[str, Split]:
    """Each canvas split in the form ``model`` reads (colour or gray images)."""
    return {
        name: Split(model.inputs(data), data.labels, data.colours) for name, data in splits.items()
    }


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
    val_logits = bound.logits_under(
        val.images, {"before": None, "spliced": bound.reconstruction_edit()}
    )

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
        val_acc=float((val_logits["before"].argmax(1) == val.labels).mean()),
        spliced_val_acc=float((val_logits["spliced"].argmax(1) == val.labels).mean()),
        selectivity=selectivity,
        live=live,
        codes=codes,
        top_colour=top_colour,
        top_digit=rank_features(selectivity.digit, live, n),
    )

    # Random sets are drawn from the other live features; when there are too few of them for
    # a set as large as the colour set, from all live features (sizes must match).
    live_features = [int(i) for i in np.flatnonzero(live)]
    others = [i for i in live_features if i not in top_colour]
    pool = others if len(others) >= len(top_colour) else live_features
    random_sets = (
        random_feature_sets(
            pool, len(top_colour), intervention_settings.n_random_draws, intervention_settings.seed
        )
        if top_colour
        else []
    )
    conditions = {
        "ablate": Intervention("ablate", tuple(top_colour)),
        "amplify": Intervention("scale", tuple(top_colour), intervention_settings.amplify_factor),
        **{f"random_{k}": Intervention("ablate", f) for k, f in enumerate(random_sets)},
    }
    # Every condition in one pass over the hard images: the layers before the site run once.
    logits = bound.intervention_logits(hard.images, {"before": None, **conditions})
    before = result.logits["before"] = logits["before"]
    for name in ("ablate", "amplify"):
        result.logits[name] = logits[name]
        result.effects[name] = intervention_effect(before, logits[name], hard.labels, hard.colours)
    result.random_effects = [
        intervention_effect(before, logits[f"random_{k}"], hard.labels, hard.colours)
        for k in range(len(random_sets))
    ]
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


def plan_configs(
    network: nn.Module, configs: str | Sequence[str], focus_config: str, full_sweep: bool
) -> list[Config]:
    """The configurations one model is analysed at: every one of ``configs`` it has, plus the
    focus configuration (analysed even when the list leaves it out), or the focus alone when
    ``full_sweep`` is False (the later seeds: the comparison over seeds reads only the focus)."""
    focus = Config.parse(focus_config).for_model(network)
    if not full_sweep:
        return [focus]
    return list(dict.fromkeys([*resolve_configs(configs, network), focus]))


@dataclass
class ModelAnalysis:
    """Every SAE of one study model, with who the model is (its zoo record) and its role in
    its matched pair (``reference``: ERM; ``candidate``: the debiasing method)."""

    record: dict[str, Any]  # StudyModel.record(): name, method, backbone, seed, rule
    role: str
    focus: str  # label of the focus configuration (resolved for this model)
    full_sweep: bool
    results: dict[str, ConfigResult]  # by configuration label, in analysis order
    noop_gap: float | None = None  # largest logit change of a no-op edit (:func:`noop_gap`)

    @property
    def name(self) -> str:
        return self.record["name"]

    @property
    def backbone(self) -> str:
        return self.record["backbone"]

    @property
    def method(self) -> str:
        return self.record["method"]

    @property
    def seed(self) -> int:
        return int(self.record["seed"])

    @property
    def focus_result(self) -> ConfigResult:
        return self.results[self.focus]

    @property
    def label(self) -> str:
        """Short display name: ``cheater_cnn: erm #0``."""
        return f"{self.backbone}: {self.method} #{self.seed}"

    def describe(self) -> str:
        """One line per SAE, for the notebook's log."""
        lines = []
        for result in self.results.values():
            s = result.summary()
            random = s["random_flip_rate_mean"]
            lines.append(
                f"{result.key}: FVE {s['fve']:.3f}, L0 {s['l0']:.2f}, dead "
                f"{s['dead_fraction']:.2f}, colour {s['max_color_selectivity']:.2f} digit "
                f"{s['max_digit_selectivity']:.2f}, flips {s['ablation_flip_rate']:.3f} vs random "
                f"{float('nan') if random is None else random:.3f}, {s['train_seconds']:.1f}s"
            )
        return "\n".join(lines)

    def focus_record(self) -> dict[str, Any]:
        """The focus configuration's top features and intervention effects (summary.json)."""
        result = self.focus_result
        return {
            "backbone": self.backbone,
            "method": self.method,
            "seed": self.seed,
            "role": self.role,
            "config": result.config.label,
            "top_colour_features": result.top_colour,
            "top_digit_features": result.top_digit,
            **{
                f"{kind}_{key}": value
                for kind, effect in result.effects.items()
                for key, value in effect.as_dict().items()
            },
        }

    def summaries(self) -> dict[str, dict[str, Any]]:
        """``configs`` entries of summary.json: each SAE's numbers with the model's identity."""
        identity = {key: self.record[key] for key in ("method", "backbone", "seed", "rule")}
        return {
            result.key: {**identity, "role": self.role, **result.summary()}
            for result in self.results.values()
        }


def analyse_model(
    record: dict[str, Any],
    role: str,
    network: nn.Module,
    configs: str | Sequence[str],
    focus_config: str,
    full_sweep: bool,
    train_images: np.ndarray,
    splits: Mapping[str, Split],
    positions_per_image: int | None,
    sae_settings: SaeSettings,
    intervention_settings: InterventionSettings,
    device: torch.device | str = "cpu",
) -> ModelAnalysis:
    """One SAE per configuration of :func:`plan_configs` on one model.

    ``splits`` holds ``val``, ``conflict`` and ``hard`` in the form the model reads; the
    activations of ``train_images`` fit the SAEs and their standardisation, those of easy
    validation measure their quality (each split read in one pass for every configuration)."""
    planned = plan_configs(network, configs, focus_config, full_sweep)
    focus = Config.parse(focus_config).for_model(network)
    seed = sae_settings.seed
    # One torch thread on the CPU: these small convolutions and SAE steps ran twice as fast
    # (and took less CPU) on one thread as on two on the shared 2-core machine.
    on_cpu = torch.device(device).type == "cpu"
    with single_thread() if on_cpu else nullcontext():
        train_vectors = collect_vectors(
            network, train_images, planned, positions_per_image, seed=seed
        )
        val_vectors = collect_vectors(
            network, splits["val"].images, planned, positions_per_image, seed=seed + 1
        )
        results = {
            config.label: analyse_config(
                record["name"],
                network,
                config,
                train_vectors[config],
                val_vectors[config],
                splits["val"],
                splits["conflict"],
                splits["hard"],
                sae_settings,
                intervention_settings,
                device,
            )
            for config in planned
        }
    return ModelAnalysis(dict(record), role, focus.label, full_sweep, results)


def all_summaries(analyses: Sequence[ModelAnalysis]) -> dict[str, dict[str, Any]]:
    """``"<model>/<configuration>"`` -> that SAE's numbers, over every model analysed."""
    merged: dict[str, dict[str, Any]] = {}
    for analysis in analyses:
        merged.update(analysis.summaries())
    return merged


def noop_gap(result: ConfigResult, images: np.ndarray) -> float:
    """Largest logit change when the top colour features are scaled by one: the error term
    makes an edit that changes no feature change nothing, so this must be exactly 0."""
    noop = Intervention("scale", tuple(result.top_colour), 1.0)
    logits = result.bound.logits(images, result.bound.intervention_edit(noop))
    return float(np.abs(logits - result.logits["before"]).max())
