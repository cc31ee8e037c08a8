"""Refining a mask with the photo: tiny hand-made photos whose dark pixels are known."""
import pickle

import numpy as np
import pytest
from scipy.ndimage import binary_dilation
from skimage.filters import apply_hysteresis_threshold

from cracklib.mask import (
    PER_PHOTO,
    DarknessMap,
    band_darkness_width,
    dark_core,
    darkness,
    darkness_level,
    hysteresis_threshold,
    refine,
    refine_mask,
    refine_with_photo,
    surface_level,
)
from cracklib.mask.morphology import distance_to_background, skeletonize
from cracklib.pipeline import (
    Explanation,
    ExplanationSettings,
    MaskSettings,
    PipelineConfig,
    cut_explanation,
    explain,
    segment_explanation,
)


def _photo():
    """A grey 40×40 surface with a dark 2-px line at rows 19-20."""
    gray = np.full((40, 40), 180, np.uint8)
    gray[19:21, 5:35] = 60
    return np.stack([gray] * 3, axis=-1)


def test_darkness_is_the_depth_of_a_dark_line_below_its_surround():
    dark = darkness(_photo(), width=7)
    assert dark[19, 20] == pytest.approx(120) and dark[5, 5] == 0 and dark[30, 20] == 0
    # Wider than the neighbourhood, a dark band is surface, not crack: its middle has no darkness.
    wide = np.full((40, 40), 180, np.uint8)
    wide[10:30] = 60
    assert darkness(wide, width=7)[20, 20] == 0


def _road_with_paint():
    """Grey 150 road with a dark 2-px crack (rows 19-20, grey 60) and a white 255 stripe at columns 33-39,
    worn through to the road (150) in a 2×2 spot at rows 5-6, columns 35-36."""
    gray = np.full((40, 40), 150, np.uint8)
    gray[19:21, 2:25] = 60
    gray[:, 33:] = 255
    gray[5:7, 35:37] = 150
    return gray


def test_surface_level_is_a_percentile_of_the_photos_grey_levels():
    gray = _road_with_paint()
    assert surface_level(gray, percentile=80) == 150   # the stripe is a sixth of the photo: above the 80th percentile
    assert surface_level(gray, percentile=95) == 255
    assert surface_level(gray, percentile=100) == np.inf  # no cap
    assert surface_level(np.stack([gray] * 3, axis=-1), percentile=80) == pytest.approx(150, abs=0.5)


def test_darkness_map_caps_every_block_at_the_whole_photos_surface():
    gray = np.tile(_road_with_paint(), (2, 2))
    level = surface_level(gray, percentile=80)
    kept = DarknessMap(gray, block=20, surface=level)  # the stripe is 7 of a 20-px block: its own level is 255
    whole = darkness(gray, surface=level)
    np.testing.assert_array_equal(kept.near(np.ones(gray.shape, bool)), whole)
    assert kept.surface == 150 and whole[5, 35] == 0
    again = pickle.loads(pickle.dumps(kept))  # a pickled map keeps its cap
    assert again.surface == 150 and np.array_equal(again.near(np.ones(gray.shape, bool)), whole)


def test_worn_paint_is_not_darker_than_the_road():
    gray = _road_with_paint()
    capped = darkness(gray, width=7, surface=surface_level(gray, percentile=80))
    uncapped = darkness(gray, width=7, surface=np.inf)
    # The worn spot is 105 below the paint around it, but as bright as the road's surface.
    assert uncapped[5, 35] == 105 and capped[5, 35] == 0
    assert capped[19, 10] == uncapped[19, 10] == 90  # the crack keeps its depth below the road
    # So a band over the crack and the spot keeps the crack alone (without the cap, the spot too).
    band = np.zeros((40, 40), bool)
    band[17:23, 2:25] = band[3:9, 33:39] = True
    crack = np.zeros((40, 40), bool)
    crack[19:21, 2:25] = True
    assert (refine_mask(band, capped) == crack).all()
    assert refine_mask(band, uncapped)[5:7, 35:37].all()


def test_refined_mask_keeps_the_line_inside_a_blob_around_it():
    blob = np.zeros((40, 40), bool)
    blob[15:25, 10:30] = True  # what a relevance map marks: a band around the line
    refined = refine_mask(blob, darkness(_photo(), width=7))
    expected = np.zeros_like(blob)
    expected[19:21, 10:30] = True
    assert (refined == expected).all()
    assert not refine_mask(np.zeros_like(blob), darkness(_photo())).any()  # an empty mask stays empty


