"""Crack growth: align a series of photos of one surface, segment each, report what grew.

Inspectors photograph the same crack weeks or months apart. Every frame is
registered onto the first (scikit-image's phase correlation for the shift,
optionally a search over small rotations scored by the same correlation),
cropped to the region all frames share, and run through the pipeline. The
report gives each frame's severity and, per step and since the first frame,
the change of area, length, widths and number of cracks, and the masks of the
pixels that are new.

A crack grows where the photo changes. A feature that is the same in every
frame (a specimen's machined notch, an edge, a scratch) may still be cut by the
mask in some frames and not in others; growth counts a pixel as new only where
its crack contrast rose since the first frame (:func:`changed_pixels`,
``monitor_growth(static=...)``, :data:`STATIC_RULES`).

Forest et al. monitor growth through crack area, crack-per-patch and width over
time, on frames of one specimen.

References
----------
Forest, F. et al., "From classification to segmentation with explainable AI: a
study on crack detection and growth monitoring", Automation in Construction, 2024.
Kuglin, C. D. & Hines, D. C., "The phase correlation image alignment method",
Proc. IEEE Conf. Cybernetics and Society, 1975.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable

import cv2
import numpy as np
from scipy import ndimage
from skimage.color import rgb2gray
from skimage.registration import phase_cross_correlation
from skimage.transform import rotate

from cracklib.errors import CrackInputError
from cracklib.mask.refine import DarknessMap, darkness_level
from cracklib.mask.threshold import apply_threshold
from cracklib.pipeline.classifier import Classifier
from cracklib.pipeline.explanation import explain
from cracklib.pipeline.mask_step import refine_cut, segment_explanation
from cracklib.pipeline.results import SegmentationResult
from cracklib.pipeline.settings import PipelineConfig

__all__ = ["Alignment", "align_series", "GrowthFrame", "GrowthReport", "monitor_growth", "monotone_masks",
           "changed_pixels", "static_masks", "GROWTH_CONFIG", "SEVERITY_FIELDS", "TEMPORAL_MODES", "STATIC_RULES",
           "STATIC_RULE", "CHANGE_FRACTION"]


#: The severity numbers compared between frames.
SEVERITY_FIELDS = ("area_px", "length_px", "max_width_px", "mean_width_px", "n_cracks")


#: Frames whose common region is smaller than this share of the first frame cannot be compared.
_MIN_OVERLAP = 0.25


#: How the frames of a series are made to agree (``monitor_growth(temporal=...)``).
TEMPORAL_MODES = {
    "consistent": "one explanation gate and one threshold for the series, then masks that only grow",
    "independent": "every frame on its own: its own gate and threshold",
    "keep_previous": "every frame on its own, joined with the previous frame's mask",
}


#: What growth makes of mask pixels whose photo never changed (``monitor_growth(static=...)``, :func:`static_masks`).
STATIC_RULES = {
    "count": "every masked pixel counts as it is: a feature the same in every frame (a machined notch, an edge) "
             "counts as growth wherever its mask flickers with the threshold",
    "constant": "a pixel whose crack contrast never rose since the first frame is the same in every frame: "
                "masked in all of them if in most, else in none; growth is counted where the photo changed",
    "drop": "as constant, and the mask's parts that never changed in any frame (a machined notch, an edge, a crack "
            "that did not grow) are left out of every frame: only cracks that grew are reported",
}


#: Growth's default static rule. ``count``, the masks as cut: ``constant`` costs growth's hard synthetic series,
#: which hold nothing static, some of their widening (worst area error of frames 3-6 17 % against 15 %), and
#: so fails the rule written before the run (docs/decisions/0021-crack-polarity.md).
STATIC_RULE = "count"


#: A pixel has changed when its crack contrast rose by at least this fraction of its frame's crack level
#: (:func:`changed_pixels`): the half-dark edge of the refinement's dark core (cracklib.mask.refine.dark_core).
CHANGE_FRACTION = 0.5


#: Growth's default settings: the product's, masks refined to their Otsu core on the photo and not post-processed,
#: as validated on the hard synthetic series (default model: median area error 247 % unrefined, 8 % refined;
#: docs/growth.md).
GROWTH_CONFIG = PipelineConfig.of(refine="otsu_core", post="none")


#: A frame is flagged when the series overrules this share of its own mask (``GrowthFrame.disagreement``).
DISAGREEMENT_FLAG = 0.5


@dataclass(frozen=True)
class Alignment:
    """How one frame was registered onto the first frame."""

    #: (row, col) shift that registers the frame onto the first (phase correlation's convention).
    shift: tuple[float, float]
    #: Rotation (degrees, counter-clockwise) that registers the frame onto the first.
    rotation_deg: float = 0.0
    #: Correlation of the aligned frame with the first, in [-1, 1] (1 = identical up to exposure).
    correlation: float = 1.0


def _gray(image: np.ndarray) -> np.ndarray:
    """Zero-mean, unit-variance grayscale: phase correlation that ignores exposure changes."""
    gray = rgb2gray(image) if image.ndim == 3 else image.astype(np.float64)
    return (gray - gray.mean()) / (gray.std() + 1e-12)


def _registration_error(reference: np.ndarray, moving: np.ndarray) -> float:
    """Phase correlation's error at its best shift (lower is a better match), on the central part."""
    h, w = reference.shape
    inner = slice(h // 6, h - h // 6), slice(w // 6, w - w // 6)  # clear of a rotated frame's empty corners
    return float(phase_cross_correlation(reference[inner], moving[inner], normalization=None)[1])


def _rotation(reference: np.ndarray, moving: np.ndarray, *, max_deg: float = 10.0) -> float:
    """The rotation (degrees) that registers ``moving`` onto ``reference``: a coarse-to-fine search.

    scikit-image's log-polar registration reads the angle off the magnitude
    spectrum, which for the isotropic textures of concrete, asphalt or metal
    holds almost no angle (measured: 0.1° found for a 3° turn). Re-photographed
    surfaces turn by a few degrees, so a search over small angles, scored by the
    phase-correlation error, is both reliable and cheap on a downsampled copy.
    """
    step = max(1, int(max(reference.shape) // 384))
    reference, moving = reference[::step, ::step], moving[::step, ::step]

    def error(angle: float) -> float:
        return _registration_error(reference, rotate(moving, angle, order=1, mode="constant"))

    coarse = min(np.arange(-max_deg, max_deg + 0.5, 1.0), key=error)
    return float(min(coarse + np.arange(-1.0, 1.05, 0.1), key=error))


def _common_shape(frames: list[np.ndarray]) -> list[np.ndarray]:
    """Centre-crop frames of slightly different sizes to their common size; refuse very different ones."""
    shapes = [frame.shape[:2] for frame in frames]
    height, width = min(s[0] for s in shapes), min(s[1] for s in shapes)
    for index, (h, w) in enumerate(shapes):
        if height < 0.8 * h or width < 0.8 * w:
            # Name a real frame: the one with the smallest side that rules out this one.
            other = min(range(len(shapes)), key=lambda i: shapes[i][0] if height < 0.8 * h else shapes[i][1])
            raise CrackInputError(f"frame {index + 1} is {w}x{h} but frame {other + 1} is "
                                  f"{shapes[other][1]}x{shapes[other][0]}: frames of such different sizes "
                                  "cannot be aligned")
    out = []
    for frame in frames:
        top, left = (frame.shape[0] - height) // 2, (frame.shape[1] - width) // 2
        out.append(frame[top:top + height, left:left + width])
    return out


def align_series(frames: list[np.ndarray], *, rotation: bool = False) -> tuple[list[np.ndarray], list[Alignment]]:
    """Register every frame onto the first and crop all to the region they share.

    Parameters
    ----------
    frames : list of (H, W, 3) uint8
        Photos of one surface. Sizes may differ by up to 20 % (centre-cropped to
        the smallest first).
    rotation : bool
        Also estimate and undo a rotation of up to ±10 degrees.

    Returns
    -------
    aligned : list of (h, w, 3) uint8, all the same shape
    alignments : list of Alignment, the first one the identity

    Raises
    ------
    CrackInputError
        Frames too different in size, or sharing too little of the surface.
    """
    frames = _common_shape(list(frames))
    height, width = frames[0].shape[:2]
    reference = _gray(frames[0])
    alignments, turned = [Alignment((0.0, 0.0))], [frames[0]]
    for frame in frames[1:]:
        angle = _rotation(reference, _gray(frame)) if rotation else 0.0
        if abs(angle) >= 0.05:
            frame = np.round(rotate(frame, angle, order=1, mode="edge", preserve_range=True)).astype(np.uint8)
        shift, _, _ = phase_cross_correlation(reference, _gray(frame), upsample_factor=10)
        alignments.append(Alignment((float(shift[0]), float(shift[1])), angle))
        turned.append(frame)
    # Integer shifts, so masks and photos are cropped, never interpolated.
    shifts = np.array([[round(a.shift[0]), round(a.shift[1])] for a in alignments], int)
    # Rotated frames have empty corners: keep clear of them.
    margin = max(math.ceil(abs(math.sin(math.radians(a.rotation_deg))) * (height + width) / 2) for a in alignments)
    top, left = max(0, shifts[:, 0].max()) + margin, max(0, shifts[:, 1].max()) + margin
    bottom = height + min(0, shifts[:, 0].min()) - margin
    right = width + min(0, shifts[:, 1].min()) - margin
    if (bottom - top) * (right - left) < _MIN_OVERLAP * height * width or bottom <= top or right <= left:
        raise CrackInputError("the frames share too little of the surface to be aligned "
                              f"(shifts {shifts.tolist()} px); are they photos of the same crack?")
    aligned = [frame[top - dy:bottom - dy, left - dx:right - dx] for frame, (dy, dx) in zip(turned, shifts)]
    first = _gray(aligned[0]).ravel()
    alignments = [replace(a, correlation=float(np.corrcoef(first, _gray(frame).ravel())[0, 1]))
                  for a, frame in zip(alignments, aligned)]
    return aligned, alignments


@dataclass
class GrowthFrame:
    """One aligned frame and what the pipeline found in it."""

    name: str
    image: np.ndarray
    alignment: Alignment
    result: SegmentationResult
    #: Share of the frame's own mask that the series overruled (0 = it agrees with its neighbours).
    disagreement: float = 0.0

    @property
    def flagged(self) -> bool:
        """The frame disagrees with its neighbours: check its photo (exposure, focus, a shadow, misalignment)."""
        return self.disagreement >= DISAGREEMENT_FLAG

    def to_dict(self) -> dict:
        severity = self.result.severity
        row = {"image": self.name, "crack_probability": self.result.probability,
               **{field: getattr(severity, field) for field in SEVERITY_FIELDS},
               "shift_px": list(self.alignment.shift), "rotation_deg": self.alignment.rotation_deg,
               "alignment_correlation": self.alignment.correlation, "disagreement": self.disagreement,
               "flagged": self.flagged}
        if severity.mm_per_px is not None:
            row.update(area_mm2=severity.area_mm2, length_mm=severity.length_mm,
                       max_width_mm=severity.max_width_mm, mean_width_mm=severity.mean_width_mm)
        return row


def _deltas(before: GrowthFrame, after: GrowthFrame) -> dict:
    """Severity change and pixel growth from ``before`` to ``after``."""
    old, new = before.result, after.result
    row = {f"delta_{field}": getattr(new.severity, field) - getattr(old.severity, field) for field in SEVERITY_FIELDS}
    row["new_crack_px"] = int(np.count_nonzero(new.mask & ~old.mask))
    row["vanished_crack_px"] = int(np.count_nonzero(old.mask & ~new.mask))
    scale = new.settings.mm_per_px
    if scale is not None:
        row.update(delta_area_mm2=row["delta_area_px"] * scale ** 2, delta_length_mm=row["delta_length_px"] * scale,
                   delta_max_width_mm=row["delta_max_width_px"] * scale,
                   delta_mean_width_mm=row["delta_mean_width_px"] * scale)
    return row


@dataclass
class GrowthReport:
    """Frames in time order, and the changes between them."""

    frames: list[GrowthFrame]
    #: Options the report was made with (align, rotation, temporal).
    options: dict

    def previous_mask(self, index: int) -> np.ndarray:
        """The mask frame ``index`` grew from: the previous frame's; nothing for the first frame."""
        if index == 0:
            return np.zeros_like(self.frames[0].result.mask)
        return self.frames[index - 1].result.mask

    @property
    def steps(self) -> list[dict]:
        """Changes between consecutive frames."""
        return [{"from": i, "to": i + 1, **_deltas(self.frames[i], self.frames[i + 1])}
                for i in range(len(self.frames) - 1)]

    @property
    def cumulative(self) -> list[dict]:
        """Changes from the first frame to every later frame."""
        return [{"from": 0, "to": i, **_deltas(self.frames[0], self.frames[i])} for i in range(1, len(self.frames))]

    def to_dict(self) -> dict:
        """JSON-ready: ``frames``, ``steps``, ``cumulative``, ``options`` and the pipeline ``config``."""
        return {"frames": [frame.to_dict() for frame in self.frames], "steps": self.steps,
                "cumulative": self.cumulative, "options": self.options,
                "config": self.frames[0].result.config.to_dict()}


def _shared_thresholds(explanations, threshold: str):
    """One threshold for the whole series: fitted on all frames' maps side by side, then split."""
    widths = [e.image_shape[1] for e in explanations]
    maps = np.concatenate([e.relevance_map() for e in explanations], axis=1)
    joined = apply_threshold(maps, threshold, support=np.concatenate([e.explained_pixels() for e in explanations],
                                                                     axis=1))
    edges = np.cumsum([0] + widths)
    return [replace(joined, score=joined.score[:, a:b], mask=joined.mask[:, a:b]) for a, b in zip(edges, edges[1:])]


def _series_cuts(explanations, images, settings):
    """One relevance threshold for the series, then each frame's cut refined on its photo (``settings.refine``,
    over the frame's own darkness square); and each frame's darkness map (None where nothing was refined).

    The darkness level stays per frame: it follows each frame's exposure and
    blur (one level for the whole series, tried on the hard synthetic series,
    overstated or missed the early frames' thin cracks more often).
    """
    refined = [refine_cut(cut, settings, image)
               for cut, image in zip(_shared_thresholds(explanations, settings.threshold), images)]
    return [cut for cut, _ in refined], [darkness for _, darkness in refined]


def monotone_masks(masks: list[np.ndarray]) -> list[np.ndarray]:
    """The series of masks that only grow and agrees best with ``masks``, pixel by pixel.

    A crack does not heal, so each pixel is background up to some frame and
    crack from then on. For every pixel the frame it turns crack at is the one
    that contradicts the fewest of its per-frame values (a binary isotonic fit;
    on a tie, the later frame: a pixel needs evidence to count as crack). A
    crack seen in one frame only, or a frame that misses a crack seen before and
    after, is outvoted by its neighbours.

    Written here because scikit-learn's ``IsotonicRegression`` fits one series at
    a time; this fits all pixels at once with running counts.

    Parameters
    ----------
    masks : list of (H, W) bool, in time order

    Returns
    -------
    list of (H, W) bool, each containing the one before
    """
    frames = len(masks)
    # Turning at frame t contradicts the ones before t and the zeros from t on:
    # 2 * ones_before(t) - t + (frames - total), so minimise 2 * ones_before(t) - t.
    ones_before = np.zeros(masks[0].shape, np.int32)
    best_cost = np.zeros(masks[0].shape, np.int32)  # t = 0
    best_turn = np.zeros(masks[0].shape, np.int32)
    for turn in range(1, frames + 1):  # turn = frames: never crack
        ones_before += masks[turn - 1]
        cost = 2 * ones_before - turn
        better = cost <= best_cost  # later turn wins a tie
        best_cost[better], best_turn[better] = cost[better], turn
    return [best_turn <= index for index in range(frames)]


def _contrast_maps(results: list[SegmentationResult]) -> tuple[list[DarknessMap], list[DarknessMap]]:
    """Each frame's crack contrast (its darkness map: the square and polarity its mask was refined and measured
    with), and the first frame's contrast taken alike (one map per square and polarity)."""
    first, maps, alike = results[0].photo, [], {}
    for result in results:
        own = result.darkness or DarknessMap(result.photo)
        maps.append(own)
        key = (own.width, own.polarity)
        if key not in alike:
            alike[key] = own if own.photo is first else DarknessMap(first, width=own.width, polarity=own.polarity)
    return maps, [alike[(own.width, own.polarity)] for own in maps]


def changed_pixels(results: list[SegmentationResult], *, fraction: float = CHANGE_FRACTION,
                   residuals: list[tuple[float, float]] | None = None) -> np.ndarray:
    """Where the photo shows a crack that was not there in the first frame: mask pixels whose crack contrast rose.

    The crack contrast is the darkness the refinement reads (:func:`cracklib.mask.refine.darkness`: how much
    darker, or for a bright crack brighter, a pixel is than the surface around it), in each frame over its own
    square and polarity, and in the first frame alike. A pixel of frame t's mask has changed when its contrast
    rose since the first frame by at least ``fraction`` of frame t's crack level (Otsu's level of the contrast
    inside frame t's mask, :func:`cracklib.mask.refine.darkness_level`). A top-hat is local: a change of
    exposure or shading scales it by the change's share (a notch 120 grey levels brighter than its surround is
    some 15 levels more or less in a frame 12 % brighter or darker), while a crack that reaches a pixel raises
    its contrast from the surface's to the crack's.
    Frames are aligned at whole pixels, and a sharp edge half a pixel off changes the contrast of its pixels
    without any growth: the first frame's contrast is moved by what the alignment left (``residuals``,
    linear interpolation) before it is compared.

    Parameters
    ----------
    results : list of SegmentationResult
        The aligned frames' results in time order, each with its photo.
    fraction : float
    residuals : list of (float, float), optional
        Per frame, the (row, col) shift that the whole-pixel alignment left
        (:attr:`Alignment.shift` less its rounding); none by default.

    Returns
    -------
    (H, W) bool: pixels that joined a later frame's mask where that frame's photo changed.
    """
    masks = [result.mask for result in results]
    union = np.logical_or.reduce(masks)
    changed = np.zeros_like(union)
    if not union.any():
        return changed
    maps, firsts = _contrast_maps(results)
    residuals = residuals or [(0.0, 0.0)] * len(results)
    for mask, own, first, residual in zip(masks[1:], maps[1:], firsts[1:], residuals[1:]):
        if not mask.any():
            continue
        contrast = own.near(union)
        level = darkness_level(contrast, mask)
        if level is None:  # a flat mask: no crack level to compare with
            continue
        before = first.near(union)
        if any(abs(value) >= 0.05 for value in residual):
            before = ndimage.shift(before, -np.asarray(residual), order=1, mode="nearest")
        changed |= mask & (contrast - before >= fraction * level)
    return changed


def static_masks(masks: list[np.ndarray], changed: np.ndarray, rule: str) -> list[np.ndarray]:
    """The frames' masks with the pixels that never changed made alike in every frame (``rule``, a key of
    :data:`STATIC_RULES`).

    Photos alone cannot tell a machined notch from a crack that was already there in the first frame: both
    look the same in every frame. What they can tell is where a crack grew, because there the photo changed
    (:func:`changed_pixels`). So a pixel that never changed has one truth in every frame: ``constant`` gives it
    the value it has in most frames (in all if masked in more than half, else in none: a pixel needs evidence),
    the best constant fit, as :func:`monotone_masks` gives the best growing one; it then adds nothing to growth
    between frames, while a growing crack's new pixels keep their frames. ``drop`` also leaves out every
    connected part (8-connected, of all frames' masks together) that holds no changed pixel: the parts that
    never grew, the notch among them, but also a crack that did not grow in the series. ``count`` leaves the
    masks as they are.

    Parameters
    ----------
    masks : list of (H, W) bool, in time order
    changed : (H, W) bool
    rule : {'count', 'constant', 'drop'}

    Returns
    -------
    list of (H, W) bool; growing masks stay growing.
    """
    if rule not in STATIC_RULES:
        raise ValueError(f"unknown static rule {rule!r}; choose from {', '.join(STATIC_RULES)}")
    if rule == "count":
        return [mask.copy() for mask in masks]
    votes = np.sum(masks, axis=0)
    static = ~changed & (votes > 0)
    kept = static & (2 * votes > len(masks))
    out = [np.where(static, kept, mask) for mask in masks]
    if rule == "drop":
        count, labels = cv2.connectedComponents(np.logical_or.reduce(out).astype(np.uint8), connectivity=8)
        grew = np.zeros(count, bool)
        grew[labels[changed]] = True
        grew[0] = False
        out = [mask & grew[labels] for mask in out]
    return out


def monitor_growth(classifier: Classifier, images: list[np.ndarray], config: PipelineConfig = GROWTH_CONFIG, *,
                   names: list[str] | None = None, align: bool = True, rotation: bool = False,
                   temporal: str = "consistent", static: str = STATIC_RULE,
                   progress: Callable[[int, int], None] | None = None) -> GrowthReport:
    """Segment a time series of one surface and measure how its cracks changed.

    Parameters
    ----------
    classifier : Classifier
    images : list of (H, W, 3) uint8
        Two or more photos in time order.
    config : PipelineConfig
        The pipeline settings, the same for every frame (default :data:`GROWTH_CONFIG`).
    names : list of str, optional
        Frame names for the report (default ``frame_1`` …).
    align : bool
        Register every frame onto the first and crop to the shared region. Off,
        the frames must have the same size.
    rotation : bool
        Also undo a rotation (up to ±10 degrees) when aligning.
    temporal : {'consistent', 'independent', 'keep_previous'}
        How frames agree (:data:`TEMPORAL_MODES`). ``consistent`` (the default)
        explains every frame where any frame holds a crack (one gate for the
        series: a young crack the classifier is unsure of is still explained),
        fits one threshold on all frames' relevance together (one scale for the
        series, so exposure drift does not move it), and makes the masks grow
        only (:func:`monotone_masks`). Each frame's ``disagreement`` says how much
        of its own mask the series overruled. ``independent`` treats every frame
        alone; ``keep_previous`` joins each frame's own mask with the previous one.
    static : {'count', 'constant', 'drop'}
        What becomes of mask pixels whose photo never changed (:data:`STATIC_RULES`,
        :func:`static_masks`): a feature that is the same in every frame, such as
        a specimen's machined notch, is not crack growth. A pixel has changed
        where its crack contrast rose since the first frame by at least half its
        frame's crack level (:func:`changed_pixels`). ``constant`` gives every
        unchanged pixel one value in all frames (its majority), so growth is
        counted only where the photo changed; ``drop`` also leaves out the parts
        of the mask that never changed (only cracks that grew remain);
        ``count`` (the default, :data:`STATIC_RULE`) keeps the masks as cut.
    progress : callable(done, total), optional
        Called after each frame is explained (the total grows when the series
        gate sends frames back for more tiles).

    Returns
    -------
    GrowthReport
    """
    if temporal not in TEMPORAL_MODES:
        raise ValueError(f"unknown temporal mode {temporal!r}; choose from {', '.join(TEMPORAL_MODES)}")
    if static not in STATIC_RULES:
        raise ValueError(f"unknown static rule {static!r}; choose from {', '.join(STATIC_RULES)}")
    if len(images) < 2:
        raise CrackInputError(f"growth needs two or more frames of the same surface, got {len(images)}")
    names = list(names) if names is not None else [f"frame_{i + 1}" for i in range(len(images))]
    if align:
        images, alignments = align_series(images, rotation=rotation)
    else:
        shapes = {image.shape[:2] for image in images}
        if len(shapes) > 1:
            raise CrackInputError(f"frames differ in size ({sorted(shapes)}); align them or crop them alike")
        alignments = [Alignment((0.0, 0.0)) for _ in images]
    explanations = []
    for index, image in enumerate(images, 1):
        explanations.append(explain(classifier, image, config.explanation))
        if progress:
            progress(index, len(images))
    if temporal == "consistent":
        explanations = _explain_series_alike(classifier, images, explanations, config, progress)
        cuts, darkness_maps = _series_cuts(explanations, images, config.mask)
        grown = monotone_masks([cut.mask for cut in cuts])
        own = [cut.mask for cut in cuts]
        cuts = [replace(cut, mask=mask) for cut, mask in zip(cuts, grown)]
    else:
        cuts, own, darkness_maps = [None] * len(images), [None] * len(images), [None] * len(images)
    frames, previous = [], None
    for name, image, alignment, explanation, cut, mask, darkness in zip(names, images, alignments, explanations,
                                                                        cuts, own, darkness_maps):
        # The frame's darkness map is its refinement's: the widths read it again.
        result = segment_explanation(explanation, config.mask, photo=image, thresholded=cut, darkness=darkness,
                                     previous_mask=previous if temporal == "keep_previous" else None)
        previous = result.mask
        disagreement = 0.0
        if mask is not None and (mask | cut.mask).any():
            disagreement = float(np.count_nonzero(mask ^ cut.mask) / np.count_nonzero(mask | cut.mask))
        frames.append(GrowthFrame(name, image, alignment, result, disagreement))
    if static != "count":
        results = [frame.result for frame in frames]
        residuals = [(a.shift[0] - round(a.shift[0]), a.shift[1] - round(a.shift[1])) for a in alignments]
        masks = static_masks([result.mask for result in results], changed_pixels(results, residuals=residuals),
                             static)
        # A new result, so that the severity is measured on the new mask.
        frames = [replace(frame, result=replace(frame.result, mask=mask)) for frame, mask in zip(frames, masks)]
    return GrowthReport(frames, {"align": align, "rotation": rotation, "temporal": temporal, "static": static})


def _explain_series_alike(classifier, images, explanations, config, progress):
    """Explain every frame on the tiles any frame explained: one gate for the series."""
    wanted = np.unique(np.concatenate([e.explained_tiles() for e in explanations]))
    redo = [i for i, e in enumerate(explanations) if len(np.setdiff1d(wanted, e.explained_tiles()))]
    out = list(explanations)
    for done, index in enumerate(redo, 1):
        out[index] = explain(classifier, images[index], config.explanation, tiles=wanted)
        if progress:
            progress(len(images) + done, len(images) + len(redo))
    return out
