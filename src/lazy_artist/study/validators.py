"""The study's per-task parameter checks, run before any work: a bad value fails the command,
not a notebook.

Every check names the parameter and the allowed range (built from
:mod:`lazy_artist.builder.param_checks`); sizes are bounded by the data they count (MNIST and
FashionMNIST: 60,000 training and 10,000 test images).
"""

from __future__ import annotations

from typing import Any

from lazy_artist.builder.param_checks import (
    at_least,
    choice,
    fraction,
    fractions,
    is_int,
    is_number,
    optional_size,
)

# The size of both gray data sets (MNIST, FashionMNIST); the canvas draws every split from them.
N_TRAIN_IMAGES, N_TEST_IMAGES = 60_000, 10_000


def _split_sizes(params: dict[str, Any]) -> None:
    """n_val + n_train come out of the 60,000 training images, n_test out of the 10,000."""
    at_least(
        params, "n_val", 1, N_TRAIN_IMAGES - 1, f" (the data has {N_TRAIN_IMAGES} training images)"
    )
    left = N_TRAIN_IMAGES - params["n_val"]
    optional_size(
        params,
        "n_train",
        1,
        left,
        f" ({N_TRAIN_IMAGES} training images minus n_val={params['n_val']})",
    )
    optional_size(
        params, "n_test", 1, N_TEST_IMAGES, f" (the data has {N_TEST_IMAGES} test images)"
    )


def _bg_range(value: Any) -> None:
    """Two numbers ``[low, high]`` with 0 <= low <= high <= 1 (a gray level range)."""
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 2
        or not all(is_number(bound) for bound in value)
        or not 0.0 <= value[0] <= value[1] <= 1.0
    ):
        raise ValueError(
            f"bg_range must be [low, high] with 0 <= low <= high <= 1 (a gray level range), "
            f"got {value!r}"
        )


def validate_canvas(params: dict[str, Any]) -> None:
    fraction("bias", params["bias"])
    _split_sizes(params)
    if "bg_range" in params:
        _bg_range(params["bg_range"])
    if "contrast_margin" in params:
        margin = params["contrast_margin"]
        if not is_number(margin) or not 0.0 < margin <= 1.0:
            raise ValueError(f"contrast_margin must be a number in (0, 1], got {margin!r}")
    if "contrast_max_share_below" in params:
        share = params["contrast_max_share_below"]
        if not is_number(share) or not 0.0 <= share < 1.0:
            raise ValueError(
                f"contrast_max_share_below must be a fraction in [0, 1), got {share!r}"
            )


def _registered_model(name: str, value: Any) -> None:
    from lazy_artist.models import known_models

    if value not in known_models():
        raise ValueError(f"unknown {name} {value!r}: choose from {', '.join(known_models())}")


def validate_classifier(params: dict[str, Any]) -> None:
    """T1: the model it analyses (a zoo name; T4 trains it) and its expected findings."""
    from lazy_artist.zoo import parse_model_name

    parse_model_name(params["model"])
    fractions(params, ("min_easy_val_acc", "max_hard_test_acc", "min_colour_following"))


