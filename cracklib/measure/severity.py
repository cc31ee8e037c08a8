"""Crack severity from a binary mask: area, count, length, width, orientation.

Forest et al. measure damage by crack area, crack-per-patch (the number of
cracks) and crack width; length and width come from the mask's skeleton, width
from the distance transform sampled on it.

References
----------
Forest, F. et al., "From classification to segmentation with explainable AI: a
study on crack detection and growth monitoring", Automation in Construction, 2024.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import cv2
import numpy as np
from skimage.morphology import disk

from cracklib.mask.morphology import dilation, distance_to_background, skeletonize
from cracklib.tiling import bounding_box, map_near_mask

__all__ = ["Severity", "Crack", "GAP_PX", "WIDTH_METHODS", "measure_severity", "crack_labels", "skeleton_length"]


#: Fragments closer than this (pixels) are one crack when cracks are counted (``measure_severity(gap_px=...)``).
#: Chosen on the validation splits (a sweep of 6-30 px over the first 20 val photos of CrackForest, DeepCrack and
#: CrackSC): with 20 px the count is within ±1 of the truth's (measured the same way) on 75 % of CrackForest and
#: 80 % of DeepCrack photos, against 25 % and 55 % with 6 px; docs/severity.md has the test-split figures.
GAP_PX = 20


#: name → how crack widths are measured (``MaskSettings.widths``). The name is the code tables, CSV and JSON
#: carry (``Severity.width_method``); the explanation stays here and in docs/methods/severity.md.
#: An explanation mask is a band a few pixels wider than the crack (docs/severity.md: +3.4 px on CrackForest),
#: so by default widths are read on the crack's dark core on the photo, as Forest et al. read them on the
#: photo's intensity profile across the crack.
WIDTH_METHODS = {
    "photo": "2·d − 1 on the skeleton of the mask's dark core on the photo (its pixels darker than their "
             "surround, the photo's grey levels capped at its surface level, past Otsu's level, and the edges "
             "joined to them past half that level; cracklib.mask.refine), "
             "d the distance to the core's edge; on the mask where a crack has no core",
    "mask": "2·d − 1 on the mask's skeleton, d the distance to the background",
}


@dataclass
class Crack:
    """One crack: the fragments of the mask that lie within ``gap_px`` of each other.

    ``bbox`` is (top, left, bottom, right) in pixels, bottom and right exclusive.
    ``*_mm`` fields are None without a scale.
    """

    id: int
    area_px: int
    length_px: float
    max_width_px: float
    mean_width_px: float
    #: Direction in degrees from the horizontal, in [0, 180).
    orientation_deg: float
    bbox: tuple[int, int, int, int]
    length_mm: float | None = None
    max_width_mm: float | None = None
    mean_width_mm: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Severity:
    """Severity of the cracks in one mask. ``*_mm`` fields are None without a scale."""

    area_px: int
    n_cracks: int
    length_px: float
    max_width_px: float
    mean_width_px: float
    #: Main direction of the cracks in degrees from the horizontal, in [0, 180); None without cracks.
    orientation_deg: float | None
    mm_per_px: float | None = None
    area_mm2: float | None = None
    length_mm: float | None = None
    max_width_mm: float | None = None
    mean_width_mm: float | None = None
    #: Every crack, longest first (ids 1, 2, … in that order).
    cracks: list[Crack] = field(default_factory=list)
    #: Fragments closer than this were counted as one crack.
    gap_px: int = GAP_PX
    #: How widths were measured, as a short code: a key of WIDTH_METHODS (``photo`` or ``mask``), to which the
    #: pipeline adds how the mask was refined (``photo+otsu_core``) and the darkness square
    #: (``; darkness square 31 px``). The codes are explained in docs/methods/severity.md, not in every row.
    width_method: str = "mask"

    def to_dict(self) -> dict:
        """JSON-ready, with ``cracks`` as a list of dicts."""
        return asdict(self)

    def summary(self) -> dict:
        """The whole-mask numbers only (one flat row of a table), without the per-crack list."""
        return {key: value for key, value in asdict(self).items() if key != "cracks"}


def skeleton_length(skeleton: np.ndarray) -> float:
    """Length of a one-pixel-wide skeleton: 1 per straight step, √2 per diagonal step.

    A diagonal step is counted only where no two straight steps already join
    the same pixels, so corners are not counted twice. (scikit-image has the
    skeleton but no length measure.)
    """
    s = np.pad(np.asarray(skeleton, dtype=bool), 1)
    core = s[1:-1, 1:-1]
    right, down = s[1:-1, 2:], s[2:, 1:-1]
    straight = np.count_nonzero(core & right) + np.count_nonzero(core & down)
    down_right, down_left = s[2:, 2:], s[2:, :-2]
    left = s[1:-1, :-2]
    diagonal = (np.count_nonzero(core & down_right & ~right & ~down)
                + np.count_nonzero(core & down_left & ~left & ~down))
    return float(straight + np.sqrt(2) * diagonal)


def crack_labels(mask: np.ndarray, *, gap_px: int = GAP_PX) -> np.ndarray:
    """Label the mask's pixels by crack: 8-connected fragments closer than ``gap_px`` share a label.

    A crack drawn with interruptions (a faint stretch, a shadow) comes out of a
    segmentation as fragments along one line; a person counts one crack. The
    fragments are grown by half the gap, the grown shapes labelled, and each
    mask pixel takes its shape's label; branches stay part of their crack.
    Labels are 1…n, 0 off the mask.
    """
    mask = np.asarray(mask, dtype=bool)
    labels = _grown_shape_labels(mask, gap_px)
    labels[~mask] = 0
    return labels


def _grown_shape_labels(mask: np.ndarray, gap_px: int) -> np.ndarray:
    """Labels 1…n of the mask's shapes grown by half the gap (8-connected, as skimage's ``label(connectivity=2)``;
    OpenCV's labelling is a sixth of its time on a 12 MP photo's mask). Every shape holds mask pixels."""
    grown = _grown(mask, max(0, gap_px) // 2) if gap_px > 1 else mask
    return cv2.connectedComponents(np.ascontiguousarray(grown, dtype=np.uint8), connectivity=8,
                                   ltype=cv2.CV_32S)[1]


def measure_severity(mask: np.ndarray, *, mm_per_px: float | None = None, gap_px: int = GAP_PX,
                     core: np.ndarray | None = None) -> Severity:
    """Measure the cracks in a binary mask, every pixel of it, and each crack on its own.

    Specks are dropped before, where the mask is made
    (:func:`cracklib.pipeline.segment_explanation`), so the mask a user keeps
    is the mask that was measured.

    Parameters
    ----------
    mask : (H, W) bool
    mm_per_px : float, optional
        Scale of the photo; fills the ``*_mm`` fields.
    gap_px : int
        Fragments closer than this are one crack (:func:`crack_labels`).
    core : (H, W) bool, optional
        The crack's own pixels inside the mask (:func:`cracklib.mask.refine.dark_core`):
        widths are measured on its skeleton, crack by crack; a crack without
        core skeleton keeps the widths of its mask. Area, length and count are
        always the mask's.

    Notes
    -----
    Length is measured on the skeleton (:func:`skeleton_length`) plus one pixel
    per skeleton end, so a straight bar of n pixels has length about n. Width at a
    skeleton pixel is ``2·d − 1``, d the Euclidean distance to the background
    (a bar three pixels wide has d = 2 on its centre line, hence width 3).
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    area = int(mask.sum())
    width_method = "mask" if core is None else "photo"  # said of an empty mask too: the code names the settings
    if area == 0:
        severity = Severity(0, 0, 0.0, 0.0, 0.0, None, gap_px=gap_px, width_method=width_method)
    else:
        # Everything below is the same on the mask's bounding box, and faster.
        box = bounding_box(mask)
        offset = (box[0].start, box[1].start)
        mask = mask[box]
        rows, cols = np.nonzero(mask)
        crack_of_pixel = _grown_shape_labels(mask, gap_px)[rows, cols]
        in_core = None if core is None else np.asarray(core, dtype=bool)[box][rows, cols]
        cracks, widths = _cracks(rows, cols, crack_of_pixel, in_core, offset)
        severity = Severity(area, len(cracks), float(sum(c.length_px for c in cracks)),
                            float(widths.max()), float(widths.mean()), _degrees(_orientation(rows, cols)),
                            cracks=cracks, gap_px=gap_px,
                            width_method=width_method)
    if mm_per_px is not None:
        severity.mm_per_px = float(mm_per_px)
        severity.area_mm2 = severity.area_px * mm_per_px ** 2
        severity.length_mm = severity.length_px * mm_per_px
        severity.max_width_mm = severity.max_width_px * mm_per_px
        severity.mean_width_mm = severity.mean_width_px * mm_per_px
        for crack in severity.cracks:
            crack.length_mm = crack.length_px * mm_per_px
            crack.max_width_mm = crack.max_width_px * mm_per_px
            crack.mean_width_mm = crack.mean_width_px * mm_per_px
    return severity


