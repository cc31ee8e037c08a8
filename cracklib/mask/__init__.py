"""From a relevance map to a mask: thresholds, refinement on the photo, post-processing (with the
morphology they share, :mod:`cracklib.mask.morphology`).
"""
from cracklib.mask.postprocess import PostProcessing, POSTPROCESSING, postprocess, drop_small_components
from cracklib.mask.refine import (REFINEMENTS, DARKNESS_WIDTH, PER_PHOTO, PER_PHOTO_WIDTHS, SURFACE_PERCENTILE,
                                  surface_level, darkness, DarknessMap, band_darkness_width, darkness_level,
                                  refine_mask, dark_core, hysteresis_threshold, refine_with_photo)
from cracklib.mask.threshold import (Thresholded, THRESHOLDS, apply_threshold, simple_threshold, otsu_threshold,
                                     percentile_threshold, fixed_threshold, probability_threshold,
                                     gaussian_mixture_threshold, beta_mixture_threshold)

__all__ = ["PostProcessing", "POSTPROCESSING", "postprocess", "drop_small_components", "REFINEMENTS", "DARKNESS_WIDTH",
           "PER_PHOTO", "PER_PHOTO_WIDTHS", "SURFACE_PERCENTILE", "surface_level", "darkness", "DarknessMap",
           "band_darkness_width", "darkness_level", "refine_mask", "dark_core", "hysteresis_threshold",
           "refine_with_photo", "Thresholded", "THRESHOLDS", "apply_threshold", "simple_threshold", "otsu_threshold",
           "percentile_threshold", "fixed_threshold", "probability_threshold", "gaussian_mixture_threshold",
           "beta_mixture_threshold"]
