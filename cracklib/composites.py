"""Named LRP rule sets for the VGG crack classifiers, as zennit composites.

A rule set says which LRP rule each layer gets. Layers are named as in the
papers (``conv1_1`` … ``conv5_2``, ``fc1`` …; see
:func:`cracklib.models.conv_layer_names`). Every rule set is registered in
:data:`RULE_SETS` as a function ``(model, normalization) -> zennit Composite``.

``seibold``
    Seibold et al., Table 1 "LRP Ours": ZBox on conv1_1, α2β1 on conv2_1 and
    conv3_1, γ = 0.25 on conv3_2 to conv5_2, ε = 0.25·std on the FC layers.
``montavon``
    Montavon et al. (2019): ZBox on conv1_1, γ = 0.25 on conv2_1 to conv3_2,
    ε = 0.25·std on conv4_1 to conv5_2, LRP-0 on the FC layers.
``forest``
    Forest et al.: zennit's EpsilonGammaBox with α2β1 on the 2nd and 3rd conv.
``epsilon_plus_flat``, ``epsilon_gamma_box``, ``epsilon_alpha2_beta1``
    zennit's composites of those names, with the model's ZBox bounds.

The "std" of the ε rules is the root mean square of the layer's outputs per
sample, as in Montavon et al.'s reference code (zennit's
``Stabilizer(norm_scale=True)``).

References
----------
Seibold, C. et al., "From Explanations to Segmentation: Using Explainable AI for
Image Segmentation", VISAPP 2022.
Montavon, G. et al., "Layer-Wise Relevance Propagation: An Overview", in
Explainable AI, LNCS 11700, 2019.
Forest, F. et al., "From classification to segmentation with explainable AI",
Automation in Construction, 2024.
"""
from __future__ import annotations

from typing import Callable

from torch import nn
from zennit.composites import (EpsilonAlpha2Beta1, EpsilonGammaBox, EpsilonPlusFlat, NameLayerMapComposite,
                               layer_map_base)
from zennit.core import Composite, Stabilizer
from zennit.rules import AlphaBeta, Epsilon, Gamma, ZBox

from .models import Normalization, conv_layer_names

__all__ = ["RULE_SETS", "rule_set_composite", "rule_map", "named_rules_composite"]

GAMMA = 0.25
EPSILON_STD = 0.25


def _std_epsilon():
    return Epsilon(epsilon=Stabilizer(epsilon=EPSILON_STD, norm_scale=True))


def _zbox(normalization: Normalization):
    low, high = normalization.bounds()
    return ZBox(low=low, high=high)


def rule_map(rule_set: str, layers: list[str], normalization: Normalization) -> dict[str, object]:
    """Rule per paper layer name (``conv1_1`` …, ``fc1`` …) for the hand-made rule sets."""
    convs = [name for name in layers if name.startswith("conv")]
    fcs = [name for name in layers if name.startswith("fc")]
    rules: dict[str, object] = {}
    if rule_set == "seibold":
        for name in convs:
            rules[name] = Gamma(gamma=GAMMA)
        rules.update({"conv2_1": AlphaBeta(alpha=2, beta=1), "conv3_1": AlphaBeta(alpha=2, beta=1)})
        rules.update({name: _std_epsilon() for name in fcs})
    elif rule_set == "montavon":
        for name in convs:
            block = int(name[4])
            rules[name] = Gamma(gamma=GAMMA) if block <= 3 else _std_epsilon()
        rules.update({name: Epsilon(epsilon=1e-6) for name in fcs})  # LRP-0, kept finite
    elif rule_set == "forest":
        for name in convs:
            rules[name] = Gamma(gamma=GAMMA)
        for name in convs[1:3]:
            rules[name] = AlphaBeta(alpha=2, beta=1)
        rules.update({name: Epsilon(epsilon=1e-6) for name in fcs})
    elif rule_set == "epsilon_gamma_box_by_name":
        # zennit's EpsilonGammaBox written as a name map; the tests compare the
        # two to check this module's name-map machinery.
        rules.update({name: Gamma(gamma=GAMMA) for name in convs})
        rules.update({name: Epsilon(epsilon=1e-6) for name in fcs})
    else:
        raise ValueError(f"unknown rule set {rule_set!r}")
    if convs:
        rules[convs[0]] = _zbox(normalization)
    return rules


def named_rules_composite(model: nn.Module, rules: dict[str, object]) -> Composite:
    """A zennit composite from rules keyed by paper layer names."""
    names = conv_layer_names(model)
    name_map = [((names[layer],), rule) for layer, rule in rules.items()]
    return NameLayerMapComposite(name_map=name_map, layer_map=layer_map_base())


def _hand_made(rule_set: str) -> Callable[[nn.Module, Normalization], Composite]:
    def build(model: nn.Module, normalization: Normalization) -> Composite:
        rules = rule_map(rule_set, list(conv_layer_names(model)), normalization)
        return named_rules_composite(model, rules)
    build.__name__ = f"{rule_set}_composite"
    return build


def _zennit_box(composite_class):
    def build(model: nn.Module, normalization: Normalization) -> Composite:
        low, high = normalization.bounds()
        return composite_class(low=low, high=high)
    build.__name__ = f"{composite_class.__name__}_composite"
    return build


#: rule-set name → (model, normalization) -> zennit Composite
RULE_SETS: dict[str, Callable[[nn.Module, Normalization], Composite]] = {
    "seibold": _hand_made("seibold"),
    "montavon": _hand_made("montavon"),
    "forest": _hand_made("forest"),
    "epsilon_plus_flat": lambda model, normalization: EpsilonPlusFlat(),
    "epsilon_gamma_box": _zennit_box(EpsilonGammaBox),
    "epsilon_alpha2_beta1": lambda model, normalization: EpsilonAlpha2Beta1(),
}


def rule_set_composite(rule_set: str, model: nn.Module, normalization: Normalization) -> Composite:
    """The zennit composite of a named rule set for ``model``."""
    if rule_set not in RULE_SETS:
        raise ValueError(f"unknown LRP rule set {rule_set!r}; choose from {', '.join(RULE_SETS)}")
    return RULE_SETS[rule_set](model, normalization)
