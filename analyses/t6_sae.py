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
# ReLU sparse autoencoders on the activations of matched pairs of T4 models: on each backbone
# and seed, ERM (on the cheater backbone: the cheater itself) and the best debiasing method of
# that backbone, trained with the same recipe and read at the same checkpoint rule. Per SAE: how
# much of each activation it explains, which of its features encode colour and which digit,
# and what switching the top colour features off (or up) does to the hard-set predictions.
# SAEs and their standardisation are fitted on training-split activations; selectivity (and
# so the choice of features) uses conflict validation; the hard test set only measures the
# interventions' effects. The first seed of each backbone gets every configuration; the other
# seeds only the focus configuration, which is what the comparison over seeds reads.

# %% tags=["parameters"]
output_dir = "build/scratch/t6"  # the builder injects the task's staging directory
upstream = {}  # task name -> directory of that task's completed outputs
profile = "quick"
seed = 0
device = "auto"
data_root = "data"
backbones = "all"  # "all" (every backbone T4 trained) or comma-separated backbone names
n_seeds = None  # None: every seed T4 trained both models of a pair for
sweep_seeds = 1  # the first k seeds of each backbone get every configuration
alpha = 0.05  # level of the paired t tests over seeds
configs = "all"  # "all" or comma-separated "layer:aggregation" (conv names, last_conv, features)
focus_config = "last_conv:spatial_mean"  # what the comparison over seeds reads
expansion = 4.0  # SAE features per input dimension
l1_coefficient = 1.0  # weight of ||z||_1 / D against ||x - x_hat||^2 / D
epochs = 10  # SAE training epochs
steps_per_epoch = 300  # optimiser steps per epoch (None: one pass over the vectors)
batch_size = 256  # SAE training batch size (activation vectors)
lr = 1e-3  # SAE Adam learning rate
n_train_images = None  # None: every training image; an int: the first n
positions_per_image = 8  # per_position SAEs: random positions kept per training image
n_hard_images = None  # None: the whole hard test set for the interventions
n_ablate = 10  # top colour features ablated / amplified, and random features per draw
n_random_draws = 10  # random-feature ablations, the baseline of the colour ablation
amplify_factor = 4.0  # "amplify" multiplies the top colour features by this
n_top_features = 4  # features of each kind pictured with their top-activating images
n_top_images = 8  # top-activating images shown per feature
min_fve = 0.90  # expected finding: every model's SAEs explain at least this much variance
jobs = 0  # models analysed at once, one thread each (0: one per core); the same numbers

# %%
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from lazy_artist.data.canvas import COLOUR_NAMES, load_canvas
from lazy_artist.results import Recorder, artefact
from lazy_artist.runtime import resolve_device, seed_everything
from lazy_artist.sae.autoencoder import SaeSettings
from lazy_artist.sae.compare import (
    CI_LEVEL,
    MEASURES,
    by_backbone,
    compare_pairs,
    comparison_findings,
    comparison_panels,
    comparison_records,
    fve_finding,
    headline_analysis,
    index_analyses,
    noop_finding,
    plan_models,
    reference_findings,
)
from lazy_artist.sae.plots import (
    ablation_comparison,
    ablation_data,
    feature_rows,
    seed_comparison,
    selectivity_points,
    selectivity_scatter,
    top_feature_images,
    worked_example,
)
from lazy_artist.sae.runner import AnalysisSettings, analyse_models, study_splits
from lazy_artist.sae.study import InterventionSettings, all_summaries, pick_worked_example
from lazy_artist.sae.tables import (
    comparison_table,
    interventions_table,
    quality_table,
    selectivity_table,
)
from lazy_artist.zoo import CHEATER_BACKBONE, matched_pairs

seed_everything(seed)
torch_device = resolve_device(device)
rec = Recorder(output_dir, task="t6")
started = time.perf_counter()
settings = AnalysisSettings(
    configs=configs,
    focus_config=focus_config,
    positions_per_image=positions_per_image,
    n_train_images=n_train_images,
    n_hard_images=n_hard_images,
    sae=SaeSettings(
        expansion=expansion,
        l1_coefficient=l1_coefficient,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
    ),
    interventions=InterventionSettings(n_ablate, n_random_draws, amplify_factor, seed),
)

canvas_path = artefact(Path(upstream["t0"]), "canvas.npz")
canvas = load_canvas(canvas_path)
splits = study_splits(canvas, settings)
pairs = matched_pairs(upstream, backbones, n_seeds)
plan = plan_models(pairs, sweep_seeds)
rec.metric("pairs", [pair.record() for pair in pairs])
rec.metric("backbones", list(dict.fromkeys(pair.backbone for pair in pairs)))
print(canvas.sizes(), [planned.name for planned in plan])

