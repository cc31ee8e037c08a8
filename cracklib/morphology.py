"""Morphology on large photos and masks: scikit-image's operations, computed with OpenCV's kernels.

scikit-image and scipy define what the mask step does (their footprints, their
border rules); OpenCV computes the same pixels several times faster, which is
what a threshold change in the studio waits for on a 12 MP photo
(``benchmarks/mask_step.py`` times both side by side). Each function says which
scikit-image or scipy call it equals, and ``tests/test_morphology.py`` checks
it on random masks.

Masks are (H, W) bool in and out; OpenCV works on uint8 copies.
"""
from __future__ import annotations

import cv2
import numpy as np
from skimage.morphology import disk, ellipse

from .tiling import bounding_box

__all__ = ["round_footprint", "dilation", "closing", "drop_small_components", "grey_closing_square",
           "distance_to_background"]


def round_footprint(radius: int) -> np.ndarray:
    """The (2r+1)×(2r+1) round structuring element of the mask step (uint8 0/1).

    scikit-image's ``ellipse(r, r)`` for small radii (the paper's 5×5 ellipse)
    and ``disk(r)`` for larger ones, as the post-processing always used.
    """
    return (ellipse(radius, radius) if radius <= 3 else disk(radius)).astype(np.uint8)


def _u8(mask: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(mask, dtype=np.uint8)


def dilation(mask: np.ndarray, footprint: np.ndarray) -> np.ndarray:
    """``skimage.morphology.dilation`` of a bool mask by a symmetric footprint (outside the image: background).

    With ``disk(r)`` it is also skimage's ``isotropic_dilation(mask, r)``.
    """
    return cv2.dilate(_u8(mask), footprint, borderType=cv2.BORDER_CONSTANT, borderValue=0).astype(bool)


def closing(mask: np.ndarray, footprint: np.ndarray) -> np.ndarray:
    """``skimage.morphology.closing`` of a bool mask by a symmetric footprint.

    The dilation sees background outside the image and the erosion foreground,
    so the image border erodes nothing; on an image at least as large as the
    footprint that is what scikit-image's reflected border gives.
    """
    grown = cv2.dilate(_u8(mask), footprint, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return cv2.erode(grown, footprint, borderType=cv2.BORDER_CONSTANT, borderValue=1).astype(bool)


def drop_small_components(mask: np.ndarray, min_area: int) -> np.ndarray:
    """The mask without its 8-connected components of fewer than ``min_area`` pixels (an area opening).

    ``skimage.morphology.remove_small_objects(mask, max_size=min_area - 1, connectivity=2)``.
    """
    mask = np.asarray(mask, dtype=bool)
    box = bounding_box(mask)
    if min_area <= 1 or box is None:
        return mask.copy()
    _, labels, stats, _ = cv2.connectedComponentsWithStats(_u8(mask[box]), connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_area
    if keep[1:].all():  # nothing to drop
        return mask.copy()
    keep[0] = False  # the background
    out = np.zeros_like(mask)
    out[box] = keep[labels]
    return out


def grey_closing_square(gray: np.ndarray, width: int) -> np.ndarray:
    """``scipy.ndimage.grey_closing(gray, size=(width, width))`` of a float32 image (reflected border)."""
    square = np.ones((width, width), np.uint8)
    return cv2.morphologyEx(np.ascontiguousarray(gray, dtype=np.float32), cv2.MORPH_CLOSE, square,
                            borderType=cv2.BORDER_REFLECT)


def distance_to_background(mask: np.ndarray) -> np.ndarray:
    """Euclidean distance (float32) from each mask pixel to the nearest background pixel; 0 off the mask.

    ``scipy.ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]``: the
    image's outside counts as background.
    """
    padded = np.pad(_u8(mask), 1)
    return cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
