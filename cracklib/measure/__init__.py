"""Numbers from masks and maps: severity (area, count, length, width), segmentation / localisation scores,
and the faithfulness and sanity of relevance maps.
"""
from cracklib.measure.faithfulness import (Score, PerturbationCurve, relevance_order, blur_fill, deletion_curve,
                                           insertion_curve, mean_curve, ROAD_PERCENTAGES, ROAD_ORDERS,
                                           noisy_linear_imputation, RoadCurves, road_curves, spearman_similarity,
                                           ssim_similarity, SIMILARITIES, RandomisationCurve, randomisation_curve,
                                           RANDOMISATION_THRESHOLD, RandomisationVerdict, randomisation_verdict)
from cracklib.measure.metrics import (SCORE_KEYS, Confusion, confusion, pr_curve, average_precision,
                                      relevance_mass_accuracy, relevance_rank_accuracy, pointing_game,
                                      LOCALISATION_KEYS, localisation_scores, pixel_roc_auc, ScoreSampler,
                                      balanced_accuracy)
from cracklib.measure.severity import (Severity, Crack, GAP_PX, WIDTH_METHODS, measure_severity, crack_labels,
                                       skeleton_length)

__all__ = ["Score", "PerturbationCurve", "relevance_order", "blur_fill", "deletion_curve", "insertion_curve",
           "mean_curve", "ROAD_PERCENTAGES", "ROAD_ORDERS", "noisy_linear_imputation", "RoadCurves", "road_curves",
           "spearman_similarity", "ssim_similarity", "SIMILARITIES", "RandomisationCurve", "randomisation_curve",
           "RANDOMISATION_THRESHOLD", "RandomisationVerdict", "randomisation_verdict",
           "SCORE_KEYS", "Confusion", "confusion", "pr_curve", "average_precision", "relevance_mass_accuracy",
           "relevance_rank_accuracy", "pointing_game", "LOCALISATION_KEYS", "localisation_scores", "pixel_roc_auc",
           "ScoreSampler", "balanced_accuracy",
           "Severity", "Crack", "GAP_PX", "WIDTH_METHODS", "measure_severity", "crack_labels", "skeleton_length"]
