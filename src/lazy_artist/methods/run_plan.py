"""Which of T4's training runs a build would reuse from the memo, which it would train, and why,
without training anything (``status`` / ``build --dry-run``, through T4's ``run_plan`` hook).

Each planned run (tuning draw, grid run, bias-sweep run) gets its exact memo key from the
same parts a build hashes (:mod:`lazy_artist.methods.run_parts`). A key with an entry is
``cached``; otherwise the run is compared with the recorded parts of the stored runs of the
same method, backbone, seed and bias (the closest one, then the newest), and the parts that
differ are the reason: that method's code, the shared training code, hparams, data, recipe,
torch version, device. Runs whose settings depend on results not yet trained (the tuning's
choice, the grid's winner for the sweep) are said to be unknown until those train.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lazy_artist.data.canvas import Canvas, load_canvas
from lazy_artist.digests import check_digests
from lazy_artist.fileio import atomic_write_json, read_json
from lazy_artist.methods.algorithms import build_algorithm
from lazy_artist.methods.grid import (
    RunRecord,
    RunSpec,
    aggregate,
    bias_independent,
    compare_winners,
    plan_runs,
    sweep_canvases,
)
from lazy_artist.methods.memo import (
    HASHES_FILE,
    KEY_FILE,
    RESULT_FILE,
    RETRAIN_ALL,
    RunMemo,
    payload_key,
)
from lazy_artist.methods.ranking import BEST, resolve_method_names, sweep_method_names
from lazy_artist.methods.recipes import Recipe, resolve_recipes
from lazy_artist.methods.run import _recipe_kwargs  # the build's own recipe -> hparams mapping
from lazy_artist.methods.run_parts import (
    PARTS_DIR,
    KeyParts,
    entry_complete,
    plain,
    read_sidecars,
)
from lazy_artist.methods.selection import RULES
from lazy_artist.methods.trainer import MethodResult
from lazy_artist.methods.tuned import TUNED
from lazy_artist.methods.tuning import (
    choose,
    chosen_hparams,
    committed_choice,
    plan_draws,
    tuning_requests,
)
from lazy_artist.results import artefact

CACHED, NEW, CHANGED, RETRAIN, DAMAGED = "cached", "new run", "changed", "retrain", "damaged"
CANVAS_CACHE = "sweep-canvases.json"  # under .parts/: derived canvases' digests, per T0 key
_RECIPE_PARTS = ("epochs", "backbone_kwargs", "precision")


@dataclass(eq=False)
class PlannedRun:
    stage: str  # "tuning draw 2", "grid", "bias sweep"
    method: str
    recipe: Recipe
    seed: int
    hparams: Mapping[str, Any] | None
    canvas: Canvas | Callable[[], Canvas] | None  # a callable builds it only when needed
    bias: float
    canvas_digest: str | None = None  # known already: the canvas need not be built

    @property
    def label(self) -> str:
        return (
            f"{self.stage} {self.recipe.backbone} {self.method} seed {self.seed} bias {self.bias:g}"
        )


@dataclass
class RunVerdict:
    run: PlannedRun
    state: str  # CACHED, NEW, CHANGED, RETRAIN or DAMAGED
    why: str = ""
    key: str | None = None

    @property
    def trains(self) -> bool:
        return self.state != CACHED

    @property
    def reason(self) -> str:
        """What the line says: a change names its parts, the other states themselves."""
        if self.state == CHANGED:
            return self.why
        return f"{self.state}: {self.why}" if self.why else self.state


@dataclass
class RunPlanner:
    """Judges planned runs against one memo directory, reading nothing but its small files."""

    directory: Path | None
    device: str = "cpu"
    retrain: str | Sequence[str] | None = None
    parts: KeyParts = field(default_factory=KeyParts)

    def __post_init__(self) -> None:
        self.directory = Path(self.directory) if self.directory else None
        self.memo = RunMemo(self.directory)
        self.sidecars = read_sidecars(self.directory)
        described = {record.get("key") for record in self.sidecars}
        self.legacy = [about for key, about in _entries(self.directory) if key not in described]

    def judge(self, run: PlannedRun) -> RunVerdict:
        candidates = [
            s
            for s in self.sidecars
            if (s["parts"].get("method"), s["parts"].get("backbone"), s["parts"].get("seed"))
            == (run.method, run.recipe.backbone, run.seed)
            and s.get("bias") == float(run.bias)
        ]
        if self.directory is None or not (candidates or self._legacy_matches(run)):
            return RunVerdict(run, NEW, "no memo entry")  # no canvas needed to say so
        if run.canvas_digest is None and callable(run.canvas):
            run.canvas = run.canvas()
        ours = self._parts(run)
        key = payload_key(ours)
        if entry_complete(self.memo, key):
            damage = _damage(self.memo.entry(key))
            if damage:
                return RunVerdict(run, DAMAGED, f"stored entry damaged ({damage})", key)
            if self.retrain == RETRAIN_ALL or (
                self.retrain and not isinstance(self.retrain, str) and run.method in self.retrain
            ):
                return RunVerdict(run, RETRAIN, "asked by --retrain", key)
            return RunVerdict(run, CACHED, "", key)
        if not candidates:
            return RunVerdict(
                run,
                NEW,
                "no memo entry with recorded key parts (an older entry of this method, seed and "
                "bias records none: what changed is unknown)",
                key,
            )
        mine = plain(ours)
        closest = min(
            candidates,
            key=lambda s: (len(_differences(s["parts"], mine)), -s.get("recorded_ns", 0)),
        )
        return RunVerdict(run, CHANGED, "; ".join(_differences(closest["parts"], mine)), key)

    def stored_result(self, verdict: RunVerdict) -> MethodResult | None:
        """The record of a memoised run (tuning scores and the grid's winner come from it)."""
        if verdict.key is None or verdict.state not in (CACHED, RETRAIN):
            return None
        return MethodResult(**read_json(self.memo.entry(verdict.key) / RESULT_FILE))

    def _parts(self, run: PlannedRun) -> dict[str, Any]:
        kwargs = _recipe_kwargs(run.recipe, run.hparams)
        algorithm = build_algorithm(
            run.method,
            kwargs["hparams"],
            backbone=run.recipe.backbone,
            backbone_kwargs={"width": run.recipe.width},
            seed=run.seed,
        )
        return self.parts.parts(
            algorithm,
            None if callable(run.canvas) else run.canvas,
            epochs=run.recipe.epochs,
            seed=run.seed,
            device=self.device,
            precision=run.recipe.precision,
            canvas_digest=run.canvas_digest,
        )

    def _legacy_matches(self, run: PlannedRun) -> bool:
        return any(
            (about.get("method"), about.get("seed"), about.get("bias"))
            == (run.method, run.seed, float(run.bias))
            for about in self.legacy
        )


def _entries(directory: Path | None) -> list[tuple[str, dict[str, Any]]]:
    if directory is None or not directory.is_dir():
        return []
    found = []
    for path in directory.glob("[0-9a-f][0-9a-f]/*/" + KEY_FILE):
        try:
            about = read_json(path)
        except (OSError, ValueError):
            continue
        found.append((path.parent.name, about if isinstance(about, dict) else {}))
    return found


def _damage(entry: Path) -> str | None:
    if not (entry / HASHES_FILE).exists():
        return None
    try:
        recorded = read_json(entry / HASHES_FILE)
    except (OSError, ValueError):
        return f"{HASHES_FILE} unreadable"
    return check_digests(entry, recorded) if isinstance(recorded, dict) else "bad hashes"


def _differences(stored: Mapping[str, Any], mine: Mapping[str, Any]) -> list[str]:
    """Why a run keyed by ``mine`` is not the stored run ``stored``: the parts that differ."""
    reasons = []
    if stored.get("method_code") != mine["method_code"]:
        reasons.append(f"code of {mine['method']} changed")
    if stored.get("code") != mine["code"]:
        reasons.append("shared training code changed")
    if stored.get("hparams") != mine["hparams"]:
        before, now = stored.get("hparams") or {}, mine["hparams"]
        names = sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))
        reasons.append(f"hparams changed ({', '.join(names)})")
    if stored.get("canvas") != mine["canvas"]:
        reasons.append("data changed (canvas)")
    recipe = [name for name in _RECIPE_PARTS if stored.get(name) != mine[name]]
    if recipe:
        reasons.append(f"recipe changed ({', '.join(recipe)})")
    for name, what in (("torch", "torch version"), ("device_type", "device type")):
        if stored.get(name) != mine[name]:
            reasons.append(f"{what} changed ({stored.get(name)} -> {mine[name]})")
    return reasons or ["key parts as recorded, but no entry under their key (deleted?)"]


