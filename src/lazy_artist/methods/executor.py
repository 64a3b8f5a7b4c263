"""Run independent training runs concurrently: in this process, in a local process pool, or as
Ray tasks, with results bit-identical to one after another.

Two rules make the engines interchangeable:

* Every run trains with :data:`ITEM_THREADS` (:mod:`lazy_artist.parallel`) intra-op threads, whichever engine runs it and
  however many run at once. Torch's CPU kernels split their reductions by thread count, so a
  run on 2 threads and the same run on 1 differ in the last bits; pinning the count makes the
  numbers independent of ``jobs`` (and of the machine's core count). Concurrency comes from
  running several runs at once, not from threads inside one.
* Workers never touch the memo. The driver looks every run up first (hits are never
  dispatched), sends only the misses, gets back each run's checkpoints and record, and alone
  writes the memo entries: no two writers of one key, no shared filesystem.
* Beside every run the memo holds (stored now or reused), the driver records what its key is
  made of (:mod:`lazy_artist.methods.run_parts`), so ``status`` can later say why a run
  retrains; the memo's own entries stay exactly as they are.

A worker rebuilds the algorithm from its name, hparams and seed and trains it with the memo
off; the driver rebuilds it the same way and loads the returned checkpoints, exactly as a memo
hit is restored (:func:`lazy_artist.methods.run.restore_run`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from lazy_artist.data.canvas import Canvas
from lazy_artist.methods.base import Algorithm
from lazy_artist.methods.memo import RunMemo
from lazy_artist.methods.recipes import Recipe
from lazy_artist.methods.run import TrainedRun, fit_recipe, restore_run, train_recipe
from lazy_artist.methods.run_parts import KeyParts, record_parts
from lazy_artist.methods.trainer import MethodResult
from lazy_artist.parallel import (
    ITEM_THREADS,
    eta_text,
    pinned_threads,
    process_map,
    resolve_workers,
    shared,
)

EXECUTORS = ("auto", "local", "ray")  # "auto": Ray when RAY_ADDRESS names a cluster, else local


@dataclass(frozen=True)
class RunRequest:
    """One run to fit: ``canvas`` names an entry of the canvases passed alongside (a canvas is
    shipped to each worker once, not once per run)."""

    method: str
    canvas: str
    recipe: Recipe
    seed: int
    hparams: Mapping[str, Any] | None = None


def resolve_executor(executor: str) -> str:
    """``"local"`` or ``"ray"`` (``"auto"``: Ray when ``RAY_ADDRESS`` is set)."""
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    if executor == "auto":
        return "ray" if os.environ.get("RAY_ADDRESS") else "local"
    return executor


def check_executor(executor: str) -> str:
    """:func:`resolve_executor`, and for Ray that it is installed (before any work)."""
    engine = resolve_executor(executor)
    if engine == "ray":
        _import_ray()
    return engine


def fit_many(
    requests: Sequence[RunRequest],
    canvases: Mapping[str, Canvas],
    device: torch.device | str = "cpu",
    memo: RunMemo | None = None,
    jobs: int = 1,
    executor: str = "auto",
    log: Callable[[str], None] = print,
) -> list[tuple[Algorithm, MethodResult]]:
    """Fit every request (memo hits loaded in this process, the rest trained by ``jobs``
    workers of ``executor``); results in request order, the same numbers for any ``jobs``."""
    unknown = sorted({r.canvas for r in requests} - set(canvases))
    if unknown:
        raise ValueError(f"requests name canvases {unknown} not among {sorted(canvases)}")
    engine = check_executor(executor)  # before any lookup: Ray missing fails here
    workers = resolve_workers(jobs, len(requests))
    began = time.perf_counter()
    parts = KeyParts()

    def recorded(r: RunRequest, fitted: tuple[Algorithm, MethodResult]) -> None:
        if memo is not None and memo.enabled:
            _record_parts(memo, parts, r, canvases[r.canvas], fitted, device)

    if engine == "local" and workers == 1:
        # In-process: the memo lookup, training and store of each run, one after another.
        serial = []
        for n, r in enumerate(requests, start=1):
            with pinned_threads():
                serial.append(
                    fit_recipe(
                        r.method, canvases[r.canvas], r.recipe, r.seed, r.hparams, device, memo
                    )
                )
            recorded(r, serial[-1])
            log(
                f"  runs {eta_text(n, len(requests), time.perf_counter() - began)} "
                f"({r.recipe.backbone} {r.method} seed {r.seed})"
            )
        return serial
    results: list[tuple[Algorithm, MethodResult] | None] = [None] * len(requests)
    misses = []
    for i, r in enumerate(requests):
        canvas = canvases[r.canvas]
        held = fit_recipe(r.method, canvas, r.recipe, r.seed, r.hparams, device, memo, True)
        if held is None:
            misses.append(i)
        else:
            results[i] = held
            recorded(r, held)
    if misses:
        todo = [requests[i] for i in misses]
        workers = resolve_workers(jobs, len(todo))
        log(f"training {len(todo)} run(s) on {workers} {engine} worker(s) x {ITEM_THREADS} thread")
        if engine == "ray":
            trained_runs = _run_ray(todo, canvases, str(device), workers)
        elif workers == 1:  # one run left to train: a worker process would only add start-up
            trained_runs = _run_here(todo, canvases, str(device))
        else:
            trained_runs = _run_pool(todo, canvases, str(device), workers)
        # Each run is stored as it comes back (in plan order): a build stopped midway keeps
        # every run returned before the stop.
        for n, (i, trained) in enumerate(zip(misses, trained_runs, strict=True), start=1):
            r = requests[i]
            results[i] = restore_run(
                trained, r.method, canvases[r.canvas], r.recipe, r.seed, r.hparams, device, memo
            )
            recorded(r, results[i])
            log(
                f"  runs trained {eta_text(n, len(todo), time.perf_counter() - began)} "
                f"({r.recipe.backbone} {r.method} seed {r.seed}; {len(requests) - len(todo)} "
                "reused)"
            )
    return results  # type: ignore[return-value]  # every slot filled above


def _record_parts(
    memo: RunMemo,
    parts: KeyParts,
    r: RunRequest,
    canvas: Canvas,
    fitted: tuple[Algorithm, MethodResult],
    device: torch.device | str,
) -> None:
    # The run's key parts, from the algorithm as built for it (hparams, backbone); a hit names
    # the key it was loaded under, a fresh run must hash to an entry the memo just wrote.
    algorithm, result = fitted
    described = parts.parts(
        algorithm,
        canvas,
        epochs=r.recipe.epochs,
        seed=r.seed,
        device=device,
        precision=r.recipe.precision,
    )
    record_parts(memo, described, canvas.bias, result.extra.get("memo_key"))


def _run_here(
    todo: Sequence[RunRequest], canvases: Mapping[str, Canvas], device: str
) -> Iterator[TrainedRun]:
    for r in todo:
        with pinned_threads():
            yield train_recipe(r.method, canvases[r.canvas], r.recipe, r.seed, r.hparams, device)


# --- local process pool ---------------------------------------------------------------------


def _train_in_worker(request: RunRequest, device: str) -> TrainedRun:
    canvas = shared()[request.canvas]
    return train_recipe(
        request.method, canvas, request.recipe, request.seed, request.hparams, device
    )


def _run_pool(
    todo: Sequence[RunRequest], canvases: Mapping[str, Canvas], device: str, workers: int
) -> Iterator[TrainedRun]:
    # Each worker gets the canvases its runs name once, at start-up, not with every run.
    needed = {r.canvas: canvases[r.canvas] for r in todo}
    yield from process_map(_train_in_worker, todo, workers, data=needed, args=(device,))


# --- Ray ------------------------------------------------------------------------------------


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as error:
        raise RuntimeError(
            "executor 'ray' (or RAY_ADDRESS set) needs Ray, which is not installed: "
            "pip install ray (or choose executor 'local')"
        ) from error
    return ray


def _run_ray(
    todo: Sequence[RunRequest], canvases: Mapping[str, Canvas], device: str, workers: int
) -> Iterator[TrainedRun]:
    ray = _import_ray()
    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS") or None)
    # Several small runs share one GPU: each asks for a fraction of it.
    gpus = 1.0 / workers if torch.device(device).type == "cuda" else 0
    refs = {name: ray.put(canvases[name]) for name in {r.canvas for r in todo}}
    task = ray.remote(num_cpus=ITEM_THREADS, num_gpus=gpus)(_train_on_ray)
    pending = [task.remote(r, refs[r.canvas], device) for r in todo]
    try:
        for ref in pending:
            yield ray.get(ref)
    finally:
        for ref in pending:
            ray.cancel(ref)


def _train_on_ray(request: RunRequest, canvas: Canvas, device: str) -> TrainedRun:
    torch.set_num_threads(ITEM_THREADS)
    return train_recipe(
        request.method, canvas, request.recipe, request.seed, request.hparams, device
    )
