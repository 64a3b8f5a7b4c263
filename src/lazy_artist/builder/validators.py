"""Per-task parameter checks run before any work: a bad value fails the command, not a notebook."""

from __future__ import annotations

from typing import Any


def _at_least(params: dict[str, Any], name: str, minimum: int) -> None:
    if not isinstance(params[name], int) or params[name] < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {params[name]!r}")


def _fraction(name: str, value: Any) -> None:
    if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a fraction in [0, 1], got {value!r}")


def validate_canvas(params: dict[str, Any]) -> None:
    _fraction("bias", params["bias"])
    for name in ("n_train", "n_test"):
        if params[name] is not None:
            _at_least(params, name, 1)
    _at_least(params, "n_val", 1)


def _registered_model(name: str, value: Any) -> None:
    from lazy_artist.models import known_models

    if value not in known_models():
        raise ValueError(f"unknown {name} {value!r}: choose from {', '.join(known_models())}")


def validate_classifier(params: dict[str, Any]) -> None:
    _registered_model("model", params["model"])
    for name in ("epochs", "batch_size", "width"):
        _at_least(params, name, 1)
    if params["lr"] <= 0:
        raise ValueError(f"lr must be > 0, got {params['lr']!r}")


def validate_intervention(params: dict[str, Any]) -> None:
    from lazy_artist.methods.algorithms import ALGORITHMS
    from lazy_artist.methods.comparison import BEST, resolve_method_names
    from lazy_artist.methods.hparams import hparams_for

    names = resolve_method_names(params["methods"])
    if not isinstance(params["hparams"], dict):
        raise ValueError(
            'hparams must map method names to overrides, e.g. {"cf_invar": {"lambda_cf": 2.0}}'
        )
    for method in names:
        hparams_for(method, params["hparams"].get(method))
    for method, overrides in params["hparams"].items():
        hparams_for(method, overrides)  # also rejects overrides for unknown methods
    for name in ("epochs", "n_seeds", "sweep_seeds", "backbone_width", "probe_images"):
        _at_least(params, name, 1)
    _registered_model("backbone", params["backbone"])
    from lazy_artist.precision import check_precision

    check_precision(params["precision"])
    if params["train_subset"] is not None:
        _at_least(params, "train_subset", 1)
    _fraction("min_converged_easy_val", params["min_converged_easy_val"])
    for bias in params["bias_sweep"]:
        _fraction("each bias_sweep value", bias)
    for method in (part.strip() for part in params["sweep_methods"].split(",")):
        if method and method != BEST and method not in ALGORITHMS:
            raise ValueError(
                f"sweep_methods: unknown method {method!r}: choose from {', '.join(ALGORITHMS)} or {BEST!r}"
            )


