import numpy as np
import pytest
from scipy import ndimage
from skimage.measure import regionprops
from skimage.morphology import isotropic_dilation

from cracklib.measure import WIDTH_METHODS, measure_severity, skeleton_length
from cracklib.measure.severity import _grown, _orientation, _skeleton_ends


def test_straight_three_pixel_line_has_width_three_and_its_length():
    mask = np.zeros((40, 100), bool)
    mask[10:13, 10:70] = True  # 60 px long, 3 px wide
    severity = measure_severity(mask)
    assert severity.area_px == 180
    assert severity.n_cracks == 1
    assert severity.max_width_px == pytest.approx(3.0)
    assert severity.mean_width_px == pytest.approx(3.0, abs=0.2)
    assert severity.length_px == pytest.approx(60, abs=3)
    assert severity.orientation_deg == pytest.approx(0.0, abs=1)


def test_vertical_and_diagonal_orientation():
    vertical = np.zeros((80, 20), bool)
    vertical[5:75, 8:11] = True
    assert measure_severity(vertical).orientation_deg == pytest.approx(90, abs=1)
    rising = np.fliplr(np.eye(60, dtype=bool))  # bottom-left to top-right
    assert measure_severity(rising).orientation_deg == pytest.approx(45, abs=1)


def test_skeleton_length_counts_diagonal_steps():
    diagonal = np.eye(11, dtype=bool)
    assert skeleton_length(diagonal) == pytest.approx(10 * np.sqrt(2))
    corner = np.zeros((5, 5), bool)
    corner[2, :3] = True
    corner[:3, 2] = True  # an L: 2 + 2 straight steps, no diagonal shortcut
    assert skeleton_length(corner) == pytest.approx(4.0)


def test_counting_and_mm_measure_every_pixel_of_the_mask():
    mask = np.zeros((50, 50), bool)
    mask[5:8, 5:30] = True     # 75 px
    mask[30:33, 10:40] = True  # 90 px
    mask[45, 45] = True        # a speck: measured too (specks are dropped where the mask is made)
    assert measure_severity(mask, gap_px=0).n_cracks == 3 and measure_severity(mask).area_px == 166
    mask[45, 45] = False
    severity = measure_severity(mask, mm_per_px=0.5)
    assert severity.n_cracks == 2
    assert severity.area_px == 165
    assert severity.area_mm2 == pytest.approx(165 * 0.25)
    assert severity.max_width_mm == pytest.approx(1.5)


def test_empty_mask():
    severity = measure_severity(np.zeros((10, 10), bool))
    assert (severity.area_px, severity.n_cracks, severity.length_px, severity.orientation_deg) == (0, 0, 0.0, None)


def test_widths_on_a_large_mask_match_scipys_distance_transform():
    """Widths come from OpenCV's distance transform; they must equal scipy's exact one (outside = background)."""
    from scipy import ndimage
    from skimage.draw import line
    from skimage.morphology import dilation, disk, skeletonize

    mask = np.zeros((1500, 1700), bool)
    mask[line(10, 10, 1480, 1650)] = True
    mask[line(1400, 30, 200, 1600)] = True
    mask = dilation(mask, disk(3))
    mask[700:900, 100:260] = True            # a wide blob
    mask[:5, 300:400] = True                 # on the image's border
    severity = measure_severity(mask)
    skeleton = skeletonize(mask)
    full = 2 * ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1][skeleton] - 1
    assert severity.max_width_px == pytest.approx(full.max()) and severity.mean_width_px == pytest.approx(full.mean())


def test_fragments_along_one_crack_count_once_and_far_apart_cracks_twice():
    mask = np.zeros((40, 100), bool)
    mask[10:12, 5:30] = True
    mask[10:12, 33:60] = True      # 3 px after the first: the same crack, interrupted
    mask[30:32, 5:60] = True       # 18 px below: another crack
    severity = measure_severity(mask, gap_px=6)
    assert severity.n_cracks == 2
    first, second = severity.cracks
    assert (first.id, second.id) == (1, 2) and first.length_px >= second.length_px  # longest first
    assert first.bbox == (30, 5, 32, 60) and second.bbox == (10, 5, 12, 60)
    assert first.area_px == 110 and second.area_px == 50 + 54
    assert abs(severity.length_px - first.length_px - second.length_px) < 1e-9
    assert measure_severity(mask, gap_px=0).n_cracks == 3  # without bridging: every fragment
    assert measure_severity(mask, gap_px=40).n_cracks == 1


def test_each_crack_has_its_own_widths_orientation_and_millimetres():
    mask = np.zeros((60, 60), bool)
    mask[5:8, 5:55] = True       # horizontal, 3 px wide
    mask[15:55, 40:41] = True    # vertical, 1 px wide
    severity = measure_severity(mask, mm_per_px=0.2, gap_px=4)
    horizontal, vertical = severity.cracks
    assert horizontal.max_width_px == 3 and vertical.max_width_px == 1
    assert abs(horizontal.orientation_deg - 0) < 1 or abs(horizontal.orientation_deg - 180) < 1
    assert abs(vertical.orientation_deg - 90) < 1
    assert horizontal.length_mm == horizontal.length_px * 0.2 and vertical.mean_width_mm == 0.2
    assert severity.to_dict()["cracks"][0]["id"] == 1 and "cracks" not in severity.summary()


def test_blockwise_growth_equals_skimage_isotropic_dilation():
    # Sparse specks and a line crossing many blocks, with blocks small enough that
    # the margins matter; the block-by-block growth must be exactly skimage's.
    rng = np.random.default_rng(0)
    mask = rng.random((410, 530)) > 0.9995
    mask[np.arange(400), np.arange(400) + 100] = True
    for radius in (1, 4, 7):
        np.testing.assert_array_equal(_grown(mask, radius, block=50), isotropic_dilation(mask, radius))


