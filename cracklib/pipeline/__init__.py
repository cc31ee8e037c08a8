"""Photo → crack probability → explanation → mask → severity (inference only: nothing here trains).

The work is split in two stages so a change of threshold or post-processing never recomputes the
(expensive) explanation:

1. :func:`explain` classifies the photo and, only where the crack probability reaches the gate (Seibold
   et al. explain only images classified as defective), computes the relevance map at the photo's
   resolution (:mod:`~cracklib.pipeline.explanation`);
2. :func:`segment_explanation` thresholds it, refines it on the photo, cleans the mask and measures it
   (:mod:`~cracklib.pipeline.mask_step`).

:func:`segment` runs both. The settings are split the same way (:mod:`~cracklib.pipeline.settings`).
Every caller (CLI, studio, evaluation, growth, compare) goes through these functions, so what is shown
is what was measured.
"""
from cracklib.pipeline.classifier import (DEFAULT_WEIGHTS, Classifier, load_classifier, classify, classify_tiles,
                                          score_tiles, whole_photo_probability, gated_tiles)
from cracklib.pipeline.decision import (DECISION_THRESHOLD, MAX_WHOLE_DOWNSCALE, PhotoDecision, PHOTO_DECISIONS,
                                        photo_probability, whole_is_informative, shift_logits,
                                        offset_photo_probabilities, fit_logit_offset, SCREENING_MARGIN,
                                        tiles_to_rescore, classifier_scores)
from cracklib.pipeline.explanation import explain, explain_with_network
from cracklib.pipeline.mask_step import threshold_explanation, cut_explanation, segment_explanation, segment
from cracklib.pipeline.methods import (NETWORK_THRESHOLD, NETWORK_MASK_STEPS, NETWORK_STEP_FIELDS,
                                       PROBABILITY_MAP_METHODS, FIXED_CUT_THRESHOLDS, MethodChoice, method_label,
                                       method_choices, method_weights, method_available, methods_for,
                                       default_method_for, thresholds_for, default_mask)
from cracklib.pipeline.options import Option, OPTIONS, option, default_of
from cracklib.pipeline.results import Explanation, SegmentationResult
from cracklib.pipeline.segmenters import (SEGMENTER_METHODS, segmenter_path, network_name, predict_map, view_maps,
                                          score_views)
from cracklib.pipeline.settings import MODES, ExplanationSettings, MaskSettings, PipelineConfig

__all__ = ["DEFAULT_WEIGHTS", "Classifier", "load_classifier", "classify", "classify_tiles", "score_tiles",
           "whole_photo_probability", "gated_tiles", "DECISION_THRESHOLD", "MAX_WHOLE_DOWNSCALE", "PhotoDecision",
           "PHOTO_DECISIONS", "photo_probability", "whole_is_informative", "shift_logits", "offset_photo_probabilities",
           "fit_logit_offset", "SCREENING_MARGIN", "tiles_to_rescore", "classifier_scores", "explain",
           "explain_with_network", "threshold_explanation", "cut_explanation", "segment_explanation", "segment",
           "NETWORK_THRESHOLD", "NETWORK_MASK_STEPS", "NETWORK_STEP_FIELDS", "PROBABILITY_MAP_METHODS",
           "FIXED_CUT_THRESHOLDS", "MethodChoice", "method_label", "method_choices", "method_weights",
           "method_available", "methods_for", "default_method_for", "thresholds_for", "default_mask", "Option",
           "OPTIONS", "option", "default_of", "Explanation", "SegmentationResult", "SEGMENTER_METHODS",
           "segmenter_path", "network_name", "predict_map", "view_maps", "score_views", "MODES", "ExplanationSettings",
           "MaskSettings", "PipelineConfig"]
