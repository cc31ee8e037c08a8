"""The pipeline's settings, in two parts: what changes the explanation and what changes only the mask.

An explanation costs seconds to minutes on a large photo; a mask from it costs
milliseconds. So the settings are split where the cost is:

:class:`ExplanationSettings`
    method, rule set, baseline, gate, tiling, photo decision: a change means
    classifying and explaining again (the key of every explanation cache);
:class:`MaskSettings`
    threshold, post-processing, the smallest crack, the scale: a change only
    re-thresholds and re-measures an existing explanation.

:class:`PipelineConfig` is the pair, for the places that take both (the CLI,
the sidebar, a results table). :class:`MethodChoice` is one entry of a method
menu ("lrp (montavon)", "deeplift"), as data rather than a label to parse.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

from cracklib.mask.refine import PER_PHOTO, PER_PHOTO_WIDTHS, POLARITIES, REFINEMENTS
from cracklib.measure.severity import GAP_PX, WIDTH_METHODS
from cracklib.pipeline.decision import DECISION_THRESHOLD, PHOTO_DECISIONS

__all__ = ["MODES", "ExplanationSettings", "MaskSettings", "PipelineConfig"]


#: How a photo reaches the classifier: native-resolution tiles, or the whole photo resized to the model input.
MODES = ("tiled", "resize")


@dataclass(frozen=True)
class ExplanationSettings:
    """Everything that changes the relevance map. The defaults are the product's defaults."""

    # Chosen on the validation splits of NHA12D, CrackForest, CrackSC, DeepCrack and SUT-Crack, whole photos in
    # tiles (docs/results_val.md): LRP epsilon_gamma_box (with gmm, no post-processing) mean F1 0.469 against 0.438
    # for montavon, the earlier default; photo decision tile_and_whole (docs/photo_decision_val.md).
    method: str = "lrp"
    rules: str = "epsilon_gamma_box"
    #: Who computes LRP: "fast" (cracklib.explain.lrp) or "zennit" (the reference); the same relevance.
    lrp_backend: str = "fast"
    baseline: str = "damage_free_mean"
    #: Explain only when the crack probability reaches this (0 explains always).
    gate: float = DECISION_THRESHOLD
    #: "tiled" (native-resolution tiles, gated per tile) or "resize" (whole photo to the model input).
    mode: str = "tiled"
    #: Tiled mode: how the tiles' probabilities make the photo's (a key of cracklib.pipeline.decision.PHOTO_DECISIONS).
    decision: str = "tile_and_whole"
    #: Overlap between neighbouring tiles, as a fraction of the tile side.
    tile_overlap: float = 0.25
    #: Resize factor applied to the photo before tiling (1 = native resolution).
    tile_scale: float = 1.0
    #: Tiles per forward/backward pass.
    batch_size: int = 16
    #: Tiled mode: a photo of this many tiles or more is screened by an int8 copy of the classifier first, and
    #: only the tiles that could reach the gate or the decision are scored again in float (None: never screen).
    #: It saves about 0.85 ms a tile on these CPUs and costs 1.7 s to build once per model (the app builds it
    #: when it loads the model; docs/int8_screening.md), so small photos are not worth it.
    screen_from_tiles: int | None = 256

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}; choose from {', '.join(MODES)}")
        if not 0 <= self.tile_overlap < 1:
            raise ValueError(f"tile overlap must be in [0, 1), got {self.tile_overlap}")
        if self.decision not in PHOTO_DECISIONS:
            raise ValueError(f"unknown photo decision {self.decision!r}; choose from {', '.join(PHOTO_DECISIONS)}")
        if not 0 < self.tile_scale <= 4:
            raise ValueError(f"tile scale must be in (0, 4], got {self.tile_scale}")