def validate_intervention(params: dict[str, Any]) -> None:
    """T4: methods and their own hparams, the backbones and their recipes, the sweep, the
    expected findings' thresholds and the backbones they apply on."""
    from lazy_artist.methods.algorithms import ALGORITHMS
    from lazy_artist.methods.executor import check_executor
    from lazy_artist.methods.hparams import hparams_for
    from lazy_artist.methods.ranking import BEST, resolve_method_names
    from lazy_artist.methods.recipes import check_method_hparams, parse_backbones, resolve_recipes
    from lazy_artist.methods.tuning import TUNING_MODES

    names = resolve_method_names(params["methods"])
    if not isinstance(params["hparams"], dict):
        raise ValueError(
            'hparams must map method names to overrides, e.g. {"cf_invar": {"lambda_cf": 2.0}}'
        )
    check_method_hparams(params["hparams"])
    for method in names:
        hparams_for(method, params["hparams"].get(method))
    for method, overrides in params["hparams"].items():
        hparams_for(method, overrides)  # also rejects overrides for unknown methods
    backbones = parse_backbones(params["backbones"])
    resolve_recipes(backbones, params["recipes"])
    for name in ("sweep_backbone", "cheater_backbone", "best_backbone"):
        if params[name] not in backbones:
            raise ValueError(
                f"{name} must be one of the trained backbones ({', '.join(backbones)}), "
                f"got {params[name]!r}"
            )
    for name in ("n_seeds", "sweep_seeds", "n_draws"):
        at_least(params, name, 1)
    if params["tuned"] not in TUNING_MODES:
        raise ValueError(f"tuned must be one of {', '.join(TUNING_MODES)}, got {params['tuned']!r}")
    if params["tuned"] == "committed" and params["n_draws"] != 1:
        raise ValueError(
            "n_draws must be 1 with tuned='committed' (the draws ran in the tune build); "
            "set tuned='none' to draw in this build"
        )
    at_least(params, "tune_seed", 0)
    if params["seed"] <= params["tune_seed"] < params["seed"] + params["n_seeds"]:
        raise ValueError(
            f"tune_seed {params['tune_seed']} is one of the reported seeds "
            f"({params['seed']}..{params['seed'] + params['n_seeds'] - 1}): the draws must "
            "be chosen on a seed the tables do not report"
        )
    at_least(
        params, "probe_images", 1, N_TEST_IMAGES, f" (the hard test has {N_TEST_IMAGES} images)"
    )
    optional_size(
        params,
        "train_subset",
        1,
        N_TRAIN_IMAGES,
        f" (the data has {N_TRAIN_IMAGES} training images)",
    )
    fractions(
        params,
        (
            "min_converged_easy_val",
            "min_best_hard_acc",
            "min_best_easy_val_acc",
            "max_erm_hard_acc",
            "oracle_tolerance",
        ),
    )
    if not is_number(params["alpha"]) or not 0.0 < params["alpha"] < 1.0:
        raise ValueError(f"alpha must be a level in (0, 1), got {params['alpha']!r}")
    if not isinstance(params["bias_sweep"], list) or not params["bias_sweep"]:
        raise ValueError(
            f"bias_sweep must be a non-empty list of fractions, got {params['bias_sweep']!r}"
        )
    for bias in params["bias_sweep"]:
        fraction("each bias_sweep value", bias)
    for method in (part.strip() for part in params["sweep_methods"].split(",")):
        if method and method != BEST and method not in ALGORITHMS:
            raise ValueError(
                f"sweep_methods: unknown method {method!r}: choose from {', '.join(ALGORITHMS)} or {BEST!r}"
            )
    at_least(params, "jobs", 0, why=" (0 = one per core, 1 = serial)")
    check_executor(params["executor"])  # an unknown name, or Ray selected but not installed


def _class_index(name: str, value: Any) -> None:
    if not is_int(value) or not 0 <= value <= 9:
        raise ValueError(f"{name} must be a digit class 0..9, got {value!r}")


def _contains(grid_name: str, grid: list[float], name: str, value: float) -> None:
    if not any(abs(value - e) < 1e-12 for e in grid):
        raise ValueError(f"{name}={value!r} must be one of {grid_name} {grid}")


