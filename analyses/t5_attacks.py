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
# A targeted L-infinity attack makes a 7 read as a 3 with P(3) >= the target confidence. The
# comparison is matched: per backbone and seed, ERM against the best debiasing method of that
# backbone (same recipe, seed and checkpoint rule; `lazy_artist.zoo.matched_pairs`), every
# model attacked on the same fair sample, the per-image minimum epsilons compared paired and
# pooled over seeds (`lazy_artist.attacks.compare`). The per-model battery (minimum-epsilon
# search, FGSM, untargeted PGD, zero-gradient shares; the strength check on the showcase
# models) is `lazy_artist.attacks.battery`. Sanity checks show the attack was strong enough
# for its numbers to mean something.

# %% tags=["parameters"]
output_dir = "build/scratch/t5"  # the builder injects the task's staging directory
upstream = {}  # task name -> directory of that task's completed outputs (t0, t1, t4)
profile = "quick"
seed = 0
device = "auto"
data_root = "data"
backbones = "all"  # backbones T4 trained to compare on ("all" or comma-separated)
n_seeds = None  # matched pairs per backbone: None means every seed T4 trained
extra_models = "gray_oracle@lenet_cnn"  # cross-model reference rows ("" for none)
strength_models = "all"  # convergence on "all" models or the "showcase" ones (first seeds)
alpha = 0.05  # level of the matched comparison's check
n_boot = 2000  # bootstrap replicates of the median-ratio interval
attack_split = "easy_test"  # canvas split the samples come from (a test split)
source_class = 7  # digit attacked ...
target_class = 3  # ... to be read as this one
target_confidence = 0.9  # success needs at least this probability of the target class
n_samples = 100  # the fair sample: sevens every compared model classifies correctly
allow_unfair_sample = False  # smoke tests only: top up with sevens fewer models get right
steps = 40  # PGD steps per restart
restarts = 4  # PGD random restarts per budget
schedule = "cosine"  # step-size schedule: constant, cosine or halving
targeted_losses = ["ce", "margin"]  # per sample the lowest minimum epsilon of these losses
untargeted_loss = "margin"  # the margin never saturates on confident predictions
# the coarse sweep's L-infinity budgets (the success curve)
epsilons = [0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 1.0]
bisection_steps = 6  # bisection rounds after the sweep, per sample
report_epsilon = 0.05  # the "invisible" budget of the study
visible_epsilon = 0.4  # a budget where the change is plain to see
full_success_epsilon = 1.0  # any image is reachable: targeted success must be total
n_untargeted = 100  # fair sample of all digits for the untargeted sweep
# budgets of the untargeted accuracy-vs-epsilon sweeps
untargeted_epsilons = [0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5]
zero_accuracy_epsilon = 0.5  # untargeted PGD accuracy must be 0 here
transfer_epsilon = 0.1  # budget of the examples in the transfer matrix
strength_factor = 2  # the check attacks below each minimum with this many x steps, x restarts
n_strength_samples = 25  # ... on the first this many samples of the fair sample
strength_tolerance = 0.05  # ... and allows the median minimum epsilon to drop this much
max_doublings = 1  # ... else the budget is raised (strength_factor x) at most this many times
loss_tolerance = 0.05  # the second loss may lower the median minimum epsilon this much
n_probe_samples = 25  # many-restarts and Square Attack probes at report_epsilon on this many
restart_factor = 10  # the many-restarts probe: restart_factor x restarts
restart_tolerance = 0.04  # ... success at report_epsilon may rise this much (declared before)
square_queries = 1000  # Square Attack queries per sample
square_p_init = 0.8  # Square Attack's initial window share (the paper's MNIST value)
zero_gradient_norm = 1e-8  # a PGD step's input gradient is ~zero at or below this L1 norm
max_zero_gradient_share = 0.01  # of the attack path's steps allowed ~zero
n_pictures = 3  # samples shown in the perturbation pictures
threads = 0  # torch CPU threads outside the batteries; 0: one per available core
jobs = 0  # models attacked at once, one thread each (0: one per core); the same numbers

