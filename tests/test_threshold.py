import numpy as np
import pytest

from cracklib.mask import THRESHOLDS, apply_threshold


def _line_map(rng, noise=0.1):
    truth = np.zeros((80, 80), bool)
    truth[38:42, :] = True
    return rng.normal(0, noise, truth.shape) + 2.0 * truth, truth


@pytest.mark.parametrize("name", ["simple", "otsu"])
def test_bimodal_histogram_splits_between_modes(name, rng):
    values = np.concatenate([rng.normal(0.2, 0.02, 900), rng.normal(0.8, 0.02, 100)]).reshape(40, 25)
    result = apply_threshold(values, name)
    cut = result.threshold * values.max()  # score is relevance / max
    # any cut between the modes separates them equally well
    assert values[values < 0.5].max() <= cut < values[values > 0.5].min()
    assert result.mask.sum() == 100


@pytest.mark.parametrize("name", list(THRESHOLDS))
def test_score_in_unit_range_and_mask_finds_the_line(name, rng):
    relevance, truth = _line_map(rng)
    result = apply_threshold(relevance, name)
    assert result.score.shape == truth.shape
    assert 0 <= result.score.min() and result.score.max() <= 1
    assert result.mask.dtype == bool
    recall = (result.mask & truth).sum() / truth.sum()
    assert recall > 0.9


@pytest.mark.parametrize("name", ["gmm", "bmm"])
def test_mixtures_separate_a_known_mixture(name, rng):
    relevance, truth = _line_map(rng, noise=0.3)
    result = apply_threshold(relevance, name)
    inside = result.mask[truth].mean()
    # the 5x5 mean filter widens the line by two rows each side at most
    far = np.ones_like(truth)
    far[34:46, :] = False
    assert inside > 0.9
    assert result.mask[far].mean() < 0.01


def test_gmm_ignores_strong_negative_relevance(rng):
    relevance, truth = _line_map(rng)
    relevance[5:10, 5:10] = -5.0  # evidence against a crack
    result = apply_threshold(relevance, "gmm")
    assert not result.mask[5:10, 5:10].any()


@pytest.mark.parametrize("name", list(THRESHOLDS))
def test_empty_or_negative_map_gives_empty_mask(name):
    assert not apply_threshold(np.zeros((20, 20)), name).mask.any()
    assert not apply_threshold(-np.ones((20, 20)), name).mask.any()


def test_bad_input():
    with pytest.raises(ValueError, match="unknown threshold"):
        apply_threshold(np.zeros((3, 3)), "magic")
    with pytest.raises(ValueError, match="2-D"):
        apply_threshold(np.zeros((3, 3, 3)), "simple")


def test_interpolated_posterior_decides_every_pixel_as_the_exact_one():
    from cracklib.mask.threshold import _posterior_per_pixel

    values = np.random.default_rng(0).normal(size=200_000)

    def posterior(x):  # a smooth rise, and a hard assignment's step as in the beta mixture
        out = 1 / (1 + np.exp(-8 * (x - 0.3)))
        out[x > 1.7] = 1.0
        out[x < -0.5] = 0.0
        return out

    fast, exact = _posterior_per_pixel(values, posterior), posterior(values)
    assert ((fast > 0.5) == (exact > 0.5)).all()
    assert np.abs(fast - exact).max() < 0.01  # the score map, for PR curves