# --- T4's runs ------------------------------------------------------------------------------


@dataclass
class T4Plan:
    verdicts: list[RunVerdict]
    unknown: list[str]  # runs that cannot be planned yet, and why

    def lines(self) -> list[str]:
        """A count line, then one line per run to (re)train and per unknown group."""
        trained = [v for v in self.verdicts if v.trains]
        counts: dict[str, int] = {}
        for v in trained:
            counts[v.state] = counts.get(v.state, 0) + 1
        summary = ", ".join(f"{n} {state}" for state, n in counts.items())
        head = (
            f"runs: {len(self.verdicts)} planned, {len(self.verdicts) - len(trained)} memoised, "
            f"{len(trained)} to train{f' ({summary})' if summary else ''}"
        )
        lines = [head]
        lines += [f"  train {v.run.label}: {v.reason}" for v in trained]
        lines += [f"  unknown: {text}" for text in self.unknown]
        return lines


def plan_t4(
    params: Mapping[str, Any],
    canvas: Canvas,
    planner: RunPlanner,
    mnist: Callable[[], Any],
    canvas_digests: dict[str, str] | None = None,
    t0_key: str = "",
) -> T4Plan:
    """Every run T4's notebook would fit with ``params`` on T0's ``canvas``, judged by
    ``planner``; ``mnist()`` loads the digits for the bias sweep's other canvases, only when
    a stored run has to be compared with one (their digests are kept in ``canvas_digests``,
    by ``t0_key`` and bias, so a later plan need not rebuild them)."""
    names = resolve_method_names(params["methods"])
    recipe_of = resolve_recipes(params["backbones"], params["recipes"])
    seeds = [params["seed"] + offset for offset in range(params["n_seeds"])]
    canvas = canvas.with_train_subset(params["train_subset"])
    pinned = params["hparams"] or {}
    draws = plan_draws(names, params["n_draws"], pinned)
    verdicts: list[RunVerdict] = []
    unknown: list[str] = []

    waiting: set[tuple[str, str]] = set()  # (backbone, method) whose tuned hparams are unknown
    if params["tuned"] == "committed":
        chosen, _ = committed_choice(TUNED, draws, recipe_of, canvas, pinned)
    else:
        scores: dict[str, dict[str, list[dict[str, Any]]]] = {b: {} for b in recipe_of}
        for backbone, draw, request in tuning_requests(draws, recipe_of, params["tune_seed"]):
            run = PlannedRun(
                f"tuning draw {draw.draw}",
                draw.method,
                request.recipe,
                request.seed,
                request.hparams,
                canvas,
                canvas.bias,
            )
            verdict = planner.judge(run)
            verdicts.append(verdict)
            result = planner.stored_result(verdict)
            if result is None:
                waiting.add((backbone, draw.method))
                continue
            scores[backbone].setdefault(draw.method, []).append(
                {
                    "draw": draw.draw,
                    "hparams": draw.hparams,
                    "scores": {rule: float(result.selections[rule]["score"]) for rule in RULES},
                }
            )
        for backbone, method in waiting:
            scores[backbone].pop(method, None)
        chosen = choose(draws, scores, recipe_of)
        if waiting:
            named = ", ".join(sorted(f"{m}@{b}" for b, m in waiting))
            unknown.append(
                f"the grid and bias-sweep runs of {named}: their hparams are chosen by tuning "
                "draws not yet trained"
            )
    backbone_hparams = chosen_hparams(chosen)

    results: dict[tuple[str, str, int], MethodResult | None] = {}
    for spec in plan_runs(names, list(recipe_of), seeds):
        if (spec.backbone, spec.method) in waiting:
            results[spec.key] = None
            continue
        run = PlannedRun(
            "grid",
            spec.method,
            recipe_of[spec.backbone],
            spec.seed,
            backbone_hparams.get(spec.backbone, {}).get(spec.method, pinned.get(spec.method)),
            canvas,
            canvas.bias,
        )
        verdict = planner.judge(run)
        verdicts.append(verdict)
        results[spec.key] = planner.stored_result(verdict)

    sweep_backbone = params["sweep_backbone"]
    winner = _winner(results, sweep_backbone, names, seeds, params["alpha"])
    wants_best = BEST in [part.strip() for part in params["sweep_methods"].split(",")]
    if winner is None and wants_best:
        unknown.append(
            f"the bias sweep's runs of the winner on {sweep_backbone}: unknown until the grid "
            f"runs on {sweep_backbone} are trained"
        )
    sweep_seeds = [params["seed"] + offset for offset in range(params["sweep_seeds"])]
    sweep_names = sweep_method_names(params["sweep_methods"], winner, names)
    recipe = recipe_of.get(sweep_backbone)
    if recipe is None:
        return T4Plan(verdicts, unknown)
    hparams = backbone_hparams.get(sweep_backbone, {})
    digests = canvas_digests if canvas_digests is not None else {}
    held_mnist: list[Any] = []

    def derived(bias: float) -> Callable[[], Canvas]:
        def build() -> Canvas:
            if not held_mnist:
                held_mnist.append(mnist())
            built = sweep_canvases(held_mnist[0], canvas, [bias])[bias]
            digests[f"{t0_key}/{bias!r}"] = planner.parts.canvas(built)
            return built

        return build

    for bias in params["bias_sweep"]:
        for name in sweep_names:
            # A bias-independent method is read from the grid's runs (drawn flat).
            if (sweep_backbone, name) in waiting or bias_independent(name):
                continue
            for s in sweep_seeds:
                if bias == canvas.bias and name in names and s in seeds:
                    continue  # read from the grid's records, never refitted
                source: Canvas | Callable[[], Canvas] = canvas
                known = None
                if bias != canvas.bias:
                    known = digests.get(f"{t0_key}/{bias!r}")
                    source = derived(bias)
                run = PlannedRun(
                    "bias sweep", name, recipe, s, hparams.get(name), source, bias, known
                )
                verdicts.append(planner.judge(run))
    return T4Plan(verdicts, unknown)


