"""Which files under given folders a process (and the worker processes it spawns) opens.

The builder keys a task on what it read of its upstream tasks' outputs, not on their keys
(an early cut-off): a task whose upstream re-ran stays cached when the files it opened there
are byte-for-byte the same. The record comes from Python's audit hook (PEP 578: every
``open``, ``io.open`` and ``os.open``, so ``numpy.load``, ``torch.load`` and
``Path.read_text`` too), installed in the task's kernel by its launcher (``python -m
lazy_artist.readtrace``) and in every worker of :func:`lazy_artist.parallel.process_map`
through the environment. Each opened path under a traced folder is appended, once per
process, as one line to the log (``O_APPEND`` writes: several processes share one log).

Reads this cannot see: files opened by C code outside Python's ``open`` (none in this
project), and processes not started through ``process_map`` (Ray workers: T4's runs receive
their data from the driver). Existence checks (``Path.exists``) are not reads; the builder
keys on each upstream's whole file list as well, so a file that appears or vanishes counts.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence

LOG_ENV = "LAZY_ARTIST_TRACE_LOG"
ROOTS_ENV = "LAZY_ARTIST_TRACE_ROOTS"  # os.pathsep-joined absolute folders
LOG_FLAG, ROOT_FLAG = "--trace-log=", "--trace-root="

_installed = False


def install(log: str, roots: Sequence[str]) -> None:
    """Append every later open of a file under ``roots`` to ``log`` (this process, and the
    ``process_map`` workers it starts, which read the environment set here)."""
    global _installed
    if _installed or not roots:
        return
    prefixes = tuple(os.path.join(os.path.abspath(root), "") for root in roots)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    seen: set[str] = set()

    def hook(event: str, args: tuple) -> None:
        if event != "open":
            return
        path = args[0]
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, str) or path in seen:
            return
        seen.add(path)
        absolute = os.path.abspath(path)
        if absolute.startswith(prefixes):
            os.write(fd, (absolute + "\n").encode())

    os.environ[LOG_ENV] = log
    os.environ[ROOTS_ENV] = os.pathsep.join(roots)
    sys.addaudithook(hook)  # for the life of the process: audit hooks cannot be removed
    _installed = True


def install_from_env() -> None:
    """In a worker process: trace as the process that started it does (nothing if it does
    not)."""
    log, roots = os.environ.get(LOG_ENV), os.environ.get(ROOTS_ENV)
    if log and roots:
        install(log, roots.split(os.pathsep))


def read_log(log: str | os.PathLike[str]) -> list[str]:
    """The paths a traced run opened, each once, in first-open order ('' lines dropped)."""
    try:
        with open(log, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        return []
    return list(dict.fromkeys(line for line in lines if line))


def kernel_arguments(log: str, roots: Iterable[str]) -> list[str]:
    """The extra launcher arguments that make a kernel trace ``roots`` into ``log``."""
    return [LOG_FLAG + log, *(ROOT_FLAG + root for root in roots)]


def _launch_kernel(argv: list[str]) -> None:
    """``python -m lazy_artist.readtrace [--trace-log=F --trace-root=D ...] -f CONNECTION``:
    install the trace, then run ipykernel as ``ipykernel_launcher`` does."""
    log = next((a[len(LOG_FLAG) :] for a in argv if a.startswith(LOG_FLAG)), None)
    roots = [a[len(ROOT_FLAG) :] for a in argv if a.startswith(ROOT_FLAG)]
    sys.argv = [sys.argv[0], *(a for a in argv if not a.startswith((LOG_FLAG, ROOT_FLAG)))]
    if log:
        install(log, roots)
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    _launch_kernel(sys.argv[1:])
