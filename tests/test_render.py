import numpy as np
import pytest

from cracklib.render import heatmap_rgb, mask_overlay, relevance_scale


def test_relevance_scale_ignores_a_few_hot_pixels_and_the_unexplained_zeros():
    relevance = np.zeros((40, 50), np.float32)   # 2000 px; the first 1000 unexplained
    relevance[20:] = 1.0
    relevance[39, :2] = 100.0                    # two hot pixels
    relevance[30, :3] = -1.0
    assert relevance_scale(relevance) == pytest.approx(1.0)
    assert relevance_scale(np.zeros((3, 3))) == 1.0


def test_heatmap_saturates_at_the_scale_so_the_crack_is_fully_red():
    relevance = np.zeros((20, 20), np.float32)
    relevance[5:15, :] = 1.0   # 200 px of crack
    relevance[0, 0] = 50.0     # one hot pixel
    rgb = heatmap_rgb(relevance)
    assert rgb[10, 5].tolist() == [255, 0, 0] and rgb[17, 5].tolist() == [255, 255, 255]


def test_mask_overlay_keeps_the_photo_and_paints_the_mask_opaque():
    image = np.full((4, 4, 3), 40, np.uint8)
    mask = np.zeros((4, 4), bool)
    mask[1, 1] = True
    out = mask_overlay(image, mask)
    assert out[1, 1].tolist() == [255, 0, 0] and (out[0, 0] == 40).all()
