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
# # T5: adversarial robustness
#
# A targeted L-infinity attack makes a 7 read as a 3 with P(3) >= the target confidence. For
# every compared model: PGD with random starts, restarts, a step schedule and early stop; the
# minimum epsilon per sample by a coarse sweep then bisection; FGSM for comparison; an
# untargeted sweep; transfer between models. Sanity checks show the attack was strong enough
# for its numbers to mean something.

# %% tags=["parameters"]
output_dir = "build/scratch/t5"  # the builder injects the task's staging directory
upstream = {}  # task name -> directory of that task's completed outputs (t0, t1, t4)
profile = "quick"
seed = 0
device = "auto"
data_root = "data"
models = "cheater,erm,best,gray_oracle"  # "cheater" (T1), T4 method names, "best" (T4's winner)
attack_split = "easy_test"  # canvas split the samples come from (a test split)
source_class = 7
target_class = 3
target_confidence = 0.9  # success needs at least this probability of the target class
n_samples = 100  # the fair sample: sevens every compared model classifies correctly
allow_unfair_sample = False  # smoke tests only: top up with sevens fewer models get right
steps = 40  # PGD steps per restart
restarts = 4
schedule = "cosine"  # step-size schedule: constant, cosine or halving
targeted_loss = "ce"  # "ce": log P(target); "margin": logit margin
untargeted_loss = "margin"  # the margin never saturates on confident predictions
epsilons = [0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 1.0]
bisection_steps = 6
report_epsilon = 0.05  # the "invisible" budget of the study
visible_epsilon = 0.4  # a budget where the change is plain to see
full_success_epsilon = 1.0  # any image is reachable: targeted success must be total
n_untargeted = 100  # fair sample of all digits for the untargeted sweep
untargeted_epsilons = [0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5]
zero_accuracy_epsilon = 0.5  # untargeted PGD accuracy must be 0 here
transfer_epsilon = 0.1
strength_factor = 2  # the check re-runs the search with this many x steps and x restarts
n_strength_samples = 25  # ... on the first this many samples of the fair sample
strength_tolerance = 0.05  # ... and allows the median minimum epsilon to drop this much
max_zero_gradient_share = 0.0
n_pictures = 3
threads = 0  # torch CPU threads; 0: one per available core (set 1 on a shared, busy machine)

# %%
import time
from dataclasses import asdict
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from lazy_artist.attacks import sanity
from lazy_artist.attacks.examples import (
    ARTEFACT_NAME,
    AdversarialExamples,
    ModelExamples,
    save_adversarial_examples,
)
from lazy_artist.attacks.min_epsilon import min_epsilon, pgd_attack
from lazy_artist.attacks.pgd import PGDConfig, pgd
from lazy_artist.attacks.plots import (
    min_epsilon_distribution,
    perturbation_pictures,
    targeted_success_curves,
    transfer_heatmaps,
    untargeted_accuracy_curves,
    visible_attack,
)
from lazy_artist.attacks.sample import fair_sample
from lazy_artist.attacks.sweep import fgsm_sweep, pgd_sweep
from lazy_artist.attacks.transfer import AdversarialSet, transfer_matrix
from lazy_artist.data.canvas import load_canvas
from lazy_artist.results import Recorder, artefact
from lazy_artist.runtime import resolve_device, seed_everything
from lazy_artist.training import configure_threads, predict
from lazy_artist.zoo import CHEATER, load_study_model, parse_model_names

seed_everything(seed)
if threads:
    torch.set_num_threads(threads)
else:
    configure_threads()
torch_device = resolve_device(device)
rec = Recorder(output_dir, task="t5")
started = time.perf_counter()
goal = f"{source_class} read as {target_class} with P({target_class}) >= {target_confidence:g}"

# %% [markdown]
# ## The models and the fair sample

# %%
canvas = load_canvas(artefact(Path(upstream["t0"]), "canvas.npz"))
split = canvas[attack_split]
study, resolved = {}, {}
for requested in parse_model_names(models):
    loaded = load_study_model(upstream, requested, torch_device)
    resolved[requested] = loaded.name
    if loaded.name in study:  # e.g. "best" resolving to a model already listed
        print(f"{requested!r} is {loaded.name!r}, already compared")
        continue
    study[loaded.name] = loaded
names = list(study)
# The debiased model shown beside the cheater: T4's winner when compared, else the first other.
robust = resolved.get("best") or next((n for n in names if n != CHEATER), names[0])
rec.metric("models", names)
rec.metric("input_kinds", {name: m.input_kind for name, m in study.items()})
rec.metric("robust_model", robust)
print({name: m.input_kind for name, m in study.items()}, "robust:", robust)

