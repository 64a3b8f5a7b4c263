"""T4's protocol: the run grid (method x backbone x seed), its aggregation with intervals, the
winner per backbone and selection rule, and the bias sweep.

The notebook plans the runs, calls :func:`run_grid` (every run through
:func:`~lazy_artist.methods.executor.fit_many` and the memo), then :func:`aggregate` and
:func:`compare_winners`; it only draws and records. Every number in the tables is a mean over
seeds with its Student-t 95% interval (:func:`lazy_artist.stats.mean_ci95`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from lazy_artist.data.canvas import Canvas, build_canvas
from lazy_artist.methods.algorithms import get_algorithm_class
from lazy_artist.methods.artefacts import MethodIndex
from lazy_artist.methods.base import Algorithm
from lazy_artist.methods.executor import RunRequest, fit_many
from lazy_artist.methods.memo import RunMemo
from lazy_artist.methods.probe_memo import ProbeMemo
from lazy_artist.methods.ranking import epochs_to_reach
from lazy_artist.methods.recipes import Recipe
from lazy_artist.methods.selection import RULE_SPLIT, RULES
from lazy_artist.methods.trainer import MethodResult
from lazy_artist.stats import SHARE_BOUNDS, mean_ci95, paired_t_test, tied

ORACLE = "gray_oracle"  # sees no colour: the shape-only ceiling, never a candidate winner
REFERENCE_METHOD = "erm"  # what every debiasing method is compared with on its own backbone
# What each accuracy is called in the metrics (the trainer's split names on the right).
METRIC_SPLITS = {
    "easy_val_acc": "val",
    "conflict_val_acc": "conflict_val",
    "hard_test_acc": "hard_test",
}


@dataclass(frozen=True)
class RunSpec:
    backbone: str
    method: str
    seed: int

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.backbone, self.method, self.seed)


@dataclass
class RunRecord:
    """One trained (or reused) run: the algorithm holds every rule's checkpoint."""

    spec: RunSpec
    algorithm: Algorithm
    result: MethodResult
    following: dict[str, float | None] = field(default_factory=dict)  # per rule

    def accuracy(self, rule: str, split: str) -> float:
        return float(self.result.selections[rule]["selected"][split])

    def network(self, rule: str) -> nn.Module:
        """A copy of the network holding ``rule``'s checkpoint (eval mode)."""
        network = copy.deepcopy(self.algorithm.network)
        network.load_state_dict(self.algorithm.rule_states[rule])
        return network.eval()


def plan_runs(
    methods: Sequence[str], backbones: Sequence[str], seeds: Sequence[int]
) -> list[RunSpec]:
    """Every (backbone, method, seed), backbone-major (a build killed midway has whole
    backbones done); each name checked against the registries, no repeats."""
    for name in methods:
        get_algorithm_class(name)
    for label, values in (("methods", methods), ("backbones", backbones), ("seeds", seeds)):
        if not values or len(set(values)) != len(values):
            raise ValueError(f"{label} must be non-empty and without repeats, got {list(values)}")
    return [RunSpec(b, m, int(s)) for b in backbones for m in methods for s in seeds]


