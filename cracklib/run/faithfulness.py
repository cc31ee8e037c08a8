"""How faithful, how well placed and how sane a photo's explanation is: the measure layer's scores run on the
pipeline's explained tiles, with the classifier's own crack probability as the score.

:func:`faithfulness_report` takes a photo and its :class:`~cracklib.pipeline.Explanation` (the pipeline's
stage 1, as the studio and the CLI already hold it) and, without classifying the photo again:

- cuts the explained tiles out of the photo exactly as the pipeline did (the tile grid, ``tile_scale`` and
  padding of the explanation), with the photo's relevance map cut at the same windows; at most ``max_tiles``
  of them, the most probable first (a resized photo is one tile at the model's input);
- scores each with the explained classifier's crack probability (:meth:`~cracklib.pipeline.Classifier.probabilities`
  of :func:`~cracklib.nets.to_input`: the scoring graph, views and calibration the gate used) and runs
  deletion, insertion and ROAD on it (:mod:`cracklib.measure.faithfulness`), averaged over the tiles;
- runs the cascading model-parameter randomisation test on the same tiles: copies of the classifier with
  their layers re-initialised from the top down (:func:`cascade_steps`, :func:`randomised_models`), the same
  method and settings explaining the same inputs at each step, compared with the trained model's maps;
- scores the photo's map against a mask when one is given (relevance mass and rank accuracy, pointing game).

A segmentation network's map (``unet``, ``distilled``) is not an explanation of the classifier, and an
unexplained photo has no map: the report says so (:attr:`FaithfulnessReport.skipped`) instead of measuring.

References
----------
Samek et al., IEEE TNNLS 2017; Petsiuk et al., BMVC 2018; Rong et al., ICML 2022; Adebayo et al., NeurIPS
2018; Sixt et al., ICML 2020; Arras et al., Information Fusion 2022; Zhang et al., IJCV 2018 (see
:mod:`cracklib.measure.faithfulness` and :mod:`cracklib.measure.metrics`).
"""
from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from cracklib.explain.attribution import attribute, model_lock
from cracklib.explain.baselines import baseline_for
from cracklib.measure.faithfulness import (
    ROAD_PERCENTAGES,
    PerturbationCurve,
    RandomisationCurve,
    RandomisationVerdict,
    RoadCurves,
    Score,
    deletion_curve,
    insertion_curve,
    mean_curve,
    randomisation_curve,
    randomisation_verdict,
    road_curves,
)
from cracklib.measure.metrics import LOCALISATION_KEYS, localisation_scores
from cracklib.nets.bcos import BcosConv2d, BcosLinear
from cracklib.nets.preprocess import resize_map, to_input, to_pixels
from cracklib.pipeline.classifier import Classifier, scaled_photo
from cracklib.pipeline.explanation import attribution_settings, classifier_for
from cracklib.pipeline.methods import method_label
from cracklib.pipeline.results import Explanation
from cracklib.tiling import pad_to_tile

__all__ = ["FILLS", "ROAD_NOISE", "MAX_TILES", "RANDOMISATION_TILES", "FAITHFULNESS_KEYS", "crack_score",
           "CascadeStep", "cascade_steps", "randomised_models", "FaithfulnessReport", "faithfulness_report",
           "mean_scores"]


#: What a deleted pixel becomes (and what insertion starts from): one of the baselines the attribution methods
#: explain against (:func:`cracklib.explain.baseline_for`), as pixels. ``damage_free_mean`` is the mean
#: crack-free training tile stored with the weights; ``blur`` the tile blurred (σ = side / 16; Petsiuk et al.'s
#: insertion starts from a blur); ``black``; ``zeros`` the normalisation's mean colour.
FILLS = ("damage_free_mean", "blur", "black", "zeros")


#: ROAD's imputation noise, as a standard deviation in grey levels: 1 % of the pixel range (Quantus's default of
#: 0.01 on inputs in [0, 1]).
ROAD_NOISE = 0.01 * 255


#: The default cap on the tiles a report measures per photo, the most probable first, and on those of them the
#: randomisation test explains again at every step (the costly part for Integrated Gradients: 32 passes a map).
#: With these, the reports of lrp (epsilon_gamma_box), deeplift, integrated_gradients and lrp (epsilon_plus_flat)
#: on a 1600×1200 synthetic photo with the shipped model (27 of 221 tiles explained) took 4.3, 5.7, 14.2 and 5.4 s,
#: 30 s together, on two CPU cores shared with other jobs (load 8-9); ROAD's imputations and Integrated Gradients'
#: re-explanations are most of it. tests/test_faithfulness.py times the first two on a bundled photo.
MAX_TILES = 8
RANDOMISATION_TILES = 4


