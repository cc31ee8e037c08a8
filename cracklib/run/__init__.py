"""Work on many photos: evaluation against ground truth, growth over a series, campaigns, exports.
"""
from cracklib.run.batch import (ENGINES, campaign_inputs, settings_hash, PhotoWorker, CampaignSummary, run_campaign,
                                campaign_table, TABLE_COLUMNS, RANKINGS, Campaign, read_campaign)
from cracklib.run.calibration import calibrate_weights, choose_views, VIEW_CANDIDATES
from cracklib.run.evaluation import (evaluate_samples, calibrate_classifier, uncalibrated_decisions,
                                     UncalibratedDecisions, evaluate_grid, score_result, compare_methods,
                                     compare_explanations, MethodRun, PRCurve, result_curve, grid_curves)
from cracklib.run.export import (unique_names, png_bytes, result_row, result_file_makers, result_files, table_csv,
                                 table_csv_bytes, zip_of_made_files, crack_rows)
from cracklib.run.faithfulness import (FILLS, ROAD_NOISE, MAX_TILES, RANDOMISATION_TILES, FAITHFULNESS_KEYS,
                                       crack_score, CascadeStep, cascade_steps, randomised_models, FaithfulnessReport,
                                       faithfulness_report, mean_scores)
from cracklib.run.growth import (Alignment, align_series, GrowthFrame, GrowthReport, monitor_growth, monotone_masks,
                                 GROWTH_CONFIG, SEVERITY_FIELDS, TEMPORAL_MODES)

__all__ = ["ENGINES", "campaign_inputs", "settings_hash", "PhotoWorker", "CampaignSummary", "run_campaign",
           "campaign_table", "TABLE_COLUMNS", "RANKINGS", "Campaign", "read_campaign", "calibrate_weights",
           "choose_views", "VIEW_CANDIDATES", "evaluate_samples", "calibrate_classifier", "uncalibrated_decisions",
           "UncalibratedDecisions", "evaluate_grid", "score_result", "compare_methods", "compare_explanations",
           "MethodRun", "PRCurve", "result_curve", "grid_curves", "unique_names", "png_bytes", "result_row",
           "result_file_makers", "result_files", "table_csv", "table_csv_bytes", "zip_of_made_files", "crack_rows",
           "FILLS", "ROAD_NOISE", "MAX_TILES", "RANDOMISATION_TILES", "FAITHFULNESS_KEYS", "crack_score", "CascadeStep",
           "cascade_steps", "randomised_models", "FaithfulnessReport", "faithfulness_report", "mean_scores",
           "Alignment", "align_series", "GrowthFrame", "GrowthReport", "monitor_growth", "monotone_masks",
           "GROWTH_CONFIG", "SEVERITY_FIELDS", "TEMPORAL_MODES"]
