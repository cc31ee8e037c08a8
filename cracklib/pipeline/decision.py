"""The photo-level decision in tiled mode: one crack probability for a photo from its tiles.

A photo cut into tiles gets one crack probability per tile. Taking the highest
(``max_tile``) lets one confident tile call a whole photo cracked: on brick
walls that cost 0.14 balanced accuracy against the resized photo. The rules
here are the alternatives; which one is the default was chosen on the
validation splits (``benchmarks/decisions/photo_decision.py``, ``docs/results.md``).

Every rule maps the tile probabilities (and, where it needs it, the
probability of the whole photo resized to the model input) to one number in
[0, 1]; the photo is called cracked when that number reaches the gate, and
only then are its gated tiles explained (Seibold et al. explain only images
classified as defective). The per-tile map is kept for display either way.

The resized photo is only a witness while a thin crack survives the resize: for
a photo more than :data:`MAX_WHOLE_DOWNSCALE` times the model input (a 12 MP
photo is 23× a 128-px input) a one-pixel crack is gone, and ``tile_and_whole``
falls back to the highest tile.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from sklearn.metrics import roc_auc_score

from cracklib.measure.metrics import balanced_accuracy

__all__ = ["DECISION_THRESHOLD", "MAX_WHOLE_DOWNSCALE", "PhotoDecision", "PHOTO_DECISIONS", "photo_probability",
           "whole_is_informative", "shift_logits", "offset_photo_probabilities", "fit_logit_offset",
           "SCREENING_MARGIN", "tiles_to_rescore", "classifier_scores"]


#: A photo or patch is called cracked from this crack probability (classifier scores, hard negatives).
#: The pipeline's gate (ExplanationSettings.gate) defaults to it too.
DECISION_THRESHOLD = 0.5


#: How far an int8 screen's crack probability may be from the float model's (:func:`tiles_to_rescore`): the
#: largest difference measured, on real val tiles and the 12 MP synthetic photo, was 0.23
#: (benchmarks/speed/int8_screening.py, docs/int8_screening.md).
SCREENING_MARGIN = 0.35


#: The largest resize factor (photo's shorter side ÷ model input) at which the resized photo still counts.
MAX_WHOLE_DOWNSCALE = 4.0


@dataclass(frozen=True)
class PhotoDecision:
    """A rule from tile probabilities to the photo's crack probability."""

    label: str
    #: Whether the rule uses the resized whole photo's probability (one more forward pass) where it is informative.
    needs_whole: bool
    rule: Callable[[np.ndarray, float | None], float]
    #: How many of the highest tile probabilities the rule reads (the rest may be screened, :func:`tiles_to_rescore`).
    top_tiles: int = 1


def _kth_highest(tiles: np.ndarray, k: int) -> float:
    # A photo with fewer than k tiles falls back to its lowest tile (all must agree).
    return float(np.sort(tiles)[::-1][min(k, len(tiles)) - 1])


PHOTO_DECISIONS: dict[str, PhotoDecision] = {
    "max_tile": PhotoDecision("highest tile", False, lambda tiles, whole: float(tiles.max())),
    "second_tile": PhotoDecision("second-highest tile (two tiles agree)", False,
                                 lambda tiles, whole: _kth_highest(tiles, 2), top_tiles=2),
    "tile_and_whole": PhotoDecision(
        "geometric mean of the highest tile and the resized photo (small photos)", True,
        lambda tiles, whole: float(tiles.max() if whole is None else np.sqrt(tiles.max() * whole))),
}


def whole_is_informative(shape: tuple[int, int], input_size: int) -> bool:
    """Whether a photo of ``shape`` resized to ``input_size`` still shows a thin crack (see the module notes)."""
    return min(shape[:2]) <= MAX_WHOLE_DOWNSCALE * input_size


def photo_probability(tile_probabilities: np.ndarray, whole_probability: float | None = None, *,
                      decision: str = "max_tile") -> float:
    """The photo's crack probability from its tiles' (see :data:`PHOTO_DECISIONS`).

    Parameters
    ----------
    tile_probabilities : array (T,), T ≥ 1
        Crack probability of every tile.
    whole_probability : float, optional
        Crack probability of the whole photo resized to the model input, for the
        rules whose ``needs_whole`` is set; None where the resized photo is not
        informative (:func:`whole_is_informative`): those rules then use the tiles alone.
    decision : str
        A key of :data:`PHOTO_DECISIONS`.

    Examples
    --------
    >>> photo_probability(np.array([0.1, 0.9, 0.2]), decision="second_tile")
    0.2
    """
    if decision not in PHOTO_DECISIONS:
        raise ValueError(f"unknown photo decision {decision!r}; choose from {', '.join(PHOTO_DECISIONS)}")
    tiles = np.asarray(tile_probabilities, np.float64).ravel()
    if tiles.size == 0:
        raise ValueError("a photo has at least one tile")
    return PHOTO_DECISIONS[decision].rule(tiles, whole_probability)


def shift_logits(probabilities: np.ndarray, offset: float) -> np.ndarray:
    """Crack probabilities with their logit lowered by ``offset`` (what a card's ``logit_offset`` does)."""
    p = np.clip(np.asarray(probabilities, np.float64), 1e-7, 1 - 1e-7)  # float32 softmax saturates at 1
    return 1 / (1 + np.exp(offset - np.log(p) + np.log1p(-p)))


