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
# What the channels of the cheater and of the best debiased model respond to: prototypes
# synthesised by activation maximisation (every conv layer and the penultimate vector, three
# objectives), the real images that excite each channel most, and a colour vs digit
# selectivity score for every channel, measured on a split where colour and digit vary
# independently. Nothing here trains or selects a model.

# %% tags=["parameters"]
output_dir = "build/scratch/t2"  # the builder injects the task's staging directory
upstream = {}  # task name -> directory of that task's completed outputs
profile = "quick"
seed = 0
device = "auto"
data_root = "data"
models = "cheater,best"  # "cheater" (T1), T4 method names, or "best" (T4's winner)
split = "hard_test"  # measured on, never selected on: colour and digit vary independently
n_images = None  # None: the whole split
objectives = "channel_max,channel_mean,topk_mean"
actmax_steps = 256
actmax_lr = 0.05
actmax_l2 = 1e-3
actmax_tv = 1e-2
actmax_jitter = 2
actmax_blur_every = 8
actmax_blur_sigma = 0.6
actmax_topk = 8
grid_channels = 4  # channels per layer in the prototype grid (colour- and digit-leaning)
actmax_all_channels = True  # optimise every channel, not only the shown ones (for the check)
n_exemplars = 5  # top dataset images per channel in the exemplar strips
min_colour_dominated_share = 0.5  # expected: most of the cheater's channels read colour
min_prototype_win_share = 0.9  # prototypes excite their channel at least as much as any image

# %%
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from lazy_artist.data.canvas import load_canvas
from lazy_artist.interpret.activation_max import ActMaxConfig, visualise_channels
from lazy_artist.interpret.exemplars import top_exemplars
from lazy_artist.interpret.hooks import PENULTIMATE, conv_layer_names, layer_activations
from lazy_artist.interpret.plots import (
    ExemplarStrip,
    exemplar_strips,
    prototype_grid,
    selectivity_figure,
)
from lazy_artist.interpret.probe import (
    kind_label,
    layer_selectivity,
    pooled_share,
    prototype_vs_exemplar,
    representative_channels,
)
from lazy_artist.results import Recorder, artefact
from lazy_artist.runtime import resolve_device, seed_everything
from lazy_artist.zoo import CHEATER, load_study_model, parse_model_names

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
study = {}
for name in parse_model_names(models):
    model = load_study_model(upstream, name, torch_device)
    study[model.name] = model
rec.metric("models", list(study))
rec.metric("split", split)
rec.metric("n_images", len(data))
print({name: (m.source, m.input_kind, conv_layer_names(m.network)) for name, m in study.items()})

# %% [markdown]
# ## Colour vs digit selectivity of every channel

# %%
probes = {
    name: layer_selectivity(m.network, m.inputs(data), data.colours, data.labels)
    for name, m in study.items()
}
shares = {
    name: {layer: probe.colour_dominated_share() for layer, probe in per_layer.items()}
    for name, per_layer in probes.items()
}
rec.metric("colour_dominated_share", shares)
rec.metric("colour_dominated_share_pooled", {n: pooled_share(p) for n, p in probes.items()})
rec.metric(
    "silent_channels",
    {
        name: {layer: p.n_silent for layer, p in per_layer.items()}
        for name, per_layer in probes.items()
    },
)
rec.metric(
    "mean_selectivity",
    {
        name: {
            layer: {
                "colour": float(p.selectivity.colour[p.active].mean()) if p.active.any() else None,
                "digit": float(p.selectivity.digit[p.active].mean()) if p.active.any() else None,
            }
            for layer, p in per_layer.items()
        }
        for name, per_layer in probes.items()
    },
)
rec.table(
    "selectivity",
    columns=[
        "model",
        "layer",
        "channels",
        "silent",
        "colour-dominated",
        "mean colour η²",
        "mean digit η²",
    ],
    rows=[
        [
            name,
            layer,
            len(p.active),
            p.n_silent,
            shares[name][layer],
            rec.metrics_["mean_selectivity"][name][layer]["colour"],
            rec.metrics_["mean_selectivity"][name][layer]["digit"],
        ]
        for name, per_layer in probes.items()
        for layer, p in per_layer.items()
    ],
    caption=(
        f"Per layer, the share of channels whose spatially averaged activation is explained more "
        f"by the stroke colour than by the digit (η², between-class / total variance), over "
        f"{len(data)} {split} images, where colour and digit vary independently. Silent channels "
        f"(no variation on these images) are left out of the share and the means."
    ),
    formats={"colour-dominated": ".0%", "mean colour η²": ".2f", "mean digit η²": ".2f"},
)
fig = selectivity_figure(
    shares,
    {
        name: {
            layer: (p.selectivity.colour[p.active], p.selectivity.digit[p.active])
            for layer, p in per_layer.items()
        }
        for name, per_layer in probes.items()
    },
)
rec.figure(
    "selectivity",
    fig,
    f"Left: share of colour-dominated channels per layer ({', '.join(study)}). Right: colour "
    f"against digit selectivity of every active channel of every probed layer; above the "
    f"diagonal a channel follows colour more than shape. {len(data)} {split} images.",
)
plt.show()

# %% [markdown]
# ## Prototypes: activation maximisation

