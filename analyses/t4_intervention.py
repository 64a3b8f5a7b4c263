# %% [markdown]
# # T4: the intervention
#
# Every debiasing method of the registry trained on the easy canvas with the same backbone,
# data and epoch budget, over several seeds; checkpoints selected on validation data only.
# Then hard-test accuracy against the bias fraction for ERM, the oracle and the best method.

# %% tags=["parameters"]
output_dir = "build/scratch/t4"  # the builder injects the task's staging directory
upstream = {}  # task name -> directory of that task's completed outputs
profile = "quick"
memo_dir = None  # the builder injects where finished training runs are kept for reuse
seed = 0
device = "auto"
data_root = "data"
methods = "all"  # "all" or comma-separated registry names, e.g. "erm,cf_invar"
hparams = {}  # per-method overrides, e.g. {"cf_invar": {"lambda_cf": 2.0}}
backbone = "lenet_cnn"  # the model-registry architecture shared by every method
backbone_width = 16
train_subset = None  # None: all of T0's training images; an int trains on the first n
epochs = 4
precision = "bf16"  # "bf16": forward passes under bfloat16 autocast (fp32 weights); or "fp32"
n_seeds = 3  # seeds seed, seed+1, ...
bias_sweep = [0.95, 0.98, 0.99, 0.995]
sweep_methods = "erm,gray_oracle,best"  # "best": the best method by conflict validation
sweep_seeds = 1
min_best_hard_acc = 0.97  # expected finding: the best method reads shape ...
min_best_easy_val_acc = 0.97  # ... without giving up easy accuracy
# ERM stays the cheater: its hard accuracy trails the best method's by this much, and a
# repainted digit is read as the colour's digit this many times as often as by the best.
min_erm_hard_gap = 0.10
min_erm_following_ratio = 10.0
probe_images = 2000  # hard-test digits repainted in every colour for the colour probe
oracle_tolerance = 0.01  # the oracle is the ceiling, within this margin
min_converged_easy_val = 0.9  # a run below this on easy validation did not train (flagged)
standalone_canvas = {"n_train": 6000, "n_val": 1000, "n_test": 2000}  # only without upstream t0

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

from lazy_artist.data.canvas import build_canvas, load_canvas
from lazy_artist.data.mnist import load_mnist
from lazy_artist.methods.artefacts import MethodIndex
from lazy_artist.methods.comparison import (
    best_method,
    epochs_to_reach,
    mean_std,
    resolve_method_names,
    sweep_method_names,
    unconverged_runs,
)
from lazy_artist.methods.memo import RunMemo
from lazy_artist.methods.reliance import colour_following
from lazy_artist.methods.run import fit_method
from lazy_artist.plots import bias_sweep_plot, method_learning_curves
from lazy_artist.results import Recorder, artefact
from lazy_artist.runtime import resolve_device, seed_everything

seed_everything(seed)
rec = Recorder(output_dir, task="t4")
torch_device = resolve_device(device)
names = resolve_method_names(methods)
seeds = [seed + offset for offset in range(n_seeds)]
started = time.perf_counter()
memo = RunMemo(memo_dir)  # identical finished runs are loaded, not retrained

if "t0" in upstream:
    canvas = load_canvas(artefact(upstream["t0"], "canvas.npz"))
else:
    canvas = build_canvas(load_mnist(data_root), bias=0.95, seed=seed, **standalone_canvas)
canvas = canvas.with_train_subset(train_subset)
print(f"{len(names)} methods x {len(seeds)} seeds on {canvas.sizes()}")

# %% [markdown]
# ## Every method, every seed

# %%
index = MethodIndex(rec.artefact_path("models"))
runs = {}
following = {}  # (method, seed) -> colour-following share (None for gray-input methods)
for name in names:
    for run_seed in seeds:
        algorithm, run = fit_method(
            name,
            canvas,
            hparams=hparams.get(name),
            backbone=backbone,
            backbone_width=backbone_width,
            epochs=epochs,
            seed=run_seed,
            device=torch_device,
            memo=memo,
            precision=precision,
        )
        runs[(name, run_seed)] = run
        index.add(name, run_seed, algorithm, run)
        following[(name, run_seed)] = colour_following(
            algorithm.network,
            algorithm.input_kind,
            canvas["hard_test"],
            n_images=probe_images,
            seed=run_seed,
            device=torch_device,
        )
        print(
            f"{name} seed {run_seed}: val {run.selected['val']:.4f}, "
            f"conflict_val {run.selected['conflict_val']:.4f}, hard {run.selected['hard_test']:.4f}, "
            f"{run.seconds:.1f}s (selected epoch {run.selected_epoch}"
            f"{', reused' if run.extra.get('reused') else ''})"
        )

