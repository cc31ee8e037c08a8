"""Faithfulness, localisation and randomisation scores: Quantus 0.6.0 as the reference on small inputs,
hand-made cases, and the report on the pipeline's explanations of photos."""
from __future__ import annotations

import dataclasses
import json
import time
import warnings

import numpy as np
import pytest
import quantus
import torch
from quantus.functions.perturb_func import noisy_linear_imputation as quantus_imputation
from quantus.helpers.model.pytorch_model import PyTorchModel
from torch import nn

from cracklib.explain import METHODS, attribute, baseline_for
from cracklib.io import crack_image, read_image, read_mask
from cracklib.io.synthetic import bundled_samples
from cracklib.measure import (
    LOCALISATION_KEYS,
    RANDOMISATION_THRESHOLD,
    blur_fill,
    deletion_curve,
    insertion_curve,
    localisation_scores,
    noisy_linear_imputation,
    pointing_game,
    randomisation_curve,
    randomisation_verdict,
    relevance_mass_accuracy,
    relevance_rank_accuracy,
    road_curves,
    spearman_similarity,
    ssim_similarity,
)
from cracklib.nets import ModelCard, Normalization
from cracklib.pipeline import Classifier, ExplanationSettings, explain, load_classifier
from cracklib.run import (
    FAITHFULNESS_KEYS,
    cascade_steps,
    crack_score,
    faithfulness_report,
    mean_scores,
    randomised_models,
)

#: Quantus and cracklib score the same float32 network outputs; the curves agree to float32 rounding.
ATOL = 1e-5


