"""How does the batched minimum-epsilon search scale? Seconds per sample of ``min_epsilon`` (the
T5 search: targeted PGD, sweep over every budget, then bisection) for growing N, and the same
samples searched one at a time, which is what an unbatched implementation would cost.

    python benchmarks/min_epsilon.py --sizes 1 4 16 64 --out build/bench/min_epsilon.json

The model is the study's cheater architecture, by default trained for a few seconds on synthetic
colour-coded strokes (so no data or build is needed); ``--checkpoint`` attacks a trained one
(e.g. T1's cheater, build/quick/t4/artefacts/models/cheater_cnn/erm-seed0-easy_val.pt) instead. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import torch
from _report import emit

from lazy_artist.attacks.min_epsilon import min_epsilon, pgd_attack
from lazy_artist.attacks.pgd import PGDConfig
from lazy_artist.data.canvas import PALETTE
from lazy_artist.models import build_model
from lazy_artist.models.checkpoints import load_checkpoint

TARGET = 3


def synthetic_images(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random strokes painted in their class's palette colour on a gray background: the
    colour shortcut of the study without needing MNIST."""
    labels = torch.randint(0, 10, (n,), generator=generator)
    strokes = (torch.rand(n, 1, 28, 28, generator=generator) < 0.2).float()
    background = 0.3 + 0.3 * torch.rand(n, 1, 1, 1, generator=generator)
    colours = torch.as_tensor(PALETTE)[labels][:, :, None, None]
    return background * (1 - strokes) + strokes * colours, labels


def make_model(checkpoint: Path | None, seed: int) -> torch.nn.Module:
    """A trained checkpoint, or the cheater architecture trained for a few hundred steps on
    synthetic colour-coded strokes (seconds)."""
    if checkpoint is not None:
        return load_checkpoint(checkpoint)
    torch.manual_seed(seed)
    model = build_model("cheater_cnn", in_channels=3, width=8)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(300):
        x, y = synthetic_images(64, generator)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return model.eval()


def make_images(model: torch.nn.Module, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` images the model classifies correctly, none of the target class."""
    generator = torch.Generator().manual_seed(seed)
    kept_x, kept_y = [], []
    while sum(len(k) for k in kept_y) < n:
        x, y = synthetic_images(4 * n, generator)
        with torch.no_grad():
            keep = (model(x).argmax(1) == y) & (y != TARGET)
        kept_x.append(x[keep])
        kept_y.append(y[keep])
    return torch.cat(kept_x)[:n], torch.cat(kept_y)[:n]


def timed_search(model, images, labels, config, grid, bisection, seed) -> tuple[float, int]:
    started = time.perf_counter()
    result = min_epsilon(pgd_attack(model, config, TARGET, seed), images, labels, grid, bisection)
    return time.perf_counter() - started, result.gradient_steps


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 16, 64, 128])
    parser.add_argument("--unbatched-size", type=int, default=16, help="N searched one by one")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--restarts", type=int, default=2)
    parser.add_argument("--bisection", type=int, default=5)
    parser.add_argument(
        "--grid", type=float, nargs="+", default=[0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 1.0]
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    model = make_model(args.checkpoint, args.seed)
    config = PGDConfig(
        steps=args.steps, restarts=args.restarts, schedule="cosine", target_confidence=0.9
    )
    common = dict(config=config, grid=args.grid, bisection=args.bisection, seed=args.seed)
    warm_x, warm_y = make_images(model, 2, args.seed + 99)
    timed_search(model, warm_x, warm_y, **common)  # warm-up: allocator, kernels

    batched = []
    for n in args.sizes:
        images, labels = make_images(model, n, args.seed)
        seconds, steps = timed_search(model, images, labels, **common)
        batched.append(
            {
                "n": n,
                "seconds": round(seconds, 3),
                "seconds_per_sample": round(seconds / n, 4),
                "gradient_steps_per_sample": round(steps / n, 1),
                "ms_per_gradient_step": round(1000 * seconds / max(steps, 1), 4),
            }
        )
    n = args.unbatched_size
    images, labels = make_images(model, n, args.seed)
    one_by_one = sum(
        timed_search(model, images[i : i + 1], labels[i : i + 1], **common)[0] for i in range(n)
    )
    together, _ = timed_search(model, images, labels, **common)
    report = {
        "benchmark": "min_epsilon",
        "model": str(args.checkpoint) if args.checkpoint else "cheater_cnn (synthetic colour task)",
        "threads": args.threads,
        "machine": platform.machine(),
        "config": {
            "steps": args.steps,
            "restarts": args.restarts,
            "bisection": args.bisection,
            "grid": args.grid,
        },
        "batched": batched,
        "unbatched": {
            "n": n,
            "seconds_one_by_one": round(one_by_one, 3),
            "seconds_batched": round(together, 3),
            "speedup": round(one_by_one / together, 2),
        },
    }
    return emit(report, args.out)


if __name__ == "__main__":
    main()