@dataclass(frozen=True)
class MaskSettings:
    """Everything between a relevance map and the measured mask."""

    # Threshold: see ExplanationSettings. Refinement and post-processing: chosen on the same validation splits,
    # every photo with crack pixels (docs/refine_val.md, benchmarks/decisions/refine_val.py): gmm, refined to the
    # Otsu core, then the paper's closing / area opening / closing, mean F1 0.576 against 0.515 unrefined without
    # post-processing (the earlier default) and 0.562 for the best dark_core setting.
    threshold: str = "gmm"
    post: str = "paper"
    #: Multiplies the post-processing sizes (for photos at another resolution).
    post_scale: float = 1.0
    #: Components smaller than this (pixels, 8-connected) are dropped from the mask: specks are not cracks.
    min_crack_area: int = 10
    #: Scale of the photo for severity in mm; None reports pixels only.
    mm_per_px: float | None = None
    #: How the mask is refined on the photo (a key of cracklib.mask.refine.REFINEMENTS).
    refine: str = "otsu_core"
    #: Side (pixels, odd) of the square a pixel's darkness is taken over, for the refinement and the widths: wider
    #: than the widest crack, whose middle is dropped otherwise; or "per_photo" (the default), sized for each photo
    #: on its explanation band, 15-45 px (cracklib.mask.refine.band_darkness_width; chosen on the validation splits,
    #: docs/darkness_width_val.md, with magnetic tiles and growth's synthetic series as checks: docs/decisions/0005).
    darkness_width: int | str = PER_PHOTO
    #: Which way the crack differs from its surface, for the refinement and the widths (a key of
    #: cracklib.mask.refine.POLARITIES): "dark" (concrete, asphalt, masonry), "bright" (a fatigue crack on polished
    #: metal) or "auto", decided per photo on its explanation band. "auto" read all 163 masked validation photos as
    #: dark, so their masks and F1 are those of "dark" (mean 0.576; docs/polarity_val.md), for 2-11 % more time
    #: on the mask step; it also refines a bright crack (docs/decisions/0021-crack-polarity.md).
    polarity: str = "auto"
    #: Mask fragments closer than this (pixels) count as one crack (cracklib.measure.severity.crack_labels).
    crack_gap_px: int = GAP_PX
    #: How crack widths are measured: on the mask's dark core on the photo, or on the mask (WIDTH_METHODS).
    widths: str = "photo"

    def __post_init__(self):
        if self.refine not in REFINEMENTS:
            raise ValueError(f"unknown refinement {self.refine!r}; choose from {', '.join(REFINEMENTS)}")
        if self.polarity not in POLARITIES:
            raise ValueError(f"unknown crack polarity {self.polarity!r}; choose from {', '.join(POLARITIES)}")
        if self.widths not in WIDTH_METHODS:
            raise ValueError(f"unknown width method {self.widths!r}; choose from {', '.join(WIDTH_METHODS)}")
        if self.darkness_width != PER_PHOTO and not (isinstance(self.darkness_width, int)
                                                     and self.darkness_width >= 3 and self.darkness_width % 2 == 1):
            raise ValueError(f"darkness_width must be an odd number of pixels, at least 3, or {PER_PHOTO!r}; "
                             f"got {self.darkness_width!r}")

    @property
    def darkness_widths(self) -> tuple[int, int]:
        """The smallest and the largest side the darkness square can take: the one side, or those of a square sized
        per photo."""
        return PER_PHOTO_WIDTHS if self.darkness_width == PER_PHOTO else (self.darkness_width, self.darkness_width)


_EXPLANATION_FIELDS = tuple(f.name for f in fields(ExplanationSettings))


_MASK_FIELDS = tuple(f.name for f in fields(MaskSettings))


@dataclass(frozen=True)
class PipelineConfig:
    """Both parts of the settings. ``PipelineConfig.of(method=..., threshold=...)`` sorts options into them."""

    explanation: ExplanationSettings = field(default_factory=ExplanationSettings)
    mask: MaskSettings = field(default_factory=MaskSettings)

    @classmethod
    def of(cls, **options) -> "PipelineConfig":
        """Settings from flat options (the CLI's and the JSON's names); the others at their defaults."""
        return cls().replace(**options)

    def replace(self, **options) -> "PipelineConfig":
        """A copy with some flat options changed, each sent to the part it belongs to."""
        unknown = set(options) - set(_EXPLANATION_FIELDS) - set(_MASK_FIELDS)
        if unknown:
            raise TypeError(f"unknown pipeline setting(s): {', '.join(sorted(unknown))}")
        explanation = {k: v for k, v in options.items() if k in _EXPLANATION_FIELDS}
        mask = {k: v for k, v in options.items() if k in _MASK_FIELDS}
        return PipelineConfig(replace(self.explanation, **explanation), replace(self.mask, **mask))

    def to_dict(self) -> dict:
        """Flat and JSON-ready (the keys of the CLI's reports)."""
        return {**asdict(self.explanation), **asdict(self.mask)}