def _cnn(channels: int = 3, seed: int = 0) -> nn.Module:
    """A tiny seeded CNN (two outputs, class 1 the one explained) with weights large enough that its crack
    probability moves as pixels are replaced (a default-initialised one barely does)."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(channels, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(128, 16), nn.ReLU(), nn.Linear(16, 2))
    with torch.no_grad():
        for module in net:
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                module.weight.normal_(0, 1.5 / module.weight[0].numel() ** 0.5)
                module.bias.normal_(0, 0.5)
    return net.eval()


def _linear(weights: np.ndarray, bias: float) -> nn.Module:
    """Logits (0, w·x + b) of a one-channel image: its class flips as the pixels w·x relies on are removed."""
    net = nn.Sequential(nn.Flatten(), nn.Linear(weights.size, 2))
    with torch.no_grad():
        net[1].weight.zero_()
        net[1].weight[1] = torch.as_tensor(weights.ravel(), dtype=torch.float32)
        net[1].bias.copy_(torch.tensor([0.0, bias]))
    return net.eval()


def _score(net: nn.Module):
    """Channel-last batches → the softmax probability of class 1 (Quantus's ``softmax=True`` prediction)."""
    def score(batch):
        with torch.no_grad():
            inputs = torch.as_tensor(np.asarray(batch, np.float32)).permute(0, 3, 1, 2)
            return torch.softmax(net(inputs), dim=1)[:, 1].numpy()
    return score


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# --- Quantus 0.6.0 as the reference ---------------------------------------------------------------------------


def test_deletion_is_quantus_pixel_flipping():
    """Quantus flips channel values (the map broadcast over the 3 channels, argsort over C·H·W, ``features_in_step``
    dividing H·W): after every third of its 64-value steps it has flipped 64 whole pixels, where this deletion's
    16 steps of 64 pixels land. Its "black" is the image's minimum."""
    rng = np.random.default_rng(0)
    net = _cnn()
    x = rng.random((4, 3, 32, 32)).astype(np.float32)
    a = rng.standard_normal((4, 1, 32, 32)).astype(np.float32)
    theirs = np.array(quantus.PixelFlipping(features_in_step=64, perturb_baseline="black", disable_warnings=True)(
        model=net, x_batch=x, y_batch=np.ones(4, int), a_batch=a, device="cpu"))
    assert theirs.shape == (4, 48)
    for image, relevance, curve in zip(x, a[:, 0], theirs):
        image = image.transpose(1, 2, 0)
        ours = deletion_curve(image, relevance, _score(net), fill=image.min(), steps=16)
        assert ours.fractions[0] == 0 and ours.fractions[-1] == 1 and len(ours.scores) == 17
        np.testing.assert_allclose(ours.scores[1:], curve[2::3], atol=ATOL)
        assert np.ptp(ours.scores) > 0.3  # the curve moves: an ordering bug would show


def test_deletion_auc_is_quantus_auc_in_its_own_units(monkeypatch):
    """On one-channel images every Quantus step is one of ours; its AUC (trapezoid, unit spacing, no unperturbed
    point) is ours × steps minus the first trapezoid."""
    # Quantus 0.6.0 calls np.trapz, which numpy 2 removed; np.trapezoid is the same function.
    monkeypatch.setattr(np, "trapz", np.trapezoid, raising=False)
    rng = np.random.default_rng(1)
    x = rng.random((5, 1, 32, 32)).astype(np.float32)
    weights = rng.standard_normal((32, 32)) * 0.05
    net = _linear(weights, 1.0 - float((weights * x[:, 0]).sum((1, 2)).mean()))
    a = (weights * x[:, 0])[:, None].astype(np.float32)  # input × gradient
    options = {"features_in_step": 64, "perturb_baseline": "black", "disable_warnings": True}
    data = {"model": net, "x_batch": x, "y_batch": np.ones(5, int), "a_batch": a, "device": "cpu"}
    curves = np.array(quantus.PixelFlipping(**options)(**data))
    areas = np.array(quantus.PixelFlipping(return_auc_per_sample=True, **options)(**data))
    for image, relevance, curve, area in zip(x, a[:, 0], curves, areas):
        ours = deletion_curve(image.transpose(1, 2, 0), relevance, _score(net), fill=image.min(), steps=16)
        np.testing.assert_allclose(ours.scores[1:], curve, atol=ATOL)
        assert ours.auc * 16 - (ours.scores[0] + ours.scores[1]) / 2 == pytest.approx(area, abs=1e-4)
        assert np.ptp(ours.scores) > 0.3


def test_noisy_linear_imputation_is_quantus():
    rng = np.random.default_rng(2)
    image = rng.random((3, 24, 32)) * 255
    removed = np.zeros(24 * 32, bool)
    removed[rng.choice(removed.size, 500, replace=False)] = True
    removed[:40] = True  # a run along the border, whose neighbours fall outside
    theirs = quantus_imputation(image, np.flatnonzero(removed), noise=0.0)
    ours = noisy_linear_imputation(image.transpose(1, 2, 0), removed.reshape(24, 32))
    np.testing.assert_allclose(ours, theirs.transpose(1, 2, 0), atol=1e-8)
    kept = ~removed.reshape(24, 32)
    assert np.array_equal(ours[kept], image.transpose(1, 2, 0)[kept])
    # The noise goes on the imputed pixels only, with the asked standard deviation.
    noisy = noisy_linear_imputation(image.transpose(1, 2, 0), removed.reshape(24, 32), noise=5.0, rng=0)
    assert np.array_equal(noisy[kept], ours[kept])
    assert np.std(noisy[~kept] - ours[~kept]) == pytest.approx(5.0, rel=0.1)


def test_road_is_quantus_road():
    """Quantus's ROAD (noise 0) says per percentage whether the class stayed the label; ours gives the probability,
    so the two agree on which side of 0.5 it is. Quantus's ROAD only runs on one-channel images (its imputation
    takes the map's channel-value indices as pixel indices), and it has no LeRF: that is its ROAD on −relevance."""
    rng = np.random.default_rng(3)
    x = rng.random((6, 1, 32, 32)).astype(np.float32)
    weights = rng.standard_normal((32, 32)) * 0.05
    net = _linear(weights, 0.8 - float((weights * x[:, 0]).sum((1, 2)).mean()))
    a = (weights * x[:, 0])[:, None].astype(np.float32)
    percentages = [10, 30, 50, 70, 90]
    ours = [road_curves(image.transpose(1, 2, 0), relevance, _score(net), percentages=percentages)
            for image, relevance in zip(x, a[:, 0])]
    outcomes = {}
    for sign, order in ((1, "morf"), (-1, "lerf")):
        theirs = quantus.ROAD(percentages=percentages, noise=0.0, disable_warnings=True)(
            model=net, x_batch=x, y_batch=np.ones(6, int), a_batch=sign * a, device="cpu")
        kept = np.array([getattr(curves, order).scores[1:] > 0.5 for curves in ours])
        np.testing.assert_allclose(kept.mean(axis=0), [theirs[p] for p in percentages])
        outcomes[order] = kept
    assert outcomes["morf"].any() and not outcomes["morf"].all()  # the class flips somewhere: not a vacuous match
    assert all(curves.gap > 0 for curves in ours)  # input × gradient of a linear model is faithful


def test_localisation_scores_are_quantus():
    rng = np.random.default_rng(4)
    net = _cnn()
    x = rng.random((6, 3, 32, 32)).astype(np.float32)
    a = rng.standard_normal((6, 1, 32, 32)).astype(np.float32)
    s = np.zeros((6, 1, 32, 32))
    for mask in s[:, 0]:
        top, left = rng.integers(0, 20, 2)
        mask[top:top + 10, left:left + 6] = 1
    a[:3, 0][s[:3, 0] > 0] += 3  # half the maps point into their mask
    data = {"model": net, "x_batch": x, "y_batch": np.ones(6, int), "s_batch": s, "device": "cpu"}
    # Relevance mass accuracy counts the positive relevance: Quantus's of the map clipped at 0.
    mass = quantus.RelevanceMassAccuracy(disable_warnings=True)(a_batch=np.clip(a, 0, None), **data)
    rank = quantus.RelevanceRankAccuracy(disable_warnings=True)(a_batch=a, **data)
    hits = quantus.PointingGame(disable_warnings=True)(a_batch=a, **data)
    truths = s[:, 0] > 0
    np.testing.assert_allclose([relevance_mass_accuracy(r, t) for r, t in zip(a[:, 0], truths)], mass, rtol=1e-5)
    np.testing.assert_allclose([relevance_rank_accuracy(r, t) for r, t in zip(a[:, 0], truths)], rank)
    assert [pointing_game(r, t, tolerance=0) for r, t in zip(a[:, 0], truths)] == [bool(h) for h in hits]
    assert 0 < sum(bool(h) for h in hits) < 6


def test_randomisation_similarities_are_quantus_on_given_maps():
    """The deterministic part of Quantus's MPRT: its similarity functions on |map| / max |map| (its ``abs`` and
    ``normalise_by_max``), here Spearman and SSIM of pairs of maps."""
    rng = np.random.default_rng(5)
    for _ in range(4):
        a = rng.standard_normal((32, 32))
        b = 0.6 * a + rng.standard_normal((32, 32))
        a_, b_ = (np.abs(m) / np.abs(m).max() for m in (a, b))
        assert spearman_similarity(a, b) == pytest.approx(quantus.similarity_func.correlation_spearman(
            a_.ravel(), b_.ravel()), abs=1e-12)
        assert ssim_similarity(a, b) == pytest.approx(quantus.similarity_func.ssim(a_, b_), abs=1e-12)
        # Scale and sign do not matter; a map is its own perfect match.
        assert spearman_similarity(a, -3 * a) == pytest.approx(1.0)
        assert ssim_similarity(a, 7 * a) == pytest.approx(1.0)


def test_randomisation_curve_is_quantus_mprt_on_the_same_randomised_models():
    """Quantus's MPRT end to end (top-down cascade, Spearman of |input × gradient|), against our curve on the maps
    of the models Quantus's own generator randomises; our cascade visits its layers in the same order."""
    rng = np.random.default_rng(6)
    net = _cnn()
    x = rng.random((3, 3, 32, 32)).astype(np.float32)
    y = np.ones(3, int)

    def explain_func(model, inputs, targets, **kwargs):
        return attribute(model, torch.as_tensor(inputs), "input_x_gradient")[:, None]

    theirs = []
    for i in range(3):  # one image a call: Quantus normalises a whole batch by one maximum
        result = quantus.MPRT(layer_order="top_down", seed=42, disable_warnings=True)(
            model=net, x_batch=x[i:i + 1], y_batch=y[i:i + 1], a_batch=None, explain_func=explain_func, device="cpu")
        assert result["original"] == [pytest.approx(1.0)]
        theirs.append([values[0] for layer, values in result.items() if layer != "original"])
    layers, maps = [], []
    for layer, model in PyTorchModel(net, channel_first=True, device="cpu").get_random_layer_generator(
            order="top_down", seed=42):
        layers.append(layer)
        maps.append(explain_func(model, x, y)[:, 0])
    assert [step.label for step in cascade_steps(net)] == layers == ["8", "6", "2", "0"]
    ours = randomisation_curve(explain_func(net, x, y)[:, 0], maps, layers=layers)
    np.testing.assert_allclose(ours.values["spearman"], np.array(theirs).T, atol=1e-4)
    assert ours.values["spearman"].max() < 0.9  # the maps did change


# --- hand-made cases ------------------------------------------------------------------------------------------


def test_a_map_equal_to_the_mask_localises_perfectly():
    _, truth = crack_image((64, 64), rng=5)
    scores = localisation_scores(truth.astype(float), truth, tolerance=0)
    assert scores == {"relevance_mass_accuracy": 1.0, "relevance_rank_accuracy": 1.0, "pointing_game": 1.0}
    inverse = localisation_scores((~truth).astype(float), truth, tolerance=0)
    assert inverse == {"relevance_mass_accuracy": 0.0, "relevance_rank_accuracy": 0.0, "pointing_game": 0.0}
    assert all(np.isnan(v) for v in localisation_scores(truth, np.zeros_like(truth)).values())


def _dark_pixel_score(batch):
    """A hand-built crack score: it rises with the number of crack-dark pixels (grey < 95)."""
    dark = (np.asarray(batch, np.float64).mean(axis=-1) < 95).sum(axis=(1, 2))
    return 1 - np.exp(-dark / 20)


def test_a_relevant_map_deletes_the_crack_faster_than_a_random_ranking():
    image, truth = crack_image((64, 64), rng=5)
    fill = blur_fill(image)
    assert _dark_pixel_score(fill[None])[0] < 0.05
    assert _dark_pixel_score(image[None])[0] > 0.95
    relevant = deletion_curve(image, truth.astype(float), _dark_pixel_score, fill=fill)
    rng = np.random.default_rng(0)
    random = [deletion_curve(image, rng.random(truth.shape), _dark_pixel_score, fill=fill).auc for _ in range(5)]
    assert relevant.auc < 0.1 and min(random) > 0.4
    assert insertion_curve(image, truth.astype(float), _dark_pixel_score, fill=fill).auc > 0.9


def test_a_map_that_ignores_the_model_does_not_change_under_randomisation():
    image, _ = crack_image((32, 32), rng=1)
    darkness = 255 - image.mean(axis=2)
    same = randomisation_curve(np.stack([darkness, darkness[::-1]]), [np.stack([darkness, darkness[::-1]])] * 3,
                               layers=["fc3", "fc2", "fc1"])
    assert np.all(same.values["spearman"] == 1) and np.allclose(same.values["ssim"], 1)
    verdict = randomisation_verdict(same, top=3)
    assert verdict.depends is False and "does not depend" in verdict.sentence
    changed = randomisation_curve(darkness, [np.random.default_rng(0).random(darkness.shape)], layers=["fc1"])
    assert randomisation_verdict(changed).depends is True
    assert randomisation_verdict(changed).spearman < RANDOMISATION_THRESHOLD


def test_a_constant_map_has_no_ranking_to_keep():
    values = np.random.default_rng(0).random((16, 16))
    assert spearman_similarity(values, np.zeros_like(values)) == 0.0
    assert spearman_similarity(np.zeros_like(values), np.zeros_like(values)) == 1.0
    assert ssim_similarity(np.zeros_like(values), np.zeros_like(values)) == 1.0


def test_blur_fill_is_the_blur_baseline():
    """The measure layer's blur and :mod:`cracklib.explain.baselines`' blur baseline are the same Gaussian."""
    image = crack_image((64, 64), rng=3)[0]
    normalization = Normalization()
    pixels = torch.as_tensor(image / 255.0, dtype=torch.float32).permute(2, 0, 1)[None]
    baseline = normalization.denormalize(baseline_for("blur", normalization.normalize(pixels), normalization))
    np.testing.assert_allclose(blur_fill(image), baseline[0].permute(1, 2, 0).numpy() * 255, atol=0.05)


def test_bad_inputs_are_refused():
    image = np.zeros((8, 8, 3))
    with pytest.raises(ValueError, match="differ in shape"):
        deletion_curve(image, np.zeros((8, 9)), _dark_pixel_score, fill=0)
    with pytest.raises(ValueError, match="between 0 and 100"):
        road_curves(image, np.zeros((8, 8)), _dark_pixel_score, percentages=[50, 100])
    with pytest.raises(ValueError, match="at least one pixel"):
        noisy_linear_imputation(image, np.ones((8, 8), bool))


# --- the cascade ----------------------------------------------------------------------------------------------


def _parameters(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def test_the_cascade_randomises_a_vgg_from_the_head_down(random_model):
    steps = cascade_steps(random_model)
    assert [step.label for step in steps] == ["fc3", "fc2", "fc1", "conv5", "conv4", "conv3", "conv2", "conv1"]
    assert [step.head for step in steps] == [True] * 3 + [False] * 5
    assert steps[3].modules == ("features.18", "features.16")
    trained = _parameters(random_model)
    state = torch.random.get_rng_state()
    randomised = []
    for index, (step, model) in enumerate(randomised_models(random_model, steps, seed=3)):
        changed = {name.rsplit(".", 1)[0] for name, value in model.state_dict().items()
                   if not torch.equal(value, trained[name])}
        assert changed == {name for done in steps[:index + 1] for name in done.modules}, step.label
        randomised.append(_parameters(model))
    assert torch.equal(torch.random.get_rng_state(), state)  # the global RNG is not consumed
    assert all(torch.equal(value, trained[name]) for name, value in random_model.state_dict().items())
    again = [_parameters(model) for _, model in randomised_models(random_model, steps, seed=3)]
    assert all(torch.equal(a[k], b[k]) for a, b in zip(randomised, again) for k in a)
    other = _parameters(next(randomised_models(random_model, steps[:1], seed=4))[1])
    assert not torch.equal(other["classifier.6.weight"], randomised[0]["classifier.6.weight"])
    # Each layer its own draw: the two 3×3 convolutions of block 5 have one shape and differ.
    assert not torch.equal(randomised[3]["features.16.weight"], randomised[3]["features.18.weight"])


def test_the_cascade_randomises_a_bcos_network(bcos_model):
    steps = cascade_steps(bcos_model)
    assert [step.label for step in steps][:4] == ["fc3", "fc2", "fc1", "conv5"]
    *_, (_, model) = randomised_models(bcos_model, steps)
    for name, module in model.named_modules():
        if hasattr(module, "gain"):
            assert torch.all(module.gain == 1), name  # the folded batch norm goes with the trained weights
            assert not torch.equal(module.weight, bcos_model.get_submodule(name).weight)


# --- the report on the pipeline's explanations ----------------------------------------------------------------


@pytest.fixture(scope="module")
def photo():
    return crack_image((160, 224), rng=11)


def test_the_report_scores_the_tiles_the_pipeline_classified(tiny_classifier, photo):
    image, truth = photo
    explanation = explain(tiny_classifier, image, ExplanationSettings(gate=0.0, decision="max_tile"))
    seen = []
    report = faithfulness_report(tiny_classifier, image, explanation, truth=truth, max_tiles=3, steps=8,
                                 progress=lambda done, total: seen.append((done, total)))
    probabilities = explanation.tile_probabilities[report.tiles]
    # The tiles are cut, normalised and scored as the pipeline did: the same crack probabilities.
    np.testing.assert_allclose(report.tile_scores, probabilities, atol=1e-5)
    assert list(probabilities) == sorted(explanation.tile_probabilities, reverse=True)[:3]
    assert all(curve.scores[0] == pytest.approx(s, abs=1e-5) for curve, s in zip(report.deletion, report.tile_scores))
    assert seen[-1][0] == seen[-1][1] == 3 * 3 + len(report.randomisation.layers) + 1
    scores = report.scores()
    assert set(scores) == set(FAITHFULNESS_KEYS)
    assert all(np.isfinite(scores[key]) for key in FAITHFULNESS_KEYS)
    assert scores["relevance_mass_accuracy"] == relevance_mass_accuracy(explanation.relevance, truth)
    data = report.to_dict()
    json.dumps(data, allow_nan=False)
    assert data["curves"]["deletion"]["fractions"] == [k / 8 for k in range(9)]
    assert data["randomisation"]["layers"] == ["fc3", "fc2", "fc1", "conv5", "conv4", "conv3", "conv2", "conv1"]
    assert data["randomisation_verdict"] == report.verdict.sentence
    assert mean_scores([report, report])["deletion_auc"] == pytest.approx(report.deletion_auc)


def test_the_report_cuts_scaled_and_resized_photos_as_the_pipeline_did(tiny_classifier, photo):
    image, _ = photo
    for settings in (ExplanationSettings(gate=0.0, tile_scale=0.5, decision="max_tile"),
                     ExplanationSettings(gate=0.0, mode="resize")):
        explanation = explain(tiny_classifier, image, settings)
        report = faithfulness_report(tiny_classifier, image, explanation, steps=4, road_percentages=(50,),
                                     randomisation=False)
        expected = ([explanation.probability] if settings.mode == "resize"
                    else explanation.tile_probabilities[report.tiles])
        np.testing.assert_allclose(report.tile_scores, expected, atol=1e-5)
        assert report.randomisation is None and report.randomisation_skipped == "not asked for"
        assert np.isnan(report.scores()["depends_on_top_layers"])


def test_a_random_map_of_the_photo_is_less_faithful_than_its_explanation(tiny_classifier, photo):
    image, _ = photo
    explanation = explain(tiny_classifier, image, ExplanationSettings(gate=0.0, decision="max_tile"))
    noise = np.random.default_rng(0).random(explanation.relevance.shape).astype(np.float32)
    random = dataclasses.replace(explanation, relevance=noise)
    options = {"max_tiles": 4, "randomisation": False, "road_percentages": (30, 70), "fill": "blur"}
    real, shuffled = (faithfulness_report(tiny_classifier, image, e, **options) for e in (explanation, random))
    assert real.tile_scores.min() > 0.5  # crack tiles, so there is a score to delete
    assert real.deletion_auc < shuffled.deletion_auc - 0.1
    assert real.road_gap > shuffled.road_gap


def test_the_randomisation_test_finds_a_map_that_ignores_the_model(tiny_classifier, photo, monkeypatch):
    """A "method" whose map is the photo's darkness: whatever the randomised layers, the same map."""
    monkeypatch.setitem(METHODS, "darkness", lambda model, inputs, settings: -inputs.sum(dim=1, keepdim=True))
    image, _ = photo
    explanation = explain(tiny_classifier, image, ExplanationSettings(method="darkness", gate=0.0))
    report = faithfulness_report(tiny_classifier, image, explanation, max_tiles=2, steps=4, road_percentages=(50,))
    assert np.all(report.randomisation.values["spearman"] == 1)
    assert np.allclose(report.randomisation.values["ssim"], 1)
    assert report.verdict.depends is False and report.scores()["depends_on_top_layers"] == 0.0
    # The classifier's own gradients do change with its top layers.
    explanation = explain(tiny_classifier, image, ExplanationSettings(method="saliency", gate=0.0))
    report = faithfulness_report(tiny_classifier, image, explanation, max_tiles=2, steps=4, road_percentages=(50,))
    assert report.randomisation.mean("spearman")[-1] < 0.9


def test_maps_that_are_not_classifier_explanations_are_skipped_with_a_reason(tiny_classifier, photo):
    image, truth = photo
    explanation = explain(tiny_classifier, image, ExplanationSettings(gate=0.0))
    network = dataclasses.replace(explanation, network="segmenters/unet.pt",
                                  settings=ExplanationSettings(method="unet", gate=0.0))
    report = faithfulness_report(tiny_classifier, image, network, truth=truth)
    assert "segmentation network" in report.skipped and report.deletion == () and report.randomisation is None
    assert np.isfinite(report.scores()["relevance_mass_accuracy"]) and np.isnan(report.deletion_auc)
    unexplained = dataclasses.replace(explanation, relevance=None, tiles=None, support=None)
    report = faithfulness_report(tiny_classifier, image, unexplained)
    assert "not explained" in report.skipped
    assert json.dumps(report.to_dict(), allow_nan=False)
    with pytest.raises(ValueError, match="unknown fill"):
        faithfulness_report(tiny_classifier, image, explanation, fill="grey")
    with pytest.raises(ValueError, match="the explanation"):
        faithfulness_report(tiny_classifier, image[:100], explanation)


def _small_report(classifier, image, settings, **options):
    explanation = explain(classifier, image, settings)
    return faithfulness_report(classifier, image, explanation, max_tiles=2, randomisation_tiles=2, steps=4,
                               road_percentages=(50,), **options)


def test_both_lrp_engines_captum_and_grad_cam_go_through_the_randomisation_test(tiny_classifier, photo):
    image, _ = photo
    reports = {name: _small_report(tiny_classifier, image, ExplanationSettings(gate=0.0, **settings))
               for name, settings in {"fast": {"lrp_backend": "fast"}, "zennit": {"lrp_backend": "zennit"},
                                      "deeplift": {"method": "deeplift"}, "grad_cam": {"method": "grad_cam"}}.items()}
    for name, report in reports.items():
        assert all(np.isfinite(report.scores()[key]) for key in FAITHFULNESS_KEYS if key not in LOCALISATION_KEYS)
        assert np.isnan(report.scores()["relevance_mass_accuracy"])  # no mask given
        assert report.randomisation.values["spearman"].shape == (8, 2), name
    # zennit is the reference of the fast engine: the same maps, trained and randomised, give the same numbers.
    for key in ("deletion_auc", "road_gap", "randomisation_spearman"):
        assert reports["fast"].scores()[key] == pytest.approx(reports["zennit"].scores()[key], abs=1e-3), key


def test_a_bcos_network_goes_through_the_randomisation_test(bcos_model, photo):
    classifier = Classifier(model=bcos_model, card=ModelCard(arch="vgg11_bcos", width=0.0625, input_size=64))
    image, _ = photo
    report = _small_report(classifier, image, ExplanationSettings(method="bcos", gate=0.0), fill="blur")
    assert report.skipped is None and report.randomisation.layers[:3] == ("fc3", "fc2", "fc1")
    assert np.isfinite(report.scores()["randomisation_spearman"])
    with pytest.raises(ValueError, match="damage-free"):  # no references stored with this network
        _small_report(classifier, image, ExplanationSettings(method="bcos", gate=0.0))


def test_the_crack_score_is_the_classifiers_probability(tiny_classifier, photo):
    image, _ = photo
    tiles = np.stack([image[:64, :64], image[64:128, 64:128]])
    inputs = torch.as_tensor(tiles / 255.0, dtype=torch.float32).permute(0, 3, 1, 2)
    expected = tiny_classifier.probabilities(tiny_classifier.card.normalization.normalize(inputs))
    np.testing.assert_allclose(crack_score(tiny_classifier)(tiles), expected, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("settings", [ExplanationSettings(method="lrp", rules="epsilon_gamma_box"),
                                      ExplanationSettings(method="deeplift")], ids=["lrp", "deeplift"])
def test_the_report_runs_on_the_shipped_model_and_a_bundled_photo(settings, capsys):
    classifier = load_classifier()
    image_path, mask_path = bundled_samples()[2]  # concrete_crack_1
    image, truth = read_image(image_path), read_mask(mask_path)
    explanation = explain(classifier, image, settings)
    start = time.perf_counter()
    report = faithfulness_report(classifier, image, explanation, truth=truth)
    seconds = time.perf_counter() - start
    with capsys.disabled():
        print(f"\n{report.label}: {seconds:.1f} s on {len(report.tiles)} tiles; {report.timings}; "
              f"{report.to_dict(curves=False)}")
    assert report.skipped is None and len(report.tiles) == min(8, explanation.n_explained)
    scores = report.scores()
    assert all(np.isfinite(scores[key]) for key in FAITHFULNESS_KEYS)
    assert scores["deletion_auc"] < scores["insertion_auc"] and scores["road_gap"] > 0
    assert seconds < 60
