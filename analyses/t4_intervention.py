# %% [markdown]
# # T4: the intervention
#
# ERM and every debiasing method of the registry trained on the easy canvas on each backbone of
# the study, with that backbone's one recipe, over several seeds. Every run's checkpoint is
# selected twice from the same training run: on easy validation (training-distribution
# selection) and on conflict validation (oracle-style selection); the hard test set is only
# reported. On the cheater backbone, ERM with T1's recipe is the cheater T1 analyses.

# %% tags=["parameters"]
output_dir = "build/scratch/t4"  # the builder injects the task's staging directory
upstream = {}  # task name -> directory of that task's completed outputs
profile = "quick"
memo_dir = None  # the builder injects where finished training runs are kept for reuse
memo_retrain = None  # the builder injects --retrain: "all" or method names trained again
seed = 0
device = "auto"
data_root = "data"
methods = "all"  # "all" or comma-separated registry names, e.g. "erm,cf_invar"
hparams = {}  # per-method overrides of the method's own hparams, e.g. {"cf_invar": {"lambda_cf": 2.0}}
n_draws = 1  # hparam draws per method (draw 0: the defaults; DomainBed style), chosen on val
tuned = "committed"  # "committed": lazy_artist.methods.tuned; "none": this build's own draws choose
tune_seed = 1000  # the seed every draw trains on (none of the reported seeds)
backbones = "cheater_cnn,lenet_cnn"  # each trained with its recipe (lazy_artist.methods.recipes)
recipes = {}  # per-backbone recipe overrides, e.g. {"lenet_cnn": {"epochs": 6}}
train_subset = None  # None: all of T0's training images; an int trains on the first n
n_seeds = 3  # seeds seed, seed+1, ...
bias_sweep = [0.95, 0.98, 0.99, 0.995]  # bias fractions of the training canvas in the sweep
sweep_methods = "erm,gray_oracle,best"  # "best": the winner on sweep_backbone (oracle-style)
sweep_backbone = "lenet_cnn"  # the backbone the bias sweep trains on
sweep_seeds = 3  # seeds per sweep point (the interval needs at least 2)
cheater_backbone = "cheater_cnn"  # where "ERM stays the cheater" is the absolute criterion
max_erm_hard_acc = 0.30  # expected finding: ERM's hard accuracy on cheater_backbone at most this
best_backbone = "lenet_cnn"  # where the best method must read shape
min_best_hard_acc = 0.97  # expected finding: the best method's hard accuracy at least this
min_best_easy_val_acc = 0.97  # ... and its easy-validation accuracy at least this
probe_images = 2000  # hard-test digits repainted in every colour for the colour probe
oracle_tolerance = 0.01  # the oracle is the ceiling, within this margin
min_converged_easy_val = 0.9  # a run below this on easy validation did not train (flagged)
alpha = 0.05  # level of the winner vs runner-up paired test
standalone_canvas = {"n_train": 6000, "n_val": 1000, "n_test": 2000}  # only without upstream t0
jobs = 0  # training runs at once: 0 means one per core, 1 one after another (same numbers)
executor = "auto"  # "local" process pool, "ray" (pip install ray), "auto": ray if RAY_ADDRESS

# %%
import itertools
import time

import matplotlib.pyplot as plt

from lazy_artist.data.canvas import build_canvas, load_canvas
from lazy_artist.data.mnist import load_mnist
from lazy_artist.methods.artefacts import MethodIndex
from lazy_artist.methods.base import GROUPS
from lazy_artist.methods.design import DECISIONS
from lazy_artist.methods.figures import (
    bias_sweep_intervals,
    method_learning_curves,
    per_colour_table,
)
from lazy_artist.methods.findings import (
    best_reads_shape,
    erm_against_winner,
    erm_stays_the_cheater,
    oracle_is_the_ceiling,
)
from lazy_artist.methods.grid import (
    COMPARISON_COLUMNS,
    aggregate,
    attach_tuning,
    augmentation_bias,
    compare_winners,
    comparison_rows,
    design_rows,
    histories,
    per_colour_rows,
    plan_runs,
    record_winners,
    relative_compute,
    run_bias_sweep,
    run_grid,
    sweep_canvases,
    unconverged,
)
from lazy_artist.methods.memo import RunMemo, training_code_digest
from lazy_artist.methods.ranking import resolve_method_names, sweep_method_names
from lazy_artist.methods.recipes import resolve_recipes
from lazy_artist.methods.selection import RULE_LABELS, RULES
from lazy_artist.methods.tuned import TUNED
from lazy_artist.methods.tuning import (
    choose,
    chosen_hparams,
    committed_choice,
    merge_tunings,
    plan_draws,
    provenance_groups,
    run_tuning,
    stale_tunings,
    tuned_module_text,
    tuning_record,
    tuning_rows,
)
from lazy_artist.results import Recorder, artefact
from lazy_artist.runtime import resolve_device, seed_everything
from lazy_artist.zoo import DEFAULT_BACKBONE

