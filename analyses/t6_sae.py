# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # T6: sparse autoencoders
#
# ReLU sparse autoencoders on the cheater's activations (and, beside it, a T4 model's) at
# several depths: how much of each activation they explain, which of their features encode
# colour and which digit, and what switching the top colour features off (or up) does to the
# hard-set predictions. SAEs and their standardisation are fitted on training-split activations;
# selectivity (and so the choice of features) uses conflict validation; the hard test set only
# measures the interventions' effects.

# %% tags=["parameters"]
output_dir = "build/scratch/t6"  # the builder injects the task's staging directory
upstream = {}  # task name -> directory of that task's completed outputs
profile = "quick"
seed = 0
device = "auto"
data_root = "data"
configs = "all"  # "all" or comma-separated "layer:aggregation" (conv names, last_conv, features)
focus_config = "last_conv:spatial_mean"  # the worked example and top-feature pictures
compare_model = "best"  # the T4 model analysed beside the cheater ("best" = T4's winner)
expansion = 4.0  # SAE features per input dimension
l1_coefficient = 1.0  # weight of ||z||_1 / D against ||x - x_hat||^2 / D
epochs = 10
steps_per_epoch = 300  # optimiser steps per epoch (None: one pass over the vectors)
batch_size = 256
lr = 1e-3
n_train_images = None  # None: every training image; an int: the first n
positions_per_image = 8  # per_position SAEs: random positions kept per training image
n_hard_images = None  # None: the whole hard test set for the interventions
n_ablate = 10  # top colour features ablated / amplified, and random features per draw
n_random_draws = 10
amplify_factor = 4.0  # "amplify" multiplies the top colour features by this
n_top_features = 4  # features of each kind pictured with their top-activating images
n_top_images = 8
min_fve = 0.90  # expected finding: the cheater's SAEs explain at least this much variance

# %%
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from lazy_artist.data.canvas import COLOUR_NAMES, load_canvas
from lazy_artist.results import Recorder, artefact
from lazy_artist.runtime import resolve_device, seed_everything
from lazy_artist.sae.activations import Config, collect_vectors, resolve_configs
from lazy_artist.sae.autoencoder import SaeSettings
from lazy_artist.sae.interventions import Intervention, top_activating
from lazy_artist.sae.plots import (
    FeatureRow,
    ablation_comparison,
    selectivity_scatter,
    top_feature_images,
    worked_example,
)
from lazy_artist.sae.study import (
    InterventionSettings,
    Split,
    analyse_config,
    pick_worked_example,
)
from lazy_artist.zoo import CHEATER, load_study_model

seed_everything(seed)
torch_device = resolve_device(device)
rec = Recorder(output_dir, task="t6")
started = time.perf_counter()
sae_settings = SaeSettings(
    expansion=expansion,
    l1_coefficient=l1_coefficient,
    epochs=epochs,
    steps_per_epoch=steps_per_epoch,
    batch_size=batch_size,
    lr=lr,
    seed=seed,
)
intervention_settings = InterventionSettings(n_ablate, n_random_draws, amplify_factor, seed)

canvas = load_canvas(artefact(Path(upstream["t0"]), "canvas.npz"))
models = [load_study_model(upstream, name, torch_device) for name in (CHEATER, compare_model)]
rec.metric("models", [model.name for model in models])
rec.metric("compared_model", models[1].name)
print(canvas.sizes(), [model.name for model in models])

# %% [markdown]
# ## One SAE per model and configuration

# %%
train_split = canvas["train"] if n_train_images is None else canvas["train"].head(n_train_images)
hard_split = (
    canvas["hard_test"] if n_hard_images is None else canvas["hard_test"].head(n_hard_images)
)
results = {}
for model in models:
    net = model.network
    # The focus configuration is analysed even when the list leaves it out.
    model_configs = list(
        dict.fromkeys([*resolve_configs(configs, net), Config.parse(focus_config).for_model(net)])
    )
    split = {
        name: Split(model.inputs(data), data.labels, data.colours)
        for name, data in (
            ("val", canvas["val"]),
            ("conflict", canvas["conflict_val"]),
            ("hard", hard_split),
        )
    }
    train_vectors = collect_vectors(
        net, model.inputs(train_split), model_configs, positions_per_image, seed=seed
    )
    val_vectors = collect_vectors(
        net, split["val"].images, model_configs, positions_per_image, seed=seed + 1
    )
    for config in model_configs:
        result = analyse_config(
            model.name,
            net,
            config,
            train_vectors[config],
            val_vectors[config],
            split["val"],
            split["conflict"],
            split["hard"],
            sae_settings,
            intervention_settings,
            torch_device,
        )
        results[result.key] = result
        s = result.summary()
        print(
            f"{result.key}: {len(train_vectors[config])} vectors, FVE {s['fve']:.3f}, "
            f"L0 {s['l0']:.2f}, dead {s['dead_fraction']:.2f}, colour {s['max_color_selectivity']:.2f}"
            f" digit {s['max_digit_selectivity']:.2f}, flips {s['ablation_flip_rate']:.3f} vs "
            f"random {s['random_flip_rate_mean']:.3f}, {s['train_seconds']:.1f}s"
        )
