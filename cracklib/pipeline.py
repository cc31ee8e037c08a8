"""The pipeline: photo → crack probability → explanation → mask → severity.

One result object (:class:`SegmentationResult`) is shared by the app, the CLI
and the tests. The work is split in two stages so a change of threshold or
post-processing never recomputes the (expensive) explanation:

1. :func:`explain` classifies the photo and, only where the crack probability
   reaches the gate (Seibold et al. explain only images classified as
   defective), computes the relevance map at the photo's resolution;
2. :func:`segment_explanation` thresholds it, cleans the mask and measures it.

:func:`segment` runs both.

Two ways to feed a photo to the classifier (``PipelineConfig.mode``):

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
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .attribution import AttributionSettings, attribute, model_lock
from .baselines import DamageFree, baselines_path
from .decision import PHOTO_DECISIONS, photo_probability, whole_is_informative
from .models import CRACK_CLASS, ModelCard, load_model
from .postprocess import postprocess
from .preprocess import resize_map, to_input, to_pixels
from .severity import Severity, measure_severity
from .threshold import Thresholded, apply_threshold
from .tiling import TileBlender, TileGrid, pad_to_tile, tile_grid, tile_probability_map

__all__ = ["DEFAULT_WEIGHTS", "WEIGHTS_DIR", "MODES", "PipelineConfig", "Classifier", "Explanation",
           "SegmentationResult", "load_classifier", "classify", "explain", "threshold_explanation",
           "segment_explanation", "segment"]

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
#: The bundled default model.
DEFAULT_WEIGHTS = WEIGHTS_DIR / "default.pt"
#: How a photo reaches the classifier (see the module docstring).
MODES = ("tiled", "resize")
#: The PipelineConfig fields that change the explanation; the others only change the mask.
EXPLANATION_FIELDS = ("method", "rules", "lrp_backend", "baseline", "gate", "mode", "decision", "tile_overlap",
                      "tile_scale", "batch_size")


@dataclass(frozen=True)
class PipelineConfig:
    """Every choice the pipeline makes. The defaults are the product's defaults."""

    # Defaults chosen on the validation splits of NHA12D, CrackForest, CrackSC, DeepCrack and SUT-Crack, whole
    # photos in tiles (docs/results_val.md): LRP epsilon_gamma_box + gmm + no post-processing, mean F1 0.469
    # (montavon + gmm + none, the earlier default: 0.438); photo decision tile_and_whole (docs/photo_decision_val.md).
    method: str = "lrp"
    rules: str = "epsilon_gamma_box"
    #: Who computes LRP: "fast" (cracklib.lrp) or "zennit" (the reference); the same relevance.
    lrp_backend: str = "fast"
    baseline: str = "damage_free_mean"
    threshold: str = "gmm"
    post: str = "none"
    #: Multiplies the post-processing sizes (for photos at another resolution).
    post_scale: float = 1.0
    #: Explain only when the crack probability reaches this (0 explains always).
    gate: float = 0.5
    #: Scale of the photo for severity in mm; None reports pixels only.
    mm_per_px: float | None = None
    #: Components smaller than this are not counted as cracks.
    min_crack_area: int = 10
    #: "tiled" (native-resolution tiles, gated per tile) or "resize" (whole photo to the model input).
    mode: str = "tiled"
    #: Tiled mode: how the tiles' probabilities make the photo's (a key of cracklib.decision.PHOTO_DECISIONS).
    decision: str = "tile_and_whole"
    #: Overlap between neighbouring tiles, as a fraction of the tile side.
    tile_overlap: float = 0.25
    #: Resize factor applied to the photo before tiling (1 = native resolution).
    tile_scale: float = 1.0
    #: Tiles per forward/backward pass.
    batch_size: int = 16

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}; choose from {', '.join(MODES)}")
        if not 0 <= self.tile_overlap < 1:
            raise ValueError(f"tile overlap must be in [0, 1), got {self.tile_overlap}")
        if self.decision not in PHOTO_DECISIONS:
            raise ValueError(f"unknown photo decision {self.decision!r}; choose from {', '.join(PHOTO_DECISIONS)}")
        if not 0 < self.tile_scale <= 4:
            raise ValueError(f"tile scale must be in (0, 4], got {self.tile_scale}")

    def explanation_settings(self) -> "PipelineConfig":
        """Only the settings that change the explanation, the rest at their defaults (a cache key)."""
        return PipelineConfig(**{name: getattr(self, name) for name in EXPLANATION_FIELDS})

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Classifier:
    """A loaded model with its card and damage-free references."""

    model: torch.nn.Module
    card: ModelCard
    damage_free: DamageFree | None = None
    path: Path | None = None

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device


