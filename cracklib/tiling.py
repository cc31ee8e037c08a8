"""Tiles for whole inspection photos: the grid, the padding and the blending.

A 12-48 MP photo cannot be shrunk to the classifier's input without losing
cracks one or two pixels wide, so the pipeline cuts it into overlapping tiles at
the model's input size, classifies every tile, explains the tiles whose crack
probability reaches the gate, and blends their relevance maps back into one
full-resolution map. This module holds the geometry and the blending (arrays in,
arrays out); :func:`cracklib.pipeline.explanation` runs the model over the tiles.

Overlapping maps are blended with a Hann window (highest weight at a tile's
centre, where the classifier saw the most context), normalised by the summed
weights of the tiles that were explained, so a crack crossing a tile border
keeps one continuous relevance ridge.

References
----------
Forest, F. et al., "From classification to segmentation with explainable AI: a
study on crack detection and growth monitoring", Automation in Construction,
2024 (patch-wise classification and explanation of large masonry photos).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import ndimage

__all__ = ["ceil_div", "bounding_box", "occupied_blocks", "map_near_mask", "fill_block", "TileGrid", "tile_grid",
           "pad_to_tile", "blend_window", "TileBlender", "tile_probability_map"]


def ceil_div(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded up, in integers: the cells of a step over a side."""
    return -(-numerator // denominator)


def bounding_box(mask: np.ndarray, *, margin: int = 0) -> tuple[slice, slice] | None:
    """Rows and columns of a 2-D mask's set pixels, grown by ``margin`` within the mask; None when none is set."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    height, width = mask.shape
    return (slice(max(0, int(rows[0]) - margin), min(height, int(rows[-1]) + 1 + margin)),
            slice(max(0, int(cols[0]) - margin), min(width, int(cols[-1]) + 1 + margin)))


def occupied_blocks(mask: np.ndarray, block: int) -> np.ndarray:
    """Which ``block``×``block`` blocks of ``mask`` hold a pixel: bool (⌈H/block⌉, ⌈W/block⌉), in one pass."""
    mask = np.asarray(mask, dtype=bool)
    height, width = mask.shape
    n_cols = ceil_div(width, block)
    occupied = np.zeros((ceil_div(height, block), n_cols), bool)
    columns = np.zeros(n_cols * block, bool)
    # A band of rows at a time: ``any`` down the columns is a fast reduction (``logical_or.reduceat`` over the
    # whole mask took 40 times as long in an ad-hoc timing).
    for row, top in enumerate(range(0, height, block)):
        columns[:width] = mask[top:top + block].any(axis=0)
        occupied[row] = columns.reshape(n_cols, block).any(axis=1)
    return occupied


def map_near_mask(function: Callable[[np.ndarray], np.ndarray], source: np.ndarray, mask: np.ndarray, *,
                  margin: int, block: int = 256, dtype=np.float32) -> np.ndarray:
    """``function(source)``, computed only on the blocks with ``mask`` pixels within ``margin``; zero elsewhere.

    ``function`` maps an (h, w, ...) window of ``source`` to an (h, w) array and
    reads at most ``margin`` pixels around each output pixel (a filter of that
    radius). Each block is computed with that margin around it, so its values
    equal those of ``function`` on the whole of ``source``. A crack's mask on a
    large photo touches few blocks: seconds become tenths on 12 MP.
    """
    height, width = mask.shape
    out = np.zeros((height, width), dtype)
    # Blocks a margin's reach from an occupied block are the candidates; each is then checked pixel-exactly
    # (checking every block's window was a tenth of a threshold change on 12 MP in a profile).
    reach = ceil_div(margin, block)
    occupied = occupied_blocks(mask, block)
    candidates = ndimage.maximum_filter(occupied, size=2 * reach + 1, mode="constant") if reach else occupied
    for row, col in zip(*np.nonzero(candidates)):
        top, left = int(row) * block, int(col) * block
        if mask[max(0, top - margin):top + block + margin, max(0, left - margin):left + block + margin].any():
            fill_block(out, function, source, (top, left), block=block, margin=margin)
    return out


def fill_block(out: np.ndarray, function: Callable[[np.ndarray], np.ndarray], source: np.ndarray,
               origin: tuple[int, int], *, block: int, margin: int) -> None:
    """Write ``function(source)`` into ``out`` on the ``block``-sized block at ``origin``, read with ``margin``
    pixels of ``source`` around it (so its values are those of ``function`` on the whole of ``source``)."""
    top, left = origin
    rows = slice(max(0, top - margin), top + block + margin)
    cols = slice(max(0, left - margin), left + block + margin)
    values = function(source[rows, cols])
    out[top:top + block, left:left + block] = values[top - rows.start:top - rows.start + block,
                                                     left - cols.start:left - cols.start + block]


def _starts(length: int, size: int, stride: int) -> list[int]:
    """Tile starts along one axis: every ``stride``, the last one flush with the end."""
    if length <= size:
        return [0]
    starts = list(range(0, length - size, stride))
    return starts + [length - size]


@dataclass(frozen=True)
class TileGrid:
    """Square tiles of ``size`` over an image of ``shape``; tile ``i`` is (row i // cols, col i % cols)."""

    shape: tuple[int, int]
    size: int
    tops: tuple[int, ...]
    lefts: tuple[int, ...]

    @property
    def grid_shape(self) -> tuple[int, int]:
        return len(self.tops), len(self.lefts)

    def __len__(self) -> int:
        return len(self.tops) * len(self.lefts)

    def origin(self, index: int) -> tuple[int, int]:
        """Top-left corner of tile ``index``."""
        row, col = divmod(index, len(self.lefts))
        return self.tops[row], self.lefts[col]

    def window(self, index: int) -> tuple[slice, slice]:
        """The slices that cut tile ``index`` out of the image."""
        top, left = self.origin(index)
        return slice(top, top + self.size), slice(left, left + self.size)


def tile_grid(shape: tuple[int, int], *, size: int, overlap: float = 0.25) -> TileGrid:
    """Tiles of ``size`` covering ``shape`` with at least ``overlap`` (a fraction of ``size``) between neighbours.

    The image must be at least one tile in each direction (see :func:`pad_to_tile`).

    Examples
    --------
    >>> tile_grid((100, 260), size=100, overlap=0.25).lefts
    (0, 75, 150, 160)
    """
    if not 0 <= overlap < 1:
        raise ValueError(f"tile overlap must be in [0, 1), got {overlap}")
    height, width = shape
    if height < size or width < size:
        raise ValueError(f"image {height}x{width} is smaller than one {size}-pixel tile; pad it first")
    stride = max(1, int(round(size * (1 - overlap))))
    return TileGrid((height, width), size, tuple(_starts(height, size, stride)), tuple(_starts(width, size, stride)))


def pad_to_tile(image: np.ndarray, size: int) -> np.ndarray:
    """Reflect-pad the bottom and right of ``image`` (H×W or H×W×C) to at least ``size`` pixels each way.

    Small photos are padded rather than upscaled: upscaling would widen the
    cracks beyond what the classifier learned.
    """
    height, width = image.shape[:2]
    pad = [(0, max(0, size - height)), (0, max(0, size - width))] + [(0, 0)] * (image.ndim - 2)
    if not any(after for _, after in pad):
        return image
    return np.pad(image, pad, mode="reflect" if min(height, width) > 1 else "edge")


def blend_window(size: int) -> np.ndarray:
    """A 2-D Hann window of ``size``², strictly positive (so every pixel of a tile counts a little)."""
    # numpy's Hann window is 0 at both ends; dropping those ends keeps the
    # shape and makes the border pixels of the photo (covered once) well defined.
    line = np.hanning(size + 2)[1:-1]
    return np.outer(line, line).astype(np.float32)


class TileBlender:
    """Accumulates tile maps into one map: Σ wᵢ·mapᵢ / Σ wᵢ over the tiles added at each pixel.

    Pixels no tile covered stay 0 and outside :attr:`support`.
    """

    def __init__(self, shape: tuple[int, int], size: int):
        self.window = blend_window(size)
        self.total = np.zeros(shape, np.float32)
        self.weight = np.zeros(shape, np.float32)

    def add(self, origin: tuple[int, int], values: np.ndarray) -> None:
        top, left = origin
        size = self.window.shape[0]
        region = slice(top, top + size), slice(left, left + size)
        self.total[region] += self.window * values
        self.weight[region] += self.window

    @property
    def support(self) -> np.ndarray:
        """Pixels covered by at least one added tile."""
        return self.weight > 0

    def result(self) -> np.ndarray:
        """The blended map (float32), 0 where no tile was added."""
        out = self.total
        np.divide(self.total, self.weight, out=out, where=self.weight > 0)
        return out


def tile_probability_map(grid: TileGrid, probabilities: np.ndarray, *, step: int = 1) -> np.ndarray:
    """Per pixel, the highest crack probability of the tiles that cover it.

    ``step`` > 1 returns the map subsampled by that factor (for display of huge photos).
    """
    probabilities = np.asarray(probabilities, np.float32)
    height, width = grid.shape
    out = np.zeros((ceil_div(height, step), ceil_div(width, step)), np.float32)
    for index, probability in enumerate(probabilities):
        rows, cols = grid.window(index)
        region = (slice(ceil_div(rows.start, step), ceil_div(rows.stop, step)),
                  slice(ceil_div(cols.start, step), ceil_div(cols.stop, step)))
        np.maximum(out[region], probability, out=out[region])
    return out
