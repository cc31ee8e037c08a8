"""The pipeline: photo → crack probability → explanation → mask → severity.

One result object (:class:`SegmentationResult`) is shared by the app, the CLI
and the tests. The work is split in two stages so a change of threshold or
post-processing never recomputes the (expensive) explanation:

1. :func:`explain` classifies the photo and, only where the crack probability
   reaches the gate (Seibold et al. explain only images classified as
   defective), computes the relevance map at the photo's resolution;
2. :func:`segment_explanation` thresholds it, cleans the mask and measures it.

:func:`segment` runs both. The settings are split the same way
(:mod:`cracklib.settings`): :class:`ExplanationSettings` for stage 1,
:class:`MaskSettings` for stage 2. Every caller (CLI, pages, evaluation,
growth, compare) goes through these two functions, so what is shown is what
was measured.

Two ways to feed a photo to the classifier (``ExplanationSettings.mode``):

``tiled`` (default)
    overlapping tiles at the model's input size, at the photo's native
    resolution (or ``tile_scale`` times it): every tile is classified, only the
    tiles that reach the gate are explained, and their maps are blended into one
    full-resolution map (:mod:`cracklib.tiling`). The photo's crack probability
    comes from its tiles' by the rule ``decision`` (:mod:`cracklib.decision`);
    a photo below the gate is not explained at all. Cracks one pixel wide survive.
``resize``
    the whole photo resized to the model's input, as the whole-image training
    examples were; cheap, and right for photos close to the input size.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .attribution import AttributionSettings, attribute, model_lock
from .bcos import is_bcos
from .errors import CrackInputError
from .explainer import load_explainer
from .baselines import DamageFree, baselines_path
from .datasets import DEMO_SAMPLE
from .decision import PHOTO_DECISIONS, SCREENING_MARGIN, photo_probability, tiles_to_rescore, whole_is_informative
from .imageio import read_image
from .models import CRACK_CLASS, WEIGHTS_DIR, ModelCard, load_model, scoring_graph, screening_graph
from .postprocess import POSTPROCESSING, drop_small_components, postprocess
from .preprocess import VIEWS, resize_map, to_input, to_pixels, turned_batch
from .refine import PER_PHOTO, REFINEMENTS, DarknessMap, band_darkness_width, dark_core, refine_with_photo
from .segnet import SEGMENTER_METHODS, load_segmenter, network_name, predict_map, segmenter_path
from .settings import MODES, ExplanationSettings, MaskSettings, PipelineConfig, method_weights
from .synthetic import bundled_samples
from .severity import Severity, measure_severity
from .threshold import Thresholded, apply_threshold
from .tiling import (TileBlender, TileGrid, bounding_box, ceil_div, pad_to_tile, tile_grid,
                     tile_probability_map)

__all__ = ["DEFAULT_WEIGHTS", "WEIGHTS_DIR", "MODES", "ExplanationSettings", "MaskSettings", "PipelineConfig",
           "Classifier", "Explanation", "SegmentationResult", "load_classifier", "classify", "classify_tiles",
           "score_tiles", "whole_photo_probability", "gated_tiles", "explain", "threshold_explanation",
           "cut_explanation", "segment_explanation", "segment"]

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
        """What classifies tiles and photos: :func:`cracklib.models.scoring_graph` of the model (faster, no hooks).

        A frozen copy, made on first use: the model's weights must not change after it.
        """
        return scoring_graph(self.model, self.card.input_size)

    @cached_property
    def screening_model(self) -> torch.nn.Module | None:
        """An int8 copy that screens the tiles of large photos (:func:`cracklib.models.screening_graph`), or None.

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