def offset_photo_probabilities(tile_probabilities: list[np.ndarray], whole_probabilities: list[float | None],
                               offset: float, *, decision: str = "tile_and_whole",
                               tile_offset: float | None = None) -> np.ndarray:
    """Every photo's probability (:func:`photo_probability`) with the logits lowered by ``offset`` (the tiles
    by ``tile_offset`` where given); the arguments as :func:`fit_logit_offset`'s."""
    tiles_offset = offset if tile_offset is None else tile_offset
    return np.array([photo_probability(shift_logits(tiles, tiles_offset),
                                       None if whole is None else float(shift_logits(whole, offset)), decision=decision)
                     for tiles, whole in zip(tile_probabilities, whole_probabilities)])


def fit_logit_offset(tile_probabilities: list[np.ndarray], whole_probabilities: list[float | None],
                     labels: np.ndarray, *, decision: str = "tile_and_whole",
                     offsets: np.ndarray = np.round(np.arange(-6, 6.001, 0.02), 2),
                     tile_offset: float | None = None) -> tuple[float, float]:
    """The logit offset whose photo decisions at :data:`DECISION_THRESHOLD` are the most balanced on a labelled set.

    A model trained on a skewed set (native patches of magnetic tiles: one
    defect patch in ten) ranks photos well but calls most of them cracked at
    0.5. Lowering every tile's and the whole photo's crack logit by one offset
    is a monotone recalibration (Platt scaling with the slope kept at 1) that
    moves the decision without retraining; the gate and the tiles it explains
    follow. Fit it on the val split, never on the test split.

    Parameters
    ----------
    tile_probabilities : list of (T,) arrays
        Every photo's tile probabilities as trained (offset 0).
    whole_probabilities : list of float or None
        The resized photos' probabilities where the decision uses them (:func:`whole_is_informative`).
    labels : (N,) array
        1 = cracked.
    decision : str
        A key of :data:`PHOTO_DECISIONS`.
    offsets : array
        Candidates; among equally balanced ones, the closest to 0 wins.
    tile_offset : float, optional
        None: one model, so the tiles and the whole photo share the fitted offset.
        A number: the whole photo comes from a second model (``ModelCard.whole_photo_model``);
        the tiles keep this offset, so the gate and the explained tiles do not move, and only
        the whole photo's offset is fitted.

    Returns
    -------
    (offset, balanced accuracy at it)
    """
    labels = np.asarray(labels).astype(bool)
    if len(tile_probabilities) != len(labels) or len(whole_probabilities) != len(labels):
        raise ValueError("one tile array, one whole probability and one label per photo")
    if labels.all() or not labels.any():
        raise ValueError("calibration needs cracked and crack-free photos")
    best = (-1.0, 0.0)
    for offset in sorted(offsets, key=abs):
        photos = offset_photo_probabilities(tile_probabilities, whole_probabilities, offset, decision=decision,
                                            tile_offset=tile_offset)
        score = balanced_accuracy(labels, photos >= DECISION_THRESHOLD)
        if score > best[0]:
            best = (score, float(offset))
    return best[1], best[0]


def tiles_to_rescore(screened: np.ndarray, *, gate: float, margin: float, decision: str) -> np.ndarray:
    """Indices of the tiles whose screened probability could hide one that the gate or the decision reads.

    A screen (an int8 copy of the classifier, :func:`cracklib.nets.models.screening_graph`)
    gives every tile a probability within ``margin`` of the float model's. Scoring
    again in float every tile returned here leaves the gated tiles and the photo's
    probability exactly as the float model alone gives them: a tile reaching the
    gate screens at ``gate − margin`` or more, and each of the decision's ``k``
    highest tiles at ``s − 2·margin`` or more, where ``s`` is the k-th highest
    screened probability (k tiles screen at ``s`` or more, so the k-th highest
    float probability is at least ``s − margin``). Tiles left out keep their
    screened probability, which only the per-tile map shows.

    Examples
    --------
    >>> tiles_to_rescore(np.array([0.05, 0.9, 0.35, 0.1]), gate=0.5, margin=0.2, decision="max_tile")
    array([1, 2])
    """
    screened = np.asarray(screened, np.float64).ravel()
    k = PHOTO_DECISIONS[decision].top_tiles
    floor = min(gate - margin, _kth_highest(screened, k) - 2 * margin)
    return np.flatnonzero(screened >= floor)

def _nan_to_none(value: float) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def classifier_scores(labels: list[int], probabilities: list[float]) -> dict:
    labels_a, probs = np.asarray(labels, bool), np.asarray(probabilities, float)
    predicted = probs >= DECISION_THRESHOLD
    both = labels_a.any() and not labels_a.all()
    return {
        "n": int(labels_a.size),
        "balanced_accuracy": _nan_to_none(balanced_accuracy(labels_a, predicted)) if labels_a.size else None,
        "tpr": float(predicted[labels_a].mean()) if labels_a.any() else None,
        "tnr": float((~predicted[~labels_a]).mean()) if (~labels_a).any() else None,
        "auc": float(roc_auc_score(labels_a, probs)) if both else None,
    }
