import numpy as np
import pytest
import torch

from lazy_artist.data.canvas import CanvasSplit
from lazy_artist.interpret.attention import region_means
from lazy_artist.interpret.gradcam import grad_cam
from lazy_artist.interpret.pair_attention import attention_on_groups
from lazy_artist.zoo import StudyModel

from .conftest import square_images


def _split(seed: int) -> CanvasSplit:
    images, labels, masks = square_images(12, seed=seed)
    return CanvasSplit(
        images=images.numpy(),
        gray=images.mean(dim=1, keepdim=True).numpy(),
        labels=labels.numpy(),
        colours=labels.numpy(),
        digits=masks.numpy(),
        source_index=np.arange(12),
    )


def test_groups_get_grad_cam_regions_and_summaries(trained_tiny):
    model, _, _, _ = trained_tiny
    study_model = StudyModel("tiny", model, "colour", "test", {})
    groups = {"aligned": _split(11), "conflicting": _split(12)}
    for target in ("predicted", "true"):
        result = attention_on_groups(study_model, groups, target=target)
        for name, split in groups.items():
            labels = torch.as_tensor(split.labels) if target == "true" else None
            cam = grad_cam(model, split.images, target=labels)
            np.testing.assert_allclose(result[name].cam.maps, cam.maps, atol=1e-6)
            expected = region_means(cam.maps, split.digits).pooled_ratio()
            assert result[name].summary.pooled == pytest.approx(expected)
            assert result[name].summary.n == 12
    assert np.array_equal(
        result["aligned"].predictions,
        model(torch.as_tensor(groups["aligned"].images)).argmax(1).numpy(),
    )
    with pytest.raises(ValueError, match="target must be one of predicted, true"):
        attention_on_groups(study_model, groups, target="colour")
