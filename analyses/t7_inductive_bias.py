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
# # T7: inductive bias and FGSM across architectures
#
# A fully connected net (FCNN) and a CNN on grayscale MNIST and FashionMNIST: test accuracy on
# the images as they are, and when every image (train and test alike) has its pixels shuffled
# by one fixed permutation. The FCNN cannot tell the difference; the CNN loses the spatial
# prior of its local filters. Then untargeted FGSM accuracy against epsilon for each.

# %% tags=["parameters"]
output_dir = "build/scratch/t7"  # the builder injects the task's staging directory
upstream = {}  # T7 needs no other task
profile = "quick"
seed = 0
device = "auto"
data_root = "data"
datasets = "mnist,fashion_mnist"  # gray data sets compared (comma-separated)
fc_model = "mlp"  # the fully connected model (registry name)
fc_hidden = [256, 128]  # its hidden layer sizes
cnn_model = "lenet_cnn"  # the convolutional model (registry name)
cnn_width = 16  # its width (channels of the first convolution)
n_train = None  # None: every training image not held out for validation
n_val = 5000  # held out from the training images, selects the checkpoint
n_test = None  # None: the whole test set
epochs = 3  # training epochs of every fit
batch_size = 128  # training batch size
lr = 1e-3  # Adam learning rate (cosine schedule to zero)
fgsm_epsilons = [0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3]  # budgets of the untargeted FGSM sweep
n_fgsm = 2000  # first test images attacked (None: all of the test subset)
compare_epsilon = 0.1  # the budget at which the text compares the architectures
fc_scramble_tolerance = 0.01  # the FCNN's accuracy may move this much under the permutation
min_cnn_scramble_drop = 0.005  # the CNN must lose at least this much
threads = 0  # torch CPU threads outside the fits; 0: one per available core
jobs = 0  # fits trained at once, one thread each (0: one per core, 1: serial); same numbers

# %%
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from lazy_artist.data.scramble import pixel_permutation, scramble
from lazy_artist.inductive.experiment import GRAY_DATASETS, gray_splits
from lazy_artist.inductive.grid import (
    CNN,
    FC,
    Training,
    accuracy_rows,
    accuracy_table,
    expected_findings,
    fgsm_grid,
    plan_fits,
    run_fits,
)
from lazy_artist.inductive.plots import accuracy_bars, clean_and_scrambled_examples, fgsm_curves
from lazy_artist.results import Recorder
from lazy_artist.runtime import configure_threads, resolve_device, seed_everything

seed_everything(seed)
configure_threads(threads)
torch_device = resolve_device(device)
rec = Recorder(output_dir, task="t7")
started = time.perf_counter()
names = [name.strip() for name in datasets.split(",") if name.strip()]
architectures = {
    FC: (fc_model, {"in_channels": 1, "hidden": list(fc_hidden)}),
    CNN: (cnn_model, {"in_channels": 1, "width": cnn_width}),
}
titles = {name: GRAY_DATASETS[name].title for name in names}
# One permutation for the whole task: the same shuffle for every image of every data set.
permutation = pixel_permutation(28 * 28, seed)
rec.metric("architectures", {arch: model for arch, (model, _) in architectures.items()})

# %% [markdown]
# ## The data, as they are and scrambled

# %%
splits, sources = {}, {}
for name in names:
    arrays = GRAY_DATASETS[name].load(Path(data_root))
    sources[name] = arrays.source
    splits[name] = gray_splits(arrays, n_train, n_val, n_test, seed)  # scrambled where needed
    print(name, arrays.source, splits[name].sizes())
rec.metric("sources", sources)
rec.metric("dataset_titles", titles)
rec.metric("sizes", {name: splits[name].sizes() for name in names})

examples = {}
for name in names:
    clean_x, clean_y = splits[name].test
    classes = GRAY_DATASETS[name].class_names
    examples[titles[name]] = (
        clean_x[:4],
        scramble(clean_x[:4], permutation),
        [classes[int(label)] for label in clean_y[:4]],
    )
