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
# # T3: the interrogation
#
# Where the models look, compared only within a backbone: on each backbone T4 trained, ERM
# against the best debiasing method of that backbone (same recipe, seed and selection rule;
# on `cheater_cnn` seed 0, ERM is the cheater), for every seed. Grad-CAM (from scratch, each
# model's last conv layer: the same layer and map resolution for both models of a backbone)
# on pairs of images that share the digit stroke, background and noise and differ only in the
# stroke colour (the digit's own colour vs another digit's); the findings pool the seeds.
# Integrated Gradients with their completeness gaps, and both methods on an original image
# and its adversarial version, on the first seed of each backbone. The protocol lives in
# `lazy_artist.interpret.interrogation` and its neighbours; this notebook calls it, draws
# and records.

# %% tags=["parameters"]
output_dir = "build/scratch/t3"  # the builder injects the task's staging directory
upstream = {}  # task name -> directory of that task's completed outputs
profile = "quick"
seed = 0
device = "auto"
data_root = "data"
backbones = "all"  # the T4 backbones compared (each: ERM vs its best debiasing method)
n_seeds = None  # seeds per backbone: None means every seed T4 trained (full 3, quick 1)
split = "hard_test"  # digits painted twice (aligned, conflicting); measured on, never selected on
n_images = 1000  # pairs for the attention ratio
gradcam_digits = [0, 1, 3, 7]  # one aligned and one conflicting image each in the grid
ig_steps = 128  # Riemann steps of Integrated Gradients
ig_images = 100  # images per (model, output, baseline) for the completeness gap
ig_baseline = "zero"  # baseline of the IG maps in the adversarial figure
attack_source = 7  # a correctly read 7 ...
attack_target = 3  # ... pushed towards 3
attack_epsilon = 0.1  # L-infinity budget of T5's targeted PGD attack
attack_steps = 40  # PGD steps of the attack whose maps are compared
ratio_target = "predicted"  # Grad-CAM class of the attention checks: "predicted" or "true"
max_completeness_gap = 0.01  # median |sum IG - (F(x) - F(b))| / |F(x) - F(b)|
max_stable_increase = 0.1  # debiased: conflicting ratio at most this much (relative) above aligned

# %%
import time
from pathlib import Path

import matplotlib.pyplot as plt
import torch

from lazy_artist.data.canvas import load_canvas
from lazy_artist.interpret.adversarial_attention import (
    COLUMN_TITLES,
    AttackSettings,
    adversarial_views,
    choose_source,
)
from lazy_artist.interpret.attention_findings import N_BOOT
from lazy_artist.interpret.contrast import colour_pairs
from lazy_artist.interpret.ig_summary import (
    MAP_TITLES,
    MIN_CHANGE,
    ROW_COLUMNS,
    completeness,
    completeness_gaps,
    gaps_by_model,
    map_row,
)
from lazy_artist.interpret.interrogation import (
    FINDING_COLUMNS,
    GRID_TABLE_COLUMNS,
    LAYER_COLUMNS,
    PER_SEED_COLUMNS,
    POOLED_COLUMNS,
    all_models,
    by_backbone,
    comparison_layers,
    describe,
    finding_rows,
    findings,
    first_of_each,
    first_seed,
    gradcam_grid,
    headline,
    layer_rows,
    load_matched,
    measure_pairs,
    nested_ratios,
    per_seed_rows,
    pooled_ratios,
    pooled_rows,
    ratio_panels,
    used_colour_by_method,
)
from lazy_artist.interpret.plots import map_grid
from lazy_artist.interpret.plots import ratio_panels as draw_ratio_panels
from lazy_artist.results import Recorder, artefact
from lazy_artist.runtime import resolve_device, seed_everything

seed_everything(seed)
# Small models and batches: a second intra-op thread only adds synchronisation (and on a
# shared CPU it is many times slower).
torch.set_num_threads(1)
torch_device = resolve_device(device)
rec = Recorder(output_dir, task="t3")
started = time.perf_counter()

canvas = load_canvas(artefact(Path(upstream["t0"]), "canvas.npz"))
# Painted on the canvas's own background range, the distribution the models were tested on.
pairs = colour_pairs(canvas[split].head(n_images), bg_range=canvas.bg_range, seed=seed)
loaded = load_matched(upstream, backbones, n_seeds, torch_device)
rec.metric("pairs", [pair.record() for pair, _, _ in loaded])
rec.metric("n_pairs", len(pairs.aligned))
rec.metric("bg_range", list(canvas.bg_range))
rec.metric("n_boot", N_BOOT)
print([pair.names for pair, _, _ in loaded])

# %% [markdown]
# ## Grad-CAM over every pair, every model

