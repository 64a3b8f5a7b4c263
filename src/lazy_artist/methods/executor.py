"""Run independent training runs concurrently: in this process, in a local process pool, or as
Ray tasks, with results bit-identical to one after another.

Two rules make the engines interchangeable:

* Every run trains with :data:`RUN_THREADS` intra-op threads, whichever engine runs it and
  however many run at once. Torch's CPU kernels split their reductions by thread count, so a
  run on 2 threads and the same run on 1 differ in the last bits; pinning the count makes the
  numbers independent of ``jobs`` (and of the machine's core count). Concurrency comes from
  running several runs at once, not from threads inside one.
* Workers never touch the memo. The driver looks every run up first (hits are never
  dispatched), sends only the misses, gets back each run's checkpoints and record, and alone
  writes the memo entries: no two writers of one key, no shared filesystem.

A worker rebuilds the algorithm from its name, hparams and seed and trains it with the memo
off; the driver rebuilds it the same way and loads the returned checkpoints, exactly as a memo
hit is restored (:func:`lazy_artist.methods.run.restore_run`).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import torch

from lazy_artist.data.canvas import Canvas
from lazy_artist.methods.algorithms import Algorithm
from lazy_artist.methods.memo import RunMemo
from lazy_artist.methods.recipes import Recipe
from lazy_artist.methods.run import TrainedRun, fit_recipe, restore_run, train_recipe
from lazy_artist.methods.trainer import MethodResult

RUN_THREADS = 1  # intra-op threads of every run, serial or parallel (see the module docstring)
EXECUTORS = ("auto", "local", "ray")  # "auto": Ray when RAY_ADDRESS names a cluster, else local
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@dataclass(frozen=True)
class RunRequest:
    """One run to fit: ``canvas`` names an entry of the canvases passed alongside (a canvas is
    shipped to each worker once, not once per run)."""

    method: str
    canvas: str
    recipe: Recipe
    seed: int
    hparams: Mapping[str, Any] | None = None


def available_cores() -> int:
    """The cores this process may run on (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def resolve_workers(jobs: int, runs: int, cores: int | None = None) -> int:
    """Workers for ``runs`` runs: ``jobs`` >= 1 as given (never more than the runs), 0 = one per
    core (measured best on 2 cores: 2 single-threaded runs beat 1 run on 2 threads)."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 0:
        raise ValueError(f"jobs must be an integer >= 0 (0 = one per core), got {jobs!r}")
    wanted = jobs or max(1, (cores or available_cores()) // RUN_THREADS)
    return max(1, min(wanted, runs))


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


@contextlib.contextmanager
def run_threads(threads: int = RUN_THREADS) -> Iterator[None]:
    """Torch's intra-op thread count set to ``threads`` inside the block, restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


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
    if engine == "local" and workers == 1:
        # In-process: the memo lookup, training and store of each run, one after another.
        with run_threads():
            return [
                fit_recipe(r.method, canvases[r.canvas], r.recipe, r.seed, r.hparams, device, memo)
                for r in requests
            ]
    results: list[tuple[Algorithm, MethodResult] | None] = [None] * len(requests)
    misses = []
    for i, r in enumerate(requests):
        canvas = canvases[r.canvas]
        held = fit_recipe(r.method, canvas, r.recipe, r.seed, r.hparams, device, memo, True)
        if held is None:
            misses.append(i)
        else:
            results[i] = held
    if misses:
        todo = [requests[i] for i in misses]
        workers = resolve_workers(jobs, len(todo))
        log(f"training {len(todo)} run(s) on {workers} {engine} worker(s) x {RUN_THREADS} thread")
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
            log(f"  run {n}/{len(todo)} trained: {r.recipe.backbone} {r.method} seed {r.seed}")
    return results  # type: ignore[return-value]  # every slot filled above


def _run_here(
    todo: Sequence[RunRequest], canvases: Mapping[str, Canvas], device: str
) -> Iterator[TrainedRun]:
    for r in todo:
        with run_threads():
            yield train_recipe(r.method, canvases[r.canvas], r.recipe, r.seed, r.hparams, device)


# --- local process pool ---------------------------------------------------------------------

_WORKER_CANVASES: dict[str, Canvas] = {}


def _init_worker(canvases: Mapping[str, Canvas], deterministic: bool) -> None:
    for name in THREAD_ENV:  # for libraries loaded after this point (torch is already in)
        os.environ[name] = str(RUN_THREADS)
    torch.set_num_threads(RUN_THREADS)
    with contextlib.suppress(RuntimeError):  # already set once inter-op work has started
        torch.set_num_interop_threads(1)
    torch.use_deterministic_algorithms(deterministic, warn_only=True)
    _WORKER_CANVASES.clear()
    _WORKER_CANVASES.update(canvases)


def _train_in_worker(request: RunRequest, device: str) -> TrainedRun:
    return train_recipe(
        request.method,
        _WORKER_CANVASES[request.canvas],
        request.recipe,
        request.seed,
        request.hparams,
        device,
    )


def _run_pool(
    todo: Sequence[RunRequest], canvases: Mapping[str, Canvas], device: str, workers: int
) -> Iterator[TrainedRun]:
    # spawn: a fresh interpreter per worker (fork would copy the driver's torch thread pools
    # and any open CUDA context, which torch does not support). Each worker gets the canvases
    # its runs name once, at start-up, not with every run.
    needed = {r.canvas: canvases[r.canvas] for r in todo}
    context = multiprocessing.get_context("spawn")
    initargs = (needed, torch.are_deterministic_algorithms_enabled())
    with ProcessPoolExecutor(workers, context, _init_worker, initargs) as pool:
        futures = [pool.submit(_train_in_worker, r, device) for r in todo]
        try:
            for future in futures:
                yield future.result()
        finally:  # a failed run (or a stop) cancels the runs not yet started
            for future in futures:
                future.cancel()


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
    task = ray.remote(num_cpus=RUN_THREADS, num_gpus=gpus)(_train_on_ray)
    pending = [task.remote(r, refs[r.canvas], device) for r in todo]
    try:
        for ref in pending:
            yield ray.get(ref)
    finally:
        for ref in pending:
            ray.cancel(ref)


def _train_on_ray(request: RunRequest, canvas: Canvas, device: str) -> TrainedRun:
    torch.set_num_threads(RUN_THREADS)
    return train_recipe(
        request.method, canvas, request.recipe, request.seed, request.hparams, device
    )
