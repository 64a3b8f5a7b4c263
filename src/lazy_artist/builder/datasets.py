"""Data identity for cache keys: a fingerprint of the arrays a task reads, whatever their source.

Loading MNIST to hash it costs about a second, so the fingerprint is memoised in the build
directory against a stamp (path, size, mtime) of every file that could be a source.
Loading here also surfaces a missing data set before any task runs.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

from lazy_artist.fileio import atomic_write_json, read_json


def _mnist_fingerprint(data_root: Path) -> str:
    from lazy_artist.data.mnist import load_mnist, mnist_fingerprint

    return mnist_fingerprint(load_mnist(data_root))


def _mnist_candidates(data_root: Path) -> list[Path]:
    candidates = sorted((data_root / "MNIST" / "raw").glob("*"))
    spec = importlib.util.find_spec("mnist")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidates.append(Path(location) / "data" / "mnist.pkl.gz")
    return candidates


def _fashion_fingerprint(data_root: Path) -> str:
    from lazy_artist.data.fashion import load_fashion_mnist
    from lazy_artist.data.mnist import mnist_fingerprint

    return mnist_fingerprint(load_fashion_mnist(data_root))


def _fashion_candidates(data_root: Path) -> list[Path]:
    from lazy_artist.data.fashion import candidate_files

    return candidate_files(data_root)


# dataset name -> (fingerprint function, source files whose change invalidates the memo)
DATASETS: dict[str, tuple[Callable[[Path], str], Callable[[Path], list[Path]]]] = {
    "mnist": (_mnist_fingerprint, _mnist_candidates),
    "fashion_mnist": (_fashion_fingerprint, _fashion_candidates),
}


def _stamp(paths: list[Path]) -> list[list]:
    stamp = []
    for path in paths:
        if path.exists():
            stat = path.stat()
            stamp.append([str(path.resolve()), stat.st_size, stat.st_mtime_ns])
    return stamp


def _read_memo(memo_file: Path) -> dict:
    """The fingerprint memo; a damaged one is only a cache miss (it is rewritten below)."""
    try:
        memo = read_json(memo_file)
    except (OSError, ValueError):
        return {}
    return memo if isinstance(memo, dict) else {}


def data_identity(name: str, data_root: Path, memo_file: Path) -> str:
    """Fingerprint of data set ``name`` under ``data_root``, memoised in ``memo_file``."""
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}: known data sets are {', '.join(DATASETS)}")
    fingerprint_fn, candidates_fn = DATASETS[name]
    stamp = _stamp(candidates_fn(data_root))
    memo = _read_memo(memo_file)
    entry = memo.get(name) if isinstance(memo.get(name), dict) else {}
    if (
        stamp
        and entry.get("stamp") == stamp
        and entry.get("data_root") == str(data_root.resolve())
        and isinstance(entry.get("fingerprint"), str)
    ):
        return entry["fingerprint"]
    fingerprint = fingerprint_fn(data_root)
    # Re-stamp after loading: a download may have created the source files.
    memo[name] = {
        "stamp": _stamp(candidates_fn(data_root)),
        "data_root": str(data_root.resolve()),
        "fingerprint": fingerprint,
    }
    atomic_write_json(memo_file, memo)
    return fingerprint
