"""Refining an explanation mask with the photo: keep the dark pixels a crack is made of.

The relevance says *where* a crack is, at the classifier's resolution: its mask
is a band a few pixels wider than the crack, so area and width measured on it
overstate the crack (a synthetic growth series with the default model: masks
1.5-2.5 times the true area). Inside that band, a crack is darker than the
surface around it. The darkness of a pixel is the black top-hat of the
photo's grey levels (closing minus image: how much darker the pixel is than the
brightest surface within ``width`` pixels, the grey levels first capped at the
photo's own surface level, :func:`surface_level`), and the refined mask keeps the
band's pixels whose darkness passes Otsu's level, computed on the darkness
inside the band. Forest et al. measure crack width on the photo's intensity
profile across the crack for the same reason.

Two refinements (``REFINEMENTS``): ``otsu_core``, the pixels past Otsu's level,
and ``dark_core``, that core plus the half-dark edge pixels joined to it. The
Otsu core alone trades recall for precision, but the paper's post-processing
closes it again along the crack: together they are the product's default, the
best mean F1 on the masked validation sets (0.576 against 0.515 unrefined, 0.562
for the dark core; docs/refine_val.md, ``benchmarks/decisions/refine_val.py``). The square
the darkness is taken over must be wider than the crack: by default it is sized
for each photo on its explanation band (:func:`band_darkness_width`).

A fatigue crack on polished metal, lit at a grazing angle, is a *bright* line on
a dark surface. The crack's polarity (``POLARITIES``, ``MaskSettings.polarity``)
says which: a bright crack's darkness is that of the photo's negative (the
white top-hat: how much brighter a pixel is than the darkest surface around it),
and ``auto`` reads it off each photo's explanation band (:func:`crack_polarity`).

References
----------
Otsu, N., "A threshold selection method from gray-level histograms", IEEE
Trans. Systems, Man, and Cybernetics 9(1), 1979.
Forest, F. et al., "From classification to segmentation with explainable AI: a
study on crack detection and growth monitoring", Automation in Construction, 2024.
"""
from __future__ import annotations

import threading

import cv2
import numpy as np
from skimage.color import rgb2gray
from skimage.filters import threshold_otsu

from cracklib.mask.morphology import distance_to_background, grey_closing_square, skeletonize
from cracklib.tiling import bounding_box, ceil_div, fill_block, occupied_blocks

__all__ = ["REFINEMENTS", "POLARITIES", "DARKNESS_WIDTH", "PER_PHOTO", "PER_PHOTO_WIDTHS", "SURFACE_PERCENTILE",
           "surface_level", "darkness", "DarknessMap", "band_darkness_width", "crack_polarity", "darkness_level",
           "refine_mask", "dark_core", "hysteresis_threshold", "refine_with_photo"]


#: name → what it does (``MaskSettings.refine``).
REFINEMENTS = {
    "none": "the thresholded relevance as it is",
    "dark_core": "keep the mask's pixels darker than their surround (Otsu's level) and the half-dark edge "
                 "pixels joined to them (brighter, for a bright crack: polarity)",
    "otsu_core": "keep the mask's pixels darker than their surround past Otsu's level only (brighter, for a "
                 "bright crack: polarity)",
}


#: name → what it means (``MaskSettings.polarity``): which way a crack differs from the surface around it.
POLARITIES = {
    "dark": "the crack is darker than its surface (concrete, asphalt, masonry: a shadowed gap)",
    "bright": "the crack is brighter than its surface (a fatigue crack on polished metal lit at a grazing angle)",
    "auto": "decided for each photo: whichever of the two stands out more inside the explanation's band than "
            "around it",
}


#: Side (pixels) of the square the surface brightness is taken over, when fixed (the functions' default): wider
#: than the widest crack. Also the smallest side of a square sized per photo.
DARKNESS_WIDTH = 15


#: ``MaskSettings.darkness_width`` that sizes the square for each photo from its explanation band
#: (:func:`band_darkness_width`), and the smallest and largest side it may take.
PER_PHOTO = "per_photo"


PER_PHOTO_WIDTHS = (DARKNESS_WIDTH, 45)


#: The surface is at most as bright as this percentile of the photo's grey levels (:func:`surface_level`);
#: 100 leaves the grey levels as they are. Chosen on the validation splits (``benchmarks/decisions/surface_val.py``,
#: docs/surface_val.md): capped at 85, the default pipeline's F1 rose on all five masked photo sets (mean
#: 0.559 → 0.566 with the 15-px square of the time; 0.571 → 0.576 with the square sized per photo). 80 gave
#: 0.567, but with it the worst of frames 3-6 of growth's synthetic series (``benchmarks/results/growth_report.py``,
#: docs/growth.md) erred by 20 % against 15 % uncapped; 85 keeps 15 %.
#: Lower caps helped CrackForest a little more and cost NHA12D.
SURFACE_PERCENTILE = 85.0


