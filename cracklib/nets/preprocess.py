"""From photos to network inputs and from network-sized maps back to photos.

One place for resizing and normalising, so training, the pipeline, the app and
the benchmarks feed the model identically.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from cracklib.nets.models import Normalization

__all__ = ["to_pixels", "to_input", "resize_map", "VIEWS", "turned_batch"]


#: The eight flips and quarter turns of a photo (the square's symmetries), in the order a model card's
#: ``views`` takes them: (quarter turns, mirrored). A crack is a crack in any of them; a model's errors differ
#: between them, so averaging over them (test-time augmentation) outvotes some.
VIEWS = tuple((turns, mirrored) for turns in range(4) for mirrored in (False, True))


def to_pixels(image: np.ndarray, size: int | tuple[int, int] | None = None) -> torch.Tensor:
    """H×W×3 uint8 (or N×H×W×3) → float tensor (N, 3, h, w) in [0, 1], resized to ``size``.

    Downsizing uses antialiasing so thin dark cracks fade rather than alias away.
    """
    array = np.asarray(image)
    if array.ndim == 3:
        array = array[None]
    pixels = torch.from_numpy(np.ascontiguousarray(array)).permute(0, 3, 1, 2).float() / 255.0
    if size is not None:
        size = (size, size) if isinstance(size, int) else tuple(size)
        if tuple(pixels.shape[-2:]) != size:
            pixels = F.interpolate(pixels, size=size, mode="bilinear", align_corners=False, antialias=True)
    return pixels


def to_input(image: np.ndarray, normalization: Normalization, size: int | tuple[int, int] | None = None,
             device: torch.device | str = "cpu") -> torch.Tensor:
    """H×W×3 uint8 → normalised network input (N, 3, size, size)."""
    return normalization.normalize(to_pixels(image, size).to(device))


def resize_map(values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a 2-D map (e.g. relevance at input size) to ``shape``."""
    values = np.asarray(values, dtype=np.float32)
    if values.shape == tuple(shape):
        return values
    tensor = torch.from_numpy(values)[None, None]
    return F.interpolate(tensor, size=tuple(shape), mode="bilinear", align_corners=False)[0, 0].numpy()


def turned_batch(inputs: torch.Tensor, turns: int, mirrored: bool) -> torch.Tensor:
    """One of :data:`VIEWS` of a batch of N×C×H×W inputs."""
    if turns % 4:
        inputs = torch.rot90(inputs, turns, dims=(-2, -1))
    return inputs.flip(-1) if mirrored else inputs