# %%
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from lazy_artist.attacks.battery import BatteryPlan, SanityThresholds, sanity_checks
from lazy_artist.attacks.checklist import all_converged, checklist_rows, white_box_beats_transfer
from lazy_artist.attacks.compare import CENSOR_FACTOR, CI_LEVEL, compare_pairs
from lazy_artist.attacks.examples import (
    ARTEFACT_NAME,
    AdversarialExamples,
    ModelExamples,
    save_adversarial_examples,
)
from lazy_artist.attacks.pgd import PGDConfig, pgd
from lazy_artist.attacks.plots import (
    backbone_success_curves,
    backbone_untargeted_curves,
    min_epsilon_distribution,
    paired_min_epsilon,
    perturbation_pictures,
    transfer_heatmaps,
    visible_attack,
)
from lazy_artist.attacks.runner import BatteryJob, run_batteries
from lazy_artist.attacks.sample import fair_sample
from lazy_artist.attacks.square import SquareConfig
from lazy_artist.attacks.study import CROSS_MODEL, load_compared_models
from lazy_artist.attacks.tables import (
    attack_table,
    checklist,
    comparison_table,
    group_records,
    groups,
    model_summaries,
    pooled_curves,
)
from lazy_artist.attacks.transfer import AdversarialSet, transfer_matrix
from lazy_artist.data.canvas import load_canvas
from lazy_artist.inference import predict
from lazy_artist.results import Recorder, artefact
from lazy_artist.runtime import configure_threads, resolve_device, seed_everything
from lazy_artist.zoo import CHEATER_BACKBONE, matched_pairs

seed_everything(seed)
configure_threads(threads)
torch_device = resolve_device(device)
rec = Recorder(output_dir, task="t5")
started = time.perf_counter()
goal = f"{source_class} read as {target_class} with P({target_class}) >= {target_confidence:g}"

# %% [markdown]
# ## The models and the fair sample

# %%
pairs = matched_pairs(upstream, backbones, n_seeds)
compared = load_compared_models(upstream, pairs, extra_models, torch_device)
study, names = compared.models, compared.names
grouped = groups(compared)
showcase = compared.showcase()
rec.metric("models", names)
model_records = rec.metric("model_records", compared.records())
rec.metric("pairs", [pair.record() for pair in pairs])
rec.metric("input_kinds", {name: m.input_kind for name, m in study.items()})
rec.metric("backbones", list(dict.fromkeys(pair.backbone for pair in pairs)))
rec.metric("cross_model", [name for name in names if compared.roles[name] == CROSS_MODEL])
rec.metric("showcase", showcase)
rec.metric("strength_models", strength_models)
print(
    *(f"{r['name']}: {r['role']}, {r['backbone']} seed {r['seed']}" for r in model_records),
    sep="\n",
)

canvas = load_canvas(artefact(Path(upstream["t0"]), "canvas.npz"))
split = canvas[attack_split]
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
rec.metric("fair_untargeted_available", anything.n_fair_available)
rec.metric("fair_sample", bool(sevens.fair and anything.fair))
print(sevens.describe())

targeted_inputs = {
    name: torch.as_tensor(m.inputs(split)[sevens.indices]).float().to(torch_device)
    for name, m in study.items()
}
untargeted_inputs = {
    name: torch.as_tensor(m.inputs(split)[anything.indices]).float().to(torch_device)
    for name, m in study.items()
}
labels_t = torch.as_tensor(split.labels[sevens.indices]).to(torch_device)
labels_u = torch.as_tensor(split.labels[anything.indices]).to(torch_device)

# %% [markdown]
# ## The battery per model