seed_everything(seed)
rec = Recorder(output_dir, task="t4")
torch_device = resolve_device(device)
names = resolve_method_names(methods)
recipe_of = resolve_recipes(backbones, recipes)
trained_backbones = list(recipe_of)
seeds = [seed + offset for offset in range(n_seeds)]
started = time.perf_counter()
memo = RunMemo(memo_dir, retrain=memo_retrain)  # identical finished runs are loaded, not retrained

if "t0" in upstream:
    canvas = load_canvas(artefact(upstream["t0"], "canvas.npz"))
else:
    canvas = build_canvas(load_mnist(data_root), bias=0.95, seed=seed, **standalone_canvas)
canvas = canvas.with_train_subset(train_subset)
rec.metric("bias", canvas.bias)
rec.metric("conflict_fraction", 1.0 - canvas.bias)  # training digits whose colour disagrees
rec.metric("recipes", {name: recipe.as_dict() for name, recipe in recipe_of.items()})
rec.metric("backbones", trained_backbones)
rec.metric("rules", {rule: RULE_LABELS[rule] for rule in RULES})
rec.metric("groups", GROUPS)
rec.metric("seeds", seeds)
rec.metric("ci_level", 0.95)  # lazy_artist.stats.mean_ci95: Student-t 95% intervals
print(f"{len(names)} methods x {len(seeds)} seeds x {trained_backbones} on {canvas.sizes()}")

# %% [markdown]
# ## Tuning: the same number of hyper-parameter draws for every method
#
# Each draw is one run with the backbone's recipe on the tuning seed; the draw with the best
# score on the backbone's selection split is chosen (never the hard test). In the full profile
# the draws ran in a `tune` build and their chosen values are read from `methods/tuned.py`.

# %%
plan = plan_draws(names, n_draws, hparams)
if tuned == "committed":
    chosen, tuning_problems = committed_choice(TUNED, plan, recipe_of, canvas, hparams)
    rec.check(
        "tuning_applies",
        not tuning_problems,
        "; ".join(tuning_problems) or "every method's committed tuned values apply to this build",
    )
    stale = stale_tunings(TUNED, trained_backbones, training_code_digest())
    rec.check(
        "tuned_on_this_training_code",
        not stale,
        f"the training code changed since {', '.join(stale)} was tuned (values may be stale)"
        if stale
        else "the training code is the one the tune builds ran",
    )
    provenance = provenance_groups(chosen)
else:
    draw_scores = run_tuning(
        plan, canvas, recipe_of, tune_seed, torch_device, memo, jobs=jobs, executor=executor
    )
    chosen = choose(plan, draw_scores, recipe_of)
    tuning_out = tuning_record(
        chosen,
        recipe_of,
        canvas,
        n_draws,
        tune_seed,
        training_code_digest(),
        time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        profile,
    )
    # The artefact keeps the committed entries this build did not tune (a sweep done in parts,
    # one backbone or some methods per tune build, adds to the module).
    merged, carried = merge_tunings(TUNED, tuning_out)
    rec.artefact_path("tuned.py").parent.mkdir(parents=True, exist_ok=True)
    rec.artefact_path("tuned.py").write_text(tuned_module_text(merged))
    rec.metric("tuning_draws", draw_scores)
    rec.metric("tuning_carried", carried)
    provenance = provenance_groups(tuning_out)
