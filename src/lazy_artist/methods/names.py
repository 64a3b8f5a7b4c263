"""The names of T4's methods, in the registry's order.

What a later task needs to check a model name, resolve ``"all"`` or colour a figure, without
reaching the methods' code: a task's cache key hashes the modules its notebook can reach, so a
task that only loads T4's models must not import :mod:`lazy_artist.methods.algorithms`, or
editing one method's loss would re-run it. The registry (``methods.base.REGISTRY``, filled by
``base`` and ``algorithms``) holds exactly these names, in this order, and ``algorithms``
refuses to import otherwise (one list, checked, not two that may drift).
"""

from __future__ import annotations

# What a method's network reads: the coloured canvas or its grayscale version (gray_oracle).
INPUT_KINDS = ("colour", "gray")

METHOD_NAMES: tuple[str, ...] = (
    "erm",
    "gray_oracle",
    "colour_aug",
    "colour_invariance",
    "cf_invar",
    "logit_consistency",
    "dann",
    "dann_colour",
    "saliency_penalty",
    "input_gradient",
    "group_dro",
    "lff",
)


def check_registry(registered: tuple[str, ...]) -> None:
    """Raise when the registry's names are not ``METHOD_NAMES`` in the same order."""
    if registered != METHOD_NAMES:
        raise ImportError(
            f"methods/algorithms.py registers {list(registered)} but methods/names.py lists "
            f"{list(METHOD_NAMES)}: add, remove or reorder the name in METHOD_NAMES to match"
        )