# %%
config = PGDConfig(
    steps=steps,
    restarts=restarts,
    random_start=True,
    schedule=schedule,
    loss=targeted_losses[0],
    target_confidence=target_confidence,
)
plan = BatteryPlan(
    targeted=config,
    untargeted=PGDConfig(steps=steps, restarts=restarts, schedule=schedule, loss=untargeted_loss),
    target_class=target_class,
    grid=tuple(epsilons),
    untargeted_epsilons=tuple(untargeted_epsilons),
    bisection_steps=bisection_steps,
    strength_factor=strength_factor,
    n_strength_samples=n_strength_samples,
    report_epsilon=report_epsilon,
    visible_epsilon=visible_epsilon,
    extra_losses=tuple(targeted_losses[1:]),
    strength_tolerance=strength_tolerance,
    max_doublings=max_doublings,
    n_probe_samples=n_probe_samples,
    restart_factor=restart_factor,
    square=SquareConfig(queries=square_queries, p_init=square_p_init),
    zero_gradient_norm=zero_gradient_norm,
)
thresholds = SanityThresholds(
    full_success_epsilon=full_success_epsilon,
    zero_accuracy_epsilon=zero_accuracy_epsilon,
    strength_tolerance=strength_tolerance,
    max_zero_gradient_share=max_zero_gradient_share,
    loss_tolerance=loss_tolerance,
    restart_tolerance=restart_tolerance,
)
grid = list(epsilons)
k_report = plan.position(report_epsilon)
jobs_of_models = [
    BatteryJob(
        name,
        study[name].network,
        targeted_inputs[name],
        labels_t,
        untargeted_inputs[name],
        labels_u,
        seed=seed + 100 * offset,
        strength=strength_models == "all" or name in showcase,
    )
    for offset, name in enumerate(names)
]
results = run_batteries(jobs_of_models, plan, jobs=jobs, device=torch_device)
for name, r in results.items():
    print(
        f"{name}: success@{report_epsilon:g} {r.search.grid_success[:, k_report].mean():.0%}, "
        f"median min eps {np.quantile(r.min_epsilon, 0.5, method='inverted_cdf'):.4f}, "
        f"converged {r.converged}, losses {r.losses.wins}, {r.seconds:.1f}s"
    )
rec.metric("battery_seconds", {name: r.seconds for name, r in results.items()})
converged = {name: r.converged for name, r in results.items()}
rec.metric("converged", converged)
rec.metric("ci_level", CI_LEVEL)

# %%
summary = model_summaries(compared, results, plan)
rec.metric("attack", summary)
rec.metric("epsilons", grid)
rec.metric("untargeted_epsilons", list(untargeted_epsilons))
rec.metric("report_epsilon", report_epsilon)
rec.metric("visible_epsilon", visible_epsilon)
attack_config = rec.metric("attack_config", plan.record())
columns, rows, formats = attack_table(summary, plan)
rec.table(
    "attack",
    columns,
    rows,
    caption=(
        f"Targeted attack ({goal}) on the same {len(sevens.indices)} sevens of {attack_split} for "
        f"every model, one row per model and seed. PGD: {steps} steps x {restarts} restarts, "
        f"{schedule} step schedule, random start, early stop at the target confidence; minimum "
        f"epsilon by a sweep over {len(grid)} budgets then {bisection_steps} bisection rounds, "
        f"per sample the lower of the {' and '.join(targeted_losses)} losses "
        f"(mean ± std over broken samples; 'unbroken': no budget up to {grid[-1]:g} succeeded). "
        f"'converged': the budget at which {strength_factor}x steps and restarts agreed, 'NO' "
        f"if none of {max_doublings + 1} did, 'unchecked' where the check did not run. "
        f"'median vs matched ERM': a candidate's median over its same-backbone, same-seed ERM's. "
        f"Rows marked '{CROSS_MODEL}' are another model altogether (no matched ERM): shown for "
        f"scale, never compared. Gray-input models are attacked in their own (grayscale) input "
        f"space."
    ),
    formats=formats,
)

# %% [markdown]
# ## The matched comparison

