"""T0's biased canvas: Coloured MNIST where digit d is usually painted colour d.

Recipe (STUDY.md, T0): the stroke is painted, the background is a random gray level per image,
``pixel = bg * (1 - a) + a * colour`` with ``a`` the digit intensity in [0, 1], plus N(0, 0.02)
noise, clipped to [0, 1]. The background level is drawn from ``BG_RANGE`` = U(0.05, 0.25), a
departure from the seed reports' U(0.3, 0.6), in which the gray stroke (digit 9) was nearly
invisible (see ``BG_RANGE`` for why this range; ``lazy_artist.data.contrast`` measures it). Easy splits give a fraction ``bias`` of each digit its own colour
and the rest one of the other 9 uniformly; hard splits give every digit one of the other 9.

Everything is vectorised over images (chunked only to bound memory). Pixels are quantised to
multiples of 1/255 when the canvas is built, so a canvas saved as uint8 and loaded back is
bit-identical to the one built in memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lazy_artist.data.mnist import MnistArrays

PALETTE_RGB255 = np.array(
    [
        (255, 0, 0),  # 0 red
        (0, 255, 0),  # 1 green
        (0, 0, 255),  # 2 blue
        (255, 255, 0),  # 3 yellow
        (255, 0, 255),  # 4 magenta
        (0, 255, 255),  # 5 cyan
        (255, 128, 0),  # 6 orange
        (128, 0, 255),  # 7 purple
        (0, 128, 255),  # 8 sky blue
        (128, 128, 128),  # 9 gray
    ],
    dtype=np.int64,
)
PALETTE = (PALETTE_RGB255 / 255.0).astype(np.float32)
COLOUR_NAMES = (
    "red",
    "green",
    "blue",
    "yellow",
    "magenta",
    "cyan",
    "orange",
    "purple",
    "sky blue",
    "gray",
)
N_CLASSES = 10

SPLITS = ("train", "val", "conflict_val", "easy_test", "hard_test")
EASY_SPLITS = ("train", "val", "easy_test")
HARD_SPLITS = ("conflict_val", "hard_test")

NOISE_STD = 0.02
# The seed reports drew the background from U(0.3, 0.6), which contains the palette's gray
# (0.502): a gray stroke then differs from its background by |0.502 - bg| <= 0.2, median about
# 0.07 measured, and a third of gray digits fall below 0.05 (2.5 noise sigmas).
SEED_BG_RANGE = (0.3, 0.6)
# Why U(0.05, 0.25): every palette colour except gray has one channel at 1.0, so on a background
# bg <= 0.25 its stroke differs from the background by >= 0.75 * a in that channel; gray differs
# by 0.502 - bg >= 0.25 * a in every channel. Over the stroke pixels (a >= 0.5) the mean
# intensity of every one of MNIST's 70,000 digits is >= 0.688 (median 0.89), so the largest
# per-channel stroke/background difference is >= 0.17 for gray (median about 0.31) and >= 0.5
# for the others, less the noise averaged over >= 15 stroke pixels (sigma <= 0.005): every
# colour clears T0's contrast margin (0.15, 7.5 noise sigmas; ``contrast.py``) on every image. A dark range rather than a light one (say U(0.75, 1)), which would do the same for the
# colours, because the grayscale copy of every split paints a white stroke: a light background
# would hide it. The floor 0.05 (2.5 noise sigmas above black) keeps the background's noise
# unclipped (under 1% of the darkest images' background pixels clip), so the recipe's N(0, 0.02)
# noise statistics hold on the background as before.
BG_RANGE = (0.05, 0.25)
_CHUNK = 8192  # images per vectorised block: bounds temporary memory for the full data


@dataclass
class CanvasSplit:
    images: np.ndarray  # float32 (N, 3, 28, 28), values in [0, 1]
    gray: np.ndarray  # float32 (N, 1, 28, 28): same digits, no colour information
    labels: np.ndarray  # int64 (N,)
    colours: np.ndarray  # int64 (N,): palette index painted on the stroke
    digits: np.ndarray  # uint8 (N, 28, 28): the original MNIST digit, for recolouring
    source_index: np.ndarray  # int64 (N,): index into MNIST train (train/val) or test

    def __len__(self) -> int:
        return len(self.labels)

    def dominant_mask(self) -> np.ndarray:
        return self.colours == self.labels

    def head(self, n: int) -> CanvasSplit:
        """The first ``n`` images (the split is already shuffled, so this is a random subset)."""
        return CanvasSplit(
            *(
                getattr(self, name)[:n]
                for name in ("images", "gray", "labels", "colours", "digits", "source_index")
            )
        )


@dataclass
class Canvas:
    splits: dict[str, CanvasSplit]
    bias: float
    seed: int
    meta: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> CanvasSplit:
        if name not in self.splits:
            raise KeyError(f"unknown split {name!r}; splits are {', '.join(self.splits)}")
        return self.splits[name]

    def sizes(self) -> dict[str, int]:
        return {name: len(split) for name, split in self.splits.items()}

    @property
    def bg_range(self) -> tuple[float, float]:
        """The background range the canvas was painted with: what repainting helpers
        (``recolour_all``, the counterfactual methods) must be given to match it."""
        if "bg_range" not in self.meta:
            raise KeyError("this canvas does not record its background range: rebuild it (T0)")
        low, high = self.meta["bg_range"]
        return float(low), float(high)

    def with_train_subset(self, n: int | None) -> Canvas:
        """The same canvas with only the first ``n`` training images (None: all of them)."""
        if n is None or n >= len(self.splits["train"]):
            return self
        return Canvas(
            {**self.splits, "train": self.splits["train"].head(n)},
            self.bias,
            self.seed,
            dict(self.meta),
        )


def check_bg_range(bg_range: Any) -> tuple[float, float]:
    """``(low, high)`` with ``0 <= low <= high <= 1``, or a ValueError naming the problem."""
    try:
        low, high = (float(value) for value in bg_range)
    except (TypeError, ValueError):
        raise ValueError(
            f"bg_range must be two numbers [low, high] in [0, 1], got {bg_range!r}"
        ) from None
    if not 0.0 <= low <= high <= 1.0:  # NaN fails every comparison, so it lands here too
        raise ValueError(f"bg_range must satisfy 0 <= low <= high <= 1, got {bg_range!r}")
    return low, high


def _check_bias(bias: float) -> float:
    bias = float(bias)
    if not 0.0 <= bias <= 1.0 or np.isnan(bias):
        raise ValueError(f"bias must be a fraction in [0, 1] (e.g. 0.95), got {bias!r}")
    return bias


def assign_colours(labels: np.ndarray, bias: float, rng: np.random.Generator) -> np.ndarray:
    """Colour indices: exactly round(bias * n_d) of each digit d (chosen at random) get colour d,
    the rest one of the other 9 colours uniformly. ``bias=0`` gives the hard (0% dominant) set."""
    bias = _check_bias(bias)
    labels = np.asarray(labels, dtype=np.int64)
    # (d + U{1..9}) % 10 is uniform over the 9 colours that are not d.
    colours = (labels + rng.integers(1, N_CLASSES, size=labels.shape)) % N_CLASSES
    for digit in range(N_CLASSES):
        members = np.flatnonzero(labels == digit)
        n_dominant = int(np.floor(bias * len(members) + 0.5))  # round half up, not to even
        chosen = rng.permutation(members)[:n_dominant]
        colours[chosen] = digit
    return colours


def _paint(
    images_uint8: np.ndarray,
    stroke_rgb: np.ndarray,
    rng: np.random.Generator,
    noise_std: float,
    bg_range: tuple[float, float],
) -> np.ndarray:
    """pixel = bg*(1-a) + a*stroke + noise, clipped; ``stroke_rgb`` is (N, C) per image."""
    images_uint8 = np.asarray(images_uint8)
    n, channels = len(images_uint8), stroke_rgb.shape[1]
    out = np.empty((n, channels, *images_uint8.shape[1:]), dtype=np.float32)
    backgrounds = rng.uniform(bg_range[0], bg_range[1], size=n).astype(np.float32)
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        alpha = images_uint8[start:stop, None].astype(np.float32) / 255.0
        bg = backgrounds[start:stop, None, None, None]
        stroke = stroke_rgb[start:stop, :, None, None].astype(np.float32)
        block = bg * (1.0 - alpha) + alpha * stroke
        if noise_std > 0:
            block += noise_std * rng.standard_normal(block.shape, dtype=np.float32)
        np.clip(block, 0.0, 1.0, out=out[start:stop])
    return out


def colourise(
    images_uint8: np.ndarray,
    colour_idx: np.ndarray,
    rng: np.random.Generator,
    noise_std: float = NOISE_STD,
    bg_range: tuple[float, float] = BG_RANGE,
) -> np.ndarray:
    """Paint each digit's stroke with its palette colour on a random gray background: (N, 3, 28, 28)."""
    colour_idx = np.asarray(colour_idx, dtype=np.int64)
    if colour_idx.shape != (len(images_uint8),):
        raise ValueError(
            f"need one colour per image: {colour_idx.shape} vs {len(images_uint8)} images"
        )
    if colour_idx.size and (colour_idx.min() < 0 or colour_idx.max() >= N_CLASSES):
        raise ValueError("colour indices must be in 0..9")
    return _paint(images_uint8, PALETTE[colour_idx], rng, noise_std, bg_range)


