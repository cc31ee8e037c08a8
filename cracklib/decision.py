"""The photo-level decision in tiled mode: one crack probability for a photo from its tiles.

A photo cut into tiles gets one crack probability per tile. Taking the highest
(``max_tile``) lets one confident tile call a whole photo cracked: on brick
walls that cost 0.14 balanced accuracy against the resized photo. The rules
here are the alternatives; which one is the default was chosen on the
validation splits (``benchmarks/photo_decision.py``, ``docs/results.md``).

Every rule maps the tile probabilities (and, where it needs it, the
probability of the whole photo resized to the model input) to one number in
[0, 1]; the photo is called cracked when that number reaches the gate, and
only then are its gated tiles explained (Seibold et al. explain only images
classified as defective). The per-tile map is kept for display either way.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["PhotoDecision", "PHOTO_DECISIONS", "photo_probability"]


@dataclass(frozen=True)
class PhotoDecision:
    """A rule from tile probabilities to the photo's crack probability."""

    label: str
    #: Whether the rule needs the resized whole photo's probability (one more forward pass).
    needs_whole: bool
    rule: Callable[[np.ndarray, float | None], float]


def _kth_highest(tiles: np.ndarray, k: int) -> float:
    # A photo with fewer than k tiles falls back to its lowest tile (all must agree).
    return float(np.sort(tiles)[::-1][min(k, len(tiles)) - 1])


PHOTO_DECISIONS: dict[str, PhotoDecision] = {
    "max_tile": PhotoDecision("highest tile", False, lambda tiles, whole: float(tiles.max())),
    "second_tile": PhotoDecision("second-highest tile (two tiles agree)", False,
                                 lambda tiles, whole: _kth_highest(tiles, 2)),
    "tile_and_whole": PhotoDecision(
        "geometric mean of the highest tile and the resized photo", True,
        lambda tiles, whole: float(np.sqrt(tiles.max() * whole))),
}


def photo_probability(tile_probabilities: np.ndarray, whole_probability: float | None = None, *,
                      decision: str = "max_tile") -> float:
    """The photo's crack probability from its tiles' (see :data:`PHOTO_DECISIONS`).

    Parameters
    ----------
    tile_probabilities : array (T,), T ≥ 1
        Crack probability of every tile.
    whole_probability : float, optional
        Crack probability of the whole photo resized to the model input; needed
        by the rules whose ``needs_whole`` is set.
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
    chosen = PHOTO_DECISIONS[decision]
    if chosen.needs_whole and whole_probability is None:
        raise ValueError(f"photo decision {decision!r} needs the whole photo's probability")
    return chosen.rule(tiles, whole_probability)
