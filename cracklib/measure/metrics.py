"""Segmentation and localisation scores.

Both papers report dataset-level scores: the confusion counts of all images are
summed, then IoU, precision, recall and F1 are computed once
(:class:`Confusion`). Per-image values come from the same class.

Threshold-free scores judge the relevance map itself against a mask: relevance
mass and relevance rank accuracy (Arras et al., 2022, "CLEVR-XAI"), the pointing
game (Zhang et al., 2018) and the pixel ROC-AUC; precision-recall curves and
average precision come from scikit-learn. The faithfulness scores, which need
the classifier rather than a mask, are in :mod:`cracklib.measure.faithfulness`.

References
----------
Arras, L., Osman, A., Samek, W., "CLEVR-XAI: A benchmark dataset for the ground
truth evaluation of neural network explanations", Information Fusion 81, 2022.
Zhang, J. et al., "Top-down Neural Attention by Excitation Backprop", IJCV 126, 2018.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

from cracklib.measure.faithfulness import relevance_order

__all__ = ["SCORE_KEYS", "Confusion", "confusion", "pr_curve", "average_precision", "relevance_mass_accuracy",
           "relevance_rank_accuracy", "pointing_game", "LOCALISATION_KEYS", "localisation_scores", "pixel_roc_auc",
           "ScoreSampler", "balanced_accuracy"]


#: The segmentation scores of one photo or data set, in the order tables show them.
SCORE_KEYS = ("iou", "precision", "recall", "f1", "ap")


def balanced_accuracy(labels: np.ndarray, predictions: np.ndarray) -> float:
    """Mean of the true-positive and true-negative rates (NaN if a class is absent)."""
    labels, predictions = np.asarray(labels).astype(bool), np.asarray(predictions).astype(bool)
    if labels.all() or not labels.any():
        return float("nan")
    return float((predictions[labels].mean() + (~predictions[~labels]).mean()) / 2)


@dataclass
class Confusion:
    """Pixel confusion counts; add them up over images for dataset-level scores."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def __add__(self, other: "Confusion") -> "Confusion":
        return Confusion(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn)

    @staticmethod
    def _ratio(num: int, den: int) -> float:
        # 0/0 happens for an empty prediction on an empty mask: count it as perfect.
        return 1.0 if den == 0 else num / den

    @property
    def precision(self) -> float:
        # An empty mask claims nothing: right on a crack-free truth, but where cracks were missed it is not
        # precise, it found none of them (0, not the 1 of 0/0).
        if self.tp + self.fp == 0:
            return 1.0 if self.fn == 0 else 0.0
        return self.tp / (self.tp + self.fp)

    @property
    def recall(self) -> float:
        return self._ratio(self.tp, self.tp + self.fn)

    @property
    def iou(self) -> float:
        return self._ratio(self.tp, self.tp + self.fp + self.fn)

    @property
    def f1(self) -> float:
        return self._ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    def scores(self) -> dict[str, float]:
        return {"iou": self.iou, "precision": self.precision, "recall": self.recall, "f1": self.f1}


