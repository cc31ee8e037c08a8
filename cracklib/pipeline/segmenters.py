"""Segmentation networks at inference: which shipped network a method names, and its crack-probability map
on a photo of any size (native-resolution tiles, optionally averaged over flips and turns)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch

from cracklib.io.datasets import Sample, crack_pixels
from cracklib.io.imageio import read_image
from cracklib.measure.metrics import Confusion, confusion
from cracklib.nets.models import WEIGHTS_DIR, ModelCard, Normalization
from cracklib.nets.preprocess import VIEWS, to_pixels
from cracklib.nets.unet import UNet11
from cracklib.tiling import TileBlender, pad_to_tile, tile_grid

__all__ = ["SEGMENTER_METHODS", "segmenter_path", "network_name", "predict_map", "view_maps", "score_views"]


#: Photos are cut into tiles of this side for inference (a multiple of 16, the network's total downsampling).
TILE = 256


#: ``--method`` name → the shipped network it runs (in ``weights/segmenters/``).
SEGMENTER_METHODS = {
    "unet": "unet.pt",          # trained on pixel masks: the supervised reference
    "distilled": "distilled.pt",  # trained on the default classifier's explanation masks: image labels only
}


SEGMENTERS_DIR = WEIGHTS_DIR / "segmenters"


def _view(image: np.ndarray, turns: int, mirrored: bool) -> np.ndarray:
    image = np.rot90(image, turns)
    return np.ascontiguousarray(image[:, ::-1] if mirrored else image)


def _unview(values: np.ndarray, turns: int, mirrored: bool) -> np.ndarray:
    return np.rot90(values[:, ::-1] if mirrored else values, -turns)


def predict_map(model: UNet11, image: np.ndarray, normalization: Normalization, *, tile: int = TILE,
                overlap: float = 0.25, batch_size: int = 8, views: int = 1,
                progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Crack probability per pixel of a photo of any size: overlapping tiles, blended with a Hann window.

    ``views`` > 1 segments the first ``views`` of the photo's flips and quarter
    turns (``cracklib.nets.preprocess.VIEWS``) and averages their probabilities, turned back
    (test-time augmentation): the network's mistakes in one view are outvoted by
    the others. Each view costs one more pass. With all eight the map turns and
    flips with the photo exactly when the photo is one tile (a test checks it).

    Returns
    -------
    (H, W) float32 in [0, 1]
    """
    if not 1 <= views <= len(VIEWS):
        raise ValueError(f"views must be 1 to {len(VIEWS)}, got {views}")
    total = None
    for values in view_maps(model, image, normalization, views=views, tile=tile, overlap=overlap,
                            batch_size=batch_size, progress=progress):
        total = values if total is None else total + values
    return np.ascontiguousarray(total / views, dtype=np.float32) if views > 1 else total


def view_maps(model: UNet11, image: np.ndarray, normalization: Normalization, *, views: int = len(VIEWS),
              tile: int = TILE, overlap: float = 0.25, batch_size: int = 8,
              progress: Callable[[int, int], None] | None = None) -> Iterator[np.ndarray]:
    """The probabilities of each of the first ``views`` of ``image``'s flips and turns
    (:data:`cracklib.nets.preprocess.VIEWS`), each turned back onto it."""
    for index, (turns, mirrored) in enumerate(VIEWS[:views]):
        step = (lambda done, count, index=index: progress(index * count + done, views * count)) if progress else None
        yield _unview(_predict_view(model, _view(image, turns, mirrored), normalization, tile=tile, overlap=overlap,
                                    batch_size=batch_size, progress=step), turns, mirrored)


@torch.no_grad()
def _predict_view(model: UNet11, image: np.ndarray, normalization: Normalization, *, tile: int, overlap: float,
                  batch_size: int, progress: Callable[[int, int], None] | None) -> np.ndarray:
    """:func:`predict_map` of one view."""
    height, width = image.shape[:2]
    padded = pad_to_tile(image, tile)
    grid = tile_grid(padded.shape[:2], size=tile, overlap=overlap)
    blender = TileBlender(padded.shape[:2], tile)
    device = next(model.parameters()).device
    for first in range(0, len(grid), batch_size):
        indices = range(first, min(first + batch_size, len(grid)))
        batch = np.stack([padded[grid.window(i)] for i in indices])
        pixels = normalization.normalize(to_pixels(batch).to(device)).contiguous(memory_format=torch.channels_last)
        maps = torch.sigmoid(model(pixels))[:, 0].float().cpu().numpy()
        for i, values in zip(indices, maps):
            blender.add(grid.origin(i), values)
        if progress:
            progress(indices[-1] + 1, len(grid))
    return blender.result()[:height, :width].copy()


def score_views(model: UNet11, card: ModelCard, samples: list[Sample], *, candidates=(1, 2, 4, 8),
                progress: Callable[[int, int], None] | None = None) -> dict[int, dict[str, float]]:
    """F1 and IoU (summed confusion, the map cut at 0.5) of the network with each number of ``views``.

    Every view of a photo is segmented once; the first k are averaged for each
    candidate k. Only the samples with a pixel mask count. This is what
    ``python -m cracklib choose-views`` reads on the val split.
    """
    totals = {views: Confusion() for views in candidates}
    for index, sample in enumerate(samples, 1):
        image = read_image(sample.image)
        truth = crack_pixels(sample, image.shape[:2])
        if truth is not None:
            maps = list(view_maps(model, image, card.normalization, views=max(candidates)))
            for views in candidates:
                totals[views] += confusion(np.mean(maps[:views], axis=0) > 0.5, truth)
        if progress:
            progress(index, len(samples))
    return {views: {"f1": total.f1, "iou": total.iou} for views, total in totals.items()}


def segmenter_path(method: str, classifier: str | Path | None = None) -> Path:
    """The weights file of a ``--method`` that is a segmentation network.

    A per-data-set classifier ``weights/NAME.pt`` may bring its own network,
    the one chosen on that data set's validation split:
    ``weights/segmenters/NAME/<method>.pt``. When ``classifier`` names such a
    file, that network is the one used (the user picked the classifier for that
    kind of surface); otherwise the general network.
    """
    if method not in SEGMENTER_METHODS:
        raise ValueError(f"{method!r} is not a segmentation network; choose from {', '.join(SEGMENTER_METHODS)}")
    if classifier is not None:
        own = SEGMENTERS_DIR / Path(classifier).stem / SEGMENTER_METHODS[method]
        if own.exists():
            return own
    return SEGMENTERS_DIR / SEGMENTER_METHODS[method]


def network_name(path: str | Path) -> str:
    """How results name a network's weights file: relative to the weights folder when inside it."""
    path = Path(path)
    return path.relative_to(WEIGHTS_DIR).as_posix() if path.is_relative_to(WEIGHTS_DIR) else str(path)


