from dataclasses import replace

import numpy as np
import pytest
import torch

from cracklib.io import bundled_samples, crack_image, read_image, read_mask
from cracklib.mask import POSTPROCESSING, THRESHOLDS, drop_small_components, postprocess
from cracklib.measure import confusion
from cracklib.nets.models import WEIGHTS_DIR
from cracklib.pipeline import (
    Explanation,
    ExplanationSettings,
    MaskSettings,
    PipelineConfig,
    cut_explanation,
    explain,
    load_classifier,
    segment,
    segment_explanation,
)
from cracklib.pipeline.mask_step import _cut_in_window, _explained_window


def test_gate_skips_the_explanation(tiny_classifier):
    image, _ = crack_image((96, 96), rng=1)
    closed = segment(tiny_classifier, image, PipelineConfig.of(gate=1.01 - 1e-9))
    assert not closed.explained and closed.relevance is None and not closed.mask.any()
    assert "attribute" not in closed.timings
    opened = segment(tiny_classifier, image, PipelineConfig.of(gate=0.0))
    assert opened.explained and opened.relevance.shape == (96, 96) and "attribute" in opened.timings


def test_changing_the_threshold_reuses_the_explanation(tiny_classifier):
    image, _ = crack_image((96, 96), rng=2)
    explanation = explain(tiny_classifier, image, ExplanationSettings(gate=0.0))
    simple = segment_explanation(explanation, MaskSettings(threshold="simple", post="none"), photo=image)
    percentile = segment_explanation(explanation, MaskSettings(threshold="percentile", post="none", refine="none"))
    assert simple.relevance is percentile.relevance
    assert percentile.mask.sum() == pytest.approx(0.05 * 96 * 96, rel=0.1)
    assert simple.mask.sum() != percentile.mask.sum()


def test_result_summary_is_json_ready(tiny_classifier):
    import json
    image, _ = crack_image((80, 120), rng=3)
    summary = segment(tiny_classifier, image, PipelineConfig.of(gate=0.0, mm_per_px=0.2)).summary()
    written = json.loads(json.dumps(summary, allow_nan=False))  # strict JSON (no NaN): the values read back
    assert written["height"] == 80 and written["width"] == 120
    assert written["severity"]["mm_per_px"] == 0.2 and written["severity"]["area_px"] == summary["severity"]["area_px"]


@pytest.mark.slow
def test_shipped_default_weights_match_their_card():
    """Integration: the default model (trained on the real data sets) loads and its sha256 matches."""
    import hashlib

    from cracklib.pipeline import DEFAULT_WEIGHTS
    classifier = load_classifier(device="cpu")
    assert classifier.card.sha256 == hashlib.sha256(DEFAULT_WEIGHTS.read_bytes()).hexdigest()
    assert classifier.damage_free is not None
    image = read_image(bundled_samples()[0][0])
    result = segment(classifier, image, PipelineConfig.of(gate=0.0))
    assert result.mask.shape == image.shape[:2] and result.explained


@pytest.mark.slow
def test_synthetic_demo_weights_segment_the_bundled_samples():
    """Integration: the shipped synthetic demo model on the bundled synthetic samples."""
    classifier = load_classifier(WEIGHTS_DIR / "synthetic_demo.pt", device="cpu")
    totals = None
    for image_path, mask_path in bundled_samples():
        image = read_image(image_path)
        truth = read_mask(mask_path, shape=image.shape[:2])
        # this model saw whole photos resized to its input, so it is run the same way
        result = segment(classifier, image, PipelineConfig.of(rules="seibold", threshold="simple", post="paper",
                                                           mode="resize"))
        assert (result.probability >= 0.5) == truth.any()
        counts = confusion(result.mask, truth)
        totals = counts if totals is None else totals + counts
    # measured 0.28-0.30 with the synthetic demo weights (128-px input, upsampled maps)
    assert totals.f1 > 0.15
    assert totals.recall > 0.3


def _bundled_f1(classifier, config):
    totals = None
    for image_path, mask_path in bundled_samples():
        image = read_image(image_path)
        counts = confusion(segment(classifier, image, config).mask, read_mask(mask_path, shape=image.shape[:2]))
        totals = counts if totals is None else totals + counts
    return totals.f1


