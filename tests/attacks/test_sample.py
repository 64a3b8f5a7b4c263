"""The fair sample: only images every model gets right, in split order; too few is an error
that says how many there are (or, when allowed, a flagged top-up)."""

import numpy as np
import pytest

from lazy_artist.attacks.sample import FairSampleError, fair_sample

LABELS = np.array([7, 1, 7, 7, 3, 7, 7, 7])
PREDICTIONS = {
    "a": np.array([7, 1, 7, 1, 3, 7, 7, 7]),  # misses position 3
    "b": np.array([7, 1, 2, 7, 3, 7, 7, 0]),  # misses positions 2 and 7
}


def test_first_images_every_model_gets_right():
    sample = fair_sample(PREDICTIONS, LABELS, 3, source_class=7)
    assert sample.fair and sample.indices.tolist() == [0, 5, 6]
    assert sample.n_candidates == 6 and sample.n_fair_available == 3
    assert sample.correct_per_model == {"a": 5, "b": 4}
    everything = fair_sample(PREDICTIONS, LABELS, 4)
    assert everything.indices.tolist() == [0, 1, 4, 5]


def test_too_few_is_an_error_with_the_counts():
    with pytest.raises(
        FairSampleError, match=r"need 4 images of class 7 .* 3 of 6 candidate images"
    ):
        fair_sample(PREDICTIONS, LABELS, 4, source_class=7)


def test_an_allowed_top_up_is_flagged_unfair():
    sample = fair_sample(PREDICTIONS, LABELS, 5, source_class=7, allow_unfair=True)
    assert not sample.fair
    assert sample.indices[:3].tolist() == [0, 5, 6]  # the fair ones first
    assert set(sample.indices[3:].tolist()) <= {2, 3, 7}


@pytest.mark.parametrize("n", [0, -1, 2.5])
def test_bad_sizes_are_refused(n):
    with pytest.raises(ValueError, match="sample size"):
        fair_sample(PREDICTIONS, LABELS, n)