#: The numbers of :meth:`FaithfulnessReport.scores`, in the order tables show them.
FAITHFULNESS_KEYS = ("deletion_auc", "insertion_auc", "road_morf_auc", "road_lerf_auc", "road_gap",
                     "randomisation_spearman", "randomisation_ssim", "depends_on_top_layers", *LOCALISATION_KEYS)


def crack_score(classifier: Classifier) -> Score:
    """The classifier's crack probability of a batch of tiles (N, H, W, 3) in grey levels (uint8 or float):
    the normalisation, scoring graph, views and calibration that classify the pipeline's tiles."""
    def score(batch: np.ndarray) -> np.ndarray:
        return classifier.probabilities(to_input(batch, classifier.card.normalization, None, classifier.device))
    return score


@dataclass(frozen=True)
class CascadeStep:
    """One step of the cascading randomisation: ``label`` names the layers it re-initialises (``modules``)."""

    label: str
    modules: tuple[str, ...]
    #: A layer of the classifier head (the verdict judges the maps once all of these are randomised).
    head: bool = False


def _parameterised(model: nn.Module) -> list[str]:
    """The modules that hold parameters of their own, in forward (definition) order."""
    return [name for name, module in model.named_modules()
            if name and next(module.parameters(recurse=False), None) is not None]


def cascade_steps(model: nn.Module) -> list[CascadeStep]:
    """The cascade, top first: each layer of the classifier head (``fc3``, ``fc2``, ``fc1``), then each conv block
    of the VGG (``conv5`` … ``conv1``, both convolutions of a block at once), down to all layers.

    A model without VGG's ``features`` and ``classifier`` gets one step per layer that holds parameters, from
    the last one (the first counting as its head): the order of Quantus's ``top_down`` randomisation.
    """
    layers = _parameterised(model)
    if not (isinstance(getattr(model, "features", None), nn.Sequential)
            and isinstance(getattr(model, "classifier", None), nn.Sequential)):
        return [CascadeStep(name, (name,), head=index == 0) for index, name in enumerate(reversed(layers))]
    head = [name for name in layers if name.startswith("classifier.")]
    steps = [CascadeStep(f"fc{index}", (name,), head=True) for index, name in reversed(list(enumerate(head, 1)))]
    blocks: dict[int, list[str]] = {}
    block = 1
    for name, module in model.features.named_children():
        if isinstance(module, nn.MaxPool2d):
            block += 1
        elif f"features.{name}" in layers:
            blocks.setdefault(block, []).append(f"features.{name}")
    steps += [CascadeStep(f"conv{number}", tuple(reversed(blocks[number]))) for number in sorted(blocks, reverse=True)]
    covered = {name for step in steps for name in step.modules}
    return steps + [CascadeStep(name, (name,)) for name in reversed(layers) if name not in covered]


def _reinitialise(module: nn.Module, seed: int) -> None:
    """``module``'s parameters drawn afresh as at construction, from ``seed`` (the global RNG is left as it was)."""
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        if isinstance(module, (BcosConv2d, BcosLinear)):  # as their constructors; a folded batch norm's gain too
            nn.init.kaiming_normal_(module.weight, nonlinearity="linear")
            module.gain.fill_(1.0)
        elif hasattr(module, "reset_parameters"):
            module.reset_parameters()
        else:
            raise ValueError(f"cannot re-initialise a {type(module).__name__} layer")


def randomised_models(model: nn.Module, steps: Sequence[CascadeStep], *,
                      seed: int = 0) -> Iterator[tuple[CascadeStep, nn.Module]]:
    """After each step, a copy of ``model`` with that step's layers and all above them re-initialised.

    Cascading (Adebayo et al., NeurIPS 2018): one copy, randomised further at
    every step; ``model`` itself is untouched. Each layer is drawn from
    ``seed`` + its rank from the top among the layers with parameters, on the
    CPU: the same copies on every machine and whatever the grouping into
    steps. (Quantus draws every layer from one seed, so layers of one shape
    get the same weights.) Yields the same copy every time: use it before
    the next step.
    """
    device = next(model.parameters()).device
    rank = {name: index for index, name in enumerate(reversed(_parameterised(model)))}
    with model_lock(model):  # no other thread's hooks copied with it
        randomised = copy.deepcopy(model).cpu()
    for step in steps:
        for name in step.modules:
            _reinitialise(randomised.get_submodule(name), seed + rank[name])
        yield step, randomised if device.type == "cpu" else copy.deepcopy(randomised).to(device)


