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
# A small CNN trained with plain cross-entropy on the easy training split. The checkpoint is
# selected on easy validation accuracy only; the hard test set is evaluated, never used to choose.

# %% tags=["parameters"]
output_dir = "build/scratch/t1"  # the builder injects the task's staging directory
upstream = {}  # task name -> directory of that task's completed outputs
profile = "quick"
seed = 0
device = "auto"
data_root = "data"
model = "cheater_cnn"
width = 8  # channels of conv1 (conv2 and conv3 have twice as many)
epochs = 7
batch_size = 128
lr = 3e-3
schedule = "cosine"  # learning rate per step: "cosine" (to zero) or "constant"
min_easy_val_acc = 0.95  # expected finding: the cheater does well when colour agrees ...
max_hard_test_acc = 0.30  # ... and badly when it does not
min_colour_following = 0.5  # probe: share of other digits read as the painted colour's digit
standalone_canvas = {"n_train": 6000, "n_val": 1000, "n_test": 2000}  # only without upstream t0

# %%
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from lazy_artist.data.canvas import COLOUR_NAMES, build_canvas, load_canvas
from lazy_artist.data.mnist import load_mnist
from lazy_artist.metrics import (
    accuracy,
    colour_probe,
    colour_probe_predictions,
    confusion_matrix,
    digit_colour_accuracy_grid,
)
from lazy_artist.models import build_model
from lazy_artist.plots import (
    accuracy_grid,
    colour_probe_heatmap,
    confusion_matrices,
    training_curves,
)
from lazy_artist.results import Recorder, artefact
from lazy_artist.runtime import resolve_device, seed_everything
from lazy_artist.training import predict, save_checkpoint, train_classifier

seed_everything(seed)
torch_device = resolve_device(device)
rec = Recorder(output_dir, task="t1")
started = time.perf_counter()

# %% [markdown]
# ## The canvas from T0

# %%
if "t0" in upstream:
    canvas = load_canvas(artefact(Path(upstream["t0"]), "canvas.npz"))
    rec.metric("canvas_from", "t0")
else:
    # Standalone run (no builder): build a canvas in place with the same library code.
    canvas = build_canvas(load_mnist(data_root), seed=seed, **standalone_canvas)
    rec.metric("canvas_from", "built in place (standalone)")
rec.metric("bias", canvas.bias)
print(canvas.sizes())

# %% [markdown]
# ## Training

# %%
net = build_model(model, in_channels=3, width=width)
train = canvas["train"]
eval_sets = {
    "val": (canvas["val"].images, canvas["val"].labels),  # selects the checkpoint
    "conflict_val": (canvas["conflict_val"].images, canvas["conflict_val"].labels),  # monitored
    "hard_test": (canvas["hard_test"].images, canvas["hard_test"].labels),  # curve only
}
result = train_classifier(
    net,
    (train.images, train.labels),
    eval_sets,
    epochs=epochs,
    batch_size=batch_size,
    lr=lr,
    seed=seed,
    device=torch_device,
    select_on="val",
    schedule=schedule,
)
cheater = result.model
save_checkpoint(
    rec.artefact_path("model.pt"),
    model,
    cheater,
    extra={"selected_epoch": result.selected_epoch, "selection_rule": result.selection_rule},
)
rec.metric("selected_epoch", result.selected_epoch)
rec.metric("selection_rule", result.selection_rule)
rec.metric("train_seconds", result.seconds)
rec.metric("n_parameters", sum(p.numel() for p in cheater.parameters()))

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
history_keys = list(result.history[0])
rec.table(
    "history",
    columns=history_keys,
    rows=[[row[key] for key in history_keys] for row in result.history],
    caption=(
        f"Per-epoch training loss and accuracies; epoch {result.selected_epoch} was kept "
        f"({result.selection_rule})."
    ),
    formats={
        key: (".1%" if key.endswith("acc") or key.startswith("acc_") else ".4f")
        for key in history_keys[1:]
    },
)
fig = training_curves(result.history, result.selected_epoch)
rec.figure(
    "curves",
    fig,
    f"Training curves over {len(result.history)} epochs; the kept epoch {result.selected_epoch} "
    f"has easy validation {easy_val:.1%} and hard test {hard_test:.1%}.",
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
    colour_probe_predictions(cheater, probe_digits, seed=seed, device=torch_device),
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
rec.headline(
    f"easy val {easy_val:.1%} vs hard test {hard_test:.1%}; a digit painted colour c is read "
    f"as c {following:.0%} of the time"
)
rec.save()
print(rec.headline_)