def validate_attacks(params: dict[str, Any]) -> None:
    """T5: the backbones, seeds and extra rows of the matched comparison, its level, attack
    budgets, epsilons, classes and sample sizes."""
    from lazy_artist.attacks.min_epsilon import check_grid
    from lazy_artist.attacks.pgd import OBJECTIVES, PGDConfig, validate_pgd
    from lazy_artist.zoo import parse_backbone_selection, parse_model_name, parse_model_names

    parse_backbone_selection(params["backbones"])  # "all", or known backbones (names choices)
    if params["n_seeds"] is not None:
        at_least(params, "n_seeds", 1, why=" (or null: every seed T4 trained)")
    if not isinstance(params["extra_models"], str):
        raise ValueError(
            f"extra_models must be comma-separated model names or '', got {params['extra_models']!r}"
        )
    for name in parse_model_names(params["extra_models"]):
        parse_model_name(name)
    choice("strength_models", params["strength_models"], ("showcase", "all"))
    if not is_number(params["alpha"]) or not 0.0 < params["alpha"] < 1.0:
        raise ValueError(f"alpha must be a level in (0, 1), got {params['alpha']!r}")
    at_least(params, "n_boot", 100)
    if params["attack_split"] not in ("easy_test", "hard_test"):
        raise ValueError(
            f"attack_split must be a test split, 'easy_test' or 'hard_test', got {params['attack_split']!r}"
        )
    _class_index("source_class", params["source_class"])
    _class_index("target_class", params["target_class"])
    if params["source_class"] == params["target_class"]:
        raise ValueError("target_class must differ from source_class")
    for name in ("steps", "restarts", "n_pictures"):
        at_least(params, name, 1)
    for name in ("n_samples", "n_untargeted", "n_strength_samples"):
        at_least(params, name, 1, N_TEST_IMAGES, f" (a test split has {N_TEST_IMAGES} images)")
    at_least(params, "threads", 0)  # 0: one per available core
    at_least(params, "jobs", 0, why=" (0 = one per core, 1 = serial)")
    at_least(params, "bisection_steps", 0)
    at_least(params, "strength_factor", 2)
    if params["untargeted_loss"] not in OBJECTIVES:
        raise ValueError(
            f"untargeted_loss: unknown loss {params['untargeted_loss']!r}: choose from "
            f"{', '.join(OBJECTIVES)}"
        )
    _attack_checklist(params, OBJECTIVES)
    if not isinstance(params["allow_unfair_sample"], bool):
        raise ValueError(
            f"allow_unfair_sample must be true or false, got {params['allow_unfair_sample']!r}"
        )
    config = PGDConfig(
        steps=params["steps"],
        restarts=params["restarts"],
        schedule=params["schedule"],
        target_confidence=params["target_confidence"],
    )
    validate_pgd(params["transfer_epsilon"], config, params["target_class"], num_classes=10)
    try:
        grid = check_grid(params["epsilons"]).tolist()
        untargeted = [float(e) for e in params["untargeted_epsilons"]]
        check_grid([e for e in untargeted if e != 0.0] or [1.0])
        if sorted(set(untargeted)) != untargeted or min(untargeted) < 0:
            raise ValueError(f"must be increasing and >= 0, got {untargeted}")
    except (TypeError, ValueError) as error:
        raise ValueError(f"epsilons / untargeted_epsilons: {error}") from None
    for name in ("report_epsilon", "visible_epsilon", "full_success_epsilon"):
        _contains("epsilons", grid, name, params[name])
    _contains(
        "untargeted_epsilons", untargeted, "zero_accuracy_epsilon", params["zero_accuracy_epsilon"]
    )
    if params["transfer_epsilon"] <= 0:
        raise ValueError(f"transfer_epsilon must be > 0, got {params['transfer_epsilon']!r}")
    fraction("strength_tolerance", params["strength_tolerance"])
    fraction("max_zero_gradient_share", params["max_zero_gradient_share"])


