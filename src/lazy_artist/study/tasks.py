"""The Lazy Artist study as the builder's input: one task per step of STUDY.md (T0-T7), each
with its notebook, dependencies, typed parameters, per-profile values and validator.
"""

from __future__ import annotations

from lazy_artist.builder.tasks import Task, TaskGraph
from lazy_artist.methods.advice import precision_advice
from lazy_artist.study import ranges
from lazy_artist.study.hooks import t4_run_plan
from lazy_artist.study.validators import (
    validate_attacks,
    validate_canvas,
    validate_classifier,
    validate_inductive_bias,
    validate_interrogation,
    validate_intervention,
    validate_prober,
    validate_sae,
)

STUDY_TASKS = TaskGraph(
    [
        Task(
            name="t0",
            ranges=ranges.T0,
            title="T0: the biased canvas",
            notebook="analyses/t0_data.py",
            datasets=("mnist",),
            params={
                "bias": 0.95,
                "n_train": None,
                "n_val": 5000,
                "n_test": None,
                # Background gray level range, U(low, high): the seeds' U(0.3, 0.6) hid the
                # gray stroke (see lazy_artist.data.canvas.BG_RANGE for this choice).
                "bg_range": [0.05, 0.25],
                # Declared before the run: every stroke colour's contrast (largest per-channel
                # |mean stroke - background|, data/contrast.py) must clear this margin on all
                # but this share of its images, in every split.
                "contrast_margin": 0.15,
                "contrast_max_share_below": 0.01,
            },
            profiles={"quick": {"n_train": 6000, "n_val": 1000, "n_test": 2000}},
            section="sections/t0.md.j2",
            validate=validate_canvas,
        ),
        Task(
            name="t1",
            ranges=ranges.T1,
            title="T1: the cheater",
            notebook="analyses/t1_cheater.py",
            # The cheater is T4's ERM on cheater_cnn (one model, one recipe: t4.recipes); T1
            # analyses it and does not train a second one.
            depends=("t0", "t4"),
            params={
                "model": "cheater",  # a lazy_artist.zoo name: ERM on cheater_cnn, seed 0
                "min_easy_val_acc": 0.95,
                "max_hard_test_acc": 0.30,
                "min_colour_following": 0.5,
            },
            section="sections/t1.md.j2",
            validate=validate_classifier,
        ),
        Task(
            name="t4",
            ranges=ranges.T4,
            title="T4: the intervention",
            notebook="analyses/t4_intervention.py",
            depends=("t0",),
            datasets=("mnist",),  # the bias sweep rebuilds the canvas at other bias fractions
            params={
                "methods": "all",
                "hparams": {},  # per-method overrides of the method's own hparams only
                # The tuning protocol (methods/tuning.py): n_draws per method (draw 0 = the
                # defaults), each one run of the recipe on tune_seed, chosen on the backbone's
                # selection split. "committed": the values a `tune` build chose, read from
                # methods/tuned.py (no draws here); "none": this build's own draws choose.
                "n_draws": 1,
                "tuned": "committed",
                "tune_seed": 1000,
                # Every method is trained on each backbone with that backbone's one recipe
                # (lazy_artist.methods.recipes: epochs, lr, batch, precision, default rule);
                # on cheater_cnn, ERM with T1's recipe is the cheater.
                "backbones": "cheater_cnn,lenet_cnn",
                "recipes": {},  # per-backbone recipe overrides, e.g. {"lenet_cnn": {"epochs": 6}}
                "train_subset": None,
                "n_seeds": 3,
                "bias_sweep": [0.95, 0.98, 0.99, 0.995],
                "sweep_methods": "erm,gray_oracle,best",
                "sweep_backbone": "lenet_cnn",
                "sweep_seeds": 3,
                # Expected findings, declared before the runs. On the cheater backbone ERM
                # stays the cheater in absolute terms (T1's 30%); the best method's targets
                # apply on the backbone chosen so methods can reach shape (lenet_cnn).
                "cheater_backbone": "cheater_cnn",
                "max_erm_hard_acc": 0.30,
                "best_backbone": "lenet_cnn",
                "min_best_hard_acc": 0.97,
                "min_best_easy_val_acc": 0.97,
                "probe_images": 2000,
                "oracle_tolerance": 0.01,
                "min_converged_easy_val": 0.9,
                "alpha": 0.05,  # the winner vs runner-up paired test's level ("tied" above it)
                # How the runs are executed, not what they compute (the same numbers for any
                # value): runs at once (0 = one per core, 1 = serial) and the engine.
                "jobs": 0,
                "executor": "auto",  # "local", "ray" (pip install ray), "auto": ray if RAY_ADDRESS
            },
            # Quick: every method runs once, briefly, on both backbones (a smoke test of each,
            # not a result); logit consistency's warm-up would otherwise swallow the epoch.
            profiles={
                "quick": {
                    "n_seeds": 1,
                    "sweep_seeds": 1,
                    "train_subset": 2000,
                    "recipes": {
                        "cheater_cnn": {"epochs": 6, "batch_size": 64},
                        "lenet_cnn": {"epochs": 1, "width": 8},
                    },
                    "bias_sweep": [0.95, 0.99],
                    "probe_images": 500,
                    "hparams": {"logit_consistency": {"warmup_epochs": 0}},
                    "tuned": "none",  # the defaults: one draw, no tuning runs
                },
                # 8 draws x 10 tunable methods x 2 backbones on the full data (hours on 2
                # cores); then the chosen values once (seed 0) and a one-point bias sweep.
                "tune": {
                    "tuned": "none",
                    "n_draws": 8,
                    "n_seeds": 1,
                    "sweep_seeds": 1,
                    "bias_sweep": [0.95],
                },
            },
            section="sections/t4.md.j2",
            validate=validate_intervention,
            advise=precision_advice,
            run_plan=t4_run_plan,
            memo=True,  # its training runs are reused across re-runs (methods/memo.py)
            execution_params=("jobs", "executor"),
            # Its training grid is one cell: serial on 2 slow cores it may take hours.
            timeout_s={"full": 12 * 3600, "tune": 24 * 3600},
        ),
        Task(
            name="t2",
            ranges=ranges.T2,
            title="T2: the prober",
            notebook="analyses/t2_prober.py",
            depends=("t0", "t1", "t4"),
            params={
                # Per backbone T4 trained: ERM vs its best debiasing method, same recipe, seed
                # and rule (lazy_artist.zoo.matched_pairs); on cheater_cnn ERM is the cheater.
                # One seed: T2's findings are per model, and every channel is optimised.
                "backbones": "all",
                "n_seeds": 1,
                "split": "hard_test",
                "n_images": None,
                "objectives": "channel_max,channel_mean,topk_mean",
                "actmax_steps": 256,
                "actmax_lr": 0.05,
                "actmax_l2": 1e-3,
                "actmax_tv": 1e-2,
                "actmax_jitter": 2,
                "actmax_blur_every": 8,
                "actmax_blur_sigma": 0.6,
                "actmax_topk": 8,
                "grid_channels": 4,
                "actmax_all_channels": True,
                "n_exemplars": 5,
                "min_colour_dominated_share": 0.5,
                "min_prototype_win_share": 0.9,
            },
            # Quick: ~100 images, few optimisation steps, only the shown channels optimised.
            profiles={
                "quick": {
                    "n_images": 100,
                    "actmax_steps": 24,
                    "grid_channels": 2,
                    "actmax_all_channels": False,
                    "n_exemplars": 4,
                }
            },
            section="sections/t2.md.j2",
            validate=validate_prober,
        ),
        Task(
            name="t3",
            ranges=ranges.T3,
            title="T3: the interrogation",
            notebook="analyses/t3_interrogation.py",
            depends=("t0", "t1", "t4"),
            params={
                # Per backbone T4 trained ("all") or named: ERM vs its best debiasing method,
                # for every seed (None) or the first n_seeds; comparisons never cross backbones.
                "backbones": "all",
                "n_seeds": None,
                "split": "hard_test",
                "n_images": 1000,
                "gradcam_digits": [0, 1, 3, 7],
                "ig_steps": 128,
                "ig_images": 100,
                "ig_baseline": "zero",
                "attack_source": 7,
                "attack_target": 3,
                "attack_epsilon": 0.1,
                "attack_steps": 40,
                "ratio_target": "predicted",
                "max_completeness_gap": 0.01,
                "max_stable_increase": 0.1,
            },
            # Quick: ~100 pairs, a handful of IG images at fewer steps.
            profiles={"quick": {"n_images": 100, "ig_steps": 32, "ig_images": 8}},
            section="sections/t3.md.j2",
            validate=validate_interrogation,
        ),
        Task(
            name="t5",
            ranges=ranges.T5,
            title="T5: adversarial robustness",
            notebook="analyses/t5_attacks.py",
            depends=("t0", "t1", "t4"),
            params={
                # Matched pairs (lazy_artist.zoo.matched_pairs): per backbone and seed, ERM vs
                # the best debiasing method there, same recipe, seed and checkpoint rule.
                "backbones": "all",
                "n_seeds": None,  # every seed T4 trained (full: 3, quick: 1)
                # Cross-model reference rows, never compared: the shape-only ceiling.
                "extra_models": "gray_oracle@lenet_cnn",
                # Convergence (the strength re-run, raising the budget if it fails) on every
                # model ("all": a comparison is claimed only where all its models converged)
                # or on each backbone's first-seed pair and the extra rows ("showcase").
                "strength_models": "all",
                "alpha": 0.05,  # the matched comparison's level
                "n_boot": 2000,
                # The cheater reads few hard-test sevens correctly (it reads colour), so the fair
                # sample comes from the easy test set.
                "attack_split": "easy_test",
                "source_class": 7,
                "target_class": 3,
                "target_confidence": 0.9,
                "n_samples": 100,
                "allow_unfair_sample": False,
                "steps": 40,
                "restarts": 4,
                "schedule": "cosine",
                # Per sample the lowest minimum epsilon of these losses (the first sweeps
                # every budget and gives the success curve).
                "targeted_losses": ["ce", "margin"],
                "untargeted_loss": "margin",
                "epsilons": [
                    0.01,
                    0.02,
                    0.03,
                    0.05,
                    0.075,
                    0.1,
                    0.15,
                    0.2,
                    0.3,
                    0.4,
                    0.6,
                    1.0,
                ],
                "bisection_steps": 6,
                "report_epsilon": 0.05,
                "visible_epsilon": 0.4,
                "full_success_epsilon": 1.0,
                "n_untargeted": 100,
                "untargeted_epsilons": [0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5],
                "zero_accuracy_epsilon": 0.5,
                "transfer_epsilon": 0.1,
                "strength_factor": 2,
                "n_strength_samples": 25,
                "strength_tolerance": 0.05,
                "max_doublings": 1,  # budget raises when the strength check fails
                "loss_tolerance": 0.05,
                # Probes at report_epsilon on a subsample: many restarts, Square Attack.
                "n_probe_samples": 25,
                "restart_factor": 10,
                "restart_tolerance": 0.04,  # declared before the run: 1 of 25 samples
                "square_queries": 1000,
                "square_p_init": 0.8,
                # Gradient health along the attack path: share of ~zero-norm steps.
                "zero_gradient_norm": 1e-8,
                "max_zero_gradient_share": 0.01,
                "n_pictures": 3,
                "threads": 0,  # outside the batteries: one per available core
                "jobs": 0,  # models attacked at once, one thread each (0: one per core)
            },
            # Quick: T4's one-epoch models may not read sevens at all, so the sample may be
            # topped up (the "fair sample" check then fails, visibly); few budgets and steps.
            profiles={
                "quick": {
                    "n_samples": 10,
                    "allow_unfair_sample": True,
                    "steps": 10,
                    "restarts": 2,
                    "epsilons": [0.02, 0.05, 0.1, 0.4, 1.0],
                    "bisection_steps": 3,
                    "n_untargeted": 32,
                    "untargeted_epsilons": [0.0, 0.05, 0.1, 0.2, 0.5],
                    # Convergence checked once (no raised budget), small probes: the quick
                    # profile shows the checklist, it does not have to converge.
                    "max_doublings": 0,
                    "n_strength_samples": 2,
                    "n_probe_samples": 2,
                    "square_queries": 100,
                }
            },
            section="sections/t5.md.j2",
            validate=validate_attacks,
            execution_params=("jobs",),
        ),
        Task(
            name="t7",
            ranges=ranges.T7,
            title="T7: inductive bias across architectures",
            notebook="analyses/t7_inductive_bias.py",
            datasets=("mnist", "fashion_mnist"),
            params={
                "datasets": "mnist,fashion_mnist",
                "fc_model": "mlp",
                "fc_hidden": [256, 128],
                "cnn_model": "lenet_cnn",
                "cnn_width": 16,
                "n_train": None,
                "n_val": 5000,
                "n_test": None,
                "epochs": 3,
                "batch_size": 128,
                "lr": 1e-3,
                "fgsm_epsilons": [0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3],
                "n_fgsm": 2000,
                "compare_epsilon": 0.1,
                "fc_scramble_tolerance": 0.01,
                "min_cnn_scramble_drop": 0.005,
                "threads": 0,  # outside the fits: one per available core
                "jobs": 0,  # fits at once, one thread each (0: one per core); same numbers
            },
            # Quick: a few thousand images, one epoch: the whole path, not the finding.
            profiles={
                "quick": {
                    "n_train": 3000,
                    "n_val": 1000,
                    "n_test": 1000,
                    "epochs": 1,
                    "batch_size": 64,
                    "lr": 3e-3,
                    "n_fgsm": 500,
                    "fgsm_epsilons": [0.0, 0.05, 0.1, 0.2],
                }
            },
            section="sections/t7.md.j2",
            validate=validate_inductive_bias,
            execution_params=("jobs",),
        ),
        Task(
            name="t6",
            ranges=ranges.T6,
            title="T6: sparse autoencoders",
            notebook="analyses/t6_sae.py",
            depends=("t0", "t1", "t4"),
            params={
                # "all" (every conv layer x spatial_mean / per_position, and features:vector)
                # or comma-separated "layer:aggregation"; last_conv = each model's deepest conv.
                # Per backbone T4 trained and per seed: ERM vs the best debiasing method of that
                # backbone (zoo.matched_pairs); n_seeds None = every seed T4 trained.
                "backbones": "all",
                "n_seeds": None,
                # The first k seeds of each backbone get every configuration, the others the
                # focus configuration only (what the comparison over seeds reads): the cost.
                "sweep_seeds": 1,
                "alpha": 0.05,
                "configs": "all",
                "focus_config": "last_conv:spatial_mean",
                "expansion": 4.0,
                "l1_coefficient": 1.0,
                "epochs": 10,
                "steps_per_epoch": 300,
                "batch_size": 256,
                "lr": 1e-3,
                "n_train_images": None,
                "positions_per_image": 8,
                "n_hard_images": None,
                "n_ablate": 10,
                "n_random_draws": 10,
                "amplify_factor": 4.0,
                "n_top_features": 4,
                "n_top_images": 8,
                "min_fve": 0.90,
                "jobs": 0,  # models analysed at once, one thread each (0: one per core)
            },
            # Quick: three configurations (one per aggregation) on a few thousand activations.
            profiles={
                "quick": {
                    "configs": "conv2:per_position,last_conv:spatial_mean,features:vector",
                    "epochs": 5,
                    "steps_per_epoch": 200,
                    "batch_size": 128,
                    "n_train_images": 3000,
                    "positions_per_image": 4,
                    "n_hard_images": 500,
                    "n_ablate": 5,
                    "n_random_draws": 3,
                }
            },
            section="sections/t6.md.j2",
            validate=validate_sae,
            execution_params=("jobs",),
        ),
    ]
)