# %%
measured = measure_pairs(loaded, pairs, seed)
models = all_models(measured)
layers = rec.metric("gradcam_layers", comparison_layers(measured))
rec.metric("model_records", [a.record() for a in models])
rec.metric("backbones", list(layers))
rec.metric("n_seeds", {b: len(entries) for b, entries in by_backbone(measured).items()})
rec.metric(
    "gradcam_layer",
    {a.model.name: {"layer": a.layer, "resolution": list(a.resolution)} for a in models},
)
rec.table(
    "gradcam_layers",
    columns=LAYER_COLUMNS,
    rows=layer_rows(measured, tuple(pairs.aligned.images.shape[-2:])),
    caption=(
        "Where each map comes from: every model's last conv layer and the resolution of its "
        "activation maps, before the map is upsampled to the image. Both models of a backbone "
        "share the layer and resolution, so every comparison is between maps of equal detail; "
        "the backbones differ, so no comparison crosses them."
    ),
)

pooled = pooled_ratios(measured, seed=seed)
rec.metric("ratio_target", ratio_target)
rec.metric("background_stroke_ratio", [p.record() for p in pooled])
rec.metric("pair_accuracy", {a.model.name: a.accuracy for a in models})
rec.metric("conflicting_used_colour_share", {a.model.name: a.used_colour for a in models})
rec.metric("used_colour_by_method", used_colour_by_method(measured))
rec.metric("pooled_ratio", nested_ratios(pooled, ratio_target))
rec.table(
    "attention_ratio",
    columns=POOLED_COLUMNS,
    rows=pooled_rows(pooled),
    caption=(
        f"Grad-CAM of the predicted and of the true class on {len(pairs.aligned)} {split} "
        f"digits painted in their own colour (aligned) and in another digit's colour "
        f"(conflicting), per backbone and method over its seeds; the checks use the "
        f"{ratio_target} class. Pooled: mean map value on background pixels / on stroke "
        f"pixels over all images (masks from the raw digit; each map peaks at 1), averaged "
        f"over seeds, with a 95% two-stage bootstrap interval (seeds, then pairs within each "
        f"seed; {N_BOOT} replicates); accuracy: mean over seeds; median and IQR of the "
        f"per-image ratios of every seed together; 'off stroke': maps with nothing on the "
        f"stroke (ratio +∞, or undefined for a map that is zero everywhere), out of all maps."
    ),
    formats={"accuracy": ".1%", "pooled": ".2f"},
)
rec.table(
    "attention_ratio_per_seed",
    columns=PER_SEED_COLUMNS,
    rows=per_seed_rows(measured, ratio_target),
    caption=(
        f"The same ratio ({ratio_target} class) per model: backbone, method, seed and the "
        f"selection rule of its checkpoint; 95% bootstrap interval over the pairs."
    ),
    formats={"accuracy": ".1%", "pooled": ".2f"},
)
fig = draw_ratio_panels(ratio_panels(measured, ratio_target, pooled))
rec.figure(
    "attention_ratio",
    fig,
    f"Background/stroke ratio of the Grad-CAM of the {ratio_target} class per image, one "
    f"panel per backbone (its Grad-CAM layer and map resolution in the title; models are "
    f"compared only within a panel), every seed's {len(pairs.aligned)} pairs together: boxes "
    f"span the quartiles, whiskers 1.5 IQR (outliers not drawn), diamonds are the pooled "
    f"ratios averaged over seeds, dots each seed's pooled ratio; log axis; 1 (dotted) = as much "
    f"attention on the background as on the stroke. Ratios beyond the axis (including maps "
    f"with nothing on the stroke, ratio +inf) are drawn at its top edge and counted above "
    f"their box.",
)
plt.show()

# %% [markdown]
# ## The Grad-CAM grid: aligned vs conflicting, with verdicts (first seed of each backbone)

# %%
shown_models = first_seed(measured)
shown = first_of_each(pairs.aligned.labels, gradcam_digits)
grid = gradcam_grid(shown_models, pairs, shown)
fig = map_grid(
    grid.cells, grid.row_labels, grid.column_titles, colourbar_label="Grad-CAM (max = 1)"
)
rec.figure(
    "gradcam_grid",
    fig,
    "Grad-CAM of the predicted class for the same digit stroke painted in its own colour "
    "(aligned) and in another digit's colour (conflicting), for both models of each backbone "
    "at its first seed (rows name method, backbone and seed). Under each map: prediction, its "
    "softmax confidence and the verdict: correct, used colour (predicted the digit the "
    "stroke's colour stands for) or another error.",
)
plt.show()
rec.table(
    "gradcam_grid",
    columns=GRID_TABLE_COLUMNS,
    rows=grid.table_rows,
    caption="The images of the Grad-CAM grid: true digit, stroke colour, each model's "
    "(backbone, seed) prediction, confidence, verdict and the background/stroke ratio of its "
    "map.",
    formats={"confidence": ".1%"},
)