# %%
censor_at = CENSOR_FACTOR * grid[-1]
comparisons = compare_pairs(
    pairs,
    {name: r.min_epsilon for name, r in results.items()},
    compared.labels,
    censor_at=censor_at,
    alpha=alpha,
    n_boot=n_boot,
    seed=seed,
)
headline_backbone = CHEATER_BACKBONE if CHEATER_BACKBONE in comparisons else next(iter(comparisons))
rec.metric("comparisons", {backbone: c.record() for backbone, c in comparisons.items()})
rec.metric("headline_backbone", headline_backbone)
rec.metric("censor_at", censor_at)
for backbone, c in comparisons.items():
    rec.check(f"comparison_significant [{backbone}]", c.significant, c.detail())
    print(c.detail())
comparison_converged = {
    backbone: all_converged(c.reference_models + c.candidate_models, converged)
    for backbone, c in comparisons.items()
}
rec.metric("comparison_converged", comparison_converged)
for backbone, held in comparison_converged.items():
    rec.check(
        f"attack converged on every compared model [{backbone}]",
        held,
        ", ".join(
            f"{name}: {converged[name]}"
            for name in comparisons[backbone].reference_models
            + comparisons[backbone].candidate_models
        ),
    )
columns, rows = comparison_table(comparisons)
rec.table(
    "comparison",
    columns,
    rows,
    caption=(
        f"Matched comparison per backbone: the best debiasing method there (chosen by T4 on "
        f"conflict validation, oracle-style selection) against ERM on the same backbone, recipe, "
        f"seed and checkpoint rule, on the same {len(sevens.indices)} sevens; seeds pooled. "
        f"Ratio: pooled median minimum epsilon, candidate / reference (> 1: the candidate is "
        f"harder to attack), with a {CI_LEVEL:.0%} percentile bootstrap over images ({n_boot} "
        f"replicates, "
        f"the same images drawn on every seed); p: two-sided Wilcoxon signed-rank test on "
        f"per-image log minimum epsilon averaged over seeds. Unbroken samples enter at "
        f"epsilon {censor_at:g}. A backbone's winner is named only when the interval excludes 1 "
        f"and p < {alpha:g}."
    ),
)

# %%
panels = {
    backbone: (
        [results[name].min_epsilon for name in c.reference_models],
        [results[name].min_epsilon for name in c.candidate_models],
        c.seeds,
        f"{c.candidate_method} vs {c.reference_method}: ratio {c.ratio:.2f} "
        f"[{c.ratio_ci95[0]:.2f}, {c.ratio_ci95[1]:.2f}], p = {c.test.p_value:.2g}",
    )
    for backbone, c in comparisons.items()
}
fig = paired_min_epsilon(panels, censor_at, report_epsilon)
rec.figure(
    "matched_comparison",
    fig,
    f"Every image's minimum epsilon on ERM (x) and on the best debiasing method of the same "
    f"backbone and seed (y), one colour per seed; above the diagonal the debiased model is "
    f"harder to attack. Dashed lines: unbroken samples, placed at epsilon {censor_at:g}; "
    f"dotted: epsilon = {report_epsilon:g}.",
)
plt.show()

# %% [markdown]
# ## Success against epsilon

# %%
pooled = pooled_curves(results, grouped)
rec.metric("groups", group_records(pooled, grouped, plan))
backbone_groups = {
    backbone: [
        f"{c.reference_method}@{backbone}",
        f"{c.candidate_method}@{backbone}",
    ]
    for backbone, c in comparisons.items()
}
extra_groups = [group for group in grouped if group.endswith("(cross-model)")]
fig = backbone_success_curves(
    grid,
    pooled,
    backbone_groups,
    extra_groups,
    report_epsilon,
    f"P({target_class}) >= {target_confidence:g}",
)
rec.figure(
    "success_curves",
    fig,
    f"One column per backbone, its ERM and best debiasing method (the cross-model reference "
    f"rows dotted gray in every column). Top: share of the {len(sevens.indices)} sevens with "
    f"{goal}, attacking at each budget independently with PGD (solid) and FGSM (dashed), mean "
    f"over seeds. Bottom: share of samples, pooled over seeds, whose minimum epsilon (search) "
    f"is at most epsilon. Dotted vertical line: epsilon = {report_epsilon:g}.",
)
plt.show()