# %%
prototypes, margins, shown = {}, {}, {}
for name, m in study.items():
    prototypes[name], margins[name], shown[name] = {}, [], {}
    for layer, probe in probes[name].items():
        shown[name][layer] = representative_channels(probe, grid_channels)
        channels = list(range(len(probe.active))) if actmax_all_channels else shown[name][layer]
        in_channels = m.inputs(data).shape[1]
        prototypes[name][layer] = {}
        for objective in objective_names:
            found = visualise_channels(
                m.network, layer, channels, objective, config, input_shape=(in_channels, 28, 28)
            )
            prototypes[name][layer][objective] = found
            margins[name].append(
                prototype_vs_exemplar(m.network, found, m.inputs(data), config.topk)
            )
    print(f"{name}: prototypes done at {time.perf_counter() - started:.0f}s")
# Ties count as reached: a conv1 channel's strongest position saturates at pixel values (0 or 1)
# that real images can have too.
win_share = {
    name: float(np.mean(np.concatenate(values) >= -1e-4)) for name, values in margins.items()
}
rec.metric("prototype_beats_exemplar_share", win_share)
rec.metric("actmax_config", config.__dict__)

# %%
for name in study:
    images, labels = {}, {}
    for layer, per_objective in prototypes[name].items():
        picks = shown[name][layer]
        labels[layer] = [f"ch {c} · {kind_label(probes[name][layer], c)}" for c in picks]
        images[layer] = {
            objective: found.images[[found.channels.index(c) for c in picks]]
            for objective, found in per_objective.items()
        }
    fig = prototype_grid(
        images, labels, f"{name}: prototypes (rows = layers, columns = objectives)"
    )
    rec.figure(
        f"prototypes_{name}",
        fig,
        f"{name}: inputs optimised from noise to maximise one channel (Adam, {config.steps} steps, "
        f"L2 {config.l2:g}, TV {config.tv:g}, jitter {config.jitter}px, blur every "
        f"{config.blur_every} steps). Rows: layers ({PENULTIMATE} = the penultimate vector, where "
        f"the three objectives coincide); columns: objectives; under each prototype the channel "
        f"and whether colour or digit explains more of its activation on {split}.",
    )
    plt.show()

# %% [markdown]
# ## Exemplars: the real images each channel likes best

# %%
strip_objective = "channel_mean" if "channel_mean" in objective_names else objective_names[0]
for name, m in study.items():
    rows = {}
    for layer, probe in probes[name].items():
        acts = layer_activations(m.network, layer, m.inputs(data))
        picks = shown[name][layer][:2]  # the most colour-leaning and the most digit-leaning
        top = top_exemplars(acts[:, picks], data.labels, data.colours, n_exemplars)
        mean_protos = prototypes[name][layer][strip_objective]
        rows[layer] = [
            ExemplarStrip(
                label=f"ch {c} · {kind_label(probe, c)}",
                prototype=mean_protos.images[mean_protos.channels.index(c)],
                images=data.images[top.indices[j]],
                digits=top.digits[j].tolist(),
                colours=top.colours[j].tolist(),
            )
            for j, c in enumerate(picks)
        ]
    fig = exemplar_strips(
        rows,
        ["most colour-leaning channel", "most digit-leaning channel"],
        f"{name}: prototype and top-{n_exemplars} {split} images (digit, colour) per channel",
    )
    rec.figure(
        f"exemplars_{name}",
        fig,
        f"{name}: for each layer, the channel leaning most to colour and the one leaning most to "
        f"digit; its {strip_objective} prototype, then the {n_exemplars} {split} images with the "
        f"highest mean activation, captioned with digit and stroke colour.",
    )
    plt.show()

# %% [markdown]
# ## Expected findings

# %%
if CHEATER in shares:
    cheater_shares = shares[CHEATER]
    deciding = [conv_layer_names(study[CHEATER].network)[-1], PENULTIMATE]
    rec.check(
        "cheater_channels_colour_selective",
        all(cheater_shares[layer] > min_colour_dominated_share for layer in deciding),
        "colour-dominated share of the cheater's channels: "
        + ", ".join(f"{layer} {share:.3f}" for layer, share in cheater_shares.items())
        + f"; required > {min_colour_dominated_share} at {' and '.join(deciding)} "
        f"(the layers its classifier reads), on {len(data)} {split} images",
    )
    for name in study:
        if name == CHEATER or PENULTIMATE not in shares[name]:
            continue
        debiased_share = shares[name][PENULTIMATE]
        rec.check(
            f"{name}_penultimate_not_colour_dominated",
            debiased_share < min(min_colour_dominated_share, cheater_shares[PENULTIMATE]),
            f"{name}: {debiased_share:.3f} of penultimate units colour-dominated vs cheater "
            f"{cheater_shares[PENULTIMATE]:.3f}; required below both the cheater's and "
            f"{min_colour_dominated_share}",
        )
for name, share in win_share.items():
    n_channels = len(np.concatenate(margins[name]))
    rec.check(
        f"{name}_prototypes_beat_exemplars",
        share >= min_prototype_win_share,
        f"{name}: for {share:.3f} of {n_channels} (channel, objective) prototypes the optimised "
        f"input reaches at least the objective of the best of {len(data)} {split} images; "
        f"required >= {min_prototype_win_share}",
    )

rec.metric("seconds", time.perf_counter() - started)
headline = ", ".join(
    f"{name} {shares[name][PENULTIMATE]:.0%}" for name in study if PENULTIMATE in shares[name]
)
rec.headline(f"colour-dominated penultimate units: {headline}")
rec.save()
print(rec.headline_)
