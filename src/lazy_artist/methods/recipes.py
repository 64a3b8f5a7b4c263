"""One training recipe per backbone, shared by every method trained on it.

Comparing methods is only fair when everything but the method is held fixed, so the budget
(epochs), the optimiser settings (lr, batch size, weight decay, schedule), the precision and the
rule whose checkpoint later tasks load are properties of the *backbone*, declared once here.
T4 trains ERM and every method on each backbone with that backbone's recipe; on ``cheater_cnn``
ERM with T1's recipe (7 epochs, fp32, easy-validation selection) *is* the cheater.

``t4.recipes`` may override fields per backbone (``{"lenet_cnn": {"epochs": 6}}``);
:func:`resolve_recipes` checks every override before any work.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lazy_artist.methods.selection import RULES
from lazy_artist.precision import PRECISIONS

# The optimiser hparams a recipe owns: per-method hparams may not override them (one recipe).
RECIPE_HPARAMS = ("lr", "batch_size", "weight_decay", "schedule")
SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class Recipe:
    """How every method on one backbone is trained (Adam + the method's loss)."""

    backbone: str  # model-registry name
    width: int  # the backbone's ``width`` argument
    epochs: int
    lr: float
    batch_size: int
    weight_decay: float
    schedule: str  # "cosine" (to zero over the run) or "constant"
    precision: str  # "fp32" or "bf16" (autocast in the forward passes)
    selection: str  # the rule whose checkpoint later tasks load by default (both are recorded)
    why: str = ""  # where the recipe comes from (rendered in the design-decisions table)

    def hparams(self) -> dict[str, Any]:
        """The common hparams every method on this backbone trains with."""
        return {
            "lr": self.lr,
            "batch_size": self.batch_size,
            "weight_decay": self.weight_decay,
            "schedule": self.schedule,
        }

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


RECIPES: dict[str, Recipe] = {
    # T1's cheater recipe, unchanged: the study's point is a GAP CNN that learns colour.
    "cheater_cnn": Recipe(
        backbone="cheater_cnn",
        width=8,
        epochs=7,
        lr=3e-3,
        batch_size=128,
        weight_decay=0.0,
        schedule="cosine",
        precision="fp32",
        selection="easy_val",
        why="T1's recipe (STUDY.md budget; chosen in earlier sessions on easy validation)",
    ),
    # A standard MNIST CNN on which debiasing methods can reach shape within the budget.
    "lenet_cnn": Recipe(
        backbone="lenet_cnn",
        width=16,
        epochs=4,
        lr=3e-3,
        batch_size=128,
        weight_decay=0.0,
        schedule="cosine",
        precision="fp32",
        selection="conflict_val",
        why=(
            "earlier sessions' T4 runs: epochs and width where every method converged on easy "
            "and conflict validation; fp32 because bf16 autocast is fast only on CPUs with "
            "native bf16 (3.4x on avx512_bf16) and about 10x slower on AVX2-only CPUs"
        ),
    ),
}

_INT_FIELDS = ("width", "epochs", "batch_size")
_FLOAT_FIELDS = ("lr", "weight_decay")


def _check_field(backbone: str, name: str, value: Any) -> Any:
    where = f"recipe of backbone {backbone!r}: {name}"
    if name in _INT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{where} must be an integer >= 1, got {value!r}")
        return value
    if name in _FLOAT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"{where} must be a number, got {value!r}")
        if (name == "lr" and value <= 0) or value < 0:
            raise ValueError(f"{where} must be {'> 0' if name == 'lr' else '>= 0'}, got {value!r}")
        return float(value)
    choices = {"schedule": SCHEDULES, "precision": PRECISIONS, "selection": tuple(RULES)}[name]
    if value not in choices:
        raise ValueError(f"{where} must be one of {', '.join(choices)}, got {value!r}")
    return value


def parse_backbones(value: str | Sequence[str]) -> list[str]:
    """``"cheater_cnn,lenet_cnn"`` or a list -> names with a recipe, order kept, no repeats."""
    names = value.split(",") if isinstance(value, str) else list(value)
    names = [name.strip() for name in names if name and name.strip()]
    unknown = [name for name in names if name not in RECIPES]
    if unknown or not names:
        raise ValueError(
            f"backbones: unknown or missing backbone(s) {', '.join(map(repr, unknown)) or '(none)'}"
            f": choose from {', '.join(RECIPES)} (each has one recipe in methods/recipes.py)"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"backbones: {value!r} names a backbone twice")
    return names


def resolve_recipes(
    backbones: str | Sequence[str], overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Recipe]:
    """The recipe of each named backbone with ``overrides`` applied, every field checked."""
    names = parse_backbones(backbones)
    overrides = dict(overrides or {})
    if not isinstance(overrides, dict) or any(
        not isinstance(v, Mapping) for v in overrides.values()
    ):
        raise ValueError(
            'recipes must map backbones to field overrides, e.g. {"lenet_cnn": {"epochs": 6}}'
        )
    stray = sorted(set(overrides) - set(RECIPES))
    if stray:
        raise ValueError(
            f"recipes: no recipe for backbone(s) {', '.join(map(repr, stray))}; "
            f"known: {', '.join(RECIPES)}"
        )
    settable = [f.name for f in dataclasses.fields(Recipe) if f.name not in ("backbone", "why")]
    resolved = {}
    for name in names:
        changes = dict(overrides.get(name, {}))
        bad = sorted(set(changes) - set(settable))
        if bad:
            raise ValueError(
                f"recipes: unknown field(s) {', '.join(map(repr, bad))} for backbone {name!r}; "
                f"fields: {', '.join(settable)}"
            )
        checked = {key: _check_field(name, key, value) for key, value in changes.items()}
        resolved[name] = dataclasses.replace(RECIPES[name], **checked)
    return resolved


def check_method_hparams(hparams: Mapping[str, Mapping[str, Any]]) -> None:
    """Per-method overrides may not touch a recipe's optimiser settings (one recipe per
    backbone, shared by every method): those are set in ``t4.recipes``."""
    for method, overrides in hparams.items():
        owned = sorted(set(overrides or {}) & set(RECIPE_HPARAMS))
        if owned:
            raise ValueError(
                f"hparams of {method!r}: {', '.join(map(repr, owned))} belong to the backbone's "
                f"recipe (shared by every method); set them in t4.recipes instead"
            )