@pytest.mark.slow
def test_tiling_beats_resizing_with_the_default_weights():
    """Integration: native-resolution tiles keep the thin cracks that resizing blurs away.

    Measured on the 4 bundled samples (simple + paper): F1 0.54 tiled, 0.26 resized.
    """
    classifier = load_classifier(device="cpu")
    config = PipelineConfig.of(threshold="simple", post="paper")
    tiled = _bundled_f1(classifier, config)
    resized = _bundled_f1(classifier, PipelineConfig.of(threshold="simple", post="paper", mode="resize"))
    assert tiled > 0.4 and tiled > resized + 0.1


@pytest.mark.slow
def test_mask_png_and_reported_area_agree_on_every_bundled_sample_and_threshold():
    """Integration (issue 12): the mask a user downloads is the mask that was measured, to the pixel."""
    import json

    from cracklib.mask import THRESHOLDS
    from cracklib.run import result_files

    classifier = load_classifier(device="cpu")
    checked = 0
    for image_path, _ in bundled_samples():
        image = read_image(image_path)
        explanation = explain(classifier, image, ExplanationSettings(gate=0.0))
        for threshold in THRESHOLDS:
            result = segment_explanation(explanation, MaskSettings(threshold=threshold), photo=image)
            files = result_files(image_path.name, image, result)
            png = read_mask(files[f"{image_path.stem}_mask.png"], shape=image.shape[:2])
            reported = json.loads(files[f"{image_path.stem}.json"])["severity"]["area_px"]
            assert int(png.sum()) == reported == result.severity.area_px, (image_path.name, threshold)
            checked += png.any()
    assert checked >= len(bundled_samples())  # most cuts find something to measure


def test_evaluation_grid_pipeline_and_growth_give_the_same_mask(data_folder, tiny_classifier):
    """Issue 12: one path from explanation to mask, whoever calls it."""
    from cracklib.io import crack_pixels, read_dataset
    from cracklib.run import evaluate_grid, monitor_growth

    config = PipelineConfig.of(gate=0.0, threshold="simple", post="light", min_crack_area=30)
    samples = read_dataset(data_folder)
    rows = evaluate_grid(tiny_classifier, samples, [config.explanation], ["simple"], ["light"], mask=config.mask)
    total, compared = None, 0
    for sample in samples:
        image = read_image(sample.image)
        truth = crack_pixels(sample, image.shape[:2])
        if not truth.any():
            continue
        mask = segment(tiny_classifier, image, config).mask
        counts = confusion(mask, truth)
        total = counts if total is None else total + counts
        growth = monitor_growth(tiny_classifier, [image, image], config, align=False)
        assert all((frame.result.mask == mask).all() for frame in growth.frames)
        compared += 1
    assert compared == rows[0]["n_images"] == 6
    assert {key: rows[0][key] for key in total.scores()} == total.scores()


def test_specks_leave_the_mask_not_just_the_count(tiny_classifier):
    """The smallest crack is a mask setting: severity counts what the mask holds."""
    image, _ = crack_image((96, 96), rng=1)
    explanation = explain(tiny_classifier, image, ExplanationSettings(gate=0.0))
    loose = segment_explanation(explanation, MaskSettings(threshold="otsu", refine="none", post="none", min_crack_area=1))
    strict = segment_explanation(explanation, MaskSettings(threshold="otsu", refine="none", post="none", min_crack_area=40))
    assert strict.mask.sum() < loose.mask.sum()
    assert strict.severity.area_px == strict.mask.sum() and loose.severity.area_px == loose.mask.sum()


