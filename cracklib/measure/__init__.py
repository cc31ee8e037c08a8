"""Numbers from masks: severity (area, count, length, width) and segmentation / localisation scores.
"""
from cracklib.measure.metrics import (SCORE_KEYS, Confusion, confusion, pr_curve, average_precision,
                                      relevance_mass_accuracy, pointing_game, pixel_roc_auc, ScoreSampler,
                                      balanced_accuracy)
from cracklib.measure.severity import (Severity, Crack, GAP_PX, WIDTH_METHODS, measure_severity, crack_labels,
                                       skeleton_length)

__all__ = ["SCORE_KEYS", "Confusion", "confusion", "pr_curve", "average_precision", "relevance_mass_accuracy",
           "pointing_game", "pixel_roc_auc", "ScoreSampler", "balanced_accuracy", "Severity", "Crack", "GAP_PX",
           "WIDTH_METHODS", "measure_severity", "crack_labels", "skeleton_length"]
