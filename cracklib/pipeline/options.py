"""The pipeline's settings as users meet them: one schema for the command line and the studio's sidebar.

Each :class:`Option` is one field of :class:`~cracklib.pipeline.settings.ExplanationSettings` or
:class:`~cracklib.pipeline.settings.MaskSettings`, with its flag, its label, its choices, its range and
one help text. ``cracklib.cli`` builds its ``--options`` from :data:`OPTIONS`, and
``cracklib.studio.sidebar`` its widgets, so a new setting, choice or help text is written here once. The
defaults are the settings classes' own (:func:`default_of`); a segmentation network's own mask step
(:func:`cracklib.pipeline.methods.default_mask`) applies where the user chose none.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Callable

from cracklib.explain.attribution import LRP_BACKENDS, METHODS
from cracklib.explain.baselines import BASELINES
from cracklib.explain.composites import RULE_SETS
from cracklib.mask.postprocess import POSTPROCESSING
from cracklib.mask.refine import PER_PHOTO, POLARITIES, REFINEMENTS
from cracklib.mask.threshold import THRESHOLDS
from cracklib.measure.severity import WIDTH_METHODS
from cracklib.pipeline.decision import PHOTO_DECISIONS
from cracklib.pipeline.segmenters import SEGMENTER_METHODS
from cracklib.pipeline.settings import MODES, ExplanationSettings, MaskSettings

__all__ = ["Option", "OPTIONS", "option", "default_of"]


@dataclass(frozen=True)
class Option:
    """One pipeline setting.

    Attributes
    ----------
    name : the settings field (and the JSON key)
    flag : the command-line flag
    label : the sidebar's label
    help : one help text, for ``--help`` and the widget's tooltip
    choices : the names to choose from (a function: registries may grow), or None for a number
    number : int or float for a number; None for a choice
    bounds : (low, high, step) of the sidebar's slider, where the sidebar offers a slider
    """

    name: str
    flag: str
    label: str
    help: str
    choices: Callable[[], list[str]] | None = None
    number: type | None = None
    bounds: tuple[float, float, float] | None = None


def _described(registry: dict[str, str]) -> str:
    return "; ".join(f"{name}: {text}" for name, text in registry.items())


OPTIONS: tuple[Option, ...] = (
    Option("method", "--method", "XAI method",
           "the attribution method, or a segmentation network instead of classify + explain: unet, a U-Net trained "
           "on pixel masks (the reference); distilled, a U-Net trained on this product's explanation masks from "
           "image labels only (both cut at their own 0.5 and given the mask step chosen for each on the "
           "validation splits, unless other settings are chosen); bcos: the shipped B-cos network classifies "
           "and explains itself; nn_explainer: a network trained to mask the classifier's evidence",
           choices=lambda: [*METHODS, *SEGMENTER_METHODS]),
    Option("rules", "--rules", "LRP rule set", "the LRP rule set (lrp only)", choices=lambda: list(RULE_SETS)),
    Option("lrp_backend", "--lrp-backend", "LRP backend",
           "fast: cracklib's LRP engine; zennit: the reference (same relevance, slower)",
           choices=lambda: list(LRP_BACKENDS)),
    Option("baseline", "--baseline", "Baseline", "the reference image of IG, DeepLift and the SHAP methods",
           choices=lambda: list(BASELINES)),
    Option("threshold", "--threshold", "Threshold", "how the map is cut into a mask",
           choices=lambda: list(THRESHOLDS)),
    Option("post", "--post", "Post-processing", "the morphological clean-up of the mask",
           choices=lambda: list(POSTPROCESSING)),
    Option("post_scale", "--post-scale", "Post-processing scale",
           "multiplies the post-processing sizes (for photos at another resolution)", number=float),
    Option("refine", "--refine", "Refine with the photo",
           "refine the mask on the photo: " + _described(REFINEMENTS), choices=lambda: list(REFINEMENTS)),
    Option("polarity", "--polarity", "Crack polarity",
           "which way a crack differs from its surface, for the refinement and the widths: "
           + _described(POLARITIES), choices=lambda: list(POLARITIES)),
    Option("darkness_width", "--darkness-width", "Widest crack (darkness square, px)",
           "side (px, odd) of the square the refinement's darkness is taken over: wider than the widest crack, "
           f"or a wide crack loses its middle (a wider square lets more surface texture in); {PER_PHOTO}: sized "
           "on each photo's explanation band, 15-45 px", number=int, bounds=(5, 95, 2)),
    Option("gate", "--gate", "Gate (explain from this crack probability)",
           "explain only when the crack probability reaches this (0 = always)", number=float, bounds=(0.0, 1.0, 0.05)),
    Option("mm_per_px", "--scale", "Scale (mm per pixel, 0 = pixels only)",
           "mm per pixel, for severity in mm", number=float),
    Option("crack_gap_px", "--crack-gap", "Join crack fragments closer than (px)",
           "mask fragments closer than this (pixels) count as one crack (fragments along one crack, interrupted "
           "by a faint stretch)", number=int, bounds=(0, 40, 1)),
    Option("widths", "--widths", "Crack widths read on", _described(WIDTH_METHODS),
           choices=lambda: list(WIDTH_METHODS)),
    Option("mode", "--mode", "Mode",
           "tiled: native-resolution tiles (any photo size); resize: the whole photo to the model input",
           choices=lambda: list(MODES)),
    Option("decision", "--decision", "Photo decision",
           "tiled mode: how the tiles' crack probabilities make the photo's", choices=lambda: list(PHOTO_DECISIONS)),
    Option("tile_overlap", "--tile-overlap", "Tile overlap", "overlap of neighbouring tiles, as a fraction of a tile",
           number=float, bounds=(0.0, 0.75, 0.05)),
    Option("tile_scale", "--tile-scale", "Tile scale (resize before tiling)",
           "resize factor before tiling (1 = native resolution)", number=float, bounds=(0.25, 2.0, 0.25)),
)

_BY_NAME = {entry.name: entry for entry in OPTIONS}
_DEFAULTS = {**{f.name: f.default for f in fields(ExplanationSettings)},
             **{f.name: f.default for f in fields(MaskSettings)}}


def option(name: str) -> Option:
    """The option of a settings field."""
    return _BY_NAME[name]


def default_of(name: str):
    """The product's default of a settings field (the settings classes' own)."""
    return _DEFAULTS[name]