def test_one_level_can_be_given_for_several_photos():
    dark = darkness(_photo(), width=7)
    blob = np.ones((40, 40), bool)
    level = darkness_level(dark, blob)  # fitted on this photo, given back: the mask fitted by default
    line = np.zeros((40, 40), bool)
    line[19:21, 5:35] = True
    assert 0 < level < 120 and (refine_mask(blob, dark, level=level) == refine_mask(blob, dark)).all()
    assert (refine_mask(blob, dark, level=level) == line).all()
    assert not refine_mask(blob, dark, level=200).any() and refine_mask(blob, dark, level=-1).all()
    assert darkness_level(dark, np.zeros_like(blob)) is None  # nothing to fit on
    with pytest.raises(ValueError, match="differ"):
        refine_mask(blob[:10], dark)


def test_unknown_refinement_is_refused():
    with pytest.raises(ValueError, match="refinement"):
        MaskSettings(refine="sharpen")


def test_pipeline_refines_only_when_asked_and_needs_the_photo(tiny_classifier):
    image = np.ascontiguousarray(np.tile(_photo(), (2, 2, 1)))
    explanation = explain(tiny_classifier, image, PipelineConfig.of(gate=0.0, mode="resize").explanation)
    plain = segment_explanation(explanation, MaskSettings(threshold="otsu", refine="none", post="none",
                                                          min_crack_area=0))
    refined = segment_explanation(explanation, MaskSettings(threshold="otsu", refine="otsu_core", post="none",
                                                            min_crack_area=0), photo=image)
    assert (refined.mask & ~plain.mask).sum() == 0  # a subset of the plain mask
    cut = cut_explanation(explanation, MaskSettings(threshold="otsu", refine="otsu_core"), photo=image)
    assert (refined.mask == cut.mask).all()
    assert refined.severity.area_px == int(refined.mask.sum())
    with pytest.raises(ValueError, match="photo"):
        segment_explanation(explanation, MaskSettings(threshold="otsu", refine="otsu_core"))


def test_dark_core_is_the_refined_mask_computed_block_by_block():
    rng = np.random.default_rng(2)
    photo = rng.integers(120, 200, (150, 170, 3), dtype=np.uint8)
    photo[:, 60:63] //= 3
    photo[100:103, :] //= 2
    mask = np.zeros((150, 170), bool)
    mask[:, 55:68] = True
    mask[96:108, 20:150] = True
    expected = refine_mask(mask, darkness(photo))
    np.testing.assert_array_equal(dark_core(mask, photo, block=40, edge_fraction=1.0), expected)
    assert expected.sum() < mask.sum() and expected[50, 61]


def test_darkness_map_equals_the_whole_photos_on_the_blocks_a_mask_touches_and_keeps_them(monkeypatch):
    rng = np.random.default_rng(3)
    photo = rng.integers(0, 255, (130, 170, 3), dtype=np.uint8)
    whole = darkness(photo)
    mask = np.zeros((130, 170), bool)
    mask[5:9, 100:160] = True                     # blocks (0, 2) and (0, 3) of 40 px
    kept = DarknessMap(photo, block=40)
    calls = []

    def counted(window, width, surface, polarity):
        calls.append(window.shape)
        return darkness(window, width=width, surface=surface, polarity=polarity)

    monkeypatch.setattr(refine, "darkness", counted)
    near = kept.near(mask)
    np.testing.assert_array_equal(near[:40, 80:160], whole[:40, 80:160])
    assert not near[40:].any() and not near[:, :80].any() and not near[:, 160:].any() and len(calls) == 2
    assert not near.flags.writeable
    kept.near(mask)                               # the same blocks: nothing computed again
    assert len(calls) == 2
    # A window of the photo shares the blocks computed so far: only block (3, 0) is new.
    window = (slice(30, 130), slice(0, 120))
    part = np.zeros((100, 120), bool)
    part[95:, 2] = part[0, 90] = True              # photo pixels (125..129, 2) and (30, 90)
    cropped = kept.cropped(window).near(part)
    assert cropped.shape == (100, 120) and len(calls) == 3
    assert cropped[95:, 2].tolist() == whole[125:, 2].tolist() and cropped[0, 90] == whole[30, 90]
    with pytest.raises(ValueError, match="differ in size"):
        kept.near(part)
    copied = pickle.loads(pickle.dumps(kept.cropped(window)))   # st.cache_data pickles what it keeps
    np.testing.assert_array_equal(copied.near(part)[part], cropped[part])


