"""The classifier as the pipeline uses it: a loaded model with its card and references, and the crack
probability of tiles and photos.

:class:`Classifier` wraps a model (:func:`load_classifier`) with what scoring needs: a frozen scoring graph,
an int8 screen for the tiles of large photos, the card's views and calibration. Two ways to feed a photo to
it (``ExplanationSettings.mode``):

``tiled`` (default)
    overlapping tiles at the model's input size, at the photo's native resolution (or ``tile_scale`` times
    it): every tile is classified (:func:`classify_tiles`), and the photo's crack probability comes from its
    tiles' by the rule ``decision`` (:mod:`cracklib.pipeline.decision`). Cracks one pixel wide survive.
``resize``
    the whole photo resized to the model's input, as the whole-image training examples were; cheap, and
    right for photos close to the input size.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from cracklib.explain.attribution import model_lock
from cracklib.explain.baselines import DamageFree, baselines_path
from cracklib.io.datasets import DEMO_SAMPLE
from cracklib.io.imageio import read_image
from cracklib.io.synthetic import bundled_samples
from cracklib.nets.models import CRACK_CLASS, WEIGHTS_DIR, ModelCard, scoring_graph, screening_graph
from cracklib.nets.preprocess import VIEWS, to_input, to_pixels, turned_batch
from cracklib.nets.weights import load_model
from cracklib.pipeline.decision import (
    PHOTO_DECISIONS,
    SCREENING_MARGIN,
    photo_probability,
    tiles_to_rescore,
    whole_is_informative,
)
from cracklib.pipeline.settings import ExplanationSettings
from cracklib.tiling import TileGrid, pad_to_tile, tile_grid

__all__ = ["DEFAULT_WEIGHTS", "Classifier", "load_classifier", "classify", "classify_tiles", "score_tiles",
           "whole_photo_probability", "gated_tiles", "scaled_photo"]


#: The bundled default model.
DEFAULT_WEIGHTS = WEIGHTS_DIR / "default.pt"


@dataclass
class Classifier:
    """A loaded model with its card and damage-free references."""

    model: torch.nn.Module
    card: ModelCard
    damage_free: DamageFree | None = None
    path: Path | None = None
    #: The card's whole-photo model (``ModelCard.whole_photo_model``), loaded; None = this model.
    whole_photo: "Classifier | None" = None

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @cached_property
    def scoring_model(self) -> torch.nn.Module:
        """What classifies tiles and photos: :func:`cracklib.nets.models.scoring_graph` of the model (faster, no hooks).

        A frozen copy, made on first use: the model's weights must not change after it.
        """
        return scoring_graph(self.model, self.card.input_size)

    @cached_property
    def screening_model(self) -> torch.nn.Module | None:
        """An int8 copy that screens the tiles of large photos (:func:`cracklib.nets.models.screening_graph`), or None.

        Its activation ranges come from the bundled photos' tiles, so it is the same on every machine.
        """
        return screening_graph(self.model, _calibration_tiles(self))

    @torch.no_grad()
    def probabilities(self, inputs: torch.Tensor, *, screened: bool = False) -> np.ndarray:
        """Crack probabilities of a batch of normalised inputs, after the card's calibration.

        ``screened`` scores with :attr:`screening_model` (int8) instead of :attr:`scoring_model`.
        """
        scorer = self.screening_model if screened else self.scoring_model
        if scorer is None:
            raise ValueError("this classifier has no int8 screen (off the CPU, or a model the quantiser cannot take)")
        # The card's views (ModelCard.views): the logits averaged over that many flips and turns of the inputs.
        views = [turned_batch(inputs, turns, mirrored) for turns, mirrored in VIEWS[:self.card.views]]
        if scorer is self.model:  # the eager model: not while another thread has hooks on it
            with model_lock(self.model):
                outputs = [scorer(view) for view in views]
        else:
            outputs = [scorer(view) for view in views]
        logits = torch.stack([output.float() for output in outputs]).mean(0)
        if self.card.logit_offset:  # the card's calibration (decision.fit_logit_offset)
            logits[:, CRACK_CLASS] -= self.card.logit_offset
        return torch.softmax(logits, dim=1)[:, CRACK_CLASS].cpu().numpy()


def load_classifier(weights: str | Path | None = None, *, device=None) -> Classifier:
    """Load a weights file (default: the bundled one), its card and its baselines."""
    path = Path(weights) if weights is not None else DEFAULT_WEIGHTS
    model, card = load_model(path, device=device)
    references = baselines_path(path)
    damage_free = DamageFree.load(references) if references.exists() else None
    whole_photo = load_classifier(path.parent / card.whole_photo_model, device=device) \
        if card.whole_photo_model else None
    return Classifier(model=model, card=card, damage_free=damage_free, path=path, whole_photo=whole_photo)


def _calibration_tiles(classifier: Classifier) -> torch.Tensor:
    """Non-overlapping tiles of the bundled photos (the synthetic samples and the real CrackSC one), normalised."""
    size = classifier.card.input_size
    tiles = []
    for path in [image for image, _ in bundled_samples()] + [DEMO_SAMPLE[0]]:
        work = pad_to_tile(read_image(path), size)
        grid = tile_grid(work.shape[:2], size=size, overlap=0)
        tiles.append(_tile_inputs(classifier, work, grid, range(len(grid))))
    return torch.cat(tiles)


def _inputs(classifier: Classifier, image: np.ndarray) -> torch.Tensor:
    return to_input(image, classifier.card.normalization, classifier.card.input_size, classifier.device)


def scaled_photo(image: np.ndarray, scale: float) -> np.ndarray:
    """The photo at ``tile_scale`` (uint8), as the tiles are cut from it; the photo itself at scale 1."""
    if scale == 1:
        return image
    shape = tuple(max(1, int(round(side * scale))) for side in image.shape[:2])
    pixels = to_pixels(image, shape)[0].permute(1, 2, 0).numpy()
    return np.round(pixels * 255).astype(np.uint8)


def _tile_inputs(classifier: Classifier, image: np.ndarray, grid: TileGrid, indices) -> torch.Tensor:
    tiles = np.stack([image[grid.window(int(i))] for i in indices])
    return to_input(tiles, classifier.card.normalization, None, classifier.device)


def _batches(indices, size: int):
    indices = list(indices)
    for start in range(0, len(indices), size):
        yield indices[start:start + size]


def classify(classifier: Classifier, image: np.ndarray, settings: ExplanationSettings = ExplanationSettings()) -> float:
    """Crack probability of one photo (H×W×3 uint8); in tiled mode by the settings' photo decision."""
    if settings.mode == "resize":
        return _whole_probability(classifier, image)
    return classify_tiles(classifier, image, settings)[-1]


