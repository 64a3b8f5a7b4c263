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
# Where the cheater and the best debiased model look: Grad-CAM (from scratch, last conv layer)
# on pairs of images that share the digit stroke, background and noise and differ only in the
# stroke colour (the digit's own colour vs another digit's), over many pairs; Integrated
# Gradients on logits and on softmax outputs with their completeness gaps; and both methods on
# an original image and its adversarial version.

# %% tags=["parameters"]
output_dir = "build/scratch/t3"  # the builder injects the task's staging directory
upstream = {}  # task name -> directory of that task's completed outputs
profile = "quick"
seed = 0
device = "auto"
data_root = "data"
models = "cheater,best"  # "cheater" (T1), T4 method names, or "best" (T4's winner)
split = "hard_test"  # digits painted twice (aligned, conflicting); measured on, never selected on
n_images = 1000  # pairs for the attention ratio
gradcam_digits = [0, 1, 3, 7]  # one aligned and one conflicting image each in the grid
ig_steps = 128
ig_images = 100  # images per (model, output, baseline) for the completeness gap
ig_baseline = "zero"  # baseline of the IG maps in the adversarial figure
attack_source = 7  # a correctly read 7 ...
attack_target = 3  # ... pushed towards 3
attack_epsilon = 0.1  # L-infinity budget of T5's targeted PGD attack
attack_steps = 40
ratio_target = "predicted"  # Grad-CAM class of the attention checks: "predicted" or "true"
max_completeness_gap = 0.01  # median |sum IG - (F(x) - F(b))| / |F(x) - F(b)|
max_stable_increase = 0.1  # debiased: conflicting ratio at most this much (relative) above aligned

# %%
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from lazy_artist.attacks.pgd import PGDConfig, pgd
from lazy_artist.data.canvas import COLOUR_NAMES, load_canvas
from lazy_artist.interpret.attention import pooled_difference
from lazy_artist.interpret.contrast import colour_pairs, verdicts
from lazy_artist.interpret.gradcam import grad_cam, last_conv_layer
from lazy_artist.interpret.integrated_gradients import BASELINES, integrated_gradients
from lazy_artist.interpret.outputs import OUTPUTS
from lazy_artist.interpret.pair_attention import TARGETS, attention_on_groups
from lazy_artist.interpret.plots import VERDICT_COLOURS, Cell, map_grid, ratio_distributions
from lazy_artist.results import Recorder, artefact
from lazy_artist.runtime import resolve_device, seed_everything
from lazy_artist.zoo import CHEATER, load_study_model, parse_model_names

seed_everything(seed)
# Small models and batches: a second intra-op thread only adds synchronisation (and on a
# shared CPU it is many times slower).
torch.set_num_threads(1)
torch_device = resolve_device(device)
rec = Recorder(output_dir, task="t3")
started = time.perf_counter()
GROUPS = ("aligned", "conflicting")
MIN_CHANGE = 0.01  # IG outputs that move less than this along the path have no relative gap

canvas = load_canvas(artefact(Path(upstream["t0"]), "canvas.npz"))
pairs = colour_pairs(canvas[split].head(n_images), seed=seed)
groups = {"aligned": pairs.aligned, "conflicting": pairs.conflicting}
study = {}
for name in parse_model_names(models):
    model = load_study_model(upstream, name, torch_device)
    study[model.name] = model
debiased = [name for name in study if name != CHEATER]
rec.metric("models", list(study))
rec.metric("n_pairs", len(pairs.aligned))
rec.metric("gradcam_layer", {name: last_conv_layer(m.network) for name, m in study.items()})


def describe(split, i: int) -> str:
    return f"{split.labels[i]} · {COLOUR_NAMES[split.colours[i]]}"


# %% [markdown]
# ## Grad-CAM over every pair

