"""Is the T4 trainer the bottleneck? Images/s of ``train_algorithm`` (ERM, no per-epoch evaluation)
against a minimal plain PyTorch loop: same model (T4's backbone), initial weights, batch size,
optimiser, precision and memory layout, in-memory data and randperm batching. Each is timed
``--repeats`` times (interleaved, so drifts in machine load hit both alike); the medians are
compared. A third loop, plain and naive (fp32, default layout), shows what T4's precision and
layout settings buy.

    python benchmarks/train_throughput.py --n 20000 --epochs 2 --repeats 3 --out throughput.json

Prints one JSON line: the throughputs, the ratio trainer / plain (1.0 = no overhead) and the
speed-up of the plain loop over the naive one.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from _report import emit

from lazy_artist.data.canvas import Canvas, CanvasSplit, build_canvas
from lazy_artist.data.mnist import MnistArrays
from lazy_artist.methods.algorithms import build_algorithm
from lazy_artist.methods.recipes import RECIPES
from lazy_artist.methods.trainer import train_algorithm
from lazy_artist.precision import PRECISIONS, autocast, channels_last
from lazy_artist.runtime import configure_threads


def synthetic_canvas(n_train: int, seed: int = 0) -> Canvas:
    """A canvas of the full image format from random strokes: throughput does not depend on what
    the digits look like, and this needs no MNIST download."""
    rng = np.random.default_rng(seed)
    n_pool, n_val, n_test = n_train + 1000, 1000, 1000
    strokes = (rng.random((n_pool + n_test, 28, 28)) < 0.15) * rng.integers(0, 256, (1, 28, 28))
    strokes = strokes.astype(np.uint8)
    labels = rng.integers(0, 10, n_pool + n_test).astype(np.int64)
    arrays = MnistArrays(
        strokes[:n_pool], labels[:n_pool], strokes[n_pool:], labels[n_pool:], "synthetic"
    )
    return build_canvas(arrays, seed=seed, n_train=n_train, n_val=n_val, n_test=n_test)


@dataclass(frozen=True)
class LoopSetup:
    """What both loops share: T4's backbone, its budget and its arithmetic."""

    backbone: str
    width: int
    batch_size: int
    lr: float
    epochs: int
    precision: str

    def erm(self, seed: int):
        """ERM on this backbone; the initial weights depend only on ``seed``."""
        return build_algorithm(
            "erm",
            {"batch_size": self.batch_size, "lr": self.lr, "schedule": "constant"},
            {"width": self.width},
            seed,
            backbone=self.backbone,
        )


def plain_loop(split: CanvasSplit, setup: LoopSetup, seed: int, fast_layout: bool = True) -> float:
    """The reference: the least a training loop can do. Returns seconds."""
    model = setup.erm(seed).network  # same architecture and initial weights as the trainer's
    optimiser = torch.optim.Adam(model.parameters(), lr=setup.lr)
    images, labels = torch.from_numpy(split.images), torch.from_numpy(split.labels)
    if fast_layout:
        model.to(memory_format=torch.channels_last)
        images = channels_last(images)
    generator = torch.Generator().manual_seed(seed)
    n, batch_size = len(labels), setup.batch_size
    started = time.perf_counter()
    for _ in range(setup.epochs):
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            with autocast("cpu", setup.precision):
                loss = F.cross_entropy(model(images[idx]), labels[idx])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
    return time.perf_counter() - started


def trainer_loop(canvas: Canvas, setup: LoopSetup, seed: int) -> float:
    """``train_algorithm`` with ERM, no per-epoch evaluation; returns its training seconds (the
    final evaluation is excluded: the plain loop has none)."""
    result = train_algorithm(
        setup.erm(seed),
        canvas,
        epochs=setup.epochs,
        seed=seed,
        progress=False,
        eval_every_epoch=False,
        precision=setup.precision,
    )
    return result.train_seconds


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="training images")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backbone", default="lenet_cnn", help="model registry name (T4's)")
    parser.add_argument("--width", type=int, default=16, help="backbone width (T4 full: 16)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument(
        "--precision", default=None, choices=PRECISIONS, help="default: the backbone's recipe's"
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    precision = args.precision or RECIPES[args.backbone].precision

    threads = configure_threads()
    canvas = synthetic_canvas(args.n)
    setup = LoopSetup(
        backbone=args.backbone,
        width=args.width,
        batch_size=args.batch_size,
        lr=1e-3,
        epochs=args.epochs,
        precision=precision,
    )
    naive = replace(setup, precision="fp32")
    plain_loop(canvas["train"], setup, seed=99)  # warm-up: allocator, kernels, thread pool
    plain, ours, naive_plain = [], [], []
    for repeat in range(args.repeats):
        plain.append(plain_loop(canvas["train"], setup, seed=repeat))
        ours.append(trainer_loop(canvas, setup, seed=repeat))
        naive_plain.append(plain_loop(canvas["train"], naive, seed=repeat, fast_layout=False))
    images = args.n * args.epochs
    plain_ips, trainer_ips = images / statistics.median(plain), images / statistics.median(ours)
    naive_ips = images / statistics.median(naive_plain)
    report = {
        "benchmark": "train_throughput",
        "n_images": args.n,
        "epochs": args.epochs,
        "repeats": args.repeats,
        "backbone": args.backbone,
        "width": args.width,
        "batch_size": args.batch_size,
        "precision": precision,
        "threads": threads,
        "plain_images_per_s": round(plain_ips, 1),
        "trainer_images_per_s": round(trainer_ips, 1),
        "ratio": round(trainer_ips / plain_ips, 4),
        "naive_fp32_images_per_s": round(naive_ips, 1),
        "precision_layout_speedup": round(plain_ips / naive_ips, 3),
        "plain_seconds": [round(s, 3) for s in plain],
        "trainer_seconds": [round(s, 3) for s in ours],
    }
    return emit(report, args.out)


if __name__ == "__main__":
    main()
