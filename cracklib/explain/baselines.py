"""Reference inputs ("baselines") for the path and SHAP attribution methods.

Integrated Gradients, DeepLift and the SHAP methods explain the difference
between the input and a reference. Forest et al. found that a damage-free
reference (a crack-free image of the same kind of surface) lifted Integrated
Gradients' F1 from 11.1 % to 18.9 % over the usual black image.

Baselines are built in pixel space ([0, 1]) and normalised with the model's
:class:`~cracklib.nets.models.Normalization`. The damage-free ones come from
crack-free training images and are stored beside the weights
(``NAME.baselines.npz``: ``mean`` 3×S×S float16, ``sample`` K×3×S×S uint8).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.transforms.functional import gaussian_blur

from cracklib.nets.models import Normalization

__all__ = ["BASELINES", "DamageFree", "baseline_for", "baseline_distribution", "baselines_path"]


BASELINES = ("zeros", "black", "blur", "damage_free_mean", "damage_free_sample")


@dataclass
class DamageFree:
    """Crack-free reference images in pixel space: their mean and a small sample."""

    mean: np.ndarray    # (3, S, S) float in [0, 1]
    sample: np.ndarray  # (K, 3, S, S) float in [0, 1]

    @classmethod
    def from_images(cls, images: np.ndarray, *, sample_size: int = 8, seed: int = 0) -> "DamageFree":
        """From crack-free images (N, 3, S, S) in [0, 1]."""
        images = np.asarray(images, dtype=np.float32)
        rng = np.random.default_rng(seed)
        pick = rng.choice(len(images), min(sample_size, len(images)), replace=False)
        return cls(mean=images.mean(axis=0), sample=images[np.sort(pick)])

    def save(self, path: str | Path) -> None:
        np.savez_compressed(path, mean=self.mean.astype(np.float16),
                            sample=np.round(self.sample * 255).astype(np.uint8))

    @classmethod
    def load(cls, path: str | Path) -> "DamageFree":
        with np.load(path) as data:
            return cls(mean=data["mean"].astype(np.float32), sample=data["sample"].astype(np.float32) / 255)


def baselines_path(weights: str | Path) -> Path:
    """``NAME.baselines.npz`` beside ``NAME.pt``."""
    weights = Path(weights)
    return weights.with_name(weights.stem + ".baselines.npz")


def _resized(pixels: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    tensor = torch.as_tensor(pixels, dtype=like.dtype, device=like.device)
    if tensor.ndim == 3:
        tensor = tensor[None]
    if tensor.shape[-2:] != like.shape[-2:]:
        tensor = F.interpolate(tensor, size=like.shape[-2:], mode="bilinear", align_corners=False)
    return tensor


def _require(damage_free: DamageFree | None, name: str) -> DamageFree:
    if damage_free is None:
        raise ValueError(f"baseline {name!r} needs damage-free images stored with the weights "
                         "(NAME.baselines.npz); none were found")
    return damage_free


def baseline_for(name: str, inputs: torch.Tensor, normalization: Normalization,
                 damage_free: DamageFree | None = None) -> torch.Tensor:
    """One reference per input, shape like ``inputs`` (network space).

    ``damage_free_sample`` gives the sample's mean here: a single-reference
    method needs one image, the distribution goes to :func:`baseline_distribution`.
    """
    if name == "zeros":
        return torch.zeros_like(inputs)
    if name == "black":
        return normalization.normalize(torch.zeros_like(inputs))
    if name == "blur":
        pixels = normalization.denormalize(inputs)
        sigma = max(inputs.shape[-1], inputs.shape[-2]) / 16
        kernel = int(2 * round(3 * sigma) + 1)
        return normalization.normalize(gaussian_blur(pixels, [kernel, kernel], [sigma, sigma]))
    if name in ("damage_free_mean", "damage_free_sample"):
        reference = _resized(_require(damage_free, name).mean, inputs)
        return normalization.normalize(reference).expand_as(inputs).contiguous()
    raise ValueError(f"unknown baseline {name!r}; choose from {', '.join(BASELINES)}")


def baseline_distribution(name: str, inputs: torch.Tensor, normalization: Normalization,
                          damage_free: DamageFree | None = None) -> torch.Tensor:
    """References for the SHAP methods, shape (K, 3, H, W) (network space).

    ``damage_free_sample`` is the stored sample; any other baseline is its single
    reference (of the first input) plus the black image, since the SHAP methods
    need a distribution.
    """
    if name == "damage_free_sample":
        return normalization.normalize(_resized(_require(damage_free, name).sample, inputs))
    single = baseline_for(name, inputs[:1], normalization, damage_free)
    black = normalization.normalize(torch.zeros_like(inputs[:1]))
    return torch.cat([single, black]) if name != "black" else single
