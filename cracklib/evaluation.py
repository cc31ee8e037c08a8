"""Evaluating the classifier and the segmentation on a data folder.

Classifier scores are over the images with a label; segmentation scores over
the images whose mask holds crack pixels (as Forest et al.), from the confusion
counts summed over all of them (as both papers), plus average precision from the
score maps. An image the classifier gates out gets an empty mask: a missed crack
costs recall, as it would in the field.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
from sklearn.metrics import roc_auc_score

from .datasets import Sample, crack_pixels
from .imageio import read_image
from .metrics import Confusion, ScoreSampler, average_precision, confusion, pr_curve
from .attribution import BASELINE_METHODS
from .pipeline import (Classifier, PipelineConfig, SegmentationResult, classify, explain, segment_explanation,
                       threshold_explanation)
from .postprocess import postprocess
from .training import balanced_accuracy

__all__ = ["evaluate_samples", "evaluate_grid", "classifier_scores", "score_result", "compare_methods",
           "MethodRun", "method_label", "method_choices", "config_for_label"]


def _nan_to_none(value: float) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def classifier_scores(labels: list[int], probabilities: list[float]) -> dict:
    labels_a, probs = np.asarray(labels, bool), np.asarray(probabilities, float)
    predicted = probs >= 0.5
    both = labels_a.any() and not labels_a.all()
    return {
        "n": int(labels_a.size),
        "balanced_accuracy": _nan_to_none(balanced_accuracy(labels_a, predicted)) if labels_a.size else None,
        "tpr": float(predicted[labels_a].mean()) if labels_a.any() else None,
        "tnr": float((~predicted[~labels_a]).mean()) if (~labels_a).any() else None,
        "auc": float(roc_auc_score(labels_a, probs)) if both else None,
    }


def evaluate_samples(classifier: Classifier, samples: list[Sample], config: PipelineConfig = PipelineConfig(), *,
                     segmentation: bool = True,
                     progress: Callable[[int, int], None] | None = None) -> dict:
    """Evaluate on ``samples``; with ``segmentation=False`` the classifier only (``--method none``).

    Returns
    -------
    dict with ``n_images``, ``classifier`` {balanced_accuracy, tpr, tnr, auc},
    ``segmentation`` {iou, precision, recall, f1, ap, n_images, ...} (None when
    not evaluated), ``seconds_per_image``.
    """
    labels, probabilities = [], []
    total = Confusion()
    sampler = ScoreSampler()
    per_image = []
    start = time.perf_counter()
    for index, sample in enumerate(samples, 1):
        image = read_image(sample.image)
        truth = crack_pixels(sample, image.shape[:2]) if segmentation else None
        if segmentation and truth is not None and truth.any():
            explanation = explain(classifier, image, config)
            result = segment_explanation(explanation, config)
            counts = confusion(result.mask, truth)
            total = total + counts
            sampler.add(result.score, truth)
            per_image.append({"image": sample.image.name, **counts.scores()})
            probability = result.probability
        else:
            probability = classify(classifier, image, config)
        if sample.label is not None:
            labels.append(sample.label)
            probabilities.append(probability)
        if progress:
            progress(index, len(samples))
    seconds = time.perf_counter() - start
    report = {
        "n_images": len(samples),
        "classifier": classifier_scores(labels, probabilities),
        "segmentation": None,
        "seconds_per_image": seconds / max(1, len(samples)),
        "config": config.to_dict() if segmentation else None,
    }
    if segmentation:
        report["segmentation"] = {"n_images": len(per_image), **total.scores(),
                                  "ap": _nan_to_none(average_precision(sampler)),
                                  "per_image": per_image} if per_image else None
    return report


def evaluate_grid(classifier: Classifier, samples: list[Sample], explanations: list[PipelineConfig],
                  thresholds: list[str], posts: list[str], *,
                  progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """Segmentation scores for every explanation setting × threshold × post-processing.

    Each image is explained once per entry of ``explanations`` (method, rules,
    baseline, gate); thresholds and post-processing reuse that explanation. Only
    images whose mask holds crack pixels are used.

    Returns
    -------
    list of dict, one per combination: ``method``, ``mode``, ``rules``, ``baseline``,
    ``threshold``, ``post``, ``iou``, ``precision``, ``recall``, ``f1``, ``ap``
    (from the threshold's score maps), ``seconds_per_image`` (explanation only),
    ``n_images``, and ``sampler`` (a :class:`ScoreSampler` for the PR curve).
    """
    cells: dict[tuple, dict] = {}
    seconds = {id(config): 0.0 for config in explanations}
    images = 0
    for index, sample in enumerate(samples, 1):
        image = read_image(sample.image)
        truth = crack_pixels(sample, image.shape[:2])
        if truth is None or not truth.any():
            if progress:
                progress(index, len(samples))
            continue
        images += 1
        for base in explanations:
            start = time.perf_counter()
            explanation = explain(classifier, image, base)
            seconds[id(base)] += time.perf_counter() - start
            for threshold in thresholds:
                # The pipeline's stage 2 without severity (not scored here), thresholding
                # once for all post-processings: a grid has thousands of cells.
                thresholded = threshold_explanation(explanation, threshold)
                for post in posts:
                    key = (id(base), threshold, post)
                    cell = cells.setdefault(key, {"base": base, "confusion": Confusion(), "sampler": ScoreSampler()})
                    cell["confusion"] = cell["confusion"] + confusion(postprocess(thresholded.mask, post), truth)
                    cell["sampler"].add(thresholded.score, truth)
        if progress:
            progress(index, len(samples))
    rows = []
    for (base_id, threshold, post), cell in cells.items():
        base = cell["base"]
        rows.append({"method": base.method, "mode": base.mode, "rules": base.rules if base.method == "lrp" else None,
                     "baseline": base.baseline if base.method in BASELINE_METHODS else None, "threshold": threshold,
                     "post": post, **cell["confusion"].scores(), "ap": _nan_to_none(average_precision(cell["sampler"])),
                     "seconds_per_image": seconds[base_id] / max(1, images), "n_images": images,
                     "sampler": cell["sampler"]})
    return rows


def score_result(result: SegmentationResult, truth: np.ndarray) -> dict:
    """One photo against its ground truth: IoU, precision, recall, F1, AP and the PR curve.

    The curve is the threshold's score map swept over all cuts; the operating
    point is the mask actually produced (after post-processing).

    Returns
    -------
    dict with ``iou``, ``precision``, ``recall``, ``f1``, ``ap`` (None without
    crack pixels in ``truth``), ``curve_precision``, ``curve_recall`` (arrays).
    """
    scores = confusion(result.mask, truth).scores()
    if truth.any():
        precision, recall, _ = pr_curve(result.score, truth)
        scores.update(ap=_nan_to_none(average_precision(result.score, truth)),
                      curve_precision=precision, curve_recall=recall)
    else:
        scores.update(ap=None, curve_precision=np.zeros(0), curve_recall=np.zeros(0))
    return scores


@dataclass
class MethodRun:
    """One method's result on one photo, for side-by-side comparison."""

    label: str
    config: PipelineConfig
    result: SegmentationResult
    #: Explanation time (classification + attribution).
    seconds: float
    scores: dict | None = None


def method_label(config: PipelineConfig) -> str:
    """A short name for an explanation setting: ``lrp (montavon)``, ``deeplift (damage_free_mean)``."""
    if config.method == "lrp":
        return f"lrp ({config.rules})"
    if config.method in BASELINE_METHODS:
        return f"{config.method} ({config.baseline})"
    return config.method


def method_choices() -> list[str]:
    """Every explanation a user can pick, as labels: one per LRP rule set, then the other methods."""
    from .attribution import METHODS
    from .composites import RULE_SETS

    return [f"lrp ({rules})" for rules in RULE_SETS] + [method for method in METHODS if method != "lrp"]


def config_for_label(label: str, base: PipelineConfig = PipelineConfig()) -> PipelineConfig:
    """``base`` with the method (and LRP rule set) named by a :func:`method_choices` label."""
    from dataclasses import replace

    method, _, rules = label.partition(" (")
    if method == "lrp" and rules:
        return replace(base, method="lrp", rules=rules.rstrip(")"))
    return replace(base, method=method)


def compare_methods(classifier: Classifier, image: np.ndarray, configs: list[PipelineConfig], *,
                    truth: np.ndarray | None = None,
                    progress: Callable[[int, int], None] | None = None) -> list[MethodRun]:
    """Run the pipeline once per setting on one photo; time each and score it against ``truth`` if given."""
    runs = []
    for index, config in enumerate(configs, 1):
        start = time.perf_counter()
        explanation = explain(classifier, image, config)
        seconds = time.perf_counter() - start
        result = segment_explanation(explanation, config)
        runs.append(MethodRun(method_label(config), config, result, seconds,
                              score_result(result, truth) if truth is not None else None))
        if progress:
            progress(index, len(configs))
    return runs
