"""Stage 2, the one path from an explanation to the measured mask: threshold, refine on the photo,
post-process, drop specks; and :func:`segment`, both stages on one photo.

A mask costs milliseconds where an explanation costs seconds, so the studio cuts one explanation again and
again as the user moves a slider. On a photo whose explained tiles cover well under all of it, every step
runs on the explained window only: the same mask, a fraction of the time.
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Callable

import numpy as np

from cracklib.errors import CrackInputError
from cracklib.mask.postprocess import POSTPROCESSING, drop_small_components, postprocess
from cracklib.mask.refine import PER_PHOTO, DarknessMap, band_darkness_width, crack_polarity, refine_with_photo
from cracklib.mask.threshold import Thresholded, apply_threshold
from cracklib.pipeline.classifier import Classifier
from cracklib.pipeline.explanation import explain
from cracklib.pipeline.results import Explanation, SegmentationResult
from cracklib.pipeline.settings import MaskSettings, PipelineConfig
from cracklib.tiling import bounding_box

__all__ = ["threshold_explanation", "cut_explanation", "darkness_square", "segment_explanation", "segment"]


def threshold_explanation(explanation: Explanation, threshold: str) -> Thresholded:
    """The thresholded relevance map; a zero score and an empty mask when the gate kept it unexplained."""
    if not explanation.explained:
        return Thresholded(np.zeros(explanation.image_shape), np.zeros(explanation.image_shape, bool), 1.0)
    return apply_threshold(explanation.relevance, threshold, support=explanation.support)


def cut_explanation(explanation: Explanation, settings: MaskSettings = MaskSettings(), *,
                    photo: np.ndarray | None = None, darkness: DarknessMap | None = None) -> Thresholded:
    """Threshold the relevance, then refine the cut on the photo as ``settings.refine`` says
    (:mod:`cracklib.mask.refine`).

    On a photo whose explained tiles cover well under all of it, both steps run
    on the explained window only (:func:`_explained_window`): the same cut, a
    fraction of the time. ``darkness`` is the photo's kept darkness map, if the
    caller keeps one; it is read when taken over the cut's square (:func:`darkness_square`).
    """
    return _cut_in_window(explanation, settings, _explained_window(explanation, settings), photo=photo,
                          darkness=darkness)[0]


def darkness_square(settings: MaskSettings, band: np.ndarray) -> int:
    """Side of the darkness square for a cut whose mask before refinement is ``band``: the settings' side, or
    one sized on the band (``darkness_width="per_photo"``, :func:`cracklib.mask.refine.band_darkness_width`)."""
    return band_darkness_width(band) if settings.darkness_width == PER_PHOTO else settings.darkness_width


def _polarity_and_darkness(settings: MaskSettings, band: np.ndarray, photo: np.ndarray, width: int,
                           kept: DarknessMap | None, window: tuple[slice, slice] | None = None
                           ) -> tuple[str, DarknessMap]:
    """The polarity of the cut ``band`` (of ``photo[window]``) and the whole photo's darkness map for it over a
    square of ``width``: for ``auto``, both polarities' maps are read near the band and the chosen one is kept."""
    if settings.polarity != "auto":
        return settings.polarity, _darkness(photo, width, kept, settings.polarity)
    maps = {polarity: _darkness(photo, width, kept, polarity) for polarity in ("dark", "bright")}
    region = window or (slice(None), slice(None))
    polarity = crack_polarity(band, photo[region], width=width,
                              maps={key: value if window is None else value.cropped(window)
                                    for key, value in maps.items()})
    return polarity, maps[polarity]


def _darkness(photo: np.ndarray | None, width: int | None, kept: DarknessMap | None,
              polarity: str = "dark") -> DarknessMap | None:
    """The photo's darkness over a square of ``width`` for a crack of ``polarity``: the caller's kept map when
    it is of this photo, square and polarity, else a new one (a kept map of another square or polarity cannot
    be read for this one)."""
    if kept is not None and kept.photo is not photo:
        raise ValueError("darkness= is the DarknessMap of another photo than photo=")
    if photo is None:
        return None
    if kept is None or kept.width != width or kept.polarity != polarity:
        return DarknessMap(photo, width=width, polarity=polarity)
    return kept


