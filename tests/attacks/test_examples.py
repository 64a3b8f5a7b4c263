"""T5's adversarial-examples artefact round-trips without pickles."""

import numpy as np

from lazy_artist.attacks.examples import (
    AdversarialExamples,
    ModelExamples,
    load_adversarial_examples,
    save_adversarial_examples,
)


def test_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    models = {
        name: ModelExamples(
            kind,
            rng.random((3, c, 28, 28), dtype=np.float32),
            rng.random((3, c, 28, 28), dtype=np.float32),
            np.array([0.01, np.inf, 0.2]),
            np.array([True, False, True]),
            np.array([0.95, 0.3, 0.91]),
        )
        for name, kind, c in (("cheater", "colour", 3), ("gray_oracle", "gray", 1))
    }
    saved = AdversarialExamples(
        "easy_test",
        np.array([4, 9, 11]),
        np.array([7, 7, 7]),
        7,
        3,
        0.9,
        models,
        {"epsilon": "per-sample minimum"},
    )
    loaded = load_adversarial_examples(save_adversarial_examples(saved, tmp_path / "adv.npz"))
    assert loaded.split == "easy_test" and loaded.target_class == 3 and loaded.meta == saved.meta
    assert np.array_equal(loaded.sample_index, saved.sample_index)
    for name, model in models.items():
        other = loaded.models[name]
        assert other.input_kind == model.input_kind
        for key in ("clean", "adversarial", "epsilon", "success", "p_target"):
            assert np.array_equal(getattr(other, key), getattr(model, key)), (name, key)