@dataclass
class Explanation:
    """Stage 1: the crack probability and, when gated in, the relevance map (H×W).

    In tiled mode also the tile grid (in the coordinates of the photo scaled by
    ``tile_scale``), every tile's crack probability, and the support: the pixels
    covered by an explained tile (the relevance is 0 elsewhere).
    """

    probability: float
    relevance: np.ndarray | None
    image_shape: tuple[int, int]
    config: PipelineConfig
    timings: dict[str, float] = field(default_factory=dict)
    grid: TileGrid | None = None
    tile_probabilities: np.ndarray | None = None
    support: np.ndarray | None = None

    @property
    def explained(self) -> bool:
        return self.relevance is not None

    @property
    def n_tiles(self) -> int:
        return 1 if self.grid is None else len(self.grid)

    @property
    def n_explained(self) -> int:
        if self.tile_probabilities is None or not self.explained:
            return int(self.explained)
        return int(np.sum(self.tile_probabilities >= self.config.gate))

    def tile_probability_map(self, *, step: int = 1) -> np.ndarray:
        """Crack probability per pixel (the highest of the tiles covering it), subsampled by ``step``."""
        if self.grid is None:
            return np.full((-(-self.image_shape[0] // step), -(-self.image_shape[1] // step)),
                           self.probability, np.float32)
        scaled = tile_probability_map(self.grid, self.tile_probabilities, step=step)
        height, width = (-(-side // step) for side in self.image_shape)
        if scaled.shape == (height, width):
            return scaled
        return resize_map(scaled, (height, width))


@dataclass
class SegmentationResult:
    """Everything the pipeline found for one photo."""

    probability: float
    explained: bool
    relevance: np.ndarray | None
    score: np.ndarray
    mask: np.ndarray
    severity: Severity
    config: PipelineConfig
    timings: dict[str, float]

    n_tiles: int = 1
    n_explained: int = 0

    def summary(self) -> dict:
        """The numbers, JSON-ready (no arrays)."""
        return {
            "crack_probability": self.probability,
            "explained": self.explained,
            "tiles": self.n_tiles,
            "tiles_explained": self.n_explained,
            "height": int(self.mask.shape[0]),
            "width": int(self.mask.shape[1]),
            "severity": self.severity.to_dict(),
            "timings_s": {k: round(v, 4) for k, v in self.timings.items()},
            "config": self.config.to_dict(),
        }


def load_classifier(weights: str | Path | None = None, *, device=None) -> Classifier:
    """Load a weights file (default: the bundled one), its card and its baselines."""
    path = Path(weights) if weights is not None else DEFAULT_WEIGHTS
    model, card = load_model(path, device=device)
    references = baselines_path(path)
    damage_free = DamageFree.load(references) if references.exists() else None
    return Classifier(model=model, card=card, damage_free=damage_free, path=path)


def _inputs(classifier: Classifier, image: np.ndarray) -> torch.Tensor:
    return to_input(image, classifier.card.normalization, classifier.card.input_size, classifier.device)


@torch.no_grad()
def _probabilities(classifier: Classifier, inputs: torch.Tensor) -> np.ndarray:
    with model_lock(classifier.model):
        output = classifier.model(inputs)
    return torch.softmax(output.float(), dim=1)[:, CRACK_CLASS].cpu().numpy()


def _settings(classifier: Classifier, config: PipelineConfig) -> AttributionSettings:
    return AttributionSettings(normalization=classifier.card.normalization, rules=config.rules,
                               lrp_backend=config.lrp_backend,
                               baseline=config.baseline, damage_free=classifier.damage_free)


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


def classify(classifier: Classifier, image: np.ndarray, config: PipelineConfig = PipelineConfig()) -> float:
    """Crack probability of one photo (H×W×3 uint8); in tiled mode by the config's photo decision."""
    if config.mode == "resize":
        return _whole_probability(classifier, image)
    return classify_tiles(classifier, image, config)[-1]


def _whole_probability(classifier: Classifier, image: np.ndarray) -> float:
    return float(_probabilities(classifier, _inputs(classifier, image))[0])


def classify_tiles(classifier: Classifier, image: np.ndarray, config: PipelineConfig, progress=None):
    """Tiled mode: the scaled photo, its padded copy, the tile grid, every tile's probability and the photo's."""
    scaled = _scaled(image, config.tile_scale)
    size = classifier.card.input_size
    work = pad_to_tile(scaled, size)
    grid = tile_grid(work.shape[:2], size=size, overlap=config.tile_overlap)
    tiles = _tile_probabilities(classifier, work, grid, config.batch_size, progress)
    wanted = PHOTO_DECISIONS[config.decision].needs_whole and whole_is_informative(image.shape, size)
    whole = _whole_probability(classifier, image) if wanted else None
    return scaled, work, grid, tiles, photo_probability(tiles, whole, decision=config.decision)


def _tile_probabilities(classifier: Classifier, work: np.ndarray, grid: TileGrid, batch_size: int,
                        progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Crack probability of every tile, in batches; ``progress(done, 2·tiles)`` after each."""
    probabilities = np.zeros(len(grid), np.float32)
    done = 0
    for batch in _batches(range(len(grid)), batch_size):
        probabilities[batch] = _probabilities(classifier, _tile_inputs(classifier, work, grid, batch))
        done += len(batch)
        if progress:
            progress(done, 2 * len(grid))
    return probabilities


def explain(classifier: Classifier, image: np.ndarray, config: PipelineConfig = PipelineConfig(), *,
            progress: Callable[[int, int], None] | None = None) -> Explanation:
    """Stage 1: probability, then relevance at the photo's size where the gate lets it through.

    ``progress(done, total)`` is called as tiles are classified and explained
    (the total grows to its final value once the gate has picked the tiles).
    """
    if config.mode == "resize":
        return _explain_resized(classifier, image, config)
    return _explain_tiled(classifier, image, config, progress)


def _explain_resized(classifier: Classifier, image: np.ndarray, config: PipelineConfig) -> Explanation:
    """The whole photo resized to the model input; the relevance resized back."""
    shape = tuple(image.shape[:2])
    timings = {}
    start = time.perf_counter()
    inputs = _inputs(classifier, image)
    probability = float(_probabilities(classifier, inputs)[0])
    timings["classify"] = time.perf_counter() - start
    if probability < config.gate:
        return Explanation(probability, None, shape, config, timings)
    start = time.perf_counter()
    relevance = attribute(classifier.model, inputs, config.method, _settings(classifier, config))[0]
    timings["attribute"] = time.perf_counter() - start
    return Explanation(probability, resize_map(relevance, shape), shape, config, timings)


def _explain_tiled(classifier: Classifier, image: np.ndarray, config: PipelineConfig, progress) -> Explanation:
    """Tiles at the model input size: classify all in batches, explain the gated ones, blend."""
    shape = tuple(image.shape[:2])
    size = classifier.card.input_size
    timings = {}
    start = time.perf_counter()
    scaled, work, grid, probabilities, probability = classify_tiles(classifier, image, config, progress)
    done = len(grid)
    timings["classify"] = time.perf_counter() - start
    # A photo the decision calls crack-free is not explained, whatever its single tiles say.
    gated = np.flatnonzero(probabilities >= config.gate) if probability >= config.gate else np.zeros(0, int)
    total = done + len(gated)
    explanation = Explanation(probability, None, shape, config, timings, grid, probabilities)
    if not len(gated):
        if progress:
            progress(done, total)
        return explanation
    start = time.perf_counter()
    blender = TileBlender(work.shape[:2], size)
    settings = _settings(classifier, config)
    for batch in _batches(gated, config.batch_size):
        maps = attribute(classifier.model, _tile_inputs(classifier, work, grid, batch), config.method, settings)
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
    explanation.relevance, explanation.support = relevance, support
    return explanation


def threshold_explanation(explanation: Explanation, threshold: str) -> Thresholded:
    """The thresholded relevance map; a zero score and an empty mask when the gate kept it unexplained."""
    if not explanation.explained:
        return Thresholded(np.zeros(explanation.image_shape), np.zeros(explanation.image_shape, bool), 1.0)
    return apply_threshold(explanation.relevance, threshold, support=explanation.support)


def segment_explanation(explanation: Explanation, config: PipelineConfig | None = None, *,
                        thresholded: Thresholded | None = None) -> SegmentationResult:
    """Stage 2: threshold, post-process and measure (cheap; no model needed).

    ``config`` may change the threshold, post-processing, scale and count
    settings of the explanation's own config; its explanation settings are ignored.
    ``thresholded`` replaces the threshold step (e.g. one threshold shared by a
    growth series).
    """
    own = explanation.config
    config = replace(config or own, **{name: getattr(own, name) for name in EXPLANATION_FIELDS})
    timings = dict(explanation.timings)
    start = time.perf_counter()
    if thresholded is None:
        thresholded = threshold_explanation(explanation, config.threshold)
    timings["threshold"] = time.perf_counter() - start
    start = time.perf_counter()
    mask = postprocess(thresholded.mask, config.post, scale=config.post_scale)
    timings["postprocess"] = time.perf_counter() - start
    start = time.perf_counter()
    severity = measure_severity(mask, min_area=config.min_crack_area, mm_per_px=config.mm_per_px)
    timings["severity"] = time.perf_counter() - start
    return SegmentationResult(explanation.probability, explanation.explained, explanation.relevance,
                              thresholded.score, mask, severity, config, timings,
                              n_tiles=explanation.n_tiles, n_explained=explanation.n_explained)


def segment(classifier: Classifier, image: np.ndarray, config: PipelineConfig = PipelineConfig(), *,
            progress: Callable[[int, int], None] | None = None) -> SegmentationResult:
    """The whole pipeline on one photo (H×W×3 uint8)."""
    return segment_explanation(explain(classifier, image, config, progress=progress), config)