@dataclass(frozen=True, eq=False)
class FaithfulnessReport:
    """One explanation's faithfulness, localisation and randomisation scores (:func:`faithfulness_report`).

    The curves are per tile (``tiles``, the indices into the explanation's grid, the most probable first);
    :meth:`curve` averages them, :meth:`scores` gives the numbers, :meth:`to_dict` all of it as plain JSON.
    """

    #: The method, as :func:`cracklib.pipeline.method_label` names it.
    label: str
    fill: str
    tiles: np.ndarray
    #: The crack probability of each measured tile, unperturbed (the curves' deletion start).
    tile_scores: np.ndarray
    deletion: tuple[PerturbationCurve, ...] = ()
    insertion: tuple[PerturbationCurve, ...] = ()
    road: tuple[RoadCurves, ...] = ()
    randomisation: RandomisationCurve | None = None
    verdict: RandomisationVerdict | None = None
    #: Against the mask, when one was given (:data:`cracklib.measure.LOCALISATION_KEYS`).
    localisation: dict[str, float] | None = None
    #: Why nothing was measured on the classifier (a segmentation network's map, an unexplained photo).
    skipped: str | None = None
    #: Why the randomisation test was not run, when it was not.
    randomisation_skipped: str | None = None
    #: What a reader should know to read the numbers.
    note: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def curve(self, kind: str) -> PerturbationCurve | None:
        """The mean curve over the tiles: ``deletion``, ``insertion``, or ROAD's ``morf`` and ``lerf``."""
        if kind in ("deletion", "insertion"):
            curves = getattr(self, kind)
        elif kind in ("morf", "lerf"):
            curves = [getattr(road, kind) for road in self.road]
        else:
            raise ValueError(f"unknown curve {kind!r}; choose from deletion, insertion, morf, lerf")
        return mean_curve(curves) if curves else None

    def _auc(self, kind: str) -> float:
        curve = self.curve(kind)
        return curve.auc if curve is not None else float("nan")

    @property
    def deletion_auc(self) -> float:
        """Mean area under the deletion curves (lower: more faithful)."""
        return self._auc("deletion")

    @property
    def insertion_auc(self) -> float:
        """Mean area under the insertion curves (higher: more faithful)."""
        return self._auc("insertion")

    @property
    def road_gap(self) -> float:
        """Mean ROAD LeRF area − MoRF area (higher: more faithful)."""
        return self._auc("lerf") - self._auc("morf")

    @property
    def sentence(self) -> str:
        """What the report found about the map's dependence on the model, in plain words (or why nothing was
        measured), with the note a reader should know."""
        if self.skipped:
            return self.skipped
        found = self.verdict.sentence if self.verdict is not None else self.randomisation_skipped
        return " ".join(part for part in (found, self.note) if part)

    def scores(self) -> dict[str, float]:
        """The numbers, keyed by :data:`FAITHFULNESS_KEYS` (NaN where not measured; ``depends_on_top_layers``
        1.0 or 0.0)."""
        nan = float("nan")
        verdict = self.verdict
        judged = verdict is not None and verdict.depends is not None
        at = len(verdict.layers) - 1 if judged else None
        return {"deletion_auc": self.deletion_auc, "insertion_auc": self.insertion_auc,
                "road_morf_auc": self._auc("morf"), "road_lerf_auc": self._auc("lerf"), "road_gap": self.road_gap,
                "randomisation_spearman": verdict.spearman if judged else nan,
                "randomisation_ssim": float(self.randomisation.mean("ssim")[at]) if judged else nan,
                "depends_on_top_layers": float(verdict.depends) if judged else nan,
                **(self.localisation or dict.fromkeys(LOCALISATION_KEYS, nan))}

    def to_dict(self, *, curves: bool = True) -> dict:
        """Plain JSON: the numbers (NaN as None), the reasons and, with ``curves``, the mean curves and the
        randomisation curve."""
        out = {"method": self.label, "fill": self.fill, "tiles": [int(t) for t in self.tiles],
               "tile_scores": [float(s) for s in self.tile_scores], **self.scores(),
               "randomisation_verdict": self.verdict.sentence if self.verdict is not None else None,
               "skipped": self.skipped, "randomisation_skipped": self.randomisation_skipped, "note": self.note,
               "timings_s": {key: round(value, 4) for key, value in self.timings.items()}}
        if curves:
            out["curves"] = {kind: curve.to_dict() for kind in ("deletion", "insertion", "morf", "lerf")
                             if (curve := self.curve(kind)) is not None}
            out["randomisation"] = self.randomisation.to_dict() if self.randomisation is not None else None
        return _plain(out)