def test_whole_mask_orientation_is_regionprops_orientation():
    rng = np.random.default_rng(1)
    shapes = [rng.random((40, 60)) > 0.7, np.eye(30, dtype=bool), np.fliplr(np.eye(30, dtype=bool)),
              np.pad(np.ones((3, 20), bool), 5), np.pad(np.ones((20, 3), bool), 5)]
    for mask in shapes:
        expected = regionprops(mask.astype(np.uint8))[0].orientation
        assert _orientation(*np.nonzero(mask)) == pytest.approx(expected, abs=1e-9)


def test_widths_come_from_the_core_where_a_crack_has_one():
    # Two cracks far apart, each a 7-px wide band of mask; only the first has a
    # 3-px dark core inside it. Its widths are the core's, the other keeps the
    # mask's; length, area and count stay the mask's.
    mask = np.zeros((60, 200), bool)
    mask[7:14, 10:90] = True
    mask[40:47, 110:190] = True
    core = np.zeros_like(mask)
    core[9:12, 10:90] = True
    plain = measure_severity(mask)
    cored = measure_severity(mask, core=core)
    first, second = sorted(cored.cracks, key=lambda crack: crack.bbox[0])
    assert first.mean_width_px == pytest.approx(3, abs=0.2)
    assert second.mean_width_px == pytest.approx(7, abs=0.2)
    assert cored.max_width_px == pytest.approx(7)
    assert (cored.area_px, cored.n_cracks, cored.length_px) == (plain.area_px, plain.n_cracks, plain.length_px)
    assert cored.width_method == "photo" and plain.width_method == "mask"  # codes; WIDTH_METHODS explains them


def test_cracks_measured_one_by_one_equal_the_whole_masks_skeleton_and_distances():
    # Each crack is measured on its own box; the reference takes the skeleton and
    # the distances of the whole mask (and of the whole core) and splits them by crack.
    from cracklib.mask.morphology import distance_to_background, skeletonize
    from cracklib.measure import crack_labels

    rng = np.random.default_rng(4)
    mask = np.zeros((300, 400), bool)
    mask[100:104, 20:380] = True                                # a thin crack
    mask[np.arange(150, 290), np.arange(10, 150)] = True        # a diagonal one, with a gap
    mask[200:210, 40:60] = False
    mask[150:230, 250:330] = True                               # a blob
    mask |= ndimage.binary_dilation(rng.uniform(size=mask.shape) > 0.9985, iterations=2)
    core = mask & (rng.uniform(size=mask.shape) > 0.3)
    for gap_px, crack_core in ((20, None), (20, core), (0, core)):
        severity = measure_severity(mask, gap_px=gap_px, core=crack_core)
        labels = crack_labels(mask, gap_px=gap_px)
        skeleton, distance = skeletonize(mask), distance_to_background(mask)
        if crack_core is not None:
            core_skeleton, core_distance = skeletonize(crack_core), distance_to_background(crack_core)
        assert severity.n_cracks == labels.max() > 3
        for crack in severity.cracks:
            top, left, bottom, right = crack.bbox
            number = np.bincount(labels[top:bottom, left:right].ravel())[1:].argmax() + 1
            own = labels == number
            widths = 2 * distance[skeleton & own].astype(np.float64) - 1
            if crack_core is not None and (core_skeleton & own).any():
                widths = 2 * core_distance[core_skeleton & own].astype(np.float64) - 1
            assert crack.area_px == own.sum()
            assert crack.length_px == pytest.approx(skeleton_length(skeleton & own)
                                                    + _skeleton_ends(skeleton & own), abs=1e-9)
            assert (crack.max_width_px, crack.mean_width_px) == pytest.approx((widths.max(), widths.mean()),
                                                                               abs=1e-9)



@pytest.mark.parametrize("refine, post, widths, code", [
    ("otsu_core", "paper", "photo", r"photo\+otsu_core; darkness square \d+ px"),
    ("none", "none", "photo", r"photo; darkness square \d+ px"),
    ("dark_core", "none", "photo", r"mask\+dark_core; darkness square \d+ px"),  # the refined mask is the core
    ("none", "none", "mask", r"mask"),
])
def test_the_width_method_is_a_short_code_in_the_csv_and_the_json(refine, post, widths, code):
    # issue 42: the CSV's width_method cell held a paragraph; it holds a code, explained in docs/methods/severity.md.
    import csv
    import io
    import json
    import re

    from cracklib.io import crack_image
    from cracklib.pipeline import Explanation, ExplanationSettings, MaskSettings, segment_explanation
    from cracklib.run import result_file_makers, result_row, table_csv

    photo, crack = crack_image((96, 128), rng=3, max_width=3.0)
    band = ndimage.binary_dilation(crack, iterations=3)  # an explanation band a few pixels wider than the crack
    explanation = Explanation(0.9, band.astype(np.float32), band.shape, ExplanationSettings())
    result = segment_explanation(explanation, MaskSettings(threshold="simple", refine=refine, post=post,
                                                           widths=widths, min_crack_area=0), photo=photo)
    assert result.severity.area_px > 0
    cell = next(csv.DictReader(io.StringIO(table_csv([result_row("wall.png", result)]))))["width_method"]
    assert re.fullmatch(code, cell) and cell.split("+")[0].split(";")[0] in WIDTH_METHODS
    numbers = json.loads(result_file_makers("wall.png", photo, result)["wall.json"]())
    assert numbers["severity"]["width_method"] == cell


def test_an_empty_mask_names_the_width_method_its_settings_asked_for():
    empty = np.zeros((20, 20), bool)
    assert measure_severity(empty, core=empty).width_method == "photo"
    assert measure_severity(empty).width_method == "mask"
