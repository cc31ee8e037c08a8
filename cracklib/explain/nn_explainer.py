"""NN-Explainer: a network trained to mask the evidence a frozen classifier uses.

Stalder et al. train an explainer network next to a frozen classifier: its mask
``m`` (one value in [0, 1] per pixel) must keep what the classifier needs and
nothing else. Forest et al. compare it, for cracks, with the post-hoc methods.
For a two-class crack classifier the losses are, per training image:

- **keep** (crack images): the masked image ``m·x + (1−m)·fill`` is still called
  cracked (cross-entropy towards the crack class);
- **remove** (crack images): the inverse ``(1−m)·x + m·fill`` is not
  (cross-entropy towards crack-free), so the mask must hold *all* the evidence;
- **area**: the mean of the mask, pushed down on every image (a crack-free image
  gets an empty mask) and up to at least ``min_area`` on crack images (so the
  mask cannot vanish), as the paper's area bounds;
- **smoothness**: the total variation of the mask.

``fill`` is each image's mean colour: a crack removed from a patch of concrete
leaves plain concrete, not black. The explainer is this project's small U-Net
(:class:`cracklib.pipeline.segmenters.UNet11`); its sigmoid output is the relevance map of
the method ``nn_explainer``, computed only on the tiles the classifier gates in.

Written by hand: the authors' code is a research repository (and Forest et al.
report it stops with an error at training); no package provides it.

References
----------
Stalder, S. et al., "What You See is What You Classify: Black Box Attributions",
NeurIPS 2022.
Forest, F. et al., "From classification to segmentation with explainable AI: a
study on crack detection and growth monitoring", Automation in Construction, 2024.
"""
from __future__ import annotations

import torch

from cracklib.nets.unet import UNet11

__all__ = ["explainer_masks"]


def explainer_masks(explainer: UNet11, inputs: torch.Tensor) -> torch.Tensor:
    """The explainer's mask (N×1×H×W in [0, 1]) of normalised inputs (sides multiples of 16)."""
    return torch.sigmoid(explainer(inputs))