def test_explain_can_be_told_which_tiles_to_explain(tiny_classifier):
    """Growth's series gate: tiles explained whatever their probability (a gate above 1 alone explains nothing)."""
    image = np.random.default_rng(0).integers(0, 255, (150, 260, 3), np.uint8)
    settings = PipelineConfig.of(gate=1.01, mode="tiled").explanation
    assert not explain(tiny_classifier, image, settings).explained
    forced = explain(tiny_classifier, image, settings, tiles=np.array([0, 1]))
    assert forced.explained and forced.explained_tiles().tolist() == [0, 1] and forced.n_explained == 2
    covered = np.zeros(image.shape[:2], bool)
    for index in (0, 1):
        covered[forced.grid.window(index)] = True
    assert (forced.explained_pixels() == covered).all()
    resized = PipelineConfig.of(gate=1.01, mode="resize").explanation
    assert explain(tiny_classifier, image, resized, tiles=np.array([0])).explained
    assert not explain(tiny_classifier, image, resized, tiles=np.zeros(0, int)).explained


def test_excluded_pixels_are_never_crack_in_the_mask_or_its_severity(tiny_classifier):
    image, _ = crack_image((96, 96), rng=1)
    config = PipelineConfig.of(gate=0.0, threshold="otsu", min_crack_area=0)
    plain = segment(tiny_classifier, image, config)
    exclude = np.zeros(image.shape[:2], bool)
    exclude[:, :48] = True
    kept = segment(tiny_classifier, image, config, exclude=exclude)
    assert not kept.mask[:, :48].any() and (kept.mask[:, 48:] == plain.mask[:, 48:]).all()
    assert kept.severity.area_px == int(kept.mask.sum())
    from cracklib.errors import CrackInputError
    with pytest.raises(CrackInputError, match="exclusion mask is 10x10"):
        segment(tiny_classifier, image, config, exclude=np.zeros((10, 10), bool))


#: The fast tier takes each post-processing, refinement and darkness square once; the slow tier every combination.
_FAST_WINDOW_CASES = {(15, "none", "none"), (15, "dark_core", "light"), ("per_photo", "otsu_core", "paper")}


@pytest.mark.parametrize("darkness_width, refine, post", [
    pytest.param(width, refine, post, marks=() if (width, refine, post) in _FAST_WINDOW_CASES else pytest.mark.slow)
    for width in (15, "per_photo") for refine in ("none", "dark_core", "otsu_core") for post in sorted(POSTPROCESSING)])
def test_the_explained_window_gives_the_whole_photo_mask(post, refine, darkness_width):
    # Relevance only on a block of "explained tiles" well inside a larger photo,
    # and on one touching the photo's edge: stage 2 on the window must give the
    # mask and score of stage 2 on the whole photo, for every threshold.
    rng = np.random.default_rng(3)
    shape = (300, 420)
    support = np.zeros(shape, bool)
    support[100:180, 150:260] = True
    support[0:60, 360:420] = True
    relevance = np.where(support, rng.normal(0, 1, shape) + 4 * (np.abs(np.arange(420) - 200) < 2), 0)
    relevance = relevance.astype(np.float32)
    photo = rng.integers(100, 200, (*shape, 3), dtype=np.uint8)
    photo[:, 198:203] //= 3  # a dark crack for the refinement to find
    photo[200:, :150] = 255  # a bright area outside the window: the photo's surface level is not the window's
    explanation = Explanation(0.9, relevance, shape, ExplanationSettings(), support=support)
    # The window holds every explained pixel and is well under the photo (else the whole photo is cut).
    rows, cols = _explained_window(explanation, MaskSettings(post=post, darkness_width=darkness_width))
    assert support[rows, cols].sum() == support.sum()
    assert (rows.stop - rows.start) * (cols.stop - cols.start) <= 0.8 * support.size
    for threshold in THRESHOLDS:
        settings = MaskSettings(threshold=threshold, post=post, refine=refine, darkness_width=darkness_width)
        windowed = segment_explanation(explanation, settings, photo=photo)
        whole_cut, _ = _cut_in_window(explanation, settings, None, photo=photo, darkness=None)
        whole_mask = drop_small_components(postprocess(whole_cut.mask, post), settings.min_crack_area)
        assert windowed.mask.any(), threshold
        np.testing.assert_array_equal(windowed.mask, whole_mask, err_msg=threshold)
        np.testing.assert_allclose(windowed.score, whole_cut.score, atol=1e-6, err_msg=threshold)
        # The evaluation grid's cut, given the photo alone, is the whole photo's too.
        np.testing.assert_array_equal(cut_explanation(explanation, settings, photo=photo).mask, whole_cut.mask,
                                      err_msg=threshold)
        # A cut given by the caller is post-processed on the window too, as long as it lies in the explained
        # tiles; one reaching outside them is post-processed whole.
        given = segment_explanation(explanation, settings, thresholded=whole_cut)
        np.testing.assert_array_equal(given.mask, whole_mask, err_msg=threshold)
        outside = whole_cut.mask.copy()
        outside[250:290, 20:60] = True  # a block far from the explained tiles
        beyond = segment_explanation(explanation, settings, thresholded=replace(whole_cut, mask=outside))
        expected = drop_small_components(postprocess(outside, post), settings.min_crack_area)
        np.testing.assert_array_equal(beyond.mask, expected, err_msg=threshold)


