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


def validate_classifier(params: dict[str, Any]) -> None:
    from lazy_artist.models import known_models

    if params["model"] not in known_models():
        raise ValueError(
            f"unknown model {params['model']!r}: choose from {', '.join(known_models())}"
        )
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
    for name in ("epochs", "n_seeds", "sweep_seeds", "backbone_width"):
        _at_least(params, name, 1)
    if params["train_subset"] is not None:
        _at_least(params, "train_subset", 1)
    for bias in params["bias_sweep"]:
        _fraction("each bias_sweep value", bias)
    for method in (part.strip() for part in params["sweep_methods"].split(",")):
        if method and method != BEST and method not in ALGORITHMS:
            raise ValueError(
                f"sweep_methods: unknown method {method!r}: choose from {', '.join(ALGORITHMS)} or {BEST!r}"
            )