#: The surface level is read on every this-many-th pixel each way: a percentile needs no 12 MP.
_SURFACE_STEP = 4


def _check_polarity(polarity: str) -> None:
    """A polarity the darkness can be read in: ``dark`` or ``bright`` (``auto`` is decided before, per photo)."""
    if polarity not in ("dark", "bright"):
        raise ValueError(f"the darkness is read for a 'dark' or a 'bright' crack, got {polarity!r}")


def _gray(image: np.ndarray, polarity: str = "dark") -> np.ndarray:
    """Grey levels 0-255 (float32, a new array); for a bright crack those of the photo's negative."""
    gray = np.array(image, np.float32) if image.ndim == 2 else (rgb2gray(image) * 255).astype(np.float32)
    if polarity == "bright":
        np.subtract(255, gray, out=gray)
    return gray


def surface_level(photo: np.ndarray, *, percentile: float | None = None, polarity: str = "dark") -> float:
    """The grey level (0-255) of the photo's bright surface: ``percentile`` (default
    :data:`SURFACE_PERCENTILE`) of its grey levels; infinite (no cap) for 100.

    A pixel in a worn lane marking, between white stones or beside glare is far
    darker than its brightest neighbour without being a crack; with grey levels
    capped at this level, the surface brightness is that of the photo's own
    surface. Read on a regular subsample of the photo (every 4th pixel each way).
    For a bright crack (``polarity="bright"``) it is the level of the photo's
    negative: dark spots (holes, a machined slot) do not make their neighbours bright.
    """
    _check_polarity(polarity)
    percentile = SURFACE_PERCENTILE if percentile is None else percentile
    if percentile >= 100:
        return float("inf")
    return float(np.percentile(_gray(photo[::_SURFACE_STEP, ::_SURFACE_STEP], polarity), percentile))


def darkness(image: np.ndarray, *, width: int = DARKNESS_WIDTH, surface: float | None = None,
             polarity: str = "dark") -> np.ndarray:
    """How much darker each pixel is than the brightest surface around it (black top-hat, grey levels 0-255).

    Parameters
    ----------
    image : (H, W, 3) or (H, W) uint8
    width : int
        Side of the square neighbourhood; cracks up to about this wide are kept whole.
    surface : float, optional
        Grey levels are capped at this level first, so nothing brighter than the
        surface (paint, glare) makes its neighbours dark. By default
        :func:`surface_level` of ``image``; a part of a photo takes the whole photo's.
    polarity : {'dark', 'bright'}
        ``bright``: the darkness of the photo's negative, i.e. how much *brighter*
        each pixel is than the darkest surface around it (white top-hat), for a
        crack brighter than its surface; ``surface`` is then a level of the negative.

    Returns
    -------
    (H, W) float32, 0 where the pixel is as bright as its neighbourhood's brightest (or the surface).
    """
    _check_polarity(polarity)
    gray = _gray(image, polarity)
    surface = surface_level(image, polarity=polarity) if surface is None else surface
    if np.isfinite(surface):
        np.minimum(gray, surface, out=gray)
    # A flat square (scipy's grey_closing, computed by OpenCV): skimage's black_tophat with a disk is not separable.
    return grey_closing_square(gray, width) - gray


