"""Morphology on large photos and masks: scikit-image's operations, computed with OpenCV's kernels.

scikit-image and scipy define what the mask step does (their footprints, their
border rules); OpenCV computes the same pixels several times faster, which is
what a threshold change in the studio waits for on a 12 MP photo
(``benchmarks/speed/mask_step.py`` times both side by side). Each function says which
scikit-image or scipy call it equals, and ``tests/test_morphology.py`` checks
it on random masks.

Masks are (H, W) bool in and out; OpenCV works on uint8 copies.
"""
from __future__ import annotations

import cv2
import numpy as np
from skimage.morphology import disk, ellipse
from skimage.morphology import skeletonize as skimage_skeletonize

from cracklib.tiling import bounding_box

__all__ = ["round_footprint", "dilation", "closing", "drop_small_components", "grey_closing_square",
           "distance_to_background", "box_mean", "skeletonize"]


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


def box_mean(image: np.ndarray, size: int) -> np.ndarray:
    """``scipy.ndimage.uniform_filter(image, size)`` of a 2-D map in float64 (reflected border).

    The mixture thresholds smooth the relevance with it; on a 12 MP map OpenCV's
    box filter takes 0.04 s against scipy's 0.21 s (``benchmarks/speed/mask_step.py``).
    """
    return cv2.blur(np.ascontiguousarray(image, dtype=np.float64), (size, size), borderType=cv2.BORDER_REFLECT)


# scikit-image's look-up table for Zhang and Suen's thinning (skimage/morphology/_skeletonize_cy.pyx): for
# each pattern of a pixel's 8 neighbours, 1 = removed in the first sub-pass, 2 = in the second, 3 = in both.
_ZHANG_SUEN_TABLE = np.array([
    0, 0, 0, 1, 0, 0, 1, 3, 0, 0, 3, 1, 1, 0, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2, 0, 3, 0, 3, 3,
    0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 3, 0, 2, 2,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 3, 0, 2, 0,
    0, 0, 3, 1, 0, 0, 1, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 3, 1, 3, 0, 0, 1, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 3, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 0, 1, 0, 0, 0, 0, 2, 2, 0, 0, 2, 0, 0, 0], np.uint8)


#: Boxes of at least this many pixels are thinned here; smaller ones by scikit-image (:func:`skeletonize`).
SPARSE_THINNING_FROM = 2 ** 17


#: Neighbour weights of that table: NW 1, N 2, NE 4, E 8, SE 16, S 32, SW 64, W 128.
_NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))


def skeletonize(mask: np.ndarray) -> np.ndarray:
    """``skimage.morphology.skeletonize`` of a 2-D mask (Zhang and Suen's thinning): the same pixels.

    scikit-image scans every pixel of the image in each sub-pass; a crack mask
    on a 12 MP photo is a few ten thousand pixels spread over most of it. Here
    each sub-pass looks only at the mask's border pixels (a pixel whose 8
    neighbours are all set is never removed), and removes, as scikit-image
    does, all the pixels the table marks at once. On a 12 MP photo's crack mask
    (its bounding box) that takes 0.023 s against 0.105 s
    (``benchmarks/speed/mask_step.py``); in ad-hoc timings, a solid 1000×1000 square
    took 0.4 s against 9 s, and forty 15-px bands across a 12 MP image (1 MP of
    mask) 0.66 s against 0.45 s, the one case seen where it is slower.

    References
    ----------
    Zhang, T. Y. & Suen, C. Y., "A fast parallel algorithm for thinning digital
    patterns", Communications of the ACM 27(3), 1984.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    out = np.zeros(mask.shape, bool)
    box = bounding_box(mask)
    if box is None:
        return out
    if mask[box].size < SPARSE_THINNING_FROM:
        out[box] = skimage_skeletonize(mask[box])
        return out
    padded = np.pad(mask[box], 1).astype(np.uint8)  # outside the box there is no mask pixel
    pixels = padded.ravel()
    width = padded.shape[1]
    offsets = np.array([row * width + col for row, col in _NEIGHBOURS])

    def patterns(at: np.ndarray) -> np.ndarray:  # the table's index: neighbour k set adds 2**k
        return np.packbits(pixels[at[:, None] + offsets], axis=1, bitorder="little")[:, 0]

    candidates = np.flatnonzero(pixels)
    candidates = candidates[patterns(candidates) != 255]
    is_candidate = np.zeros_like(pixels)
    is_candidate[candidates] = 1
    removed = True
    while removed:
        removed = False
        for sub_pass in (1, 2):
            table = _ZHANG_SUEN_TABLE[patterns(candidates)]
            removing = (table == sub_pass) | (table == 3)
            if not removing.any():
                continue
            removed = True
            gone = candidates[removing]
            pixels[gone] = is_candidate[gone] = 0
            # The set neighbours of a removed pixel are border pixels now.
            neighbours = (gone[:, None] + offsets).ravel()
            neighbours = np.unique(neighbours[(pixels[neighbours] == 1) & (is_candidate[neighbours] == 0)])
            is_candidate[neighbours] = 1
            candidates = np.concatenate([candidates[~removing], neighbours])
    out[box] = padded[1:-1, 1:-1].astype(bool)
    return out