def _winner(
    results: Mapping[tuple[str, str, int], MethodResult | None],
    backbone: str,
    names: Sequence[str],
    seeds: Sequence[int],
    alpha: float,
) -> str | None:
    """The grid's winner on ``backbone`` (oracle-style rule) from the stored records, as the
    notebook picks it; None while any of its runs is still to train."""
    held = {}
    for name in names:
        for s in seeds:
            result = results.get((backbone, name, s))
            if result is None:
                return None
            # Ranking reads the records only: no network is needed (nor loaded).
            spec = RunSpec(backbone, name, s)
            held[spec.key] = RunRecord(spec, None, result)  # type: ignore[arg-type]
    table = aggregate(held, [backbone], names, seeds)
    return compare_winners(table, alpha=alpha)[backbone]["conflict_val"]["winner"]


def explain_t4(
    params: Mapping[str, Any],
    t0_dir: Path,
    memo_dir: Path | None,
    data_root: Path,
    device: str = "cpu",
    retrain: str | Sequence[str] | None = None,
) -> list[str]:
    """``status``'s lines for T4: the run plan on T0's stored canvas (seconds: nothing trains;
    the bias sweep's canvases are rebuilt only the first time they are needed)."""
    from lazy_artist.data.mnist import load_mnist

    started = time.perf_counter()
    canvas = load_canvas(artefact(t0_dir, "canvas.npz"))
    t0_key = str((read_json(t0_dir / "task.json") or {}).get("key", ""))
    cache = memo_dir / PARTS_DIR / CANVAS_CACHE if memo_dir else None
    digests = _read_cache(cache)
    before = dict(digests)
    planner = RunPlanner(memo_dir, device=device, retrain=retrain)
    plan = plan_t4(
        params,
        canvas,
        planner,
        lambda: load_mnist(data_root, allow_download=False),
        digests,
        t0_key,
    )
    if cache is not None and digests != before and memo_dir is not None and memo_dir.is_dir():
        cache.parent.mkdir(exist_ok=True)  # a cache only: the next plan skips rebuilding them
        atomic_write_json(cache, digests)
    lines = plan.lines()
    lines[0] += f" [planned in {time.perf_counter() - started:.1f}s]"
    return lines


def _read_cache(path: Path | None) -> dict[str, str]:
    if path is None or not path.exists():
        return {}
    try:
        held = read_json(path)
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in held.items()} if isinstance(held, dict) else {}