rec.metric("tuning_provenance", provenance)
rec.metric("tuning_mode", tuned)
rec.metric("n_draws", n_draws)
rec.metric("tuning", chosen)
for backbone in trained_backbones:
    draws_seed = next(
        (g["provenance"]["tune_seed"] for g in provenance if g["backbone"] == backbone), "-"
    )
    rec.table(
        f"tuning_{backbone}",
        ["method", "draws", "chosen draw", "chosen on", "score % (all draws)", "hparams", "source"],
        tuning_rows(chosen[backbone], names),
        caption=(
            f"{backbone}: each method's hyper-parameters as trained for the tables below, the "
            f"number of draws they were chosen among (draw 0 = defaults; each one run with the "
            f"recipe's budget on tuning seed {draws_seed}) and the chosen draw's validation "
            f"accuracy on the selection split (the range over all draws). The hard test set "
            f"chooses nothing."
        ),
    )

# %% [markdown]
# ## Every method, every backbone, every seed

# %%
default_backbone = DEFAULT_BACKBONE if DEFAULT_BACKBONE in recipe_of else trained_backbones[0]
index = MethodIndex(rec.artefact_path("models"), default_backbone=default_backbone)
records = run_grid(
    plan_runs(names, trained_backbones, seeds),
    canvas,
    recipe_of,
    hparams=hparams,
    device=torch_device,
    memo=memo,
    index=index,
    probe_images=probe_images,
    jobs=jobs,
    executor=executor,
    backbone_hparams=chosen_hparams(chosen),
)
table = aggregate(records, trained_backbones, names, seeds)
relative_compute(table)
attach_tuning(table, chosen)
rec.metric("methods", table)
winners = rec.metric("winners", compare_winners(table, alpha=alpha))
record_winners(index, winners)
index.save()
rec.metric("default_backbone", default_backbone)
rec.metric("best_method", winners[default_backbone]["conflict_val"]["winner"])
rec.metric("unconverged_runs", unconverged(records, min_converged_easy_val))
rec.metric("min_converged_easy_val", min_converged_easy_val)
print(winners)

# %%
for backbone, rule in itertools.product(trained_backbones, RULES):
    recipe = recipe_of[backbone]
    rec.table(
        f"comparison_{backbone}_{rule}",
        COMPARISON_COLUMNS,
        comparison_rows(table[backbone][rule], order=names),
        caption=(
            f"Backbone {backbone} (width {recipe.width}; {recipe.epochs} epochs, lr {recipe.lr:g}, "
            f"batch {recipe.batch_size}, {recipe.precision}), {RULE_LABELS[rule]}: mean over "
            f"{len(seeds)} seed(s) [95% interval], %. 'follows colour': {probe_images} hard-test "
            f"digits repainted in each colour, the share read as the colour's digit (~0 for a "
            f"shape reader). 'hparam draws': configurations the method's hparams were chosen "
            f"among. Compute per run, mean over seeds, with the multiple of ERM's: backward "
            f"passes (every method makes the same {int(table[backbone][rule][names[0]]['steps_mean'])} "
            f"update steps; DANN adds adversary-only passes) and seconds in training steps "
            f"(as measured when the run trained; parallel runs share the cores). Methods grouped "
            f"by the privileged information they use. The hard test set never selects anything."
        ),
    )

# %% [markdown]
# ## Learning curves

# %%
for backbone in trained_backbones:
    fig = method_learning_curves(histories(records, backbone, names, seeds))
    rec.figure(
        f"learning_curves_{backbone}",
        fig,
        f"{backbone}: per-epoch accuracy on conflict validation (left, oracle-style selection) "
        f"and on the hard test set (right, reported only), mean over {len(seeds)} seed(s).",
    )
    plt.show()

# %% [markdown]
# ## Hard accuracy per stroke colour (ERM and the winner)

