import pytest

from cracklib.datasets import read_dataset
from cracklib.evaluation import evaluate_grid, evaluate_samples
from cracklib.pipeline import PipelineConfig


def test_grid_reuses_one_explanation_per_setting(data_folder, tiny_classifier):
    samples = read_dataset(data_folder)
    settings = [PipelineConfig(method="lrp", rules="seibold", gate=0.0), PipelineConfig(method="grad_cam", gate=0.0)]
    rows = evaluate_grid(tiny_classifier, samples, settings, ["simple", "percentile"], ["none", "paper"])
    assert len(rows) == 2 * 2 * 2
    assert {r["n_images"] for r in rows} == {6}  # the crack images only
    for row in rows:
        assert 0 <= row["f1"] <= 1 and 0 <= row["iou"] <= row["f1"]
    # the grid agrees with a single evaluate run of the same setting
    single = evaluate_samples(tiny_classifier, samples, PipelineConfig(method="lrp", rules="seibold", gate=0.0,
                                                                       threshold="percentile", post="none"))
    row = next(r for r in rows if r["method"] == "lrp" and r["threshold"] == "percentile" and r["post"] == "none")
    assert row["f1"] == pytest.approx(single["segmentation"]["f1"])
    assert row["ap"] == pytest.approx(single["segmentation"]["ap"])


def test_score_result_and_compare_methods(tiny_classifier, rng):
    import numpy as np

    from cracklib.evaluation import compare_methods, config_for_label, method_choices, score_result
    from cracklib.synthetic import crack_image

    image, truth = crack_image((96, 96), rng=5)
    configs = [config_for_label(label, PipelineConfig(gate=0.0)) for label in ("lrp (forest)", "saliency")]
    assert configs[0].rules == "forest" and configs[1].method == "saliency"
    assert "lrp (montavon)" in method_choices() and "deeplift" in method_choices()
    runs = compare_methods(tiny_classifier, image, configs, truth=truth)
    assert [run.label for run in runs] == ["lrp (forest)", "saliency"]
    for run in runs:
        assert run.seconds > 0 and 0 <= run.scores["f1"] <= 1
        assert run.scores["curve_precision"].shape == run.scores["curve_recall"].shape
    perfect = score_result(runs[0].result.__class__(**{**runs[0].result.__dict__, "mask": truth,
                                                      "score": truth.astype(float)}), truth)
    assert perfect["iou"] == 1.0 and perfect["ap"] == 1.0
    empty = score_result(runs[0].result, np.zeros_like(truth))
    assert empty["ap"] is None
