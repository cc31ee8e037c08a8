"""The method catalogue: every explanation a user can pick, the weights a method brings with it, and the
mask step each method's map gets by default (a segmentation network's own)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from torch import nn

from cracklib.explain.attribution import BASELINE_METHODS, METHODS
from cracklib.explain.composites import RULE_SETS
from cracklib.mask.threshold import THRESHOLDS
from cracklib.nets.bcos import is_bcos
from cracklib.nets.models import WEIGHTS_DIR
from cracklib.pipeline.segmenters import SEGMENTER_METHODS, segmenter_path
from cracklib.pipeline.settings import ExplanationSettings, MaskSettings

__all__ = ["NETWORK_THRESHOLD", "NETWORK_MASK_STEPS", "NETWORK_STEP_FIELDS", "PROBABILITY_MAP_METHODS",
           "FIXED_CUT_THRESHOLDS", "MethodChoice", "method_label", "method_choices", "method_weights",
           "method_available", "methods_for", "default_method_for", "thresholds_for", "default_mask"]


#: A segmentation network's map is a crack probability, not a relevance, so it is cut at its own 0.5 unless a
#: threshold is chosen (validation splits, docs/segmenters_val.md: gmm, fitted for relevance maps, is worse on it).
NETWORK_THRESHOLD = "probability"


#: Each segmentation network's own mask step, where it differs from the explanations' (:class:`MaskSettings`),
#: chosen on the validation splits by mean F1 over the six masked sets (docs/segmenters_val.md,
#: benchmarks/decisions/segmenters_val.py). The supervised U-Net's map is sharp already: kept unrefined, with the light
#: post-processing (0.562 against 0.522 with the explanations' Otsu core and paper post-processing). The
#: distilled U-Net learned from refined explanation masks and keeps their refinement and post-processing (0.492
#: against 0.450 unrefined).
NETWORK_MASK_STEPS = {"unet": {"threshold": NETWORK_THRESHOLD, "refine": "none", "post": "light"},
                      "distilled": {"threshold": NETWORK_THRESHOLD}}
#: The mask settings a segmentation network may bring its own value of.
NETWORK_STEP_FIELDS = ("threshold", "refine", "post")


#: The methods whose map is a network's probability in [0, 1] (a sigmoid), not a relevance.
PROBABILITY_MAP_METHODS = frozenset({*SEGMENTER_METHODS, "nn_explainer"})


#: Thresholds that cut at a fixed value of the map or of its maximum. They suit a probability map; a relevance
#: map's scale is arbitrary and heavy-tailed, and cut there it leaves a few specks the post-processing removes.
FIXED_CUT_THRESHOLDS = ("fixed", "probability")


@dataclass(frozen=True)
class MethodChoice:
    """One entry of a method menu: a label for people and the settings it stands for."""

    label: str
    method: str
    rules: str | None = None

    def applied_to(self, settings: ExplanationSettings) -> ExplanationSettings:
        """``settings`` with this method (and rule set)."""
        return replace(settings, method=self.method, **({"rules": self.rules} if self.rules else {}))


def method_label(settings: ExplanationSettings) -> str:
    """A short name for an explanation setting: ``lrp (montavon)``, ``deeplift (damage_free_mean)``."""
    if settings.method == "lrp":
        return f"lrp ({settings.rules})"
    if settings.method in BASELINE_METHODS:
        return f"{settings.method} ({settings.baseline})"
    return settings.method


def method_weights(method: str) -> Path | None:
    """The weights a method brings with it, or None for a method that explains the chosen classifier.

    The segmentation networks (``unet``, ``distilled``) replace classify +
    explain; ``bcos`` classifies and explains with the shipped B-cos network
    (unless the chosen classifier is one); ``nn_explainer`` is an explainer
    network trained against one classifier (it explains that one).
    """

    if method in SEGMENTER_METHODS:
        return segmenter_path(method)
    if method in ("bcos", "nn_explainer"):
        return WEIGHTS_DIR / f"{method}.pt"
    return None


def method_available(method: str) -> bool:
    """Whether a method can run here: always, or when the weights it brings are shipped."""
    weights = method_weights(method)
    return weights is None or weights.exists()


def method_choices() -> list[MethodChoice]:
    """Every explanation a user can pick here: one per LRP rule set, the other methods, then the segmentation
    networks (methods whose own weights are missing are left out)."""

    return ([MethodChoice(f"lrp ({rules})", "lrp", rules) for rules in RULE_SETS]
            + [MethodChoice(method, method) for method in [*METHODS, *SEGMENTER_METHODS]
               if method != "lrp" and method_available(method)])


def methods_for(model: nn.Module) -> list[str]:
    """The methods that can explain ``model`` here: those whose weights are shipped, without LRP for a B-cos
    network (LRP's rules are for ReLU networks; a B-cos network explains itself with the method ``bcos``)."""
    return [method for method in [*METHODS, *SEGMENTER_METHODS]
            if method_available(method) and not (method == "lrp" and is_bcos(model))]


def default_method_for(model: nn.Module) -> str:
    """The method a user gets with ``model`` unless they choose: the product's default, a B-cos network's own."""
    return "bcos" if is_bcos(model) else ExplanationSettings.method


def thresholds_for(method: str) -> list[str]:
    """The thresholds that suit ``method``'s map: all of them for a probability map
    (:data:`PROBABILITY_MAP_METHODS`), all but the fixed cuts (:data:`FIXED_CUT_THRESHOLDS`) for a relevance."""
    return [name for name in THRESHOLDS
            if method in PROBABILITY_MAP_METHODS or name not in FIXED_CUT_THRESHOLDS]


def default_mask(method: str, mask: MaskSettings = MaskSettings()) -> MaskSettings:
    """The mask step a method's map gets when none is chosen: ``mask`` with a segmentation network's own
    threshold, refinement and post-processing (:data:`NETWORK_MASK_STEPS`); ``mask`` itself for the
    explanations."""
    return replace(mask, **NETWORK_MASK_STEPS.get(method, {}))
