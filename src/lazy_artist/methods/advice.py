"""T4's preflight advice: what a user should know before a long build starts (never an error).

The recipes' precision is part of the study design (a bf16 model is not the fp32 one), so the
builder never switches it behind the user's back; it says what it will cost and how to choose.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lazy_artist.hardware import BF16_FLAGS, native_bf16
from lazy_artist.methods.recipes import resolve_recipes


def precision_advice(params: Mapping[str, Any], device: str) -> list[str]:
    """One line per backbone whose recipe trains in bf16 on a CPU without native bf16."""
    if native_bf16(device) is not False:
        return []
    recipes = resolve_recipes(params["backbones"], params.get("recipes"))
    slow = [name for name, recipe in recipes.items() if recipe.precision == "bf16"]
    return [
        f"backbone {name} trains in bf16, but this CPU has no native bf16 "
        f"({' / '.join(BF16_FLAGS)} absent): expect its runs to be about 10x slower than in "
        f'fp32, which --set \'t4.recipes={{"{name}": {{"precision": "fp32"}}}}\' gives '
        "(a different model: the precision is in T4's recipe table)"
        for name in slow
    ]
