"""cracklib.mask.morphology computes scikit-image's and scipy's operations: the same pixels on random masks."""
import numpy as np
import pytest
from scipy import ndimage
from skimage.morphology import closing, dilation, disk, ellipse, isotropic_dilation, remove_small_objects

from cracklib.mask import morphology


def _random_masks(count=60, seed=0, smallest=1):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        height, width = rng.integers(smallest, smallest + 50, 2)
        yield rng.random((height, width)) < rng.uniform(0.01, 0.6)


def test_round_footprint_is_the_post_processings_ellipse_then_disk():
    assert np.array_equal(morphology.round_footprint(2), ellipse(2, 2))
    assert np.array_equal(morphology.round_footprint(12), disk(12))


@pytest.mark.parametrize("radius", [1, 2, 3, 6, 12])
def test_closing_and_dilation_equal_scikit_images(radius):
    footprint = morphology.round_footprint(radius)
    # skimage reflects the image at its border, which is the same as ignoring the outside when the image is
    # at least as large as the footprint (a photo always is); in thinner images its reflection goes astray.
    for mask in _random_masks(smallest=2 * radius + 1):
        assert np.array_equal(morphology.closing(mask, footprint), closing(mask, footprint))
        assert np.array_equal(morphology.dilation(mask, footprint), dilation(mask, footprint))
        if mask.any():  # skimage's isotropic dilation marks a pixel on an empty mask
            assert np.array_equal(morphology.dilation(mask, disk(radius).astype(np.uint8)),
                                  isotropic_dilation(mask, radius))


def test_closing_does_not_erode_from_the_image_border():
    mask = np.zeros((20, 20), bool)
    mask[:, :3] = True                       # a bar along the left edge
    assert np.array_equal(morphology.closing(mask, morphology.round_footprint(5)), mask)


@pytest.mark.parametrize("min_area", [1, 2, 5, 50])
def test_drop_small_components_is_an_8_connected_area_opening(min_area):
    for mask in _random_masks():
        expected = mask if min_area <= 1 else remove_small_objects(mask, max_size=min_area - 1, connectivity=2)
        assert np.array_equal(morphology.drop_small_components(mask, min_area), expected)
    diagonal = np.eye(4, dtype=bool)        # one component when 8-connected
    assert morphology.drop_small_components(diagonal, 4).sum() == 4
    assert morphology.drop_small_components(diagonal, 5).sum() == 0


def test_grey_closing_square_equals_scipys_with_its_reflected_border():
    rng = np.random.default_rng(1)
    for height, width in ((1, 1), (7, 30), (40, 41)):
        gray = (rng.random((height, width)) * 255).astype(np.float32)
        assert np.array_equal(morphology.grey_closing_square(gray, 15), ndimage.grey_closing(gray, size=(15, 15)))


def test_distance_to_background_equals_scipys_exact_transform():
    for mask in _random_masks():
        expected = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
        assert np.allclose(morphology.distance_to_background(mask), expected, atol=1e-4)
    bar = np.zeros((9, 9), bool)
    bar[3:6, :] = True                       # three pixels wide: 2 on its centre line
    assert morphology.distance_to_background(bar)[4, 4] == pytest.approx(2)


@pytest.mark.parametrize("size", [3, 4, 5])
def test_box_mean_equals_scipys_uniform_filter(size):
    rng = np.random.default_rng(size)
    for height, width in ((1, 1), (2, 9), (37, 50)):
        values = rng.normal(size=(height, width)).astype(np.float32)
        expected = ndimage.uniform_filter(values.astype(np.float64), size)
        assert np.allclose(morphology.box_mean(values, size), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("sparse_from", [0, morphology.SPARSE_THINNING_FROM])
def test_skeletonize_equals_scikit_images_zhang_suen(monkeypatch, sparse_from):
    monkeypatch.setattr(morphology, "SPARSE_THINNING_FROM", sparse_from)  # 0: every box is thinned sparsely
    from skimage.morphology import skeletonize as skimage_skeletonize
    rng = np.random.default_rng(4)
    lines = np.zeros((120, 150), bool)
    lines[10:17, 5:140] = True                                  # a bar 7 px wide
    lines[np.arange(20, 110), np.arange(20, 110)] = True        # a diagonal
    lines = ndimage.binary_dilation(lines, iterations=2)
    lines[60:90, 100:140] = True                                # a blob
    for mask in [*_random_masks(), lines, np.ones((5, 5), bool), np.zeros((4, 4), bool),
                 ndimage.binary_dilation(rng.random((80, 90)) < 0.02, iterations=3)]:
        np.testing.assert_array_equal(morphology.skeletonize(mask), skimage_skeletonize(mask))
