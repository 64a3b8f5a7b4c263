"""Trains the Ray test's runs on a local Ray in a process of their own and pickles them to the
path given (``python -m tests.methods.ray_child OUT``). If Ray's raylet dies, Ray ends its
driver process outright (exit 1, nothing printed); here that ends this child, not pytest."""

from __future__ import annotations

import pickle
import sys

import ray

from lazy_artist.methods.executor import fit_many
from tests.methods.test_executor import make_canvas, ray_requests


def main(out: str) -> None:
    # A small object store: the runs share one 256-image canvas, and CI containers may have
    # little shared memory.
    ray.init(
        num_cpus=1, include_dashboard=False, log_to_driver=False, object_store_memory=100 << 20
    )
    try:
        runs = fit_many(ray_requests(), {"c": make_canvas()}, jobs=2, executor="ray")
    finally:
        ray.shutdown()
    with open(out, "wb") as handle:
        pickle.dump(runs, handle)


if __name__ == "__main__":
    main(sys.argv[1])