predictions = {
    name: predict(m.network, m.inputs(split), device=torch_device)[0] for name, m in study.items()
}
sevens = fair_sample(predictions, split.labels, n_samples, source_class, allow_unfair_sample)
anything = fair_sample(predictions, split.labels, n_untargeted, None, allow_unfair_sample)
rec.metric("attack_split", attack_split)
rec.metric("n_samples", len(sevens.indices))
rec.metric("fair_sevens_available", sevens.n_fair_available)
rec.metric("sevens_in_split", sevens.n_candidates)
rec.metric("sevens_correct_per_model", sevens.correct_per_model)
rec.metric("n_untargeted", len(anything.indices))
rec.metric("fair_sample", bool(sevens.fair and anything.fair))
print(sevens.describe())


def median(values):
    # The middle order statistic (lower of the two for even N): unbroken samples are inf, and
    # an average of inf and a number, or inf - inf, is not a budget.
    return float(np.quantile(values, 0.5, method="inverted_cdf"))


def inputs_of(name, indices):
    return torch.as_tensor(study[name].inputs(split)[indices]).float().to(torch_device)


labels_t = torch.as_tensor(split.labels[sevens.indices]).to(torch_device)
labels_u = torch.as_tensor(split.labels[anything.indices]).to(torch_device)

# %% [markdown]
# ## Attacks per model

# %%
config = PGDConfig(
    steps=steps,
    restarts=restarts,
    random_start=True,
    schedule=schedule,
    loss=targeted_loss,
    target_confidence=target_confidence,
)
untargeted_config = PGDConfig(
    steps=steps, restarts=restarts, schedule=schedule, loss=untargeted_loss
)
grid = list(epsilons)


def grid_position(value):
    # The validator checked that the value is on the grid; compare as numbers, not bit patterns.
    return int(np.argmin(np.abs(np.asarray(grid) - value)))


k_report = grid_position(report_epsilon)
results = {}
for offset, (name, model) in enumerate(study.items()):
    began = time.perf_counter()
    net, x, xu = model.network, inputs_of(name, sevens.indices), inputs_of(name, anything.indices)
    search = min_epsilon(
        pgd_attack(net, config, target_class, seed + 100 * offset),
        x,
        labels_t,
        grid,
        bisection_steps,
    )
    # The strength check: the same search, stronger attack, on the first samples only (cost).
    subset = slice(0, min(n_strength_samples, len(x)))
    strong = min_epsilon(
        pgd_attack(net, config.stronger(strength_factor), target_class, seed + 100 * offset + 1),
        x[subset],
        labels_t[subset],
        grid,
        bisection_steps,
        sweep_all=False,
    )
    fgsm_targeted = fgsm_sweep(net, x, labels_t, grid, target_class, target_confidence)
    fgsm_untargeted = fgsm_sweep(net, xu, labels_u, untargeted_epsilons)
    pgd_untargeted = pgd_sweep(
        net, xu, labels_u, untargeted_epsilons, untargeted_config, seed=seed + 100 * offset + 2
    )
    zero_targeted = sanity.zero_gradient_share(
        net, x, torch.full_like(labels_t, target_class), True, targeted_loss
    )
    zero_untargeted = sanity.zero_gradient_share(net, xu, labels_u, False, untargeted_loss)
    results[name] = dict(
        search=search,
        strong=strong,
        fgsm_targeted=fgsm_targeted,
        fgsm_untargeted=fgsm_untargeted,
        pgd_untargeted=pgd_untargeted,
        zero_targeted=zero_targeted,
        zero_untargeted=zero_untargeted,
        seconds=time.perf_counter() - began,
    )
    print(
        f"{name}: success@{report_epsilon:g} {search.grid_success[:, k_report].mean():.0%}, "
        f"median min eps {median(search.epsilon):.4f}, on the first {len(strong.epsilon)}: "
        f"{median(search.epsilon[subset]):.4f} vs x{strength_factor} "
        f"{median(strong.epsilon):.4f}; {search.gradient_steps + strong.gradient_steps} "
        f"gradient steps, {results[name]['seconds']:.1f}s"
    )


# %%
def finite_or_none(value):
    return float(value) if np.isfinite(value) else None


def quantile(values, q):
    # An order statistic, not an interpolation: unbroken samples are inf, and inf - inf is NaN.
    return finite_or_none(np.quantile(values, q, method="inverted_cdf"))


