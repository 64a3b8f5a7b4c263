"""T4's interval figures: what each method is drawn as."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from matplotlib.collections import LineCollection  # noqa: E402

from lazy_artist.methods.figures import bias_sweep_intervals  # noqa: E402


def _point(mean: float, lo: float | None, hi: float | None) -> dict:
    return {"mean": mean, "ci95": [lo, hi], "n": 3}


def test_a_bias_independent_method_is_a_flat_dashed_line_with_its_band():
    sweep = {
        "bias": [0.95, 0.99],
        "hard_test_acc": {
            "erm": [_point(0.9, 0.88, 0.92), _point(0.5, 0.4, 0.6)],
            "gray_oracle": [_point(0.99, 0.985, 0.995)] * 2,
        },
        "flat": ["gray_oracle"],
    }
    ax = bias_sweep_intervals(sweep).axes[0]
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert set(labels) == {"erm", "gray_oracle"}
    flat = [
        c
        for c in ax.collections
        if isinstance(c, LineCollection) and c.get_label() == "gray_oracle"
    ]
    assert len(flat) == 1
    (segment,) = flat[0].get_segments()
    assert segment[0][1] == segment[1][1] == 0.99  # horizontal, at the comparison's mean
    # The swept method keeps its markers at every bias.
    (bars,) = [c for c in ax.containers if c.get_label() == "erm"]
    assert list(bars.lines[0].get_ydata()) == [0.9, 0.5]


def test_a_sweep_without_flat_methods_draws_every_method_with_error_bars():
    sweep = {"bias": [0.95], "hard_test_acc": {"erm": [_point(0.9, None, None)]}}
    ax = bias_sweep_intervals(sweep).axes[0]
    assert [c.get_label() for c in ax.containers] == ["erm"]
    assert not [c for c in ax.collections if c.get_label() == "erm"]
