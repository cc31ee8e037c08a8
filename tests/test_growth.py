"""Growth monitoring: alignment with known shifts and rotations, growth on a synthetic series, errors, CLI."""
import itertools
import json
import subprocess
import sys

import numpy as np
import pytest
from helpers import ROOT
from scipy.stats import spearmanr
from skimage.transform import rotate

from cracklib.errors import CrackInputError
from cracklib.io import HARD_SERIES, crack_image, growth_series, read_image, write_png
from cracklib.pipeline import PipelineConfig, load_classifier
from cracklib.run import GROWTH_CONFIG, align_series, monitor_growth, monotone_masks
from cracklib.run.growth import static_masks

#: The shared real data sets (../shared/data), read by the slow checks where present.
DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="module")
def series():
    return growth_series((256, 320), steps=5, rng=3, max_shift=12, exposure=0.1)


@pytest.fixture(scope="module")
def small_series():
    """A smaller series for the tests that segment every frame (a quarter of the pixels to explain)."""
    return growth_series((128, 160), steps=5, rng=3, max_shift=6, exposure=0.1)


def test_synthetic_series_grows_and_knows_its_shifts(series):
    areas = series.areas
    assert all(a < b for a, b in zip(areas, areas[1:]))
    assert series.shifts[0] == (0, 0) and any(shift != (0, 0) for shift in series.shifts[1:])


def test_alignment_finds_the_known_shifts_within_one_pixel(series):
    aligned, alignments = align_series(series.frames)
    for alignment, truth in zip(alignments, series.shifts):
        assert np.abs(np.subtract(alignment.shift, truth)).max() <= 1
    assert len({frame.shape for frame in aligned}) == 1
    # the aligned frames show the same surface: the exposure changed, the correlation stays high
    assert min(a.correlation for a in alignments) > 0.9


def test_alignment_undoes_a_small_rotation():
    image, _ = crack_image((300, 400), rng=5)
    turned = np.round(rotate(image, 3.0, preserve_range=True, mode="edge")).astype(np.uint8)
    _, alignments = align_series([image, turned], rotation=True)
    assert alignments[1].rotation_deg == pytest.approx(-3.0, abs=0.2)
    _, plain = align_series([image, turned])
    assert plain[1].correlation < alignments[1].correlation


def test_frames_of_slightly_different_size_are_cropped_alike():
    image, _ = crack_image((200, 260), rng=6)
    aligned, alignments = align_series([image, image[6:, 4:]])
    assert aligned[0].shape == aligned[1].shape and (aligned[0] == aligned[1]).all()


@pytest.mark.parametrize("frames, words", [
    (lambda: [np.zeros((64, 64, 3), np.uint8)], "two or more frames"),
    (lambda: [np.zeros((64, 64, 3), np.uint8), np.zeros((200, 64, 3), np.uint8)], "cannot be aligned"),
])
def test_bad_series_give_clear_errors(tiny_classifier, frames, words):
    with pytest.raises(CrackInputError, match=words):
        monitor_growth(tiny_classifier, frames())


def test_the_size_error_names_sizes_that_frames_have(tiny_classifier):
    wide, tall = np.zeros((100, 300, 3), np.uint8), np.zeros((300, 100, 3), np.uint8)
    with pytest.raises(CrackInputError, match="frame 1 is 300x100 but frame 2 is 100x300"):
        monitor_growth(tiny_classifier, [wide, tall])


def test_unaligned_frames_must_have_one_size(tiny_classifier):
    with pytest.raises(CrackInputError, match="differ in size"):
        monitor_growth(tiny_classifier, [np.zeros((64, 64, 3), np.uint8), np.zeros((60, 64, 3), np.uint8)],
                       align=False)


def test_keep_previous_makes_masks_monotone_and_steps_add_up(tiny_classifier, small_series):
    report = monitor_growth(tiny_classifier, small_series.frames, PipelineConfig.of(gate=0.0, threshold="simple"),
                            temporal="keep_previous")
    masks = [frame.result.mask for frame in report.frames]
    assert all((a & ~b).sum() == 0 for a, b in zip(masks, masks[1:]))
    data = report.to_dict()
    areas = [frame["area_px"] for frame in data["frames"]]
    assert [step["delta_area_px"] for step in data["steps"]] == list(np.diff(areas))
    assert data["cumulative"][-1]["delta_area_px"] == areas[-1] - areas[0]
    assert all(step["vanished_crack_px"] == 0 for step in data["steps"])
    assert not report.previous_mask(0).any() and (report.previous_mask(1) == masks[0]).all()  # nothing before 1