def _plain(value):
    """JSON-ready: non-finite floats become None."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def mean_scores(reports: Sequence[FaithfulnessReport]) -> dict[str, float | None]:
    """Each of :data:`FAITHFULNESS_KEYS` averaged over reports (photos), NaN skipped; None where none has it.
    ``depends_on_top_layers`` becomes the share of photos whose map depends on the top layers."""
    rows = [report.scores() for report in reports]
    out = {}
    for key in FAITHFULNESS_KEYS:
        values = np.array([row[key] for row in rows], np.float64)
        values = values[np.isfinite(values)]
        out[key] = float(values.mean()) if values.size else None
    return out


def _fill(name: str, classifier: Classifier, tiles: np.ndarray) -> np.ndarray:
    """The ``name`` baseline of each tile, as pixels in grey levels (N, H, W, 3)."""
    normalization = classifier.card.normalization
    inputs = to_input(tiles, normalization)
    reference = baseline_for(name, inputs, normalization, classifier.damage_free)
    return normalization.denormalize(reference).permute(0, 2, 3, 1).numpy() * 255


def _tiles(classifier: Classifier, image: np.ndarray, explanation: Explanation,
           max_tiles: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The measured tiles: indices, pixels (N, S, S, 3) and the photo's relevance there (N, S, S)."""
    size = classifier.card.input_size
    relevance = explanation.relevance
    if explanation.grid is None:  # resize mode: the photo at the model's input, as _explain_resized fed it
        pixels = to_pixels(image, size)[0].permute(1, 2, 0).numpy() * 255
        return np.zeros(1, int), pixels[None], resize_map(relevance, (size, size))[None]
    indices = explanation.explained_tiles()
    order = np.argsort(-explanation.tile_probabilities[indices], kind="stable")
    indices = indices[order[:max_tiles]]
    scaled = scaled_photo(image, explanation.settings.tile_scale)
    work = pad_to_tile(scaled, size)
    if work.shape[:2] != explanation.grid.shape:
        raise ValueError(f"the explanation's tiles cover {explanation.grid.shape}, this photo {work.shape[:2]}: "
                         f"not the photo that was explained")
    relevance = pad_to_tile(resize_map(relevance, scaled.shape[:2]), size)
    windows = [explanation.grid.window(int(index)) for index in indices]
    return indices, np.stack([work[window] for window in windows]), np.stack([relevance[w] for w in windows])


def _maps(model: nn.Module, inputs: torch.Tensor, method: str, settings, batch_size: int) -> np.ndarray:
    return np.concatenate([attribute(model, inputs[start:start + batch_size], method, settings)
                           for start in range(0, len(inputs), batch_size)])