def _orientation(rows: np.ndarray, cols: np.ndarray) -> float:
    """regionprops' ``orientation`` of the pixels at ``rows``, ``cols`` as one region.

    regionprops computes the moments on a float copy of the whole bounding
    box (a second on a 12 MP mask); the covariance of the pixel coordinates
    gives the same angle.
    """
    rows, cols = rows - rows.mean(), cols - cols.mean()
    mu20, mu02, mu11 = float(rows @ rows), float(cols @ cols), float(rows @ cols)
    if mu20 == mu02:
        return np.pi / 4 if mu11 > 0 else -np.pi / 4
    return 0.5 * np.arctan2(2 * mu11, mu20 - mu02)


def _degrees(orientation: float) -> float:
    # regionprops' orientation is the major axis' angle to the row axis;
    # turn it into degrees from the horizontal (x to the right, y up).
    return float((90 + np.degrees(orientation)) % 180)


def _cracks(rows: np.ndarray, cols: np.ndarray, crack_of_pixel: np.ndarray, in_core: np.ndarray | None,
            offset: tuple[int, int]) -> tuple[list[Crack], np.ndarray]:
    """One :class:`Crack` per crack label, longest first, and the widths of all of them (one per skeleton pixel).

    ``rows``, ``cols`` are the mask's pixels in row-major order, ``crack_of_pixel``
    their crack labels and ``in_core`` whether each is in the crack's dark core.
    Each crack is measured on its own bounding box, with the other cracks'
    pixels left out: the same skeleton and distances as on the whole mask, since
    two cracks' pixels are never neighbours (the thinning reads 3×3
    neighbourhoods) and a pixel of another crack is never nearer than the
    background between them (a test compares both). A crack mask on a large
    photo covers a few per cent of its bounding box: on the 12 MP photo of
    ``benchmarks/speed/app_latency.py``, the cracks' boxes hold 30 times fewer pixels.
    """
    found, all_widths = [], []
    order = np.argsort(crack_of_pixel, kind="stable")  # each crack's pixels stay in row-major order
    for group in np.split(order, np.flatnonzero(np.diff(crack_of_pixel[order])) + 1):
        crack_rows, crack_cols = rows[group], cols[group]
        top, left = int(crack_rows.min()), int(crack_cols.min())
        pixels = _pixels(crack_rows - top, crack_cols - left)
        skeleton = skeletonize(pixels)
        length = skeleton_length(skeleton) + _skeleton_ends(skeleton)
        widths = None
        if in_core is not None and in_core[group].any():  # widths on the crack's dark core, where it has one
            core = in_core[group]
            core_pixels = _pixels(crack_rows[core] - top, crack_cols[core] - left, shape=pixels.shape)
            core_skeleton = skeletonize(core_pixels)
            if core_skeleton.any():
                widths = _widths(core_pixels, core_skeleton)
        if widths is None:
            widths = _widths(pixels, skeleton)
        if widths.size == 0:  # no skeleton left (scikit-image's thinning keeps one of every shape): 1 px
            widths = np.ones(1)
        found.append(Crack(0, len(group), float(length), float(widths.max()), float(widths.mean()),
                           _degrees(_orientation(crack_rows, crack_cols)),
                           (top + offset[0], left + offset[1],
                            top + pixels.shape[0] + offset[0], left + pixels.shape[1] + offset[1])))
        all_widths.append(widths)
    found.sort(key=lambda crack: -crack.length_px)
    for number, crack in enumerate(found, 1):
        crack.id = number
    return found, np.concatenate(all_widths)


