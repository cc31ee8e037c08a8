"""The fast LRP engine against zennit (the reference): same relevance, no side effects, thread-safe."""
import threading

import numpy as np
import pytest
import torch

from cracklib.explain import RULE_SETS, AttributionSettings, attribute, lrp_relevance, supports, zennit_lrp
from cracklib.nets import Normalization, build_model
from cracklib.pipeline import load_classifier

NORM = Normalization()


def _zennit(model, x, rule_set):
    return zennit_lrp(model, x, rule_set, NORM)


def _random(arch):
    torch.manual_seed(1)
    model = build_model(arch, width=0.125, input_size=64).eval()
    for module in model.modules():  # non-zero biases and lively logits exercise every term
        if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.normal_(module.bias, 0, 0.05)
        if isinstance(module, torch.nn.Linear):
            torch.nn.init.normal_(module.weight, 0, 0.2)
    return model


class _Models(dict):
    """The models by name, each built on first use: the shipped one is loaded only by the slow tests naming it."""

    def __missing__(self, name):
        self[name] = (load_classifier(device="cpu").model, 128) if name == "shipped" else (_random(name), 64)
        return self[name]


@pytest.fixture(scope="module")
def models():
    return _Models()


@pytest.mark.parametrize("rule_set", list(RULE_SETS))
@pytest.mark.parametrize("model_name", [pytest.param("shipped", marks=pytest.mark.slow), "vgg11_128", "vgg11_onefc"])
@pytest.mark.parametrize("batch", [1, 8])
def test_fast_engine_matches_zennit(models, model_name, rule_set, batch):
    model, size = models[model_name]
    x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(batch))
    reference = _zennit(model, x, rule_set)
    ours = lrp_relevance(model, x, rule_set, NORM)
    assert (ours - reference).abs().max() <= 1e-4 * reference.abs().max()


@pytest.mark.parametrize("size", [96, 160])
def test_fast_engine_matches_zennit_off_the_training_size(models, size):
    """At other input sizes the adaptive pooling really pools (zennit's Norm rule)."""
    model, _ = models["vgg11_128"]
    x = torch.randn(2, 3, size, size)
    reference = _zennit(model, x, "seibold")
    assert (lrp_relevance(model, x, "seibold", NORM) - reference).abs().max() <= 1e-4 * reference.abs().max()


def test_backends_agree_through_attribute(models):
    model, size = models["vgg11_128"]
    x = torch.randn(2, 3, size, size)
    fast = attribute(model, x, "lrp", AttributionSettings(rules="montavon", lrp_backend="fast"))
    reference = attribute(model, x, "lrp", AttributionSettings(rules="montavon", lrp_backend="zennit"))
    assert np.abs(fast - reference).max() <= 1e-4 * np.abs(reference).max()
    with pytest.raises(ValueError, match="unknown LRP backend"):
        attribute(model, x, "lrp", AttributionSettings(lrp_backend="magic"))


def _state(model):
    hooks = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
                for m in model.modules())
    return hooks, {name: p.detach().clone() for name, p in model.named_parameters()}


def test_no_hooks_or_parameter_changes_even_after_an_error(models):
    model, size = models["vgg11_128"]
    hooks, params = _state(model)
    lrp_relevance(model, torch.randn(1, 3, size, size), "forest", NORM)
    with pytest.raises(RuntimeError):
        lrp_relevance(model, torch.randn(1, 4, size, size), "forest", NORM)  # wrong channel count
    with pytest.raises(ValueError, match="unknown LRP rule set"):
        lrp_relevance(model, torch.randn(1, 3, size, size), "magic", NORM)
    after_hooks, after_params = _state(model)
    assert after_hooks == hooks == 0
    assert all(torch.equal(params[name], after_params[name]) for name in params)


@pytest.mark.parametrize("model_name", [pytest.param("shipped", marks=pytest.mark.slow), "vgg11_128"])
def test_threads_sharing_one_model_get_their_own_answers(models, model_name):
    model, size = models[model_name]
    rule_sets = list(RULE_SETS) + list(RULE_SETS)
    inputs = [torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(i)) for i in range(len(rule_sets))]
    alone = [lrp_relevance(model, x, rules, NORM) for x, rules in zip(inputs, rule_sets)]
    together = [None] * len(rule_sets)

    def run(index):
        together[index] = lrp_relevance(model, inputs[index], rule_sets[index], NORM)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(rule_sets))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(torch.equal(a, b) for a, b in zip(alone, together))


def test_unsupported_models_fall_back_to_zennit():
    model = build_model("vgg11_128", width=0.125, input_size=64, batch_norm=True).eval()
    assert not supports(model)
    x = torch.randn(1, 3, 64, 64)
    relevance = attribute(model, x, "lrp", AttributionSettings(rules="epsilon_gamma_box"))
    reference = _zennit(model, x, "epsilon_gamma_box").sum(1).detach().numpy()  # zennit's, summed over channels
    assert relevance.shape == (1, 64, 64) and np.abs(reference).max() > 0
    np.testing.assert_allclose(relevance, reference, rtol=1e-5, atol=1e-6 * np.abs(reference).max())