def refine_cut(cut: Thresholded, settings: MaskSettings, photo: np.ndarray | None, *,
               darkness: DarknessMap | None = None, window: tuple[slice, slice] | None = None
               ) -> tuple[Thresholded, DarknessMap | None]:
    """The threshold's ``cut`` (of ``photo[window]``, or of the whole photo) refined on the photo as
    ``settings.refine`` says, over the square :func:`darkness_square` gives it; and the photo's darkness map over
    that square (``darkness`` itself when it is that map; as given when nothing was refined).

    The map is the whole photo's, read on the window: the photo's own surface level and no window border (a
    darkness map of photo[window] alone would differ from the whole cut's). A caller that measures the mask
    after (:func:`segment_explanation`) passes the map on, so the widths read the same darkness. The crack's
    polarity is the settings' (``auto``: decided on the cut, :func:`cracklib.mask.refine.crack_polarity`), and
    kept in the cut.
    """
    if settings.refine == "none" or not cut.mask.any():
        return cut, darkness
    if photo is None:
        raise ValueError(f"refine={settings.refine!r} needs the photo: pass photo=")
    region = window or (slice(None), slice(None))
    polarity, darkness = _polarity_and_darkness(settings, cut.mask, photo, darkness_square(settings, cut.mask),
                                                darkness, window)
    mask = refine_with_photo(cut.mask, photo[region], settings.refine,
                             darkness=darkness if window is None else darkness.cropped(window))
    return replace(cut, mask=mask, darkness_width=darkness.width, polarity=polarity), darkness


def _cut_in_window(explanation: Explanation, settings: MaskSettings, window: tuple[slice, slice] | None, *,
                   photo: np.ndarray | None, darkness: DarknessMap | None
                   ) -> tuple[Thresholded, DarknessMap | None]:
    """:func:`cut_explanation` on ``window`` (:func:`_explained_window`), or on every pixel where it is None;
    and the photo's darkness map it was refined with (``darkness`` as given when it was not refined)."""
    part = explanation if window is None else replace(
        explanation, relevance=explanation.relevance[window], support=explanation.support[window],
        image_shape=explanation.support[window].shape)
    cut, darkness = refine_cut(threshold_explanation(part, settings.threshold), settings, photo, darkness=darkness,
                               window=window)
    if window is None:
        return cut, darkness
    whole = Thresholded(np.zeros(explanation.image_shape, cut.score.dtype), np.zeros(explanation.image_shape, bool),
                        cut.threshold, cut.darkness_width, cut.polarity)
    whole.score[window], whole.mask[window] = cut.score, cut.mask
    return whole, darkness