def _class_index(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 9:
        raise ValueError(f"{name} must be a digit class 0..9, got {value!r}")


def _contains(grid_name: str, grid: list[float], name: str, value: float) -> None:
    if not any(abs(value - e) < 1e-12 for e in grid):
        raise ValueError(f"{name}={value!r} must be one of {grid_name} {grid}")


def validate_attacks(params: dict[str, Any]) -> None:
    """T5: models by known names, attack budgets, epsilons, classes and sample sizes."""
    from lazy_artist.attacks.min_epsilon import check_grid
    from lazy_artist.attacks.pgd import OBJECTIVES, PGDConfig, validate_pgd
    from lazy_artist.methods.algorithms import ALGORITHMS
    from lazy_artist.methods.comparison import BEST
    from lazy_artist.zoo import CHEATER, parse_model_names

    names = parse_model_names(params["models"])
    if not names:
        raise ValueError("models: name at least one model, e.g. 'cheater,erm,best,gray_oracle'")
    for name in names:
        if name not in (CHEATER, BEST, *ALGORITHMS):
            raise ValueError(
                f"models: unknown model {name!r}: choose from {CHEATER!r}, {BEST!r} or the T4 "
                f"methods {', '.join(ALGORITHMS)}"
            )
    if params["attack_split"] not in ("easy_test", "hard_test"):
        raise ValueError(
            f"attack_split must be a test split, 'easy_test' or 'hard_test', got {params['attack_split']!r}"
        )
    _class_index("source_class", params["source_class"])
    _class_index("target_class", params["target_class"])
    if params["source_class"] == params["target_class"]:
        raise ValueError("target_class must differ from source_class")
    for name in ("n_samples", "n_untargeted", "steps", "restarts", "n_pictures"):
        _at_least(params, name, 1)
    _at_least(params, "n_strength_samples", 1)
    _at_least(params, "threads", 0)  # 0: one per available core
    _at_least(params, "bisection_steps", 0)
    _at_least(params, "strength_factor", 2)
    for name in ("targeted_loss", "untargeted_loss"):
        if params[name] not in OBJECTIVES:
            raise ValueError(
                f"{name}: unknown loss {params[name]!r}: choose from {', '.join(OBJECTIVES)}"
            )
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
    _fraction("strength_tolerance", params["strength_tolerance"])
    _fraction("max_zero_gradient_share", params["max_zero_gradient_share"])


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
    if (
        not isinstance(hidden, list)
        or not hidden
        or not all(isinstance(h, int) and h >= 1 for h in hidden)
    ):
        raise ValueError(
            f"fc_hidden must be a list of positive layer widths, e.g. [256, 128], got {hidden!r}"
        )
    for name in ("cnn_width", "n_val", "epochs", "batch_size"):
        _at_least(params, name, 1)
    _at_least(params, "threads", 0)  # 0: one per available core
    for name in ("n_train", "n_test", "n_fgsm"):
        if params[name] is not None:
            _at_least(params, name, 1)
    if not isinstance(params["lr"], (int, float)) or params["lr"] <= 0:
        raise ValueError(f"lr must be > 0, got {params['lr']!r}")
    epsilons = params["fgsm_epsilons"]
    if (
        not isinstance(epsilons, list)
        or not epsilons
        or any(not isinstance(e, (int, float)) or not 0.0 <= e <= 1.0 for e in epsilons)
        or sorted(set(epsilons)) != epsilons
    ):
        raise ValueError(
            f"fgsm_epsilons must be increasing values in [0, 1], e.g. [0.0, 0.05, 0.1], got {epsilons!r}"
        )
    _contains("fgsm_epsilons", epsilons, "compare_epsilon", params["compare_epsilon"])
    _fraction("fc_scramble_tolerance", params["fc_scramble_tolerance"])
    _fraction("min_cnn_scramble_drop", params["min_cnn_scramble_drop"])


def _number(name: str, value: Any, minimum: float, inclusive: bool = True) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or value < minimum or (not inclusive and value == minimum):
        bound = ">=" if inclusive else ">"
        raise ValueError(f"{name} must be a number {bound} {minimum}, got {value!r}")


def validate_sae(params: dict[str, Any]) -> None:
    from lazy_artist.methods.algorithms import ALGORITHMS
    from lazy_artist.methods.comparison import BEST
    from lazy_artist.models import build_model, known_models
    from lazy_artist.sae.activations import ALL, FEATURES, LAST_CONV, Config, discover_sites

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
    if params["compare_model"] != BEST and params["compare_model"] not in ALGORITHMS:
        raise ValueError(
            f"compare_model: unknown T4 method {params['compare_model']!r}: choose from "
            f"{', '.join(ALGORITHMS)} or {BEST!r}"
        )
    _number("expansion", params["expansion"], 1.0)
    _number("l1_coefficient", params["l1_coefficient"], 0.0)
    _number("lr", params["lr"], 0.0, inclusive=False)
    _number("amplify_factor", params["amplify_factor"], 0.0)
    for name in ("epochs", "batch_size", "positions_per_image", "n_ablate"):
        _at_least(params, name, 1)
    for name in ("n_top_features", "n_top_images"):
        _at_least(params, name, 1)
    _at_least(params, "n_random_draws", 2)  # the spread over draws needs two
    if params["steps_per_epoch"] is not None:
        _at_least(params, "steps_per_epoch", 1)
    if params["n_train_images"] is not None:
        _at_least(params, "n_train_images", 2)
    if params["n_hard_images"] is not None:
        _at_least(params, "n_hard_images", 1)
    _fraction("min_fve", params["min_fve"])


def _interpreted_models(params: dict[str, Any]) -> None:
    """T2/T3 ``models``: comma-separated, known names, no repeats."""
    from lazy_artist.methods.algorithms import ALGORITHMS
    from lazy_artist.methods.comparison import BEST
    from lazy_artist.zoo import CHEATER, parse_model_names

    names = parse_model_names(params["models"])
    if not names:
        raise ValueError("models: name at least one model, e.g. 'cheater,best'")
    for name in names:
        if name not in (CHEATER, BEST, *ALGORITHMS):
            raise ValueError(
                f"models: unknown model {name!r}: choose from {CHEATER!r}, {BEST!r} or the T4 "
                f"methods {', '.join(ALGORITHMS)}"
            )
    if len(set(names)) != len(names):
        raise ValueError(f"models: {params['models']!r} names a model twice")


def _independent_split(params: dict[str, Any]) -> None:
    if params["split"] not in ("hard_test", "conflict_val"):
        raise ValueError(
            f"split must be one where colour and digit vary independently, 'hard_test' or "
            f"'conflict_val', got {params['split']!r}"
        )


def validate_prober(params: dict[str, Any]) -> None:
    """T2: models, split, activation-maximisation settings, objectives and display sizes."""
    from lazy_artist.interpret.activation_max import OBJECTIVES, ActMaxConfig

    _interpreted_models(params)
    _independent_split(params)
    if params["n_images"] is not None:
        _at_least(params, "n_images", 20)  # selectivity needs several images per class
    objectives = [part.strip() for part in str(params["objectives"]).split(",") if part.strip()]
    unknown = [name for name in objectives if name not in OBJECTIVES]
    if unknown or not objectives:
        raise ValueError(
            f"objectives: unknown objective(s) {', '.join(map(repr, unknown)) or '(none given)'}: "
            f"choose from {', '.join(OBJECTIVES)}"
        )
    for name in ("actmax_steps", "actmax_topk", "grid_channels", "n_exemplars"):
        _at_least(params, name, 1)
    for name in ("actmax_jitter", "actmax_blur_every"):
        _at_least(params, name, 0)
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
        _fraction(name, params[name])


def validate_interrogation(params: dict[str, Any]) -> None:
    """T3: models, split, image counts, digits for the grid, IG settings and the attack."""
    from lazy_artist.attacks.fgsm import check_epsilon
    from lazy_artist.interpret.integrated_gradients import BASELINES

    _interpreted_models(params)
    _independent_split(params)
    for name in ("n_images", "ig_steps", "ig_images"):
        _at_least(params, name, 1)
    digits = params["gradcam_digits"]
    if (
        not isinstance(digits, list)
        or not digits
        or any(not isinstance(d, int) or not 0 <= d <= 9 for d in digits)
    ):
        raise ValueError(f"gradcam_digits must be a non-empty list of digits 0..9, got {digits!r}")
    if params["ig_baseline"] not in BASELINES:
        raise ValueError(
            f"ig_baseline: unknown baseline {params['ig_baseline']!r}: choose from "
            f"{', '.join(BASELINES)}"
        )
    for name in ("attack_source", "attack_target"):
        if not isinstance(params[name], int) or not 0 <= params[name] <= 9:
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
    _at_least(params, "attack_steps", 1)
    for name in ("max_completeness_gap", "max_stable_increase"):
        _number(name, params[name], 0.0)
