"""The study's per-task checks of what ranges cannot say, run before any work (after every
parameter has passed its range, :mod:`lazy_artist.study.ranges`): registry names, and values
tied to other parameters (a split size bounded by another, an epsilon on the grid, a target
that differs from its source). A bad value fails the command, not a notebook.
"""

from __future__ import annotations

from typing import Any

from lazy_artist.study.ranges import N_TRAIN_IMAGES


def _split_sizes(params: dict[str, Any]) -> None:
    """n_val + n_train come out of the 60,000 training images."""
    left = N_TRAIN_IMAGES - params["n_val"]
    if params["n_train"] is not None and params["n_train"] > left:
        raise ValueError(
            f"n_train must be <= {left} ({N_TRAIN_IMAGES} training images minus "
            f"n_val={params['n_val']}), got {params['n_train']!r}"
        )


def _distinct(source: str, target: str, params: dict[str, Any]) -> None:
    if params[source] == params[target]:
        raise ValueError(f"{target} must differ from {source} (both {params[source]!r})")


def _contains(grid_name: str, grid: list[float], name: str, value: Any) -> None:
    if not any(abs(value - e) < 1e-12 for e in grid):
        raise ValueError(f"{name}={value!r} must be one of {grid_name} {grid}")


def _comma_names(name: str, value: Any, known: Any, what: str) -> list[str]:
    """Comma-separated names, at least one, each one of ``known``."""
    names = [part.strip() for part in str(value).split(",") if part.strip()]
    if not names:
        raise ValueError(f"{name}: name at least one {what}: {', '.join(known)}")
    for part in names:
        if part not in known:
            raise ValueError(f"{name}: unknown {what} {part!r}: choose from {', '.join(known)}")
    return names


def _registered_model(name: str, value: Any) -> None:
    from lazy_artist.models import known_models

    if value not in known_models():
        raise ValueError(
            f"{name}: unknown model {value!r}: choose from {', '.join(known_models())}"
        )


def validate_canvas(params: dict[str, Any]) -> None:
    """T0: the split sizes together, and the background range's order."""
    _split_sizes(params)
    low, high = params["bg_range"]
    if low > high:
        raise ValueError(f"bg_range must be [low, high] with low <= high, got {params['bg_range']}")


def validate_classifier(params: dict[str, Any]) -> None:
    """T1: the model it analyses (a zoo name; T4 trains it)."""
    from lazy_artist.zoo import parse_model_name

    parse_model_name(params["model"])


def validate_intervention(params: dict[str, Any]) -> None:
    """T4: methods and their own hparams, the backbones and their recipes, the backbones the
    expected findings apply on, the tuning mode with its draws and seed, the executor."""
    from lazy_artist.methods.executor import check_executor
    from lazy_artist.methods.hparams import hparams_for
    from lazy_artist.methods.names import METHOD_NAMES
    from lazy_artist.methods.ranking import BEST, resolve_method_names
    from lazy_artist.methods.recipes import check_method_hparams, parse_backbones, resolve_recipes

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
    if params["tuned"] == "committed" and params["n_draws"] != 1:
        raise ValueError(
            "n_draws must be 1 with tuned='committed' (the draws ran in the tune build); "
            "set tuned='none' to draw in this build"
        )
    if params["seed"] <= params["tune_seed"] < params["seed"] + params["n_seeds"]:
        raise ValueError(
            f"tune_seed {params['tune_seed']} is one of the reported seeds "
            f"({params['seed']}..{params['seed'] + params['n_seeds'] - 1}): the draws must "
            "be chosen on a seed the tables do not report"
        )
    for method in (part.strip() for part in params["sweep_methods"].split(",")):
        if method and method != BEST and method not in METHOD_NAMES:
            raise ValueError(
                f"sweep_methods: unknown method {method!r}: choose from {', '.join(METHOD_NAMES)} or {BEST!r}"
            )
    check_executor(params["executor"])  # Ray selected but not installed


def validate_attacks(params: dict[str, Any]) -> None:
    """T5: the backbones and extra rows of the matched comparison, the two classes, and the
    epsilons that must lie on their grids (the PGD config is built once, by the notebook: its
    every field has a range)."""
    from lazy_artist.zoo import parse_backbone_selection, parse_model_name, parse_model_names

    parse_backbone_selection(params["backbones"])  # "all", or known backbones (names choices)
    if not isinstance(params["extra_models"], str):
        raise ValueError(
            f"extra_models must be comma-separated model names or '', got {params['extra_models']!r}"
        )
    for name in parse_model_names(params["extra_models"]):
        parse_model_name(name)
    _distinct("source_class", "target_class", params)
    for name in ("report_epsilon", "visible_epsilon", "full_success_epsilon"):
        _contains("epsilons", params["epsilons"], name, params[name])
    _contains(
        "untargeted_epsilons",
        params["untargeted_epsilons"],
        "zero_accuracy_epsilon",
        params["zero_accuracy_epsilon"],
    )


def validate_inductive_bias(params: dict[str, Any]) -> None:
    """T7: data set names, registered models, the split sizes together, the compared budget."""
    from lazy_artist.inductive.experiment import GRAY_DATASETS

    _comma_names("datasets", params["datasets"], GRAY_DATASETS, "data set")
    for key in ("fc_model", "cnn_model"):
        _registered_model(key, params[key])
    _split_sizes(params)
    _contains(
        "fgsm_epsilons", params["fgsm_epsilons"], "compare_epsilon", params["compare_epsilon"]
    )


def validate_sae(params: dict[str, Any]) -> None:
    """T6: the backbones, and configurations at layers some registered model has."""
    from lazy_artist.models import build_model, known_models
    from lazy_artist.sae.activations import ALL, FEATURES, LAST_CONV, Config, discover_sites
    from lazy_artist.zoo import parse_backbone_selection

    parse_backbone_selection(params["backbones"])  # "all" or known backbone names
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


def validate_prober(params: dict[str, Any]) -> None:
    """T2: the backbones and the objectives (the activation-maximisation config is built once,
    by the notebook: its every field has a range)."""
    from lazy_artist.interpret.activation_max import OBJECTIVES
    from lazy_artist.zoo import parse_backbone_selection

    parse_backbone_selection(params["backbones"])  # "all" or known backbone names
    _comma_names("objectives", params["objectives"], OBJECTIVES, "objective")


def validate_interrogation(params: dict[str, Any]) -> None:
    """T3: the backbones and the attack's two classes."""
    from lazy_artist.zoo import parse_backbone_selection

    parse_backbone_selection(params["backbones"])  # "all" or known backbone names
    _distinct("attack_source", "attack_target", params)
