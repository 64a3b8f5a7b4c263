"""The range of every study parameter, one dict per task (the task declarations in
:mod:`lazy_artist.study.tasks` read them).

Sizes are bounded by the data they count: MNIST and FashionMNIST have 60,000 training and
10,000 test images. A :func:`described` range is checked by the task's validator
(:mod:`lazy_artist.study.validators`): registry names, or values tied to other parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from lazy_artist.attacks.pgd import OBJECTIVES, SCHEDULES
from lazy_artist.builder.param_ranges import (
    Range,
    choices,
    described,
    flag,
    fraction,
    integer,
    integers,
    level,
    number,
    numbers,
    one_of,
)
from lazy_artist.interpret.integrated_gradients import BASELINES
from lazy_artist.methods.executor import EXECUTORS
from lazy_artist.methods.tuning import TUNING_MODES

N_TRAIN_IMAGES, N_TEST_IMAGES = 60_000, 10_000

_JOBS = integer(0, why="0: one per core, 1: one after another")
_THREADS = integer(0, why="0: one per available core")
_SEEDS_OF_T4 = integer(1, none="every seed T4 trained")
_T4_BACKBONES = described('"all" or comma-separated backbone names T4 trained')
_DIGIT = integer(0, 9)
_TEST_COUNT = integer(1, N_TEST_IMAGES)
_POSITIVE = number(0.0, open_lo=True)
_NON_NEGATIVE = number(0.0)
_INDEPENDENT_SPLIT = one_of("hard_test", "conflict_val")  # colour and digit independent


def _frozen(ranges: dict[str, Range]) -> Mapping[str, Range]:
    return MappingProxyType(ranges)


T0 = _frozen(
    {
        "bias": fraction(),
        "n_train": integer(
            1,
            N_TRAIN_IMAGES - 1,
            none="every training image not held out",
            why="and <= 60000 - n_val",
        ),
        "n_val": integer(1, N_TRAIN_IMAGES - 1),
        "n_test": integer(1, N_TEST_IMAGES, none="every test image"),
        "bg_range": numbers(0.0, 1.0, length=2),  # low <= high: the validator
        "contrast_margin": fraction(open_lo=True),
        "contrast_max_share_below": fraction(open_hi=True),
    }
)

T1 = _frozen(
    {
        "model": described('a study model name (lazy_artist.zoo), e.g. "cheater"'),
        "min_easy_val_acc": fraction(),
        "max_hard_test_acc": fraction(),
        "min_colour_following": fraction(),
    }
)

T4 = _frozen(
    {
        "methods": described('"all" or comma-separated method names (methods.algorithms)'),
        "hparams": described("method name -> overrides of that method's registered hparams"),
        "n_draws": integer(1),
        "tuned": one_of(*TUNING_MODES),
        "tune_seed": integer(0, why="not one of the reported seeds"),
        "backbones": described("comma-separated backbone names (methods.recipes)"),
        "recipes": described("backbone name -> overrides of its recipe's fields"),
        "train_subset": integer(1, N_TRAIN_IMAGES, none="all of T0's training images"),
        "n_seeds": integer(1),
        "bias_sweep": numbers(0.0, 1.0),
        "sweep_methods": described('comma-separated method names or "best"'),
        "sweep_backbone": described("one of backbones"),
        "sweep_seeds": integer(1, why="the interval needs >= 2"),
        "cheater_backbone": described("one of backbones"),
        "max_erm_hard_acc": fraction(),
        "best_backbone": described("one of backbones"),
        "min_best_hard_acc": fraction(),
        "min_best_easy_val_acc": fraction(),
        "probe_images": _TEST_COUNT,
        "oracle_tolerance": fraction(),
        "min_converged_easy_val": fraction(),
        "alpha": level(),
        "jobs": _JOBS,
        "executor": one_of(*EXECUTORS),
    }
)

T2 = _frozen(
    {
        "backbones": _T4_BACKBONES,
        "n_seeds": _SEEDS_OF_T4,
        "split": _INDEPENDENT_SPLIT,
        # selectivity needs several images per class
        "n_images": integer(20, N_TEST_IMAGES, none="the whole split"),
        "objectives": described("comma-separated objectives (interpret.activation_max)"),
        "actmax_steps": integer(1),
        "actmax_lr": _POSITIVE,
        "actmax_l2": _NON_NEGATIVE,
        "actmax_tv": _NON_NEGATIVE,
        "actmax_jitter": integer(0),
        "actmax_blur_every": integer(0, why="0: never"),
        "actmax_blur_sigma": _POSITIVE,
        "actmax_topk": integer(1),
        "grid_channels": integer(1),
        "actmax_all_channels": flag(),
        "n_exemplars": integer(1),
        "min_colour_dominated_share": fraction(),
        "min_prototype_win_share": fraction(),
    }
)

T3 = _frozen(
    {
        "backbones": _T4_BACKBONES,
        "n_seeds": _SEEDS_OF_T4,
        "split": _INDEPENDENT_SPLIT,
        "n_images": _TEST_COUNT,
        "gradcam_digits": integers(0, 9),
        "ig_steps": integer(1),
        "ig_images": _TEST_COUNT,
        "ig_baseline": one_of(*BASELINES),
        "attack_source": _DIGIT,
        "attack_target": integer(0, 9, why="not attack_source"),
        "attack_epsilon": number(0.0, 1.0),
        "attack_steps": integer(1),
        "ratio_target": one_of("predicted", "true"),
        "max_completeness_gap": _NON_NEGATIVE,
        "max_stable_increase": _NON_NEGATIVE,
    }
)

T5 = _frozen(
    {
        "backbones": _T4_BACKBONES,
        "n_seeds": _SEEDS_OF_T4,
        "extra_models": described('comma-separated study model names (lazy_artist.zoo), or ""'),
        "strength_models": one_of("showcase", "all"),
        "alpha": level(),
        "n_boot": integer(100),
        "attack_split": one_of("easy_test", "hard_test"),
        "source_class": _DIGIT,
        "target_class": integer(0, 9, why="not source_class"),
        "target_confidence": fraction(open_lo=True, open_hi=True),
        "n_samples": _TEST_COUNT,
        "allow_unfair_sample": flag(),
        "steps": integer(1),
        "restarts": integer(1),
        "schedule": one_of(*SCHEDULES),
        "targeted_losses": choices(*OBJECTIVES),
        "untargeted_loss": one_of(*OBJECTIVES),
        "epsilons": numbers(0.0, 1.0, open_lo=True, increasing=True),
        "bisection_steps": integer(0),
        "report_epsilon": described("one of epsilons"),
        "visible_epsilon": described("one of epsilons"),
        "full_success_epsilon": described("one of epsilons"),
        "n_untargeted": _TEST_COUNT,
        "untargeted_epsilons": numbers(0.0, 1.0, increasing=True),
        "zero_accuracy_epsilon": described("one of untargeted_epsilons"),
        "transfer_epsilon": number(0.0, 1.0, open_lo=True),
        "strength_factor": integer(2),
        "n_strength_samples": _TEST_COUNT,
        "strength_tolerance": fraction(),
        "max_doublings": integer(0),
        "loss_tolerance": fraction(),
        "n_probe_samples": integer(0, N_TEST_IMAGES, why="0: no probes"),
        "restart_factor": integer(10, why="Carlini et al.: at least 10x the restarts"),
        "restart_tolerance": fraction(),
        "square_queries": integer(1),
        "square_p_init": fraction(open_lo=True),
        "zero_gradient_norm": _NON_NEGATIVE,
        "max_zero_gradient_share": fraction(),
        "n_pictures": integer(1),
        "threads": _THREADS,
        "jobs": _JOBS,
    }
)

T6 = _frozen(
    {
        "backbones": _T4_BACKBONES,
        "n_seeds": _SEEDS_OF_T4,
        "sweep_seeds": integer(1),
        "alpha": level(),
        "configs": described('"all" or comma-separated "layer:aggregation" of existing layers'),
        "focus_config": described('one "layer:aggregation"'),
        "expansion": number(1.0),
        "l1_coefficient": _NON_NEGATIVE,
        "epochs": integer(1),
        "steps_per_epoch": integer(1, none="one pass over the vectors"),
        "batch_size": integer(1),
        "lr": _POSITIVE,
        "n_train_images": integer(2, N_TRAIN_IMAGES, none="every training image"),
        "positions_per_image": integer(1),
        "n_hard_images": integer(1, N_TEST_IMAGES, none="the whole hard test set"),
        "n_ablate": integer(1),
        "n_random_draws": integer(2, why="the spread over draws needs two"),
        "amplify_factor": _NON_NEGATIVE,
        "n_top_features": integer(1),
        "n_top_images": integer(1),
        "min_fve": fraction(),
        "jobs": _JOBS,
    }
)

T7 = _frozen(
    {
        "datasets": described("comma-separated gray data sets (inductive.experiment)"),
        "fc_model": described("a registered model name (lazy_artist.models)"),
        "fc_hidden": integers(1),
        "cnn_model": described("a registered model name (lazy_artist.models)"),
        "cnn_width": integer(1),
        "n_train": integer(
            1,
            N_TRAIN_IMAGES - 1,
            none="every training image not held out",
            why="and <= 60000 - n_val",
        ),
        "n_val": integer(1, N_TRAIN_IMAGES - 1),
        "n_test": integer(1, N_TEST_IMAGES, none="every test image"),
        "epochs": integer(1),
        "batch_size": integer(1),
        "lr": _POSITIVE,
        "fgsm_epsilons": numbers(0.0, 1.0, increasing=True),
        "n_fgsm": integer(1, N_TEST_IMAGES, none="all of the test subset"),
        "compare_epsilon": described("one of fgsm_epsilons"),
        "fc_scramble_tolerance": fraction(),
        "min_cnn_scramble_drop": fraction(),
        "threads": _THREADS,
        "jobs": _JOBS,
    }
)