rec.metric("configs", {key: result.summary() for key, result in results.items()})
rec.metric("n_train_images", len(train_split))
rec.metric("n_hard_images", len(hard_split))

# %%
focus = {
    model.name: results[f"{model.name}/{Config.parse(focus_config).for_model(model.network).label}"]
    for model in models
}
cheater_focus = focus[CHEATER]
cheater_results = [result for result in results.values() if result.model == CHEATER]
random_rates = cheater_focus.random_flip_rates()
ablation_flip_rate = rec.metric("ablation_flip_rate", cheater_focus.effects["ablate"].flip_rate)
rec.metric("random_ablation_flip_rate_mean", float(random_rates.mean()))
rec.metric("random_ablation_flip_rate_std", float(random_rates.std(ddof=1)))
rec.metric("focus_config", {name: result.config.label for name, result in focus.items()})
rec.metric(
    "focus",
    {
        name: {
            "config": result.config.label,
            "top_colour_features": result.top_colour,
            "top_digit_features": result.top_digit,
            **{
                f"{kind}_{key}": value
                for kind, effect in result.effects.items()
                for key, value in effect.as_dict().items()
            },
        }
        for name, result in focus.items()
    },
)

# %% [markdown]
# ## SAE quality and feature selectivity

# %%
rec.table(
    "quality",
    columns=["model", "configuration", "D -> K", "FVE", "L0", "dead", "val acc", "spliced"],
    rows=[
        [
            r.model,
            r.config.label,
            f"{r.run.sae.input_dim} -> {r.run.sae.n_features}",
            r.quality.fve,
            r.quality.l0,
            r.quality.dead_fraction,
            r.val_acc,
            r.spliced_val_acc,
        ]
        for r in results.values()
    ],
    caption=(
        f"Each SAE ({expansion:g}x overcomplete, L1 coefficient {l1_coefficient:g}, {epochs} epochs "
        f"on {len(train_split)} training images' activations) on held-out easy-validation "
        "activations: fraction of variance explained, mean active features per vector (L0), "
        "share of features never active, and the classifier's easy-validation accuracy as is "
        "and with the SAE reconstruction spliced in place of the activation."
    ),
    formats={"FVE": ".3f", "L0": ".1f", "dead": ".1%", "val acc": ".1%", "spliced": ".1%"},
)

# %%
rec.table(
    "selectivity",
    columns=[
        "model",
        "configuration",
        "max colour sel.",
        "max digit sel.",
        "colour > digit",
        "flips: top colour",
        "flips: random",
        f"flips: colour x{amplify_factor:g}",
    ],
    rows=[
        [
            r.model,
            r.config.label,
            r.max_selectivity("colour"),
            r.max_selectivity("digit"),
            r.colour_dominated_share(),
            r.effects["ablate"].flip_rate,
            f"{100 * r.random_flip_rates().mean():.1f}% ± {100 * r.random_flip_rates().std(ddof=1):.1f}",
            r.effects["amplify"].flip_rate,
        ]
        for r in results.values()
    ],
    caption=(
        "Per configuration: the highest colour and digit selectivity (eta^2 over the "
        f"{len(canvas['conflict_val'])} conflict-validation images) among live features, the "
        "share of live features more colour- than digit-selective, and the share of "
        f"{len(hard_split)} hard-test predictions changed by ablating the top {n_ablate} colour "
        f"features, by ablating {n_ablate} random live features (mean ± std over "
        f"{n_random_draws} draws), and by amplifying the top colour features x{amplify_factor:g}."
    ),
    formats={
        "max colour sel.": ".2f",
        "max digit sel.": ".2f",
        "colour > digit": ".0%",
        "flips: top colour": ".1%",
        f"flips: colour x{amplify_factor:g}": ".1%",
    },
)

