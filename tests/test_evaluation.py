import pytest

from cracklib.errors import CrackInputError
from cracklib.io import read_dataset
from cracklib.pipeline import ExplanationSettings, PipelineConfig
from cracklib.run import evaluate_grid, evaluate_samples


def test_grid_reuses_one_explanation_per_setting(data_folder, tiny_classifier):
    samples = read_dataset(data_folder)
    settings = [ExplanationSettings(method="lrp", rules="seibold", gate=0.0),
                ExplanationSettings(method="grad_cam", gate=0.0)]
    rows = evaluate_grid(tiny_classifier, samples, settings, ["simple", "percentile"], ["none", "paper"])
    assert len(rows) == 2 * 2 * 2
    assert {r["n_images"] for r in rows} == {6}  # the crack images only
    for row in rows:  # the scores of one pooled confusion: F1 the harmonic mean, IoU = F1 / (2 - F1)
        precision, recall, f1 = row["precision"], row["recall"], row["f1"]
        assert f1 == pytest.approx(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
        assert row["iou"] == pytest.approx(f1 / (2 - f1))
    # the grid agrees with a single evaluate run of the same setting
    single = evaluate_samples(tiny_classifier, samples, PipelineConfig.of(method="lrp", rules="seibold", gate=0.0,
                                                                       threshold="percentile", post="none"))
    row = next(r for r in rows if r["method"] == "lrp" and r["threshold"] == "percentile" and r["post"] == "none")
    assert row["f1"] == pytest.approx(single["segmentation"]["f1"])
    assert row["ap"] == pytest.approx(single["segmentation"]["ap"])


def test_score_result_and_compare_methods(tiny_classifier, rng):
    from dataclasses import replace

    import numpy as np

    from cracklib.io import crack_image
    from cracklib.measure import confusion
    from cracklib.pipeline import method_choices
    from cracklib.run import compare_methods, score_result

    image, truth = crack_image((96, 96), rng=5)
    choices = {choice.label: choice for choice in method_choices()}
    assert "lrp (montavon)" in choices and "deeplift" in choices
    settings = [choices[label].applied_to(ExplanationSettings(gate=0.0)) for label in ("lrp (forest)", "saliency")]
    assert settings[0].rules == "forest" and settings[1].method == "saliency" and settings[1].gate == 0.0
    runs = compare_methods(tiny_classifier, image, settings, truth=truth)
    assert [run.label for run in runs] == ["lrp (forest)", "saliency"]
    for run in runs:  # each run scored against the truth: the scores of its own mask's confusion
        assert run.seconds > 0
        assert {key: run.scores[key] for key in ("iou", "precision", "recall", "f1")} == \
            confusion(run.result.mask, truth).scores()
        assert run.scores["curve_precision"].shape == run.scores["curve_recall"].shape
    perfect = score_result(replace(runs[0].result, mask=truth, score=truth.astype(float)), truth)
    assert perfect["iou"] == 1.0 and perfect["ap"] == 1.0
    empty = score_result(runs[0].result, np.zeros_like(truth))
    assert empty["ap"] is None


def test_grid_curves_one_per_explanation_and_threshold_with_the_mask_as_point(data_folder, tiny_classifier):
    from cracklib.run import grid_curves

    settings = [ExplanationSettings(method="lrp", rules="seibold", gate=0.0)]
    rows = evaluate_grid(tiny_classifier, read_dataset(data_folder), settings, ["simple", "otsu"], ["none", "paper"])
    curves = grid_curves(rows)
    assert [curve.label for curve in curves] == ["lrp seibold simple", "lrp seibold otsu"]
    for curve, row in zip(curves, [r for r in rows if r["post"] == "none"]):
        assert curve.point == (row["recall"], row["precision"])
        assert curve.precision.shape == curve.recall.shape and curve.recall.max() == 1.0


def test_an_unreadable_image_is_left_out_and_named_and_the_rest_evaluated(data_folder, tiny_classifier):
    (data_folder / "images" / "2.png").unlink()              # a crack image of the test split
    (data_folder / "images" / "4.png").write_bytes(b"not an image")
    samples = read_dataset(data_folder)
    report = evaluate_samples(tiny_classifier, samples, PipelineConfig.of(gate=0.0))
    assert [line.split(":")[0] for line in report["skipped"]] == ["2.png", "4.png"]
    assert report["skipped"][0] == "2.png: no such file"
    assert not any(str(data_folder) in line for line in report["skipped"])   # no server paths
    assert report["segmentation"]["n_images"] == 4 and report["classifier"]["n"] == 8
    skipped = []
    rows = evaluate_grid(tiny_classifier, samples, [ExplanationSettings(gate=0.0)], ["simple"], ["none"],
                         skipped=skipped)
    assert rows[0]["n_images"] == 4 and len(skipped) == 2
    with pytest.raises(CrackInputError):
        evaluate_grid(tiny_classifier, samples, [ExplanationSettings(gate=0.0)], ["simple"], ["none"])
