"""Splitting a model at a site: the tail from the site's activation reproduces the model
bit for bit, and a model that cannot be split falls back to full forward passes."""

import numpy as np
import torch
from torch import nn

from lazy_artist.sae.activations import (
    Config,
    Standardiser,
    all_configs,
    collect_vectors,
    discover_sites,
)
from lazy_artist.sae.autoencoder import SparseAutoencoder
from lazy_artist.sae.interventions import Intervention, LayerSae
from lazy_artist.sae.tail import SiteSplit


def _bound(model, config, images) -> LayerSae:
    vectors = collect_vectors(model, images, [config])[config]
    torch.manual_seed(0)
    sae = SparseAutoencoder.overcomplete(vectors.shape[1], 2).eval()
    return LayerSae(model, config, sae, Standardiser.fit(vectors))


def test_head_then_tail_is_the_model_bit_for_bit(backbone, images):
    x = torch.as_tensor(images)
    with torch.no_grad():
        expected = backbone(x)
        for site in discover_sites(backbone).values():
            split = SiteSplit.of(backbone, site)
            assert split.available, site.name
            assert torch.equal(split.tail(split.head(x)), expected), site.name


def test_logits_under_many_edits_match_one_full_pass_each(backbone, images):
    for config in all_configs(backbone):
        bound = _bound(backbone, config, images)
        edits = {
            "none": None,
            "ablate": bound.intervention_edit(Intervention("ablate", (0, 1, 2))),
            "amplify": bound.intervention_edit(Intervention("scale", (0, 1), 4.0)),
            "reconstruction": bound.reconstruction_edit(),
        }
        together = bound.logits_under(images, edits, batch_size=5)
        for name, edit in edits.items():
            # The same batches as one pass each (batch size changes the float rounding).
            expected = bound.logits(images, edit, batch_size=5)
            assert np.array_equal(together[name], expected), (config, name)
        assert not np.array_equal(together["reconstruction"], together["none"])


class _Skip(nn.Module):
    """A residual block around conv2: the output needs the input of the site, not only the
    site's activation, so the model cannot be run from the site alone."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.fc = nn.Linear(4, 10)

    def features(self, x):
        h = self.relu1(self.conv1(x))
        return (h + self.relu2(self.conv2(h))).mean(dim=(2, 3))

    def forward(self, x):
        return self.fc(self.features(x))


class _Branchy(_Skip):
    """Data-dependent control flow: torch.fx cannot trace it."""

    def forward(self, x):
        features = self.features(x)
        return self.fc(features) if features.sum() > 0 else -self.fc(features)


def test_a_model_that_cannot_be_split_falls_back_to_hooks(images):
    torch.manual_seed(0)
    for model in (_Skip().eval(), _Branchy().eval()):
        sites = discover_sites(model)
        assert not SiteSplit.of(model, sites["conv2"]).available
        bound = _bound(model, Config("conv2", "spatial_mean"), images)
        edit = bound.intervention_edit(Intervention("ablate", (0,)))
        together = bound.logits_under(images, {"none": None, "ablate": edit})
        assert np.array_equal(together["ablate"], bound.logits(images, edit))
        assert np.array_equal(together["none"], bound.logits(images))
        hooked = bound.intervention_logits(images, {"ablate": Intervention("ablate", (0,))})
        assert np.array_equal(hooked["ablate"], together["ablate"])
    # The residual model can still be split after the block (at the head's input).
    assert SiteSplit.of(_Skip().eval(), discover_sites(_Skip())["features"]).available


def test_intervention_logits_match_one_hooked_pass_per_intervention(backbone, images):
    for config in all_configs(backbone):
        bound = _bound(backbone, config, images)
        interventions = {
            "none": None,
            "ablate": Intervention("ablate", (0, 1, 2)),
            "amplify": Intervention("scale", (0, 1), 4.0),
            "noop": Intervention("scale", (0, 1), 1.0),
            "shift": Intervention("add", (3,), 0.5),
        }
        together = bound.intervention_logits(images, interventions, batch_size=5)
        for name, iv in interventions.items():
            edit = None if iv is None else bound.intervention_edit(iv)
            assert np.array_equal(together[name], bound.logits(images, edit, batch_size=5))
        assert np.array_equal(together["noop"], together["none"])
        assert not np.array_equal(together["ablate"], together["none"])