# %%
points = {}
for r in results.values():
    points.setdefault(r.config.label, {})[r.model] = (
        r.selectivity.colour[r.live],
        r.selectivity.digit[r.live],
    )
fig = selectivity_scatter(points)
rec.figure(
    "selectivity_scatter",
    fig,
    "Every live SAE feature at its digit selectivity (x) and colour selectivity (y) on conflict "
    "validation, one panel per configuration, one colour per model; above the dashed diagonal a "
    f"feature is more about colour than digit ({cheater_focus.colour_dominated_share():.0%} of the "
    f"cheater's features at {cheater_focus.config.label}).",
)
plt.show()

# %% [markdown]
# ## Top features and what they respond to

# %%
conflict = canvas["conflict_val"]
for name, r in focus.items():
    rows = [
        FeatureRow(
            f"{kind} #{feature}",
            float(r.selectivity.colour[feature]),
            float(r.selectivity.digit[feature]),
            top_activating(r.codes, feature, n_top_images),
        )
        for kind, features in (("colour", r.top_colour), ("digit", r.top_digit))
        for feature in features[:n_top_features]
    ]
    fig = top_feature_images(conflict.images, conflict.labels, conflict.colours, rows)
    rec.figure(
        f"top_features_{name}",
        fig,
        f"{name}, SAE at {r.config.label}: the {n_top_features} most colour-selective and the "
        f"{n_top_features} most digit-selective features (rows; their colour and digit "
        f"selectivity at left), each with the {n_top_images} conflict-validation images that "
        "activate it most, marked with digit and stroke colour.",
    )
    plt.show()

# %% [markdown]
# ## Switching the colour features off and up

# %%
fig = ablation_comparison(
    {
        model.name: {
            r.config.label: {
                "colour": r.effects["ablate"].flip_rate,
                "random_mean": float(r.random_flip_rates().mean()),
                "random_std": float(r.random_flip_rates().std(ddof=1)),
            }
            for r in results.values()
            if r.model == model.name
        }
        for model in models
    }
)
rec.figure(
    "ablation",
    fig,
    f"Share of {len(hard_split)} hard-test predictions that change when the top {n_ablate} "
    f"colour features are set to 0, against {n_ablate} random live features (grey: mean, bar: "
    f"std over {n_random_draws} draws), per model and configuration.",
)
plt.show()

# %%
rec.table(
    "interventions",
    columns=[
        "model",
        "configuration",
        "intervention",
        "flips",
        "conf. change",
        "hard acc",
        "reads colour",
        "P(colour digit)",
    ],
    rows=[
        row
        for name, r in focus.items()
        for row in (
            [
                name,
                r.config.label,
                "none",
                0.0,
                0.0,
                r.effects["ablate"].accuracy_before,
                r.effects["ablate"].colour_following_before,
                r.effects["ablate"].colour_prob_before,
            ],
            *[
                [
                    name,
                    r.config.label,
                    label,
                    r.effects[kind].flip_rate,
                    r.effects[kind].confidence_change,
                    r.effects[kind].accuracy_after,
                    r.effects[kind].colour_following_after,
                    r.effects[kind].colour_prob_after,
                ]
                for kind, label in (
                    ("ablate", f"top {n_ablate} colour x0"),
                    ("amplify", f"top {n_ablate} colour x{amplify_factor:g}"),
                )
            ],
        )
    ],
    caption=(
        f"Interventions on {len(hard_split)} hard-test images, decoded with the reconstruction "
        "error added back: share of changed predictions, mean change of the probability of the "
        "originally predicted class, hard accuracy, the share of images predicted as the "
        "digit their stroke colour stands for, and the mean probability of that digit."
    ),
    formats={
        "flips": ".1%",
        "conf. change": "+.3f",
        "hard acc": ".1%",
        "reads colour": ".1%",
        "P(colour digit)": ".3f",
    },
)

# %% [markdown]
# ## A worked example