def test_consistent_series_of_identical_frames_agrees_with_one_frame_alone(tiny_classifier, small_series):
    frame = small_series.frames[2]
    config = PipelineConfig.of(gate=0.0, threshold="otsu", refine="none")
    report = monitor_growth(tiny_classifier, [frame, frame], config, temporal="consistent")
    single = monitor_growth(tiny_classifier, [frame, frame], config, temporal="independent")
    assert (report.frames[0].result.mask == single.frames[0].result.mask).all()
    assert report.steps[0]["new_crack_px"] == 0 and report.steps[0]["delta_area_px"] == 0
    assert [frame.disagreement for frame in report.frames] == [0.0, 0.0]


def test_monotone_masks_follow_the_majority_of_each_pixel():
    def frames(*pixels):  # one list per pixel, one value per frame
        return [np.array([values], bool) for values in np.array(pixels, bool).T]

    # Pixel 0 appears at frame 1 and stays; pixel 1 is a one-frame flash; pixel 2 is missed once in the middle;
    # pixel 3 is seen in the last frame only; pixel 4 flips 0 1 0 1 (a tie between turning at frame 1 and at
    # frame 3: the later wins, a pixel needs evidence).
    fitted = monotone_masks(frames([0, 1, 1, 1], [0, 1, 0, 0], [1, 1, 0, 1], [0, 0, 0, 1], [0, 1, 0, 1]))
    assert np.array([mask[0] for mask in fitted]).T.astype(int).tolist() == [
        [0, 1, 1, 1], [0, 0, 0, 0], [1, 1, 1, 1], [0, 0, 0, 1], [0, 0, 0, 1]]
    assert all((a & ~b).sum() == 0 for a, b in zip(fitted, fitted[1:]))


def test_a_frame_that_disagrees_with_its_neighbours_is_flagged(tiny_classifier, small_series):
    config = PipelineConfig.of(gate=0.0, threshold="otsu", refine="none")
    frame = small_series.frames[4]
    blank = np.full_like(frame, int(frame.mean()))  # a frame whose crack vanished (a washed-out photo)
    report = monitor_growth(tiny_classifier, [frame, frame, blank, frame, frame], config, align=False)
    flagged = [one.flagged for one in report.frames]
    assert flagged == [False, False, True, False, False], [one.disagreement for one in report.frames]
    assert report.to_dict()["frames"][2]["flagged"] is True


def test_unknown_temporal_mode_is_refused(tiny_classifier, small_series):
    with pytest.raises(ValueError, match="temporal"):
        monitor_growth(tiny_classifier, small_series.frames[:2], temporal="sometimes")


def _area_figures(grown, report):
    predicted = [frame.result.severity.area_px for frame in report.frames]
    errors = [abs(p - t) / t for p, t in zip(predicted, grown.areas)]
    return predicted, spearmanr(predicted, grown.areas)[0], errors


@pytest.mark.slow
def test_growth_defaults_follow_the_true_area_on_a_hard_series():
    """Integration, shipped default weights, growth's defaults (consistent frames, masks refined on the photo).

    The series drifts in exposure and shading, is blurred, JPEG-compressed, shifted and turned, and grows a
    branch halfway. Measured (docs/growth.md): Spearman 1.0; per-frame area error 2-15 % from the third frame
    on, larger on the first two, whose cracks are 1.5-2.4 px wide and under 0.2 % of the photo.
    """
    grown = growth_series((384, 512), steps=6, rng=5, **HARD_SERIES)
    classifier = load_classifier(device="cpu")
    predicted, rho, errors = _area_figures(grown, monitor_growth(classifier, grown.frames, rotation=True))
    assert rho >= 0.95, predicted
    assert max(errors[2:]) <= 0.15 and np.median(errors) <= 0.15, (predicted, grown.areas)
    # Frames judged alone (the old default) miss the young crack: the series is what recovers it.
    alone = monitor_growth(classifier, grown.frames, rotation=True, temporal="independent")
    assert _area_figures(grown, alone)[1] < rho