def grayscale(
    images_uint8: np.ndarray,
    rng: np.random.Generator,
    noise_std: float = NOISE_STD,
    bg_range: tuple[float, float] = BG_RANGE,
) -> np.ndarray:
    """Same recipe with a white stroke and one channel: (N, 1, 28, 28), no colour information."""
    white = np.ones((len(images_uint8), 1), dtype=np.float32)
    return _paint(images_uint8, white, rng, noise_std, bg_range)


def recolour_all(
    images_uint8: np.ndarray,
    colour: int,
    rng: np.random.Generator,
    bg_range: tuple[float, float] = BG_RANGE,
) -> np.ndarray:
    """Paint every digit with the one colour ``colour`` (T1's colour-cheating probe)."""
    if not 0 <= int(colour) < N_CLASSES:
        raise ValueError(f"colour must be a palette index 0..9, got {colour!r}")
    return colourise(images_uint8, np.full(len(images_uint8), int(colour)), rng, bg_range=bg_range)


def quantise(images: np.ndarray) -> np.ndarray:
    """Round to multiples of 1/255 (what a uint8 file holds), as float32."""
    return (np.rint(images * 255.0) / 255.0).astype(np.float32)


def _make_split(
    digits: np.ndarray,
    labels: np.ndarray,
    source_index: np.ndarray,
    bias: float,
    seed: int,
    stream: int,
    colours: np.ndarray | None = None,
    bg_range: tuple[float, float] = BG_RANGE,
) -> CanvasSplit:
    # One independent random stream per split, so a split does not change with the others' sizes.
    rng = np.random.default_rng([seed, stream])
    if colours is None:
        colours = assign_colours(labels, bias, rng)
    return CanvasSplit(
        images=quantise(colourise(digits, colours, rng, bg_range=bg_range)),
        gray=quantise(grayscale(digits, rng, bg_range=bg_range)),
        labels=labels.astype(np.int64),
        colours=colours.astype(np.int64),
        digits=digits.astype(np.uint8),
        source_index=source_index.astype(np.int64),
    )