def run_grid(
    specs: Iterable[RunSpec],
    canvas: Canvas,
    recipes: Mapping[str, Recipe],
    hparams: Mapping[str, Mapping[str, Any]] | None = None,
    device: torch.device | str = "cpu",
    memo: RunMemo | None = None,
    index: MethodIndex | None = None,
    probe_images: int = 2000,
    log: Callable[[str], None] = print,
    jobs: int = 1,
    executor: str = "auto",
    backbone_hparams: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
) -> dict[tuple[str, str, int], RunRecord]:
    """Train (or reuse) every planned run with its backbone's recipe (``jobs`` at once, see
    :func:`~lazy_artist.methods.executor.fit_many`; the same numbers for any ``jobs``), add
    both rules' checkpoints to ``index`` and probe every checkpoint for colour following.
    ``backbone_hparams[backbone][method]`` (the tuning's choice) overrides ``hparams[method]``."""
    records = {}
    hparams = hparams or {}
    backbone_hparams = backbone_hparams or {}
    specs = list(specs)
    requests = [
        RunRequest(
            s.method,
            "grid",
            recipes[s.backbone],
            s.seed,
            backbone_hparams.get(s.backbone, {}).get(s.method, hparams.get(s.method)),
        )
        for s in specs
    ]
    fitted = fit_many(requests, {"grid": canvas}, device, memo, jobs, executor, log)
    # Scores beside the memo's runs: a rebuild that reuses a run reuses its probe too.
    probes = ProbeMemo(memo.directory if memo is not None else None)
    for spec, (algorithm, result) in zip(specs, fitted, strict=True):
        recipe = recipes[spec.backbone]
        record = RunRecord(spec, algorithm, result)
        record.following = _following_per_rule(record, canvas, probe_images, device, probes)
        records[spec.key] = record
        if index is not None:
            index.add(spec.method, spec.seed, algorithm, result, default_rule=recipe.selection)
        picked = ", ".join(
            f"{rule} epoch {result.selections[rule]['epoch']} hard "
            f"{record.accuracy(rule, 'hard_test'):.4f}"
            for rule in RULES
        )
        log(
            f"{spec.backbone} {spec.method} seed {spec.seed}: {picked}; {result.seconds:.1f}s"
            f"{' (reused)' if result.extra.get('reused') else ''}"
        )
    if probes.hits or probes.misses:
        log(f"colour probe: {probes.hits} score(s) reused, {probes.misses} computed")
    return records


def _following_per_rule(
    record: RunRecord,
    canvas: Canvas,
    probe_images: int,
    device: torch.device | str,
    probes: ProbeMemo,
) -> dict[str, float | None]:
    # Both rules often keep the same epoch: probe each distinct checkpoint once.
    by_epoch: dict[int, float | None] = {}
    following = {}
    for rule in RULES:
        epoch = record.result.selections[rule]["epoch"]
        if epoch not in by_epoch:
            by_epoch[epoch] = probes.colour_following(
                record.network(rule).to(device),
                record.algorithm.input_kind,
                canvas["hard_test"],
                n_images=probe_images,
                seed=record.spec.seed,
                device=device,
                bg_range=canvas.bg_range,
            )
        following[rule] = by_epoch[epoch]
    return following


def _interval_fields(name: str, values: Sequence[float]) -> dict[str, Any]:
    interval = mean_ci95(values, SHARE_BOUNDS)
    return {
        f"{name}_mean": interval.mean,
        f"{name}_ci95": interval.as_list(),
        f"{name}_std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
        f"{name}_per_seed": [float(v) for v in values],
    }


def method_group(name: str) -> str:
    """The privileged information a method uses (registry metadata on its class)."""
    return get_algorithm_class(name).privileged


def aggregate(
    records: Mapping[tuple[str, str, int], RunRecord],
    backbones: Sequence[str],
    methods: Sequence[str],
    seeds: Sequence[int],
) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """``[backbone][rule][method]`` -> the method's accuracies under that rule (mean, 95%
    interval as [lo, hi], std and per-seed values, seeds in order), colour following, selected
    epochs, group and wall time. Seeds are in the same order everywhere (paired tests rely on it)."""
    table: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    for backbone in backbones:
        table[backbone] = {}
        for rule in RULES:
            table[backbone][rule] = {
                method: _method_row([records[(backbone, method, s)] for s in seeds], rule)
                for method in methods
            }
    return table


