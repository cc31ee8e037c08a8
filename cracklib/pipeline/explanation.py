"""Stage 1: a photo's crack probability and, where the gate lets it through, its relevance map.

:func:`explain` dispatches on the method: an explanation method explains the classifier (or the classifier
the method brings: B-cos, NN-Explainer) on the gated tiles or the resized photo; a segmentation network
(``unet``, ``distilled``) replaces classify + explain, its per-pixel crack probability being the map.
"""
from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

from cracklib.errors import CrackInputError
from cracklib.explain.attribution import AttributionSettings, attribute, model_lock
from cracklib.nets.bcos import is_bcos
from cracklib.nets.preprocess import resize_map
from cracklib.nets.weights import load_explainer, load_segmenter
from cracklib.pipeline.classifier import (
    Classifier,
    _batches,
    _inputs,
    _tile_inputs,
    classify_tiles,
    gated_tiles,
    load_classifier,
)
from cracklib.pipeline.methods import method_weights
from cracklib.pipeline.results import Explanation
from cracklib.pipeline.segmenters import SEGMENTER_METHODS, network_name, predict_map, segmenter_path
from cracklib.pipeline.settings import ExplanationSettings
from cracklib.tiling import TileBlender

__all__ = ["explain", "explain_with_network", "classifier_for", "attribution_settings"]


def attribution_settings(classifier: Classifier, config: ExplanationSettings) -> AttributionSettings:
    """What the attribution methods need of the classifier and the explanation settings."""
    explainer = load_explainer(_method_file(config.method))[0] if config.method == "nn_explainer" else None
    return AttributionSettings(normalization=classifier.card.normalization, rules=config.rules,
                               lrp_backend=config.lrp_backend, baseline=config.baseline,
                               damage_free=classifier.damage_free, explainer=explainer)


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
    classifier = classifier_for(settings.method, classifier)
    if settings.mode == "resize":
        return _explain_resized(classifier, image, settings, forced=tiles is not None and len(tiles) > 0)
    return _explain_tiled(classifier, image, settings, progress, tiles)


def classifier_for(method: str, classifier: Classifier) -> Classifier:
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
        raise CrackInputError(f"the method {method} needs {path.name}, which is not shipped here (the docs' "
                              f"'Learned explainers' page says how to train it)")
    return path


@lru_cache(maxsize=4)
def _shipped_classifier(path: str) -> Classifier:
    """A classifier that a method brings, loaded once."""
    if not Path(path).exists():
        raise CrackInputError(f"{Path(path).name} is not shipped here (the docs' 'Learned explainers' page)")
    return load_classifier(path)


def _segment_with_network(classifier: Classifier, image: np.ndarray, settings: ExplanationSettings,
                          progress) -> Explanation:
    """A segmentation network (``unet``, ``distilled``) instead of classify + explain: the classifier is not
    run, it only picks the network (its own when it brings one, :func:`cracklib.pipeline.segmenter_path`)."""
    return explain_with_network(segmenter_path(settings.method, classifier.path), image, settings, progress=progress)


def explain_with_network(path: str | Path, image: np.ndarray, settings: ExplanationSettings = ExplanationSettings(),
                         *, progress=None) -> Explanation:
    """The segmentation network ``path``'s crack probability per pixel as the map, its highest value the
    photo's probability (gated like any other).

    The network runs on native-resolution tiles whatever ``mode`` says (it is fully convolutional), averaged
    over the flips and turns its card names (``views``). Self-training reads a student this way before it is
    shipped under a method's name.
    """
    shape = tuple(image.shape[:2])
    model, card = load_segmenter(path)
    start = time.perf_counter()
    with model_lock(model):
        probability_map = predict_map(model, image, card.normalization, overlap=settings.tile_overlap,
                                      views=card.views, progress=progress)
    timings = {"attribute": time.perf_counter() - start}
    probability = float(probability_map.max())
    relevance = probability_map if probability >= settings.gate else None
    return Explanation(probability, relevance, shape, settings, timings, network=network_name(path),
                       network_views=card.views)


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
    relevance = attribute(classifier.model, inputs, settings.method, attribution_settings(classifier, settings))[0]
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
    attribution = attribution_settings(classifier, settings)
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
