import numpy as np
import pytest

from cracklib.mask import PostProcessing, postprocess


def test_closing_joins_a_small_gap():
    mask = np.zeros((30, 60), bool)
    mask[14:17, 5:28] = True
    mask[14:17, 30:55] = True  # 2-px gap
    out = postprocess(mask, PostProcessing(first_closing=5, min_area=0, second_closing=0))
    assert out[14:17, 28:30].all()


def test_area_opening_drops_specks_and_keeps_cracks():
    mask = np.zeros((40, 40), bool)
    mask[2:9, 2:9] = True      # 49 px: dropped (< 50)
    mask[20:30, 10:15] = True  # 50 px: kept
    out = postprocess(mask, PostProcessing(first_closing=0, min_area=50, second_closing=0))
    assert not out[2:9, 2:9].any()
    assert out[20:30, 10:15].all()


def test_paper_preset_and_none():
    mask = np.zeros((60, 60), bool)
    mask[30, 5:55] = True
    mask[5, 5] = True
    paper = postprocess(mask, "paper")
    assert paper[30, 5:55].all() and not paper[5, 5]
    assert (postprocess(mask, "none") == mask).all()


def test_scaling_grows_the_sizes():
    scaled = PostProcessing().scaled(2.0)
    assert scaled == PostProcessing(first_closing=11, min_area=200, second_closing=51)


def test_unknown_preset():
    with pytest.raises(ValueError, match="unknown post-processing"):
        postprocess(np.zeros((3, 3), bool), "magic")


def test_closing_near_the_mask_equals_the_closing_of_the_whole_mask():
    # Sparse cracks and specks, some at the border: the block-wise closing must be the whole-mask closing.
    from skimage.morphology import closing, disk

    from cracklib.mask.postprocess import _closing

    rng = np.random.default_rng(5)
    mask = np.zeros((700, 900), bool)
    mask[rng.integers(0, 700, 60), rng.integers(0, 900, 60)] = True
    mask[100:103, :] = mask[:, 880:883] = True
    mask[0:2, 300:340] = mask[650:700, 10:12] = True
    for i in range(0, 600, 7):  # a dashed diagonal
        mask[i:i + 4, i + 50:i + 53] = True
    expected = closing(mask, disk(12, decomposition="crosses")).astype(bool)
    np.testing.assert_array_equal(_closing(mask, 25), expected)
    assert _closing(mask, 25).sum() > mask.sum()


def test_the_area_opening_near_the_mask_equals_scikit_images_on_the_whole_mask():
    """Blocks read with a margin of min_area: specks dropped, long cracks across block borders kept whole."""
    from skimage.draw import line
    from skimage.morphology import remove_small_objects

    from cracklib.mask import drop_small_components

    rng = np.random.default_rng(3)
    mask = rng.random((700, 900)) < 0.004             # specks everywhere
    mask[line(5, 5, 690, 880)] = True                  # a crack through many blocks
    mask[250:258, 250:262] = True                      # 96 px straddling a block corner
    mask[510:512, 0:20] = True                         # 40 px on the image's edge
    for min_area in (2, 10, 50, 97):
        expected = remove_small_objects(mask, max_size=min_area - 1, connectivity=2)
        assert np.array_equal(drop_small_components(mask, min_area), expected)
