"""Pictures of results: heatmaps and mask overlays as uint8 RGB arrays.

Shared by the CLI (PNG files) and the app, so both show the same colours.
"""
from __future__ import annotations

import numpy as np

from .tiling import ceil_div

__all__ = ["heatmap_rgb", "heatmap_overlay", "mask_overlay", "growth_overlay", "preview", "NEW_CRACK_COLOR",
           "OLD_CRACK_COLOR"]

#: Crack that was already there, and crack that is new, in growth pictures.
OLD_CRACK_COLOR = (255, 170, 0)
NEW_CRACK_COLOR = (220, 0, 220)

_RED = np.array([1.0, 0.0, 0.0])
_BLUE = np.array([0.0, 0.0, 1.0])


def heatmap_rgb(relevance: np.ndarray | None, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Relevance as blue (against a crack) - white (none) - red (for a crack), symmetric around 0.

    ``None`` (an image the gate did not explain) gives a white picture of ``shape``.
    """
    if relevance is None:
        return np.full((*shape, 3), 255, np.uint8)
    top = float(np.abs(relevance).max()) or 1.0
    value = np.clip(relevance / top, -1, 1)[..., None]
    rgb = np.where(value >= 0, 1 + value * (_RED - 1), 1 - value * (_BLUE - 1))
    return np.round(rgb * 255).astype(np.uint8)


def heatmap_overlay(image: np.ndarray, relevance: np.ndarray | None, *, strength: float = 0.85) -> np.ndarray:
    """``image`` tinted by the relevance: red for a crack, blue against, as strong as the relevance."""
    if relevance is None:
        return image
    top = float(np.abs(relevance).max()) or 1.0
    weight = strength * np.clip(np.abs(relevance) / top, 0, 1)[..., None]
    color = np.where((relevance >= 0)[..., None], _RED, _BLUE) * 255
    return np.round((1 - weight) * image + weight * color).astype(np.uint8)


def mask_overlay(image: np.ndarray, mask: np.ndarray, *, color=(255, 0, 0), alpha: float = 0.6,
                 truth: np.ndarray | None = None, truth_color=(0, 200, 0)) -> np.ndarray:
    """``image`` with ``mask`` painted in ``color``; missed ``truth`` pixels in ``truth_color``."""
    out = image.astype(np.float32).copy()
    layers = [(mask, color)]
    if truth is not None:
        layers.append((truth & ~mask, truth_color))
    for region, paint in layers:
        out[region] = (1 - alpha) * out[region] + alpha * np.asarray(paint, np.float32)
    return np.round(out).astype(np.uint8)


def growth_overlay(image: np.ndarray, before: np.ndarray, after: np.ndarray, *, alpha: float = 0.7) -> np.ndarray:
    """``image`` with the crack present ``before`` in orange and the crack new in ``after`` in magenta."""
    out = mask_overlay(image, before & after, color=OLD_CRACK_COLOR, alpha=alpha)
    return mask_overlay(out, after & ~before, color=NEW_CRACK_COLOR, alpha=alpha)


def preview(array: np.ndarray, max_side: int) -> np.ndarray:
    """A copy small enough to show: longest side at most ``max_side``, by an integer factor.

    Photos (uint8) are averaged, maps (float) averaged per block, masks (bool)
    keep a pixel where any pixel of its block is set, so one-pixel cracks stay
    visible. Arrays already small enough come back unchanged.
    """
    from skimage.measure import block_reduce

    array = np.asarray(array)
    factor = ceil_div(max(array.shape[:2]), max_side)
    if factor <= 1:
        return array
    block = (factor, factor) + (1,) * (array.ndim - 2)
    if array.dtype == bool:
        return block_reduce(array, block, np.max)
    reduced = block_reduce(array.astype(np.float32), block, np.mean)
    return np.round(reduced).astype(array.dtype) if array.dtype == np.uint8 else reduced