def _whole_probability(classifier: Classifier, image: np.ndarray) -> float:
    return float(classifier.probabilities(_inputs(classifier, image))[0])


def whole_photo_probability(classifier: Classifier, image: np.ndarray) -> float | None:
    """The resized photo's crack probability that the photo decision takes: the card's whole-photo model's, if any.

    None where the resized photo is not informative (:func:`cracklib.pipeline.decision.whole_is_informative`, at
    the input size of the model that looks at it). Resize mode does not use it: there the probability
    is the explained model's own.
    """
    decider = classifier.whole_photo or classifier
    if not whole_is_informative(image.shape, decider.card.input_size):
        return None
    return _whole_probability(decider, image)


def gated_tiles(tile_probabilities: np.ndarray, photo_probability: float, gate: float) -> np.ndarray:
    """Indices of the tiles to explain: those that reach the gate, in a photo that reaches it.

    A photo the decision calls crack-free is not explained, whatever its single
    tiles say. One it calls cracked is explained from its highest tile at least:
    with ``tile_and_whole`` the decision also heard the resized photo (or a
    whole-photo model), so it can pass the gate while no tile does.
    """
    if photo_probability < gate:
        return np.zeros(0, int)
    gated = np.flatnonzero(tile_probabilities >= gate)
    return gated if len(gated) else np.array([int(np.argmax(tile_probabilities))])


def classify_tiles(classifier: Classifier, image: np.ndarray, settings: ExplanationSettings, progress=None):
    """Tiled mode: the scaled photo, its padded copy, the tile grid, every tile's probability and the photo's."""
    scaled = scaled_photo(image, settings.tile_scale)
    size = classifier.card.input_size
    work = pad_to_tile(scaled, size)
    grid = tile_grid(work.shape[:2], size=size, overlap=settings.tile_overlap)
    tiles = _tile_probabilities(classifier, work, grid, settings, progress)
    whole = whole_photo_probability(classifier, image) if PHOTO_DECISIONS[settings.decision].needs_whole else None
    return scaled, work, grid, tiles, photo_probability(tiles, whole, decision=settings.decision)


def _tile_probabilities(classifier: Classifier, work: np.ndarray, grid: TileGrid, settings: ExplanationSettings,
                        progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Crack probability of every tile, in batches; ``progress(done, 2·tiles)`` after each.

    A photo of ``settings.screen_from_tiles`` tiles or more, gated above
    :data:`cracklib.pipeline.decision.SCREENING_MARGIN`, is screened first by the int8
    copy of the model; the float model then scores again the tiles that could
    reach the gate or the photo decision (:func:`cracklib.pipeline.decision.tiles_to_rescore`),
    so the explained tiles and the photo's probability are the float model's. The
    other tiles keep their screened probability (they only colour the per-tile map).
    """
    # With a gate within the margin of 0 every tile would be scored again: no screen then.
    screening = (settings.screen_from_tiles is not None and len(grid) >= settings.screen_from_tiles
                 and settings.gate > SCREENING_MARGIN)
    screened = screening and classifier.screening_model is not None
    probabilities = score_tiles(classifier, work, grid, range(len(grid)), batch_size=settings.batch_size,
                                screened=screened, progress=progress)
    if screened:
        again = tiles_to_rescore(probabilities, gate=settings.gate, margin=SCREENING_MARGIN,
                                 decision=settings.decision)
        probabilities[again] = score_tiles(classifier, work, grid, again, batch_size=settings.batch_size)
    return probabilities


def score_tiles(classifier: Classifier, work: np.ndarray, grid: TileGrid, indices, *, batch_size: int = 16,
                screened: bool = False, progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Crack probabilities of the tiles ``indices`` of ``grid`` over ``work`` (the padded photo), in batches.

    One scorer alone (:meth:`Classifier.probabilities`; ``screened``: the int8
    screen), no rescoring; ``progress(done, 2·tiles)`` after each batch.
    """
    probabilities = np.zeros(len(indices), np.float32)
    done = 0
    for batch in _batches(range(len(indices)), batch_size):
        tiles = [indices[i] for i in batch]
        probabilities[batch] = classifier.probabilities(_tile_inputs(classifier, work, grid, tiles), screened=screened)
        done += len(batch)
        if progress:
            progress(done, 2 * len(grid))
    return probabilities
