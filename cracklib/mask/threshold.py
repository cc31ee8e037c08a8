"""Thresholds that turn a relevance map into a crack mask.

Every thresholder takes a 2-D relevance map (crack evidence positive) and returns
a :class:`Thresholded`: a score map in [0, 1] (for precision-recall curves) and
a boolean mask. They are registered by name in :data:`THRESHOLDS`.

``support`` (optional, boolean like the map) says where the map holds an
explanation: a tiled photo explains only the tiles the classifier gated in, and
the rest of its map is zeros that would otherwise dominate every statistic. The
cut is then found from the supported pixels only, and nothing outside them is crack.

References
----------
Seibold, C. et al., "From Explanations to Segmentation: Using Explainable AI for
Image Segmentation", VISAPP 2022 (Simple, GMM and BMM thresholds, Sec. 3.2).
Ridler, T. W. & Calvard, S., "Picture thresholding using an iterative selection
method", IEEE TSMC 1978 (iterative intermeans, ``simple``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import stats
from skimage.filters import threshold_isodata, threshold_otsu
from sklearn.mixture import GaussianMixture

from cracklib.mask.morphology import box_mean

__all__ = ["Thresholded", "THRESHOLDS", "apply_threshold", "simple_threshold", "otsu_threshold",
           "percentile_threshold", "fixed_threshold", "probability_threshold", "gaussian_mixture_threshold",
           "beta_mixture_threshold"]


#: Pixels used to fit a mixture; more only costs time (the fit is per image).
_MAX_FIT_PIXELS = 20_000


#: Points at which a fitted mixture's posterior is evaluated before it is interpolated to every pixel.
_POSTERIOR_GRID = 4097


@dataclass
class Thresholded:
    """A score map in [0, 1] and the binary mask taken from it."""

    score: np.ndarray
    mask: np.ndarray
    #: The cut in units of ``score`` (0.5 for the posterior-based mixtures).
    threshold: float
    #: Side of the darkness square the mask was refined with on the photo (:mod:`cracklib.mask.refine`); None while
    #: it is the threshold's cut alone.
    darkness_width: int | None = None
    #: The crack polarity ("dark" or "bright") it was refined for (:mod:`cracklib.mask.refine`); None likewise.
    polarity: str | None = None


def _positive_scaled(relevance: np.ndarray) -> np.ndarray:
    """Negatives to zero, then divided by the maximum: crack evidence in [0, 1]."""
    # float32 and in place: a 12 MP map in float64 costs three 96 MB passes for no visible difference.
    positive = np.maximum(np.asarray(relevance, dtype=np.float32), 0)
    top = positive.max()
    if top > 0:
        positive /= top
    return positive


def _cut(score: np.ndarray, threshold: float, support: np.ndarray | None = None) -> Thresholded:
    if support is not None:
        score[~support] = 0.0
    return Thresholded(score=score, mask=score > threshold, threshold=float(threshold))


def _supported(values: np.ndarray, support: np.ndarray | None) -> np.ndarray:
    return values if support is None else values[support]


def simple_threshold(relevance: np.ndarray, *, support: np.ndarray | None = None) -> Thresholded:
    """Iterative intermeans (isodata) on the positive relevance (Seibold et al.'s "Simple").

    The cut is where it equals the mean of the two class means, found by
    iteration from the global mean (``skimage.filters.threshold_isodata``).
    """
    score = _positive_scaled(relevance)
    if score.max() <= 0:
        return _cut(score, 1.0)
    return _cut(score, threshold_isodata(_supported(score, support)), support)


def otsu_threshold(relevance: np.ndarray, *, support: np.ndarray | None = None) -> Thresholded:
    """Otsu's between-class-variance cut on the positive relevance."""
    score = _positive_scaled(relevance)
    if score.max() <= 0:
        return _cut(score, 1.0)
    return _cut(score, threshold_otsu(_supported(score, support)), support)


def percentile_threshold(relevance: np.ndarray, *, percentile: float = 95.0,
                         support: np.ndarray | None = None) -> Thresholded:
    """Keep the pixels above the given percentile of the positive relevance."""
    score = _positive_scaled(relevance)
    cut = np.percentile(_supported(score, support), percentile) if score.max() > 0 else 1.0
    return _cut(score, cut, support)


def fixed_threshold(relevance: np.ndarray, *, value: float = 0.25, support: np.ndarray | None = None) -> Thresholded:
    """Keep pixels above ``value`` times the map's maximum positive relevance."""
    return _cut(_positive_scaled(relevance), value, support)


def probability_threshold(relevance: np.ndarray, *, value: float = 0.5,
                          support: np.ndarray | None = None) -> Thresholded:
    """Keep pixels whose value passes ``value``, not rescaled: for maps that are probabilities already
    (the segmentation networks ``unet`` and ``distilled``), whose own decision is 0.5."""
    return _cut(np.clip(np.asarray(relevance, dtype=np.float64), 0, 1), value, support)


def _posterior_per_pixel(values: np.ndarray, posterior: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``posterior(values)`` for millions of pixels at the cost of a few thousand.

    The posterior of a fitted 1-D mixture is a function of the pixel's value
    alone, so it is evaluated on a fine grid over the values' range and
    interpolated (a 12 MP map: 0.1 s instead of seconds). Where the mask is
    decided, it is exact: the pixels of every grid cell whose ends lie on
    different sides of 0.5, or differ by more than 0.05 (a hard assignment's
    step), get the posterior itself.
    """
    if values.size <= _POSTERIOR_GRID:
        return posterior(values)
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return posterior(values)
    grid = np.linspace(low, high, _POSTERIOR_GRID)
    on_grid = posterior(grid)
    # The grid is uniform: a pixel's cell and its place in it are arithmetic (no search).
    position = (values - low) * ((_POSTERIOR_GRID - 1) / (high - low))
    cell = np.minimum(position.astype(np.int64), _POSTERIOR_GRID - 2)
    fraction = position - cell
    score = on_grid[cell] * (1 - fraction) + on_grid[cell + 1] * fraction
    rough = ((on_grid[:-1] > 0.5) != (on_grid[1:] > 0.5)) | (np.abs(np.diff(on_grid)) > 0.05)
    exact = rough[cell]
    if exact.any():
        score[exact] = posterior(values[exact])
    return score


def _fit_sample(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    flat = values.ravel()
    if flat.size > _MAX_FIT_PIXELS:
        flat = rng.choice(flat, _MAX_FIT_PIXELS, replace=False)
    return flat


def gaussian_mixture_threshold(relevance: np.ndarray, *, n_components: int = 3, filter_size: int = 5,
                               seed: int = 0, support: np.ndarray | None = None) -> Thresholded:
    """Seibold et al.'s GMM threshold.

    A ``filter_size``² mean filter, a ``n_components`` Gaussian mixture with
    k-means initialisation (scikit-learn); the crack component is the one most
    likely at the map's maximum, and a pixel is crack where that component's
    posterior exceeds 0.5. The score map is that posterior.
    """
    smoothed = box_mean(relevance, filter_size)
    fitted = _supported(smoothed, support)
    if fitted.size == 0 or np.ptp(fitted) <= 0:
        return _cut(np.zeros_like(smoothed), 0.5)
    center, spread = fitted.mean(), fitted.std()
    sample = _fit_sample((fitted - center) / spread, np.random.default_rng(seed))  # scale-free fit
    n = min(n_components, len(np.unique(sample)))
    gmm = GaussianMixture(n_components=n, init_params="kmeans", random_state=seed, reg_covar=1e-6)
    gmm.fit(sample.reshape(-1, 1))
    crack = int(np.argmax(gmm.predict_proba([[(fitted.max() - center) / spread]])[0]))
    # A broad crack component also wins the far-low tail (strongly negative
    # relevance); evidence is monotone, so nothing below another component's
    # centre is crack.
    others = np.delete(gmm.means_[:, 0], crack)
    floor = others.max() if others.size else -np.inf

    def crack_posterior(values: np.ndarray) -> np.ndarray:
        standard = (values - center) / spread
        chances = gmm.predict_proba(standard.reshape(-1, 1))[:, crack]
        chances[standard < floor] = 0.0
        return chances

    posterior = np.zeros_like(smoothed)
    if support is None:
        posterior[...] = _posterior_per_pixel(smoothed.ravel(), crack_posterior).reshape(smoothed.shape)
    else:
        posterior[support] = _posterior_per_pixel(fitted, crack_posterior)
    return _cut(posterior, 0.5)


def _beta_moments(x: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """Weighted method-of-moments estimate of Beta(a, b)."""
    total = weights.sum()
    if total <= 1e-12:
        return 1.0, 1.0
    mean = float(np.sum(weights * x) / total)
    var = float(np.sum(weights * (x - mean) ** 2) / total)
    mean = min(max(mean, 1e-4), 1 - 1e-4)
    var = min(max(var, 1e-6), mean * (1 - mean) * 0.999)
    common = mean * (1 - mean) / var - 1
    return max(mean * common, 1e-3), max((1 - mean) * common, 1e-3)


def beta_mixture_threshold(relevance: np.ndarray, *, filter_size: int = 5, drop_fraction: float = 0.5,
                           background_interval: float = 0.9, iterations: int = 50,
                           tolerance: float = 1e-5, support: np.ndarray | None = None) -> Thresholded:
    """Seibold et al.'s two-component beta mixture (BMM) threshold.

    Steps, as in the paper: a ``filter_size``² mean filter; negatives to zero; the
    lowest ``drop_fraction`` of pixels are set aside as background; the rest is
    rescaled to [0, 1]; a two-component beta mixture is fitted by EM with a
    modified E-step. Pixels above the damage component's mean are assigned to
    damage outright and pixels inside the background component's lower
    ``background_interval`` to background; the others are split by the
    mass-weighted component densities. The M-step is a weighted method of moments.

    scipy has the beta distribution but no beta-mixture EM, hence this loop.

    Returns
    -------
    Thresholded
        score = damage posterior (0 for the pixels set aside), mask = score > 0.5.
    """
    smoothed = np.clip(box_mean(relevance, filter_size), 0, None)
    score = np.zeros_like(smoothed)
    fitted = _supported(smoothed, support)
    if fitted.size == 0:
        return _cut(score, 0.5)
    cut = np.quantile(fitted, drop_fraction)
    kept = smoothed > cut if support is None else (smoothed > cut) & support
    if kept.sum() < 10 or smoothed.max() <= cut:
        return _cut(score, 0.5)
    values = smoothed[kept]
    x = np.clip((values - values.min()) / (values.max() - values.min() + 1e-12), 1e-4, 1 - 1e-4)
    sample = _fit_sample(x, np.random.default_rng(0))
    # Start from a split at the mean: background below, damage above.
    responsibility = (sample > sample.mean()).astype(float)
    log_likelihood = -np.inf
    for _ in range(iterations):
        params = [_beta_moments(sample, 1 - responsibility), _beta_moments(sample, responsibility)]
        mass = np.clip([1 - responsibility.mean(), responsibility.mean()], 1e-6, None)
        responsibility, new_ll = _beta_e_step(sample, params, mass, background_interval)
        if abs(new_ll - log_likelihood) < tolerance * max(1.0, abs(new_ll)):
            break
        log_likelihood = new_ll
    params = [_beta_moments(sample, 1 - responsibility), _beta_moments(sample, responsibility)]
    mass = np.clip([1 - responsibility.mean(), responsibility.mean()], 1e-6, None)
    score[kept] = _posterior_per_pixel(x, lambda v: _beta_e_step(v, params, mass, background_interval)[0])
    return _cut(score, 0.5)


def _beta_e_step(x, params, mass, background_interval):
    """Damage posterior with Seibold et al.'s hard assignments; also the log-likelihood."""
    (a0, b0), (a1, b1) = params
    background = mass[0] * stats.beta.pdf(x, a0, b0)
    damage = mass[1] * stats.beta.pdf(x, a1, b1)
    total = background + damage
    posterior = np.divide(damage, total, out=(x > 0.5).astype(float), where=total > 0)
    posterior[x <= stats.beta.ppf(background_interval, a0, b0)] = 0.0
    posterior[x >= a1 / (a1 + b1)] = 1.0
    return posterior, float(np.sum(np.log(total + 1e-300)))


#: name → thresholder(relevance) -> Thresholded
THRESHOLDS: dict[str, Callable[..., Thresholded]] = {
    "simple": simple_threshold,
    "gmm": gaussian_mixture_threshold,
    "bmm": beta_mixture_threshold,
    "otsu": otsu_threshold,
    "percentile": percentile_threshold,
    "fixed": fixed_threshold,
    "probability": probability_threshold,
}


def apply_threshold(relevance: np.ndarray, name: str = "simple", *, support: np.ndarray | None = None,
                    **options) -> Thresholded:
    """Threshold ``relevance`` with the thresholder registered as ``name``, fitted on ``support`` if given."""
    if name not in THRESHOLDS:
        raise ValueError(f"unknown threshold {name!r}; choose from {', '.join(THRESHOLDS)}")
    relevance = np.asarray(relevance)
    if relevance.ndim != 2:
        raise ValueError(f"relevance must be a 2-D map, got shape {relevance.shape}")
    if support is not None:
        support = np.asarray(support, bool)
        if support.shape != relevance.shape:
            raise ValueError(f"support {support.shape} does not match the relevance map {relevance.shape}")
        if support.all():
            support = None  # every pixel explained: the plain (faster) fit
    return THRESHOLDS[name](relevance, support=support, **options)
