import numpy as np
import pytest

from lazy_artist.interpret.selectivity import between_class_share, colour_digit_selectivity


def _independent_factors(n: int = 5000, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 10, n), rng.integers(0, 10, n), rng


def test_function_of_colour_alone_scores_one_for_colour_and_zero_for_digit():
    colours, digits, rng = _independent_factors()
    table = rng.normal(size=10)
    acts = table[colours][:, None]
    sel = colour_digit_selectivity(acts, colours, digits)
    assert sel.colour[0] == pytest.approx(1.0, abs=1e-9)
    assert sel.digit[0] < 0.01
    assert sel.colour_dominated_share() == 1.0


def test_noise_scores_about_zero():
    colours, digits, rng = _independent_factors()
    sel = colour_digit_selectivity(rng.normal(size=(len(colours), 4)), colours, digits)
    assert np.all(sel.colour < 0.01) and np.all(sel.digit < 0.01)


def test_matches_anova_decomposition():
    # eta^2 = 1 - within / total, computed independently.
    colours, _, rng = _independent_factors(n=400)
    acts = rng.normal(size=400) + colours * 0.3
    within = sum(((acts[colours == c] - acts[colours == c].mean()) ** 2).sum() for c in range(10))
    total = ((acts - acts.mean()) ** 2).sum()
    assert between_class_share(acts, colours)[0] == pytest.approx(1 - within / total)


def test_constant_unit_scores_zero_and_shapes_are_checked():
    colours, digits, _ = _independent_factors(n=100)
    assert between_class_share(np.ones((100, 2)), colours).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="activations must be"):
        between_class_share(np.ones((99, 2)), colours)