# %% [markdown]
# ## Integrated Gradients, on logits and on softmax outputs (first seed of each backbone)

# %%
ig_pool = pairs.conflicting.head(ig_images)
gaps = completeness_gaps([a.model for a in shown_models], ig_pool, ig_steps)
rec.metric("ig_completeness_gap", gaps_by_model(gaps))
rec.metric("ig_steps", ig_steps)
rec.metric("ig_models", [a.model.name for a in shown_models])
rec.table(
    "ig_completeness",
    columns=ROW_COLUMNS,
    rows=[g.row() for g in gaps],
    caption=(
        f"Integrated Gradients ({ig_steps} trapezoid steps, predicted class) on {len(ig_pool)} "
        f"conflicting images, both models of each backbone at its first seed: completeness gap "
        f"|Σ attributions − (F(x) − F(b))| as a share of |F(x) − F(b)|, over the images whose "
        f"output moves by at least {MIN_CHANGE} along the path. Zero baseline: a black image; "
        f"blur: the image blurred until its shape is gone."
    ),
    formats={"median gap": ".2%", "max gap": ".2%", "mean |F(x) - F(b)|": ".3f"},
)

example = shown[-1] if shown else 0
fig = map_grid(
    [
        map_row(a.model, pairs.conflicting, example, ig_steps, describe(pairs.conflicting, example))
        for a in shown_models
    ],
    [a.label.replace(" · ", "\n") for a in shown_models],
    MAP_TITLES,
    colourbar_label="attribution (max = 1)",
)
rec.figure(
    "ig_maps",
    fig,
    f"One conflicting image, both models of each backbone at its first seed: Grad-CAM and "
    f"Integrated Gradients (|attribution| summed over colour channels, {ig_steps} steps) of "
    f"the predicted class, on logits and on softmax outputs, from a black and from a blurred "
    f"baseline; under IG maps the completeness gap (or the output change ΔF where it is below "
    f"{MIN_CHANGE}).",
)
plt.show()

# %% [markdown]
# ## An original and its adversarial version (first seed of each backbone)

# %%
settings = AttackSettings(
    attack_source, attack_target, attack_epsilon, attack_steps, seed, ig_steps, ig_baseline
)
choice = choose_source(
    {a.model.name: a.predictions("aligned") for a in shown_models},
    pairs.aligned.labels,
    attack_source,
)
rec.check(
    "adversarial_source_found",
    choice.found,
    f"{choice.n_candidates} of {choice.n_sources} aligned {attack_source}s are read correctly "
    f"by every shown model ({', '.join(a.model.name for a in shown_models)}); the first is "
    f"attacked" + ("" if choice.found else " (none is: the first aligned one is attacked instead)"),
)
views = (
    adversarial_views([a.model for a in shown_models], pairs.aligned, choice.index, settings)
    if choice.index is not None
    else []
)
rec.metric(
    "adversarial",
    [{**a.record(), **v.record()} for a, v in zip(shown_models, views, strict=False)],
)
rec.metric("attack", settings.record())
if views:
    fig = map_grid(
        [v.cells() for v in views],
        [a.label.replace(" · ", "\n") for a in shown_models],
        COLUMN_TITLES,
        colourbar_label="attribution (max = 1)",
    )
    rec.figure(
        "adversarial_maps",
        fig,
        f"An aligned {attack_source} and its targeted PGD version (T5's attack, ε = "
        f"{attack_epsilon:g}, {attack_steps} steps, towards {attack_target}, made on each model "
        f"itself), both models of each backbone at its first seed: the models' predictions and "
        f"P({attack_target}), then Grad-CAM and Integrated Gradients ({ig_baseline} baseline) "
        f"of the predicted class on each image.",
    )
    plt.show()

# %% [markdown]
# ## Expected findings, per backbone, pooled over seeds

# %%
found = findings(measured, ratio_target, max_stable_increase, seed=seed)
for finding in found:
    rec.check(finding.name, finding.passed, finding.detail)
rec.metric("findings", [f.record() for f in found])
rec.table(
    "attention_findings",
    columns=FINDING_COLUMNS,
    rows=finding_rows(found),
    caption=(
        f"The declared findings on each backbone ({ratio_target}-class Grad-CAM): ERM's pooled "
        f"ratio conflicting − aligned; ERM − the debiased model on conflicting images; the "
        f"debiased model's conflicting / aligned − 1. Estimate: mean over seeds; 95% two-stage "
        f"bootstrap over seeds and pairs; per seed: each seed's value."
    ),
    formats={"estimate": ".3f"},
)
ig_check = completeness(gaps, max_completeness_gap)
rec.check("ig_completeness", ig_check.passed, ig_check.detail(len(ig_pool), ig_steps))

rec.metric("seconds", time.perf_counter() - started)
print(rec.headline(headline(pooled, ratio_target, layers)))
rec.save()
