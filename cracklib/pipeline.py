"""The pipeline: photo → crack probability → explanation → mask → severity.

One result object (:class:`SegmentationResult`) is shared by the app, the CLI
and the tests. The work is split in two stages so a change of threshold or
post-processing never recomputes the (expensive) explanation:

1. :func:`explain` classifies the photo and, only when the crack probability
   reaches the gate (Seibold et al. explain only images classified as
   defective), computes the relevance map at the photo's resolution;
2. :func:`segment_explanation` thresholds it, cleans the mask and measures it.

:func:`segment` runs both.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from .attribution import AttributionSettings, attribute
from .baselines import DamageFree, baselines_path
from .models import CRACK_CLASS, ModelCard, load_model
from .postprocess import postprocess
from .preprocess import resize_map, to_input
from .severity import Severity, measure_severity
from .threshold import Thresholded, apply_threshold

__all__ = ["DEFAULT_WEIGHTS", "WEIGHTS_DIR", "PipelineConfig", "Classifier", "Explanation", "SegmentationResult",
           "load_classifier", "classify", "explain", "threshold_explanation", "segment_explanation", "segment"]

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
#: The bundled default model.
DEFAULT_WEIGHTS = WEIGHTS_DIR / "default.pt"


@dataclass(frozen=True)
class PipelineConfig:
    """Every choice the pipeline makes. The defaults are the product's defaults."""

    # Defaults chosen on the validation splits of CrackForest and CrackSC (docs/results_val.md):
    # LRP montavon + gmm + no post-processing, mean F1 0.259, tied with DeepLift + gmm + paper (0.2595).
    method: str = "lrp"
    rules: str = "montavon"
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

    def explanation_key(self) -> tuple:
        """The settings that change the explanation (the rest only change the mask)."""
        return (self.method, self.rules, self.baseline)

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
    """Stage 1: the crack probability and, when gated in, the relevance map (H×W)."""

    probability: float
    relevance: np.ndarray | None
    image_shape: tuple[int, int]
    config: PipelineConfig
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def explained(self) -> bool:
        return self.relevance is not None


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

    def summary(self) -> dict:
        """The numbers, JSON-ready (no arrays)."""
        return {
            "crack_probability": self.probability,
            "explained": self.explained,
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
def classify(classifier: Classifier, image: np.ndarray) -> float:
    """Crack probability of one photo (H×W×3 uint8)."""
    output = classifier.model(_inputs(classifier, image))
    return float(torch.softmax(output, dim=1)[0, CRACK_CLASS])


def explain(classifier: Classifier, image: np.ndarray, config: PipelineConfig = PipelineConfig()) -> Explanation:
    """Stage 1: probability, then relevance at the photo's size if the gate lets it through.

    The photo is resized to the model's input size; the relevance is resized back.
    """
    shape = tuple(image.shape[:2])
    timings = {}
    start = time.perf_counter()
    probability = classify(classifier, image)
    timings["classify"] = time.perf_counter() - start
    if probability < config.gate:
        return Explanation(probability, None, shape, config, timings)
    start = time.perf_counter()
    settings = AttributionSettings(normalization=classifier.card.normalization, rules=config.rules,
                                   baseline=config.baseline, damage_free=classifier.damage_free)
    relevance = attribute(classifier.model, _inputs(classifier, image), config.method, settings)[0]
    timings["attribute"] = time.perf_counter() - start
    return Explanation(probability, resize_map(relevance, shape), shape, config, timings)


def threshold_explanation(explanation: Explanation, threshold: str) -> Thresholded:
    """The thresholded relevance map; a zero score and an empty mask when the gate kept it unexplained."""
    if not explanation.explained:
        return Thresholded(np.zeros(explanation.image_shape), np.zeros(explanation.image_shape, bool), 1.0)
    return apply_threshold(explanation.relevance, threshold)


def segment_explanation(explanation: Explanation, config: PipelineConfig | None = None) -> SegmentationResult:
    """Stage 2: threshold, post-process and measure (cheap; no model needed).

    ``config`` may change the threshold, post-processing, scale and count
    settings of the explanation's own config; its explanation settings are ignored.
    """
    method, rules, baseline = explanation.config.explanation_key()
    config = replace(config or explanation.config, method=method, rules=rules, baseline=baseline,
                     gate=explanation.config.gate)
    timings = dict(explanation.timings)
    start = time.perf_counter()
    thresholded = threshold_explanation(explanation, config.threshold)
    timings["threshold"] = time.perf_counter() - start
    start = time.perf_counter()
    mask = postprocess(thresholded.mask, config.post, scale=config.post_scale)
    timings["postprocess"] = time.perf_counter() - start
    start = time.perf_counter()
    severity = measure_severity(mask, min_area=config.min_crack_area, mm_per_px=config.mm_per_px)
    timings["severity"] = time.perf_counter() - start
    return SegmentationResult(explanation.probability, explanation.explained, explanation.relevance,
                              thresholded.score, mask, severity, config, timings)


def segment(classifier: Classifier, image: np.ndarray, config: PipelineConfig = PipelineConfig()) -> SegmentationResult:
    """The whole pipeline on one photo (H×W×3 uint8)."""
    return segment_explanation(explain(classifier, image, config), config)