class DarknessMap:
    """One photo's :func:`darkness`, computed block by block where a mask needs it, and kept.

    A threshold change in the studio cuts the same photo again, and its new mask
    lies mostly in the blocks the previous one needed: those are not computed
    again. Each block is computed with ``width`` pixels of the photo around it,
    so its values equal :func:`darkness` of the whole photo; a crack's mask on a
    large photo touches few blocks. Safe to share between threads.

    Parameters
    ----------
    photo : (H, W, 3) or (H, W) uint8
    width : int
        As for :func:`darkness`.
    block : int
        Side of the blocks (pixels).
    surface : float, optional
        The grey level every block is capped at (:func:`darkness`); by default
        the whole photo's :func:`surface_level`.
    polarity : {'dark', 'bright'}
        The crack's polarity the darkness is read for (:func:`darkness`).
    """

    def __init__(self, photo: np.ndarray, *, width: int = DARKNESS_WIDTH, block: int = 256,
                 surface: float | None = None, polarity: str = "dark"):
        _check_polarity(polarity)
        self.photo, self.width, self.block, self.polarity = photo, width, block, polarity
        # One level for every block.
        self.surface = surface_level(photo, polarity=polarity) if surface is None else surface
        height, photo_width = photo.shape[:2]
        self._values = np.zeros((height, photo_width), np.float32)
        self._done = np.zeros((ceil_div(height, block), ceil_div(photo_width, block)), bool)
        self._lock = threading.Lock()
        self._origin, self.shape = (0, 0), (height, photo_width)

    @property
    def nbytes(self) -> int:
        return self._values.nbytes

    def __getstate__(self) -> dict:
        # What is computed is a cache: a pickled map (st.cache_data's copy of a growth report) starts afresh.
        return {"photo": self.photo, "width": self.width, "block": self.block, "origin": self._origin,
                "shape": self.shape, "surface": self.surface, "polarity": self.polarity}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["photo"], width=state["width"], block=state["block"], surface=state["surface"],
                      polarity=state.get("polarity", "dark"))
        self._origin, self.shape = state["origin"], state["shape"]

    def cropped(self, window: tuple[slice, slice]) -> "DarknessMap":
        """The map of ``photo[window]`` (slices with start and stop), sharing the blocks computed so far."""
        rows, cols = window
        crop = DarknessMap.__new__(DarknessMap)  # the same values, flags and lock (copy.copy would pickle)
        crop.__dict__.update(self.__dict__, _origin=(self._origin[0] + rows.start, self._origin[1] + cols.start),
                             shape=(rows.stop - rows.start, cols.stop - cols.start))
        return crop

    def near(self, mask: np.ndarray) -> np.ndarray:
        """The darkness (read-only view, shaped as ``mask``), computed on every block holding a pixel of ``mask``.

        Elsewhere it is zero, or what an earlier mask needed.
        """
        if mask.shape != self.shape:
            raise ValueError(f"mask {mask.shape} and photo {self.shape} differ in size")
        top, left = self._origin
        size = self.block
        # The photo's blocks under the mask: a crop that starts inside a block is padded to the block's start.
        inset = (top % size, left % size)
        if any(inset):
            mask = np.pad(np.asarray(mask, dtype=bool), ((inset[0], 0), (inset[1], 0)))
        occupied = occupied_blocks(mask, size)
        with self._lock:
            for row, col in zip(*np.nonzero(occupied)):
                row, col = int(row) + top // size, int(col) + left // size
                if not self._done[row, col]:
                    self._compute(row, col)
        view = self._values[top:top + self.shape[0], left:left + self.shape[1]]
        view.flags.writeable = False
        return view

    def _compute(self, row: int, col: int) -> None:
        fill_block(self._values, lambda window: darkness(window, width=self.width, surface=self.surface,
                                                         polarity=self.polarity),
                   self.photo, (row * self.block, col * self.block), block=self.block, margin=self.width)
        self._done[row, col] = True


def band_darkness_width(band: np.ndarray, *, percentile: float = 90.0, factor: float = 1.5,
                        widths: tuple[int, int] = PER_PHOTO_WIDTHS) -> int:
    """The side of the darkness square for one photo, sized on the width of its explanation band.

    A crack wider than the square loses its middle to the refinement (no darker
    than its own surround), and a square much wider than the crack lets the
    surface texture in. The explanation band (the thresholded relevance, before
    refinement) is a few pixels wider than the crack and widest where the crack
    is: its half-width on its skeleton (the distance to the band's edge) says how
    wide a square the photo's cracks need. The side is ``factor`` × twice the
    ``percentile`` of those half-widths, rounded up to an odd number and kept
    within ``widths``. On the validation splits the square sized so (90th
    percentile, × 1.5, 15-45 px) raised the default pipeline's mean F1 over five
    masked photo sets from 0.566 (a fixed 15 px) to 0.576, DeepCrack's wide,
    spalled cracks from 0.666 to 0.711, with no set worse
    (docs/darkness_width_val.md, ``benchmarks/decisions/darkness_width_val.py``); a fixed
    45-px square reached the same mean but cost NHA12D and growth's synthetic
    series (docs/decisions/0005-darkness-square-per-photo.md).

    Parameters
    ----------
    band : (H, W) bool
        The explanation's cut before refinement.
    percentile, factor : float
    widths : (int, int)
        The smallest and the largest side (odd).

    Returns
    -------
    int, odd; the smallest side for an empty band.
    """
    band = np.asarray(band, dtype=bool)
    box = bounding_box(band, margin=1)
    if box is None:
        return widths[0]
    # Fragment by fragment, each on its own box: a fragment's skeleton and distances never read another's pixels,
    # so the half-widths are those of the whole band (to float32 rounding), at half the time on a 12 MP photo
    # whose fragments span it (benchmarks/speed/mask_step.py): the transforms skip the empty space between them.
    count, labels, boxes, _ = cv2.connectedComponentsWithStats(np.ascontiguousarray(band[box], dtype=np.uint8),
                                                               connectivity=8)
    half_widths = []
    for label in range(1, count):
        left, top, width, height = (int(value) for value in boxes[label, :4])
        window = (slice(max(top - 1, 0), top + height + 1), slice(max(left - 1, 0), left + width + 1))
        fragment = labels[window] == label
        half_widths.append(distance_to_background(fragment)[skeletonize(fragment)])
    side = int(np.ceil(factor * 2 * np.percentile(np.concatenate(half_widths), percentile)))
    side += 1 - side % 2  # the square has a centre pixel
    return int(np.clip(side, *widths))