def test_a_kept_darkness_map_gives_the_same_mask_and_widths(tiny_classifier):
    image = np.ascontiguousarray(np.tile(_photo(), (2, 2, 1)))
    explanation = explain(tiny_classifier, image, PipelineConfig.of(gate=0.0, mode="resize").explanation)
    kept = DarknessMap(image, block=24)
    for threshold in ("otsu", "simple", "otsu"):
        settings = MaskSettings(threshold=threshold, refine="otsu_core")
        fresh, reused = (segment_explanation(explanation, settings, photo=image, darkness=darkness)
                         for darkness in (None, kept))
        np.testing.assert_array_equal(reused.mask, fresh.mask)
        assert reused.severity.to_dict() == fresh.severity.to_dict()
    with pytest.raises(ValueError, match="another photo"):
        segment_explanation(explanation, MaskSettings(refine="otsu_core"), photo=image.copy(), darkness=kept)


def _widening_crack():
    """A grey 180 surface, 80×80, with a dark (60) crack along row 40 that widens from 5 px (column 10) to 24 px
    (column 69), and a mask 3 px wider than the crack."""
    gray = np.full((80, 80), 180, np.uint8)
    for column in range(10, 70):
        width = 5 + (column - 10) // 3
        gray[40 - width // 2:40 - width // 2 + width, column] = 60
    crack = gray == 60
    return np.stack([gray] * 3, axis=-1), binary_dilation(crack, iterations=3), crack


def test_a_crack_wider_than_the_darkness_square_loses_its_middle_and_a_wider_square_keeps_it():
    photo, mask, crack = _widening_crack()
    narrow = refine_with_photo(mask, photo, "otsu_core", width=15)
    wide = refine_with_photo(mask, photo, "otsu_core", width=31)
    # Where the crack is wider than the square, the closing does not fill it: no darkness, dropped.
    assert narrow[40, 12] and not narrow[40, 65] and not (narrow & ~crack).any()
    np.testing.assert_array_equal(wide, crack)   # the whole crack and nothing else


def test_the_pipeline_takes_its_darkness_over_the_settings_square():
    photo, band, _ = _widening_crack()
    # Relevance on the band around the crack, so every threshold cuts that band.
    explanation = Explanation(0.9, band.astype(np.float32), band.shape, ExplanationSettings())
    kept = DarknessMap(photo)                      # the default square, as the studio keeps it
    masks = {}
    for width in (15, 45):
        settings = MaskSettings(threshold="simple", refine="otsu_core", post="none", min_crack_area=0,
                                darkness_width=width)
        result = segment_explanation(explanation, settings, photo=photo, darkness=kept)
        alone = segment_explanation(explanation, settings, photo=photo)
        np.testing.assert_array_equal(result.mask, alone.mask)  # a kept map of another square is not read
        np.testing.assert_array_equal(cut_explanation(explanation, settings, photo=photo, darkness=kept).mask,
                                      result.mask)
        assert result.darkness.width == width
        masks[width] = result.mask
    assert masks[45][40, 65] and not masks[15][40, 65] and masks[15].sum() < masks[45].sum()


@pytest.mark.parametrize("rows, unclipped, side", [(3, 7, 15), (9, 15, 15), (13, 21, 21), (21, 33, 33),
                                                    (31, 49, 45), (0, 3, 15)])
def test_a_square_sized_per_photo_is_three_times_the_bands_half_width(rows, unclipped, side):
    # A straight band ``rows`` px wide: its half-width on the skeleton is (rows + 1) / 2 (the distance to the
    # first background pixel), so the side is 1.5 × 2 × that, made odd, and kept within 15-45 px.
    band = np.zeros((80, 300), bool)
    band[40 - rows // 2:40 - rows // 2 + rows, 20:280] = True
    assert band_darkness_width(band) == side
    assert band_darkness_width(band, widths=(3, 95)) == unclipped


@pytest.mark.parametrize("percentile", [10.0, 50.0, 90.0, 100.0])
def test_a_square_sized_per_photo_reads_each_fragment_alone_as_on_the_whole_band(percentile):
    # Blobs and bands whose boxes overlap, one along the photo's edge: fragment by fragment, the half-widths are
    # those of the whole band's skeleton and distance transform.
    rng = np.random.default_rng(0)
    band = binary_dilation(rng.random((120, 160)) > 0.993, iterations=4)
    band[:, :5] = True
    band[60:70, 20:150] = True
    whole = distance_to_background(band)[skeletonize(band)]
    side = int(np.ceil(1.5 * 2 * np.percentile(whole, percentile)))
    assert band_darkness_width(band, percentile=percentile, widths=(3, 95)) == side + 1 - side % 2


def test_a_square_sized_per_photo_keeps_a_wide_crack_and_stays_small_on_a_thin_one():
    photo, band, crack = _widening_crack()
    settings = MaskSettings(threshold="simple", refine="otsu_core", post="none", min_crack_area=0,
                            darkness_width=PER_PHOTO)
    wide = segment_explanation(Explanation(0.9, band.astype(np.float32), band.shape, ExplanationSettings()),
                               settings, photo=photo)
    assert wide.darkness.width == band_darkness_width(band) >= 31
    np.testing.assert_array_equal(wide.mask, crack)  # the whole crack, as with a 31-px square
    assert "darkness square" in wide.severity.width_method
    thin_band = binary_dilation(_photo()[..., 0] == 60, iterations=2)
    thin = segment_explanation(Explanation(0.9, thin_band.astype(np.float32), thin_band.shape, ExplanationSettings()),
                               settings, photo=_photo())
    fixed = segment_explanation(thin.explanation, MaskSettings(threshold="simple", refine="otsu_core", post="none",
                                                               min_crack_area=0), photo=_photo())
    assert thin.darkness.width == 15
    np.testing.assert_array_equal(thin.mask, fixed.mask)


@pytest.mark.parametrize("width", [2, 14, 1, "wide", 15.0])
def test_the_darkness_square_is_an_odd_number_of_pixels(width):
    with pytest.raises(ValueError, match="darkness_width"):
        MaskSettings(darkness_width=width)


def test_dark_core_takes_the_half_dark_edges_joined_to_the_core_only():
    # A line 3 px dark with a half-dark pixel column on each side, and a
    # half-dark column far from it: the edges join the core, the lone column does not.
    photo = np.full((60, 80), 200, np.uint8)
    photo[:, 30:33] = 50
    photo[:, 29] = photo[:, 33] = 150
    photo[:, 50] = 150
    mask = np.zeros((60, 80), bool)
    mask[:, 24:56] = True
    otsu = dark_core(mask, photo, edge_fraction=1.0)
    edged = dark_core(mask, photo)
    assert otsu[:, 30:33].all() and not otsu[:, [29, 33, 50]].any()
    assert edged[:, 29:34].all() and not edged[:, 50].any()


@pytest.mark.parametrize("refinement", ["dark_core", "otsu_core"])
def test_the_pipeline_refinement_is_the_named_core_and_severity_measures_it(tiny_classifier, refinement):
    # The tiny model's otsu cut is a blob around the line; each refinement keeps its own core of it,
    # computed near the mask only, and severity reads widths on that refined mask.
    image = np.ascontiguousarray(np.tile(_photo(), (2, 2, 1)))
    explanation = explain(tiny_classifier, image, PipelineConfig.of(gate=0.0, mode="resize").explanation)
    cut = cut_explanation(explanation, MaskSettings(threshold="otsu", refine="none"))
    refined = cut_explanation(explanation, MaskSettings(threshold="otsu", refine=refinement), photo=image)
    expected = (dark_core(cut.mask, image) if refinement == "dark_core"
                else refine_mask(cut.mask, darkness(image)))
    np.testing.assert_array_equal(refined.mask, expected)
    assert refined.mask.sum() < cut.mask.sum()
    result = segment_explanation(explanation, MaskSettings(threshold="otsu", refine=refinement, min_crack_area=0),
                                 photo=image)
    assert refinement in result.severity.width_method
    assert result.severity.area_px == int(result.mask.sum())


def test_refine_with_photo_refuses_an_unknown_name_and_keeps_an_empty_mask():
    empty = np.zeros((40, 40), bool)
    assert not refine_with_photo(empty, _photo(), "dark_core").any()
    with pytest.raises(ValueError, match="refinement"):
        refine_with_photo(empty, _photo(), "sharpen")


def test_hysteresis_keeps_the_low_regions_that_touch_a_high_pixel():
    image = np.array([[0, 1, 1, 3, 1, 0, 1, 1],
                      [0, 0, 0, 0, 0, 0, 0, 1],
                      [1, 0, 0, 0, 0, 0, 0, 0]], float)
    kept = hysteresis_threshold(image, 0.5, 2.5)
    # The first run holds the 3; the run at the right end and the corner pixel hold none.
    np.testing.assert_array_equal(kept[0], [0, 1, 1, 1, 1, 0, 0, 0])
    assert not kept[1:].any()


@pytest.mark.parametrize("seed", range(5))
def test_hysteresis_equals_skimage(seed):
    image = np.random.default_rng(seed).random((60, 70))
    for low, high in [(0.3, 0.9), (0.6, 0.95), (0.9, 0.5)]:  # the last: low above high, clipped as skimage does
        np.testing.assert_array_equal(hysteresis_threshold(image, low, high),
                                      apply_hysteresis_threshold(image, low, high))