def test_a_photo_past_the_gate_is_explained_from_its_highest_tile_at_least():
    from cracklib.pipeline import gated_tiles

    tiles = np.array([0.2, 0.7, 0.4, 0.9])
    np.testing.assert_array_equal(gated_tiles(tiles, 0.9, 0.5), [1, 3])
    # The decision (e.g. with a whole-photo model) passed the gate while no tile did: the highest is explained.
    np.testing.assert_array_equal(gated_tiles(np.array([0.2, 0.45, 0.3]), 0.55, 0.5), [1])
    assert len(gated_tiles(tiles, 0.3, 0.5)) == 0  # a photo below the gate: none, whatever its tiles say
    np.testing.assert_array_equal(gated_tiles(tiles, 0.0, 0.0), [0, 1, 2, 3])  # gate 0 explains every tile


def test_the_int8_screen_explains_the_same_tiles_as_the_float_model(tiny_classifier):
    from cracklib.pipeline import SCREENING_MARGIN, classify_tiles, score_tiles

    image, _ = crack_image((256, 320), crack=True, rng=3)
    screened, plain = ExplanationSettings(screen_from_tiles=0), ExplanationSettings(screen_from_tiles=None)
    if "x86" not in torch.backends.quantized.supported_engines:
        pytest.skip("no x86 quantised engine on this machine: tiles are scored in float only")
    assert tiny_classifier.screening_model is not None
    _, work, grid, float_tiles, float_photo = classify_tiles(tiny_classifier, image, plain)
    cascade_tiles, cascade_photo = classify_tiles(tiny_classifier, image, screened)[3:]
    raw = score_tiles(tiny_classifier, work, grid, range(len(grid)), screened=True)
    # The screen is int8: close to the float model, not equal to it.
    assert 1e-4 < np.abs(raw - float_tiles).max() < SCREENING_MARGIN
    assert cascade_photo == float_photo and (cascade_tiles >= 0.5).any()
    np.testing.assert_array_equal(cascade_tiles >= 0.5, float_tiles >= 0.5)
    a, b = explain(tiny_classifier, image, screened), explain(tiny_classifier, image, plain)
    np.testing.assert_array_equal(a.explained_tiles(), b.explained_tiles())
    np.testing.assert_array_equal(a.relevance, b.relevance)


def test_a_classifier_with_eight_views_scores_a_turned_or_mirrored_input_alike(tiny_classifier):
    from cracklib.nets import VIEWS, to_input, turned_batch
    from cracklib.train import synthetic_examples

    photos, _ = synthetic_examples(6, tiny_classifier.card.input_size, seed=4)
    inputs = to_input(photos, tiny_classifier.card.normalization)
    plain = tiny_classifier.probabilities(inputs)
    eight = replace(tiny_classifier, card=replace(tiny_classifier.card, views=8))
    averaged = eight.probabilities(inputs)
    assert not np.allclose(averaged, plain, atol=1e-6)  # the views do differ...
    for turns, mirrored in VIEWS[1:]:  # ...and their mean does not depend on how the input lies
        np.testing.assert_allclose(eight.probabilities(turned_batch(inputs, turns, mirrored)), averaged, atol=1e-5)