def _attack_checklist(params: dict[str, Any], objectives: Any) -> None:
    """T5's checklist parameters: losses, convergence budget, probes, gradient health."""
    losses = params["targeted_losses"]
    if (
        not isinstance(losses, list)
        or not losses
        or any(loss not in objectives for loss in losses)
        or len(set(losses)) != len(losses)
    ):
        raise ValueError(
            f"targeted_losses must be a non-empty list of distinct losses from "
            f"{', '.join(objectives)}, got {losses!r}"
        )
    at_least(params, "max_doublings", 0)
    at_least(params, "n_probe_samples", 0, N_TEST_IMAGES, " (0: no probes)")
    at_least(params, "restart_factor", 10, why=" (Carlini et al.: at least 10x the restarts)")
    at_least(params, "square_queries", 1)
    if not is_number(params["square_p_init"]) or not 0.0 < params["square_p_init"] <= 1.0:
        raise ValueError(f"square_p_init must be in (0, 1], got {params['square_p_init']!r}")
    if not is_number(params["zero_gradient_norm"]) or params["zero_gradient_norm"] < 0:
        raise ValueError(f"zero_gradient_norm must be >= 0, got {params['zero_gradient_norm']!r}")
    for name in ("loss_tolerance", "restart_tolerance"):
        fraction(name, params[name])


def validate_inductive_bias(params: dict[str, Any]) -> None:
    """T7: data set names, registered models, sizes, training budget, FGSM epsilons."""
    from lazy_artist.inductive.experiment import GRAY_DATASETS
    from lazy_artist.models import known_models

    names = [name.strip() for name in str(params["datasets"]).split(",") if name.strip()]
    if not names:
        raise ValueError("datasets: name at least one of " + ", ".join(GRAY_DATASETS))
    for name in names:
        if name not in GRAY_DATASETS:
            raise ValueError(
                f"datasets: unknown data set {name!r}: choose from {', '.join(GRAY_DATASETS)}"
            )
    for key in ("fc_model", "cnn_model"):
        if params[key] not in known_models():
            raise ValueError(
                f"{key}: unknown model {params[key]!r}: choose from {', '.join(known_models())}"
            )
    hidden = params["fc_hidden"]
    if not isinstance(hidden, list) or not hidden or not all(is_int(h) and h >= 1 for h in hidden):
        raise ValueError(
            f"fc_hidden must be a list of positive layer widths, e.g. [256, 128], got {hidden!r}"
        )
    for name in ("cnn_width", "epochs", "batch_size"):
        at_least(params, name, 1)
    at_least(params, "threads", 0)  # 0: one per available core
    at_least(params, "jobs", 0)  # 0: one fit per core
    _split_sizes(params)
    optional_size(
        params, "n_fgsm", 1, N_TEST_IMAGES, f" (the data has {N_TEST_IMAGES} test images)"
    )
    _number("lr", params["lr"], 0.0, inclusive=False)
    epsilons = params["fgsm_epsilons"]
    if (
        not isinstance(epsilons, list)
        or not epsilons
        or any(not is_number(e) or not 0.0 <= e <= 1.0 for e in epsilons)
        or sorted(set(epsilons)) != epsilons
    ):
        raise ValueError(
            f"fgsm_epsilons must be increasing values in [0, 1], e.g. [0.0, 0.05, 0.1], got {epsilons!r}"
        )
    _contains("fgsm_epsilons", epsilons, "compare_epsilon", params["compare_epsilon"])
    fraction("fc_scramble_tolerance", params["fc_scramble_tolerance"])
    fraction("min_cnn_scramble_drop", params["min_cnn_scramble_drop"])


def _number(name: str, value: Any, minimum: float, inclusive: bool = True) -> None:
    if not is_number(value) or value < minimum or (not inclusive and value == minimum):
        bound = ">=" if inclusive else ">"
        raise ValueError(f"{name} must be a number {bound} {minimum}, got {value!r}")


