"""Map a function over independent work items in a local process pool, with the numbers of a
serial run.

Every item runs with :data:`ITEM_THREADS` intra-op torch threads, in a worker or in this
process alike: torch's CPU kernels split their reductions by thread count, so pinning it makes
the results independent of how many items run at once. Workers are *spawned* (fork would copy
the driver's torch thread pools and any CUDA context, which torch does not support) and receive
the data every item shares once, at start-up, not with every item.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

import torch

from lazy_artist import readtrace

ITEM_THREADS = 1  # intra-op threads of every item, serial or parallel (module docstring)
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

Item = TypeVar("Item")
Result = TypeVar("Result")

_SHARED: dict[str, Any] = {}


def available_cores() -> int:
    """The cores this process may run on (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def resolve_workers(jobs: int, items: int, cores: int | None = None) -> int:
    """Workers for ``items`` items: ``jobs`` >= 1 as given (never more than the items), 0 = one
    per core (measured best on 2 cores: 2 single-threaded runs beat 1 run on 2 threads)."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 0:
        raise ValueError(f"jobs must be an integer >= 0 (0 = one per core), got {jobs!r}")
    wanted = jobs or max(1, (cores or available_cores()) // ITEM_THREADS)
    return max(1, min(wanted, items))


@contextlib.contextmanager
def pinned_threads(threads: int = ITEM_THREADS) -> Iterator[None]:
    """Torch's intra-op thread count set to ``threads`` inside the block, restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def eta_text(done: int, total: int, elapsed_s: float) -> str:
    """``"3/10 done, 5m12s elapsed, about 12m8s left"``: the time left assumes the remaining
    items take as long on average as the finished ones."""
    if done < 1:
        return f"0/{total} done"
    left = elapsed_s / done * (total - done)
    return f"{done}/{total} done, {_duration(elapsed_s)} elapsed, about {_duration(left)} left"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def shared() -> Mapping[str, Any]:
    """In a worker (or a serial :func:`process_map`): the ``shared`` data of the map."""
    return _SHARED


def _init_worker(data: Mapping[str, Any], deterministic: bool) -> None:
    readtrace.install_from_env()  # the builder keys a task on the upstream files it reads
    for name in THREAD_ENV:  # for libraries loaded after this point (torch is already in)
        os.environ[name] = str(ITEM_THREADS)
    torch.set_num_threads(ITEM_THREADS)
    with contextlib.suppress(RuntimeError):  # already set once inter-op work has started
        torch.set_num_interop_threads(1)
    torch.use_deterministic_algorithms(deterministic, warn_only=True)
    _SHARED.clear()
    _SHARED.update(data)


def process_map(
    function: Callable[..., Result],
    items: Iterable[Item],
    workers: int,
    data: Mapping[str, Any] | None = None,
    args: tuple[Any, ...] = (),
) -> Iterator[Result]:
    """``function(item, *args)`` for every item, results yielded in item order.

    ``function`` must be a module-level function (it is pickled by reference); it reads the
    common ``data`` through :func:`shared`. ``workers == 1`` runs in this process, with the
    same thread pinning. A failure (or the caller stopping early) cancels the items not yet
    started."""
    items = list(items)
    if workers <= 1:
        held = dict(_SHARED)
        _SHARED.clear()
        _SHARED.update(data or {})
        try:
            for item in items:
                with pinned_threads():
                    yield function(item, *args)
        finally:
            _SHARED.clear()
            _SHARED.update(held)
        return
    context = multiprocessing.get_context("spawn")
    initargs = (dict(data or {}), torch.are_deterministic_algorithms_enabled())
    with ProcessPoolExecutor(workers, context, _init_worker, initargs) as pool:
        futures = [pool.submit(function, item, *args) for item in items]
        try:
            for future in futures:
                yield future.result()
        finally:
            for future in futures:
                future.cancel()
