"""T7's grid: every (data set, architecture, variant) fitted, the same numbers serial or in a
process pool, and findings that fail when the numbers say so."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lazy_artist.data.scramble import pixel_permutation
from lazy_artist.inductive.experiment import gray_splits
from lazy_artist.inductive.grid import (
    CNN,
    FC,
    Training,
    accuracy_rows,
    accuracy_table,
    expected_findings,
    fgsm_grid,
    plan_fits,
    run_fits,
)
from tests.inductive.test_experiment import fake_arrays

ARCHITECTURES = {
    FC: ("mlp", {"in_channels": 1, "hidden": [16]}),
    CNN: ("lenet_cnn", {"in_channels": 1, "width": 4}),
}
TRAINING = Training(epochs=1, batch_size=32, lr=3e-3, seed=0)


@pytest.fixture(scope="module")
def grid():
    splits = {"toy": gray_splits(fake_arrays(160, 40), n_train=120, n_val=40, n_test=40, seed=0)}
    permutation = pixel_permutation(28 * 28, 0)
    return splits, permutation, plan_fits(["toy"], list(ARCHITECTURES))


def test_the_plan_covers_every_cell_once():
    specs = plan_fits(["a", "b"], [FC, CNN])
    assert len(specs) == len({s.key for s in specs}) == 8
    assert specs[0].key == ("a", FC, "clean") and specs[1].key == ("a", FC, "scrambled")


def test_serial_and_parallel_fits_are_bit_identical(grid):
    splits, permutation, specs = grid
    serial = run_fits(specs, splits, permutation, ARCHITECTURES, TRAINING, jobs=1)
    parallel = run_fits(specs, splits, permutation, ARCHITECTURES, TRAINING, jobs=2)
    assert list(serial) == list(parallel) == [s.key for s in specs]
    for key, fit in serial.items():
        other = parallel[key]
        assert fit.test_accuracy == other.test_accuracy and fit.history == other.history
        for name, tensor in fit.model.state_dict().items():
            assert torch.equal(tensor, other.model.state_dict()[name]), (key, name)
    # The scrambled fit really saw scrambled images: a different model from the clean one.
    clean, scrambled = serial[("toy", CNN, "clean")], serial[("toy", CNN, "scrambled")]
    assert any(
        not torch.equal(a, b)
        for a, b in zip(
            clean.model.state_dict().values(), scrambled.model.state_dict().values(), strict=True
        )
    )
    fgsm = fgsm_grid(serial, splits, permutation, [0.0, 0.3], 20)
    assert set(fgsm["toy"]) == {FC, CNN} and set(fgsm["toy"][FC]) == {"clean", "scrambled"}
    assert fgsm["toy"][CNN]["clean"][0] == pytest.approx(
        float(
            (
                clean.model(torch.as_tensor(splits["toy"].test[0][:20])).argmax(1).numpy()
                == splits["toy"].test[1][:20]
            ).mean()
        )
    ), "epsilon 0 is the clean accuracy"


def test_tables_and_findings_follow_the_numbers():
    fits = {
        ("toy", FC, "clean"): 0.90,
        ("toy", FC, "scrambled"): 0.895,
        ("toy", CNN, "clean"): 0.98,
        ("toy", CNN, "scrambled"): 0.90,
    }

    class Fit:
        def __init__(self, accuracy: float) -> None:
            self.test_accuracy = accuracy

    accuracy = accuracy_table({k: Fit(v) for k, v in fits.items()})
    assert accuracy == {
        "toy": {FC: {"clean": 0.90, "scrambled": 0.895}, CNN: {"clean": 0.98, "scrambled": 0.90}}
    }
    rows = accuracy_rows(accuracy, {FC: "mlp", CNN: "lenet_cnn"}, {"toy": "Toy"})
    assert rows[1][:3] == ["Toy", CNN, "lenet_cnn"] and rows[1][5] == pytest.approx(-8.0)
    held = expected_findings(accuracy, {"toy": "Toy"}, fc_tolerance=0.01, min_cnn_drop=0.005)
    assert [f.passed for f in held] == [True, True, True]
    # The same checks fail when the FCNN moves, the CNN does not drop, or the FCNN wins.
    accuracy["toy"][FC]["scrambled"] = 0.5
    accuracy["toy"][CNN]["scrambled"] = 0.98
    accuracy["toy"][FC]["clean"] = 0.99
    failed = expected_findings(accuracy, {"toy": "Toy"}, fc_tolerance=0.01, min_cnn_drop=0.005)
    assert [f.passed for f in failed] == [False, False, False]
    assert "required >= 0.005" in failed[1].detail and np.isfinite(rows[0][5])
