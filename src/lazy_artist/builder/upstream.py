"""What a task's cache key takes from each upstream task: the files it read there.

A task's last run recorded which of its upstream tasks' output files it opened
(:mod:`lazy_artist.readtrace`; ``reads`` in its ``task.json``). Its key holds, per upstream
task, the digests of those files and the upstream's list of file names, taken from the
upstream's committed output digests. So when an upstream task re-runs and rewrites the files
this task read byte for byte (T4 retraining a method that is not among the models T5
attacks), this task stays cached: the early cut-off of Shake and Bazel, with the read set
measured instead of declared. A task with no recorded reads (its first run, or a record from
before reads were traced) is keyed on its upstream tasks' keys, as every rebuild was before.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

READS_FIELD = "reads"  # in task.json: {upstream task: [relative paths it opened there]}


def upstream_identity(
    upstream_key: str,
    outputs: Mapping[str, Mapping[str, Any]] | None,
    read: Iterable[str] | None,
) -> str:
    """The part of a task's key that stands for one upstream task.

    ``read``: the upstream files (relative paths) the task's run opened, or None when no run
    recorded them (then ``upstream_key`` itself). ``outputs``: the upstream's committed
    ``{relative path: {"sha256": ...}}``. A read file missing from ``outputs`` (gone, or not
    an output) stands for the whole upstream, by its key."""
    if read is None or outputs is None:
        return upstream_key
    payload = {
        "files": sorted(outputs),
        "read": {
            path: outputs[path].get("sha256") if path in outputs else f"key:{upstream_key}"
            for path in sorted(set(read))
        },
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def recorded_reads(record: Mapping[str, Any] | None, upstream: str) -> list[str] | None:
    """What a stored run read of ``upstream`` ([] when it read nothing there), or None when the
    record has no read trace."""
    if not record or not isinstance(record.get(READS_FIELD), dict):
        return None
    return list(record[READS_FIELD].get(upstream, []))


def reads_by_upstream(
    paths: Iterable[str], upstream_dirs: Mapping[str, str | os.PathLike[str]]
) -> dict[str, list[str]]:
    """Opened absolute ``paths`` as ``{upstream: sorted relative paths}``, for every upstream
    (an empty list where nothing was read); paths outside every upstream folder are dropped."""
    roots = {name: os.path.join(os.path.abspath(path), "") for name, path in upstream_dirs.items()}
    found: dict[str, set[str]] = {name: set() for name in upstream_dirs}
    for path in paths:
        absolute = os.path.abspath(path)
        for name, root in roots.items():
            if absolute.startswith(root):
                found[name].add(os.path.relpath(absolute, root).replace(os.sep, "/"))
                break
    return {name: sorted(files) for name, files in found.items()}
