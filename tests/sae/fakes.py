"""Hand-built SAE results: what the comparison, its checks and the tables read, with no
training (every number is chosen, so a test can say what the answer must be)."""

import numpy as np

from lazy_artist.interpret.selectivity import Selectivity
from lazy_artist.sae.activations import Config
from lazy_artist.sae.autoencoder import SaeRun, SparseAutoencoder
from lazy_artist.sae.metrics import InterventionEffect, SaeQuality
from lazy_artist.sae.study import ConfigResult, ModelAnalysis
from lazy_artist.zoo import MatchedPair


def pairs(backbones=("cheater_cnn", "lenet_cnn"), seeds=(0, 1, 2), method="cf_invar"):
    rules = {"cheater_cnn": "easy_val", "lenet_cnn": "conflict_val"}
    return [
        MatchedPair(
            b,
            s,
            rules[b],
            method,
            f"erm@{b}#{s}:{rules[b]}",
            f"{method}@{b}#{s}:{rules[b]}",
        )
        for b in backbones
        for s in seeds
    ]


def effect(flip=0.0, prob_before=0.5, prob_after=0.5):
    return InterventionEffect(flip, 0.0, 0.5, 0.5, 0.5, 0.5, prob_before, prob_after)


def result(
    model="m",
    config="conv3:spatial_mean",
    colour=(0.9, 0.8, 0.1),
    digit=(0.1, 0.2, 0.7),
    flip=0.2,
    random=(0.01, 0.02, 0.03),
    prob=(0.6, 0.3, 0.9),
    fve=0.95,
):
    """A ConfigResult with only what the measures and checks read."""
    layer, aggregation = config.split(":")
    return ConfigResult(
        model=model,
        config=Config(layer, aggregation),
        bound=None,
        run=SaeRun(SparseAutoencoder(2, len(colour))),
        quality=SaeQuality(fve, 3.0, 0.0, np.zeros(3, bool)),
        val_acc=0.9,
        spliced_val_acc=0.9,
        selectivity=Selectivity(np.asarray(colour, float), np.asarray(digit, float)),
        live=np.ones(len(colour), bool),
        codes=np.zeros((4, len(colour))),
        top_colour=[0],
        top_digit=[2],
        effects={
            "ablate": effect(flip, prob[0], prob[1]),
            "amplify": effect(0.3, prob[0], prob[2]),
        },
        random_effects=[effect(r) for r in random],
    )


def analysis(name, role, backbone, seed, result, full_sweep=True, extra=()):
    method = name.split("@")[0]
    results = {result.config.label: result, **{r.config.label: r for r in extra}}
    record = {"name": name, "method": method, "backbone": backbone, "seed": seed, "rule": "r"}
    return ModelAnalysis(record, role, result.config.label, full_sweep, results)