def _method_row(runs: Sequence[RunRecord], rule: str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "group": method_group(runs[0].spec.method),
        "n_seeds": len(runs),
        "seeds": [run.spec.seed for run in runs],
        "selected_epochs": [run.result.selections[rule]["epoch"] for run in runs],
        "seconds_mean": float(np.mean([run.result.seconds for run in runs])),
        # Compute: update() calls (the same for every method on a recipe), backward passes
        # (DANN's adversary-only steps count) and the time spent in them.
        "steps_mean": float(np.mean([run.result.steps for run in runs])),
        "backward_passes_mean": _mean_or_none(
            [run.result.extra.get("backward_passes") for run in runs]
        ),
        "train_seconds_mean": float(np.mean([run.result.train_seconds for run in runs])),
        # Rule-free: the first epoch whose hard accuracy reaches 70% (curves, never selection).
        "epochs_to_70_hard": epochs_to_reach(
            [run.result.history for run in runs], "acc_hard_test", 0.70
        ),
    }
    for name, split in METRIC_SPLITS.items():
        row.update(_interval_fields(name, [run.accuracy(rule, split) for run in runs]))
    following = [run.following.get(rule) for run in runs]
    if None in following:
        row.update(colour_following_mean=None, colour_following_ci95=[None, None])
    else:
        interval = mean_ci95(following, SHARE_BOUNDS)
        row.update(colour_following_mean=interval.mean, colour_following_ci95=interval.as_list())
    return row


def _mean_or_none(values: Sequence[float | None]) -> float | None:
    return None if any(v is None for v in values) else float(np.mean(values))


def relative_compute(
    table: Mapping[str, Mapping[str, Mapping[str, dict[str, Any]]]],
    reference: str = REFERENCE_METHOD,
) -> None:
    """In place: each row's steps, backward passes and training time as a multiple of the
    reference method's (ERM's) on the same backbone (``*_vs_erm``; None without ERM)."""
    for rules in table.values():
        for rows in rules.values():
            base = rows.get(reference)
            for row in rows.values():
                for name in ("steps", "backward_passes", "train_seconds"):
                    mine, theirs = row.get(f"{name}_mean"), base and base.get(f"{name}_mean")
                    row[f"{name}_vs_erm"] = mine / theirs if mine is not None and theirs else None


def attach_tuning(
    table: Mapping[str, Mapping[str, Mapping[str, dict[str, Any]]]],
    chosen: Mapping[str, Mapping[str, Mapping[str, Any]]],
) -> None:
    """In place: each row's chosen ``hparams``, the number of ``draws`` behind them, the
    chosen ``draw`` and the choice's ``hparams_source`` (:mod:`lazy_artist.methods.tuning`)."""
    for backbone, rules in table.items():
        for rows in rules.values():
            for method, row in rows.items():
                entry = chosen[backbone][method]
                row.update(
                    hparams=dict(entry["hparams"]),
                    draws=entry["draws"],
                    draw=entry["draw"],
                    hparams_source=entry["source"],
                )


def augmentation_bias(
    records: Mapping[tuple[str, str, int], RunRecord],
    canvas: Canvas,
    method: str = "colour_aug",
) -> dict[str, dict[str, Any]]:
    """Per backbone: colour augmentation's effective bias, the share of its augmented training
    digits still painted their own colour, expected (from p and the canvas) and measured (the
    runs' ``own_colour`` term, averaged over epochs and seeds), beside chance (1/10);
    ``above_chance`` when the measured share exceeds chance by more than 3 binomial standard
    errors of the images it counts."""
    from lazy_artist.methods.algorithms import colour_aug_effective_bias
    from lazy_artist.methods.base import N_CLASSES

    train = canvas["train"]
    aligned = float(np.mean(train.colours == train.labels))
    out: dict[str, dict[str, Any]] = {}
    for (backbone, name, _), record in sorted(records.items()):
        if name != method:
            continue
        entry = out.setdefault(backbone, {"p": [], "measured": [], "images": 0})
        entry["p"].append(float(record.result.hparams["p"]))
        entry["images"] += record.result.images_seen
        entry["measured"].extend(
            row["losses"]["own_colour"]
            for row in record.result.history
            if "own_colour" in row["losses"]
        )
    chance = 1.0 / N_CLASSES
    result = {}
    for backbone, entry in out.items():
        measured = float(np.mean(entry["measured"])) if entry["measured"] else None
        error = np.sqrt(chance * (1 - chance) / max(entry["images"], 1))
        result[backbone] = {
            "p": entry["p"][0],
            "aligned_train": aligned,
            "expected": colour_aug_effective_bias(entry["p"][0], aligned),
            "measured": measured,
            "chance": chance,
            "above_chance": measured is not None and measured - chance > 3 * error,
        }
    return result


