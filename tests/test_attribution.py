import threading

import numpy as np
import pytest
import torch

from cracklib.explain import (
    BASELINES,
    METHODS,
    AttributionSettings,
    DamageFree,
    attribute,
    baseline_distribution,
    baseline_for,
)
from cracklib.nets import Normalization


@pytest.fixture
def damage_free(rng):
    return DamageFree.from_images(rng.random((6, 3, 32, 32)), sample_size=4)


@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_gives_a_map_at_input_resolution(random_model, bcos_model, method, damage_free):
    from cracklib.nets import UNet11

    x = torch.randn(2, 3, 64, 64)
    settings = AttributionSettings(baseline="damage_free_sample", damage_free=damage_free, steps=8, samples=4,
                                   explainer=UNet11(0.0625).eval() if method == "nn_explainer" else None)
    # bcos explains a B-cos network only (tests/test_bcos.py checks that it refuses the others).
    model = bcos_model if method == "bcos" else random_model
    relevance = attribute(model, x, method, settings)
    assert relevance.shape == (2, 64, 64)
    assert np.isfinite(relevance).all()
    assert np.abs(relevance).max() > 0


def test_integrated_gradients_is_complete(random_model):
    """IG's attributions add up to f(x) - f(baseline) (its completeness axiom)."""
    x = torch.randn(1, 3, 64, 64)
    settings = AttributionSettings(baseline="black", steps=200)
    relevance = attribute(random_model, x, "integrated_gradients", settings)
    baseline = baseline_for("black", x, settings.normalization)
    with torch.no_grad():
        delta = (random_model(x)[0, 1] - random_model(baseline)[0, 1]).item()
    assert relevance.sum() == pytest.approx(delta, rel=0.05, abs=1e-3)


def test_baselines(rng, damage_free):
    norm = Normalization()
    x = torch.randn(2, 3, 16, 16)
    assert torch.allclose(norm.denormalize(baseline_for("black", x, norm)), torch.zeros_like(x), atol=1e-6)
    assert torch.equal(baseline_for("zeros", x, norm), torch.zeros_like(x))
    blur = norm.denormalize(baseline_for("blur", x, norm))
    assert blur.std() < norm.denormalize(x).std()
    # The damage-free references are stored at 32 px: halved to the input's 16 px, each pixel is the mean of
    # a 2×2 block (bilinear at a factor of 2), the same reference for every input.
    def halved(pixels):
        return torch.from_numpy(pixels.reshape(*pixels.shape[:-2], 16, 2, 16, 2).mean(axis=(-3, -1)))

    mean = norm.denormalize(baseline_for("damage_free_mean", x, norm, damage_free))
    assert mean.shape == x.shape
    torch.testing.assert_close(mean, halved(damage_free.mean).expand_as(x), rtol=0, atol=1e-5)
    sample = norm.denormalize(baseline_distribution("damage_free_sample", x, norm, damage_free))
    torch.testing.assert_close(sample, halved(damage_free.sample), rtol=0, atol=1e-5)
    assert sample.shape == (4, 3, 16, 16)
    with pytest.raises(ValueError, match="damage-free"):
        baseline_for("damage_free_mean", x, norm, None)
    assert set(BASELINES) >= {"zeros", "black", "blur", "damage_free_mean", "damage_free_sample"}


def _hooks(model):
    return sum(len(m._forward_hooks) + len(m._backward_hooks) + len(m._forward_pre_hooks)
               for m in model.modules())


# zennit's backend registers hooks (the fast one sets none): the claims are tested where they can fail.
@pytest.mark.parametrize("backend", ["zennit", "fast"])
def test_hooks_are_removed_even_after_an_error(random_model, backend):
    before = {k: v.clone() for k, v in random_model.state_dict().items()}
    settings = AttributionSettings(lrp_backend=backend)
    attribute(random_model, torch.randn(1, 3, 64, 64), "lrp", settings)
    assert _hooks(random_model) == 0
    with pytest.raises(RuntimeError):
        attribute(random_model, torch.randn(1, 5, 64, 64), "lrp", settings)  # wrong channel count
    assert _hooks(random_model) == 0
    for key, value in random_model.state_dict().items():
        assert torch.equal(value, before[key])


@pytest.mark.parametrize("backend", ["zennit", "fast"])
def test_concurrent_threads_on_one_model_get_their_own_answers(random_model, backend):
    x = torch.randn(1, 3, 64, 64)
    rule_sets = ["seibold", "montavon", "epsilon_plus_flat", "forest"] * 2
    expected = {r: attribute(random_model, x, "lrp", AttributionSettings(rules=r, lrp_backend=backend))
                for r in set(rule_sets)}
    results, errors = {}, []

    def work(index, rule_set):
        try:
            results[index] = attribute(random_model, x, "lrp", AttributionSettings(rules=rule_set, lrp_backend=backend))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i, r)) for i, r in enumerate(rule_sets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for index, rule_set in enumerate(rule_sets):
        np.testing.assert_allclose(results[index], expected[rule_set], rtol=1e-5, atol=1e-7)


def test_unknown_method(random_model):
    with pytest.raises(ValueError, match="unknown attribution method"):
        attribute(random_model, torch.randn(1, 3, 64, 64), "magic")
