"""LRP rule sets against zennit's own composites, and conservation where the rules conserve."""
import pytest
import torch
from zennit.attribution import Gradient
from zennit.composites import EpsilonGammaBox

from cracklib.explain import RULE_SETS, AttributionSettings, attribute, named_rules_composite, rule_map
from cracklib.nets import Normalization, conv_layer_names


def _lrp(model, composite, x):
    with Gradient(model=model, composite=composite) as attributor:
        output, relevance = attributor(x, torch.eye(2)[[1] * len(x)])
    return relevance.sum(1)


def test_name_map_machinery_reproduces_zennits_epsilon_gamma_box(random_model):
    norm = Normalization()
    x = torch.randn(2, 3, 64, 64)
    rules = rule_map("epsilon_gamma_box_by_name", list(conv_layer_names(random_model)), norm)
    ours = _lrp(random_model, named_rules_composite(random_model, rules), x)
    low, high = norm.bounds()
    reference = _lrp(random_model, EpsilonGammaBox(low=low, high=high), x)
    torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-6 * reference.abs().max().item())


def test_seibold_rules_follow_table_1(random_model):
    rules = rule_map("seibold", list(conv_layer_names(random_model)), Normalization())
    kinds = {name: type(rule).__name__ for name, rule in rules.items()}
    assert kinds["conv1_1"] == "ZBox"
    assert kinds["conv2_1"] == kinds["conv3_1"] == "AlphaBeta"
    assert {kinds[n] for n in ("conv3_2", "conv4_1", "conv4_2", "conv5_1", "conv5_2")} == {"Gamma"}
    assert {kinds[n] for n in ("fc1", "fc2", "fc3")} == {"Epsilon"}


def test_montavon_rules(random_model):
    rules = rule_map("montavon", list(conv_layer_names(random_model)), Normalization())
    kinds = {name: type(rule).__name__ for name, rule in rules.items()}
    assert kinds["conv1_1"] == "ZBox"
    assert {kinds[n] for n in ("conv2_1", "conv3_1", "conv3_2")} == {"Gamma"}
    assert {kinds[n] for n in ("conv4_1", "conv4_2", "conv5_1", "conv5_2")} == {"Epsilon"}


@pytest.mark.parametrize("rule_set", ["forest", "epsilon_gamma_box", "epsilon_plus_flat", "epsilon_alpha2_beta1"])
def test_relevance_is_conserved_without_biases(random_model, rule_set):
    for module in random_model.modules():
        if getattr(module, "bias", None) is not None:
            torch.nn.init.zeros_(module.bias)
    x = torch.randn(2, 3, 64, 64)
    logit = random_model(x)[:, 1]
    relevance = attribute(random_model, x, "lrp", AttributionSettings(rules=rule_set))
    torch.testing.assert_close(torch.from_numpy(relevance.sum(axis=(1, 2))), logit.detach(),
                               rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("rule_set", list(RULE_SETS))
def test_every_rule_set_runs_and_differs_from_the_gradient(random_model, rule_set):
    x = torch.randn(1, 3, 64, 64)
    relevance = attribute(random_model, x, "lrp", AttributionSettings(rules=rule_set))
    gradient = attribute(random_model, x, "input_x_gradient")
    assert relevance.shape == (1, 64, 64)
    assert torch.isfinite(torch.from_numpy(relevance)).all()
    assert not torch.allclose(torch.from_numpy(relevance), torch.from_numpy(gradient), rtol=1e-3)