def build_canvas(
    arrays: MnistArrays,
    bias: float = 0.95,
    seed: int = 0,
    n_train: int | None = None,
    n_val: int = 5000,
    n_test: int | None = None,
    bg_range: tuple[float, float] = BG_RANGE,
) -> Canvas:
    """Build the five splits of SPLITS from MNIST (see the module docstring).

    ``bg_range`` is kept in ``canvas.meta["bg_range"]``. The helpers that repaint digits later
    (``recolour_all``, the counterfactual methods) default to ``BG_RANGE``: a canvas built with
    another range must pass it on to them.
    """
    bias = _check_bias(bias)
    bg_range = check_bg_range(bg_range)
    n_pool = len(arrays.train_labels)
    if not 0 < n_val < n_pool:
        raise ValueError(f"n_val must be in 1..{n_pool - 1}, got {n_val}")
    if n_train is None:
        n_train = n_pool - n_val
    if not 0 < n_train <= n_pool - n_val:
        raise ValueError(
            f"n_train must be in 1..{n_pool - n_val} with n_val={n_val}, got {n_train}"
        )
    n_test_pool = len(arrays.test_labels)
    if n_test is None:
        n_test = n_test_pool
    if not 0 < n_test <= n_test_pool:
        raise ValueError(f"n_test must be in 1..{n_test_pool}, got {n_test}")

    # Seeded permutations: validation first, training from the rest; test subsets are random too,
    # so a quick-profile subset keeps MNIST's class balance in expectation.
    perm = np.random.default_rng([seed, 0]).permutation(n_pool)
    val_idx, train_idx = np.sort(perm[:n_val]), np.sort(perm[n_val : n_val + n_train])
    test_perm = np.random.default_rng([seed, 1]).permutation(n_test_pool)
    test_idx = np.arange(n_test_pool) if n_test == n_test_pool else np.sort(test_perm[:n_test])

    tr_x, tr_y = arrays.train_images, arrays.train_labels
    te_x, te_y = arrays.test_images, arrays.test_labels
    bg = {"bg_range": bg_range}
    splits = {
        "train": _make_split(tr_x[train_idx], tr_y[train_idx], train_idx, bias, seed, 10, **bg),
        "val": _make_split(tr_x[val_idx], tr_y[val_idx], val_idx, bias, seed, 11, **bg),
        # The validation digits again, every one in a non-dominant colour: a selection set built
        # from training data under the known nuisance, never from the test set.
        "conflict_val": _make_split(tr_x[val_idx], tr_y[val_idx], val_idx, 0.0, seed, 12, **bg),
        "easy_test": _make_split(te_x[test_idx], te_y[test_idx], test_idx, bias, seed, 13, **bg),
        "hard_test": _make_split(te_x[test_idx], te_y[test_idx], test_idx, 0.0, seed, 14, **bg),
    }
    meta = {
        "n_train": n_train,
        "n_val": n_val,
        "n_test": n_test,
        "mnist_source": arrays.source,
        "bg_range": list(bg_range),
    }
    return Canvas(splits=splits, bias=bias, seed=int(seed), meta=meta)


