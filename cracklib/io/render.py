"""Pictures of results: heatmaps and mask overlays as uint8 RGB arrays.

Shared by the CLI (PNG files) and the app, so both show the same colours.
"""
from __future__ import annotations

import numpy as np

from cracklib.tiling import ceil_div

__all__ = ["RELEVANCE_PERCENTILE", "relevance_scale", "relevance_preview", "heatmap_rgb", "heatmap_overlay",
           "mask_overlay", "outline_boxes", "growth_overlay", "preview", "NEW_CRACK_COLOR", "OLD_CRACK_COLOR"]


#: Crack that was already there, and crack that is new, in growth pictures.
OLD_CRACK_COLOR = (255, 170, 0)


NEW_CRACK_COLOR = (220, 0, 220)


_RED = np.array([1.0, 0.0, 0.0])


_BLUE = np.array([0.0, 0.0, 1.0])


#: Colour scales end at this percentile of |relevance| over the explained pixels (see relevance_scale).
RELEVANCE_PERCENTILE = 99.5


def relevance_scale(relevance: np.ndarray, *, percentile: float = RELEVANCE_PERCENTILE) -> float:
    """The |relevance| at which a colour scale saturates: a high percentile over the non-zero pixels.

    Relevance on a photo is heavy-tailed: scaled by its maximum, a few hot
    pixels take the whole scale and the crack is a faint trace. The 99.5th
    percentile of the pixels that hold relevance (tiles the gate skipped are
    exactly zero) keeps the crack visible and saturates only the hottest 0.5 %.
    """
    magnitude = np.abs(np.asarray(relevance, np.float32))
    held = magnitude[magnitude > 0]
    return float(np.percentile(held, percentile)) if held.size else 1.0


def _signed_intensity(relevance: np.ndarray) -> np.ndarray:
    """Relevance as a colour strength in [-1, 1]: saturating at :func:`relevance_scale`, on a square-root scale,
    so that evidence a tenth of the strongest still shows at a third of full colour (a linear scale leaves the
    thin, weakly lit parts of a crack nearly white)."""
    value = np.clip(np.asarray(relevance, np.float32) / relevance_scale(relevance), -1, 1)
    return np.sign(value) * np.sqrt(np.abs(value))


