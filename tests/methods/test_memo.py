"""The run memo reuses a run only when nothing that can change its result changed."""

from __future__ import annotations

import pytest
import torch

from lazy_artist.methods import memo as memo_module
from lazy_artist.methods.memo import RESULT_FILE, RunMemo, canvas_digest
from lazy_artist.methods.run import fit_method
from tests.methods.test_algorithms import TINY, tiny_canvas


@pytest.fixture(scope="module")
def canvas():
    return tiny_canvas(n_train=128)


def fit(canvas, memo, name="erm", seed=0, hparams=None, precision="bf16"):
    return fit_method(
        name,
        canvas,
        hparams=hparams,
        backbone_width=TINY["width"],
        epochs=1,
        seed=seed,
        backbone="lenet_cnn",
        memo=memo,
        precision=precision,
    )


def test_a_stored_run_is_reused_with_its_weights_and_record(tmp_path, canvas):
    memo = RunMemo(tmp_path)
    trained, first = fit(canvas, memo)
    assert (memo.hits, memo.misses) == (0, 1) and not first.extra.get("reused")

    again = RunMemo(tmp_path)  # a new build: nothing held in memory
    reused, second = fit(canvas, again)
    assert (again.hits, again.misses) == (1, 0) and second.extra["reused"]
    assert second.selected == first.selected and second.history == first.history
    assert second.seconds == first.seconds  # the wall time measured when it trained
    x = torch.rand(4, 3, 28, 28)
    trained.eval(), reused.eval()
    assert torch.equal(trained.predict(x), reused.predict(x))


def test_anything_that_changes_the_result_changes_the_key(tmp_path, canvas):
    memo = RunMemo(tmp_path)
    fit(canvas, memo)
    fit(canvas, memo, seed=1)  # another seed
    fit(canvas, memo, hparams={"lr": 0.002})  # another hparam value
    fit(canvas, memo, name="gray_oracle")  # another method
    fit(canvas.with_train_subset(64), memo)  # other data
    fit(canvas, memo, precision="fp32")  # other arithmetic
    assert (memo.hits, memo.misses) == (0, 6)
    assert len(list(tmp_path.glob("*/*/" + RESULT_FILE))) == 6


def test_a_training_code_change_retrains(tmp_path, canvas, monkeypatch):
    fit(canvas, RunMemo(tmp_path))
    monkeypatch.setattr(memo_module, "training_code_digest", lambda: "edited trainer")
    memo = RunMemo(tmp_path)
    fit(canvas, memo)
    assert (memo.hits, memo.misses) == (0, 1)


def test_an_incomplete_entry_is_never_trusted(tmp_path, canvas):
    memo = RunMemo(tmp_path)
    fit(canvas, memo)
    (result_file,) = tmp_path.glob("*/*/" + RESULT_FILE)
    result_file.unlink()  # as if killed before the entry was whole
    again = RunMemo(tmp_path)
    fit(canvas, again)
    assert (again.hits, again.misses) == (0, 1)
    assert len(list(tmp_path.glob("*/*/" + RESULT_FILE))) == 1


def test_off_without_a_directory(canvas):
    memo = RunMemo(None)
    _, result = fit(canvas, memo)
    assert not memo.enabled and (memo.hits, memo.misses) == (0, 0)
    assert "off" in memo.summary() and not result.extra.get("reused")


def test_canvas_digest_sees_a_single_pixel(canvas):
    before = canvas_digest(canvas)
    canvas["train"].images[0, 0, 0, 0] += 0.5
    try:
        assert canvas_digest(canvas) != before
    finally:
        canvas["train"].images[0, 0, 0, 0] -= 0.5
