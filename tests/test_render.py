import numpy as np
import pytest

from cracklib.io import heatmap_rgb, mask_overlay, relevance_scale


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


def test_outline_boxes_draws_a_frame_around_each_box_in_display_pixels():
    from cracklib.io import outline_boxes

    picture = np.zeros((50, 50, 3), np.uint8)
    out = outline_boxes(picture, [(20, 20, 40, 60)], scale=0.5, color=(255, 255, 0), thickness=1)
    # The box (20, 20)-(40, 60) of the full photo is (10, 10)-(20, 30) here, widened by the line's thickness.
    assert (out[9, 9:31] == (255, 255, 0)).all() and (out[20, 9:31] == (255, 255, 0)).all()
    assert (out[9:21, 9] == (255, 255, 0)).all() and (out[9:21, 30] == (255, 255, 0)).all()
    assert not out[12:19, 11:29].any() and not picture.any()  # inside untouched; the input is not changed


def test_a_display_copy_keeps_a_thin_cracks_relevance_where_a_mean_would_thin_it():
    from cracklib.io import preview, relevance_preview

    relevance = np.zeros((3000, 2000), np.float32)
    relevance[:, 1001] = 1.0         # a crack one pixel wide
    relevance[100, 500] = -2.0       # evidence against, stronger than any positive value of its block
    relevance[100, 501] = 1.5
    shown = relevance_preview(relevance, 750)
    assert shown.shape == (750, 500)
    assert (shown[:, 250] == 1.0).all() and shown[25, 125] == -2.0
    assert preview(relevance, 750)[:, 250].max() == pytest.approx(1 / 4)  # the mean of a 4 × 4 block
    assert relevance_preview(relevance, 4000).shape == (3000, 2000)  # small enough: as it is


def test_the_colour_scale_shows_weak_evidence_on_a_square_root_scale():
    relevance = np.zeros((20, 20), np.float32)
    relevance[:10] = 1.0
    relevance[10:12] = 0.09    # a tenth of the strongest, or near: 0.3 of full colour
    rgb = heatmap_rgb(relevance)
    assert rgb[0, 0].tolist() == [255, 0, 0]
    assert rgb[10, 0].tolist() == [255, 178, 178]  # 255 × (1 - 0.3)