def crack_polarity(band: np.ndarray, photo: np.ndarray, *, width: int = DARKNESS_WIDTH,
                   maps: dict[str, DarknessMap] | None = None) -> str:
    """Whether the crack under an explanation band is ``"dark"`` or ``"bright"``: the polarity whose
    darkness (:func:`darkness`) stands out more inside the band than in a ring around it.

    The band is a few pixels wider than the crack, so a dark crack raises the
    mean darkness inside it and a bright crack the mean darkness of the negative;
    the surface's own texture raises both, in the band and around it alike, so
    each polarity's mean in the ring (``width`` pixels around the band) is taken
    off its mean in the band, and the larger excess wins. Top-hats rather than
    grey levels: a band along an edge or in a shadow is not darker for it. A tie
    or an empty band gives ``"dark"``, the cracks of concrete and asphalt. Near
    the photo's border a top-hat sees part of its square only: a dark crack
    running along the border, closer to it than the square's side, leaves a
    strip of surface that reads as bright.

    Parameters
    ----------
    band : (H, W) bool
        The explanation's cut before refinement.
    photo : (H, W, 3) or (H, W) uint8
    width : int
        Side of the darkness square (:func:`band_darkness_width` sizes it on the band), and the ring's width.
    maps : dict, optional
        The photo's kept :class:`DarknessMap` per polarity (``"dark"``, ``"bright"``; of ``width``), read
        where the band and its ring lie, so that the refinement reads the chosen one again without computing
        it twice; by default new ones.

    Returns
    -------
    str, ``"dark"`` or ``"bright"``.
    """
    band = np.asarray(band, dtype=bool)
    if band.shape != photo.shape[:2]:
        raise ValueError(f"band {band.shape} and photo {photo.shape[:2]} differ in size")
    box = bounding_box(band, margin=width)
    if box is None:
        return "dark"
    # The ring: the band grown by the square's side, less the band (a dilation by a square, separable in OpenCV).
    ring = np.zeros_like(band)
    ring[box] = cv2.dilate(band[box].astype(np.uint8), np.ones((2 * width + 1,) * 2, np.uint8)).astype(bool)
    ring &= ~band
    maps = maps or {}
    excess = {}
    for polarity in ("dark", "bright"):
        kept = maps.get(polarity) or DarknessMap(photo, width=width, polarity=polarity)
        dark = kept.near(band | ring)
        excess[polarity] = float(dark[band].mean()) - (float(dark[ring].mean()) if ring.any() else 0.0)
    return "bright" if excess["bright"] > excess["dark"] else "dark"


def darkness_level(dark: np.ndarray, region: np.ndarray) -> float | None:
    """Otsu's level of ``dark`` inside ``region`` (bool); None when the region holds fewer than two values."""
    values = dark[region]
    if values.size < 2 or values.min() == values.max():
        return None
    return float(threshold_otsu(values))


def refine_mask(mask: np.ndarray, dark: np.ndarray, *, level: float | None = None) -> np.ndarray:
    """The pixels of ``mask`` whose darkness passes ``level`` (default: Otsu's level inside ``mask``).

    Parameters
    ----------
    mask : (H, W) bool
        Where the explanation puts a crack.
    dark : (H, W) float
        :func:`darkness` of the photo.
    level : float, optional
        One level for several photos (a growth series); by default fitted on this mask.

    Returns
    -------
    (H, W) bool, a subset of ``mask``.
    """
    if mask.shape != dark.shape:
        raise ValueError(f"mask {mask.shape} and photo {dark.shape} differ in size")
    if level is None:
        level = darkness_level(dark, mask)
    if level is None:
        return mask.copy()
    return mask & (dark > level)


