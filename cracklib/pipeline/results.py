"""What the two stages of the pipeline return: :class:`Explanation` (stage 1: probability, relevance map,
tiles) and :class:`SegmentationResult` (stage 2: the score map, the mask and its severity), shared by the
studio, the CLI and the tests."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from cracklib.mask.refine import DarknessMap, dark_core
from cracklib.measure.severity import Severity, measure_severity
from cracklib.nets.preprocess import resize_map
from cracklib.pipeline.settings import ExplanationSettings, MaskSettings, PipelineConfig
from cracklib.tiling import TileGrid, ceil_div, tile_probability_map

__all__ = ["Explanation", "SegmentationResult"]


@dataclass(frozen=True, eq=False)
class Explanation:
    """Stage 1, complete and unchanging: the crack probability and, when gated in, the relevance map (H×W).

    In tiled mode also the tile grid (in the coordinates of the photo scaled by
    ``tile_scale``), every tile's crack probability, and the support: the pixels
    covered by an explained tile (the relevance is 0 elsewhere).
    """

    probability: float
    relevance: np.ndarray | None
    image_shape: tuple[int, int]
    settings: ExplanationSettings
    timings: dict[str, float] = field(default_factory=dict)
    grid: TileGrid | None = None
    tile_probabilities: np.ndarray | None = None
    support: np.ndarray | None = None
    #: Tiled mode: indices of the explained tiles (those the gate let through, or those asked for).
    tiles: np.ndarray | None = None
    #: A segmentation network's weights file, relative to the weights folder (None for an explanation).
    network: str | None = None
    #: How many of the photo's flips and turns the network's map is averaged over (its card's ``views``).
    network_views: int = 1

    @property
    def explained(self) -> bool:
        return self.relevance is not None

    @property
    def n_tiles(self) -> int:
        return 1 if self.grid is None else len(self.grid)

    @property
    def n_explained(self) -> int:
        return len(self.explained_tiles())

    def explained_tiles(self) -> np.ndarray:
        """Indices of the explained tiles (``[0]`` for an explained resized photo, none when unexplained)."""
        if not self.explained:
            return np.zeros(0, int)
        return np.zeros(1, int) if self.tiles is None else self.tiles

    def relevance_map(self) -> np.ndarray:
        """The relevance, or zeros for a photo the gate kept unexplained."""
        return self.relevance if self.explained else np.zeros(self.image_shape, np.float32)

    def explained_pixels(self) -> np.ndarray:
        """Where the map holds an explanation: the support in tiled mode, else everywhere or nowhere."""
        if self.support is not None:
            return self.support
        return np.full(self.image_shape, self.explained)

    def tile_probability_map(self, *, step: int = 1) -> np.ndarray:
        """Crack probability per pixel (the highest of the tiles covering it), subsampled by ``step``."""
        if self.grid is None:
            return np.full(tuple(ceil_div(side, step) for side in self.image_shape), self.probability, np.float32)
        scaled = tile_probability_map(self.grid, self.tile_probabilities, step=step)
        height, width = (ceil_div(side, step) for side in self.image_shape)
        if scaled.shape == (height, width):
            return scaled
        return resize_map(scaled, (height, width))


@dataclass(frozen=True, eq=False)
class SegmentationResult:
    """Stage 2: the explanation it came from, the mask settings, the score map and the mask.

    ``severity`` is measured from ``mask`` itself the first time it is read (a
    skeleton of a 48 MP mask takes seconds; an evaluation grid never needs it),
    so the mask a user downloads is the mask that was measured.
    """

    explanation: Explanation
    settings: MaskSettings
    score: np.ndarray
    mask: np.ndarray
    #: Seconds spent on the mask step (threshold, postprocess, and severity once measured).
    mask_timings: dict[str, float] = field(default_factory=dict)
    #: The explained photo (not a copy), where widths are read (``settings.widths == "photo"``).
    photo: np.ndarray | None = field(default=None, repr=False)
    #: The photo's darkness as far as the refinement computed it (read again for the widths).
    darkness: DarknessMap | None = field(default=None, repr=False)
    #: The cut, in units of ``score``, that the threshold step took (before refinement and post-processing).
    threshold: float | None = None

    @cached_property
    def severity(self) -> Severity:
        start = time.perf_counter()
        # Widths are read on the crack's dark core. A refined mask is one already (refining it again would thin
        # it), unless post-processing closed it again: the paper's 25-px closing widens it (CrackForest test
        # split: mean-width error 1.75 px on the closed mask, 'widths on the mask' in docs/severity.md).
        is_core = self.settings.refine != "none" and self.settings.post == "none"
        core = (dark_core(self.mask, self.photo, darkness=self.darkness)
                if self.settings.widths == "photo" and self.photo is not None and not is_core else None)
        severity = measure_severity(self.mask, mm_per_px=self.settings.mm_per_px, gap_px=self.settings.crack_gap_px,
                                    core=core)
        # A short code for tables, CSV and JSON (``photo+otsu_core; darkness square 31 px``); what each part
        # means is in docs/methods/severity.md.
        if self.settings.refine != "none":
            severity.width_method += f"+{self.settings.refine}"
        if self.darkness is not None and (self.settings.refine != "none" or core is not None):
            severity.width_method += f"; darkness square {self.darkness.width} px"
        self.mask_timings["severity"] = time.perf_counter() - start
        return severity

    @property
    def area_px(self) -> int:
        """Pixels in the mask: the severity's area, without measuring the rest."""
        return int(np.count_nonzero(self.mask))

    @property
    def timings(self) -> dict[str, float]:
        """Seconds per step: the explanation's, then the mask's."""
        return {**self.explanation.timings, **self.mask_timings}

    @property
    def probability(self) -> float:
        return self.explanation.probability

    @property
    def explained(self) -> bool:
        return self.explanation.explained

    @property
    def relevance(self) -> np.ndarray | None:
        return self.explanation.relevance

    @property
    def n_tiles(self) -> int:
        return self.explanation.n_tiles

    @property
    def n_explained(self) -> int:
        return self.explanation.n_explained

    @property
    def config(self) -> PipelineConfig:
        return PipelineConfig(self.explanation.settings, self.settings)

    def summary(self) -> dict:
        """The numbers, JSON-ready (no arrays)."""
        severity = self.severity.to_dict()  # first, so its time is in the timings
        return {
            "crack_probability": self.probability,
            "explained": self.explained,
            "tiles": self.n_tiles,
            "tiles_explained": self.n_explained,
            "height": int(self.mask.shape[0]),
            "width": int(self.mask.shape[1]),
            "severity": severity,
            "timings_s": {k: round(v, 4) for k, v in self.timings.items()},
            "config": self.config.to_dict(),
            **({"network": self.explanation.network, "network_views": self.explanation.network_views}
               if self.explanation.network else {}),
        }