summary = {}
for name, r in results.items():
    found = r["search"].epsilon
    finite = found[np.isfinite(found)]
    summary[name] = {
        f"success_rate_at_{report_epsilon:g}": float(r["search"].grid_success[:, k_report].mean()),
        "median_min_eps": quantile(found, 0.5),
        "mean_min_eps": float(finite.mean()) if len(finite) else None,
        "std_min_eps": float(finite.std()) if len(finite) else None,
        "q25_min_eps": quantile(found, 0.25),
        "q75_min_eps": quantile(found, 0.75),
        "n_unbroken": int((~np.isfinite(found)).sum()),
        f"mean_best_p_target_at_{report_epsilon:g}": float(
            np.nanmean(r["search"].grid_score[:, k_report])
        ),
        f"success_rate_at_{visible_epsilon:g}": float(
            r["search"].grid_success[:, grid_position(visible_epsilon)].mean()
        ),
        "median_min_eps_strength_subset": finite_or_none(
            median(r["search"].epsilon[: len(r["strong"].epsilon)])
        ),
        "median_min_eps_stronger": finite_or_none(median(r["strong"].epsilon)),
        "success_curve": r["search"].success_curve(),
        "fgsm_success_curve": r["fgsm_targeted"].success,
        "fgsm_untargeted_accuracy": r["fgsm_untargeted"].accuracy,
        "pgd_untargeted_accuracy": r["pgd_untargeted"].accuracy,
        "zero_gradient_share": max(r["zero_targeted"], r["zero_untargeted"]),
        "gradient_steps": r["search"].gradient_steps + r["strong"].gradient_steps,
        "seconds": r["seconds"],
        "input_kind": study[name].input_kind,
    }
reference = summary.get(CHEATER, {}).get("median_min_eps")
for row in summary.values():
    own = row["median_min_eps"]
    row["ratio_to_cheater"] = own / reference if own and reference else None
rec.metric("attack", summary)
rec.metric("epsilons", grid)
rec.metric("untargeted_epsilons", list(untargeted_epsilons))
rec.metric("report_epsilon", report_epsilon)
rec.metric("visible_epsilon", visible_epsilon)
rec.metric("attack_config", {**asdict(config), "bisection_steps": bisection_steps})


# %%
def eps_text(value):
    return "n/a" if value is None else f"{value:.4f}"


rows = []
for name, row in summary.items():
    rows.append(
        [
            name,
            row["input_kind"],
            row[f"success_rate_at_{report_epsilon:g}"],
            f"{eps_text(row['median_min_eps'])} [{eps_text(row['q25_min_eps'])}, "
            f"{eps_text(row['q75_min_eps'])}]",
            f"{eps_text(row['mean_min_eps'])} ± {eps_text(row['std_min_eps'])}",
            "n/a" if row["ratio_to_cheater"] is None else f"{row['ratio_to_cheater']:.2f}",
            row[f"mean_best_p_target_at_{report_epsilon:g}"],
            row["n_unbroken"],
        ]
    )
rec.table(
    "attack",
    [
        "model",
        "input",
        f"success at eps {report_epsilon:g}",
        "median min eps [IQR]",
        "mean ± std min eps",
        "median vs cheater",
        f"mean best P({target_class}) at {report_epsilon:g}",
        "unbroken",
    ],
    rows,
    caption=(
        f"Targeted attack ({goal}) on the same {len(sevens.indices)} sevens of {attack_split} for "
        f"every model. PGD: {steps} steps x {restarts} restarts, {schedule} step schedule, random "
        f"start, early stop at the target confidence; minimum epsilon by a sweep over "
        f"{len(grid)} budgets then {bisection_steps} bisection rounds (mean ± std over broken "
        f"samples; 'unbroken': no budget up to {grid[-1]:g} succeeded). Gray-input models are "
        f"attacked in their own (grayscale) input space."
    ),
    formats={
        f"success at eps {report_epsilon:g}": ".1%",
        f"mean best P({target_class}) at {report_epsilon:g}": ".3f",
    },
)

# %% [markdown]
# ## Success against epsilon

# %%
fig = targeted_success_curves(
    grid,
    {name: r["search"].success_curve() for name, r in results.items()},
    {name: r["fgsm_targeted"].success for name, r in results.items()},
    {name: r["search"].epsilon for name, r in results.items()},
    report_epsilon,
    f"P({target_class}) >= {target_confidence:g}",
)
rec.figure(
    "success_curves",
    fig,
    f"Left: share of the {len(sevens.indices)} sevens with {goal}, attacking at each budget "
    f"independently with PGD (solid) and FGSM (dashed). Right: share whose minimum epsilon "
    f"(search) is at most epsilon. Dotted line: epsilon = {report_epsilon:g}.",
)
plt.show()

