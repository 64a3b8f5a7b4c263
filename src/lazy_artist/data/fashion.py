"""FashionMNIST (for T7) from whichever source is available, as uint8 arrays like MNIST's.

Sources, tried in order:

1. an existing torchvision FashionMNIST folder under ``data_root``
   (``<data_root>/FashionMNIST/raw``, uncompressed IDX files);
2. the IDX files of the Debian package ``dataset-fashion-mnist``
   (``/usr/share/datasets/fashion-mnist/*.gz``);
3. torchvision's download into ``data_root`` (only when ``allow_download``).

The local copies come before the download so that a machine that has the data never needs
the network; every source holds the same IDX files, so the arrays are identical. IDX is a plain
array format (no code runs when it is read); a truncated or mislabelled file fails the header
check. With no source, :class:`DataUnavailableError` names every way to provide the data.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from lazy_artist.data.mnist import DataUnavailableError, MnistArrays, _short

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
DEBIAN_PACKAGE = "dataset-fashion-mnist"
TORCHVISION_FOLDER = Path("FashionMNIST") / "raw"
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
CLASS_NAMES = (
    "T-shirt/top",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
)
_IDX_UINT8 = 0x08


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (optionally gzip-compressed) of unsigned bytes, checking its header."""
    path = Path(path)
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number)")
    if raw[2] != _IDX_UINT8:
        raise ValueError(f"{path}: IDX type code {raw[2]:#04x}, expected {_IDX_UINT8:#04x} (uint8)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise ValueError(
            f"{path}: header says {shape} = {expected} bytes, file holds {len(raw) - header}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write a uint8 array as an IDX file (gzip-compressed when the name ends in .gz)."""
    path = Path(path)
    array = np.ascontiguousarray(array, dtype=np.uint8)
    payload = struct.pack(">HBB", 0, _IDX_UINT8, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    payload += array.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(payload, mtime=0) if path.suffix == ".gz" else payload)
    return path


def load_idx_folder(folder: str | Path, suffix: str = "", source: str = "") -> MnistArrays:
    """The four MNIST-layout IDX files in ``folder`` (names + ``suffix``, e.g. ".gz")."""
    folder = Path(folder)
    arrays = {name: read_idx(folder / f"{stem}{suffix}") for name, stem in IDX_FILES.items()}
    return _validated(
        MnistArrays(
            train_images=arrays["train_images"],
            train_labels=arrays["train_labels"].astype(np.int64),
            test_images=arrays["test_images"],
            test_labels=arrays["test_labels"].astype(np.int64),
            source=source or f"IDX files in {folder}",
        )
    )


def load_fashion_mnist(
    data_root: str | Path = "data",
    allow_download: bool = True,
    debian_dir: str | Path | None = None,
) -> MnistArrays:
    """FashionMNIST from the first source that works (see the module docstring);
    ``debian_dir`` None means :data:`DEBIAN_DIR`."""
    data_root, debian_dir = Path(data_root), Path(debian_dir or DEBIAN_DIR)
    folder = data_root / TORCHVISION_FOLDER
    failures: list[str] = []
    attempts = [
        (
            f"torchvision folder {folder}",
            lambda: load_idx_folder(folder, "", f"torchvision folder {folder}"),
        ),
        (
            f"{DEBIAN_PACKAGE} files in {debian_dir}",
            lambda: load_idx_folder(debian_dir, ".gz", f"{DEBIAN_PACKAGE} files in {debian_dir}"),
        ),
    ]
    if allow_download:
        attempts.append((f"torchvision download into {data_root}", lambda: _download(data_root)))
    for description, attempt in attempts:
        try:
            return attempt()
        except Exception as error:  # noqa: BLE001 - every failure is reported together below
            failures.append(f"{description}: {_short(error)}")
    if not allow_download:
        failures.append("torchvision download: not tried (this build reads local copies only)")
    raise DataUnavailableError(
        "FashionMNIST is not available. Provide it in any one of these ways:\n"
        f"  (a) put a torchvision FashionMNIST folder at {folder} "
        f"(files {', '.join(IDX_FILES.values())});\n"
        f"  (b) install the Debian package: apt-get install {DEBIAN_PACKAGE} "
        f"(files in {debian_dir}), or as root `python -m lazy_artist data --install`;\n"
        "  (c) on a machine with network access, torchvision downloads it into the data folder.\n"
        "Or build without T7: --skip t7.\n"
        "What each attempt failed with:\n" + "\n".join(f"  - {line}" for line in failures)
    )


def local_copy(data_root: str | Path, debian_dir: str | Path | None = None) -> Path | None:
    """The first local source whose four IDX files are all present (no download, nothing
    read): what the provisioning step checks before it installs anything."""
    folder, debian_dir = Path(data_root) / TORCHVISION_FOLDER, Path(debian_dir or DEBIAN_DIR)
    for where, suffix in ((folder, ""), (debian_dir, ".gz")):
        if all((where / f"{stem}{suffix}").is_file() for stem in IDX_FILES.values()):
            return where
    return None


def candidate_files(data_root: str | Path, debian_dir: str | Path | None = None) -> list[Path]:
    """Every file that could be a source (their stamps decide when a fingerprint is stale)."""
    folder, debian_dir = Path(data_root) / TORCHVISION_FOLDER, Path(debian_dir or DEBIAN_DIR)
    return [folder / stem for stem in IDX_FILES.values()] + [
        Path(debian_dir) / f"{stem}.gz" for stem in IDX_FILES.values()
    ]


def _download(data_root: Path) -> MnistArrays:
    import torchvision  # imported lazily: only this source needs it

    for train in (True, False):
        torchvision.datasets.FashionMNIST(root=str(data_root), train=train, download=True)
    return load_idx_folder(
        data_root / TORCHVISION_FOLDER, "", f"torchvision download into {data_root}"
    )


def _validated(arrays: MnistArrays) -> MnistArrays:
    """Images (N, 28, 28) with N labels in 0..9 for both splits."""
    for split in ("train", "test"):
        images, labels = getattr(arrays, f"{split}_images"), getattr(arrays, f"{split}_labels")
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise ValueError(f"{split} images have shape {images.shape}, expected (N, 28, 28)")
        if labels.shape != (len(images),):
            raise ValueError(f"{split}: {len(images)} images but labels of shape {labels.shape}")
        if len(labels) and (labels.min() < 0 or labels.max() > 9):
            raise ValueError(f"{split} labels outside 0..9")
    return arrays
