"""Evaluating the classifier and the segmentation on a data folder.

Classifier scores are over the images with a label; segmentation scores over
the images whose mask holds crack pixels (as Forest et al.), from the confusion
counts summed over all of them (as both papers), plus average precision from the
score maps. An image the classifier gates out gets an empty mask: a missed crack
costs recall, as it would in the field.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from cracklib.errors import CrackInputError
from cracklib.explain.attribution import BASELINE_METHODS
from cracklib.io.datasets import Sample, read_sample
from cracklib.mask.refine import DarknessMap
from cracklib.measure.metrics import Confusion, ScoreSampler, average_precision, confusion, pr_curve
from cracklib.pipeline.classifier import Classifier, classify, classify_tiles, whole_photo_probability
from cracklib.pipeline.decision import (
    PHOTO_DECISIONS,
    _nan_to_none,
    classifier_scores,
    fit_logit_offset,
    offset_photo_probabilities,
)
from cracklib.pipeline.explanation import explain
from cracklib.pipeline.mask_step import cut_explanation, segment_explanation
from cracklib.pipeline.methods import default_mask, method_label, thresholds_for
from cracklib.pipeline.results import Explanation, SegmentationResult
from cracklib.pipeline.settings import ExplanationSettings, MaskSettings, PipelineConfig
from cracklib.run.faithfulness import FaithfulnessReport, faithfulness_report, mean_scores

__all__ = ["evaluate_samples", "calibrate_classifier", "uncalibrated_decisions", "UncalibratedDecisions",
           "evaluate_grid", "score_result", "compare_methods", "compare_explanations", "MethodRun",
           "PRCurve", "result_curve", "grid_curves"]


def _readable(samples: list[Sample], skipped: list[str] | None, *, with_mask: bool = True):
    """(sample, image, mask) of every sample that reads; the others are described in ``skipped`` (or raise)."""
    for sample in samples:
        try:
            image, truth = read_sample(sample, with_mask=with_mask)
        except CrackInputError as error:
            if skipped is None:
                raise
            skipped.append(str(error))
            yield sample, None, None
            continue
        yield sample, image, truth


def evaluate_samples(classifier: Classifier, samples: list[Sample], config: PipelineConfig = PipelineConfig(), *,
                     segmentation: bool = True, faithfulness: bool = False, faithfulness_options: dict | None = None,
                     progress: Callable[[int, int], None] | None = None) -> dict:
    """Evaluate on ``samples``; with ``segmentation=False`` the classifier only (``--method none``).

    With ``faithfulness``, each segmented photo also gets its explanation's faithfulness, localisation and
    randomisation scores (:func:`cracklib.run.faithfulness_report`, against its mask, with
    ``faithfulness_options``), in its ``per_image`` row and as means. An image or mask that cannot be read is left out and named in ``skipped``.

    Returns
    -------
    dict with ``n_images``, ``classifier`` {balanced_accuracy, tpr, tnr, auc},
    ``segmentation`` {iou, precision, recall, f1, ap, n_images, ...} (None when
    not evaluated), ``faithfulness`` (the means of :data:`cracklib.run.FAITHFULNESS_KEYS`, or None),
    ``seconds_per_image``, ``skipped`` (one line per unreadable file).
    """
    labels, probabilities = [], []
    total = Confusion()
    sampler = ScoreSampler()
    per_image = []
    reports: list[FaithfulnessReport] = []
    skipped: list[str] = []
    start = time.perf_counter()
    for index, (sample, image, truth) in enumerate(_readable(samples, skipped, with_mask=segmentation), 1):
        if image is not None and truth is not None and truth.any():
            explanation = explain(classifier, image, config.explanation)
            result = segment_explanation(explanation, config.mask, photo=image)
            counts = confusion(result.mask, truth)
            total = total + counts
            sampler.add(result.score, truth)
            row = {"image": sample.image.name, **counts.scores()}
            if faithfulness:
                reports.append(faithfulness_report(classifier, image, explanation, truth=truth,
                                                   **(faithfulness_options or {})))
                row["faithfulness"] = reports[-1].to_dict(curves=False)
            per_image.append(row)
            probability = result.probability
        elif image is not None:
            probability = classify(classifier, image, config.explanation)
        if image is not None and sample.label is not None:
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
        "faithfulness": mean_scores(reports) if faithfulness and reports else None,
        "skipped": skipped,
    }
    if segmentation:
        report["segmentation"] = {"n_images": len(per_image), **total.scores(),
                                  "ap": _nan_to_none(average_precision(sampler)),
                                  "per_image": per_image} if per_image else None
    return report


@dataclass(frozen=True)
class UncalibratedDecisions:
    """What a logit offset is fitted on: every photo's probabilities as trained, and how the decision takes them."""

    tiles: list[np.ndarray]
    wholes: list[float | None]
    labels: list[int]
    decision: str
    #: None: one model, whose offset is fitted for tiles and photo alike; a number: the tiles keep
    #: this offset and only the whole-photo model's is fitted.
    tile_offset: float | None

    def photo_probabilities(self, offset: float) -> np.ndarray:
        """Every photo's probability with the fitted model's logits lowered by ``offset``."""
        return offset_photo_probabilities(self.tiles, self.wholes, offset, decision=self.decision,
                                          tile_offset=self.tile_offset)

    def fit(self, offsets: np.ndarray | None = None) -> tuple[float, float]:
        """(offset, balanced accuracy) of :func:`cracklib.pipeline.decision.fit_logit_offset` over ``offsets``."""
        options = {} if offsets is None else {"offsets": np.asarray(offsets)}
        return fit_logit_offset(self.tiles, self.wholes, self.labels, decision=self.decision,
                                tile_offset=self.tile_offset, **options)