# %%
fig = min_epsilon_distribution(
    {group: curves["min_epsilon"] for group, curves in pooled.items()}, report_epsilon
)
rec.figure(
    "min_eps_distribution",
    fig,
    f"Minimum epsilon of every sample per method and backbone, pooled over seeds (box: "
    f"quartiles and median; log scale); dotted line: epsilon = {report_epsilon:g}.",
)
plt.show()

# %%
fig = backbone_untargeted_curves(list(untargeted_epsilons), pooled, backbone_groups, extra_groups)
rec.figure(
    "untargeted",
    fig,
    f"Untargeted attacks on {len(anything.indices)} images of all digits that every model "
    f"classifies correctly ({attack_split}), one row per backbone: accuracy under FGSM (left, "
    f"mean over seeds) and PGD ({steps} steps x {restarts} restarts, {untargeted_loss} loss; "
    f"right, mean over seeds) against epsilon.",
)
plt.show()

# %% [markdown]
# ## Transfer between the showcase models

# %%
transfer_sets = {}
for offset, name in enumerate(showcase):
    made = pgd(
        study[name].network,
        targeted_inputs[name],
        labels_t,
        transfer_epsilon,
        config,
        target=target_class,
        generator=torch.Generator().manual_seed(seed + 100 * offset + 3),
    )
    transfer_sets[name] = AdversarialSet(
        study[name].input_kind, targeted_inputs[name], made.adversarial
    )
transfer = transfer_matrix(
    transfer_sets,
    {name: (study[name].network, study[name].input_kind) for name in showcase},
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
transfer_checks = white_box_beats_transfer(transfer.names, transfer.success)
off_diagonal = transfer.success[~np.eye(len(transfer.names), dtype=bool)]
rec.metric("transfer_mean_off_diagonal", float(off_diagonal.mean()) if len(off_diagonal) else None)
fig = transfer_heatmaps(transfer.names, transfer.success, transfer.accuracy, goal)
rec.figure(
    "transfer",
    fig,
    f"Transfer at epsilon = {transfer_epsilon:g} between the first-seed models of each backbone "
    f"and the cross-model reference rows: PGD examples made on the row model, scored on the "
    f"column model (the diagonal is the white-box attack). Left: share with {goal}; right: "
    f"share still read as {source_class}. Colour perturbations reach a gray-input model as "
    f"their channel mean, gray ones reach colour models on every channel.",
)
plt.show()

# %% [markdown]
# ## What the perturbations look like

# %%
shown = np.arange(min(n_pictures, len(sevens.indices)))
pictured = [name for pair in compared.first_pairs() for name in pair]
panels = [
    (
        name,
        targeted_inputs[name][shown].cpu().numpy(),
        results[name].search.adversarial[shown].cpu().numpy(),
        results[name].search.epsilon[shown],
        results[name].search.score[shown],
    )
    for name in pictured
]
fig = perturbation_pictures(panels, len(shown), str(target_class))
rec.figure(
    "perturbations",
    fig,
    f"The first {len(shown)} sevens of the sample at each model's own minimum epsilon: "
    f"original, perturbation (amplified to full contrast; gray = unchanged) and adversarial, "
    f"for each backbone's first-seed pair: {', '.join(pictured)}.",
)
plt.show()

# %%
visible_rows = []
for offset, name in enumerate(showcase):
    made = pgd(
        study[name].network,
        targeted_inputs[name][shown],
        labels_t[shown],
        visible_epsilon,
        config,
        target=target_class,
        generator=torch.Generator().manual_seed(seed + 100 * offset + 4),
    )
    visible_rows.append(
        (
            name,
            targeted_inputs[name][shown].cpu().numpy(),
            made.adversarial.cpu().numpy(),
            made.score.cpu().numpy(),
        )
    )
fig = visible_attack(visible_rows, str(target_class))
visible_rates = ", ".join(
    f"{name} {summary[name][f'success_rate_at_{visible_epsilon:g}']:.0%}" for name in showcase
)
rec.figure(
    "visible",
    fig,
    f"A visible attack, epsilon = {visible_epsilon:g}: originals and adversarials of the first "
    f"{len(shown)} sevens per first-seed model and cross-model reference row, with "
    f"P({target_class}). Over the whole sample the attack reaches the goal for {visible_rates}.",
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
            targeted_inputs[name].cpu().numpy(),
            r.search.adversarial.cpu().numpy().astype(np.float32),
            r.search.epsilon,
            np.isfinite(r.search.epsilon),
            r.search.score,
        )
        for name, r in results.items()
    },
    meta={"epsilon": "per-sample minimum", "attack": attack_config},
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
sanity_list = {
    **checklist(results, plan, thresholds),
    **{f"white box beats transfer [{name}]": check for name, check in transfer_checks.items()},
}
for title, check in sanity_list.items():
    rec.check(title, check.passed, check.detail)