_FIELDS = ("images", "gray", "labels", "colours", "digits", "source_index")


def save_canvas(canvas: Canvas, path: str | Path) -> Path:
    """Write the canvas as one .npz (images as uint8 to keep it small; no pickles inside)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload: dict[str, np.ndarray] = {}
    for name, split in canvas.splits.items():
        for key in _FIELDS:
            value = getattr(split, key)
            if key in ("images", "gray"):
                value = np.rint(value * 255.0).astype(np.uint8)
            payload[f"{name}/{key}"] = value
    header = {
        "bias": canvas.bias,
        "seed": canvas.seed,
        "splits": list(canvas.splits),
        "meta": canvas.meta,
    }
    payload["header"] = np.array(json.dumps(header, sort_keys=True))
    tmp = path.with_name(f".{path.name}.tmp.npz")
    np.savez(tmp, **payload)
    tmp.replace(path)  # atomic: a reader never sees a half-written canvas
    return path


def load_canvas(path: str | Path) -> Canvas:
    """Read a canvas written by :func:`save_canvas`."""
    with np.load(Path(path), allow_pickle=False) as data:
        header = json.loads(str(data["header"]))
        splits = {}
        for name in header["splits"]:
            values = {key: data[f"{name}/{key}"] for key in _FIELDS}
            for key in ("images", "gray"):
                values[key] = values[key].astype(np.float32) / np.float32(255.0)
            splits[name] = CanvasSplit(**values)
    return Canvas(
        splits=splits, bias=float(header["bias"]), seed=int(header["seed"]), meta=header["meta"]
    )


def contingency(labels: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """Counts of (digit, colour) pairs: a 10x10 int array, rows digits, columns colours."""
    table = np.zeros((N_CLASSES, N_CLASSES), dtype=np.int64)
    np.add.at(table, (np.asarray(labels), np.asarray(colours)), 1)
    return table


def dominant_share_per_digit(split: CanvasSplit) -> np.ndarray:
    """For each digit, the share of its images painted its own colour (NaN if the digit is absent)."""
    counts = contingency(split.labels, split.colours)
    totals = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(counts) / np.maximum(totals, 1), np.nan)


def dominant_share(split: CanvasSplit) -> float:
    """Share of all images in the split painted their digit's own colour."""
    return float(np.mean(split.dominant_mask())) if len(split) else float("nan")


def dominant_colour_table(canvas: Canvas) -> dict[str, np.ndarray]:
    """Per split, per digit: the share with colour == digit (easy splits ~ bias, hard splits 0)."""
    return {name: dominant_share_per_digit(split) for name, split in canvas.splits.items()}