def compare_winners(
    table: Mapping[str, Mapping[str, Mapping[str, Mapping[str, Any]]]],
    alpha: float = 0.05,
    exclude: Sequence[str] = (ORACLE,),
) -> dict[str, dict[str, dict[str, Any]]]:
    """Per backbone and rule: the winner (highest mean accuracy on the rule's own validation
    split, easy validation breaking ties; never the hard test set), the runner-up by the same
    order, and a paired t test over seeds of their hard-test accuracies. ``tied`` when the test
    does not separate them at ``alpha`` (or has fewer than two seeds)."""
    winners: dict[str, dict[str, dict[str, Any]]] = {}
    for backbone, rules in table.items():
        winners[backbone] = {}
        for rule, rows in rules.items():
            split = {"val": "easy_val_acc", "conflict_val": "conflict_val_acc"}[RULE_SPLIT[rule]]
            candidates = [name for name in rows if name not in exclude] or list(rows)
            ranked = sorted(
                candidates,
                key=lambda name: (rows[name][f"{split}_mean"], rows[name]["easy_val_acc_mean"]),
                reverse=True,
            )
            # The best *debiasing* method (never ERM): what the later tasks compare with ERM on
            # the same backbone, even where ERM itself ranks first.
            debiased = [name for name in ranked if name != REFERENCE_METHOD]
            entry: dict[str, Any] = {
                "winner": ranked[0],
                "debiased_winner": debiased[0] if debiased else None,
                "selected_on": split,
            }
            if len(ranked) > 1:
                first, second = rows[ranked[0]], rows[ranked[1]]
                test = paired_t_test(
                    first["hard_test_acc_per_seed"], second["hard_test_acc_per_seed"]
                )
                entry.update(
                    runner_up=ranked[1],
                    hard_diff=test.mean_diff,
                    hard_diff_ci95=[test.lo, test.hi],
                    p_value=test.p_value,
                    n_pairs=test.n,
                    test=test.test,
                    tied=tied(test, alpha),
                    testable=test.p_value is not None,
                )
            else:
                entry.update(runner_up=None, tied=False, testable=False)
            winners[backbone][rule] = entry
    return winners


def per_colour_hard(
    records: Mapping[tuple[str, str, int], RunRecord],
    canvas: Canvas,
    backbone: str,
    method: str,
    seeds: Sequence[int],
    rule: str,
    device: torch.device | str = "cpu",
) -> list[dict[str, Any]]:
    """Hard-test accuracy per stroke colour (palette order): ``{"colour", "images", "mean",
    "ci95", "n"}`` over seeds (the canvas's colour ids; mean None for a colour with no image)."""
    from lazy_artist.inference import predict
    from lazy_artist.metrics import per_colour_accuracy

    hard = canvas["hard_test"]
    per_seed = []
    for seed in seeds:
        record = records[(backbone, method, seed)]
        images = hard.gray if record.algorithm.input_kind == "gray" else hard.images
        preds, _ = predict(record.network(rule).to(device), images, device=device)
        per_seed.append(per_colour_accuracy(preds, hard.labels, hard.colours))
    rows = []
    for colour, first in per_seed[0].items():
        values = [
            run[colour]["accuracy"] for run in per_seed if run[colour]["accuracy"] is not None
        ]
        interval = mean_ci95(values, SHARE_BOUNDS) if values else None
        rows.append(
            {
                "colour": colour,
                "images": first["n"],
                "mean": None if interval is None else interval.mean,
                "ci95": [None, None] if interval is None else interval.as_list(),
                "n": len(values),
            }
        )
    return rows


def sweep_canvases(mnist: Any, canvas: Canvas, biases: Sequence[float]) -> dict[float, Canvas]:
    """The training canvas rebuilt at each bias fraction (same seed and sizes); the comparison's
    own canvas where the bias matches, so its runs are reused."""
    sizes = canvas.sizes()
    built = {}
    for bias in biases:
        built[bias] = (
            canvas
            if bias == canvas.bias
            else build_canvas(
                mnist,
                bias=bias,
                seed=canvas.seed,
                n_train=sizes["train"],
                n_val=sizes["val"],
                n_test=sizes["hard_test"],
            )
        )
    return built


