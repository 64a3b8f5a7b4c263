"""Hyper-parameters of every T4 method: one registry of defaults, allowed ranges and sweep draws.

Modelled on DomainBed's ``hparams_registry``: hyper-parameters shared by every method (optimiser,
batch size, schedule) plus per-method ones. Each has a default (STUDY.md's value where it gives
one), an allowed range checked by :func:`hparams_for` before any training starts, and a
distribution that :func:`random_hparams` samples for sweeps.
"""

from __future__ import annotations

import math
import numbers
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

Sampler = Callable[[np.random.Generator], Any]


@dataclass(frozen=True)
class HParam:
    """One hyper-parameter: default, type, allowed range and sweep distribution."""

    default: Any
    kind: type  # float, int or str
    low: float | None = None  # inclusive unless low_open
    high: float | None = None  # inclusive
    low_open: bool = False
    choices: tuple[str, ...] | None = None
    sample: Sampler | None = None  # None: sweeps keep the default

    def allowed(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "inf" if self.high is None else f"{self.high:g}"
        bracket = "(" if self.low_open or self.low is None else "["
        closing = ")" if self.high is None else "]"
        noun = "an integer" if self.kind is int else "a number"
        return f"{noun} in {bracket}{low}, {high}{closing}"

    def check(self, method: str, name: str, value: Any) -> Any:
        """The value converted to the hparam's type, or a ValueError naming it and its range."""
        problem = f"hparam {name!r} of method {method!r} must be {self.allowed()}, got {value!r}"
        if self.kind is str:
            if value not in (self.choices or ()):
                raise ValueError(problem)
            return value
        # bool is an int in Python, but True as a learning rate is a mistake, not a number.
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(problem)
        if self.kind is int:
            if not float(value).is_integer():
                raise ValueError(problem)
            value = int(value)
        else:
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(problem)
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            raise ValueError(problem)
        if self.high is not None and value > self.high:
            raise ValueError(problem)
        return value


def _log_uniform(low_exp: float, high_exp: float) -> Sampler:
    return lambda rng: float(10 ** rng.uniform(low_exp, high_exp))


def _uniform(low: float, high: float) -> Sampler:
    return lambda rng: float(rng.uniform(low, high))


def _choice(*options: Any) -> Sampler:
    return lambda rng: options[int(rng.integers(len(options)))]


def _weight(default: float, low_exp: float, high_exp: float) -> HParam:
    """A non-negative loss weight, swept log-uniformly."""
    return HParam(default, float, low=0.0, sample=_log_uniform(low_exp, high_exp))


COMMON_SPECS: dict[str, HParam] = {
    "lr": HParam(3e-3, float, low=0.0, low_open=True, sample=_log_uniform(-3.5, -2.0)),
    "weight_decay": HParam(0.0, float, low=0.0, sample=_choice(0.0, 1e-5, 1e-4)),
    "batch_size": HParam(128, int, low=1, sample=_choice(64, 128, 256)),
    # Cosine decay to zero over the run settles the weights, so the selected epoch is less noisy.
    "schedule": HParam("cosine", str, choices=("constant", "cosine")),
}

# Both DANN variants share these (they differ in the adversary's target).
_DANN_SPECS: dict[str, HParam] = {
    "lambda_adv": _weight(1.0, -1.0, 0.5),
    "grl_strength": HParam(1.0, float, low=0.0, sample=_log_uniform(-1.0, 0.5)),
    # Ganin et al.'s ramp of the reversal strength (gamma; 0 = constant). Without it the
    # full-profile runs diverged in their first epoch (CE 157, the embedding blown up).
    "grl_ramp": HParam(10.0, float, low=0.0, sample=_choice(0.0, 5.0, 10.0)),
    "disc_steps": HParam(3, int, low=1, sample=_choice(1, 3, 5)),
    "adv_width": HParam(128, int, low=1, sample=_choice(64, 128, 256)),
}

METHOD_SPECS: dict[str, dict[str, HParam]] = {
    "erm": {},
    "gray_oracle": {},
    "colour_aug": {"p": HParam(0.9, float, low=0.0, high=1.0, sample=_uniform(0.5, 1.0))},
    "colour_invariance": {"lambda_inv": _weight(2.0, -1.0, 1.0)},
    "cf_invar": {"lambda_cf": _weight(1.0, -1.0, 0.5), "lambda_cons": _weight(1.0, -1.0, 0.5)},
    "logit_consistency": {
        "lambda_cons": _weight(0.5, -1.0, 0.5),
        "warmup_epochs": HParam(2, int, low=0, sample=_choice(0, 1, 2)),
    },
    "dann": _DANN_SPECS,
    "dann_colour": {
        **_DANN_SPECS,
        # The adversary also sees the one-hot label (conditional DANN): it predicts the colour
        # given the digit, so the shape is not pushed out with the colour. "none": Ganin's
        # unconditional adversary. A variant, not a tuned value: sweeps keep the default.
        "adv_condition": HParam("label", str, choices=("label", "none")),
    },
    "saliency_penalty": {
        "lambda_sal": _weight(1.0, -1.0, 1.0),
        # Pixels whose stroke intensity is at least this are stroke (canvas digits are 0 on the
        # background); the penalty covers ``region``.
        "mask_threshold": HParam(0.1, float, low=0.0, high=1.0, sample=_uniform(0.05, 0.3)),
        # "stroke": where the canvas puts the colour (removes the cue); "background": STUDY.md's
        # and the seeds' mask, where the images have no chroma. A variant: never swept.
        "region": HParam("stroke", str, choices=("stroke", "background")),
    },
    "input_gradient": {"lambda_grad": _weight(0.1, -2.0, 0.0)},
    "group_dro": {
        # Sagawa et al.'s step size of the group weights (their code's default 0.01).
        "eta": HParam(0.01, float, low=0.0, sample=_log_uniform(-3.0, -1.0)),
        # GroupDRO's own strong l2 penalty (coupled weight decay inside its loss; the recipe's
        # weight_decay is shared by every method): see algorithms.GroupDRO for the scale.
        "l2_penalty": HParam(1e-3, float, low=0.0, sample=_log_uniform(-4.0, -2.0)),
    },
    "lff": {
        # Nam et al.'s values for Colored MNIST: GCE q = 0.7, loss EMA 0.7.
        "gce_q": HParam(0.7, float, low=0.0, high=1.0, low_open=True, sample=_uniform(0.5, 0.9)),
        "ema_alpha": HParam(0.7, float, low=0.0, high=1.0, sample=_uniform(0.5, 0.95)),
    },
}

COMMON_HPARAMS: dict[str, Any] = {name: spec.default for name, spec in COMMON_SPECS.items()}
# Complete defaults per method: the common values plus the method's own.
DEFAULT_HPARAMS: dict[str, dict[str, Any]] = {
    method: {**COMMON_HPARAMS, **{name: spec.default for name, spec in specs.items()}}
    for method, specs in METHOD_SPECS.items()
}


def _specs(method: str) -> dict[str, HParam]:
    if method not in METHOD_SPECS:
        known = ", ".join(METHOD_SPECS)
        raise ValueError(f"unknown method {method!r}; known methods: {known}")
    return {**COMMON_SPECS, **METHOD_SPECS[method]}


def hparams_for(method: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The method's defaults with ``overrides`` applied, every value type- and range-checked."""
    specs = _specs(method)
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(specs))
    if unknown:
        raise ValueError(
            f"unknown hparam(s) {', '.join(map(repr, unknown))} for method {method!r}; "
            f"valid names: {', '.join(specs)}"
        )
    values = {**DEFAULT_HPARAMS[method], **overrides}
    return {name: specs[name].check(method, name, values[name]) for name in specs}


def random_hparams(method: str, seed: int) -> dict[str, Any]:
    """A random draw for sweeps; each hparam has its own stream seeded by (method, name, seed), so
    adding an hparam does not change the others' draws (as in DomainBed)."""
    values = {}
    for name, spec in _specs(method).items():
        if spec.sample is None:
            values[name] = spec.default
            continue
        stream = zlib.crc32(f"{method}/{name}".encode())
        values[name] = spec.sample(np.random.default_rng([stream, int(seed)]))
    return hparams_for(method, values)


def own_hparams(method: str) -> dict[str, Any]:
    """The method's own hparams with their defaults (not the common ones, which a backbone's
    recipe owns)."""
    _specs(method)
    return {name: spec.default for name, spec in METHOD_SPECS[method].items()}


def tunable(method: str) -> list[str]:
    """The method's own hparams that a sweep draws (those with a sampler)."""
    _specs(method)
    return [name for name, spec in METHOD_SPECS[method].items() if spec.sample is not None]


def sweep_draw(method: str, draw: int, pinned: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The method's own hparams of sweep draw ``draw``, DomainBed style: draw 0 is the defaults,
    draw k >= 1 is :func:`random_hparams` (method, k) restricted to the method's own hparams
    (the recipe owns the optimiser's). ``pinned`` values (``t4.hparams``) hold in every draw;
    every value is range-checked."""
    if isinstance(draw, bool) or not isinstance(draw, int) or draw < 0:
        raise ValueError(f"draw must be an integer >= 0, got {draw!r}")
    own = own_hparams(method)
    values = own if draw == 0 else {k: random_hparams(method, draw)[k] for k in own}
    values = {**values, **dict(pinned or {})}
    checked = hparams_for(method, values)
    return {name: checked[name] for name in own}
