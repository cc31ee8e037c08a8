"""Augmentation of training batches: the same random flips and turns for images and targets, and photometric
jitter for the images."""
from __future__ import annotations

import torch

__all__ = ["flip_and_turn", "jitter_brightness"]


def flip_and_turn(generator: torch.Generator, *tensors: torch.Tensor) -> list[torch.Tensor]:
    """The same random horizontal and vertical flips and 90° turns for every tensor (…×H×W), per batch.

    Cracks have no up or down: each of the eight views of a crack is as likely as another.
    """
    if torch.rand(1, generator=generator) < 0.5:
        tensors = tuple(t.flip(-1) for t in tensors)
    if torch.rand(1, generator=generator) < 0.5:
        tensors = tuple(t.flip(-2) for t in tensors)
    turns = int(torch.randint(4, (1,), generator=generator))
    return [torch.rot90(t, turns, dims=(-2, -1)) for t in tensors]


def jitter_brightness(pixels: torch.Tensor, generator: torch.Generator, jitter: float) -> torch.Tensor:
    """Brightness and contrast of each image changed by up to ±``jitter`` (pixels in [0, 1])."""
    n = pixels.shape[0]
    contrast = 1 + jitter * (2 * torch.rand(n, 1, 1, 1, generator=generator) - 1)
    brightness = jitter * (2 * torch.rand(n, 1, 1, 1, generator=generator) - 1)
    mean = pixels.mean(dim=(1, 2, 3), keepdim=True)
    return ((pixels - mean) * contrast + mean + brightness).clamp(0, 1)
