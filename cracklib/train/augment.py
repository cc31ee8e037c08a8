"""Augmentation of training batches: the same random flips, turns and zoom for images and targets, and what a
camera changes (brightness, contrast, gamma, blur, noise, JPEG) for the images.

Mild (flips, turns, ±10 % brightness and contrast) for the classifier and the supervised U-Net; strong
(:func:`rescale` and :func:`photometric` as well) for self-training, whose gains in the literature come
in good part from it (Xie et al., "Self-training with Noisy Student improves ImageNet classification",
CVPR 2020). Written on tensors with the run's own generator, so a resumed run draws the same batches.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["flip_and_turn", "jitter_brightness", "rescale", "photometric"]


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


def rescale(generator: torch.Generator, pixels: torch.Tensor, target: torch.Tensor, *, low: float = 0.7,
            high: float = 1.4) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch zoomed by one random factor in [``low``, ``high``], back to its side: cropped when zoomed in,
    reflect-padded when zoomed out (cracks are seen at many distances). ``target`` (N×H×W uint8) follows with
    nearest-neighbour sampling, so its ignore value stays exact."""
    side = pixels.shape[-1]
    scale = float(low + (high - low) * torch.rand(1, generator=generator))
    new = max(16, int(round(side * scale)))
    pixels = F.interpolate(pixels, size=(new, new), mode="bilinear", align_corners=False, antialias=new < side)
    target = F.interpolate(target[:, None].float(), size=(new, new), mode="nearest")[:, 0]
    if new >= side:
        top, left = (int(torch.randint(new - side + 1, (1,), generator=generator)) for _ in range(2))
        return pixels[..., top:top + side, left:left + side], target[..., top:top + side, left:left + side].byte()
    before = (side - new) // 2
    pad = (before, side - new - before, before, side - new - before)
    return F.pad(pixels, pad, mode="reflect"), F.pad(target[:, None], pad, mode="reflect")[:, 0].byte()


def photometric(pixels: torch.Tensor, generator: torch.Generator, *, jitter: float = 0.2, gamma: float = 0.3,
                blur: float = 0.2, noise: float = 0.3, jpeg: float = 0.3) -> torch.Tensor:
    """What a camera changes: brightness and contrast (±``jitter``), gamma (×e^±``gamma``), and with the given
    probabilities per image a Gaussian blur (σ 0.5-1.3 px), sensor noise (σ up to 0.04) and JPEG compression
    (quality 30-90). Pixels N×3×H×W in [0, 1]."""
    pixels = jitter_brightness(pixels, generator, jitter)
    n = pixels.shape[0]
    exponent = torch.exp(gamma * (2 * torch.rand(n, 1, 1, 1, generator=generator) - 1))
    pixels = pixels.clamp_min(1e-4) ** exponent
    images = []
    for image in pixels:
        if torch.rand(1, generator=generator) < blur:
            sigma = float(0.5 + 0.8 * torch.rand(1, generator=generator))
            image = torch.from_numpy(cv2.GaussianBlur(image.permute(1, 2, 0).numpy(), (0, 0), sigma)).permute(2, 0, 1)
        if torch.rand(1, generator=generator) < noise:
            sigma = float(0.04 * torch.rand(1, generator=generator))
            image = (image + sigma * torch.randn(image.shape, generator=generator)).clamp(0, 1)
        if torch.rand(1, generator=generator) < jpeg:
            quality = int(30 + 60 * torch.rand(1, generator=generator))
            array = (image.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
            _, encoded = cv2.imencode(".jpg", np.ascontiguousarray(array), [cv2.IMWRITE_JPEG_QUALITY, quality])
            image = torch.from_numpy(cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED).astype(np.float32) / 255)
            image = image.permute(2, 0, 1)
        images.append(image.contiguous())
    return torch.stack(images)
