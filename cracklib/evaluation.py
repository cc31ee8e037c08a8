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
from typing import Callable

import numpy as np
from sklearn.metrics import roc_auc_score

from .datasets import Sample, crack_pixels
from .imageio import read_image
from .metrics import Confusion, ScoreSampler, average_precision, confusion
from .attribution import BASELINE_METHODS
from .pipeline import Classifier, PipelineConfig, classify, explain, segment_explanation, threshold_explanation
from .postprocess import postprocess
from .training import balanced_accuracy

__all__ = ["evaluate_samples", "evaluate_grid", "classifier_scores"]


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
