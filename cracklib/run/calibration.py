"""Calibrating a shipped model on a data set's train or val split, written into its model card.

Two fits, each chosen on the photos of a split and written into the card of
the model it is for (never the test split: that reports the result):

:func:`calibrate_weights`
    the logit offset that makes 0.5 balance the classes of the photo decision
    (:func:`cracklib.run.evaluation.calibrate_classifier`);
:func:`choose_views`
    how many flips and turns of a photo the network averages over: the fewest
    views within 0.005 of the best score (more views cost a pass each for
    nothing measurable). A segmentation network is scored by its masks' F1,
    a classifier by the photo decision's AUC.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable

from sklearn.metrics import roc_auc_score

from cracklib.errors import CrackInputError
from cracklib.io.datasets import Sample, read_dataset
from cracklib.nets.models import card_path, read_card
from cracklib.nets.weights import load_segmenter
from cracklib.pipeline.classifier import load_classifier
from cracklib.pipeline.segmenters import score_views
from cracklib.pipeline.settings import ExplanationSettings
from cracklib.run.evaluation import calibrate_classifier, uncalibrated_decisions

__all__ = ["calibrate_weights", "choose_views", "VIEW_CANDIDATES"]

#: The numbers of views tried (:data:`cracklib.nets.preprocess.VIEWS` holds eight).
VIEW_CANDIDATES = (1, 2, 4, 8)
#: More views are kept only when they score more than this above fewer.
VIEWS_TOLERANCE = 0.005

Progress = Callable[[int, int], None] | None


def _samples(data: list[str | Path], split: str, groups: list[str] | None, what: str) -> list[Sample]:
    if split == "test":
        raise CrackInputError(f"{what} on the train or val split; the test split reports the result")
    return [sample for folder in data for sample in read_dataset(folder, split=split, groups=groups)]


def calibrate_weights(weights: str | Path, data: list[str | Path], settings: ExplanationSettings, *, split: str,
                      provenance: dict | None = None, write: bool = True, progress: Progress = None) -> dict:
    """Fit the photo decision's logit offset on the ``split`` of the data folders ``data`` and write it into the
    deciding model's card.

    With a whole-photo model deciding, the offset is that model's (:func:`calibrate_classifier`).
    Returns the fit (JSON-ready), followed by ``provenance`` (the data, the split, the command), as the card
    records it.
    """
    samples = _samples(data, split, None, "calibrate")
    classifier = load_classifier(weights)
    fit = {**calibrate_classifier(classifier, samples, settings, progress=progress), **(provenance or {})}
    if write:
        owner = classifier.whole_photo if fit["calibrated"] == "whole_photo_model" else classifier
        card = replace(owner.card, logit_offset=fit["logit_offset"], notes={**owner.card.notes, "calibration": fit})
        card_path(owner.path).write_text(card.to_json())
    return fit


def choose_views(weights: str | Path, data: list[str | Path], *, split: str, groups: list[str] | None = None,
                 max_views: int = 8, provenance: dict | None = None, write: bool = True,
                 progress: Progress = None) -> dict:
    """Score each number of views on the ``split`` of the data folders ``data`` (only ``groups``, if given),
    keep the fewest within :data:`VIEWS_TOLERANCE` of the best, and write it into the card of the network it is
    for. Returns the fit (JSON-ready), followed by ``provenance``, as the card records it."""
    samples = _samples(data, split, groups, "choose views")
    if not card_path(weights).exists():
        raise CrackInputError(f"{weights}: no such weights file with its card")
    candidates = [v for v in VIEW_CANDIDATES if v <= max_views]
    if read_card(weights).arch == "unet11":
        owner, key, scores = Path(weights), "f1", _segmenter_views(weights, samples, candidates, split, progress)
    else:
        owner, key, scores = _classifier_views(weights, samples, candidates, split, progress)
    best = max(score[key] for score in scores.values())
    views = min(v for v, score in scores.items() if score[key] >= best - VIEWS_TOLERANCE)
    fit = {"views": views, "chosen_on": key, "scores": {str(v): score for v, score in scores.items()},
           "images": len(samples), **(provenance or {})}
    if write:
        card = read_card(owner)
        card_path(owner).write_text(replace(card, views=views, notes={**card.notes, "views": fit}).to_json())
        fit["written_to"] = str(card_path(owner))
    return fit


def _segmenter_views(weights, samples, candidates, split, progress) -> dict:
    """F1 and IoU of a segmentation network's map at 0.5 with each number of views (the masked photos)."""
    model, card = load_segmenter(weights, device="cpu")
    masked = [sample for sample in samples if sample.mask is not None]
    if not masked:
        raise CrackInputError(f"no masked image in the {split} split")
    return score_views(model, card, masked, candidates=candidates, progress=progress)


def _classifier_views(weights, samples, candidates, split, progress) -> tuple[Path, str, dict]:
    """The photo decision's AUC, and its balanced accuracy at the best logit offset, with each number of views
    of the model that looks at the resized photo: the card's whole-photo model where it names one (the tiles
    keep one view: on a large photo every view is one more pass over every tile), else the classifier."""
    classifier = load_classifier(weights)
    decider = classifier.whole_photo or classifier
    scores = {}
    for index, views in enumerate(candidates):
        looking = replace(decider, card=replace(decider.card, views=views))
        trial = replace(classifier, whole_photo=looking) if classifier.whole_photo else looking
        step = None if progress is None else \
            (lambda done, total, first=index * len(samples): progress(first + done, len(candidates) * len(samples)))
        decisions = uncalibrated_decisions(trial, samples, progress=step)
        if len(set(decisions.labels)) < 2:
            raise CrackInputError(f"the {split} split needs photos of both labels")
        offset, balanced = decisions.fit()
        scores[views] = {"auc": float(roc_auc_score(decisions.labels, decisions.photo_probabilities(offset))),
                         "balanced_accuracy": balanced, "logit_offset": offset}
    return decider.path, "auc", scores
