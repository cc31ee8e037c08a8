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
