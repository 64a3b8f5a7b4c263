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
# # T0: the biased canvas
#
# Coloured MNIST in which each digit is usually painted its own colour: easy splits follow the
# digit-colour rule for a fraction `bias` of each digit, hard splits never do. The dominant-colour
# shares restate the generator (it assigns exactly that many), so they are recorded as dataset
# statistics; the one finding checked here is that every stroke colour stands out from its
# background by the declared margin.

# %% tags=["parameters"]
output_dir = "build/scratch/t0"  # the builder injects the task's staging directory
upstream = {}  # task name -> directory of that task's completed outputs
profile = "quick"
seed = 0
device = "auto"
data_root = "data"
bias = 0.95  # share of each digit painted its own colour in the easy splits
n_train = None  # None: all MNIST training images not used for validation
n_val = 5000  # easy validation images, held out from the training images
n_test = None  # None: all 10000 MNIST test images
bg_range = [0.05, 0.25]  # background gray level ~ U(low, high); the seeds used U(0.3, 0.6)
contrast_margin = 0.15  # every colour's stroke/background contrast must clear this ...
contrast_max_share_below = 0.01  # ... on all but this share of its images, in every split

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

from lazy_artist.data.canvas import (
    COLOUR_NAMES,
    SEED_BG_RANGE,
    SPLITS,
    build_canvas,
    contingency,
    dominant_colour_table,
    dominant_share,
    save_canvas,
)
from lazy_artist.data.contrast import (
    contrast_failures,
    contrast_metrics,
    repainted_contrast,
    split_contrast,
    weakest,
)
from lazy_artist.data.mnist import load_mnist, mnist_fingerprint
from lazy_artist.plots import contingency_heatmaps, dominant_share_bars, sample_grid
from lazy_artist.results import Recorder
from lazy_artist.runtime import seed_everything

seed_everything(seed)
rec = Recorder(output_dir, task="t0")
started = time.perf_counter()

# %% [markdown]
# ## MNIST

# %%
mnist = load_mnist(data_root)
rec.metric("data_source", mnist.source)
rec.metric("mnist_fingerprint", mnist_fingerprint(mnist))
print(mnist.source)

# %% [markdown]
# ## The canvas

# %%
canvas = build_canvas(
    mnist,
    bias=bias,
    seed=seed,
    n_train=n_train,
    n_val=n_val,
    n_test=n_test,
    bg_range=tuple(bg_range),
)
canvas_path = save_canvas(canvas, rec.artefact_path("canvas.npz"))
rec.metric("bias", canvas.bias)
rec.metric("bg_range", canvas.meta["bg_range"])
rec.metric("seed_bg_range", list(SEED_BG_RANGE))
for name, size in canvas.sizes().items():
    rec.metric(f"n_{name}", size)
shares = {name: dominant_share(canvas[name]) for name in SPLITS}
for name, share in shares.items():
    rec.metric(f"dominant_share_{name}", share)
print(canvas.sizes(), shares)

# %% [markdown]
# ## Dominant colour per digit and split (dataset statistics, true by construction)

# %%
per_digit = dominant_colour_table(canvas)
rec.table(
    "dominant_colour",
    columns=["digit", "colour", *SPLITS],
    rows=[
        [digit, COLOUR_NAMES[digit], *[float(per_digit[name][digit]) for name in SPLITS]]
        for digit in range(10)
    ],
    caption=(
        f"Share of each digit painted its own colour, per split (bias {canvas.bias:g}; "
        f"overall: " + ", ".join(f"{name} {shares[name]:.2%}" for name in SPLITS) + ")."
    ),
    formats={name: ".1%" for name in SPLITS},
)
fig = dominant_share_bars(per_digit, canvas.bias)
rec.figure(
    "dominant_share",
    fig,
    f"Per-digit share in the digit's own colour; dashed line: bias {canvas.bias:g}.",
)
plt.show()

# %% [markdown]
# ## Stroke/background contrast per colour
#
# Per image, the largest per-channel difference between the mean stroke colour and the mean
# background colour (`lazy_artist.data.contrast`), measured on the generated images of every
# split; and, on the hard test digits with the same stroke colours, what the seed reports'
# background range would have given.

