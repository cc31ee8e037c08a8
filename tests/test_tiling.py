"""Tiling: the grid, padding and blending on hand-made arrays, and tiled explanation end to end.

The end-to-end tests use a hand-made "darkness" classifier whose answer is known:
its crack logit rises with a tile's mean darkness, so Input×Gradient relevance is
positive exactly on the dark crack pixels and a tile is gated in exactly when
it holds crack pixels.
"""
import numpy as np
import pytest
import torch
from skimage.draw import line
from skimage.measure import label
from skimage.morphology import dilation, disk
from torch import nn

from cracklib.mask import apply_threshold
from cracklib.measure import confusion
from cracklib.nets import ModelCard, Normalization
from cracklib.pipeline import Classifier, PipelineConfig, explain, segment, segment_explanation
from cracklib.tiling import TileBlender, blend_window, bounding_box, pad_to_tile, tile_grid, tile_probability_map

BACKGROUND, CRACK = 180, 20


class DarknessModel(nn.Module):
    """Logit for "crack" = gain · (mean darkness − that of a plain background tile − margin)."""

    def __init__(self, gain=5000.0, margin=0.004):
        super().__init__()
        plain = Normalization().normalize(torch.full((1, 3, 1, 1), BACKGROUND / 255.0))
        self.offset = float(-plain.mean()) + margin
        self.gain = nn.Parameter(torch.tensor(gain), requires_grad=False)

    def forward(self, x):
        score = self.gain * (-x.mean(dim=(1, 2, 3)) - self.offset)
        return torch.stack([-score, score], dim=1) / 2


@pytest.fixture
def darkness_classifier():
    return Classifier(model=DarknessModel().eval(), card=ModelCard(input_size=64))


def _photo_with_line(shape, start, end, width=1):
    truth = np.zeros(shape, bool)
    rows, cols = line(*start, *end)
    truth[rows, cols] = True
    truth = dilation(truth, disk(width))
    image = np.full((*shape, 3), BACKGROUND, np.uint8)
    image[truth] = CRACK
    return image, truth


CONFIG = PipelineConfig.of(method="input_x_gradient", threshold="simple", post="none", gate=0.5, batch_size=64)


def test_grid_covers_the_image_with_the_overlap_and_ends_flush():
    grid = tile_grid((200, 333), size=64, overlap=0.25)
    assert grid.tops == (0, 48, 96, 136) and grid.lefts[-1] == 333 - 64
    assert all(b - a <= 48 for a, b in zip(grid.lefts, grid.lefts[1:]))
    covered = np.zeros((200, 333), int)
    for index in range(len(grid)):
        covered[grid.window(index)] += 1
    assert covered.min() >= 1 and len(grid) == 4 * 7


def test_grid_rejects_an_image_smaller_than_a_tile_and_a_bad_overlap():
    with pytest.raises(ValueError, match="smaller than one"):
        tile_grid((30, 100), size=64)
    with pytest.raises(ValueError, match="overlap"):
        tile_grid((100, 100), size=64, overlap=1.0)


def test_small_images_are_reflect_padded_not_upscaled():
    image = np.arange(12, dtype=np.uint8).reshape(3, 4)
    padded = pad_to_tile(image, 6)
    assert padded.shape == (6, 6)
    assert (padded[:3, :4] == image).all() and padded[3, 0] == image[1, 0]  # the mirror of row 1
    assert pad_to_tile(image, 2) is image


def test_blend_window_is_positive_symmetric_and_peaks_in_the_centre():
    window = blend_window(9)
    assert window.min() > 0 and np.allclose(window, window.T) and np.allclose(window, window[::-1])
    assert window.argmax() == 4 * 9 + 4


def test_blending_equal_tiles_returns_them_and_marks_support():
    grid = tile_grid((100, 150), size=40, overlap=0.5)
    blender = TileBlender(grid.shape, 40)
    for index in range(len(grid)):
        if index != 0:
            blender.add(grid.origin(index), np.full((40, 40), 3.0))
    blended = blender.result()
    assert np.allclose(blended[blender.support], 3.0)
    assert not blender.support[:20, :20].any()  # only tile 0 covers this corner


