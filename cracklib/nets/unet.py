"""Segmentation networks: a small U-Net trained on pixel masks, or on explanation masks.

Both papers compare their explanation masks with a supervised U-Net. The same
network also serves self-training (:mod:`cracklib.train.distill`): trained on the
masks the explanation pipeline draws from image labels alone, it learns what
the explanations agree on and drops part of their noise (König et al. 2021 do
this with CAM pseudo-labels).

The network is TernausNet's UNet11 made small: a VGG-11-style encoder at the
classifier's width (with batch norm, kept at inference: nothing is explained
through it), four 2× downsamplings, a decoder of bilinear upsampling + conv
blocks joined to the encoder by skip connections, one logit per pixel. Trained
on native-resolution crops with Dice + binary cross-entropy (pixels marked
:data:`IGNORE` count in neither), it runs fully convolutionally on tiles of a
photo of any size (:func:`predict_map`).

References
----------
Iglovikov, V. & Shvets, A., "TernausNet: U-Net with VGG11 encoder pre-trained on
ImageNet for image segmentation", arXiv:1801.05746, 2018.
Ronneberger, O. et al., "U-Net: Convolutional networks for biomedical image
segmentation", MICCAI 2015.
König, J. et al., "Weakly-supervised surface crack segmentation by generating
pseudo-labels using localization with a classifier and thresholding", IEEE
T-ITS 23(12), 2022 (arXiv 2021).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["UNet11"]


#: The encoder's channels at width 1 (VGG-11's first four stages and its last).
_STAGES = (64, 128, 256, 512, 512)


def _conv(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class UNet11(nn.Module):
    """A VGG-11-style U-Net returning one crack logit per pixel (N×1×H×W for N×3×H×W, H and W multiples of 16)."""

    def __init__(self, width: float = 0.25):
        super().__init__()
        c1, c2, c3, c4, c5 = (max(4, int(round(c * width))) for c in _STAGES)
        self.width = width
        self.enc1 = _conv(3, c1)
        self.enc2 = _conv(c1, c2)
        self.enc3 = nn.Sequential(_conv(c2, c3), _conv(c3, c3))
        self.enc4 = nn.Sequential(_conv(c3, c4), _conv(c4, c4))
        self.center = nn.Sequential(_conv(c4, c5), _conv(c5, c5))
        self.dec4 = _conv(c5 + c4, c3)
        self.dec3 = _conv(c3 + c3, c2)
        self.dec2 = _conv(c2 + c2, c1)
        self.dec1 = _conv(c1 + c1, c1)
        self.head = nn.Conv2d(c1, 1, 1)

    @staticmethod
    def _up(x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False), skip], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s1 = self.enc1(x)
        s2 = self.enc2(F.max_pool2d(s1, 2))
        s3 = self.enc3(F.max_pool2d(s2, 2))
        s4 = self.enc4(F.max_pool2d(s3, 2))
        x = self.center(F.max_pool2d(s4, 2))
        x = self.dec4(self._up(x, s4))
        x = self.dec3(self._up(x, s3))
        x = self.dec2(self._up(x, s2))
        x = self.dec1(self._up(x, s1))
        return self.head(x)