def heatmap_rgb(relevance: np.ndarray | None, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Relevance as blue (against a crack) - white (none) - red (for a crack), symmetric around 0,
    saturating at :func:`relevance_scale`, on a square-root scale.

    ``None`` (an image the gate did not explain) gives a white picture of ``shape``.
    """
    if relevance is None:
        return np.full((*shape, 3), 255, np.uint8)
    value = _signed_intensity(relevance)[..., None]
    rgb = np.where(value >= 0, 1 + value * (_RED - 1), 1 - value * (_BLUE - 1))
    return np.round(rgb * 255).astype(np.uint8)


def heatmap_overlay(image: np.ndarray, relevance: np.ndarray | None, *, strength: float = 0.85) -> np.ndarray:
    """``image`` tinted by the relevance: red for a crack, blue against, as strong as the relevance on a
    square-root scale (full strength from :func:`relevance_scale` up)."""
    if relevance is None:
        return image
    value = _signed_intensity(relevance)
    weight = strength * np.abs(value)[..., None]
    color = np.where((value >= 0)[..., None], _RED, _BLUE) * 255
    return np.round((1 - weight) * image + weight * color).astype(np.uint8)


def mask_overlay(image: np.ndarray, mask: np.ndarray, *, color=(255, 0, 0), alpha: float = 1.0,
                 truth: np.ndarray | None = None, truth_color=(0, 200, 0)) -> np.ndarray:
    """``image`` with ``mask`` painted in ``color``; missed ``truth`` pixels in ``truth_color``.

    The photo keeps its full brightness; the mask is opaque by default, since a
    crack one pixel wide blended with a dark crack is a dark line again.
    """
    out = image.astype(np.float32).copy()
    layers = [(mask, color)]
    if truth is not None:
        layers.append((truth & ~mask, truth_color))
    for region, paint in layers:
        out[region] = (1 - alpha) * out[region] + alpha * np.asarray(paint, np.float32)
    return np.round(out).astype(np.uint8)


def outline_boxes(image: np.ndarray, boxes: list[tuple[int, int, int, int]], *, scale: float = 1.0,
                  color=(255, 220, 0), thickness: int = 2) -> np.ndarray:
    """``image`` with a rectangle around each box (top, left, bottom, right, in pixels of the full photo).

    ``scale`` maps full-photo pixels to ``image`` pixels (a display copy is
    smaller); a box is widened by ``thickness`` so the line does not hide the crack.
    """
    out = image.copy()
    height, width = out.shape[:2]
    for top, left, bottom, right in boxes:
        t, l = max(0, int(top * scale) - thickness), max(0, int(left * scale) - thickness)
        b, r = min(height, int(np.ceil(bottom * scale)) + thickness), min(width, int(np.ceil(right * scale)) + thickness)
        for rows, cols in [(slice(t, t + thickness), slice(l, r)), (slice(b - thickness, b), slice(l, r)),
                           (slice(t, b), slice(l, l + thickness)), (slice(t, b), slice(r - thickness, r))]:
            out[rows, cols] = color
    return out


def growth_overlay(image: np.ndarray, before: np.ndarray, after: np.ndarray, *, alpha: float = 0.7) -> np.ndarray:
    """``image`` with the crack present ``before`` in orange and the crack new in ``after`` in magenta."""
    out = mask_overlay(image, before & after, color=OLD_CRACK_COLOR, alpha=alpha)
    return mask_overlay(out, after & ~before, color=NEW_CRACK_COLOR, alpha=alpha)


def preview(array: np.ndarray, max_side: int) -> np.ndarray:
    """A copy small enough to show: longest side at most ``max_side``, by an integer factor.

    Photos (uint8) are averaged, maps (float) averaged per block, masks (bool)
    keep a pixel where any pixel of its block is set, so one-pixel cracks stay
    visible. Blocks at the right and bottom edges average what they hold.
    Arrays already small enough come back unchanged.
    """
    array = np.asarray(array)
    factor = ceil_div(max(array.shape[:2]), max_side)
    if factor <= 1:
        return array
    if array.dtype == np.uint8 or (array.dtype.kind == "f" and array.ndim == 2):
        from PIL import Image  # its box reduction is C code: 5-20x faster than numpy on a 12 MP photo or map

        if array.dtype.kind == "f":
            array = array.astype(np.float32, copy=False)  # PIL's float images are 32-bit
        return np.asarray(Image.fromarray(array).reduce(factor))
    if array.dtype == bool and array.ndim == 2 and factor <= 15:
        from PIL import Image

        # A block's mean of 0/255 pixels is above 0 exactly where any pixel is set (one of up to 15² pixels
        # still averages to 1 or more, after PIL's rounding): 6 ms against numpy's 76 ms on a 12 MP mask.
        return np.asarray(Image.fromarray(array.view(np.uint8) * np.uint8(255)).reduce(factor)) > 0
    # numpy by reshaping: (h/f, f, w/f, f) blocks, padded to whole blocks.
    height, width = array.shape[:2]
    rows, cols = ceil_div(height, factor), ceil_div(width, factor)
    pad = ((0, rows * factor - height), (0, cols * factor - width)) + ((0, 0),) * (array.ndim - 2)
    blocks = np.pad(array, pad).reshape(rows, factor, cols, factor, *array.shape[2:])
    if array.dtype == bool:
        return blocks.any(axis=(1, 3))
    counts = np.pad(np.ones((height, width), np.float32), pad[:2]).reshape(rows, factor, cols, factor).sum((1, 3))
    return (blocks.sum(axis=(1, 3), dtype=np.float64) / counts.reshape(rows, cols, *([1] * (array.ndim - 2))))\
        .astype(np.float32)


def relevance_preview(relevance: np.ndarray, max_side: int) -> np.ndarray:
    """A display copy of a relevance map (longest side at most ``max_side``, by an integer factor) that keeps
    each block's strongest evidence: the signed value of largest magnitude.

    :func:`preview` averages a block, which thins a crack one pixel wide by the
    block's area (on a 6 MP photo shown 1600 px wide, to faint specks); the
    strongest value of the block keeps it as it is, like a mask's any-pixel rule.
    """
    relevance = np.asarray(relevance, np.float32)
    factor = ceil_div(max(relevance.shape), max_side)
    if factor <= 1:
        return relevance
    height, width = relevance.shape
    rows, cols = ceil_div(height, factor), ceil_div(width, factor)
    blocks = np.pad(relevance, ((0, rows * factor - height), (0, cols * factor - width)))\
        .reshape(rows, factor, cols, factor)
    high, low = blocks.max(axis=(1, 3)), blocks.min(axis=(1, 3))
    return np.where(high >= -low, high, low)
