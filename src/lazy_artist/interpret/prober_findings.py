"""T2's expected findings, made between models of the same backbone only.

Per matched pair (ERM vs the best debiasing method on one backbone, same recipe, seed and
selection rule, :func:`lazy_artist.zoo.matched_pairs`):

- per model, named ``<method>_... [<backbone>#<seed>]``: ERM on the cheater backbone (where it
  *is* the cheater) reads colour in the layers its classifier reads; the debiased model's
  penultimate units are not mostly colour-dominated; each model's prototypes reach the best
  real image (the optimisation worked, so the prototypes show what the channels like);
- per backbone, named ``<method>_... [<backbone>]``: the debiased model's penultimate units are
  less colour-dominated than same-backbone ERM's, on every seed probed.

On a backbone other than the cheater's no expectation was declared for ERM: its shares are
reported as a statistic, not checked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lazy_artist.interpret.hooks import PENULTIMATE
from lazy_artist.interpret.prober_study import ProbedModel
from lazy_artist.zoo import CHEATER_BACKBONE, CHEATER_METHOD, MatchedPair


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


def model_tag(backbone: str, seed: int | None = None) -> str:
    """The bracket a check name ends with: ``[lenet_cnn]`` or ``[lenet_cnn#0]``."""
    return f"[{backbone}]" if seed is None else f"[{backbone}#{seed}]"


def _share(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.3f}"


def erm_reads_colour(model: ProbedModel, threshold: float, evidence: str) -> Check:
    """ERM on the cheater backbone: more than ``threshold`` of the channels of every layer its
    classifier reads are colour-dominated."""
    record, probe = model.record, model.probe
    shares = {layer: probe.share(layer) for layer in probe.deciding}
    passed = all(share > threshold for share in shares.values())  # NaN fails
    return Check(
        f"{record['method']}_channels_colour_selective "
        f"{model_tag(record['backbone'], record['seed'])}",
        passed,
        f"{record['name']}: colour-dominated share "
        + ", ".join(f"{layer} {_share(share)}" for layer, share in probe.shares().items())
        + f"; required > {threshold} at {' and '.join(probe.deciding)} (the layers its "
        f"classifier reads), {evidence}",
    )


def penultimate_not_colour_dominated(model: ProbedModel, threshold: float, evidence: str) -> Check:
    """A debiased model: fewer than ``threshold`` of its penultimate units colour-dominated."""
    record = model.record
    share = model.probe.share(PENULTIMATE)
    return Check(
        f"{record['method']}_penultimate_not_colour_dominated "
        f"{model_tag(record['backbone'], record['seed'])}",
        share < threshold,
        f"{record['name']}: {_share(share)} of {PENULTIMATE} units colour-dominated; required "
        f"< {threshold}, {evidence}",
    )


def prototypes_reach_exemplars(model: ProbedModel, min_share: float, evidence: str) -> Check:
    """The optimisation worked: at least ``min_share`` of the prototypes excite their channel
    at least as much as the best real image."""
    record, prototypes = model.record, model.prototypes
    share = prototypes.win_share()
    return Check(
        f"{record['method']}_prototypes_beat_exemplars "
        f"{model_tag(record['backbone'], record['seed'])}",
        share >= min_share,
        f"{record['name']}: for {_share(share)} of {prototypes.n_pairs} (channel, objective) "
        f"prototypes the optimised input reaches at least the objective of the best real "
        f"image; required >= {min_share}, {evidence}",
    )


def less_colour_than_erm(
    backbone: str,
    method: str,
    pairs: Sequence[tuple[MatchedPair, ProbedModel, ProbedModel]],
    evidence: str,
) -> Check:
    """Same backbone: the debiased model's penultimate share is below ERM's on every seed."""
    rows = [
        (pair.seed, ref.probe.share(PENULTIMATE), cand.probe.share(PENULTIMATE))
        for pair, ref, cand in pairs
    ]
    passed = bool(rows) and all(c < r for _, r, c in rows)
    return Check(
        f"{method}_penultimate_less_colour_dominated_than_erm {model_tag(backbone)}",
        passed,
        f"{PENULTIMATE} units colour-dominated on {backbone}, {CHEATER_METHOD} vs {method} "
        f"(same recipe, seed and rule): "
        + "; ".join(f"seed {s} {_share(r)} vs {_share(c)}" for s, r, c in rows)
        + f"; required lower for {method} on every seed, {evidence}",
    )


def _mean(values: Sequence[float]) -> float | None:
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else None


@dataclass
class ProberFindings:
    checks: list[Check]
    comparisons: list[dict[str, Any]]  # one per backbone, for the template and summary.json

    def headline(self) -> str:
        """Mean over seeds of the penultimate share, ERM vs the debiased model, per backbone."""
        parts = []
        for c in self.comparisons:
            seeds = f" (mean of {len(c['seeds'])} seeds)" if len(c["seeds"]) > 1 else ""
            parts.append(
                f"{c['backbone']} {CHEATER_METHOD} {_pct(c['mean_reference_penultimate'])} vs "
                f"{c['method']} {_pct(c['mean_candidate_penultimate'])}{seeds}"
            )
        return "colour-dominated penultimate units, same backbone: " + "; ".join(parts)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def prober_findings(
    pairs: Sequence[MatchedPair],
    probed: Mapping[str, ProbedModel],
    min_colour_dominated_share: float,
    min_prototype_win_share: float,
    evidence: str,
) -> ProberFindings:
    """Every T2 check and, per backbone, the comparison the section renders. ``probed`` maps a
    pair's zoo names (``pair.reference`` / ``pair.candidate``) to what was measured on them;
    ``evidence`` says on what (e.g. "on 10000 hard_test images")."""
    checks: list[Check] = []
    comparisons: list[dict[str, Any]] = []
    by_backbone: dict[str, list[MatchedPair]] = {}
    for pair in pairs:
        by_backbone.setdefault(pair.backbone, []).append(pair)
    for backbone, group in by_backbone.items():
        method = group[0].method
        cheater_backbone = backbone == CHEATER_BACKBONE
        matched = [(p, probed[p.reference], probed[p.candidate]) for p in group]
        per_seed = []
        for pair, reference, candidate in matched:
            names: dict[str, str | None] = {"erm_colour_selective": None}
            if cheater_backbone:
                found = erm_reads_colour(reference, min_colour_dominated_share, evidence)
                checks.append(found)
                names["erm_colour_selective"] = found.name
            own = [
                (
                    "candidate_not_colour_dominated",
                    penultimate_not_colour_dominated(
                        candidate, min_colour_dominated_share, evidence
                    ),
                ),
                (
                    "erm_prototypes",
                    prototypes_reach_exemplars(reference, min_prototype_win_share, evidence),
                ),
                (
                    "candidate_prototypes",
                    prototypes_reach_exemplars(candidate, min_prototype_win_share, evidence),
                ),
            ]
            checks += [found for _, found in own]
            names.update({key: found.name for key, found in own})
            per_seed.append(
                {
                    "seed": pair.seed,
                    "reference": pair.reference,
                    "candidate": pair.candidate,
                    "deciding_layers": reference.probe.deciding,
                    "reference_shares": {
                        layer: reference.probe.share(layer) for layer in reference.probe.deciding
                    },
                    "candidate_shares": {
                        layer: candidate.probe.share(layer) for layer in candidate.probe.deciding
                    },
                    "reference_win_share": reference.prototypes.win_share(),
                    "candidate_win_share": candidate.prototypes.win_share(),
                    "checks": names,
                }
            )
        compared = less_colour_than_erm(backbone, method, matched, evidence)
        checks.append(compared)
        comparisons.append(
            {
                "backbone": backbone,
                "method": method,
                "rule": group[0].rule,
                "erm_is_the_cheater": cheater_backbone,
                "seeds": [p.seed for p in group],
                "per_seed": per_seed,
                "mean_reference_penultimate": _mean(
                    [ref.probe.share(PENULTIMATE) for _, ref, _ in matched]
                ),
                "mean_candidate_penultimate": _mean(
                    [cand.probe.share(PENULTIMATE) for _, _, cand in matched]
                ),
                "checks": {"less_colour_than_erm": compared.name},
            }
        )
    return ProberFindings(checks, comparisons)