def uncalibrated_decisions(classifier: Classifier, samples: list[Sample],
                           settings: ExplanationSettings = ExplanationSettings(), *,
                           progress: Callable[[int, int], None] | None = None) -> UncalibratedDecisions:
    """Classify labelled photos as ``settings`` says, with the probabilities as trained (offsets ignored).

    With a whole-photo model on the card (``ModelCard.whole_photo_model``) and a
    tiled decision that uses the resized photo, the tiles keep their card's
    offset (``tile_offset``) and only the whole-photo model's is left to fit.
    """
    whole_decides = settings.mode == "tiled" and PHOTO_DECISIONS[settings.decision].needs_whole
    witness = classifier.whole_photo if whole_decides else None
    raw_witness = None if witness is None else replace(witness, card=replace(witness.card, logit_offset=0.0))
    raw = replace(classifier, card=replace(classifier.card, logit_offset=0.0), whole_photo=raw_witness)
    resized = replace(settings, mode="resize")
    tiles, wholes, labels = [], [], []
    for done, (sample, image, _) in enumerate(_readable(samples, None, with_mask=False), 1):
        if settings.mode == "resize":
            tiles.append(np.array([classify(raw, image, resized)]))
            wholes.append(None)
        else:
            tiles.append(classify_tiles(raw, image, settings)[3])
            wholes.append(whole_photo_probability(raw, image) if whole_decides else None)
        labels.append(sample.label)
        if progress:
            progress(done, len(samples))
    return UncalibratedDecisions(tiles, wholes, labels,
                                 decision="max_tile" if settings.mode == "resize" else settings.decision,
                                 tile_offset=None if witness is None else classifier.card.logit_offset)


def calibrate_classifier(classifier: Classifier, samples: list[Sample],
                         settings: ExplanationSettings = ExplanationSettings(), *,
                         progress: Callable[[int, int], None] | None = None) -> dict:
    """Fit the logit offset (:func:`cracklib.pipeline.decision.fit_logit_offset`) of a classifier on labelled photos.

    The photos are classified as ``settings`` says (tiled by default, with its
    photo decision) with the probabilities as trained, whatever offset the card
    holds already (:func:`uncalibrated_decisions`). Returns the offset and the
    balanced accuracy at the 0.5 decision before (as trained) and after.

    With a whole-photo model on the card (``ModelCard.whole_photo_model``) and a
    tiled decision that uses the resized photo, the offset is that model's: the
    tiles keep their card's offset, so the gate and the explained tiles do not
    move. ``calibrated`` in the result says whose offset it is.
    """
    decisions = uncalibrated_decisions(classifier, samples, settings, progress=progress)
    before = decisions.fit(np.zeros(1))[1]
    offset, after = decisions.fit()
    return {"logit_offset": offset, "balanced_accuracy_before": before, "balanced_accuracy_after": after,
            "photos": len(decisions.labels), "cracked": int(np.sum(decisions.labels)), "mode": settings.mode,
            "decision": decisions.decision,
            "calibrated": "classifier" if decisions.tile_offset is None else "whole_photo_model"}