@pytest.mark.slow  # a fresh python process (imports torch) per call
def test_growth_cli_json_and_files(tmp_path, series):
    paths = []
    for index, frame in enumerate(series.frames[:3]):
        paths.append(tmp_path / f"t{index}.png")
        write_png(paths[-1], frame)
    done = subprocess.run([sys.executable, "-m", "cracklib", "growth", *map(str, paths), "--json", "--out",
                           str(tmp_path / "out"), "--weights", str(ROOT / "weights" / "synthetic_demo.pt")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [frame["image"] for frame in report["frames"]] == list(map(str, paths))
    keys = {"image", "crack_probability", "area_px", "length_px", "max_width_px", "mean_width_px", "n_cracks",
            "shift_px"}
    assert all(keys <= set(frame) for frame in report["frames"]) and len(report["steps"]) == 2
    assert np.abs(np.subtract(report["frames"][1]["shift_px"], series.shifts[1])).max() <= 1
    assert (tmp_path / "out" / "03_t2_growth.png").exists() and (tmp_path / "out" / "01_t0_mask.png").exists()


@pytest.mark.slow  # a fresh python process (imports torch) per call
def test_growth_cli_errors_are_one_line(tmp_path):
    write_png(tmp_path / "a.png", np.zeros((64, 64, 3), np.uint8))
    (tmp_path / "b.png").write_bytes(b"not an image")
    for args, words in [(["growth", str(tmp_path / "a.png")], "two or more"),
                        (["growth", str(tmp_path / "a.png"), str(tmp_path / "b.png")], "b.png")]:
        done = subprocess.run([sys.executable, "-m", "cracklib", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 2 and words in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


# The static rule: a feature the same in every frame is not crack growth.

NOTCH = (slice(40, 52), slice(0, 24))  # a machined slot, dark, the same in every frame


def _notched_series(frames: int = 5, *, seed: int = 0):
    """Frames of a grey 180 surface (noise ± 4) with a constant dark notch and a dark 2-px crack growing from
    its tip by 12 px a frame; each frame's explanation band, in which the notch's part flickers with the
    threshold (more of it every frame, as a shared threshold cuts a feature whose relevance drifts); the
    crack's true pixels per frame."""
    rng = np.random.default_rng(seed)
    surface = np.clip(rng.normal(180, 4, (96, 160)), 0, 255)
    images, bands, cracks = [], [], []
    for index in range(frames):
        gray = surface + rng.normal(0, 2, surface.shape)  # fresh sensor noise
        gray[NOTCH] = 60
        crack = np.zeros(surface.shape, bool)
        crack[45:47, 24:36 + 12 * index] = True
        gray[crack] = 70
        band = np.zeros(surface.shape, bool)
        band[36:56, 22:44 + 12 * index] = True             # around the crack
        band[36:56, 22 - 4 * (index + 1):22] = True         # the notch's part of the band grows
        images.append(np.repeat(np.clip(gray, 0, 255).astype(np.uint8)[..., None], 3, axis=-1))
        bands.append(band)
        cracks.append(crack)
    return images, bands, cracks


@pytest.fixture
def banded_explanations(monkeypatch):
    """Growth's explanations replaced by the frames' bands (relevance 1 on the band), so the test knows the cut."""
    from cracklib.pipeline import Explanation
    from cracklib.run import growth

    images, bands, cracks = _notched_series()
    by_frame = {image.tobytes(): band for image, band in zip(images, bands)}

    def explain(classifier, image, settings, **_):
        band = by_frame[np.ascontiguousarray(image).tobytes()]
        return Explanation(0.9, band.astype(np.float32), image.shape[:2], settings)

    monkeypatch.setattr(growth, "explain", explain)
    return images, cracks


def _grown(report):
    """Pixels each step added to the mask, per step."""
    return [new.result.mask & ~old.result.mask for old, new in zip(report.frames, report.frames[1:])]


def test_a_constant_notch_is_not_crack_growth(banded_explanations):
    images, cracks = banded_explanations
    config = PipelineConfig.of(mode="resize", threshold="fixed", refine="otsu_core", post="none", min_crack_area=0)
    notch = np.zeros(cracks[0].shape, bool)
    notch[NOTCH] = True
    counted = monitor_growth(None, images, config, align=False, static="count")
    constant = monitor_growth(None, images, config, align=False, static="constant")
    # As cut, the notch's mask grows with the band: counted as growth.
    assert any((step & notch).any() for step in _grown(counted))
    # Its photo never changes: one value in every frame, and the growth is the crack's only.
    assert not any((step & notch).any() for step in _grown(constant))
    for step, (before, after) in zip(_grown(constant), itertools.pairwise(cracks)):
        truth = after & ~before
        assert (step & ~truth).sum() <= 2 and (truth & ~step).sum() <= 2  # a pixel of the crack's tip
    first, last = constant.frames[0].result.mask, constant.frames[-1].result.mask
    assert (first & notch).sum() == (last & notch).sum() > 0.5 * notch.sum()  # the notch in every frame alike
    assert constant.cumulative[-1]["delta_length_px"] == pytest.approx(48, abs=3)  # the crack grew 4 × 12 px
    assert constant.to_dict()["options"]["static"] == "constant"
    # drop: the notch's part never changed, but it touches the crack, which grew: kept whole
    dropped = monitor_growth(None, images, config, align=False, static="drop")
    assert all((a.result.mask == b.result.mask).all() for a, b in zip(dropped.frames, constant.frames))


def test_static_masks_fit_each_unchanged_pixel_by_its_majority():
    def frames(*pixels):  # one list per pixel, one value per frame
        return [np.array([values], bool) for values in np.array(pixels, bool).T]

    masks = frames([0, 1, 1, 1], [1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 0, 1])
    changed = np.array([[False, False, True, False]])  # pixel 2 grew where the photo changed
    fitted = np.array([mask[0] for mask in static_masks(masks, changed, "constant")]).T.astype(int)
    # Pixel 0 is in 3 of 4 frames: in all; pixel 1 in 2 of 4 (a tie: a pixel needs evidence): in none; pixel 3
    # in 1 of 4: in none; pixel 2 changed and keeps its frames.
    assert fitted.tolist() == [[1, 1, 1, 1], [0, 0, 0, 0], [0, 0, 1, 1], [0, 0, 0, 0]]
    assert all((a == b).all() for a, b in zip(static_masks(masks, changed, "count"), masks))
    dropped = np.array([mask[0] for mask in static_masks(masks, changed, "drop")]).T.astype(int)
    assert dropped.tolist() == [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 1], [0, 0, 0, 0]]  # 0 never changed: alone
    with pytest.raises(ValueError, match="static"):
        static_masks(masks, changed, "sometimes")


def test_unknown_static_rule_is_refused(tiny_classifier, small_series):
    with pytest.raises(ValueError, match="static"):
        monitor_growth(tiny_classifier, small_series.frames[:2], static="never")


@pytest.mark.slow
@pytest.mark.skipif(not (DATA / "metal_fatigue_growth").is_dir(), reason="../shared/data is not here")
def test_the_real_fatigue_crack_grows_frame_by_frame():
    """series_a of metal_fatigue_growth: a bright crack grows from a machined notch over 11 frames, its tip
    about 20 px further in frame 11 than in frame 1 (read off the photos' bright top-hat), 1-3 px a frame.

    Settings and region as docs/growth.md (benchmarks.results.growth_report: BRIGHT_CRACK, REGIONS). The
    measured length must rise with the frame number: Spearman ≥ 0.9 over 11 frames (ties between frames
    whose growth is under a pixel allowed; ρ ≥ 0.9 has p < 0.001 for 11 frames by chance).
    """
    from benchmarks.results.growth_report import BRIGHT_CRACK, REGIONS, read_series, region

    paths = read_series(DATA / "metal_fatigue_growth")["series_a"]
    frames = region([read_image(path) for path in paths], REGIONS["series_a"])
    report = monitor_growth(load_classifier(device="cpu"), frames, GROWTH_CONFIG.replace(**BRIGHT_CRACK["config"]),
                            static=BRIGHT_CRACK["static"])
    lengths = [frame.result.severity.length_px for frame in report.frames]
    assert spearmanr(lengths, range(len(lengths)))[0] >= 0.9, lengths
    assert lengths[-1] - lengths[0] >= 10 and lengths[0] > 0, lengths
