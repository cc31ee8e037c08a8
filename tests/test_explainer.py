"""NN-Explainer (cracklib.train.explainer): its losses on hand-made tensors, and that it learns where the evidence is."""
import numpy as np
import pytest
import torch
from torch import nn

from cracklib.explain import explainer_masks
from cracklib.nets import Normalization
from cracklib.train import ExplainerConfig, explainer_losses, total_variation, train_explainer


class BrightSpotClassifier(nn.Module):
    """Calls an image cracked when enough of it is bright: a 4×4 spot of value 2 (in 32×32) scores logit 4,
    the same spot dimmed to 1.2 scores -2.4, a flat image -4."""

    def forward(self, x):
        bright = torch.relu(x[:, 0] - 1).mean(dim=(1, 2)) * 64
        return torch.stack([torch.zeros_like(bright), 8 * (bright - 0.5)], dim=1)


def _spot_images(count, size=32, seed=0):
    """Normalised-space inputs: flat images, the crack ones with a 4×4 bright spot; and the spots' masks."""
    rng = np.random.default_rng(seed)
    inputs = torch.zeros(count, 3, size, size)
    truth = torch.zeros(count, 1, size, size)
    labels = torch.tensor([i % 2 for i in range(count)])
    for i in range(count):
        if labels[i]:
            top, left = rng.integers(0, size - 4, 2)
            inputs[i, :, top:top + 4, left:left + 4] = 2.0
            truth[i, :, top:top + 4, left:left + 4] = 1.0
    return inputs, truth, labels


def test_total_variation_of_hand_made_masks():
    assert total_variation(torch.ones(1, 1, 4, 4)).item() == 0
    checker = torch.tensor([[[[0.0, 1.0], [1.0, 0.0]]]])
    assert total_variation(checker).item() == 2.0  # every neighbour differs by 1, across and down


def test_the_right_mask_keeps_the_crack_and_its_inverse_loses_it():
    inputs, truth, labels = _spot_images(8)
    classifier = BrightSpotClassifier()
    right = explainer_losses(classifier, truth, inputs, labels)
    empty = explainer_losses(classifier, torch.zeros_like(truth), inputs, labels)
    full = explainer_losses(classifier, torch.ones_like(truth), inputs, labels)
    assert right["keep"] < 0.05 and empty["keep"] > 1  # the masked image must still show the crack
    assert right["remove"] < 0.05 and empty["remove"] > 1  # and the inverse must not
    # Masking everything keeps and removes too; only its area says it is wrong.
    assert full["keep"] < 0.05 and full["remove"] < 0.05 and full["area"] > 10 * right["area"]
    # A crack image's mask below the minimum area costs more than the area itself.
    tiny = explainer_losses(classifier, torch.zeros_like(truth), inputs, labels, config=ExplainerConfig(min_area=0.1))
    assert tiny["area"] > 0.5
    total = right["keep"] + right["remove"] + right["area"] + 0.5 * right["smoothness"]
    torch.testing.assert_close(right["total"], total)


@pytest.mark.slow  # about 40 s: the explainer needs a few hundred steps before its mask finds the spot
def test_an_explainer_learns_to_mask_the_evidence():
    inputs, truth, labels = _spot_images(64)
    # uint8 images whose normalised values are the inputs above (0 and 2): pixels 0 and 255, std 1/2.
    normalization = Normalization((0.0, 0.0, 0.0), (0.5, 0.5, 0.5))
    images = (inputs.permute(0, 2, 3, 1).numpy() / 2 * 255).round().astype(np.uint8)
    config = ExplainerConfig(width=0.0625, epochs=60, batch_size=16, learning_rate=3e-2, jitter=0.0)
    explainer, history = train_explainer(BrightSpotClassifier(), images, labels.numpy(), images, labels.numpy(),
                                         config=config, normalization=normalization)
    assert history[-1].val_keep >= 0.9 and history[-1].val_remove >= 0.9
    with torch.no_grad():
        masks = explainer_masks(explainer, normalization.normalize(torch.from_numpy(images).permute(0, 3, 1, 2)
                                                                   .float() / 255))
    cracked = labels == 1
    on_spot = masks[cracked][truth[cracked] > 0].mean()
    off_spot = masks[cracked][truth[cracked] == 0].mean()
    assert on_spot > 0.5 > off_spot and masks[~cracked].mean() < 0.2
