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

import numpy as np
from scipy import ndimage
from skimage.measure import label
from skimage.morphology import disk

from .morphology import dilation, distance_to_background, skeletonize
from .tiling import bounding_box, map_near_mask

__all__ = ["Severity", "Crack", "GAP_PX", "WIDTH_METHODS", "measure_severity", "crack_labels", "skeleton_length"]


#: Fragments closer than this (pixels) are one crack when cracks are counted (``measure_severity(gap_px=...)``).
#: Chosen on the validation splits (a sweep of 6-30 px over the first 20 val photos of CrackForest, DeepCrack and
#: CrackSC): with 20 px the count is within ±1 of the truth's (measured the same way) on 75 % of CrackForest and
#: 80 % of DeepCrack photos, against 25 % and 55 % with 6 px; docs/severity.md has the test-split figures.
GAP_PX = 20

#: name → how crack widths are measured (``MaskSettings.widths``; the name of the one used is in the JSON).
#: An explanation mask is a band a few pixels wider than the crack (docs/severity.md: +3.4 px on CrackForest),
#: so by default widths are read on the crack's dark core on the photo, as Forest et al. read them on the
#: photo's intensity profile across the crack.
WIDTH_METHODS = {
    "photo": "2·d − 1 on the skeleton of the mask's dark core on the photo (its pixels darker than their "
             "surround, the photo's grey levels capped at its surface level, past Otsu's level, and the edges "
             "joined to them past half that level; cracklib.refine), "
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
    #: How widths were measured (the pipeline adds how the mask was made).
    width_method: str = WIDTH_METHODS["mask"]

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
    grown = _grown(mask, max(0, gap_px) // 2) if gap_px > 1 else mask
    labels = label(grown, connectivity=2)
    labels[~mask] = 0
    # Dense ids 1…n (a grown shape always holds mask pixels, so none is empty).
    return labels


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
        The crack's own pixels inside the mask (:func:`cracklib.refine.dark_core`):
        widths are measured on its skeleton, crack by crack; a crack without
        core pixels keeps the widths of its mask. Area, length and count are
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
    if area == 0:
        severity = Severity(0, 0, 0.0, 0.0, 0.0, None, gap_px=gap_px)
    else:
        # Everything below is the same on the mask's bounding box, and faster.
        box = bounding_box(mask)
        offset = (box[0].start, box[1].start)
        mask = mask[box]
        labels = crack_labels(mask, gap_px=gap_px)
        skeleton = skeletonize(mask)
        widths = 2 * _distance_to_background(mask, skeleton) - 1  # row-major order of the skeleton's pixels
        width_points = _WidthPoints(labels[skeleton], widths)
        if core is not None:
            core = np.asarray(core, dtype=bool)[box] & mask
            core_skeleton = skeletonize(core)
            width_points = width_points.preferring(
                _WidthPoints(labels[core_skeleton], 2 * _distance_to_background(core, core_skeleton) - 1))
        cracks = _cracks(labels, skeleton, width_points, offset)
        severity = Severity(area, len(cracks), float(sum(c.length_px for c in cracks)),
                            float(width_points.widths.max()), float(width_points.widths.mean()),
                            _degrees(_orientation(mask)), cracks=cracks, gap_px=gap_px,
                            width_method=WIDTH_METHODS["mask" if core is None else "photo"])
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


def _orientation(mask: np.ndarray) -> float:
    """regionprops' ``orientation`` of all of ``mask`` as one region, from its pixels' coordinates.

    regionprops computes the moments on a float copy of the whole bounding
    box (a second on a 12 MP mask); the covariance of the pixel coordinates
    gives the same angle.
    """
    rows, cols = np.nonzero(mask)
    rows, cols = rows - rows.mean(), cols - cols.mean()
    mu20, mu02, mu11 = float(rows @ rows), float(cols @ cols), float(rows @ cols)
    if mu20 == mu02:
        return np.pi / 4 if mu11 > 0 else -np.pi / 4
    return 0.5 * np.arctan2(2 * mu11, mu20 - mu02)


def _degrees(orientation: float) -> float:
    # regionprops' orientation is the major axis' angle to the row axis;
    # turn it into degrees from the horizontal (x to the right, y up).
    return float((90 + np.degrees(orientation)) % 180)


@dataclass
class _WidthPoints:
    """Widths measured at skeleton pixels, with the crack label of each pixel."""

    labels: np.ndarray
    widths: np.ndarray

    def preferring(self, other: "_WidthPoints") -> "_WidthPoints":
        """``other``'s points for the cracks it has points on, these for the rest."""
        keep = ~np.isin(self.labels, other.labels)
        return _WidthPoints(np.concatenate([other.labels, self.labels[keep]]),
                            np.concatenate([other.widths, self.widths[keep]]))


def _cracks(labels: np.ndarray, skeleton: np.ndarray, width_points: _WidthPoints,
            offset: tuple[int, int]) -> list[Crack]:
    """One :class:`Crack` per label, longest first."""
    found = []
    for number, window in enumerate(ndimage.find_objects(labels), 1):
        if window is None:  # no such label (ids are dense: never)
            continue
        pixels = labels[window] == number
        own = skeleton[window] & pixels
        length = skeleton_length(own) + _skeleton_ends(own)
        crack_widths = width_points.widths[width_points.labels == number]
        top, left = window[0].start + offset[0], window[1].start + offset[1]
        found.append(Crack(0, int(np.count_nonzero(pixels)), float(length),
                           float(crack_widths.max()) if crack_widths.size else 1.0,
                           float(crack_widths.mean()) if crack_widths.size else 1.0,
                           # regionprops' orientation, from the pixel coordinates (its moments are
                           # computed on a float copy of each crack's bounding box)
                           _degrees(_orientation(pixels)),
                           (top, left, window[0].stop + offset[0], window[1].stop + offset[1])))
    found.sort(key=lambda crack: -crack.length_px)
    for number, crack in enumerate(found, 1):
        crack.id = number
    return found


def _distance_to_background(mask: np.ndarray, points: np.ndarray, *, margin: int = 32) -> np.ndarray:
    """Euclidean distance to the nearest background pixel (outside the image counts as background),
    at the ``points`` pixels only, in row-major order.

    Computed on the blocks near the mask (a crack is a thin band across a large
    photo): a block read with ``margin`` pixels around it sees every background
    pixel nearer than that, so its distances below ``margin`` are exact; a mask
    with a pixel farther from the background is measured whole.
    """
    near = map_near_mask(distance_to_background, mask, mask, margin=margin)
    if near.max() >= margin:
        near = distance_to_background(mask)
    return near[points].astype(np.float64)


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