def validate_sae(params: dict[str, Any]) -> None:
    from lazy_artist.models import build_model, known_models
    from lazy_artist.sae.activations import ALL, FEATURES, LAST_CONV, Config, discover_sites
    from lazy_artist.zoo import parse_backbone_selection

    parse_backbone_selection(params["backbones"])  # "all" or known backbone names
    if params["n_seeds"] is not None:
        at_least(params, "n_seeds", 1, why=" (or null: every seed T4 trained)")
    at_least(params, "sweep_seeds", 1)
    if not is_number(params["alpha"]) or not 0.0 < params["alpha"] < 1.0:
        raise ValueError(f"alpha must be a level in (0, 1), got {params['alpha']!r}")
    at_least(params, "jobs", 0, why=" (0 = one per core, 1 = serial)")
    configs = params["configs"]
    if isinstance(configs, str) and configs != ALL:
        configs = [part for part in configs.split(",") if part.strip()]
    if configs != ALL:
        if not isinstance(configs, list) or not configs:
            raise ValueError(
                f'configs must be "all" or a non-empty list of "layer:aggregation", got {configs!r}'
            )
        # A layer must exist in some registered architecture (the cheater and the T4 backbone
        # differ in depth; each model is analysed at the layers it has).
        layers = {LAST_CONV, FEATURES}
        for name in known_models():
            try:
                layers.update(discover_sites(build_model(name)))
            except (TypeError, ValueError):  # needs constructor arguments: not a study backbone
                continue
        for text in configs:
            config = Config.parse(text)
            if config.layer not in layers:
                raise ValueError(
                    f"configs: no model has a layer {config.layer!r} (in {text!r}); "
                    f"layers: {', '.join(sorted(layers))}"
                )
    Config.parse(params["focus_config"])
    _number("expansion", params["expansion"], 1.0)
    _number("l1_coefficient", params["l1_coefficient"], 0.0)
    _number("lr", params["lr"], 0.0, inclusive=False)
    _number("amplify_factor", params["amplify_factor"], 0.0)
    for name in ("epochs", "batch_size", "positions_per_image", "n_ablate"):
        at_least(params, name, 1)
    for name in ("n_top_features", "n_top_images"):
        at_least(params, name, 1)
    at_least(params, "n_random_draws", 2)  # the spread over draws needs two
    if params["steps_per_epoch"] is not None:
        at_least(params, "steps_per_epoch", 1)
    optional_size(
        params,
        "n_train_images",
        2,
        N_TRAIN_IMAGES,
        f" (the data has {N_TRAIN_IMAGES} training images)",
    )
    optional_size(
        params, "n_hard_images", 1, N_TEST_IMAGES, f" (the hard test has {N_TEST_IMAGES} images)"
    )
    fraction("min_fve", params["min_fve"])


def _model_names(value: str | list[str], example: str) -> list[str]:
    """Comma-separated study model names (``<model>[@backbone][#seed][:rule]``), each checked
    by the zoo's own parser, at least one, no repeats."""
    from lazy_artist.zoo import parse_model_name, parse_model_names

    names = parse_model_names(value)
    if not names:
        raise ValueError(f"models: name at least one model, e.g. {example!r}")
    for name in names:
        try:
            parse_model_name(name)
        except ValueError as error:
            raise ValueError(f"models: {error}") from None
    if len(set(names)) != len(names):
        raise ValueError(f"models: {value!r} names a model twice")
    return names


def _independent_split(params: dict[str, Any]) -> None:
    if params["split"] not in ("hard_test", "conflict_val"):
        raise ValueError(
            f"split must be one where colour and digit vary independently, 'hard_test' or "
            f"'conflict_val', got {params['split']!r}"
        )


