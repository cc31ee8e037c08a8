"""Training from image labels: one loop for every network (:mod:`~cracklib.train.loop`), training examples,
the classifier, the U-Nets, NN-Explainer and self-training on explanation masks.
"""
from cracklib.train.augment import flip_and_turn, jitter_brightness, rescale, photometric
from cracklib.train.classifier import TrainingConfig, EpochStats, train_classifier, resized_input, train_and_save
from cracklib.train.distill import (PseudoMaskSettings, pseudo_mask, default_cache_dir, explanation_targets,
                                    student_targets, agreement, ROUND_TEACHERS, distill_and_save)
from cracklib.train.examples import (PatchSettings, examples_from_samples, hard_negatives, oversample,
                                     predict_probabilities, synthetic_examples)
from cracklib.train.explainer import (ExplainerConfig, ExplainerStats, explainer_losses, total_variation,
                                      train_explainer, save_explainer, fit_explainer_and_save)
from cracklib.train.loop import LoopConfig, Objective, fit, save_checkpoint, resume_checkpoint, checkpoint_path
from cracklib.train.progress import progress_bar, TrainingProgress
from cracklib.train.segmenter import (AUGMENTATIONS, IGNORE, SegmenterConfig, SegmenterStats, crops_from_masks,
                                      train_segmenter, save_segmenter, train_unet_and_save, segmentation_loss)

__all__ = ["flip_and_turn", "jitter_brightness", "rescale", "photometric", "TrainingConfig", "EpochStats",
           "train_classifier", "resized_input", "train_and_save", "PseudoMaskSettings", "pseudo_mask",
           "default_cache_dir", "explanation_targets", "student_targets", "agreement", "ROUND_TEACHERS", "distill_and_save",
           "PatchSettings", "examples_from_samples", "hard_negatives", "oversample", "predict_probabilities",
           "synthetic_examples", "ExplainerConfig", "ExplainerStats", "explainer_losses", "total_variation",
           "train_explainer", "save_explainer", "fit_explainer_and_save", "LoopConfig", "Objective", "fit",
           "save_checkpoint", "resume_checkpoint", "checkpoint_path", "progress_bar", "TrainingProgress",
           "AUGMENTATIONS", "IGNORE", "SegmenterConfig", "SegmenterStats", "crops_from_masks", "train_segmenter",
           "save_segmenter", "train_unet_and_save", "segmentation_loss"]