# %% [markdown]
# ## One SAE per model and configuration

# %%
analyses = analyse_models(plan, upstream, canvas_path, settings, torch_device, jobs, canvas)
print("\n".join(analysis.describe() for analysis in analyses))
swept = [analysis for analysis in analyses if analysis.full_sweep]
rec.metric("model_records", [analysis.record for analysis in analyses])
rec.metric("configs", all_summaries(analyses))
rec.metric("focus", {analysis.name: analysis.focus_record() for analysis in analyses})
rec.metric("focus_config", {analysis.name: analysis.focus for analysis in analyses})
rec.metric("swept_models", [analysis.name for analysis in swept])
rec.metric("n_train_images", len(splits["train"]))
hard_split = splits["hard"]
rec.metric("n_hard_images", len(hard_split))

# %% [markdown]
# ## ERM against the debiasing method, per backbone, over seeds

# %%
comparisons = compare_pairs(pairs, index_analyses(analyses), alpha)
rec.metric("comparisons", comparison_records(comparisons))
rec.metric("ci_level", CI_LEVEL)
rec.metric("measures", list(MEASURES))
rec.table(
    "comparison",
    **comparison_table(comparisons),
    caption=(
        "Per backbone, ERM against the best debiasing method of that backbone (same recipe, "
        "seed and checkpoint rule; the method chosen by T4 on conflict validation), both read at "
        f"the focus configuration: mean and {CI_LEVEL:.0%} Student-t interval over seeds, the "
        f"paired difference, and the paired t test over seeds (tied when p >= {alpha:g} or with one "
        "seed). Colour-dominated features: share of live SAE features more colour- than "
        f"digit-selective on conflict validation; flips beyond random: share of {len(hard_split)} "
        f"hard-test predictions changed by ablating the top {n_ablate} colour features minus the "
        f"mean over {n_random_draws} draws of {n_ablate} random live features; drop of P(colour "
        "digit): how much that ablation lowers the mean probability of the digit the stroke "
        "colour stands for."
    ),
)
fig = seed_comparison(comparison_panels(comparisons))
rec.figure(
    "seed_comparison",
    fig,
    "Per measure and backbone: ERM and the debiasing method at the focus configuration, bars at "
    f"the mean over seeds with the {CI_LEVEL:.0%} interval, each seed a dot, a seed's two models "
    "joined.",
)
plt.show()

# %% [markdown]
# ## SAE quality and feature selectivity

# %%
rec.table(
    "quality",
    **quality_table(analyses),
    caption=(
        f"Each SAE ({expansion:g}x overcomplete, L1 coefficient {l1_coefficient:g}, {epochs} epochs "
        f"on {len(splits['train'])} training images' activations) on held-out easy-validation "
        "activations: fraction of variance explained, mean active features per vector (L0), "
        "share of features never active, and the classifier's easy-validation accuracy as is "
        "and with the SAE reconstruction spliced in place of the activation. Every configuration "
        f"for the first {sweep_seeds} seed(s) of each backbone, the focus configuration for the "
        "others."
    ),
)
rec.table(
    "selectivity",
    **selectivity_table(analyses, amplify_factor),
    caption=(
        "Per SAE: the highest colour and digit selectivity (eta^2 over the "
        f"{len(canvas['conflict_val'])} conflict-validation images) among live features, the "
        "share of live features more colour- than digit-selective, and the share of "
        f"{len(hard_split)} hard-test predictions changed by ablating the top {n_ablate} colour "
        f"features, by ablating {n_ablate} random live features (mean ± std over "
        f"{n_random_draws} draws), and by amplifying the top colour features x{amplify_factor:g}."
    ),
)

# %%
for backbone, group in by_backbone(swept).items():
    fig = selectivity_scatter(selectivity_points(group))
    rec.figure(
        f"selectivity_scatter_{backbone}",
        fig,
        f"{backbone}: every live SAE feature at its digit selectivity (x) and colour selectivity "
        "(y) on conflict validation, one panel per configuration, one colour per model (method "
        "and seed; the fully swept seeds); above the dashed diagonal a feature is more about "
        "colour than digit.",
    )
    plt.show()

# %% [markdown]
# ## Top features and what they respond to