def validate_prober(params: dict[str, Any]) -> None:
    """T2: backbones and seeds of the matched pairs, split, activation-maximisation settings,
    objectives and display sizes."""
    from lazy_artist.interpret.activation_max import OBJECTIVES, ActMaxConfig
    from lazy_artist.zoo import parse_backbone_selection

    parse_backbone_selection(params["backbones"])  # "all" or known backbone names
    if params["n_seeds"] is not None:
        at_least(params, "n_seeds", 1, why=" (or null: every seed T4 trained)")
    _independent_split(params)
    # selectivity needs several images per class
    optional_size(
        params, "n_images", 20, N_TEST_IMAGES, f" (a split has at most {N_TEST_IMAGES} images)"
    )
    objectives = [part.strip() for part in str(params["objectives"]).split(",") if part.strip()]
    unknown = [name for name in objectives if name not in OBJECTIVES]
    if unknown or not objectives:
        raise ValueError(
            f"objectives: unknown objective(s) {', '.join(map(repr, unknown)) or '(none given)'}: "
            f"choose from {', '.join(OBJECTIVES)}"
        )
    for name in ("actmax_steps", "actmax_topk", "grid_channels", "n_exemplars"):
        at_least(params, name, 1)
    for name in ("actmax_jitter", "actmax_blur_every"):
        at_least(params, name, 0)
    _number("actmax_lr", params["actmax_lr"], 0.0, inclusive=False)
    _number("actmax_blur_sigma", params["actmax_blur_sigma"], 0.0, inclusive=False)
    for name in ("actmax_l2", "actmax_tv"):
        _number(name, params[name], 0.0)
    ActMaxConfig(
        steps=params["actmax_steps"],
        lr=params["actmax_lr"],
        l2=params["actmax_l2"],
        tv=params["actmax_tv"],
        jitter=params["actmax_jitter"],
        blur_every=params["actmax_blur_every"],
        blur_sigma=params["actmax_blur_sigma"],
        topk=params["actmax_topk"],
    )
    if not isinstance(params["actmax_all_channels"], bool):
        raise ValueError(
            f"actmax_all_channels must be true or false, got {params['actmax_all_channels']!r}"
        )
    for name in ("min_colour_dominated_share", "min_prototype_win_share"):
        fraction(name, params[name])


def validate_interrogation(params: dict[str, Any]) -> None:
    """T3: backbones and seeds of the matched pairs, split, image counts, digits for the grid,
    IG settings and the attack."""
    from lazy_artist.attacks.fgsm import check_epsilon
    from lazy_artist.interpret.integrated_gradients import BASELINES
    from lazy_artist.zoo import parse_backbone_selection

    parse_backbone_selection(params["backbones"])  # "all" or known backbone names
    if params["n_seeds"] is not None:
        at_least(params, "n_seeds", 1, why=" (or null: every seed T4 trained)")
    _independent_split(params)
    for name in ("n_images", "ig_images"):
        at_least(params, name, 1, N_TEST_IMAGES, f" (a split has at most {N_TEST_IMAGES} images)")
    at_least(params, "ig_steps", 1)
    digits = params["gradcam_digits"]
    if (
        not isinstance(digits, list)
        or not digits
        or any(not is_int(d) or not 0 <= d <= 9 for d in digits)
    ):
        raise ValueError(f"gradcam_digits must be a non-empty list of digits 0..9, got {digits!r}")
    if params["ig_baseline"] not in BASELINES:
        raise ValueError(
            f"ig_baseline: unknown baseline {params['ig_baseline']!r}: choose from "
            f"{', '.join(BASELINES)}"
        )
    for name in ("attack_source", "attack_target"):
        if not is_int(params[name]) or not 0 <= params[name] <= 9:
            raise ValueError(f"{name} must be a digit 0..9, got {params[name]!r}")
    if params["attack_source"] == params["attack_target"]:
        raise ValueError("attack_target must differ from attack_source")
    if params["ratio_target"] not in ("predicted", "true"):
        raise ValueError(
            f"ratio_target must be 'predicted' or 'true' (the class Grad-CAM explains), got "
            f"{params['ratio_target']!r}"
        )
    try:
        check_epsilon(params["attack_epsilon"])
    except (TypeError, ValueError) as error:
        raise ValueError(f"attack_epsilon: {error}") from None
    at_least(params, "attack_steps", 1)
    for name in ("max_completeness_gap", "max_stable_increase"):
        _number(name, params[name], 0.0)
