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
# digit-colour rule for a fraction `bias` of each digit, hard splits never do.

# %% tags=["parameters"]
output_dir = "build/scratch/t0"  # the builder injects the task's staging directory
upstream = {}  # task name -> directory of that task's completed outputs
profile = "quick"
seed = 0
device = "auto"
data_root = "data"
bias = 0.95  # share of each digit painted its own colour in the easy splits
n_train = None  # None: all MNIST training images not used for validation
n_val = 5000
n_test = None  # None: all 10000 MNIST test images

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

from lazy_artist.data.canvas import (
    COLOUR_NAMES,
    EASY_SPLITS,
    HARD_SPLITS,
    SPLITS,
    build_canvas,
    contingency,
    dominant_colour_table,
    dominant_share,
    save_canvas,
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
canvas = build_canvas(mnist, bias=bias, seed=seed, n_train=n_train, n_val=n_val, n_test=n_test)
canvas_path = save_canvas(canvas, rec.artefact_path("canvas.npz"))
rec.metric("bias", canvas.bias)
for name, size in canvas.sizes().items():
    rec.metric(f"n_{name}", size)
shares = {name: dominant_share(canvas[name]) for name in SPLITS}
for name, share in shares.items():
    rec.metric(f"dominant_share_{name}", share)
print(canvas.sizes(), shares)

# %% [markdown]
# ## Dominant colour per digit and split

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

# %%
easy_tol = 0.01
easy_gaps = {name: abs(shares[name] - canvas.bias) for name in EASY_SPLITS}
rec.check(
    "easy_splits_match_bias",
    all(gap < easy_tol for gap in easy_gaps.values()),
    "dominant share vs bias "
    + f"{canvas.bias:g}: "
    + ", ".join(f"{name} {shares[name]:.4f}" for name in EASY_SPLITS)
    + f" (largest gap {max(easy_gaps.values()):.4f}, tolerance {easy_tol})",
)
rec.check(
    "hard_test_has_no_dominant_colour",
    all(shares[name] == 0.0 for name in HARD_SPLITS),
    "dominant share: "
    + ", ".join(f"{name} {shares[name]:.4f}" for name in HARD_SPLITS)
    + " (required 0)",
)

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
rec.headline(
    f"{len(train)} training images, {shares['train']:.1%} in their digit's colour "
    f"(bias {canvas.bias:g}); hard test {shares['hard_test']:.1%} dominant "
    f"(n = {len(hard)})"
)
rec.save()
print(rec.headline_)