@dataclass(frozen=True, eq=False)
class Explanation:
    """Stage 1, complete and unchanging: the crack probability and, when gated in, the relevance map (H×W).

    In tiled mode also the tile grid (in the coordinates of the photo scaled by
    ``tile_scale``), every tile's crack probability, and the support: the pixels
    covered by an explained tile (the relevance is 0 elsewhere).
    """

    probability: float
    relevance: np.ndarray | None
    image_shape: tuple[int, int]
    settings: ExplanationSettings
    timings: dict[str, float] = field(default_factory=dict)
    grid: TileGrid | None = None
    tile_probabilities: np.ndarray | None = None
    support: np.ndarray | None = None
    #: Tiled mode: indices of the explained tiles (those the gate let through, or those asked for).
    tiles: np.ndarray | None = None
    #: A segmentation network's weights file, relative to the weights folder (None for an explanation).
    network: str | None = None
    #: How many of the photo's flips and turns the network's map is averaged over (its card's ``views``).
    network_views: int = 1

    @property
    def explained(self) -> bool:
        return self.relevance is not None

    @property
    def n_tiles(self) -> int:
        return 1 if self.grid is None else len(self.grid)

    @property
    def n_explained(self) -> int:
        return len(self.explained_tiles())

    def explained_tiles(self) -> np.ndarray:
        """Indices of the explained tiles (``[0]`` for an explained resized photo, none when unexplained)."""
        if not self.explained:
            return np.zeros(0, int)
        return np.zeros(1, int) if self.tiles is None else self.tiles

    def relevance_map(self) -> np.ndarray:
        """The relevance, or zeros for a photo the gate kept unexplained."""
        return self.relevance if self.explained else np.zeros(self.image_shape, np.float32)

    def explained_pixels(self) -> np.ndarray:
        """Where the map holds an explanation: the support in tiled mode, else everywhere or nowhere."""
        if self.support is not None:
            return self.support
        return np.full(self.image_shape, self.explained)

    def tile_probability_map(self, *, step: int = 1) -> np.ndarray:
        """Crack probability per pixel (the highest of the tiles covering it), subsampled by ``step``."""
        if self.grid is None:
            return np.full(tuple(ceil_div(side, step) for side in self.image_shape), self.probability, np.float32)
        scaled = tile_probability_map(self.grid, self.tile_probabilities, step=step)
        height, width = (ceil_div(side, step) for side in self.image_shape)
        if scaled.shape == (height, width):
            return scaled
        return resize_map(scaled, (height, width))


@dataclass(frozen=True, eq=False)
class SegmentationResult:
    """Stage 2: the explanation it came from, the mask settings, the score map and the mask.

    ``severity`` is measured from ``mask`` itself the first time it is read (a
    skeleton of a 48 MP mask takes seconds; an evaluation grid never needs it),
    so the mask a user downloads is the mask that was measured.
    """

    explanation: Explanation
    settings: MaskSettings
    score: np.ndarray
    mask: np.ndarray
    #: Seconds spent on the mask step (threshold, postprocess, and severity once measured).
    mask_timings: dict[str, float] = field(default_factory=dict)
    #: The explained photo (not a copy), where widths are read (``settings.widths == "photo"``).
    photo: np.ndarray | None = field(default=None, repr=False)
    #: The photo's darkness as far as the refinement computed it (read again for the widths).
    darkness: DarknessMap | None = field(default=None, repr=False)
    #: The cut, in units of ``score``, that the threshold step took (before refinement and post-processing).
    threshold: float | None = None

    @cached_property
    def severity(self) -> Severity:
        start = time.perf_counter()
        # Widths are read on the crack's dark core. A refined mask is one already (refining it again would thin
        # it), unless post-processing closed it again: the paper's 25-px closing widens it (CrackForest test
        # split: mean-width error 1.75 px on the closed mask, 'widths on the mask' in docs/severity.md).
        is_core = self.settings.refine != "none" and self.settings.post == "none"
        core = (dark_core(self.mask, self.photo, darkness=self.darkness)
                if self.settings.widths == "photo" and self.photo is not None and not is_core else None)
        severity = measure_severity(self.mask, mm_per_px=self.settings.mm_per_px, gap_px=self.settings.crack_gap_px,
                                    core=core)
        if self.settings.refine != "none":
            severity.width_method += (f"; mask refined on the photo ({self.settings.refine}: "
                                      f"{REFINEMENTS[self.settings.refine]})")
        if self.darkness is not None and (self.settings.refine != "none" or core is not None):
            severity.width_method += f"; darkness square {self.darkness.width} px"
        self.mask_timings["severity"] = time.perf_counter() - start
        return severity

    @property
    def area_px(self) -> int:
        """Pixels in the mask: the severity's area, without measuring the rest."""
        return int(np.count_nonzero(self.mask))

    @property
    def timings(self) -> dict[str, float]:
        """Seconds per step: the explanation's, then the mask's."""
        return {**self.explanation.timings, **self.mask_timings}

    @property
    def probability(self) -> float:
        return self.explanation.probability

    @property
    def explained(self) -> bool:
        return self.explanation.explained

    @property
    def relevance(self) -> np.ndarray | None:
        return self.explanation.relevance

    @property
    def n_tiles(self) -> int:
        return self.explanation.n_tiles

    @property
    def n_explained(self) -> int:
        return self.explanation.n_explained

    @property
    def config(self) -> PipelineConfig:
        return PipelineConfig(self.explanation.settings, self.settings)

    def summary(self) -> dict:
        """The numbers, JSON-ready (no arrays)."""
        severity = self.severity.to_dict()  # first, so its time is in the timings
        return {
            "crack_probability": self.probability,
            "explained": self.explained,
            "tiles": self.n_tiles,
            "tiles_explained": self.n_explained,
            "height": int(self.mask.shape[0]),
            "width": int(self.mask.shape[1]),
            "severity": severity,
            "timings_s": {k: round(v, 4) for k, v in self.timings.items()},
            "config": self.config.to_dict(),
            **({"network": self.explanation.network, "network_views": self.explanation.network_views}
               if self.explanation.network else {}),
        }


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


