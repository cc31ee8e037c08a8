"""Faithfulness of a relevance map to the classifier it explains, and its sanity under model randomisation.

Arrays in, numbers out: every function takes an image, its relevance map and a
``score`` callable (a batch of images → the crack probability of each), so
nothing here knows the network, its normalisation or the explanation method.
:func:`cracklib.run.faithfulness_report` runs them on the pipeline's
explanations of whole photos.

Perturbation curves
    Pixels are replaced in order of relevance, most relevant first, and the
    score is read after each step: **deletion** replaces the image's pixels by
    a fill image (pixel flipping, Samek et al. 2017; deletion, Petsiuk et al.
    2018), **insertion** starts from the fill and puts the image's pixels back
    (Petsiuk et al. 2018). A faithful map makes the deletion curve fall fast
    (low area) and the insertion curve rise fast (high area).
ROAD
    Remove And Debias (Rong et al., ICML 2022): the removed pixels are not
    filled with a constant but imputed from their neighbours (noisy linear
    imputation), so the perturbed image carries no trace of the removal's
    shape that the classifier could read. Pixels are removed most relevant
    first (MoRF) and least relevant first (LeRF) at fixed percentages; a
    faithful map keeps the score when its least relevant pixels go and loses
    it when its most relevant ones go: LeRF area − MoRF area is high.
Model-parameter randomisation
    Adebayo et al. (NeurIPS 2018): the classifier's parameters are
    re-initialised from the top layer down (cascading) and the map is computed
    again at each step; a map that explains the model must change. Sixt et al.
    (ICML 2020) showed that modified backpropagation rules with z⁺ in the
    deeper layers converge to a map that ignores the top layers. The
    similarity of the trained and the randomised maps is the Spearman rank
    correlation and the SSIM of their magnitudes (:data:`SIMILARITIES`);
    :func:`randomisation_verdict` turns it into a sentence.

The localisation scores against a mask (relevance mass and rank accuracy, the
pointing game) are in :mod:`cracklib.measure.metrics`.

Conventions, and where they differ from Quantus 0.6.0 (Hedström et al., JMLR
2023), the reference the tests compare with:

- curves start at the unperturbed image (fraction 0; Quantus starts after the
  first step) and their area (:attr:`PerturbationCurve.auc`) is the trapezoid
  area divided by the span of the fractions, i.e. the curve's mean height,
  in [0, 1] for a probability (Quantus: the trapezoid sum with unit spacing);
- the relevance ranks pixels (H×W), not channel values; ties keep raster order;
- ROAD returns the score (the crack probability) at each percentage, where
  Quantus returns whether the predicted class stayed the label;
- a randomised map that became constant has similarity 0 with a non-constant
  one, and two constant maps have 1 (Quantus: NaN).

References
----------
Samek, W. et al., "Evaluating the visualization of what a deep neural network
has learned", IEEE TNNLS 28(11), 2017.
Petsiuk, V., Das, A., Saenko, K., "RISE: Randomized Input Sampling for
Explanation of Black-box Models", BMVC 2018.
Rong, Y., Leemann, T., Borisov, V., Kasneci, G., Kasneci, E., "A Consistent and
Efficient Evaluation Strategy for Attribution Methods", ICML 2022.
Adebayo, J. et al., "Sanity Checks for Saliency Maps", NeurIPS 2018.
Sixt, L., Granz, M., Landgraf, T., "When Explanations Lie: Why Many Modified BP
Attributions Fail", ICML 2020.
Hedström, A. et al., "Quantus: An Explainable AI Toolkit for Responsible
Evaluation of Neural Network Explanations and Beyond", JMLR 24(34), 2023.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage, sparse, stats
from scipy.sparse.linalg import splu
from skimage.metrics import structural_similarity

__all__ = ["Score", "PerturbationCurve", "relevance_order", "blur_fill", "deletion_curve", "insertion_curve",
           "mean_curve", "ROAD_PERCENTAGES", "ROAD_ORDERS", "noisy_linear_imputation", "RoadCurves", "road_curves",
           "spearman_similarity", "ssim_similarity", "SIMILARITIES", "RandomisationCurve", "randomisation_curve",
           "RANDOMISATION_THRESHOLD", "RandomisationVerdict", "randomisation_verdict"]


#: ``score(batch) -> scores``: a batch of images (N, H, W, C), or (N, H, W) for H×W images, uint8 or float in the
#: images' units, to one number per image (the crack probability), as an array of N.
Score = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True, eq=False)
class PerturbationCurve:
    """Scores of an image perturbed step by step: ``scores[k]`` after ``fractions[k]`` of the pixels changed.

    ``kind`` says which perturbation: ``deletion``, ``insertion``, or ROAD's ``morf`` and ``lerf``.
    """

    kind: str
    fractions: np.ndarray
    scores: np.ndarray

    @property
    def auc(self) -> float:
        """Area under the curve over its span of fractions (trapezoid), divided by that span: its mean height."""
        return _mean_height(self.fractions, self.scores)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "fractions": [float(f) for f in self.fractions],
                "scores": [float(s) for s in self.scores], "auc": self.auc}


def _mean_height(fractions: np.ndarray, scores: np.ndarray) -> float:
    fractions, scores = np.asarray(fractions, np.float64), np.asarray(scores, np.float64)
    if len(fractions) < 2 or fractions[-1] == fractions[0]:
        return float(scores.mean()) if len(scores) else float("nan")
    area = np.sum((scores[1:] + scores[:-1]) * np.diff(fractions)) / 2  # np.trapezoid needs numpy 2
    return float(area / (fractions[-1] - fractions[0]))


def mean_curve(curves: Sequence[PerturbationCurve]) -> PerturbationCurve:
    """The pointwise mean of curves of one kind over the same fractions (e.g. over a photo's tiles)."""
    if not curves:
        raise ValueError("no curves to average")
    fractions = curves[0].fractions
    if any(c.kind != curves[0].kind or not np.array_equal(c.fractions, fractions) for c in curves):
        raise ValueError("curves of different kinds or fractions cannot be averaged")
    return PerturbationCurve(curves[0].kind, fractions, np.mean([c.scores for c in curves], axis=0))


def _checked(image: np.ndarray, relevance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    image, relevance = np.asarray(image), np.asarray(relevance)
    if image.ndim not in (2, 3):
        raise ValueError(f"image must be H×W or H×W×C, got shape {image.shape}")
    if relevance.shape != image.shape[:2]:
        raise ValueError(f"relevance {relevance.shape} and image {image.shape[:2]} differ in shape")
    return image, relevance


def relevance_order(relevance: np.ndarray) -> np.ndarray:
    """Flat pixel indices, most relevant first (signed relevance; ties in raster order; NaN last)."""
    values = np.asarray(relevance, np.float64).ravel()
    return np.argsort(-np.nan_to_num(values, nan=-np.inf), kind="stable")


def blur_fill(image: np.ndarray, *, sigma: float | None = None) -> np.ndarray:
    """A Gaussian blur of ``image`` (H×W or H×W×C, blurred per channel) as float, for a deletion or insertion fill.

    Petsiuk et al. insert into a blurred image. The default ``sigma`` is the
    longest side / 16 with the kernel cut at round(3σ) and mirrored borders:
    the ``blur`` baseline of :mod:`cracklib.explain.baselines`, so a method
    explained against the blur is deleted towards the same image.
    """
    image = np.asarray(image, np.float64)
    sigma = max(image.shape[:2]) / 16 if sigma is None else float(sigma)
    sigmas = (sigma, sigma) + (0,) * (image.ndim - 2)
    return ndimage.gaussian_filter(image, sigmas, mode="mirror", radius=round(3 * sigma))


def _scores(score: Score, images: list[np.ndarray], batch_size: int) -> np.ndarray:
    out = []
    for start in range(0, len(images), batch_size):
        chunk = images[start:start + batch_size]
        values = np.asarray(score(np.stack(chunk)), np.float64).reshape(-1)
        if len(values) != len(chunk):
            raise ValueError(f"score gave {len(values)} values for {len(chunk)} images")
        out.append(values)
    return np.concatenate(out)


def _curve(kind: str, start: np.ndarray, end: np.ndarray, relevance: np.ndarray, score: Score, *, steps: int,
           batch_size: int) -> PerturbationCurve:
    """``start`` with its pixels, most relevant first, replaced by ``end``'s in ``steps`` equal steps."""
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    n = relevance.size
    counts = np.arange(steps + 1) * n // steps
    order = relevance_order(relevance)
    dtype = np.result_type(start, end)
    flat_end = end.reshape(n, -1)
    images = []
    for count in counts:
        image = start.astype(dtype, copy=True)
        pixels = order[:count]
        image.reshape(n, -1)[pixels] = flat_end[pixels]
        images.append(image)
    return PerturbationCurve(kind, counts / n, _scores(score, images, batch_size))


def _fill_like(image: np.ndarray, fill: np.ndarray | float) -> np.ndarray:
    fill = np.asarray(fill)
    try:
        return np.broadcast_to(fill, image.shape)
    except ValueError:
        raise ValueError(f"fill {fill.shape} does not fit the image {image.shape}") from None


def deletion_curve(image: np.ndarray, relevance: np.ndarray, score: Score, *, fill: np.ndarray | float,
                   steps: int = 20, batch_size: int = 64) -> PerturbationCurve:
    """Pixel flipping / deletion: the image's pixels replaced by ``fill``'s, most relevant first.

    Parameters
    ----------
    image : ndarray (H, W, C) or (H, W)
        The explained image, in whatever units ``score`` takes.
    relevance : ndarray (H, W)
        Its relevance map (signed: the most positive pixels go first).
    score : callable
        ``score(batch (N, H, W, C)) -> (N,)``, e.g. the crack probability.
    fill : ndarray or float
        What a removed pixel becomes (broadcast to the image): the damage-free mean image, a
        :func:`blur_fill` of the image, black...
    steps : int
        The pixels are replaced in this many equal steps; the curve has ``steps + 1`` points, from the
        image itself (fraction 0) to the fill (fraction 1).
    batch_size : int
        Images per call of ``score``.

    Returns
    -------
    PerturbationCurve
        ``kind="deletion"``; a faithful map gives a low :attr:`~PerturbationCurve.auc`.

    References
    ----------
    Samek et al., IEEE TNNLS 2017; Petsiuk et al., BMVC 2018.
    """
    image, relevance = _checked(image, relevance)
    return _curve("deletion", image, _fill_like(image, fill), relevance, score, steps=steps, batch_size=batch_size)


def insertion_curve(image: np.ndarray, relevance: np.ndarray, score: Score, *, fill: np.ndarray | float,
                    steps: int = 20, batch_size: int = 64) -> PerturbationCurve:
    """Insertion: from ``fill``, the image's pixels put back, most relevant first (Petsiuk et al., BMVC 2018).

    The parameters are :func:`deletion_curve`'s; the curve goes from the fill (fraction 0) to the image
    (fraction 1), and a faithful map gives a high :attr:`~PerturbationCurve.auc`.
    """
    image, relevance = _checked(image, relevance)
    fill = _fill_like(image, fill)
    return _curve("insertion", fill, image, relevance, score, steps=steps, batch_size=batch_size)


#: The percentages of pixels ROAD removes: every 20 % from 10 % to 90 % (Rong et al. plot every 10 %; half the
#: imputations, which are most of a report's time).
ROAD_PERCENTAGES = (10, 30, 50, 70, 90)


#: ROAD's removal orders: most relevant first, least relevant first.
ROAD_ORDERS = ("morf", "lerf")


#: Noisy linear imputation's neighbours and weights (Rong et al.'s, as Quantus has them): 1/6 for the four
#: sides, 1/12 for the four corners.
_NEIGHBOURS = (((1, 1), 1 / 12), ((0, 1), 1 / 6), ((-1, 1), 1 / 12), ((1, -1), 1 / 12), ((0, -1), 1 / 6),
               ((-1, -1), 1 / 12), ((1, 0), 1 / 6), ((-1, 0), 1 / 6))


def noisy_linear_imputation(image: np.ndarray, removed: np.ndarray, *, noise: float = 0.0,
                            rng: np.random.Generator | int | None = None) -> np.ndarray:
    """``image`` with its ``removed`` pixels imputed from their neighbours, plus Gaussian noise.

    Every removed pixel becomes the weighted mean of its eight neighbours
    (weights 1/6 at the sides, 1/12 at the corners; neighbours outside the
    image left out), removed neighbours included: one sparse linear system for
    all of them, solved once for every channel (scipy.sparse, LU). Then
    ``noise`` (a standard deviation in the image's units) is added to the
    imputed values only. This is Rong et al.'s imputation as Quantus 0.6.0
    implements it.

    Parameters
    ----------
    image : ndarray (H, W) or (H, W, C)
    removed : ndarray (H, W) of bool
        The pixels to impute; not all of them (at least one pixel must stay).
    noise : float
        Standard deviation of the noise added to the imputed values.
    rng : Generator or seed, optional

    Returns
    -------
    ndarray, float64, the shape of ``image``

    References
    ----------
    Rong et al., "A Consistent and Efficient Evaluation Strategy for Attribution Methods", ICML 2022.
    """
    image = np.asarray(image)
    removed = np.asarray(removed, bool)
    if removed.shape != image.shape[:2]:
        raise ValueError(f"removed {removed.shape} and image {image.shape[:2]} differ in shape")
    height, width = removed.shape
    values = image.reshape(height * width, -1).astype(np.float64)
    indices = np.flatnonzero(removed)
    count = indices.size
    if count == 0:
        return values.reshape(image.shape)
    if count == removed.size:
        raise ValueError("noisy linear imputation needs at least one pixel that is not removed")
    variable = np.full(removed.size, -1)
    variable[indices] = np.arange(count)
    rows, cols = np.divmod(indices, width)
    flat_removed = removed.ravel()
    # For removed pixel i: Σ_valid w_n · x_i − Σ_removed n w_n · x_n = Σ_kept n w_n · v_n.
    diagonal = np.zeros(count)
    rhs = np.zeros((count, values.shape[1]))
    entries_i, entries_j, entries_w = [], [], []
    for (d_row, d_col), weight in _NEIGHBOURS:
        r, c = rows + d_row, cols + d_col
        inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
        own = np.flatnonzero(inside)
        neighbour = r[inside] * width + c[inside]
        diagonal[own] += weight
        unknown = flat_removed[neighbour]
        entries_i.append(own[unknown])
        entries_j.append(variable[neighbour[unknown]])
        entries_w.append(np.full(int(unknown.sum()), -weight))
        rhs[own[~unknown]] += weight * values[neighbour[~unknown]]  # each pixel once per offset
    matrix = sparse.csc_matrix((np.concatenate(entries_w), (np.concatenate(entries_i), np.concatenate(entries_j))),
                               shape=(count, count)) + sparse.diags(diagonal, format="csc")
    # Symmetric (the neighbour weights are): a minimum-degree order on A + Aᵀ with diagonal pivots factors it
    # about a third faster than SuperLU's default order on 128-px tiles.
    solution = splu(matrix.tocsc(), permc_spec="MMD_AT_PLUS_A", options={"SymmetricMode": True}).solve(rhs)
    if noise:
        solution = solution + noise * np.random.default_rng(rng).standard_normal(solution.shape)
    out = values.copy()
    out[indices] = solution.reshape(count, -1)
    return out.reshape(image.shape)


@dataclass(frozen=True, eq=False)
class RoadCurves:
    """ROAD's two curves of one image: most relevant first (``morf``) and least relevant first (``lerf``)."""

    morf: PerturbationCurve
    lerf: PerturbationCurve

    @property
    def gap(self) -> float:
        """LeRF area − MoRF area: high when the map's ranking is what the score depends on."""
        return self.lerf.auc - self.morf.auc

    def to_dict(self) -> dict:
        return {"morf": self.morf.to_dict(), "lerf": self.lerf.to_dict(), "gap": self.gap}


def road_curves(image: np.ndarray, relevance: np.ndarray, score: Score, *,
                percentages: Sequence[float] = ROAD_PERCENTAGES, noise: float = 0.0, seed: int = 0,
                batch_size: int = 64) -> RoadCurves:
    """ROAD (Remove And Debias): the score after imputing the top (MoRF) or bottom (LeRF) percentages of pixels.

    At each percentage p, ⌊H·W·p/100⌋ pixels are removed (each percentage from
    the image afresh, not cumulatively) and imputed by
    :func:`noisy_linear_imputation`. Both curves start at the unperturbed image
    (fraction 0), so their areas (mean heights over [0, max p]) compare.

    Parameters
    ----------
    image, relevance, score, batch_size
        As :func:`deletion_curve`.
    percentages : sequence of float
        In (0, 100).
    noise : float
        The imputation noise's standard deviation, in the image's units (0: deterministic).
    seed : int
        Seeds the noise.

    Returns
    -------
    RoadCurves
        Its :attr:`~RoadCurves.gap` (LeRF area − MoRF area) is higher for a more faithful map.

    References
    ----------
    Rong et al., ICML 2022.
    """
    image, relevance = _checked(image, relevance)
    percentages = np.asarray(percentages, np.float64)
    if not len(percentages) or percentages.min() <= 0 or percentages.max() >= 100:
        raise ValueError("ROAD percentages must lie strictly between 0 and 100")
    n = relevance.size
    order = relevance_order(relevance)
    rng = np.random.default_rng(seed)
    images = [image]
    for ranked in (order, order[::-1]):  # MoRF, LeRF
        for percentage in percentages:
            removed = np.zeros(n, bool)
            removed[ranked[:int(n * percentage / 100)]] = True
            images.append(noisy_linear_imputation(image, removed.reshape(relevance.shape), noise=noise, rng=rng))
    scores = _scores(score, images, batch_size)
    fractions = np.concatenate([[0.0], percentages / 100])
    half = len(percentages)
    return RoadCurves(PerturbationCurve("morf", fractions, np.concatenate([scores[:1], scores[1:1 + half]])),
                      PerturbationCurve("lerf", fractions, np.concatenate([scores[:1], scores[1 + half:]])))


def _magnitude(relevance: np.ndarray) -> np.ndarray:
    """|relevance| divided by its maximum (unchanged when all zero): what the randomisation test compares."""
    values = np.abs(np.asarray(relevance, np.float64))
    top = values.max() if values.size else 0.0
    return values / top if top > 0 else values


def _constant(values: np.ndarray) -> bool:
    return values.size == 0 or bool(np.all(values == values.flat[0]))


def spearman_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of |a| and |b| over all pixels (Adebayo et al.'s rank correlation of absolute
    values).

    A constant map has no ranking: 0 against a map that has one, 1 against another constant map.
    """
    a, b = _magnitude(a).ravel(), _magnitude(b).ravel()
    if a.shape != b.shape:
        raise ValueError(f"maps of {a.size} and {b.size} pixels cannot be compared")
    if _constant(a) or _constant(b):
        return 1.0 if _constant(a) and _constant(b) else 0.0
    return float(stats.spearmanr(a, b)[0])


def ssim_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM (scikit-image, 7×7 windows) of |a| and |b|, each divided by its maximum, with the data range of
    the two together (Quantus's convention). Two identical constant maps give 1."""
    a, b = _magnitude(a), _magnitude(b)
    if a.shape != b.shape:
        raise ValueError(f"maps {a.shape} and {b.shape} differ in shape")
    both = np.concatenate([a.ravel(), b.ravel()])
    data_range = float(both.max() - both.min())
    if data_range == 0:
        return 1.0
    return float(structural_similarity(a, b, data_range=data_range))


#: How the randomisation test compares a trained and a randomised map: name → (map, map) → similarity.
SIMILARITIES: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "spearman": spearman_similarity,
    "ssim": ssim_similarity,
}


@dataclass(frozen=True, eq=False)
class RandomisationCurve:
    """The cascading randomisation test of some maps: their similarity to the trained model's maps, per step.

    Step k has the top k+1 ``layers`` re-initialised (cascading, top first).
    ``values[name]`` is (steps, maps) for every name of :data:`SIMILARITIES`.
    """

    layers: tuple[str, ...]
    values: dict[str, np.ndarray]

    def mean(self, similarity: str = "spearman") -> np.ndarray:
        """The similarity per step, averaged over the maps."""
        return self.values[similarity].mean(axis=1)

    def to_dict(self) -> dict:
        return {"layers": list(self.layers),
                **{name: [float(v) for v in self.mean(name)] for name in self.values}}


def randomisation_curve(trained: np.ndarray, randomised: Sequence[np.ndarray], *,
                        layers: Sequence[str]) -> RandomisationCurve:
    """Similarities of the trained model's maps with the maps of each cascading step.

    Parameters
    ----------
    trained : ndarray (N, H, W) or (H, W)
        The maps of the trained model.
    randomised : sequence of ndarray like ``trained``
        The maps of the same inputs after each step of the cascade.
    layers : sequence of str
        What each step re-initialised (labels; as many as steps).

    Returns
    -------
    RandomisationCurve

    References
    ----------
    Adebayo et al., NeurIPS 2018 (cascading randomisation, Spearman of absolute values, SSIM).
    """
    trained = np.asarray(trained)
    if len(layers) != len(randomised):
        raise ValueError(f"{len(layers)} layer labels for {len(randomised)} steps")
    maps = trained[None] if trained.ndim == 2 else trained
    values = {}
    for name, similarity in SIMILARITIES.items():
        rows = []
        for step in randomised:
            step = np.asarray(step)
            step = step[None] if step.ndim == 2 else step
            if step.shape != maps.shape:
                raise ValueError(f"randomised maps {step.shape} differ from the trained ones {maps.shape}")
            rows.append([similarity(a, b) for a, b in zip(maps, step)])
        values[name] = np.asarray(rows, np.float64).reshape(len(randomised), len(maps))
    return RandomisationCurve(tuple(layers), values)


#: Below this Spearman correlation (of |relevance|, trained against randomised) a map counts as changed. ρ < 0.5
#: means the two rankings share less than a quarter of their variance (ρ² < 0.25): most of the map's ordering
#: went with the randomised layers. Sixt et al. find that the maps which ignore the top layers stay nearly
#: identical (correlations close to 1), and a map of an image keeps some correlation with any other map of it
#: through the image's own structure, so the cut sits well between the two; it is a convention, not a test.
RANDOMISATION_THRESHOLD = 0.5


@dataclass(frozen=True)
class RandomisationVerdict:
    """Whether the maps depend on the model's top layers, read off one step of a :class:`RandomisationCurve`."""

    #: True: changed (the map depends on those layers); False: unchanged; None: no maps to judge.
    depends: bool | None
    #: The mean Spearman correlation at the judged step.
    spearman: float
    #: The layers re-initialised by then, top first.
    layers: tuple[str, ...]
    threshold: float

    @property
    def sentence(self) -> str:
        """A plain sentence for a page or a table."""
        if self.depends is None:
            return "No maps to compare: the randomisation test was not run."
        span = self.layers[0] if len(self.layers) == 1 else f"{self.layers[0]} to {self.layers[-1]}"
        if self.depends:
            return (f"The map depends on the model's top layers: with {span} randomised it changes "
                    f"(Spearman {self.spearman:.2f} < {self.threshold:g}).")
        return (f"The map does not depend on the model's top layers: with {span} randomised it stays much the "
                f"same (Spearman {self.spearman:.2f} ≥ {self.threshold:g}).")

    def to_dict(self) -> dict:
        return {"depends_on_top_layers": self.depends, "spearman": self.spearman, "layers": list(self.layers),
                "threshold": self.threshold, "sentence": self.sentence}


def randomisation_verdict(curve: RandomisationCurve, *, top: int = 1,
                          threshold: float = RANDOMISATION_THRESHOLD) -> RandomisationVerdict:
    """Whether the maps changed once the ``top`` first steps of the cascade were randomised.

    The rule: the map *depends on the top layers* when the mean Spearman
    correlation of |relevance| between the trained model and the model with
    its ``top`` topmost steps re-initialised is below ``threshold``
    (:data:`RANDOMISATION_THRESHOLD`; Adebayo et al. 2018, Sixt et al. 2020).
    For the VGG classifiers :func:`cracklib.run.faithfulness_report` takes
    ``top`` = the layers of the classifier head.
    """
    if not 1 <= top:
        raise ValueError(f"top must be at least 1, got {top}")
    if not curve.layers or curve.values["spearman"].size == 0:
        return RandomisationVerdict(None, float("nan"), (), threshold)
    step = min(top, len(curve.layers)) - 1
    spearman = float(curve.mean("spearman")[step])
    return RandomisationVerdict(bool(spearman < threshold), spearman, curve.layers[:step + 1], threshold)