# %%
fig = min_epsilon_distribution(
    {name: r["search"].epsilon for name, r in results.items()}, report_epsilon
)
rec.figure(
    "min_eps_distribution",
    fig,
    f"Minimum epsilon of every sample per model (box: quartiles and median; log scale); dotted "
    f"line: epsilon = {report_epsilon:g}.",
    width="80%",
)
plt.show()

# %%
fig = untargeted_accuracy_curves(
    list(untargeted_epsilons),
    {name: r["fgsm_untargeted"].accuracy for name, r in results.items()},
    {name: r["pgd_untargeted"].accuracy for name, r in results.items()},
)
rec.figure(
    "untargeted",
    fig,
    f"Untargeted attacks on {len(anything.indices)} images of all digits that every model "
    f"classifies correctly ({attack_split}): accuracy under FGSM (left) and PGD "
    f"({steps} steps x {restarts} restarts, {untargeted_loss} loss; right) against epsilon.",
)
plt.show()

# %% [markdown]
# ## Transfer between models

# %%
transfer_sets = {}
for offset, (name, model) in enumerate(study.items()):
    x = inputs_of(name, sevens.indices)
    made = pgd(
        model.network,
        x,
        labels_t,
        transfer_epsilon,
        config,
        target=target_class,
        generator=torch.Generator().manual_seed(seed + 100 * offset + 3),
    )
    transfer_sets[name] = AdversarialSet(model.input_kind, x, made.adversarial)
transfer = transfer_matrix(
    transfer_sets,
    {name: (m.network, m.input_kind) for name, m in study.items()},
    labels_t,
    target_class,
    target_confidence,
)
rec.metric(
    "transfer",
    {
        "epsilon": transfer_epsilon,
        "names": transfer.names,
        "success": transfer.success,
        "accuracy": transfer.accuracy,
        "target_probability": transfer.target_probability,
    },
)
off_diagonal = transfer.success[~np.eye(len(names), dtype=bool)]
rec.metric("transfer_mean_off_diagonal", float(off_diagonal.mean()) if len(off_diagonal) else None)
fig = transfer_heatmaps(transfer.names, transfer.success, transfer.accuracy, goal)
rec.figure(
    "transfer",
    fig,
    f"Transfer at epsilon = {transfer_epsilon:g}: PGD examples made on the row model, scored on "
    f"the column model (the diagonal is the white-box attack). Left: share with {goal}; right: "
    f"share still read as {source_class}. Colour perturbations reach the gray-input model as "
    f"their channel mean, gray ones reach colour models on every channel.",
)
plt.show()

# %% [markdown]
# ## What the perturbations look like

# %%
shown = np.arange(min(n_pictures, len(sevens.indices)))
pair = [CHEATER, robust] if CHEATER in study and robust != CHEATER else names[:2]
panels = []
for name in pair:
    search = results[name]["search"]
    panels.append(
        (
            name,
            inputs_of(name, sevens.indices[shown]).cpu().numpy(),
            search.adversarial[shown].cpu().numpy(),
            search.epsilon[shown],
            search.score[shown],
        )
    )
fig = perturbation_pictures(panels, len(shown), str(target_class))
rec.figure(
    "perturbations",
    fig,
    f"The first {len(shown)} sevens of the sample at each model's own minimum epsilon: "
    f"original, perturbation (amplified to full contrast; gray = unchanged) and adversarial, "
    f"for {' and '.join(pair)}.",
)
plt.show()

# %%
visible_rows = []
for offset, (name, model) in enumerate(study.items()):
    x = inputs_of(name, sevens.indices[shown])
    made = pgd(
        model.network,
        x,
        labels_t[shown],
        visible_epsilon,
        config,
        target=target_class,
        generator=torch.Generator().manual_seed(seed + 100 * offset + 4),
    )
    visible_rows.append(
        (name, x.cpu().numpy(), made.adversarial.cpu().numpy(), made.score.cpu().numpy())
    )
fig = visible_attack(visible_rows, str(target_class))
visible_rates = ", ".join(
    f"{name} {row[f'success_rate_at_{visible_epsilon:g}']:.0%}" for name, row in summary.items()
)
rec.figure(
    "visible",
    fig,
    f"A visible attack, epsilon = {visible_epsilon:g}: originals and adversarials of the first "
    f"{len(shown)} sevens per model, with P({target_class}). Over the whole sample the attack "
    f"reaches the goal for {visible_rates}.",
)
plt.show()