def _settings(classifier: Classifier, config: ExplanationSettings) -> AttributionSettings:
    explainer = load_explainer(_method_file(config.method))[0] if config.method == "nn_explainer" else None
    return AttributionSettings(normalization=classifier.card.normalization, rules=config.rules,
                               lrp_backend=config.lrp_backend, baseline=config.baseline,
                               damage_free=classifier.damage_free, explainer=explainer)


def _scaled(image: np.ndarray, scale: float) -> np.ndarray:
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

    None where the resized photo is not informative (:func:`cracklib.decision.whole_is_informative`, at
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
    scaled = _scaled(image, settings.tile_scale)
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
    :data:`cracklib.decision.SCREENING_MARGIN`, is screened first by the int8
    copy of the model; the float model then scores again the tiles that could
    reach the gate or the photo decision (:func:`cracklib.decision.tiles_to_rescore`),
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


def explain(classifier: Classifier, image: np.ndarray, settings: ExplanationSettings = ExplanationSettings(), *,
            tiles: np.ndarray | None = None,
            progress: Callable[[int, int], None] | None = None) -> Explanation:
    """Stage 1: probability, then relevance at the photo's size where the gate lets it through.

    ``tiles`` overrides the gate: exactly these tiles (indices into the tile
    grid) are explained, whatever their probability; in resize mode a non-empty
    ``tiles`` explains the photo. Growth uses it so that every frame of a series
    is explained where any frame holds a crack (:meth:`Explanation.explained_tiles`).
    ``progress(done, total)`` is called as tiles are classified and explained
    (the total grows to its final value once the gate has picked the tiles).
    """
    if not isinstance(settings, ExplanationSettings):
        raise TypeError(f"explain takes ExplanationSettings, got {type(settings).__name__}")
    if settings.method in SEGMENTER_METHODS:
        return _segment_with_network(classifier, image, settings, progress)
    classifier = _classifier_for(settings.method, classifier)
    if settings.mode == "resize":
        return _explain_resized(classifier, image, settings, forced=tiles is not None and len(tiles) > 0)
    return _explain_tiled(classifier, image, settings, progress, tiles)


def _classifier_for(method: str, classifier: Classifier) -> Classifier:
    """The classifier a method explains: the chosen one, or the one the method brings.

    ``bcos`` needs a B-cos network (the shipped one unless the chosen classifier
    is one); ``nn_explainer`` explains the classifier it was trained against.
    """
    if method == "bcos" and not is_bcos(classifier.model):
        return _shipped_classifier(str(_method_file("bcos")))
    if method == "nn_explainer":
        _, card = load_explainer(_method_file("nn_explainer"))
        if card.notes.get("classifier_sha256") != classifier.card.sha256:
            return _shipped_classifier(str(method_weights("nn_explainer").parent / card.notes["classifier"]))
    return classifier


def _method_file(method: str) -> Path:
    path = method_weights(method)
    if not path.exists():
        raise CrackInputError(f"the method {method} needs {path.name}, which is not shipped here (README: "
                              f"'The learned explainers' says how to train it)")
    return path


@lru_cache(maxsize=4)
def _shipped_classifier(path: str) -> Classifier:
    """A classifier that a method brings, loaded once."""
    if not Path(path).exists():
        raise CrackInputError(f"{Path(path).name} is not shipped here (README: 'The learned explainers')")
    return load_classifier(path)


def _segment_with_network(classifier: Classifier, image: np.ndarray, settings: ExplanationSettings,
                          progress) -> Explanation:
    """A segmentation network (``unet``, ``distilled``) instead of classify + explain: its crack probability
    per pixel is the map, its highest value the photo's probability (gated like any other).

    The network runs on native-resolution tiles whatever ``mode`` says (it is
    fully convolutional); the classifier is not run, it only picks the network
    (its own when it brings one, :func:`cracklib.segnet.segmenter_path`).
    """
    shape = tuple(image.shape[:2])
    path = segmenter_path(settings.method, classifier.path)
    model, card = load_segmenter(path)
    network = network_name(path)
    start = time.perf_counter()
    with model_lock(model):
        probability_map = predict_map(model, image, card.normalization, overlap=settings.tile_overlap,
                                      views=card.views, progress=progress)
    timings = {"attribute": time.perf_counter() - start}
    probability = float(probability_map.max())
    relevance = probability_map if probability >= settings.gate else None
    return Explanation(probability, relevance, shape, settings, timings, network=network, network_views=card.views)


def _explain_resized(classifier: Classifier, image: np.ndarray, settings: ExplanationSettings, *,
                     forced: bool = False) -> Explanation:
    """The whole photo resized to the model input; the relevance resized back (``forced``: whatever the gate says)."""
    shape = tuple(image.shape[:2])
    timings = {}
    start = time.perf_counter()
    inputs = _inputs(classifier, image)
    probability = float(classifier.probabilities(inputs)[0])
    timings["classify"] = time.perf_counter() - start
    if probability < settings.gate and not forced:
        return Explanation(probability, None, shape, settings, timings)
    start = time.perf_counter()
    relevance = attribute(classifier.model, inputs, settings.method, _settings(classifier, settings))[0]
    timings["attribute"] = time.perf_counter() - start
    return Explanation(probability, resize_map(relevance, shape), shape, settings, timings)


def _explain_tiled(classifier: Classifier, image: np.ndarray, settings: ExplanationSettings,
                   progress, tiles: np.ndarray | None = None) -> Explanation:
    """Tiles at the model input size: classify all in batches, explain the gated ones (or ``tiles``), blend."""
    shape = tuple(image.shape[:2])
    size = classifier.card.input_size
    timings = {}
    start = time.perf_counter()
    scaled, work, grid, probabilities, probability = classify_tiles(classifier, image, settings, progress)
    done = len(grid)
    timings["classify"] = time.perf_counter() - start
    gated = gated_tiles(probabilities, probability, settings.gate)
    if tiles is not None:
        gated = np.asarray(tiles, int)
    total = done + len(gated)
    if not len(gated):
        if progress:
            progress(done, total)
        return Explanation(probability, None, shape, settings, timings, grid, probabilities)
    start = time.perf_counter()
    blender = TileBlender(work.shape[:2], size)
    attribution = _settings(classifier, settings)
    for batch in _batches(gated, settings.batch_size):
        maps = attribute(classifier.model, _tile_inputs(classifier, work, grid, batch), settings.method, attribution)
        for index, values in zip(batch, maps):
            blender.add(grid.origin(int(index)), values)
        done += len(batch)
        if progress:
            progress(done, total)
    support = blender.support[:scaled.shape[0], :scaled.shape[1]]
    relevance = blender.result()[:scaled.shape[0], :scaled.shape[1]]
    del blender
    if relevance.shape != shape:  # back from tile_scale to the photo's pixels
        relevance = resize_map(relevance, shape)
        support = resize_map(support.astype(np.float32), shape) > 0.5
    timings["attribute"] = time.perf_counter() - start
    return Explanation(probability, relevance, shape, settings, timings, grid, probabilities, support, gated)


def threshold_explanation(explanation: Explanation, threshold: str) -> Thresholded:
    """The thresholded relevance map; a zero score and an empty mask when the gate kept it unexplained."""
    if not explanation.explained:
        return Thresholded(np.zeros(explanation.image_shape), np.zeros(explanation.image_shape, bool), 1.0)
    return apply_threshold(explanation.relevance, threshold, support=explanation.support)


def cut_explanation(explanation: Explanation, settings: MaskSettings = MaskSettings(), *,
                    photo: np.ndarray | None = None, darkness: DarknessMap | None = None) -> Thresholded:
    """Threshold the relevance, then refine the cut on the photo as ``settings.refine`` says (:mod:`cracklib.refine`).

    On a photo whose explained tiles cover well under all of it, both steps run
    on the explained window only (:func:`_explained_window`): the same cut, a
    fraction of the time. ``darkness`` is the photo's kept darkness map, if the
    caller keeps one; it is read when taken over the cut's square (:func:`darkness_square`).
    """
    return _cut_in_window(explanation, settings, _explained_window(explanation, settings), photo=photo,
                          darkness=darkness)[0]


def darkness_square(settings: MaskSettings, band: np.ndarray) -> int:
    """Side of the darkness square for a cut whose mask before refinement is ``band``: the settings' side, or
    one sized on the band (``darkness_width="per_photo"``, :func:`cracklib.refine.band_darkness_width`)."""
    return band_darkness_width(band) if settings.darkness_width == PER_PHOTO else settings.darkness_width


def _darkness(photo: np.ndarray | None, width: int | None, kept: DarknessMap | None) -> DarknessMap | None:
    """The photo's darkness over a square of ``width``: the caller's kept map when it is of this photo and
    square, else a new one (a kept map of another square cannot be read for this one)."""
    if kept is not None and kept.photo is not photo:
        raise ValueError("darkness= is the DarknessMap of another photo than photo=")
    if photo is None:
        return None
    if kept is None or kept.width != width:
        return DarknessMap(photo, width=width)
    return kept


def refine_cut(cut: Thresholded, settings: MaskSettings, photo: np.ndarray | None, *,
               darkness: DarknessMap | None = None, window: tuple[slice, slice] | None = None
               ) -> tuple[Thresholded, DarknessMap | None]:
    """The threshold's ``cut`` (of ``photo[window]``, or of the whole photo) refined on the photo as
    ``settings.refine`` says, over the square :func:`darkness_square` gives it; and the photo's darkness map over
    that square (``darkness`` itself when it is that map; as given when nothing was refined).

    The map is the whole photo's, read on the window: the photo's own surface level and no window border (a
    darkness map of photo[window] alone would differ from the whole cut's). A caller that measures the mask
    after (:func:`segment_explanation`) passes the map on, so the widths read the same darkness.
    """
    if settings.refine == "none" or not cut.mask.any():
        return cut, darkness
    if photo is None:
        raise ValueError(f"refine={settings.refine!r} needs the photo: pass photo=")
    darkness = _darkness(photo, darkness_square(settings, cut.mask), darkness)
    region = window or (slice(None), slice(None))
    mask = refine_with_photo(cut.mask, photo[region], settings.refine,
                             darkness=darkness if window is None else darkness.cropped(window))
    return replace(cut, mask=mask, darkness_width=darkness.width), darkness


def _cut_in_window(explanation: Explanation, settings: MaskSettings, window: tuple[slice, slice] | None, *,
                   photo: np.ndarray | None, darkness: DarknessMap | None
                   ) -> tuple[Thresholded, DarknessMap | None]:
    """:func:`cut_explanation` on ``window`` (:func:`_explained_window`), or on every pixel where it is None;
    and the photo's darkness map it was refined with (``darkness`` as given when it was not refined)."""
    part = explanation if window is None else replace(
        explanation, relevance=explanation.relevance[window], support=explanation.support[window],
        image_shape=explanation.support[window].shape)
    cut, darkness = refine_cut(threshold_explanation(part, settings.threshold), settings, photo, darkness=darkness,
                               window=window)
    if window is None:
        return cut, darkness
    whole = Thresholded(np.zeros(explanation.image_shape, cut.score.dtype), np.zeros(explanation.image_shape, bool),
                        cut.threshold, cut.darkness_width)
    whole.score[window], whole.mask[window] = cut.score, cut.mask
    return whole, darkness


def segment_explanation(explanation: Explanation, settings: MaskSettings = MaskSettings(), *,
                        photo: np.ndarray | None = None, thresholded: Thresholded | None = None,
                        previous_mask: np.ndarray | None = None,
                        exclude: np.ndarray | None = None, darkness: DarknessMap | None = None) -> SegmentationResult:
    """Stage 2, the one path from an explanation to the measured mask: threshold, post-process, drop specks.

    Parameters
    ----------
    explanation : Explanation
    settings : MaskSettings
    photo : (H, W, 3) uint8, optional
        The explained photo; needed when ``settings.refine`` is not ``"none"``.
    thresholded : Thresholded, optional
        Replaces the cut (:func:`cut_explanation`): one threshold shared by a
        growth series, or one cut reused for several post-processings.
    previous_mask : (H, W) bool, optional
        A crack does not heal: the mask is joined with this one (growth's
        ``keep_previous``) before it is measured.
    exclude : (H, W) bool, optional
        A region of no interest (lane markings, joints, the specimen's edge):
        its pixels are never crack, in the mask and in its severity.
    darkness : DarknessMap, optional
        The photo's darkness, kept by a caller that cuts the same photo again
        (the studio, on a threshold change): blocks computed for an earlier mask
        are not computed again. By default, or when it was taken over another
        square than the cut's (:func:`darkness_square`), a new one, shared by
        the refinement and the widths.

    Returns
    -------
    SegmentationResult, whose ``severity`` is measured on its own ``mask``.
    """
    if not isinstance(settings, MaskSettings):
        raise TypeError(f"segment_explanation takes MaskSettings, got {type(settings).__name__}")
    if exclude is not None and exclude.shape != explanation.image_shape:
        raise CrackInputError(f"exclusion mask is {exclude.shape[1]}x{exclude.shape[0]} but the photo is "
                              f"{explanation.image_shape[1]}x{explanation.image_shape[0]}")
    timings = {}
    start = time.perf_counter()
    window = _explained_window(explanation, settings)
    if thresholded is None:
        thresholded, darkness = _cut_in_window(explanation, settings, window, photo=photo, darkness=darkness)
    elif window is not None and not _holds(bounding_box(explanation.support), thresholded.mask):
        window = None  # a cut made by the caller (e.g. growth's) reaching outside the explained tiles
    # Widths are read over the square the cut was refined with; an unrefined cut sizes one on its own mask.
    square = thresholded.darkness_width or (None if photo is None else darkness_square(settings, thresholded.mask))
    darkness = _darkness(photo, square, darkness)
    timings["threshold"] = time.perf_counter() - start
    start = time.perf_counter()
    # Post-processing runs on the window too: its margin is the post-processing's reach around the tiles.
    region = window or (slice(None), slice(None))
    mask = np.zeros(explanation.image_shape, bool)
    mask[region] = drop_small_components(postprocess(thresholded.mask[region], settings.post,
                                                     scale=settings.post_scale), settings.min_crack_area)
    if previous_mask is not None:
        mask |= previous_mask
    if exclude is not None:
        mask &= ~exclude
    timings["postprocess"] = time.perf_counter() - start
    return SegmentationResult(explanation, settings, thresholded.score, mask, timings, photo,
                              darkness, thresholded.threshold)


def _holds(window: tuple[slice, slice], mask: np.ndarray) -> bool:
    """Whether every pixel of ``mask`` lies inside ``window`` (a box of it)."""
    box = bounding_box(mask)
    return box is None or all(inner.start >= outer.start and inner.stop <= outer.stop
                              for inner, outer in zip(box, window))


def _explained_window(explanation: Explanation, settings: MaskSettings) -> tuple[slice, slice] | None:
    """The bounding box of the explained tiles, with a margin, when it is well under the whole photo; else None.

    Outside the explained tiles the relevance is zero, so thresholding,
    refinement and post-processing give the same mask on this window as on the
    whole photo (a test checks it) at a fraction of the cost on a large photo.
    The margin covers what those steps read or change around a crack pixel: a
    closing reaches twice its radius, the photo's darkness half its square.
    """
    support = explanation.support
    if not explanation.explained or support is None:
        return None
    preset = POSTPROCESSING[settings.post]
    scaled = None if preset is None else preset.scaled(settings.post_scale)
    largest = 0 if scaled is None else max(scaled.first_closing, scaled.second_closing)
    window = bounding_box(support, margin=2 * (largest // 2) + settings.darkness_widths[1] + 8)
    if window is None:
        return None
    rows, cols = window
    if (rows.stop - rows.start) * (cols.stop - cols.start) > 0.8 * support.size:
        return None
    return window


def segment(classifier: Classifier, image: np.ndarray, config: PipelineConfig = PipelineConfig(), *,
            exclude: np.ndarray | None = None,
            progress: Callable[[int, int], None] | None = None) -> SegmentationResult:
    """The whole pipeline on one photo (H×W×3 uint8); ``exclude`` (H×W bool) marks pixels that are never crack."""
    return segment_explanation(explain(classifier, image, config.explanation, progress=progress), config.mask,
                               photo=image, exclude=exclude)