# %%
per_method = {}
for name in names:
    method_runs = [runs[(name, run_seed)] for run_seed in seeds]
    summary = {
        split: mean_std([run.selected[split] for run in method_runs])
        for split in ("val", "conflict_val", "hard_test")
    }
    seconds = mean_std([run.seconds for run in method_runs])
    method_following = [following[(name, run_seed)] for run_seed in seeds]
    follows = None if None in method_following else mean_std(method_following)
    per_method[name] = {
        "hard_test_acc_mean": summary["hard_test"][0],
        "hard_test_acc_std": summary["hard_test"][1],
        "easy_val_acc_mean": summary["val"][0],
        "easy_val_acc_std": summary["val"][1],
        "conflict_val_acc_mean": summary["conflict_val"][0],
        "conflict_val_acc_std": summary["conflict_val"][1],
        "epochs_to_70_hard": epochs_to_reach(
            [run.history for run in method_runs], "acc_hard_test", 0.70
        ),
        "colour_following_mean": None if follows is None else follows[0],
        "colour_following_std": None if follows is None else follows[1],
        "seconds_mean": seconds[0],
        "selection_rule": method_runs[0].selection_rule,
        "n_seeds": len(method_runs),
    }
reference_seconds = per_method["erm"]["seconds_mean"] if "erm" in per_method else None
for row in per_method.values():
    row["relative_compute"] = row["seconds_mean"] / reference_seconds if reference_seconds else None
rec.metric("methods", per_method)
unconverged = unconverged_runs(runs, min_converged_easy_val)
rec.metric("unconverged_runs", unconverged)
rec.metric("min_converged_easy_val", min_converged_easy_val)
for failed in unconverged:
    print(
        f"did not converge: {failed['method']} seed {failed['seed']}, easy val "
        f"{failed['easy_val_acc']:.4f}, first-epoch losses {failed['first_epoch_losses']}"
    )
rec.metric("seeds", seeds)
rec.metric("epochs", epochs)

winner = best_method(per_method)
index.set_best(winner)
index.save()
rec.metric("best_method", winner)
print("best by conflict validation:", winner)


# %%
def _pm(mean, std):
    return f"{100 * mean:.1f} ± {100 * std:.1f}"


rows = []
for name, row in sorted(per_method.items(), key=lambda item: -item[1]["hard_test_acc_mean"]):
    reached = row["epochs_to_70_hard"]
    follows = row["colour_following_mean"]
    rows.append(
        [
            name,
            _pm(row["easy_val_acc_mean"], row["easy_val_acc_std"]),
            _pm(row["conflict_val_acc_mean"], row["conflict_val_acc_std"]),
            _pm(row["hard_test_acc_mean"], row["hard_test_acc_std"]),
            "gray input" if follows is None else _pm(follows, row["colour_following_std"]),
            "not reached" if reached is None else f"{reached:g}",
            row["seconds_mean"],
            row["relative_compute"],
        ]
    )
rec.table(
    "comparison",
    [
        "method",
        "easy val %",
        "conflict val %",
        "hard test %",
        "follows colour %",
        "epochs to 70% hard",
        "wall s",
        "compute vs ERM",
    ],
    rows,
    caption=(
        f"Accuracy (mean ± std over {len(seeds)} seed(s), %); 'follows colour': {probe_images} "
        f"hard-test digits repainted in each of the 10 colours, the share of (digit, other "
        f"colour) pairs read as the colour's digit (T1's colour probe; ~0 for a shape reader); "
        f"epochs until hard-test accuracy "
        f"first reaches 70% (mean over seeds that reach it), and wall time per run (as measured when "
        f"the run trained); same backbone "
        f"({backbone}, width {backbone_width}), data and {epochs}-epoch budget for every method. "
        f"Checkpoints selected by {per_method[names[0]]['selection_rule']}."
    ),
    formats={"wall s": ".1f", "compute vs ERM": ".2f"},
)

# %% [markdown]
# ## Learning curves

# %%
fig = method_learning_curves({name: [runs[(name, s)].history for s in seeds] for name in names})
rec.figure(
    "learning_curves",
    fig,
    f"Per-epoch accuracy on conflict validation (left, used for selection) and on the hard test "
    f"set (right, shown only), mean over {len(seeds)} seed(s).",
)
plt.show()

# %% [markdown]
# ## Bias sweep