sanity_passed = rec.metric("sanity_passed", sum(check.passed for check in sanity_list.values()))
sanity_total = rec.metric("sanity_total", len(sanity_list))
rec.metric("sanity_failed", [title for title, check in sanity_list.items() if not check.passed])
rec.metric(
    "sanity_failed_by_model",
    {
        name: [
            title for title, check in sanity_checks(r, plan, thresholds).items() if not check.passed
        ]
        + (
            ["white box beats transfer"]
            if name in transfer_checks and not transfer_checks[name].passed
            else []
        )
        for name, r in results.items()
    },
)

# %%
columns, rows = checklist_rows(sanity_list)
rec.table(
    "robustness_checklist",
    columns,
    rows,
    caption=(
        f"The robustness-evaluation checklist (Carlini et al. 2019), one row per item over the "
        f"models it ran on: how many hold it, the figure of the first model that fails it (else "
        f"of the first model), the threshold declared before the run. Probes at epsilon "
        f"{report_epsilon:g} on the first {n_probe_samples} sevens: {restart_factor}x restarts "
        f"and Square Attack ({square_queries} queries)."
    ),
)
rec.metric("probes", {name: summary[name]["probes"] for name in names if summary[name]["probes"]})

# %%
rec.metric("seconds", time.perf_counter() - started)
lead = comparisons[headline_backbone]
lead_claim = (
    f"on {headline_backbone} the attack did not converge on every compared model, so no "
    f"robustness comparison is claimed"
    if not comparison_converged[headline_backbone]
    else f"on {headline_backbone} {lead.harder} is {lead.factor:.2f}x "
    f"[{lead.factor_ci95[0]:.2f}, {lead.factor_ci95[1]:.2f}] harder to attack than {lead.easier} "
    f"(median min eps, p = {lead.test.p_value:.2g})"
    if lead.significant
    else f"on {headline_backbone} {lead.candidate_method} and {lead.reference_method} not "
    f"measurably different (ratio {lead.ratio:.2f} [{lead.ratio_ci95[0]:.2f}, "
    f"{lead.ratio_ci95[1]:.2f}], p = {lead.test.p_value:.2g})"
)
converged_showcase = [name for name in showcase if converged[name]]
rec.headline(
    f"{source_class}->{target_class}: {lead_claim}; success at eps {report_epsilon:g} "
    f"(converged models only): "
    + (
        ", ".join(
            f"{name} {summary[name][f'success_rate_at_{report_epsilon:g}']:.0%}"
            for name in converged_showcase
        )
        or "none converged"
    )
    + f"; sanity {sanity_passed}/{sanity_total}"
)
rec.save()
print(rec.headline_text)
