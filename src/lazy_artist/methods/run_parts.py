"""What a memoised run's key is made of, kept beside the memo so ``status`` can say why a run
would retrain.

:class:`~lazy_artist.methods.memo.RunMemo` hashes its key parts into one digest and keeps only
the method, seed, epochs and bias of an entry; its files stay as they are (existing entries
must stay valid). So the executor writes a *sidecar* per stored run,
``<memo>/.parts/<key>.json``, with the components themselves (shared code digest, method code
digest, hparams, recipe, canvas digest, torch version, device type, precision) and the bias.
A planned run whose key has no entry is compared with the sidecars of the same method,
backbone, seed and bias: the components that differ are why it retrains.

:func:`key_parts` rebuilds ``RunMemo.key``'s payload from public digests;
:func:`~lazy_artist.methods.memo.payload_key` hashes it the same way, and a sidecar is
written only when that hash names the stored entry, so a sidecar can never describe another key (tests compare both with ``RunMemo.key``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from lazy_artist.codehash import CodeGraph
from lazy_artist.data.canvas import Canvas
from lazy_artist.fileio import atomic_write_json, read_json
from lazy_artist.methods.base import Algorithm
from lazy_artist.methods.memo import (
    MODEL_FILE,
    RESULT_FILE,
    RunMemo,
    canvas_digest,
    key_payload,
    method_code_digest,
    payload_key,
    training_code,
    training_code_digest,
)

PARTS_DIR = ".parts"  # beside the memo's <key[:2]>/<key> entries (hex names, never dotted)


class KeyParts:
    """``RunMemo.key``'s payload for a run, the code graph parsed and each canvas hashed once."""

    def __init__(self, package_dir: Path | None = None) -> None:
        self._package_dir = package_dir
        self._graph: CodeGraph | None = None
        self._code: str | None = None
        self._method_code: dict[type, str] = {}
        self._canvases: dict[int, tuple[Canvas, str]] = {}

    def parts(
        self,
        algorithm: Algorithm,
        canvas: Canvas | None,
        *,
        epochs: int,
        seed: int,
        device: torch.device | str,
        precision: str,
        canvas_digest: str | None = None,
    ) -> dict[str, Any]:
        """The payload ``RunMemo.key`` hashes for this run (the same fields and values);
        ``canvas_digest``, when known, stands for hashing ``canvas`` (which may then be None)."""
        if self._graph is None:
            self._graph = training_code(self._package_dir)
            self._code = training_code_digest(self._graph)
        cls = type(algorithm)
        if cls not in self._method_code:
            self._method_code[cls] = method_code_digest(cls, self._graph)
        assert self._code is not None
        return key_payload(
            algorithm,
            epochs=epochs,
            seed=seed,
            device=device,
            precision=precision,
            canvas=canvas_digest or self.canvas(canvas),
            code=self._code,
            method_code=self._method_code[cls],
        )

    def canvas(self, canvas: Canvas | None) -> str:
        if canvas is None:
            raise ValueError("a canvas (or its digest) is needed for a run's key parts")
        held = self._canvases.get(id(canvas))
        if held is None or held[0] is not canvas:  # an id reused by a new object
            held = (canvas, canvas_digest(canvas))
            self._canvases[id(canvas)] = held
        return held[1]


def plain(parts: Mapping[str, Any]) -> dict[str, Any]:
    """``parts`` as its JSON form (what a sidecar holds), so stored and fresh compare equal."""
    return json.loads(json.dumps(dict(parts), sort_keys=True, default=str))


def sidecar_path(directory: Path, key: str) -> Path:
    return Path(directory) / PARTS_DIR / f"{key}.json"


def entry_complete(memo: RunMemo, key: str) -> bool:
    entry = memo.entry(key)
    return (entry / RESULT_FILE).exists() and (entry / MODEL_FILE).exists()


def record_parts(
    memo: RunMemo | None, parts: Mapping[str, Any], bias: float, expected_key: str | None = None
) -> Path | None:
    """Write the sidecar of the stored run ``parts`` describe; None (nothing written) when the
    memo is off, when ``parts`` hash to another key than ``expected_key`` (the key the run was
    loaded under) or when no complete entry has their key."""
    if memo is None or not memo.enabled or memo.directory is None:
        return None
    key = payload_key(parts)
    if (expected_key and expected_key != key) or not entry_complete(memo, key):
        return None
    path = sidecar_path(memo.directory, key)
    record = {"key": key, "bias": float(bias), "parts": plain(parts)}
    if path.exists():
        try:
            held = read_json(path)
        except (OSError, ValueError):
            held = None
        if isinstance(held, dict) and {k: held.get(k) for k in record} == record:
            return path  # already recorded: keep when it was first stored
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, {**record, "recorded_ns": time.time_ns()})
    return path


def read_sidecars(directory: Path | None) -> list[dict[str, Any]]:
    """Every readable sidecar under ``directory`` (unreadable ones are skipped: they only
    explain, never decide)."""
    if directory is None or not (Path(directory) / PARTS_DIR).is_dir():
        return []
    found = []
    for path in sorted((Path(directory) / PARTS_DIR).glob("*.json")):
        try:
            record = read_json(path)
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and isinstance(record.get("parts"), dict):
            found.append(record)
    return found