def test_tile_probability_map_takes_the_highest_covering_tile():
    grid = tile_grid((4, 6), size=4, overlap=0.5)  # tiles at left 0 and 2
    probability = tile_probability_map(grid, [0.2, 0.9])
    assert probability[0, 0] == pytest.approx(0.2) and probability[0, 3] == pytest.approx(0.9)
    assert tile_probability_map(grid, [0.2, 0.9], step=2).shape == (2, 3)


def test_threshold_support_ignores_the_empty_tiles():
    rng = np.random.default_rng(0)
    patch = rng.normal(0, 1, (40, 40))
    patch[18:22] += 6
    full = np.zeros((400, 400))
    full[:40, :40] = patch
    support = np.zeros_like(full, bool)
    support[:40, :40] = True
    alone = apply_threshold(patch, "otsu").mask
    within = apply_threshold(full, "otsu", support=support).mask
    assert (within[:40, :40] == alone).all() and not within[40:].any()
    for name in ("simple", "gmm", "bmm"):
        assert apply_threshold(full, name, support=support).mask[18:22, :40].mean() > 0.9
    # the top 5 % of the supported pixels, not of the whole map
    assert apply_threshold(full, "percentile", support=support).mask.sum() == pytest.approx(0.05 * 1600, abs=2)


def test_a_crack_across_tile_borders_gives_one_continuous_mask(darkness_classifier):
    image, truth = _photo_with_line((2000, 3000), (100, 50), (1900, 2950))
    explanation = explain(darkness_classifier, image, CONFIG.explanation)
    assert 0 < explanation.n_explained < explanation.n_tiles / 10  # only the tiles on the crack
    result = segment_explanation(explanation, CONFIG.mask, photo=image)  # what segment gives: explained once
    assert result.mask.shape == truth.shape
    assert label(result.mask).max() == 1
    assert confusion(result.mask, truth).iou > 0.95


def test_a_photo_without_cracks_explains_no_tile(darkness_classifier):
    image = np.full((700, 900, 3), BACKGROUND, np.uint8)
    calls = []
    result = segment(darkness_classifier, image, CONFIG, progress=lambda done, total: calls.append((done, total)))
    assert result.n_explained == 0 and result.n_tiles > 100 and not result.mask.any()
    assert calls[-1][0] == calls[-1][1]  # the progress ends complete


def test_an_image_smaller_than_a_tile_comes_back_at_its_size(darkness_classifier):
    image, truth = _photo_with_line((40, 50), (5, 5), (35, 45))
    result = segment(darkness_classifier, image, CONFIG)
    assert result.mask.shape == (40, 50) and result.n_tiles == 1
    assert confusion(result.mask, truth).iou > 0.95


def test_tile_scale_works_on_a_smaller_copy_and_returns_full_size(darkness_classifier):
    image, truth = _photo_with_line((600, 800), (50, 10), (550, 790), width=3)
    full = explain(darkness_classifier, image, CONFIG.explanation)
    half = explain(darkness_classifier, image, CONFIG.replace(tile_scale=0.5).explanation)
    assert half.relevance.shape == (600, 800) and half.n_tiles < full.n_tiles / 2
    assert confusion(segment_explanation(half, CONFIG.mask, photo=image).mask, truth).iou > 0.8


def test_bounding_box_of_a_mask_with_and_without_margin():
    mask = np.zeros((10, 12), bool)
    mask[3, 4] = mask[5, 8] = True
    assert bounding_box(mask) == (slice(3, 6), slice(4, 9))
    assert bounding_box(mask, margin=4) == (slice(0, 10), slice(0, 12))  # clipped to the mask
    assert bounding_box(np.zeros((4, 4), bool)) is None