def evaluate_grid(classifier: Classifier, samples: list[Sample], explanations: list[ExplanationSettings],
                  thresholds: list[str], posts: list[str], *, mask: MaskSettings = MaskSettings(),
                  refinements: list[str] | None = None, skipped: list[str] | None = None,
                  progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """Segmentation scores for every explanation setting × threshold × refinement × post-processing.

    Each image is explained once per entry of ``explanations``; every
    threshold, refinement (default: ``mask.refine`` only) and post-processing
    reuses that explanation, and each cell's mask
    comes from :func:`cracklib.pipeline.segment_explanation` with ``mask``'s
    other settings (scale, smallest crack), the very mask the pipeline gives.
    A threshold that does not suit a method's map (:func:`cracklib.pipeline.methods.thresholds_for`: the
    fixed cuts on a relevance) gives it no rows.
    Only images whose mask holds crack pixels are used. With a ``skipped``
    list, an unreadable image or mask is described there and left out (else it raises).

    Returns
    -------
    list of dict, one per combination: ``method``, ``mode``, ``rules``, ``baseline``,
    ``threshold``, ``refine``, ``post``, ``iou``, ``precision``, ``recall``, ``f1``, ``ap``
    (from the threshold's score maps), ``seconds_per_image`` (explanation only),
    ``n_images``, and ``sampler`` (a :class:`ScoreSampler` for the PR curve).
    """
    cells: dict[tuple, dict] = {}
    seconds = [0.0] * len(explanations)
    images = 0
    for index, (sample, image, truth) in enumerate(_readable(samples, skipped), 1):
        if truth is None or not truth.any():
            if progress:
                progress(index, len(samples))
            continue
        images += 1
        for position, settings in enumerate(explanations):
            start = time.perf_counter()
            explanation = explain(classifier, image, settings)
            seconds[position] += time.perf_counter() - start
            suited = [threshold for threshold in thresholds if threshold in thresholds_for(settings.method)]
            for threshold, refine in itertools.product(suited, refinements or [mask.refine]):
                # One cut for every post-processing.
                cut = cut_explanation(explanation, replace(mask, threshold=threshold, refine=refine), photo=image)
                for post in posts:
                    cell = cells.setdefault((position, threshold, refine, post), {"confusion": Confusion(),
                                                                                  "sampler": ScoreSampler()})
                    result = segment_explanation(explanation, replace(mask, threshold=threshold, refine=refine,
                                                                      post=post), thresholded=cut)
                    cell["confusion"] = cell["confusion"] + confusion(result.mask, truth)
                    cell["sampler"].add(result.score, truth)
        if progress:
            progress(index, len(samples))
    rows = []
    for (position, threshold, refine, post), cell in cells.items():
        settings = explanations[position]
        rows.append({"method": settings.method, "mode": settings.mode,
                     "rules": settings.rules if settings.method == "lrp" else None,
                     "baseline": settings.baseline if settings.method in BASELINE_METHODS else None,
                     "threshold": threshold, "refine": refine, "post": post, **cell["confusion"].scores(),
                     "ap": _nan_to_none(average_precision(cell["sampler"])),
                     "seconds_per_image": seconds[position] / max(1, images), "n_images": images,
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


@dataclass(frozen=True)
class PRCurve:
    """A precision-recall curve to draw, and the operating point of the mask actually produced."""

    label: str
    precision: np.ndarray
    recall: np.ndarray
    #: (recall, precision) of the mask, or None.
    point: tuple[float, float] | None


def result_curve(label: str, scores: dict) -> PRCurve:
    """The curve of a :func:`score_result` (one photo against its truth)."""
    return PRCurve(label, scores["curve_precision"], scores["curve_recall"], (scores["recall"], scores["precision"]))


def grid_curves(rows: list[dict]) -> list[PRCurve]:
    """One curve per explanation × threshold of :func:`evaluate_grid` rows.

    Post-processing does not change the score maps, so the rows of the first
    post-processing give them all; their mask is the operating point.
    """
    curves = []
    for row in rows:
        if row["post"] != rows[0]["post"]:
            continue
        precision, recall, _ = pr_curve(row["sampler"])
        detail = row["rules"] or row["baseline"]
        label = " ".join(part for part in (row["method"], detail, row["threshold"]) if part)
        curves.append(PRCurve(label, precision, recall, (row["recall"], row["precision"])))
    return curves


@dataclass
class MethodRun:
    """One method's result on one photo, for side-by-side comparison."""

    label: str
    result: SegmentationResult
    #: Explanation time (classification + attribution).
    seconds: float
    scores: dict | None = None


def compare_explanations(explanations: list[Explanation], settings: MaskSettings, *,
                         photo: np.ndarray | None = None, truth: np.ndarray | None = None,
                         networks_at_own_step: bool = True,
                         darkness: DarknessMap | None = None) -> list[MethodRun]:
    """One mask per explanation of ``photo`` with the same mask settings, scored against ``truth`` if given.

    A segmentation network's map is a probability, not a relevance: with
    ``networks_at_own_step`` it gets its own threshold, refinement and post-processing
    (:func:`cracklib.pipeline.default_mask`), the explanations ``settings``.
    ``darkness`` is the photo's kept darkness map (:func:`cracklib.pipeline.segment_explanation`); by default
    one is made here and shared by the methods.
    """
    if photo is not None and darkness is None:
        # Shared by the methods whose cut takes this square (a square sized per photo is most often the smallest).
        darkness = DarknessMap(photo, width=settings.darkness_widths[0])
    runs = []
    for explanation in explanations:
        step = default_mask(explanation.settings.method, settings) if networks_at_own_step else settings
        result = segment_explanation(explanation, step, photo=photo, darkness=darkness)
        seconds = explanation.timings.get("classify", 0.0) + explanation.timings.get("attribute", 0.0)
        runs.append(MethodRun(method_label(explanation.settings), result, seconds,
                              score_result(result, truth) if truth is not None else None))
    return runs


def compare_methods(classifier: Classifier, image: np.ndarray, explanations: list[ExplanationSettings],
                    settings: MaskSettings = MaskSettings(), *, truth: np.ndarray | None = None,
                    progress: Callable[[int, int], None] | None = None) -> list[MethodRun]:
    """Explain one photo once per setting, then :func:`compare_explanations`."""
    done = []
    for index, explanation_settings in enumerate(explanations, 1):
        done.append(explain(classifier, image, explanation_settings))
        if progress:
            progress(index, len(explanations))
    return compare_explanations(done, settings, photo=image, truth=truth)
