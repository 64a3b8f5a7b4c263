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
# # T2: the prober
#
# What the channels respond to, compared only between models of the same backbone: on each
# backbone T4 trained, ERM against the best debiasing method, with the same recipe, seed and
# selection rule (on `cheater_cnn`, ERM is the cheater). Per model: a colour vs digit
# selectivity score for every channel, measured on a split where colour and digit vary
# independently; prototypes synthesised by activation maximisation (every conv layer and the
# penultimate vector, three objectives); the real images that excite each channel most.
# Nothing here trains or selects a model.

# %% tags=["parameters"]
output_dir = "build/scratch/t2"  # the builder injects the task's staging directory
upstream = {}  # task name -> directory of that task's completed outputs
profile = "quick"
seed = 0
device = "auto"
data_root = "data"
backbones = "all"  # "all" (every backbone T4 trained) or comma-separated backbone names
n_seeds = 1  # seeds per backbone (None: every seed T4 trained); the findings are per model
split = "hard_test"  # measured on, never selected on: colour and digit vary independently
n_images = None  # None: the whole split
objectives = "channel_max,channel_mean,topk_mean"  # activation-maximisation objectives
actmax_steps = 256  # optimiser steps per optimised image
actmax_lr = 0.05  # Adam step size of the image optimisation
actmax_l2 = 1e-3  # weight of the L2 penalty on the image
actmax_tv = 1e-2  # weight of the total-variation penalty
actmax_jitter = 2  # random shift in pixels applied each step
actmax_blur_every = 8  # blur the image every this many steps
actmax_blur_sigma = 0.6  # Gaussian blur sigma in pixels
actmax_topk = 8  # positions averaged by the topk_mean objective
grid_channels = 4  # channels per layer in the prototype grid (colour- and digit-leaning)
actmax_all_channels = True  # optimise every channel, not only the shown ones (for the check)
n_exemplars = 5  # top dataset images per channel in the exemplar strips
min_colour_dominated_share = 0.5  # "mostly colour": above it for the cheater, below for debiased
min_prototype_win_share = 0.9  # prototypes excite their channel at least as much as any image

# %%
import time
from pathlib import Path

import matplotlib.pyplot as plt
import torch

from lazy_artist.data.canvas import load_canvas
from lazy_artist.interpret.activation_max import ActMaxConfig
from lazy_artist.interpret.hooks import PENULTIMATE, conv_layer_names
from lazy_artist.interpret.plots import exemplar_strips, prototype_grid, selectivity_figure
from lazy_artist.interpret.prober_findings import prober_findings
from lazy_artist.interpret.prober_study import (
    SELECTIVITY_COLUMNS,
    exemplar_rows,
    group_by_backbone,
    pair_model_names,
    probe_study_model,
    selectivity_rows,
)
from lazy_artist.results import Recorder, artefact
from lazy_artist.runtime import resolve_device, seed_everything
from lazy_artist.zoo import CHEATER_BACKBONE, load_study_model, matched_pairs

seed_everything(seed)
# Small models and batches: a second intra-op thread only adds synchronisation (and on a
# shared CPU it is many times slower).
torch.set_num_threads(1)
torch_device = resolve_device(device)
rec = Recorder(output_dir, task="t2")
started = time.perf_counter()
objective_names = [name.strip() for name in objectives.split(",") if name.strip()]
config = ActMaxConfig(
    steps=actmax_steps,
    lr=actmax_lr,
    l2=actmax_l2,
    tv=actmax_tv,
    jitter=actmax_jitter,
    blur_every=actmax_blur_every,
    blur_sigma=actmax_blur_sigma,
    topk=actmax_topk,
    seed=seed,
)

canvas = load_canvas(artefact(Path(upstream["t0"]), "canvas.npz"))
data = canvas[split] if n_images is None else canvas[split].head(n_images)
pairs = matched_pairs(upstream, backbones, n_seeds)
study = {name: load_study_model(upstream, name, torch_device) for name in pair_model_names(pairs)}
rec.metric("pairs", [pair.record() for pair in pairs])
rec.metric("model_records", [model.record() for model in study.values()])
rec.metric("models", list(study))
rec.metric("cheater_backbone", CHEATER_BACKBONE)
rec.metric("split", split)
rec.metric("n_images", len(data))
print(
    {name: (m.backbone, m.seed, m.rule, conv_layer_names(m.network)) for name, m in study.items()}
)

# %% [markdown]
# ## Per model: selectivity of every channel, then its prototypes

# %%
probed = {}
for name, model in study.items():
    probed[name] = probe_study_model(
        model, data, objective_names, config, grid_channels, actmax_all_channels
    )
    print(f"{name}: {probed[name].seconds:.0f}s, done at {time.perf_counter() - started:.0f}s")