def faithfulness_report(classifier: Classifier, image: np.ndarray, explanation: Explanation, *,
                        truth: np.ndarray | None = None, fill: str = "damage_free_mean", steps: int = 20,
                        road_percentages: Sequence[float] = ROAD_PERCENTAGES, road_noise: float = ROAD_NOISE,
                        max_tiles: int = MAX_TILES, randomisation: bool = True,
                        randomisation_tiles: int = RANDOMISATION_TILES, cascade: int | None = None,
                        seed: int = 0, tolerance: int = 15,
                        progress: Callable[[int, int], None] | None = None) -> FaithfulnessReport:
    """Faithfulness (deletion, insertion, ROAD), randomisation and, given a mask, localisation of an explanation.

    Parameters
    ----------
    classifier : Classifier
        The classifier ``explanation`` was made with (the one a method brings, B-cos or the NN-Explainer's, is
        found as :func:`cracklib.pipeline.explain` finds it).
    image : ndarray (H, W, 3) uint8
        The explained photo.
    explanation : Explanation
        Its stage-1 result; the photo is not classified again.
    truth : ndarray (H, W) of bool, optional
        The crack mask: adds relevance mass accuracy, relevance rank accuracy and the pointing game of the
        photo's map.
    fill : str
        What deletion puts in and insertion starts from (:data:`FILLS`).
    steps : int
        Deletion and insertion steps per tile.
    road_percentages : sequence of float
        Where ROAD removes pixels (percent).
    road_noise : float
        ROAD's imputation noise in grey levels (:data:`ROAD_NOISE`; 0 is deterministic).
    max_tiles : int
        At most this many explained tiles, the most probable first.
    randomisation : bool
        Run the cascading randomisation test.
    randomisation_tiles : int
        On at most this many of the measured tiles, the most probable first.
    cascade : int, optional
        At most this many steps of :func:`cascade_steps` (None: all, down to the first conv block).
    seed : int
        Seeds the randomised layers and ROAD's noise.
    tolerance : int
        The pointing game's tolerance in pixels (Zhang et al.'s 15).
    progress : callable, optional
        ``progress(done, total)`` after each tile's measure and each randomisation step.

    Returns
    -------
    FaithfulnessReport
    """
    if fill not in FILLS:
        raise ValueError(f"unknown fill {fill!r}; choose from {', '.join(FILLS)}")
    if max_tiles < 1:
        raise ValueError(f"max_tiles must be at least 1, got {max_tiles}")
    if tuple(image.shape[:2]) != tuple(explanation.image_shape):
        raise ValueError(f"the photo is {image.shape[:2]}, the explanation {explanation.image_shape}")
    settings = explanation.settings
    label = method_label(settings)
    timings: dict[str, float] = {}
    localisation = None
    if truth is not None:
        start = time.perf_counter()
        localisation = localisation_scores(explanation.relevance_map(), truth, tolerance=tolerance)
        timings["localisation"] = time.perf_counter() - start
    empty = np.zeros(0, int), np.zeros(0)
    if explanation.network is not None:
        return FaithfulnessReport(label, fill, *empty, localisation=localisation, timings=timings,
                                  skipped=f"{settings.method} is a segmentation network: its map is its own crack "
                                          f"probability, not an explanation of the classifier, so there is no "
                                          f"classifier's evidence to delete or randomise")
    if not explanation.explained:
        return FaithfulnessReport(label, fill, *empty, localisation=localisation, timings=timings,
                                  skipped=f"the photo was not explained: its crack probability "
                                          f"{explanation.probability:.2f} is below the gate {settings.gate:.2f}")
    explained = classifier_for(settings.method, classifier)
    score = crack_score(explained)
    indices, pixels, relevance = _tiles(explained, image, explanation, max_tiles)
    chain = cascade_steps(explained.model) if randomisation else []
    chain = chain[:cascade] if cascade is not None else chain
    if randomisation_tiles < 1:
        raise ValueError(f"randomisation_tiles must be at least 1, got {randomisation_tiles}")
    total, done = 3 * len(indices) + (len(chain) + 1 if chain else 0), 0

    def tick():
        nonlocal done
        done += 1
        if progress:
            progress(done, total)

    fills = _fill(fill, explained, pixels)
    tile_scores = score(pixels)
    curves: dict[str, list] = {"deletion": [], "insertion": [], "road": []}
    for tile, values, filled in zip(pixels, relevance, fills):
        for kind, measure in (("deletion", deletion_curve), ("insertion", insertion_curve)):
            start = time.perf_counter()
            curves[kind].append(measure(tile, values, score, fill=filled, steps=steps))
            timings[kind] = timings.get(kind, 0.0) + time.perf_counter() - start
        start = time.perf_counter()
        curves["road"].append(road_curves(tile, values, score, percentages=road_percentages, noise=road_noise,
                                          seed=seed))
        timings["road"] = timings.get("road", 0.0) + time.perf_counter() - start
        done += 2
        tick()

    random_curve = verdict = None
    skipped_randomisation = None if randomisation else "not asked for"
    if chain:
        start = time.perf_counter()
        attribution = attribution_settings(explained, settings)
        inputs = to_input(pixels[:randomisation_tiles], explained.card.normalization, None, explained.device)
        trained = _maps(explained.model, inputs, settings.method, attribution, settings.batch_size)
        tick()
        randomised = []
        for _, model in randomised_models(explained.model, chain, seed=seed):
            randomised.append(_maps(model, inputs, settings.method, attribution, settings.batch_size))
            tick()
        random_curve = randomisation_curve(trained, randomised, layers=[step.label for step in chain])
        verdict = randomisation_verdict(random_curve, top=max(1, sum(step.head for step in chain)))
        timings["randomisation"] = time.perf_counter() - start
    note = None
    if settings.method == "nn_explainer":
        note = ("the NN-Explainer's map comes from its explainer network, which reads the photo and not the "
                "classifier: randomising the classifier cannot change it")
    return FaithfulnessReport(label, fill, indices, np.asarray(tile_scores, np.float64),
                              tuple(curves["deletion"]), tuple(curves["insertion"]), tuple(curves["road"]),
                              random_curve, verdict, localisation, None, skipped_randomisation, note, timings)