def segment_explanation(explanation: Explanation, settings: MaskSettings = MaskSettings(), *,
                        photo: np.ndarray | None = None, thresholded: Thresholded | None = None,
                        previous_mask: np.ndarray | None = None,
                        exclude: np.ndarray | None = None, darkness: DarknessMap | None = None) -> SegmentationResult:
    """Stage 2, the one path from an explanation to the measured mask: threshold, post-process, drop specks.

    Parameters
    ----------
    explanation : Explanation
    settings : MaskSettings
    photo : (H, W, 3) uint8, optional
        The explained photo; needed when ``settings.refine`` is not ``"none"``.
    thresholded : Thresholded, optional
        Replaces the cut (:func:`cut_explanation`): one threshold shared by a
        growth series, or one cut reused for several post-processings.
    previous_mask : (H, W) bool, optional
        A crack does not heal: the mask is joined with this one (growth's
        ``keep_previous``) before it is measured.
    exclude : (H, W) bool, optional
        A region of no interest (lane markings, joints, the specimen's edge):
        its pixels are never crack, in the mask and in its severity.
    darkness : DarknessMap, optional
        The photo's darkness, kept by a caller that cuts the same photo again
        (the studio, on a threshold change): blocks computed for an earlier mask
        are not computed again. By default, or when it was taken over another
        square than the cut's (:func:`darkness_square`) or for another crack
        polarity (``settings.polarity``), a new one, shared by the refinement
        and the widths.

    Returns
    -------
    SegmentationResult, whose ``severity`` is measured on its own ``mask``.
    """
    if not isinstance(settings, MaskSettings):
        raise TypeError(f"segment_explanation takes MaskSettings, got {type(settings).__name__}")
    if exclude is not None and exclude.shape != explanation.image_shape:
        raise CrackInputError(f"exclusion mask is {exclude.shape[1]}x{exclude.shape[0]} but the photo is "
                              f"{explanation.image_shape[1]}x{explanation.image_shape[0]}")
    timings = {}
    start = time.perf_counter()
    window = _explained_window(explanation, settings)
    if thresholded is None:
        thresholded, darkness = _cut_in_window(explanation, settings, window, photo=photo, darkness=darkness)
    elif window is not None and not _holds(bounding_box(explanation.support), thresholded.mask):
        window = None  # a cut made by the caller (e.g. growth's) reaching outside the explained tiles
    # Widths are read over the square and for the polarity the cut was refined with; an unrefined cut sizes
    # one on its own mask and decides an automatic polarity there.
    square = thresholded.darkness_width or (None if photo is None else darkness_square(settings, thresholded.mask))
    if photo is not None and thresholded.polarity is None:
        darkness = _polarity_and_darkness(settings, thresholded.mask, photo, square, darkness)[1]
    else:
        darkness = _darkness(photo, square, darkness, thresholded.polarity or "dark")
    timings["threshold"] = time.perf_counter() - start
    start = time.perf_counter()
    # Post-processing runs on the window too: its margin is the post-processing's reach around the tiles.
    region = window or (slice(None), slice(None))
    mask = np.zeros(explanation.image_shape, bool)
    mask[region] = drop_small_components(postprocess(thresholded.mask[region], settings.post,
                                                     scale=settings.post_scale), settings.min_crack_area)
    if previous_mask is not None:
        mask |= previous_mask
    if exclude is not None:
        mask &= ~exclude
    timings["postprocess"] = time.perf_counter() - start
    return SegmentationResult(explanation, settings, thresholded.score, mask, timings, photo,
                              darkness, thresholded.threshold)


def _holds(window: tuple[slice, slice], mask: np.ndarray) -> bool:
    """Whether every pixel of ``mask`` lies inside ``window`` (a box of it)."""
    box = bounding_box(mask)
    return box is None or all(inner.start >= outer.start and inner.stop <= outer.stop
                              for inner, outer in zip(box, window))


def _explained_window(explanation: Explanation, settings: MaskSettings) -> tuple[slice, slice] | None:
    """The bounding box of the explained tiles, with a margin, when it is well under the whole photo; else None.

    Outside the explained tiles the relevance is zero, so thresholding,
    refinement and post-processing give the same mask on this window as on the
    whole photo (a test checks it) at a fraction of the cost on a large photo.
    The margin covers what those steps read or change around a crack pixel: a
    closing reaches twice its radius, the photo's darkness half its square.
    """
    support = explanation.support
    if not explanation.explained or support is None:
        return None
    preset = POSTPROCESSING[settings.post]
    scaled = None if preset is None else preset.scaled(settings.post_scale)
    largest = 0 if scaled is None else max(scaled.first_closing, scaled.second_closing)
    window = bounding_box(support, margin=2 * (largest // 2) + settings.darkness_widths[1] + 8)
    if window is None:
        return None
    rows, cols = window
    if (rows.stop - rows.start) * (cols.stop - cols.start) > 0.8 * support.size:
        return None
    return window


def segment(classifier: Classifier, image: np.ndarray, config: PipelineConfig = PipelineConfig(), *,
            exclude: np.ndarray | None = None,
            progress: Callable[[int, int], None] | None = None) -> SegmentationResult:
    """The whole pipeline on one photo (H×W×3 uint8); ``exclude`` (H×W bool) marks pixels that are never crack."""
    return segment_explanation(explain(classifier, image, config.explanation, progress=progress), config.mask,
                               photo=image, exclude=exclude)