groups = group_by_backbone(pairs, probed)
rec.metric("seconds_per_model", {name: p.seconds for name, p in probed.items()})
rec.metric("figure_keys", {name: p.key for name, p in probed.items()})
rec.metric("deciding_layers", {name: p.probe.deciding for name, p in probed.items()})
rec.metric("colour_dominated_share", {name: p.probe.shares() for name, p in probed.items()})
rec.metric("colour_dominated_share_pooled", {name: p.probe.pooled() for name, p in probed.items()})
rec.metric("silent_channels", {name: p.probe.silent() for name, p in probed.items()})
rec.metric("mean_selectivity", {name: p.probe.mean_selectivity() for name, p in probed.items()})
rec.metric(
    "prototype_beats_exemplar_share",
    {name: p.prototypes.win_share() for name, p in probed.items()},
)
rec.metric("prototype_pairs", {name: p.prototypes.n_pairs for name, p in probed.items()})
rec.metric("actmax_config", config.__dict__)

# %% [markdown]
# ## Colour vs digit selectivity of every channel

# %%
rec.table(
    "models",
    columns=["model", "method", "backbone", "seed", "checkpoint rule", "seconds"],
    rows=[
        [
            name,
            p.record["method"],
            p.record["backbone"],
            p.record["seed"],
            p.record["rule"],
            p.seconds,
        ]
        for name, p in probed.items()
    ],
    caption=(
        "The models T2 probes: per backbone, ERM and the best debiasing method T4 found on that "
        "backbone (on conflict validation), with the backbone's one recipe, the same seed and "
        "the recipe's checkpoint rule; seconds: probing and prototypes on this machine."
    ),
    formats={"seconds": ".0f"},
)
rec.table(
    "selectivity",
    columns=SELECTIVITY_COLUMNS,
    rows=selectivity_rows([p.record for p in probed.values()], [p.probe for p in probed.values()]),
    caption=(
        f"Per model (method, backbone, seed; the checkpoint of each backbone's recipe rule) and "
        f"layer, the share of channels whose spatially averaged activation is explained more by "
        f"the stroke colour than by the digit (η², between-class / total variance), over "
        f"{len(data)} {split} images, where colour and digit vary independently. Silent channels "
        f"(no variation on these images) are left out of the share and the means. Layers of "
        f"different backbones are not comparable: compare rows of the same backbone."
    ),
    formats={"colour-dominated": ".0%", "mean colour η²": ".2f", "mean digit η²": ".2f"},
)
for backbone, group in groups.items():
    fig = selectivity_figure(
        {label: p.probe.shares() for label, p in group.items()},
        {label: p.probe.scatter() for label, p in group.items()},
    )
    rec.figure(
        f"selectivity_{backbone}",
        fig,
        f"{backbone} only ({', '.join(group)}; same recipe, seed and selection rule). Left: share "
        f"of colour-dominated channels per layer. Right: colour against digit selectivity of "
        f"every active channel of every probed layer; above the diagonal a channel follows "
        f"colour more than shape. {len(data)} {split} images.",
    )
    plt.show()

# %% [markdown]
# ## Prototypes: activation maximisation

# %%
for name, p in probed.items():
    images, labels = p.prototypes.grid(p.probe)
    title = f"{p.record['method']} on {p.record['backbone']}, seed {p.record['seed']}"
    fig = prototype_grid(
        images, labels, f"{title}: prototypes (rows = layers, columns = objectives)"
    )
    rec.figure(
        f"prototypes_{p.key}",
        fig,
        f"{title} ({name}): inputs optimised from noise to maximise one channel (Adam, "
        f"{config.steps} steps, L2 {config.l2:g}, TV {config.tv:g}, jitter {config.jitter}px, "
        f"blur every {config.blur_every} steps). Rows: layers ({PENULTIMATE} = the penultimate "
        f"vector, where the three objectives coincide and one optimisation serves all three); "
        f"columns: objectives; under each prototype the channel and whether colour or digit "
        f"explains more of its activation on {split}.",
    )
    plt.show()

# %% [markdown]
# ## Exemplars: the real images each channel likes best

# %%
strip_objective = "channel_mean" if "channel_mean" in objective_names else objective_names[0]
for name, p in probed.items():
    rows = exemplar_rows(p, data, strip_objective, n_exemplars)
    title = f"{p.record['method']} on {p.record['backbone']}, seed {p.record['seed']}"
    fig = exemplar_strips(
        rows,
        ["most colour-leaning channel", "most digit-leaning channel"],
        f"{title}: prototype and top-{n_exemplars} {split} images (digit, colour) per channel",
    )
    rec.figure(
        f"exemplars_{p.key}",
        fig,
        f"{title} ({name}): for each layer, the channel leaning most to colour and the one "
        f"leaning most to digit; its {strip_objective} prototype, then the {n_exemplars} {split} "
        f"images with the highest mean activation, captioned with digit and stroke colour.",
    )
    plt.show()

# %% [markdown]
# ## Expected findings (same backbone only)

# %%
findings = prober_findings(
    pairs,
    probed,
    min_colour_dominated_share,
    min_prototype_win_share,
    f"on {len(data)} {split} images",
)
for check in findings.checks:
    rec.check(check.name, check.passed, check.detail)
rec.metric("comparisons", findings.comparisons)
rec.metric("seconds", time.perf_counter() - started)
print(rec.headline(findings.headline()))
rec.save()
print({check.name: bool(check.passed) for check in findings.checks})