# %%
before = cheater_focus.logits["before"]
example, rule = pick_worked_example(before, cheater_focus.logits["ablate"], hard_split.colours)
example_logits = {
    "original": before[example],
    "top colour x0": cheater_focus.logits["ablate"][example],
    f"top colour x{amplify_factor:g}": cheater_focus.logits["amplify"][example],
}
digit, colour = int(hard_split.labels[example]), int(hard_split.colours[example])
rec.metric(
    "worked_example",
    {
        "index": example,
        "digit": digit,
        "colour": COLOUR_NAMES[colour],
        **{name: values.tolist() for name, values in example_logits.items()},
    },
)
fig = worked_example(
    canvas["hard_test"].images[example],
    example_logits,
    f"digit {digit}, {COLOUR_NAMES[colour]}",
)
rec.figure(
    "worked_example",
    fig,
    f"Hard-test image {example} (digit {digit} painted {COLOUR_NAMES[colour]}, the colour of "
    f"{colour}): the cheater's logits as is, with its top {n_ablate} colour features at "
    f"{cheater_focus.config.label} ablated, and amplified x{amplify_factor:g}; {rule}.",
)
plt.show()
rec.table(
    "worked_example",
    columns=["condition", "predicts", *[str(k) for k in range(10)]],
    rows=[
        [name, int(np.argmax(values)), *[float(v) for v in values]]
        for name, values in example_logits.items()
    ],
    caption=f"The cheater's logits for hard-test image {example}, per class, under each condition.",
    formats={str(k): "+.2f" for k in range(10)},
)

# %% [markdown]
# ## Expected findings

# %%
# Exactness of the error term, measured here on the real model: scale 1 must change nothing.
noop = Intervention("scale", tuple(cheater_focus.top_colour), 1.0)
noop_logits = cheater_focus.bound.logits(
    hard_split.images, cheater_focus.bound.intervention_edit(noop)
)
noop_gap = float(np.abs(noop_logits - before).max())
rec.check(
    "noop_reproduces_logits",
    noop_gap == 0.0,
    f"scaling the top colour features x1 at {cheater_focus.config.label}: largest logit change "
    f"{noop_gap:.3g} over {len(hard_split)} hard images (required exactly 0)",
)
fve_detail = "; ".join(
    f"{r.config.label} {r.quality.fve:.3f} at L0 {r.quality.l0:.1f}" for r in cheater_results
)
rec.check(
    "cheater_sae_fve",
    all(r.quality.fve >= min_fve for r in cheater_results),
    f"fraction of variance explained on easy validation (required >= {min_fve}): {fve_detail}",
)
selectivity_detail = "; ".join(
    f"{r.config.label} colour {r.max_selectivity('colour'):.3f} vs digit "
    f"{r.max_selectivity('digit'):.3f}"
    for r in cheater_results
)
rec.check(
    "cheater_colour_over_digit",
    all(r.max_selectivity("colour") > r.max_selectivity("digit") for r in cheater_results),
    f"best colour vs best digit selectivity of the cheater's SAE features per configuration "
    f"(conflict validation): {selectivity_detail}",
)
beaten = float((ablation_flip_rate > random_rates).mean())
rec.check(
    "colour_ablation_beats_random",
    ablation_flip_rate > random_rates.max(),
    f"cheater at {cheater_focus.config.label}: ablating the top {n_ablate} colour features "
    f"changes {ablation_flip_rate:.4f} of {len(hard_split)} hard predictions vs "
    f"{random_rates.mean():.4f} ± {random_rates.std(ddof=1):.4f} (max {random_rates.max():.4f}) "
    f"for {n_random_draws} draws of {n_ablate} random live features; exceeds "
    f"{beaten:.0%} of the draws (required: all)",
)
ablated, amplified = cheater_focus.effects["ablate"], cheater_focus.effects["amplify"]
rec.check(
    "colour_features_steer_predictions",
    ablated.colour_prob_after < ablated.colour_prob_before < amplified.colour_prob_after,
    f"cheater at {cheater_focus.config.label}, mean probability of the digit the stroke colour "
    f"stands for on {len(hard_split)} hard images: {ablated.colour_prob_before:.4f} as is, "
    f"{ablated.colour_prob_after:.4f} with the top {n_ablate} colour features ablated, "
    f"{amplified.colour_prob_after:.4f} with them x{amplify_factor:g} (required: ablation "
    "lowers it, amplification raises it)",
)
rec.metric("seconds", time.perf_counter() - started)
rec.headline(
    f"cheater SAEs explain {min(r.quality.fve for r in cheater_results):.0%}+ of variance; "
    f"ablating {n_ablate} colour features at {cheater_focus.config.label} flips "
    f"{ablation_flip_rate:.1%} of hard predictions vs {random_rates.mean():.1%} for random ones"
)
rec.save()
print(rec.headline_)