def _check_pair(prediction: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    prediction, truth = np.asarray(prediction), np.asarray(truth, dtype=bool)
    if prediction.shape != truth.shape:
        raise ValueError(f"prediction {prediction.shape} and mask {truth.shape} differ in shape")
    return prediction, truth


def confusion(prediction: np.ndarray, truth: np.ndarray) -> Confusion:
    """Confusion counts of a boolean prediction against a boolean mask."""
    prediction, truth = _check_pair(prediction, truth)
    prediction = prediction.astype(bool)
    tp = int(np.count_nonzero(prediction & truth))
    fp = int(np.count_nonzero(prediction & ~truth))
    fn = int(np.count_nonzero(~prediction & truth))
    return Confusion(tp, fp, fn, prediction.size - tp - fp - fn)


class ScoreSampler:
    """Collects (score, truth) pixels over many images for one PR curve.

    All crack pixels are kept (they are rare) and at most ``background_per_image``
    background pixels per image, with a weight that stands for the ones left out,
    so a data set's curve fits in memory and is still unbiased.
    """

    def __init__(self, *, background_per_image: int = 20_000, seed: int = 0):
        self.limit = background_per_image
        self.rng = np.random.default_rng(seed)
        self.scores, self.truths, self.weights = [], [], []

    def add(self, score: np.ndarray, truth: np.ndarray) -> None:
        score, truth = _check_pair(score, truth)
        score, truth = score.ravel(), truth.ravel()
        background = np.flatnonzero(~truth)
        weight = 1.0
        if background.size > self.limit:
            weight = background.size / self.limit
            background = self.rng.choice(background, self.limit, replace=False)
        crack = np.flatnonzero(truth)
        self.scores += [score[crack], score[background]]
        self.truths += [np.ones(crack.size, bool), np.zeros(background.size, bool)]
        self.weights += [np.ones(crack.size), np.full(background.size, weight)]

    def arrays(self):
        if not self.scores:
            return np.zeros(0), np.zeros(0, bool), np.zeros(0)
        return np.concatenate(self.scores), np.concatenate(self.truths), np.concatenate(self.weights)


def pr_curve(score: np.ndarray | ScoreSampler, truth: np.ndarray | None = None):
    """Precision-recall curve (scikit-learn). Returns precision, recall, thresholds."""
    scores, truths, weights = _as_arrays(score, truth)
    return precision_recall_curve(truths, scores, sample_weight=weights)


def average_precision(score: np.ndarray | ScoreSampler, truth: np.ndarray | None = None) -> float:
    """Average precision of a score map (or a sampler); NaN when there is no crack pixel."""
    scores, truths, weights = _as_arrays(score, truth)
    if not truths.any():
        return float("nan")
    return float(average_precision_score(truths, scores, sample_weight=weights))


def _as_arrays(score, truth):
    if isinstance(score, ScoreSampler):
        return score.arrays()
    score, truth = _check_pair(score, truth)
    return score.ravel(), truth.ravel(), None


def relevance_mass_accuracy(relevance: np.ndarray, truth: np.ndarray) -> float:
    """Share of the positive relevance that falls inside the mask.

    R_within / R_total of Arras et al. (2022) over the positive part of the map
    (negative relevance is evidence against a crack, not mass to place). Quantus's
    ``RelevanceMassAccuracy`` gives the same on the map clipped at 0. NaN when no
    relevance is positive or the mask is empty (nothing to hit).

    References
    ----------
    Arras, Osman, Samek, "CLEVR-XAI", Information Fusion, 2022.
    """
    relevance, truth = _check_pair(relevance, truth)
    positive = np.clip(relevance, 0, None)
    total = positive.sum()
    return float(positive[truth].sum() / total) if total > 0 and truth.any() else float("nan")


def relevance_rank_accuracy(relevance: np.ndarray, truth: np.ndarray) -> float:
    """Share of the K most relevant pixels that lie in the mask, K being the mask's pixel count.

    Arras et al.'s (2022) relevance rank accuracy: 1 when the mask's pixels are
    exactly the top-ranked ones. Ranked by the signed relevance, ties in raster
    order (Quantus's ``RelevanceRankAccuracy`` leaves ties to its sort). NaN for
    an empty mask.

    References
    ----------
    Arras, Osman, Samek, "CLEVR-XAI", Information Fusion, 2022.
    """
    relevance, truth = _check_pair(relevance, truth)
    size = int(np.count_nonzero(truth))
    if size == 0:
        return float("nan")
    top = relevance_order(relevance)[:size]
    return float(np.count_nonzero(truth.ravel()[top]) / size)


def pointing_game(relevance: np.ndarray, truth: np.ndarray, *, tolerance: int = 15) -> bool:
    """Whether the most relevant pixel lies within ``tolerance`` px of the mask (False for an empty mask).

    Zhang et al. (2018) count a hit within 15 px of the object. With ``tolerance=0`` it is Quantus's
    ``PointingGame`` where the maximum is unique (Quantus counts a hit if any of tied maxima is in the mask;
    here the first in raster order decides).

    References
    ----------
    Zhang, J. et al., "Top-down Neural Attention by Excitation Backprop", IJCV, 2018.
    """
    relevance, truth = _check_pair(relevance, truth)
    if not truth.any():
        return False
    near = ndimage.binary_dilation(truth, iterations=tolerance) if tolerance > 0 else truth
    return bool(near.flat[int(np.argmax(relevance))])


#: The localisation scores of a relevance map against a mask, as :func:`localisation_scores` names them.
LOCALISATION_KEYS = ("relevance_mass_accuracy", "relevance_rank_accuracy", "pointing_game")


def localisation_scores(relevance: np.ndarray, truth: np.ndarray, *, tolerance: int = 15) -> dict[str, float]:
    """Relevance mass accuracy, relevance rank accuracy and the pointing game (1.0 hit, 0.0 miss) of a map
    against a mask, keyed by :data:`LOCALISATION_KEYS`; all NaN for an empty mask (nothing to localise)."""
    relevance, truth = _check_pair(relevance, truth)
    if not truth.any():
        return dict.fromkeys(LOCALISATION_KEYS, float("nan"))
    return {"relevance_mass_accuracy": relevance_mass_accuracy(relevance, truth),
            "relevance_rank_accuracy": relevance_rank_accuracy(relevance, truth),
            "pointing_game": float(pointing_game(relevance, truth, tolerance=tolerance))}


def pixel_roc_auc(relevance: np.ndarray, truth: np.ndarray) -> float:
    """ROC-AUC of the relevance as a pixel classifier of the mask (NaN for a one-class mask)."""
    relevance, truth = _check_pair(relevance, truth)
    if truth.all() or not truth.any():
        return float("nan")
    return float(roc_auc_score(truth.ravel(), relevance.ravel()))
