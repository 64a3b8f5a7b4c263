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
# # T1: the cheater
#
# The cheater is T4's ERM on the `cheater_cnn` backbone with that backbone's recipe (plain
# cross-entropy on the easy training split, checkpoint selected on easy validation only): one
# model, trained once, through the same code path as every T4 method. T1 loads it and asks what
# it learned; the hard test set is evaluated, never used to choose.

# %% tags=["parameters"]
output_dir = "build/scratch/t1"  # the builder injects the task's staging directory
upstream = {}  # task name -> directory of that task's completed outputs
profile = "quick"
seed = 0
device = "auto"
data_root = "data"
model = "cheater"  # a lazy_artist.zoo name: ERM on cheater_cnn, seed 0
min_easy_val_acc = 0.95  # expected finding: the cheater does well when colour agrees ...
max_hard_test_acc = 0.30  # ... and badly when it does not
min_colour_following = 0.5  # probe: share of other digits read as the painted colour's digit

# %%
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from lazy_artist.data.canvas import COLOUR_NAMES, load_canvas
from lazy_artist.inference import predict
from lazy_artist.methods.figures import method_learning_curves
from lazy_artist.methods.selection import RULE_LABELS
from lazy_artist.metrics import (
    accuracy,
    colour_probe,
    colour_probe_predictions,
    confusion_matrix,
    digit_colour_accuracy_grid,
)
from lazy_artist.plots import accuracy_grid, colour_probe_heatmap, confusion_matrices
from lazy_artist.results import Recorder, artefact
from lazy_artist.runtime import resolve_device, seed_everything
from lazy_artist.zoo import load_study_model

seed_everything(seed)
torch_device = resolve_device(device)
rec = Recorder(output_dir, task="t1")
started = time.perf_counter()

# %% [markdown]
# ## The canvas from T0 and the cheater from T4

# %%
canvas = load_canvas(artefact(Path(upstream["t0"]), "canvas.npz"))
rec.metric("canvas_from", "t0")
rec.metric("bias", canvas.bias)
print(canvas.sizes())
study = load_study_model(upstream, model, torch_device)
cheater = study.network
rec.metric("model", study.record())
rec.metric("backbone", study.backbone)
rec.metric("selected_epoch", study.meta["selected_epoch"])
rec.metric("selection_rule", RULE_LABELS[study.rule])
rec.metric("n_parameters", sum(p.numel() for p in cheater.parameters()))
print(study.record())

# %%
preds = {}
for name in ("train", "val", "conflict_val", "easy_test", "hard_test"):
    preds[name], _ = predict(cheater, canvas[name].images, device=torch_device)
acc = {name: accuracy(preds[name], canvas[name].labels) for name in preds}
easy_val = rec.metric("easy_val_acc", acc["val"])
hard_test = rec.metric("hard_test_acc", acc["hard_test"])
rec.metric("easy_test_acc", acc["easy_test"])
rec.metric("conflict_val_acc", acc["conflict_val"])
rec.metric("train_acc", acc["train"])
print(acc)

# %%
history = study.meta["history"]
rec.table(
    "history",
    columns=["epoch", "train loss", "easy val", "conflict val", "hard test", "seconds"],
    rows=[
        [
            row["epoch"],
            row["losses"]["loss"],
            row["acc_val"],
            row["acc_conflict_val"],
            row["acc_hard_test"],
            row["seconds"],
        ]
        for row in history
    ],
    caption=(
        f"Per-epoch training loss and accuracies of T4's run ({study.name}: {study.method} on "
        f"{study.backbone}, seed {study.seed}); epoch {study.meta['selected_epoch']} was kept "
        f"({RULE_LABELS[study.rule]})."
    ),
    formats={
        "train loss": ".4f",
        "easy val": ".1%",
        "conflict val": ".1%",
        "hard test": ".1%",
        "seconds": ".1f",
    },
)
fig = method_learning_curves({study.name: [history]})
rec.figure(
    "curves",
    fig,
    f"Training curves over {len(history)} epochs (T4's run); the kept epoch "
    f"{study.meta['selected_epoch']} has easy validation {easy_val:.1%} and hard test "
    f"{hard_test:.1%}.",
)
plt.show()

