"""Crack polarity: a bright crack on dark metal is refined and measured as a dark crack on concrete is."""
import numpy as np
import pytest
from scipy.ndimage import binary_dilation

from cracklib.cli import build_parser
from cracklib.mask.refine import POLARITIES, DarknessMap, crack_polarity, darkness, refine_with_photo
from cracklib.pipeline import Explanation, ExplanationSettings, MaskSettings, PipelineConfig, segment_explanation
from cracklib.pipeline.mask_step import cut_explanation
from cracklib.pipeline.options import default_of, option

SHAPE = (80, 120)


def _crack_photo(*, bright: bool, seed: int = 0):
    """A textured surface (grey 60 ± 6 for a bright crack, 190 ± 6 for a dark one) with a 2-px crack
    (grey 200, or 50) at rows 39-40, columns 10-109; and its truth."""
    rng = np.random.default_rng(seed)
    gray = rng.normal(60 if bright else 190, 6, SHAPE)
    truth = np.zeros(SHAPE, bool)
    truth[39:41, 10:110] = True
    gray[truth] = 200 if bright else 50
    return np.repeat(np.clip(gray, 0, 255).astype(np.uint8)[..., None], 3, axis=-1), truth


def _band(truth):
    """An explanation's cut: a band five pixels wider than the crack on each side."""
    return binary_dilation(truth, np.ones((11, 5), bool))


def _explanation(truth):
    """An explanation whose relevance is the band: thresholded, it gives the band back."""
    relevance = _band(truth).astype(np.float32)
    return Explanation(0.9, relevance, SHAPE, ExplanationSettings(mode="resize"))


def test_bright_polarity_keeps_a_bright_crack_and_dark_does_not():
    photo, truth = _crack_photo(bright=True)
    band = _band(truth)
    bright = refine_with_photo(band, photo, "otsu_core", polarity="bright")
    dark = refine_with_photo(band, photo, "otsu_core", polarity="dark")
    assert (bright == truth).all()
    assert not (dark & truth).any()  # the dark core is the surface beside the crack


def test_the_bright_darkness_is_the_darkness_of_the_negative():
    photo, _ = _crack_photo(bright=True)
    np.testing.assert_array_equal(darkness(photo, polarity="bright"), darkness(255 - photo))
    kept = DarknessMap(photo, block=32, polarity="bright")  # block by block, the same values
    np.testing.assert_array_equal(kept.near(np.ones(SHAPE, bool)), darkness(photo, polarity="bright"))
    with pytest.raises(ValueError, match="bright"):
        darkness(photo, polarity="auto")  # decided per photo before any darkness is read


@pytest.mark.parametrize("seed", range(3))
def test_auto_reads_the_polarity_off_the_band(seed):
    for bright in (True, False):
        photo, truth = _crack_photo(bright=bright, seed=seed)
        assert crack_polarity(_band(truth), photo) == ("bright" if bright else "dark")
    assert crack_polarity(np.zeros(SHAPE, bool), photo) == "dark"  # nothing to read: the default


def test_auto_reads_the_kept_darkness_maps_the_refinement_then_reuses():
    photo, truth = _crack_photo(bright=True)
    maps = {polarity: DarknessMap(photo, block=32, polarity=polarity) for polarity in ("dark", "bright")}
    assert crack_polarity(_band(truth), photo, maps=maps) == "bright"
    assert all(kept._done.any() for kept in maps.values())  # computed near the band, kept for the refinement


@pytest.mark.parametrize("bright", [True, False])
def test_the_pipeline_refines_and_measures_in_the_polarity_auto_chose(bright):
    photo, truth = _crack_photo(bright=bright)
    explanation = _explanation(truth)
    settings = MaskSettings(threshold="fixed", polarity="auto", post="none", min_crack_area=0)
    cut = cut_explanation(explanation, settings, photo=photo)
    assert cut.polarity == ("bright" if bright else "dark")
    result = segment_explanation(explanation, settings, photo=photo)
    assert (result.mask == truth).all()
    assert result.darkness.polarity == cut.polarity  # the widths read the same polarity
    assert result.severity.max_width_px == pytest.approx(2, abs=1)


def test_an_unrefined_cut_measures_its_widths_in_the_chosen_polarity():
    photo, truth = _crack_photo(bright=True)
    explanation = _explanation(truth)
    for polarity, expected in [("bright", "bright"), ("auto", "bright"), ("dark", "dark")]:
        result = segment_explanation(explanation, MaskSettings(threshold="fixed", refine="none", post="none",
                                                               polarity=polarity), photo=photo)
        assert result.darkness.polarity == expected


def test_polarity_is_a_mask_setting_of_the_one_schema_and_the_cli():
    assert default_of("polarity") == "auto" == MaskSettings().polarity  # chosen on the val splits (decision 0021)
    assert option("polarity").choices() == list(POLARITIES) == ["dark", "bright", "auto"]
    assert PipelineConfig.of(polarity="bright").mask.polarity == "bright"
    with pytest.raises(ValueError, match="polarity"):
        MaskSettings(polarity="light")
    args = build_parser().parse_args(["segment", "photo.png", "--out", "masks", "--polarity", "auto"])
    assert args.polarity == "auto"