def dark_core(mask: np.ndarray, photo: np.ndarray, *, width: int = DARKNESS_WIDTH, block: int = 256,
              edge_fraction: float = 0.5, darkness: DarknessMap | None = None, polarity: str = "dark") -> np.ndarray:
    """The crack's own pixels inside ``mask``: its dark core on ``photo`` and the core's darker edges.

    Pixels whose darkness passes Otsu's level inside the mask (as
    :func:`refine_mask`) are the core; mask pixels connected to it whose
    darkness passes ``edge_fraction`` of that level are its edges (a hysteresis
    cut, as skimage's ``apply_hysteresis_threshold``: :func:`hysteresis_threshold`). Otsu's level alone leaves out
    a crack's half-dark edge pixels, so widths measured on it come out too thin
    (validation splits: median bias −0.98 px on CrackForest, −1.38 px on
    DeepCrack); with the edges at half the level the mean-width error fell on
    four of five validation sets (docs/width_core_val.md,
    ``benchmarks/decisions/width_core_val.py``).

    The darkness is computed only on the blocks the mask touches
    (:class:`DarknessMap`), with the same values as on the whole photo.
    Severity measures widths on this core (:func:`cracklib.measure.severity.measure_severity`).

    Parameters
    ----------
    mask : (H, W) bool
    photo : (H, W, 3) or (H, W) uint8
    edge_fraction : float
        Edge pixels need this fraction of the core's darkness level (1 = the core alone).
    darkness : DarknessMap, optional
        The photo's kept darkness (``width``, ``block`` and ``polarity`` are then
        its own), so that a second mask of the same photo reuses the blocks of the first.
    polarity : {'dark', 'bright'}
        The crack's polarity: for ``bright``, the core is the crack's bright core
        (the darkness of the photo's negative, :func:`darkness`).

    Returns
    -------
    (H, W) bool, a subset of ``mask``.
    """
    mask = np.asarray(mask, dtype=bool)
    if photo.shape[:2] != mask.shape:
        raise ValueError(f"mask {mask.shape} and photo {photo.shape[:2]} differ in size")
    core = np.zeros_like(mask)
    box = bounding_box(mask)
    if box is None:
        return core
    dark = (darkness if darkness is not None
            else DarknessMap(photo, width=width, block=block, polarity=polarity)).near(mask)
    level = darkness_level(dark, mask)
    if level is None:
        return mask.copy()
    if edge_fraction >= 1:  # no edges: the hysteresis would only relabel the core
        core[box] = mask[box] & (dark[box] > level)
        return core
    inside = np.where(mask[box], dark[box], 0)  # edges grow along the mask only
    core[box] = hysteresis_threshold(inside, edge_fraction * level, level) & mask[box]
    return core


def hysteresis_threshold(image: np.ndarray, low: float, high: float) -> np.ndarray:
    """skimage's ``apply_hysteresis_threshold``, the same pixels, with a look-up table for the kept regions.

    skimage sums the high pixels of every low region with ``ndimage.sum`` over
    all labels (0.4 s on a 12 MP photo's mask box, most of a threshold change);
    the labels that hold a high pixel are read off those pixels directly, and
    OpenCV labels the regions (4-connected, as skimage's; about twice as fast as scipy).
    """
    low = min(low, high)
    count, labels = cv2.connectedComponents(np.ascontiguousarray(image > low, dtype=np.uint8), connectivity=4)
    keep = np.zeros(count, bool)
    keep[labels[image > high]] = True
    keep[0] = False
    return keep[labels]


def refine_with_photo(mask: np.ndarray, photo: np.ndarray, refinement: str, *, width: int = DARKNESS_WIDTH,
                      darkness: DarknessMap | None = None, polarity: str = "dark") -> np.ndarray:
    """``mask`` refined on ``photo`` (H×W×3 or H×W uint8) by the named refinement (a key of :data:`REFINEMENTS`).

    Both fit their darkness level on this mask; the darkness is computed only near it, over a square of
    ``width`` pixels for a crack of ``polarity`` ("dark" or "bright"; or read from ``darkness``, the photo's
    kept :class:`DarknessMap`, with its own width and polarity).
    """
    if refinement not in REFINEMENTS:
        raise ValueError(f"unknown refinement {refinement!r}; choose from {', '.join(REFINEMENTS)}")
    if refinement == "none" or not mask.any():
        return mask
    # The Otsu core is the dark core without its edges (a test checks it equals refine_mask on the whole photo).
    return dark_core(mask, photo, width=width, edge_fraction=0.5 if refinement == "dark_core" else 1.0,
                     darkness=darkness, polarity=polarity)