def _pixels(rows: np.ndarray, cols: np.ndarray, *, shape: tuple[int, int] | None = None) -> np.ndarray:
    """A boolean image of ``shape`` (by default just holding them) set at ``rows``, ``cols``."""
    pixels = np.zeros(shape or (int(rows.max()) + 1, int(cols.max()) + 1), bool)
    pixels[rows, cols] = True
    return pixels


def _widths(pixels: np.ndarray, skeleton: np.ndarray) -> np.ndarray:
    """``2·d − 1`` at the skeleton's pixels (row-major), d the distance to the background."""
    return 2 * distance_to_background(pixels)[skeleton].astype(np.float64) - 1


def _grown(mask: np.ndarray, radius: int, *, block: int = 256) -> np.ndarray:
    """``mask`` grown by ``radius`` pixels (Euclidean; skimage's ``isotropic_dilation``), on the blocks near it."""
    footprint = disk(radius).astype(np.uint8)
    return map_near_mask(lambda window: dilation(window, footprint), mask, mask, margin=radius,
                         block=block, dtype=bool)


def _skeleton_ends(skeleton: np.ndarray) -> int:
    """Number of skeleton end points (one neighbour); an isolated pixel counts as one end."""
    rows, cols = np.nonzero(skeleton)
    padded = np.pad(skeleton, 1)
    neighbours = sum(padded[rows + 1 + dr, cols + 1 + dc].astype(np.int64)
                     for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc)
    return int(np.count_nonzero(neighbours <= 1))