# %%
examples = AdversarialExamples(
    split=attack_split,
    sample_index=sevens.indices,
    labels=split.labels[sevens.indices],
    source_class=source_class,
    target_class=target_class,
    target_confidence=target_confidence,
    models={
        name: ModelExamples(
            study[name].input_kind,
            inputs_of(name, sevens.indices).cpu().numpy(),
            r["search"].adversarial.cpu().numpy().astype(np.float32),
            r["search"].epsilon,
            np.isfinite(r["search"].epsilon),
            r["search"].score,
        )
        for name, r in results.items()
    },
    meta={"epsilon": "per-sample minimum", "attack": rec.metrics_["attack_config"]},
)
save_adversarial_examples(examples, rec.artefact_path(ARTEFACT_NAME))

# %% [markdown]
# ## Sanity checks: was the attack strong enough?

# %%
rec.check(
    "fair sample",
    sevens.fair and anything.fair,
    f"targeted: {sevens.describe()}; untargeted: {anything.describe()}; "
    f"asked for {n_samples} and {n_untargeted}",
)
for name, r in results.items():
    search = r["search"]
    checks = {
        "success never falls as epsilon grows": sanity.combine(
            sanity.never_falls(grid, search.success_curve(), "targeted PGD success"),
            sanity.never_rises(
                untargeted_epsilons, r["pgd_untargeted"].accuracy, "untargeted PGD accuracy"
            ),
        ),
        "PGD at least as strong as FGSM": sanity.combine(
            sanity.at_least_as_strong(
                grid, search.success_curve(), r["fgsm_targeted"].success, True, "targeted success"
            ),
            sanity.at_least_as_strong(
                untargeted_epsilons,
                r["pgd_untargeted"].accuracy,
                r["fgsm_untargeted"].accuracy,
                False,
                "untargeted accuracy",
            ),
        ),
        "large epsilon breaks everything": sanity.combine(
            sanity.reaches(
                grid, search.success_curve(), full_success_epsilon, 1.0, "targeted success"
            ),
            sanity.reaches(
                untargeted_epsilons,
                r["pgd_untargeted"].accuracy,
                zero_accuracy_epsilon,
                0.0,
                "untargeted PGD accuracy",
                higher_is_better=False,
            ),
        ),
        f"{strength_factor}x steps and restarts agree": sanity.stronger_attack_agrees(
            float(median(search.epsilon[: len(r["strong"].epsilon)])),
            float(median(r["strong"].epsilon)),
            strength_tolerance,
            strength_factor,
            len(r["strong"].epsilon),
        ),
        "no zero gradients": sanity.combine(
            sanity.no_zero_gradients(r["zero_targeted"], max_zero_gradient_share, "targeted loss"),
            sanity.no_zero_gradients(
                r["zero_untargeted"], max_zero_gradient_share, "untargeted loss"
            ),
        ),
    }
    for title, check in checks.items():
        rec.check(f"{title} [{name}]", check.passed, check.detail)

# %%
# Which model is harder to attack, by the median minimum epsilon (larger = harder).
medians = {name: row["median_min_eps"] for name, row in summary.items()}
if CHEATER in medians and robust in medians and robust != CHEATER:
    a, b = medians[robust], medians[CHEATER]
    if a is not None and b is not None and a > 0 and b > 0:
        harder, easier = (robust, CHEATER) if a >= b else (CHEATER, robust)
        rec.metric(
            "comparison",
            {"harder": harder, "easier": easier, "ratio": max(a, b) / min(a, b)},
        )
ranked = sorted((name for name in medians if medians[name] is not None), key=lambda n: -medians[n])
rec.metric("ranking_by_median_min_eps", ranked)
n_checks = len(rec.checks_)
n_passed = sum(check["passed"] for check in rec.checks_.values())
rec.metric("sanity_passed", n_passed)
rec.metric("sanity_total", n_checks)
rec.metric("seconds", time.perf_counter() - started)
comparison = rec.metrics_.get("comparison")
rec.headline(
    f"{source_class}->{target_class} at eps {report_epsilon:g}: "
    + ", ".join(
        f"{name} {row[f'success_rate_at_{report_epsilon:g}']:.0%}" for name, row in summary.items()
    )
    + (
        f"; {comparison['harder']} {comparison['ratio']:.2f}x harder to attack than "
        f"{comparison['easier']}"
        if comparison
        else ""
    )
    + f"; checks {n_passed}/{n_checks}"
)
rec.save()
print(rec.headline_)
