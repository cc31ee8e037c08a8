"""Morphological clean-up of crack masks.

The ``paper`` preset is Forest et al.'s post-processing: a closing with a 5×5
ellipse joins broken crack pieces, an area opening drops specks under 50 px, and
a closing with a 25×25 ellipse bridges the remaining gaps along the crack.

References
----------
Forest, F. et al., "From classification to segmentation with explainable AI: a
study on crack detection and growth monitoring", Automation in Construction, 2024.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cracklib.mask import morphology
from cracklib.tiling import map_near_mask

__all__ = ["PostProcessing", "POSTPROCESSING", "postprocess", "drop_small_components"]


@dataclass(frozen=True)
class PostProcessing:
    """Closing (``first_closing``) → area opening (``min_area``) → closing (``second_closing``).

    Sizes are in pixels at ``scale`` 1; a size of 0 skips that step.
    """

    first_closing: int = 5
    min_area: int = 50
    second_closing: int = 25

    def scaled(self, scale: float) -> "PostProcessing":
        """Sizes for an image ``scale`` times the resolution the sizes were set for."""
        def odd(size):
            return 0 if size == 0 else max(1, int(round(size * scale)) | 1)
        return PostProcessing(odd(self.first_closing), int(round(self.min_area * scale ** 2)),
                              odd(self.second_closing))


#: name → settings; ``none`` leaves the mask as it is.
POSTPROCESSING: dict[str, PostProcessing | None] = {
    "paper": PostProcessing(),
    "light": PostProcessing(first_closing=3, min_area=20, second_closing=0),
    "none": None,
}


def _closing(mask: np.ndarray, size: int) -> np.ndarray:
    if size <= 1:
        return mask
    radius = size // 2  # a (2r+1)×(2r+1) element
    footprint = morphology.round_footprint(radius)
    # Only near the mask: a closing reads at most twice its radius around a pixel, so the blocks with mask
    # pixels within that reach give the whole closing, and a crack on a large photo touches few blocks
    # (the 25×25 closing of a 12 MP mask: 0.035 s on those blocks, 0.08 s on the whole photo).
    return map_near_mask(lambda window: morphology.closing(window, footprint), mask, mask,
                         margin=2 * radius + 2, dtype=bool)


def drop_small_components(mask: np.ndarray, min_area: int) -> np.ndarray:
    """The mask without its components (8-connected) of fewer than ``min_area`` pixels: an area opening.

    Computed block by block near the mask, exactly: a component of fewer than
    ``min_area`` pixels spans fewer than that in each direction, so a block
    read with a margin of ``min_area`` holds it whole, and a larger component
    that reaches the block shows at least ``min_area`` pixels inside the margin
    (a test compares it with scikit-image's on the whole mask). On a 12 MP
    photo's crack mask that is about 5× faster than labelling the whole photo.
    """
    mask = np.asarray(mask, dtype=bool)
    if min_area <= 1:
        return mask.copy()
    return map_near_mask(lambda window: morphology.drop_small_components(window, min_area), mask, mask,
                         margin=min_area, dtype=bool)


def postprocess(mask: np.ndarray, preset: str | PostProcessing = "paper", *, scale: float = 1.0) -> np.ndarray:
    """Clean a binary crack mask.

    Parameters
    ----------
    mask : (H, W) bool
    preset : str or PostProcessing
        A name from :data:`POSTPROCESSING` or explicit sizes.
    scale : float
        Multiplies the structuring-element sizes (and the area by its square),
        for images at another resolution than the one the sizes were chosen for.

    Returns
    -------
    (H, W) bool
    """
    if isinstance(preset, str):
        if preset not in POSTPROCESSING:
            raise ValueError(f"unknown post-processing {preset!r}; choose from {', '.join(POSTPROCESSING)}")
        preset = POSTPROCESSING[preset]
    mask = np.asarray(mask, dtype=bool)
    if preset is None:
        return mask.copy()
    if scale != 1.0:
        preset = preset.scaled(scale)
    out = _closing(mask, preset.first_closing)
    out = drop_small_components(out, preset.min_area)
    return _closing(out, preset.second_closing)
