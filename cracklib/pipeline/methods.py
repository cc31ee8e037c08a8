"""The method catalogue: every explanation a user can pick, the weights a method brings with it, and the
mask step each method's map gets by default (a segmentation network's own)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from cracklib.explain.attribution import METHODS
from cracklib.explain.composites import RULE_SETS
from cracklib.nets.models import WEIGHTS_DIR
from cracklib.pipeline.segmenters import SEGMENTER_METHODS, segmenter_path
from cracklib.pipeline.settings import ExplanationSettings, MaskSettings

__all__ = ["NETWORK_THRESHOLD", "NETWORK_MASK_STEPS", "NETWORK_STEP_FIELDS", "MethodChoice", "method_choices",
           "method_weights", "method_available", "default_mask"]


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


@dataclass(frozen=True)
class MethodChoice:
    """One entry of a method menu: a label for people and the settings it stands for."""

    label: str
    method: str
    rules: str | None = None

    def applied_to(self, settings: ExplanationSettings) -> ExplanationSettings:
        """``settings`` with this method (and rule set)."""
        return replace(settings, method=self.method, **({"rules": self.rules} if self.rules else {}))


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


def default_mask(method: str, mask: MaskSettings = MaskSettings()) -> MaskSettings:
    """The mask step a method's map gets when none is chosen: ``mask`` with a segmentation network's own
    threshold, refinement and post-processing (:data:`NETWORK_MASK_STEPS`); ``mask`` itself for the
    explanations."""
    return replace(mask, **NETWORK_MASK_STEPS.get(method, {}))