# %%
conflict = canvas["conflict_val"]
top_feature_figures = []
for analysis in swept:
    fig = top_feature_images(
        conflict.images,
        conflict.labels,
        conflict.colours,
        feature_rows(analysis, n_top_features, n_top_images),
    )
    name = f"top_features_{analysis.backbone}_{analysis.method}_{analysis.seed}"
    top_feature_figures.append(name)
    rec.figure(
        name,
        fig,
        f"{analysis.method} on {analysis.backbone}, seed {analysis.seed}, SAE at "
        f"{analysis.focus}: the {n_top_features} most colour-selective and the "
        f"{n_top_features} most digit-selective features (rows; their colour and digit "
        f"selectivity at left), each with the {n_top_images} conflict-validation images that "
        "activate it most, marked with digit and stroke colour.",
    )
    plt.show()
rec.metric("top_feature_figures", top_feature_figures)

# %% [markdown]
# ## Switching the colour features off and up

# %%
fig = ablation_comparison(*ablation_data(swept))
rec.figure(
    "ablation",
    fig,
    f"Share of {len(hard_split)} hard-test predictions that change when the top {n_ablate} "
    f"colour features are set to 0, against {n_ablate} random live features (grey: mean, bar: "
    f"std over {n_random_draws} draws), per model (backbone, method, seed) and configuration.",
)
plt.show()
rec.table(
    "interventions",
    **interventions_table(swept, n_ablate, amplify_factor),
    caption=(
        f"Interventions at the focus configuration on {len(hard_split)} hard-test images, "
        "decoded with the reconstruction error added back, for the fully swept seed(s): share "
        "of changed predictions, mean change of the probability of the originally predicted "
        "class, hard accuracy, the share of images predicted as the digit their stroke colour "
        "stands for, and the mean probability of that digit."
    ),
)

# %% [markdown]
# ## A worked example

# %%
worked = headline_analysis(analyses)
worked_focus = worked.focus_result
before = worked_focus.logits["before"]
example, rule = pick_worked_example(before, worked_focus.logits["ablate"], hard_split.colours)
example_logits = {
    "original": before[example],
    "top colour x0": worked_focus.logits["ablate"][example],
    f"top colour x{amplify_factor:g}": worked_focus.logits["amplify"][example],
}
digit, colour = int(hard_split.labels[example]), int(hard_split.colours[example])
rec.metric(
    "worked_example",
    {
        "model": worked.record,
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
    f"{colour}): the logits of {worked.method} on {worked.backbone} (seed {worked.seed}) as is, "
    f"with its top {n_ablate} colour features at {worked.focus} ablated, and amplified "
    f"x{amplify_factor:g}; {rule}.",
)
plt.show()
rec.table(
    "worked_example",
    columns=["condition", "predicts", *[str(k) for k in range(10)]],
    rows=[
        [name, int(np.argmax(values)), *[float(v) for v in values]]
        for name, values in example_logits.items()
    ],
    caption=(
        f"The logits of {worked.method} on {worked.backbone} (seed {worked.seed}) for hard-test "
        f"image {example}, per class, under each condition."
    ),
    formats={str(k): "+.2f" for k in range(10)},
)

# %% [markdown]
# ## Expected findings

# %%
findings = [
    noop_finding(
        {analysis.name: analysis.noop_gap for analysis in analyses},
        {analysis.name: analysis.focus for analysis in analyses},
        len(hard_split),
    ),
    *[fve_finding(analysis, min_fve) for analysis in analyses],
    *reference_findings(analyses, n_ablate, n_random_draws, amplify_factor),
    *comparison_findings(comparisons),
]
for finding in findings:
    rec.check(finding.name, finding.passed, finding.detail)
# The reference reports' number is the cheater's (ERM on the cheater backbone).
if worked.backbone == CHEATER_BACKBONE:
    random_rates = worked_focus.random_flip_rates()
    rec.metric("ablation_flip_rate", worked_focus.effects["ablate"].flip_rate)
    rec.metric("random_ablation_flip_rate_mean", float(random_rates.mean()))
    rec.metric("random_ablation_flip_rate_std", float(random_rates.std(ddof=1)))
rec.metric("seconds", time.perf_counter() - started)
headline = comparisons[worked.backbone]["excess_ablation_flip_rate"]
print(
    rec.headline(
        f"{headline.backbone}, {len(headline.seeds)} seed(s), at {headline.config}: ablating the top "
        f"{n_ablate} colour features flips {headline.reference_interval.mean:.1%} of hard predictions "
        f"beyond random for erm vs {headline.candidate_interval.mean:.1%} for {headline.method} "
        f"({headline.verdict()})"
    )
)
rec.save()
