import numpy as np
import pytest

from lazy_artist.data.canvas import CanvasSplit
from lazy_artist.interpret.contrast import colour_pairs, conflicting_colours, verdicts


def _split(n: int = 40) -> CanvasSplit:
    rng = np.random.default_rng(0)
    digits = np.zeros((n, 28, 28), dtype=np.uint8)
    digits[:, 8:20, 12:16] = 255  # a bar
    labels = rng.integers(0, 10, n)
    colours = labels.copy()
    colours[::2] = (labels[::2] + 3) % 10  # half already conflicting
    return CanvasSplit(
        images=np.zeros((n, 3, 28, 28), np.float32),
        gray=np.zeros((n, 1, 28, 28), np.float32),
        labels=labels,
        colours=colours,
        digits=digits,
        source_index=np.arange(n),
    )


def test_pairs_differ_only_on_the_stroke_and_only_in_colour():
    split = _split()
    pairs = colour_pairs(split, seed=4, bg_range=(0.05, 0.25))
    assert np.array_equal(pairs.aligned.colours, split.labels)
    assert np.all(pairs.conflicting.colours != split.labels)
    # Colours the split already had that conflict are kept.
    assert np.array_equal(pairs.conflicting.colours[::2], split.colours[::2])
    background = split.digits == 0
    same = np.isclose(pairs.aligned.images, pairs.conflicting.images).all(axis=1)
    assert same[background].all()
    assert not same[~background].all()
    np.testing.assert_array_equal(pairs.aligned.gray, pairs.conflicting.gray)


def test_conflicting_colours_are_uniform_over_the_other_nine():
    labels = np.zeros(9000, dtype=np.int64)
    colours = conflicting_colours(labels, labels, np.random.default_rng(0))
    counts = np.bincount(colours, minlength=10)
    assert counts[0] == 0 and counts[1:].min() > 900


def test_verdicts():
    assert verdicts(np.array([3, 1, 5]), np.array([3, 3, 3]), np.array([3, 1, 2])) == [
        "correct",
        "used colour",
        "other error",
    ]


def test_pairs_are_painted_on_the_background_range_they_are_given():
    split = _split(10)
    background = split.digits == 0  # (N, 28, 28)
    for low, high in ((0.7, 0.8), (0.05, 0.1)):
        pairs = colour_pairs(split, bg_range=(low, high), seed=0)
        for painted in (pairs.aligned, pairs.conflicting):
            level = np.array(
                [
                    np.median(image[0][mask])
                    for image, mask in zip(painted.images, background, strict=True)
                ]
            )
            assert np.all((level > low - 0.01) & (level < high + 0.01)), level
    with pytest.raises(ValueError, match="bg_range"):
        colour_pairs(split, bg_range=(0.6, 0.3))
    with pytest.raises(TypeError):
        colour_pairs(split, seed=0)  # no default: the caller names the canvas's range