# %%
per_colour = {}
for backbone in trained_backbones:
    shown = ["erm", winners[backbone]["conflict_val"]["winner"]] if "erm" in names else []
    per_colour[backbone] = per_colour_rows(
        records, canvas, backbone, shown, seeds, "conflict_val", torch_device
    )
    rec.table(
        f"per_colour_{backbone}",
        ["stroke colour", "images", *per_colour[backbone]],
        per_colour_table(per_colour[backbone]),
        caption=(
            f"{backbone}, oracle-style selection: hard-test accuracy (%) of the digits painted "
            f"each colour, mean over {len(seeds)} seed(s) [95% interval]."
        ),
    )
rec.metric("per_colour_hard_test_acc", per_colour)
# Colour augmentation's augmented stream is still biased where p < 1: its measured share of
# digits in their own colour, beside the expected value and chance.
rec.metric("colour_aug_effective_bias", augmentation_bias(records, canvas))

# %% [markdown]
# ## Bias sweep

# %%
sweep_winner = winners[sweep_backbone]["conflict_val"]["winner"]
sweep = run_bias_sweep(
    sweep_canvases(load_mnist(data_root), canvas, bias_sweep),
    sweep_method_names(sweep_methods, sweep_winner, names),
    recipe_of[sweep_backbone],
    [seed + offset for offset in range(sweep_seeds)],
    rule="conflict_val",
    hparams=chosen_hparams(chosen)[sweep_backbone],
    device=torch_device,
    memo=memo,
    records=records,
    comparison=canvas,
    jobs=jobs,
    executor=executor,
)
rec.metric("bias_sweep", sweep)
rec.metric("runs_reused", memo.hits)
rec.metric("runs_trained", memo.misses if memo.enabled else None)
# Wall time of every run as measured when it trained (a reused run keeps its own timing).
rec.metric(
    "training_seconds_total",
    sum(record.result.seconds for record in records.values()) + sweep["training_seconds"],
)
print(memo.summary())
fig = bias_sweep_intervals(sweep)
rec.figure(
    "bias_sweep",
    fig,
    f"Hard-test accuracy against the bias fraction of the training canvas on {sweep_backbone} "
    f"(oracle-style selection): mean over {sweep_seeds} seed(s) per point with its 95% interval; "
    f"methods: {', '.join(sweep['hard_test_acc'])}"
    + (
        f"; dashed: {', '.join(sweep['flat'])}, whose input has no colour, so the bias cannot "
        "change what it sees: trained on the comparison canvas only and drawn at every bias."
        if sweep["flat"]
        else "."
    ),
    width="75%",
)
plt.show()

# %% [markdown]
# ## Design decisions

# %%
rec.table(
    "design",
    ["choice", "value", "chosen on", "why"],
    design_rows(DECISIONS),
    caption="Every tuned choice of the study and the data it was chosen on; none is the hard test.",
)

# %% [markdown]
# ## Expected findings (declared before the runs, thresholds from the parameters)

# %%
if "erm" in names:
    rec.check(
        "erm_stays_the_cheater",
        *erm_stays_the_cheater(table, cheater_backbone, max_erm_hard_acc),
    )
rec.check(
    "best_method_reads_shape",
    *best_reads_shape(
        table, winners, best_backbone, "conflict_val", min_best_hard_acc, min_best_easy_val_acc
    ),
)
ceiling = oracle_is_the_ceiling(table, best_backbone, "conflict_val", oracle_tolerance)
if ceiling is not None:
    rec.check("oracle_is_the_ceiling", *ceiling)
# A statistic per backbone, not a check: how much shape ERM learned from the counter-examples.
rec.metric(
    "erm_vs_winner",
    {
        b: erm_against_winner(table, winners, b, "conflict_val", probe_images)
        for b in trained_backbones
    },
)
rec.metric("max_erm_hard_acc", max_erm_hard_acc)
rec.metric("seconds", time.perf_counter() - started)
best = table[best_backbone]["conflict_val"][winners[best_backbone]["conflict_val"]["winner"]]
print(
    rec.headline(
        f"best on {best_backbone}: {winners[best_backbone]['conflict_val']['winner']} "
        f"{best['hard_test_acc_mean']:.1%} hard"
        + (
            f"; ERM on {cheater_backbone} {table[cheater_backbone]['easy_val']['erm']['hard_test_acc_mean']:.1%} hard"
            if "erm" in names
            else ""
        )
    )
)
rec.save()