fig = clean_and_scrambled_examples(examples)
rec.figure(
    "examples",
    fig,
    "Test images as they are and under the one fixed pixel permutation (the same for every "
    "image, in training and test).",
    width="62%",
)
plt.show()

# %% [markdown]
# ## Training: every (data set, architecture, variant)

# %%
fits = run_fits(
    plan_fits(names, list(architectures)),
    splits,
    permutation,
    architectures,
    Training(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed),
    device=torch_device,
    jobs=jobs,
)
for (name, arch, variant), fit in fits.items():
    print(
        f"{name} {arch} {variant}: test {fit.test_accuracy:.4f} (val {fit.val_accuracy:.4f}, "
        f"epoch {fit.selected_epoch}, {fit.seconds:.1f}s)"
    )
accuracy = rec.metric("accuracy", accuracy_table(fits))
rec.metric(
    "train_seconds",
    {f"{name}/{arch}/{variant}": fit.seconds for (name, arch, variant), fit in fits.items()},
)

# %%
rec.table(
    "accuracy",
    ["data set", "architecture", "model", "clean test", "scrambled test", "change (points)"],
    accuracy_rows(accuracy, {arch: model for arch, (model, _) in architectures.items()}, titles),
    caption=(
        f"Test accuracy ({epochs} epoch(s), checkpoint chosen on {n_val} held-out training images), "
        "on the images as they are and with one fixed pixel permutation applied to training and "
        "test images alike."
    ),
    formats={"clean test": ".2%", "scrambled test": ".2%", "change (points)": "+.2f"},
)
fig = accuracy_bars({titles[name]: accuracy[name] for name in names})
rec.figure(
    "accuracy",
    fig,
    "Test accuracy per data set and architecture, clean (solid) and scrambled (hatched).",
)
plt.show()

# %% [markdown]
# ## FGSM against epsilon

# %%
fgsm = fgsm_grid(
    fits,
    splits,
    permutation,
    fgsm_epsilons,
    n_fgsm,
    torch_device,
)
rec.metric("fgsm_epsilons", list(fgsm_epsilons))
rec.metric("fgsm_accuracy", fgsm)
n_attacked = len(splits[names[0]].test[1]) if n_fgsm is None else n_fgsm
fig = fgsm_curves(list(fgsm_epsilons), {titles[name]: fgsm[name] for name in names})
rec.figure(
    "fgsm",
    fig,
    f"Untargeted FGSM: test accuracy (first {n_attacked} test images) against epsilon, per "
    "data set; solid: clean models, dashed: scrambled ones (attacked in their own, scrambled "
    "input space; a permutation does not change L-inf distances).",
)
plt.show()

# %% [markdown]
# ## Expected findings

# %%
k_compare = int(np.argmin(np.abs(np.asarray(fgsm_epsilons) - compare_epsilon)))
at_compare = {
    name: {arch: fgsm[name][arch]["clean"][k_compare] for arch in architectures} for name in names
}
rec.metric("fgsm_at_compare_epsilon", at_compare)
rec.metric("compare_epsilon", compare_epsilon)
for finding in expected_findings(accuracy, titles, fc_scramble_tolerance, min_cnn_scramble_drop):
    rec.check(finding.name, finding.passed, finding.detail)
more_robust = {name: max(at_compare[name], key=at_compare[name].get) for name in names}
rec.metric("more_robust_at_compare_epsilon", more_robust)
rec.metric("seconds", time.perf_counter() - started)
print(
    rec.headline(
        "; ".join(
            f"{titles[name]}: FCNN {accuracy[name]['fcnn']['clean']:.1%}"
            f"->{accuracy[name]['fcnn']['scrambled']:.1%}, CNN {accuracy[name]['cnn']['clean']:.1%}"
            f"->{accuracy[name]['cnn']['scrambled']:.1%} scrambled"
            for name in names
        )
    )
)
rec.save()