# %%
attention = {
    target: {name: attention_on_groups(m, groups, target, seed) for name, m in study.items()}
    for target in TARGETS
}
checked = attention[ratio_target]  # the class the checks use; both are tabulated
predictions = {
    name: {group: result.predictions for group, result in per_group.items()}
    for name, per_group in attention["predicted"].items()
}
accuracy = {
    name: {group: float(np.mean(p == groups[group].labels)) for group, p in per_group.items()}
    for name, per_group in predictions.items()
}
rec.metric("ratio_target", ratio_target)
rec.metric(
    "background_stroke_ratio",
    {n: {g: r.summary.pooled for g, r in per.items()} for n, per in checked.items()},
)
rec.metric(
    "background_stroke_ratio_spread",
    {n: {g: r.summary.as_dict() for g, r in per.items()} for n, per in checked.items()},
)
rec.metric(
    "background_stroke_ratio_by_target",
    {
        target: {n: {g: r.summary.pooled for g, r in per.items()} for n, per in per_model.items()}
        for target, per_model in attention.items()
    },
)
rec.metric("pair_accuracy", accuracy)
used_colour = {
    name: float(
        np.mean(
            np.array(
                verdicts(p["conflicting"], pairs.conflicting.labels, pairs.conflicting.colours)
            )
            == "used colour"
        )
    )
    for name, p in predictions.items()
}
rec.metric("conflicting_used_colour_share", used_colour)
rec.table(
    "attention_ratio",
    columns=["model", "colouring", "accuracy", "class", "pooled", "95% CI", "median", "IQR"]
    + ["off stroke"],
    rows=[
        [
            name,
            group,
            accuracy[name][group],
            target,
            s.pooled,
            f"{s.ci_low:.2f}–{s.ci_high:.2f}" if np.isfinite(s.pooled) else "n/a",
            s.median,
            f"{s.q1:.2f}–{s.q3:.2f}",
            s.n_off_stroke,
        ]
        for name in study
        for group in GROUPS
        for target in TARGETS
        for s in [attention[target][name][group].summary]
    ],
    caption=(
        f"Grad-CAM of the predicted and of the true class on {len(pairs.aligned)} {split} digits "
        f"painted in their own colour (aligned) and in another digit's colour (conflicting); "
        f"the checks use the {ratio_target} class. Pooled: mean map value on background pixels "
        f"/ on stroke pixels over all images (masks from the raw digit; each map peaks at 1), "
        f"with a 95% bootstrap interval; median and IQR of the per-image ratios; 'off stroke': "
        f"maps with nothing on the stroke (ratio +∞, or undefined for a map that is zero "
        f"everywhere)."
    ),
    formats={"accuracy": ".1%", "pooled": ".2f", "median": ".2f"},
)
fig = ratio_distributions(
    {n: {g: r.regions.ratios() for g, r in per.items()} for n, per in checked.items()},
    rec.metrics_["background_stroke_ratio"],
    GROUPS,
)
rec.figure(
    "attention_ratio",
    fig,
    f"Background/stroke ratio of the Grad-CAM of the {ratio_target} class per image over "
    f"{len(pairs.aligned)} pairs: boxes span the quartiles, whiskers 1.5 IQR (outliers not "
    f"drawn), diamonds are the pooled ratios, log axis; 1 (dotted) = as much attention on the "
    f"background as on the stroke. Ratios beyond the axis (including maps with nothing on the "
    f"stroke, ratio +inf) are drawn at its top edge and counted above their box, out of the "
    f"images that have a ratio (maps that are zero everywhere have none and are left out).",
    width="85%",
)
plt.show()

# %% [markdown]
# ## The Grad-CAM grid: aligned vs conflicting, with verdicts

