"""Reuse finished training runs: T4's 30+ runs are its cost, not its tables and plots.

A run is stored under a key that hashes everything that can change its result: the method and
its resolved hparams, the backbone, the epoch budget, the seed, the canvas's arrays, the
training code it goes through, the torch version and the device type. Editing a T4 plot or
check re-executes the notebook in seconds; a build interrupted after 20 of 33 runs resumes at
run 21.

The training code is hashed in two parts (:mod:`lazy_artist.codehash`), as syntax trees
without comments or docstrings. The *shared* part is every library module
``lazy_artist.methods.run`` imports, whole (trainer, run, models, canvas, precision, ...),
except the methods' own modules and the recipes (:data:`METHOD_MODULES`), of which only the
definitions the shared code uses count (``Algorithm``, ``build_algorithm``, ``hparams_for``,
``Recipe``, ...). The
*method* part is the run's class (``type(algorithm)``), its base classes and every
definition they name, followed across modules. So editing ``cf_invar``'s loss, or a helper
only it calls, retrains the ``cf_invar`` runs and nothing else; editing the base class, a
helper the base uses or a shared module retrains every run; adding or removing a method, or
changing its registered ``name``, changes the registry's names, which the shared code reads,
and retrains every run.
The hyper-parameter tables of ``methods/hparams.py`` count by value: a run reads them only
through ``hparams_for``, whose result (the resolved hparams) is in the key, so a new default
for one method re-keys that method's runs only (:data:`VALUE_KEYED_TABLES`).

Each entry is a directory written under a temporary name and renamed into place, so a killed
run never leaves a half-written entry that a later build would trust. The entry records the
size and sha256 of its files (``hashes.json``); a lookup checks them, and a damaged entry is
moved to ``.damaged/`` beside the entries and that run alone is trained again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lazy_artist.codehash import CodeGraph
from lazy_artist.data.canvas import Canvas
from lazy_artist.digests import check_digests, file_digest
from lazy_artist.fileio import atomic_write_json, make_temp_dir, read_json
from lazy_artist.methods.base import Algorithm
from lazy_artist.methods.trainer import MethodResult

MODEL_FILE = "network.pt"
RESULT_FILE = "result.json"
KEY_FILE = "key.json"
HASHES_FILE = "hashes.json"  # size + sha256 of the files above, written before the rename
DAMAGED_DIR = ".damaged"
TRAINING_ENTRY_POINT = "import lazy_artist.methods.run\n"
# Hashed per definition: the methods' own code, so one method's edit re-keys its runs only,
# and the recipes, whose table (RECIPES) no shared code reads: a run gets its backbone's recipe
# as fields that are in the key (epochs, width, precision, optimiser settings), so editing one
# backbone's recipe re-keys that backbone's runs only.
METHOD_MODULES = (
    "lazy_artist.methods.algorithms",
    "lazy_artist.methods.base",
    "lazy_artist.methods.counterfactual",
    "lazy_artist.methods.hparams",
    "lazy_artist.methods.recipes",
)
# hparams.py's tables (METHOD_SPECS, DEFAULT_HPARAMS, ...: every NAME = {...} there) reach a
# run, through these readers, only as the resolved hparams, which are in the key as values:
# read there they count by their names, not their values (see lazy_artist.codehash).
# Likewise RECIPES, read by no run: each run's recipe fields are in its key (see METHOD_MODULES).
VALUE_KEYED_TABLES = {
    "lazy_artist.methods.hparams": ("*", ("hparams_for", "_specs", "random_hparams")),
    "lazy_artist.methods.recipes": (("RECIPES",), ("parse_backbones", "resolve_recipes")),
}
# build_algorithm looks the run's method up here; that class is type(algorithm), hashed apart.
METHOD_REGISTRY = ("lazy_artist.methods.base", "REGISTRY")


def training_code(package_dir: Path | None = None) -> CodeGraph:
    """The code training runs reach, read from ``package_dir`` (default: this package)."""
    return CodeGraph(
        TRAINING_ENTRY_POINT,
        METHOD_MODULES,
        package_dir,
        keyed_by_value=VALUE_KEYED_TABLES,
        entry_registries=[METHOD_REGISTRY],
    )


def training_code_digest(graph: CodeGraph | None = None) -> str:
    """sha256 of the library code every training run goes through (the shared part)."""
    return (graph or training_code()).shared_digest()


def method_code_digest(cls: type, graph: CodeGraph | None = None) -> str:
    """sha256 of the code a run of the method class ``cls`` adds to the shared part."""
    return (graph or training_code()).method_digest(cls)


def canvas_digest(canvas: Canvas) -> str:
    """sha256 over every split's arrays plus the canvas's bias and seed."""
    digest = hashlib.sha256(f"{canvas.bias!r}/{canvas.seed!r}".encode())
    for name in sorted(canvas.splits):
        split = canvas.splits[name]
        for field_name in ("images", "gray", "labels", "colours", "digits", "source_index"):
            array = np.ascontiguousarray(getattr(split, field_name))
            digest.update(f"{name}.{field_name}{array.dtype}{array.shape}".encode())
            digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


RETRAIN_ALL = "all"


def key_payload(
    algorithm: Algorithm,
    *,
    epochs: int,
    seed: int,
    device: torch.device | str,
    precision: str,
    canvas: str,
    code: str,
    method_code: str,
) -> dict[str, Any]:
    """What a run's memo key is made of: the run's settings and the digests of its canvas,
    the shared training code and its method's code (the one payload :meth:`RunMemo.key` and
    the status sidecars of :mod:`lazy_artist.methods.run_parts` both hash)."""
    return {
        "method": algorithm.name,
        "hparams": algorithm.hparams,
        "backbone": algorithm.backbone,
        "backbone_kwargs": algorithm.backbone_kwargs,
        "epochs": int(epochs),
        "seed": int(seed),
        "canvas": canvas,
        "code": code,
        "method_code": method_code,
        "torch": torch.__version__,
        "device_type": torch.device(device).type,
        "precision": precision,
    }


def payload_key(payload: Mapping[str, Any]) -> str:
    """The memo key of a :func:`key_payload`: sha256 of its canonical JSON."""
    canonical = json.dumps(dict(payload), sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class RunMemo:
    """Stored runs under ``directory``; ``RunMemo(None)`` stores and finds nothing.

    ``retrain`` (the builder's ``--retrain``): ``"all"`` or a list of method names whose runs
    are trained again even when stored; their new entries replace the stored ones.
    """

    def __init__(
        self, directory: str | Path | None, retrain: str | list[str] | None = None
    ) -> None:
        self.directory = Path(directory) if directory else None
        self.retrain = retrain
        self._code: str | None = None
        self._graph: CodeGraph | None = None  # parsed once per memo, i.e. per build
        self._method_code: dict[type, str] = {}
        self._canvas_digests: dict[int, tuple[Canvas, str]] = {}
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.directory is not None

    def key(
        self,
        algorithm: Algorithm,
        canvas: Canvas,
        *,
        epochs: int,
        seed: int,
        device: torch.device | str,
        precision: str,
    ) -> str:
        if self._graph is None:
            self._graph = training_code()
        if self._code is None:
            self._code = training_code_digest(self._graph)
        cls = type(algorithm)
        if cls not in self._method_code:
            self._method_code[cls] = method_code_digest(cls, self._graph)
        payload = key_payload(
            algorithm,
            epochs=epochs,
            seed=seed,
            device=device,
            precision=precision,
            canvas=self._canvas_digest(canvas),
            code=self._code,
            method_code=self._method_code[cls],
        )
        return payload_key(payload)

    def _canvas_digest(self, canvas: Canvas) -> str:
        # Hashing a full canvas takes a second or two; the same object is hashed once.
        held = self._canvas_digests.get(id(canvas))
        if held is None or held[0] is not canvas:
            held = (canvas, canvas_digest(canvas))
            self._canvas_digests[id(canvas)] = held
        return held[1]

    def entry(self, key: str) -> Path:
        if self.directory is None:
            raise ValueError("this RunMemo has no directory")
        return self.directory / key[:2] / key

    def load(self, key: str, algorithm: Algorithm) -> MethodResult | None:
        """Put the stored run's selected weights into ``algorithm.network`` and return its
        record (``extra["reused"]`` set), or None when there is no complete entry."""
        if self.directory is None:
            return None
        if self.retrain and (self.retrain == RETRAIN_ALL or algorithm.name in self.retrain):
            self.misses += 1
            return None
        entry = self.entry(key)
        if not (entry / RESULT_FILE).exists() or not (entry / MODEL_FILE).exists():
            self.misses += 1
            return None
        damage = self._damage(entry)
        if damage is None:
            try:
                state = torch.load(entry / MODEL_FILE, map_location="cpu", weights_only=True)
                algorithm.network.load_state_dict(state)
                result = MethodResult(**read_json(entry / RESULT_FILE))
            except Exception as error:  # e.g. an entry from before hashes, since damaged
                damage = f"unreadable ({type(error).__name__}: {str(error)[:200]})"
        if damage is not None:
            moved = self._set_aside(entry)
            print(f"run memo: entry {key[:12]} damaged: {damage}; moved to {moved}, retraining")
            self.misses += 1
            return None
        result.extra = {**result.extra, "reused": True, "memo_key": key}
        self.hits += 1
        return result

    def store(
        self, key: str, algorithm: Algorithm, result: MethodResult, about: Mapping[str, Any]
    ) -> Path | None:
        """Write one entry atomically (temporary directory, then rename)."""
        if self.directory is None:
            return None
        entry = self.entry(key)
        entry.parent.mkdir(parents=True, exist_ok=True)
        # Half-written copies of this entry are left by killed builds (the build lock keeps
        # two builds from writing one memo at once, so none of them is in progress).
        for stale in entry.parent.glob(f".{key[:12]}.*"):
            shutil.rmtree(stale, ignore_errors=True)
        # make_temp_dir: the renamed entry gets mkdir's mode, not mkdtemp's private 0700.
        staging = make_temp_dir(entry.parent, prefix=f".{key[:12]}.")
        try:
            state = {
                name: tensor.detach().cpu()
                for name, tensor in algorithm.network.state_dict().items()
            }
            torch.save(state, staging / MODEL_FILE)
            atomic_write_json(staging / KEY_FILE, dict(about))
            atomic_write_json(staging / RESULT_FILE, result.as_dict())
            hashes = {
                name: file_digest(staging / name) for name in (MODEL_FILE, KEY_FILE, RESULT_FILE)
            }
            atomic_write_json(staging / HASHES_FILE, hashes)
            if entry.exists():
                shutil.rmtree(entry)  # a stale, incomplete entry
            os.replace(staging, entry)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return entry

    def _damage(self, entry: Path) -> str | None:
        """What is wrong with a stored entry's files, or None (entries written before hashes
        were recorded have none; loading them is their check)."""
        if not (entry / HASHES_FILE).exists():
            return None
        try:
            recorded = read_json(entry / HASHES_FILE)
        except ValueError:
            return f"{HASHES_FILE} is not valid JSON"
        return check_digests(entry, recorded) if isinstance(recorded, dict) else "bad hashes"

    def _set_aside(self, entry: Path) -> Path:
        target = self.directory / DAMAGED_DIR / f"{entry.name}-{time.time_ns()}"
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(entry, target)
        return target

    def summary(self) -> str:
        if self.directory is None:
            return "run memo off: every run trained"
        return f"run memo: {self.hits} run(s) reused, {self.misses} trained ({self.directory})"