# %% [markdown]
# ## Where it fails

# %%
fig = confusion_matrices(
    {
        "easy test": confusion_matrix(canvas["easy_test"].labels, preds["easy_test"]),
        "hard test": confusion_matrix(canvas["hard_test"].labels, preds["hard_test"]),
    }
)
rec.figure(
    "confusion",
    fig,
    f"Confusion matrices: easy test ({acc['easy_test']:.1%} correct) and hard test "
    f"({hard_test:.1%} correct); counts in cells, shading is the share of the true digit.",
)
plt.show()

# %%
# Easy and hard test together fill every (digit, colour) cell: the diagonal comes from easy test.
grid_labels = np.concatenate([canvas["easy_test"].labels, canvas["hard_test"].labels])
grid_colours = np.concatenate([canvas["easy_test"].colours, canvas["hard_test"].colours])
grid = digit_colour_accuracy_grid(
    np.concatenate([preds["easy_test"], preds["hard_test"]]), grid_labels, grid_colours
)
diagonal = float(np.nanmean(np.diag(grid)))
off_diagonal = float(np.nanmean(grid[~np.eye(10, dtype=bool)]))
rec.metric("grid_mean_aligned_acc", diagonal)
rec.metric("grid_mean_conflicting_acc", off_diagonal)
fig = accuracy_grid(grid, "Accuracy per (digit, stroke colour), easy + hard test")
rec.figure(
    "accuracy_grid",
    fig,
    f"Accuracy in each (digit, colour) cell over easy and hard test images: mean {diagonal:.1%} "
    f"on the diagonal (the digit's own colour), {off_diagonal:.1%} off it.",
    width="80%",
)
plt.show()

# %% [markdown]
# ## The colour-cheating probe

# %%
probe_digits = canvas["hard_test"].digits
probe = colour_probe(
    colour_probe_predictions(
        cheater, probe_digits, seed=seed, device=torch_device, bg_range=canvas.bg_range
    ),
    canvas["hard_test"].labels,
)
following = rec.metric("colour_following_share", probe.follows_overall)
rec.metric("colour_following_per_colour", probe.follows)
rec.table(
    "colour_probe",
    columns=["colour", "digit of the colour", "other digits read as that digit"],
    rows=[[COLOUR_NAMES[c], c, float(probe.follows[c])] for c in range(10)],
    caption=(
        f"Every one of {probe.n_images} test digits painted colour c: the share of digits other "
        f"than c that the cheater reads as c (pooled: {following:.1%})."
    ),
    formats={"other digits read as that digit": ".1%"},
)
fig = colour_probe_heatmap(probe.shares, probe.follows)
rec.figure(
    "colour_probe",
    fig,
    f"Row c: predictions when all {probe.n_images} test digits are painted colour c. "
    f"{following:.1%} of digits other than c are read as c "
    f"(lowest colour {COLOUR_NAMES[int(np.argmin(probe.follows))]} "
    f"{np.min(probe.follows):.1%}).",
    width="80%",
)
plt.show()

# %% [markdown]
# ## Expected findings

# %%
rec.check(
    "easy_val_at_least",
    easy_val >= min_easy_val_acc,
    f"easy validation accuracy {easy_val:.4f} (n = {len(canvas['val'])}) vs required "
    f">= {min_easy_val_acc}",
)
rec.check(
    "hard_test_at_most",
    hard_test <= max_hard_test_acc,
    f"hard test accuracy {hard_test:.4f} (n = {len(canvas['hard_test'])}) vs required "
    f"<= {max_hard_test_acc}",
)
rec.check(
    "predicts_colour_digit",
    following >= min_colour_following,
    f"painted colour c, {following:.4f} of other digits are read as digit c "
    f"(per colour {np.min(probe.follows):.3f}..{np.max(probe.follows):.3f}) vs required "
    f">= {min_colour_following}",
)
rec.metric("seconds", time.perf_counter() - started)
print(
    rec.headline(
        f"easy val {easy_val:.1%} vs hard test {hard_test:.1%}; a digit painted colour c is read "
        f"as c {following:.0%} of the time"
    )
)
rec.save()
