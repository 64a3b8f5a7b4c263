"""T6's models analysed in worker processes give the numbers of a serial run."""

import numpy as np
import pytest

from lazy_artist.data.canvas import save_canvas
from lazy_artist.methods.artefacts import MethodIndex
from lazy_artist.sae.autoencoder import SaeSettings
from lazy_artist.sae.compare import plan_models
from lazy_artist.sae.runner import AnalysisSettings, analyse_models, study_splits
from lazy_artist.sae.study import InterventionSettings, all_summaries
from lazy_artist.zoo import matched_pairs
from tests._t4_index import add_untrained_run


@pytest.fixture
def upstream(tmp_path, small_canvas):
    """T0's canvas and a T4 index with untrained erm and cf_invar on cheater_cnn, seed 0."""
    t4 = tmp_path / "t4"
    index = MethodIndex(t4 / "artefacts" / "models", default_backbone="lenet_cnn")
    for method in ("erm", "cf_invar"):
        add_untrained_run(index, method, "cheater_cnn", 0, default_rule="easy_val")
    index.set_best("erm", backbone="cheater_cnn", rule="conflict_val")
    index.set_best("cf_invar", "cheater_cnn", "conflict_val", debiased=True)
    index.save()
    canvas_path = save_canvas(small_canvas, tmp_path / "t0" / "artefacts" / "canvas.npz")
    return {"t0": str(tmp_path / "t0"), "t4": str(t4)}, canvas_path


SETTINGS = AnalysisSettings(
    configs="conv2:per_position",
    focus_config="last_conv:spatial_mean",
    positions_per_image=2,
    n_train_images=200,
    n_hard_images=60,
    sae=SaeSettings(expansion=2, epochs=1, steps_per_epoch=5, batch_size=32),
    interventions=InterventionSettings(n_ablate=2, n_random_draws=2),
)


def _numbers(analyses):
    summaries = all_summaries(analyses)
    for entry in summaries.values():
        entry.pop("train_seconds")  # wall time: the only number allowed to differ
    return summaries


def test_workers_give_the_numbers_of_a_serial_run(upstream, small_canvas):
    dirs, canvas_path = upstream
    plan = plan_models(matched_pairs(dirs))
    assert [p.name for p in plan] == ["erm@cheater_cnn#0:easy_val", "cf_invar@cheater_cnn#0:easy_val"]  # fmt: skip
    serial = analyse_models(plan, dirs, canvas_path, SETTINGS, jobs=1, canvas=small_canvas)
    parallel = analyse_models(plan, dirs, canvas_path, SETTINGS, jobs=2)
    assert _numbers(serial) == _numbers(parallel)
    assert [a.noop_gap for a in parallel] == [0.0, 0.0]
    assert [list(a.results) for a in parallel] == [["conv2:per_position", "conv3:spatial_mean"]] * 2
    back = parallel[0].focus_result
    # What came back through pickling still works: its tail is rebuilt on demand.
    hard = study_splits(small_canvas, SETTINGS)["hard"]
    assert np.array_equal(
        back.bound.intervention_logits(hard.images, {"x": None})["x"], back.logits["before"]
    )
