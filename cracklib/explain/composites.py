"""Named LRP rule sets for the VGG crack classifiers, as zennit composites.

A rule set says which LRP rule each layer gets. Layers are named as in the
papers (``conv1_1`` … ``conv5_2``, ``fc1`` …; see
:func:`cracklib.nets.models.conv_layer_names`). Every rule set is registered in
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

from dataclasses import dataclass
from typing import Callable

from torch import nn
from zennit.composites import (
    EpsilonAlpha2Beta1,
    EpsilonGammaBox,
    EpsilonPlusFlat,
    NameLayerMapComposite,
    layer_map_base,
)
from zennit.core import Composite, Stabilizer
from zennit.rules import AlphaBeta, Epsilon, Flat, Gamma, ZBox, ZPlus

from cracklib.nets.models import Normalization, conv_layer_names

__all__ = ["RULE_SETS", "RuleSpec", "rule_specs", "rule_set_composite", "rule_map", "named_rules_composite"]


GAMMA = 0.25


EPSILON_STD = 0.25


@dataclass(frozen=True)
class RuleSpec:
    """One layer's LRP rule, as data: the single description both backends read.

    ``kind`` is one of ``zbox``, ``flat``, ``gamma``, ``alpha_beta``, ``z_plus``,
    ``epsilon``. ``epsilon`` is the ε rule's stabiliser, scaled by the RMS of the
    layer's output when ``norm_scale``; ``stabilizer`` is the other rules'.
    """

    kind: str
    gamma: float = GAMMA
    alpha: float = 2.0
    beta: float = 1.0
    epsilon: float = 1e-6
    norm_scale: bool = False
    stabilizer: float = 1e-6

    def to_zennit(self, normalization: Normalization):
        """The equivalent zennit rule."""
        if self.kind == "zbox":
            low, high = normalization.bounds()
            return ZBox(low=low, high=high, stabilizer=self.stabilizer)
        if self.kind == "flat":
            return Flat(stabilizer=self.stabilizer)
        if self.kind == "gamma":
            return Gamma(gamma=self.gamma, stabilizer=self.stabilizer)
        if self.kind == "alpha_beta":
            return AlphaBeta(alpha=self.alpha, beta=self.beta, stabilizer=self.stabilizer)
        if self.kind == "z_plus":
            return ZPlus(stabilizer=self.stabilizer)
        if self.kind == "epsilon":
            return Epsilon(epsilon=Stabilizer(epsilon=self.epsilon, norm_scale=True) if self.norm_scale
                           else self.epsilon)
        raise ValueError(f"unknown rule kind {self.kind!r}")


_STD_EPSILON = RuleSpec("epsilon", epsilon=EPSILON_STD, norm_scale=True)


def rule_specs(rule_set: str, layers: list[str]) -> dict[str, RuleSpec]:
    """The rule of every layer (paper names ``conv1_1`` …, ``fc1`` …) in a named rule set."""
    convs = [name for name in layers if name.startswith("conv")]
    fcs = [name for name in layers if name.startswith("fc")]
    gamma, alpha_beta, lrp_0 = RuleSpec("gamma"), RuleSpec("alpha_beta"), RuleSpec("epsilon")
    rules: dict[str, RuleSpec] = {}
    if rule_set == "seibold":
        rules.update({name: gamma for name in convs})
        rules.update({"conv2_1": alpha_beta, "conv3_1": alpha_beta})
        rules.update({name: _STD_EPSILON for name in fcs})
    elif rule_set == "montavon":
        rules.update({name: gamma if int(name[4]) <= 3 else _STD_EPSILON for name in convs})
        rules.update({name: lrp_0 for name in fcs})  # LRP-0, kept finite
    elif rule_set == "forest":
        rules.update({name: gamma for name in convs})
        rules.update({name: alpha_beta for name in convs[1:3]})
        rules.update({name: lrp_0 for name in fcs})
    elif rule_set in ("epsilon_gamma_box", "epsilon_gamma_box_by_name"):
        rules.update({name: gamma for name in convs})
        rules.update({name: lrp_0 for name in fcs})
    elif rule_set == "epsilon_plus_flat":
        rules.update({name: RuleSpec("z_plus") for name in convs})
        rules.update({name: lrp_0 for name in fcs})
        rules[convs[0]] = RuleSpec("flat")
        return rules
    elif rule_set == "epsilon_alpha2_beta1":
        rules.update({name: alpha_beta for name in convs})
        rules.update({name: lrp_0 for name in fcs})
        return rules
    else:
        raise ValueError(f"unknown LRP rule set {rule_set!r}")
    if convs:
        rules[convs[0]] = RuleSpec("zbox")
    return rules


def rule_map(rule_set: str, layers: list[str], normalization: Normalization) -> dict[str, object]:
    """zennit rule per paper layer name for a rule set (built from :func:`rule_specs`)."""
    return {name: spec.to_zennit(normalization) for name, spec in rule_specs(rule_set, layers).items()}


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