# %%
shown = [
    int(np.flatnonzero(pairs.aligned.labels == d)[0])
    for d in gradcam_digits
    if np.any(pairs.aligned.labels == d)
]
columns = [(i, group) for i in shown for group in GROUPS]
cells = [[Cell(groups[g].images[i], caption=f"{describe(groups[g], i)}\n{g}") for i, g in columns]]
table_rows = []
for name in study:
    row = []
    for i, g in columns:
        result = attention["predicted"][name][g]
        pred = int(result.predictions[i])
        confidence = float(result.cam.probabilities[i, pred])
        verdict = verdicts([pred], [groups[g].labels[i]], [groups[g].colours[i]])[0]
        caption = f"pred {pred} ({confidence:.0%})\n{verdict}"
        row.append(Cell(groups[g].images[i], result.cam.maps[i], caption, VERDICT_COLOURS[verdict]))
        ratio = result.regions.ratios()[i]
        table_rows.append(
            [int(groups[g].labels[i]), COLOUR_NAMES[groups[g].colours[i]], g, name, pred]
            + [confidence, verdict, f"{ratio:.2f}" if np.isfinite(ratio) else "off stroke"]
        )
    cells.append(row)
fig = map_grid(
    cells,
    ["input", *study],
    [f"digit {groups[g].labels[i]}" if g == "aligned" else "" for i, g in columns],
    colourbar_label="Grad-CAM (max = 1)",
)
rec.figure(
    "gradcam_grid",
    fig,
    "Grad-CAM of the predicted class for the same digit stroke painted in its own colour "
    "(aligned) and in another digit's colour (conflicting). Under each map: prediction, its "
    "softmax confidence and the verdict: correct, used colour (predicted the digit the stroke's "
    "colour stands for) or another error.",
)
plt.show()
rec.table(
    "gradcam_grid",
    columns=["true", "colour", "colouring", "model", "prediction", "confidence", "verdict"]
    + ["bg/stroke"],
    rows=table_rows,
    caption="The images of the Grad-CAM grid: true digit, stroke colour, each model's prediction, "
    "confidence, verdict and the background/stroke ratio of its map.",
    formats={"confidence": ".1%"},
)

# %% [markdown]
# ## Integrated Gradients, on logits and on softmax outputs

# %%
ig_rows, gaps = [], {}
ig_pool = pairs.conflicting.head(ig_images)
for name, m in study.items():
    gaps[name] = {output: {} for output in OUTPUTS}
    for output in OUTPUTS:
        for baseline in BASELINES:
            ig = integrated_gradients(
                m.network, m.inputs(ig_pool), baseline=baseline, steps=ig_steps, output=output
            )
            summary = ig.gap_summary(MIN_CHANGE)
            gaps[name][output][baseline] = summary["median"]
            ig_rows.append([name, output, baseline, *summary.values()])
rec.metric("ig_completeness_gap", gaps)
rec.metric("ig_steps", ig_steps)
rec.table(
    "ig_completeness",
    columns=["model", "output", "baseline", "images", "median gap", "max gap"]
    + ["mean |F(x) - F(b)|"],
    rows=ig_rows,
    caption=(
        f"Integrated Gradients ({ig_steps} trapezoid steps, predicted class) on {len(ig_pool)} "
        f"conflicting images: completeness gap |Σ attributions − (F(x) − F(b))| as a share of "
        f"|F(x) − F(b)|, over the images whose output moves by at least {MIN_CHANGE} along the "
        f"path. Zero baseline: a black image; blur: the image blurred until its shape is gone."
    ),
    formats={"median gap": ".2%", "max gap": ".2%", "mean |F(x) - F(b)|": ".3f"},
)

# %%
example = shown[-1] if shown else 0
image = pairs.conflicting.images[example]
titles = ["input", "Grad-CAM\nlogit", "Grad-CAM\nsoftmax"]
titles += [f"IG {output}\n({baseline} baseline)" for baseline in BASELINES for output in OUTPUTS]
cells = []
for m in study.values():
    x = m.inputs(pairs.conflicting)[example : example + 1]
    row = [Cell(image, caption=describe(pairs.conflicting, example))]
    for output in OUTPUTS:
        cam = grad_cam(m.network, x, output=output)
        row.append(Cell(image, cam.maps[0], f"class {cam.targets[0]}"))
    for baseline in BASELINES:
        for output in OUTPUTS:
            ig = integrated_gradients(
                m.network, x, baseline=baseline, steps=ig_steps, output=output
            )
            gap = ig.relative_gap(min_change=MIN_CHANGE)[0]
            change = ig.input_score[0] - ig.baseline_score[0]
            row.append(
                Cell(
                    image,
                    ig.maps()[0],
                    f"gap {gap:.2%}" if np.isfinite(gap) else f"ΔF {change:.3f}",
                )
            )
    cells.append(row)