# %%
sweep_names = sweep_method_names(sweep_methods, winner, names)
mnist = load_mnist(data_root)
sizes = canvas.sizes()
sweep = {name: [] for name in sweep_names}
sweep_seconds = []
for bias in bias_sweep:
    if bias == canvas.bias:
        biased = canvas  # the comparison's own canvas: its runs are reused below
    else:
        biased = build_canvas(
            mnist,
            bias=bias,
            seed=canvas.seed,
            n_train=sizes["train"],
            n_val=sizes["val"],
            n_test=sizes["hard_test"],
        )
    for name in sweep_names:
        sweep_run_seeds = [seed + offset for offset in range(sweep_seeds)]
        if biased is canvas and all((name, s) in runs for s in sweep_run_seeds):
            # The comparison above already trained these runs on this very canvas.
            hard = [runs[(name, s)].selected["hard_test"] for s in sweep_run_seeds]
        else:
            fitted = [
                fit_method(
                    name,
                    biased,
                    hparams=hparams.get(name),
                    backbone=backbone,
                    backbone_width=backbone_width,
                    epochs=epochs,
                    seed=s,
                    device=torch_device,
                    memo=memo,
                    precision=precision,
                )[1]
                for s in sweep_run_seeds
            ]
            sweep_seconds.extend(run.seconds for run in fitted)
            hard = [run.selected["hard_test"] for run in fitted]
        sweep[name].append(float(np.mean(hard)))
        print(f"bias {bias}: {name} hard {sweep[name][-1]:.4f}")
rec.metric("bias_sweep", {"bias": list(bias_sweep), "hard_test_acc": sweep})
rec.metric("runs_reused", memo.hits)
# Wall time of every run as measured when it trained (a reused run keeps its own timing).
rec.metric(
    "training_seconds_total",
    sum(run.seconds for run in runs.values()) + sum(sweep_seconds),
)
rec.metric("runs_trained", memo.misses if memo.enabled else None)
print(memo.summary())
fig = bias_sweep_plot(list(bias_sweep), sweep)
rec.figure(
    "bias_sweep",
    fig,
    f"Hard-test accuracy against the bias fraction of the training canvas "
    f"({sweep_seeds} seed(s) per point); methods: {', '.join(sweep_names)}.",
    width="75%",
)
plt.show()

# %% [markdown]
# ## Expected findings

# %%
best = per_method[winner]
rec.check(
    "best_method_reads_shape",
    best["hard_test_acc_mean"] >= min_best_hard_acc
    and best["easy_val_acc_mean"] >= min_best_easy_val_acc,
    f"best method by conflict validation: {winner}, hard test {best['hard_test_acc_mean']:.4f} "
    f"(required >= {min_best_hard_acc}), easy val {best['easy_val_acc_mean']:.4f} "
    f"(required >= {min_best_easy_val_acc})",
)
if "erm" in per_method:
    erm = per_method["erm"]
    hard_gap = best["hard_test_acc_mean"] - erm["hard_test_acc_mean"]
    best_follows = best["colour_following_mean"]
    if best_follows is None:  # a gray-input winner cannot follow colour at all
        following_ratio = float("inf")
    else:
        following_ratio = erm["colour_following_mean"] / max(best_follows, 1.0 / (9 * probe_images))
    rec.metric("erm_hard_gap_to_best", hard_gap)
    rec.metric("erm_colour_following_ratio_to_best", following_ratio)
    rec.check(
        "erm_stays_the_cheater",
        hard_gap >= min_erm_hard_gap and following_ratio >= min_erm_following_ratio,
        f"ERM hard test {erm['hard_test_acc_mean']:.4f}, {hard_gap:.4f} below {winner} "
        f"(required >= {min_erm_hard_gap}); repainted digits read as the colour's digit: ERM "
        f"{erm['colour_following_mean']:.4f} vs {winner} "
        + ("n/a (gray input)" if best_follows is None else f"{best_follows:.4f}")
        + f", ratio {following_ratio:.1f} (required >= {min_erm_following_ratio})",
    )
if "gray_oracle" in per_method:
    others = {
        name: row["hard_test_acc_mean"] for name, row in per_method.items() if name != "gray_oracle"
    }
    top_name = max(others, key=others.get)
    oracle = per_method["gray_oracle"]["hard_test_acc_mean"]
    rec.check(
        "oracle_is_the_ceiling",
        oracle >= others[top_name] - oracle_tolerance,
        f"grayscale oracle hard test {oracle:.4f} vs best colour-input method {top_name} "
        f"{others[top_name]:.4f} (tolerance {oracle_tolerance})",
    )
runner_up = sorted(
    (row["hard_test_acc_mean"], name)
    for name, row in per_method.items()
    if name not in (winner, "gray_oracle")
)
margin = best["hard_test_acc_mean"] - runner_up[-1][0] if runner_up else None
rec.metric("best_margin_over_runner_up", margin)
rec.metric("runner_up", runner_up[-1][1] if runner_up else None)
rec.metric("seconds", time.perf_counter() - started)
rec.headline(
    f"best: {winner} {best['hard_test_acc_mean']:.1%} hard "
    f"(easy val {best['easy_val_acc_mean']:.1%})"
    + (f"; ERM {per_method['erm']['hard_test_acc_mean']:.1%} hard" if "erm" in per_method else "")
)
rec.save()
print(rec.headline_)