def bias_independent(method: str) -> bool:
    """A method whose input carries no colour (``input_kind == "gray"``): the bias fraction only
    decides which colour each digit is painted, so such a method sees the same distribution at
    every bias and the sweep draws its comparison-canvas value instead of retraining it."""
    return get_algorithm_class(method).input_kind == "gray"


def run_bias_sweep(
    canvases: Mapping[float, Canvas],
    methods: Sequence[str],
    recipe: Recipe,
    seeds: Sequence[int],
    rule: str,
    hparams: Mapping[str, Mapping[str, Any]] | None = None,
    device: torch.device | str = "cpu",
    memo: RunMemo | None = None,
    records: Mapping[tuple[str, str, int], RunRecord] | None = None,
    comparison: Canvas | None = None,
    log: Callable[[str], None] = print,
    jobs: int = 1,
    executor: str = "auto",
) -> dict[str, Any]:
    """Hard-test accuracy (under ``rule``) of each method at each bias, mean and 95% interval
    over ``seeds``. On the ``comparison`` canvas the grid's ``records`` are read, not refitted
    (also with the memo off); other runs go through the memo (``jobs`` at once). Bias-independent
    methods (:func:`bias_independent`) are trained on the comparison canvas only and drawn flat:
    ``"flat"`` names them."""
    hparams = hparams or {}
    records = records or {}
    flat = [name for name in methods if bias_independent(name)]
    if flat and comparison is None:
        raise ValueError(f"bias-independent method(s) {flat} need the comparison canvas")
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in methods}
    seconds = 0.0
    held: dict[tuple[str, str, int], MethodResult] = {}
    requests, slots = [], []
    named = {f"bias={bias!r}": biased for bias, biased in canvases.items()}
    for bias, biased in canvases.items():
        for name in methods:
            if name in flat:
                continue
            for s in seeds:
                record = records.get((recipe.backbone, name, s)) if biased is comparison else None
                if record is not None:
                    held[(f"bias={bias!r}", name, s)] = record.result
                else:
                    requests.append(
                        RunRequest(name, f"bias={bias!r}", recipe, s, hparams.get(name))
                    )
                    slots.append((f"bias={bias!r}", name, s))
    for name in flat:  # once, on the comparison canvas
        for s in seeds:
            record = records.get((recipe.backbone, name, s))
            if record is not None:
                held[("comparison", name, s)] = record.result
            else:
                named["comparison"] = comparison
                requests.append(RunRequest(name, "comparison", recipe, s, hparams.get(name)))
                slots.append(("comparison", name, s))
    for slot, (_, result) in zip(
        slots, fit_many(requests, named, device, memo, jobs, executor, log), strict=True
    ):
        held[slot] = result
        seconds += result.seconds
    for bias in canvases:
        for name in methods:
            where = "comparison" if name in flat else f"bias={bias!r}"
            runs = [held[(where, name, s)].selections[rule]["selected"]["hard_test"] for s in seeds]
            interval = mean_ci95(runs, SHARE_BOUNDS)
            results[name].append(
                {"mean": interval.mean, "ci95": interval.as_list(), "n": interval.n}
            )
            log(f"bias {bias}: {name} hard {interval.mean:.4f} over {interval.n} seed(s)")
    return {
        "bias": [float(b) for b in canvases],
        "backbone": recipe.backbone,
        "rule": rule,
        "seeds": list(seeds),
        "hard_test_acc": results,
        "flat": flat,
        "training_seconds": seconds,
    }


def record_winners(
    index: MethodIndex, winners: Mapping[str, Mapping[str, Mapping[str, Any]]]
) -> None:
    """Name each backbone's winner per rule in the model index (``best@<backbone>``), and the
    best debiasing method (what later tasks compare with same-backbone ERM)."""
    for backbone, rules in winners.items():
        for rule, entry in rules.items():
            index.set_best(entry["winner"], backbone=backbone, rule=rule)
            if entry.get("debiased_winner"):
                index.set_best(entry["debiased_winner"], backbone, rule, debiased=True)