fig = map_grid(cells, list(study), titles, colourbar_label="attribution (max = 1)")
rec.figure(
    "ig_maps",
    fig,
    f"One conflicting image: Grad-CAM and Integrated Gradients (|attribution| summed over "
    f"colour channels, {ig_steps} steps) of the predicted class, on logits and on softmax "
    f"outputs, from a black and from a blurred baseline; under IG maps the completeness gap "
    f"(or the output change ΔF where it is below {MIN_CHANGE}).",
)
plt.show()

# %% [markdown]
# ## An original and its adversarial version


# %%
def attack(network: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The one place the attack is chosen: T5's targeted PGD (random start, early stop at
    P(target) >= 0.9, best iterate kept), seeded."""
    labels = torch.full((len(images),), attack_source, dtype=torch.long, device=torch_device)
    result = pgd(
        network,
        images.to(torch_device),
        labels,
        attack_epsilon,
        PGDConfig(steps=attack_steps, target_confidence=0.9),
        target=attack_target,
        generator=torch.Generator().manual_seed(seed),
    )
    return result.adversarial.cpu()


sources = np.flatnonzero(pairs.aligned.labels == attack_source)
candidates = sources[
    np.all([predictions[name]["aligned"][sources] == attack_source for name in study], axis=0)
]
rec.check(
    "adversarial_source_found",
    len(candidates) > 0,
    f"{len(candidates)} of {len(sources)} aligned {attack_source}s are read correctly by every "
    f"model ({', '.join(study)}); the first is attacked"
    + ("" if len(candidates) else " (none is: the first aligned one is attacked instead)"),
)
adversarial = {}
if len(sources):
    source = int(candidates[0] if len(candidates) else sources[0])
    cells = []
    for name, m in study.items():
        x = torch.as_tensor(m.inputs(pairs.aligned)[source : source + 1])
        pictures = [x, attack(m.network, x)]  # what the model reads, before and after
        cams_pair = [grad_cam(m.network, v) for v in pictures]
        igs_pair = [
            integrated_gradients(m.network, v, baseline=ig_baseline, steps=ig_steps)
            for v in pictures
        ]
        row = []
        for label, v, cam in zip(("original", "adversarial"), pictures, cams_pair, strict=True):
            p_target = cam.probabilities[0, attack_target]
            pred = int(cam.probabilities[0].argmax())
            row.append(
                Cell(
                    v[0].numpy(), caption=f"{label}: pred {pred}\nP({attack_target}) {p_target:.0%}"
                )
            )
        row += [
            Cell(v[0].numpy(), c.maps[0], f"class {c.targets[0]}")
            for v, c in zip(pictures, cams_pair, strict=True)
        ]
        row += [
            Cell(v[0].numpy(), ig.maps()[0], f"class {ig.targets[0]}")
            for v, ig in zip(pictures, igs_pair, strict=True)
        ]
        cells.append(row)
        before, after = (cam.maps[0].ravel() for cam in cams_pair)
        adversarial[name] = {
            "prediction_after": int(cams_pair[1].probabilities[0].argmax()),
            "p_target_before": float(cams_pair[0].probabilities[0, attack_target]),
            "p_target_after": float(cams_pair[1].probabilities[0, attack_target]),
            "gradcam_correlation": float(np.corrcoef(before, after)[0, 1]),
        }
    fig = map_grid(
        cells,
        list(study),
        ["original", "adversarial", "Grad-CAM", "Grad-CAM (adv.)", "IG", "IG (adv.)"],
        colourbar_label="attribution (max = 1)",
    )
    rec.figure(
        "adversarial_maps",
        fig,
        f"An aligned {attack_source} and its targeted PGD version (T5's attack, ε = "
        f"{attack_epsilon:g}, {attack_steps} steps, towards {attack_target}, made on each model "
        f"itself): the models' "
        f"predictions and P({attack_target}), then Grad-CAM and Integrated Gradients "
        f"({ig_baseline} baseline) of the predicted class on each image.",
    )
    plt.show()
rec.metric("adversarial", adversarial)
rec.metric(
    "attack",
    {
        "method": "pgd",
        "epsilon": attack_epsilon,
        "steps": attack_steps,
        "source": attack_source,
        "target": attack_target,
    },
)

# %% [markdown]
# ## Expected findings

# %%
pooled = rec.metrics_["background_stroke_ratio"]
regions = {n: {g: r.regions for g, r in per.items()} for n, per in checked.items()}
which = f"{ratio_target}-class Grad-CAM"
if CHEATER in study:
    rise = pooled_difference(
        regions[CHEATER]["conflicting"], regions[CHEATER]["aligned"], seed=seed
    )
    rec.check(
        "cheater_attention_spreads_on_conflicting",
        rise.low > 0,
        f"cheater pooled background/stroke ratio ({which}): conflicting "
        f"{pooled[CHEATER]['conflicting']:.3f} vs aligned {pooled[CHEATER]['aligned']:.3f}; "
        f"increase {rise.estimate:.3f} (95% paired bootstrap {rise.low:.3f}..{rise.high:.3f}, "
        f"n = {rise.n}); required: interval above 0",
    )
    for name in debiased:
        gap = pooled_difference(
            regions[CHEATER]["conflicting"], regions[name]["conflicting"], seed=seed
        )
        rec.check(
            f"cheater_spreads_more_than_{name}",
            gap.low > 0,
            f"conflicting images ({which}): cheater pooled ratio "
            f"{pooled[CHEATER]['conflicting']:.3f} vs {name} {pooled[name]['conflicting']:.3f}; "
            f"difference {gap.estimate:.3f} (95% paired bootstrap {gap.low:.3f}..{gap.high:.3f}, "
            f"n = {gap.n}); required: interval above 0",
        )
for name in debiased:
    rise = pooled_difference(regions[name]["conflicting"], regions[name]["aligned"], seed=seed)
    allowed = max_stable_increase * pooled[name]["aligned"]
    rec.check(
        f"{name}_attention_stable",
        rise.high <= allowed,
        f"{name} pooled ratio ({which}): conflicting {pooled[name]['conflicting']:.3f} vs aligned "
        f"{pooled[name]['aligned']:.3f}; increase {rise.estimate:.3f} (95% paired bootstrap "
        f"upper bound {rise.high:.3f}); required <= {max_stable_increase:g} x aligned = "
        f"{allowed:.3f}",
    )

measured = [
    (value, name, output, baseline)
    for name, per_output in gaps.items()
    for output, per_baseline in per_output.items()
    for baseline, value in per_baseline.items()
    if np.isfinite(value)
]
unmeasured = sum(len(b) for p in gaps.values() for b in p.values()) - len(measured)
if measured:
    worst = max(measured)
    rec.check(
        "ig_completeness",
        worst[0] <= max_completeness_gap,
        f"largest median completeness gap {worst[0]:.4f} ({worst[1]}, {worst[2]}, {worst[3]} "
        f"baseline) over {len(ig_pool)} images at {ig_steps} steps; required <= "
        f"{max_completeness_gap}"
        + (f"; {unmeasured} (model, output, baseline) with no output change" if unmeasured else ""),
    )
else:
    rec.check(
        "ig_completeness",
        False,
        f"no model's output moved by {MIN_CHANGE} along any IG path: completeness not measurable",
    )

rec.metric("seconds", time.perf_counter() - started)
rec.headline(
    "Grad-CAM background/stroke, aligned → conflicting: "
    + "; ".join(f"{n} {p['aligned']:.2f} → {p['conflicting']:.2f}" for n, p in pooled.items())
)
rec.save()
print(rec.headline_)
