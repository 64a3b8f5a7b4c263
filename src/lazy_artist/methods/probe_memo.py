"""T4's colour-following scores, kept beside the run memo so that a rebuild does not probe again.

A T4 rebuild with every run memoised still probed every checkpoint (each of ``probe_images``
digits painted ten colours, a forward pass each): with the training memoised that was nine
tenths of the rebuild. A score is a function of the checkpoint's weights, the probe images
(the split's digits and labels, the count, the seed, the background range), the probe's code
and the device type and torch version it ran on, so it is stored under the sha256 of exactly
those and read back. Keyed on the weights, not on the run's memo key, a retrained run whose
weights came out the same reuses its score and one whose weights moved does not. As with the
run memo, only the driver reads and writes it (one JSON file per score).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from lazy_artist.data.canvas import CanvasSplit
from lazy_artist.fileio import atomic_write_json, read_json
from lazy_artist.methods.reliance import colour_following
from lazy_artist.sourcehash import combine_digests, module_digests, reachable_modules

PROBES_DIR = ".probes"  # beside the memo's <key[:2]>/<key> entries (hex names, never dotted)
# The probe's code: the module that scores and everything it imports from the library.
_PROBE_SOURCE = "import lazy_artist.methods.reliance\n"


def weights_digest(network: nn.Module) -> str:
    """sha256 of a network's weights and buffers (names, dtypes, shapes, values), whatever
    their memory layout (a channels-last copy hashes as its contiguous twin)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(network.state_dict().items()):
        value = tensor.detach().cpu().contiguous()
        digest.update(f"{name}\0{value.dtype}\0{tuple(value.shape)}\0".encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def probe_code_digest() -> str:
    """sha256 of the code a colour-following score runs (comments and docstrings aside)."""
    return combine_digests(module_digests(reachable_modules(_PROBE_SOURCE)))


class ProbeMemo:
    """Colour-following scores under ``directory``; ``ProbeMemo(None)`` computes every one."""

    def __init__(self, directory: str | Path | None) -> None:
        self.directory = Path(directory) if directory else None
        self._code: str | None = None
        self._images: dict[tuple[int, int], tuple[CanvasSplit, str]] = {}
        self.hits = 0
        self.misses = 0

    def colour_following(
        self,
        network: nn.Module,
        input_kind: str,
        split: CanvasSplit,
        n_images: int | None,
        seed: int,
        device: torch.device | str,
        *,
        bg_range: tuple[float, float],
    ) -> float | None:
        """:func:`~lazy_artist.methods.reliance.colour_following`, read from the memo when this
        exact probe of these exact weights was scored before."""
        probe = {
            "network": network,
            "input_kind": input_kind,
            "split": split,
            "n_images": n_images,
            "seed": seed,
            "device": device,
            "bg_range": bg_range,
        }
        if self.directory is None or input_kind == "gray":
            return colour_following(**probe)
        path = self._path(probe)
        stored = self._read(path)
        if stored is not None:
            self.hits += 1
            return stored["following"]
        score = colour_following(**probe)
        self.misses += 1
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, {"following": score})
        return score

    def _path(self, probe: Mapping[str, Any]) -> Path:
        """Where the score of ``probe`` (``colour_following``'s arguments) is stored."""
        assert self.directory is not None
        if self._code is None:
            self._code = probe_code_digest()
        split, n_images = probe["split"], probe["n_images"]
        count = len(split) if n_images is None else min(int(n_images), len(split))
        payload = {
            "weights": weights_digest(probe["network"]),
            "input_kind": probe["input_kind"],
            "images": self._images_digest(split, count),
            "count": count,
            "seed": int(probe["seed"]),
            "bg_range": [float(bound) for bound in probe["bg_range"]],
            "code": self._code,
            "torch": torch.__version__,
            "device_type": torch.device(probe["device"]).type,
        }
        key = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        return self.directory / PROBES_DIR / f"{key}.json"

    def _images_digest(self, split: CanvasSplit, count: int) -> str:
        # Every checkpoint of a build is probed on the same split: hash its digits once.
        held = self._images.get((id(split), count))
        if held is None or held[0] is not split:
            digest = hashlib.sha256(np.ascontiguousarray(split.digits[:count]).tobytes())
            digest.update(np.ascontiguousarray(split.labels[:count]).tobytes())
            held = (split, digest.hexdigest())
            self._images[(id(split), count)] = held
        return held[1]

    @staticmethod
    def _read(path: Path) -> dict | None:
        """The stored record, or None when absent or unreadable (then it is scored again)."""
        try:
            stored = read_json(path)
        except (FileNotFoundError, ValueError):
            return None
        following = stored.get("following") if isinstance(stored, dict) else None
        if isinstance(following, bool) or not isinstance(following, (int, float)):
            return None
        return stored