def histories(
    records: Mapping[tuple[str, str, int], RunRecord],
    backbone: str,
    methods: Sequence[str],
    seeds: Sequence[int],
) -> dict[str, list[list[dict[str, Any]]]]:
    """Per method, every seed's per-epoch history on ``backbone`` (for learning curves)."""
    return {m: [records[(backbone, m, s)].result.history for s in seeds] for m in methods}


def per_colour_rows(
    records: Mapping[tuple[str, str, int], RunRecord],
    canvas: Canvas,
    backbone: str,
    methods: Sequence[str],
    seeds: Sequence[int],
    rule: str,
    device: torch.device | str = "cpu",
) -> dict[str, list[dict[str, Any]]]:
    """Per method (repeats dropped), :func:`per_colour_hard`'s rows."""
    return {
        method: per_colour_hard(records, canvas, backbone, method, seeds, rule, device)
        for method in dict.fromkeys(methods)
    }


def unconverged(
    records: Mapping[tuple[str, str, int], RunRecord], min_easy_val: float
) -> list[dict[str, Any]]:
    """Runs whose easy-validation-selected checkpoint stays below ``min_easy_val``: training
    diverged or stalled, so their method's mean mixes a failed optimisation with a result."""
    return [
        {
            "backbone": backbone,
            "method": method,
            "seed": seed,
            "easy_val_acc": record.accuracy("easy_val", "val"),
            "first_epoch_losses": dict(record.result.history[0]["losses"])
            if record.result.history
            else {},
        }
        for (backbone, method, seed), record in records.items()
        if record.accuracy("easy_val", "val") < min_easy_val
    ]


COMPARISON_COLUMNS = [
    "privileged information",
    "method",
    "easy val %",
    "conflict val %",
    "hard test %",
    "follows colour %",
    "selected epochs",
    "hparam draws",
    "backward passes (x ERM)",
    "train s (x ERM)",
]


def _relative(value: float | None, ratio: float | None, digits: int) -> str:
    if value is None:
        return "-"
    text = f"{value:,.{digits}f}"
    return text if ratio is None else f"{text} ({ratio:.2f}x)"


def comparison_rows(
    rows: Mapping[str, Mapping[str, Any]], order: Sequence[str] = ()
) -> list[list[Any]]:
    """Table rows (:data:`COMPARISON_COLUMNS`), grouped by privileged information in
    :data:`~lazy_artist.methods.base.GROUPS` order."""
    from lazy_artist.methods.base import GROUPS

    def cell(row: Mapping[str, Any], name: str) -> str:
        mean, (lo, hi) = row[f"{name}_mean"], row[f"{name}_ci95"]
        if mean is None:
            return "gray input"
        if lo is None:
            return f"{100 * mean:.1f}"
        return f"{100 * mean:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]"

    names = [name for name in order if name in rows] + [n for n in rows if n not in order]
    ranked = sorted(names, key=lambda n: (list(GROUPS).index(rows[n]["group"]), names.index(n)))
    return [
        [
            GROUPS[rows[name]["group"]],
            name,
            cell(rows[name], "easy_val_acc"),
            cell(rows[name], "conflict_val_acc"),
            cell(rows[name], "hard_test_acc"),
            cell(rows[name], "colour_following"),
            ", ".join(str(e) for e in rows[name]["selected_epochs"]),
            rows[name].get("draws", 1),
            _relative(
                rows[name].get("backward_passes_mean"), rows[name].get("backward_passes_vs_erm"), 0
            ),
            _relative(
                rows[name].get("train_seconds_mean"), rows[name].get("train_seconds_vs_erm"), 1
            ),
        ]
        for name in ranked
    ]


def design_rows(decisions: Iterable[Any]) -> list[list[str]]:
    """The design-decisions table's rows (see :mod:`lazy_artist.methods.design`)."""
    return [[d.choice, d.value, d.chosen_on, d.why] for d in decisions]
