import numpy as np
import pytest

from lazy_artist.interpret.exemplars import top_exemplars


def test_top_images_per_unit_strongest_first_with_their_labels():
    digits = np.array([0, 1, 2, 3, 4, 5])
    colours = np.array([9, 9, 9, 1, 2, 3])
    # Unit 0 fires on colour 9 (images 0-2), unit 1 increases with the digit.
    scores = np.array([[5.0, 0.0], [6.0, 1.0], [4.0, 2.0], [0.0, 3.0], [1.0, 4.0], [0.0, 5.0]])
    ex = top_exemplars(scores, digits, colours, k=3)
    assert ex.indices.tolist() == [[1, 0, 2], [5, 4, 3]]
    assert ex.values.tolist() == [[6.0, 5.0, 4.0], [5.0, 4.0, 3.0]]
    assert ex.colours.tolist() == [[9, 9, 9], [3, 2, 1]]
    assert ex.digits.tolist() == [[1, 0, 2], [5, 4, 3]]
    colour_purity, digit_purity = ex.purity()
    assert colour_purity.tolist() == [1.0, pytest.approx(1 / 3)]
    assert digit_purity.tolist() == [pytest.approx(1 / 3), pytest.approx(1 / 3)]


def test_ties_keep_dataset_order_and_k_is_capped():
    ex = top_exemplars(np.ones((3, 1)), np.arange(3), np.arange(3), k=10)
    assert ex.indices.tolist() == [[0, 1, 2]]


def test_mismatched_inputs_are_rejected():
    with pytest.raises(ValueError, match="scores must be"):
        top_exemplars(np.ones((3, 2)), np.arange(4), np.arange(4), k=1)
    with pytest.raises(ValueError, match="k must be"):
        top_exemplars(np.ones((3, 2)), np.arange(3), np.arange(3), k=0)