# %%
per_split = {name: split_contrast(canvas[name], contrast_margin) for name in SPLITS}
seed_range = repainted_contrast(canvas["hard_test"], SEED_BG_RANGE, contrast_margin, seed)
for name, value in contrast_metrics(per_split).items():
    rec.metric(name, value)
weakest_colour = rec.metric("contrast_weakest", weakest(per_split))
seed_weakest = rec.metric("seed_range_contrast_weakest", weakest({"hard_test": seed_range}))
rec.metric("seed_range_contrast_median_hard_test", [summary.median for summary in seed_range])
rec.metric(
    "seed_range_contrast_share_below_hard_test", [summary.share_below for summary in seed_range]
)
rec.table(
    "stroke_contrast",
    columns=[
        "colour",
        "median train",
        "below train",
        "median hard",
        "below hard",
        "median hard, seeds' range",
        "below, seeds' range",
    ],
    rows=[
        [train_c.name, train_c.median, train_c.share_below, hard_c.median, hard_c.share_below]
        + [seed_c.median, seed_c.share_below]
        for train_c, hard_c, seed_c in zip(
            per_split["train"], per_split["hard_test"], seed_range, strict=True
        )
    ],
    caption=(
        f"Stroke/background contrast per stroke colour (median over images of the largest "
        f"per-channel absolute difference between the mean stroke and the mean background "
        f"colour) and the share of images below the margin "
        f"{contrast_margin:g}, on this canvas (background U({canvas.meta['bg_range'][0]:g}, "
        f"{canvas.meta['bg_range'][1]:g})) and on the same hard test digits repainted on the "
        f"seeds' U({SEED_BG_RANGE[0]:g}, {SEED_BG_RANGE[1]:g})."
    ),
    formats={
        "median train": ".3f",
        "below train": ".1%",
        "median hard": ".3f",
        "below hard": ".1%",
        "median hard, seeds' range": ".3f",
        "below, seeds' range": ".1%",
    },
)
failures = contrast_failures(per_split, contrast_max_share_below)
rec.check(
    "every_colour_clears_contrast_margin",
    not failures,
    f"margin {contrast_margin:g}, at most {contrast_max_share_below:.1%} of a colour's images "
    f"below it, in every split; weakest: {weakest_colour['colour']} in {weakest_colour['split']} "
    f"(median {weakest_colour['median']:.3f}, {weakest_colour['share_below']:.1%} below)"
    + ("; failing: " + "; ".join(failures) if failures else ""),
)
print(failures, weakest_colour, seed_weakest)

# %% [markdown]
# ## Samples and the digit-colour contingency

# %%
train = canvas["train"]
fig = sample_grid(
    train.images, train.labels, train.colours, title="Easy training samples", seed=seed
)
rec.figure(
    "easy_samples",
    fig,
    f"Random easy training images, one column per digit, each labelled with its stroke colour "
    f"({shares['train']:.1%} of training images carry their digit's colour).",
)
plt.show()

hard = canvas["hard_test"]
fig = sample_grid(hard.images, hard.labels, hard.colours, title="Hard test samples", seed=seed)
rec.figure(
    "hard_samples",
    fig,
    f"Random hard test images: every digit in one of the 9 other colours "
    f"({shares['hard_test']:.1%} in their own colour).",
)
plt.show()

# %%
fig = contingency_heatmaps(
    {
        name: contingency(canvas[name].labels, canvas[name].colours)
        for name in ("train", "hard_test")
    }
)
rec.figure(
    "contingency",
    fig,
    f"Images per (digit, colour) in the easy training split (n = {len(train)}) and the hard test "
    f"split (n = {len(hard)}); shading is the share of the digit's images.",
)
plt.show()

# %%
digit_counts = np.bincount(train.labels, minlength=10)
rec.metric("train_digit_counts", digit_counts)
rec.metric("seconds", time.perf_counter() - started)
print(
    rec.headline(
        f"{len(train)} training images, {shares['train']:.1%} in their digit's colour "
        f"(bias {canvas.bias:g}); hard test {shares['hard_test']:.1%} dominant "
        f"(n = {len(hard)}); weakest stroke contrast {weakest_colour['median']:.3f} "
        f"({weakest_colour['colour']}, margin {contrast_margin:g})"
    )
)
rec.save()
