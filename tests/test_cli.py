"""The command line end to end: files written, JSON printed, one-line errors with exit code 2."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cracklib.cli import main
from cracklib.io import write_png
from cracklib.io import bundled_samples

ROOT = Path(__file__).resolve().parent.parent


def _run(*args):
    return subprocess.run([sys.executable, "-m", "cracklib", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.slow  # a fresh python process (imports torch) per call
def test_segment_bundled_samples_end_to_end(tmp_path):
    images = [str(p) for p, _ in bundled_samples()]
    done = _run("segment", *images, "--out", str(tmp_path), "--scale", "0.5")
    assert done.returncode == 0, done.stderr
    for path in images:
        stem = Path(path).stem
        assert (tmp_path / f"{stem}_mask.png").exists() and (tmp_path / f"{stem}_heatmap.png").exists()
        assert (tmp_path / f"{stem}_overlay.png").exists()
        report = json.loads((tmp_path / f"{stem}.json").read_text())
        assert {"crack_probability", "severity", "timings_s", "config"} <= set(report)
        assert report["severity"]["mm_per_px"] == 0.5


@pytest.mark.parametrize("args, words", [
    (["segment", "missing.png", "--out", "OUT"], "missing.png: no such file"),
    (["segment", "OUT/notes.txt", "--out", "OUT"], "not an image"),
    (["segment", "x.png", "--out", "OUT", "--method", "magic"], "invalid choice"),
    (["evaluate", "--data", "no/such/folder"], "no such data folder"),
    (["segment", "x.png", "--out", "OUT", "--gate", "2"], "--gate"),
    (["segment", "x.png", "--out", "OUT", "--decision", "vote"], "invalid choice"),
    (["segment", "x.png", "--out", "OUT", "--darkness-width", "14"], "darkness_width must be an odd number"),
    (["segment", "x.png", "--out", "OUT", "--darkness-width", "wide"], "expected an odd number of pixels or per_photo"),
    (["train", "--synthetic", "8", "--out", "OUT/w.pt", "--hard-negatives", "OUT/none.pt"], "no such weights file"),
])
def test_user_errors_are_one_line_with_exit_code_2(tmp_path, capsys, args, words):
    (tmp_path / "notes.txt").write_text("not a photo")
    args = [a.replace("OUT", str(tmp_path)) for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert words in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.slow  # a fresh python process (imports torch) per call
def test_error_in_a_subprocess_has_no_traceback():
    done = _run("segment", "nope.jpg", "--out", "/tmp/cracklib-cli-test")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["error: nope.jpg: no such file"]


def test_evaluate_prints_the_documented_json(data_folder, tiny_weights, capsys):
    assert main(["evaluate", "--data", str(data_folder), "--weights", str(tiny_weights), "--gate", "0"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_images"] == 10
    assert set(report["classifier"]) >= {"balanced_accuracy", "tpr", "tnr", "auc"}
    segmentation = report["segmentation"]
    assert segmentation["n_images"] == 6
    assert set(segmentation) >= {"iou", "precision", "recall", "f1", "ap"}
    assert 0 < segmentation["recall"] <= 1
    assert report["seconds_per_image"] > 0


def test_evaluate_with_faithfulness_writes_each_photos_scores_and_their_means(data_folder, tiny_weights, capsys):
    assert main(["evaluate", "--data", str(data_folder), "--weights", str(tiny_weights), "--gate", "0",
                 "--faithfulness"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = [row["faithfulness"] for row in report["segmentation"]["per_image"]]
    assert len(rows) == 6 and all(row["method"] == "lrp (epsilon_gamma_box)" for row in rows)
    for key in ("deletion_auc", "insertion_auc", "road_gap", "randomisation_spearman", "relevance_mass_accuracy",
                "relevance_rank_accuracy", "pointing_game"):
        values = [row[key] for row in rows if row[key] is not None]
        assert values, key
        assert report["faithfulness"][key] == pytest.approx(sum(values) / len(values)), key  # the mean of the photos
    assert main(["evaluate", "--data", str(data_folder), "--weights", str(tiny_weights), "--gate", "0"]) == 0
    assert json.loads(capsys.readouterr().out)["faithfulness"] is None  # only when asked for


def test_evaluate_classifier_only_with_split_and_groups(data_folder, tiny_weights, capsys):
    args = ["evaluate", "--data", str(data_folder), "--weights", str(tiny_weights), "--method", "none",
            "--split", "test", "--groups", "crack,free"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_images"] == 5 and report["segmentation"] is None
    assert report["classifier"]["balanced_accuracy"] >= 0.75


def test_evaluate_with_a_mask_of_the_wrong_size(data_folder, tiny_weights, capsys):
    write_png(data_folder / "masks" / "0.png", np.zeros((10, 10), bool))
    assert main(["evaluate", "--data", str(data_folder), "--weights", str(tiny_weights)]) == 2
    assert "mask is 10x10 but the image is 96x96" in capsys.readouterr().err


@pytest.mark.slow  # a fresh python process (imports torch) per call
def test_train_on_synthetic_writes_weights_card_and_baselines(tmp_path):
    out = tmp_path / "w.pt"
    done = _run("train", "--synthetic", "40", "--width", "0.0625", "--size", "32", "--epochs", "1",
                "--out", str(out))
    assert done.returncode == 0, done.stderr
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["input_size"] == 32 and len(card["sha256"]) == 64
    assert (tmp_path / "w.baselines.npz").exists()
    assert "epoch 1/1" in done.stderr and "ETA" in done.stderr
    assert card["notes"]["command"].startswith("python -m cracklib train --synthetic 40")
    assert not (tmp_path / "w.ckpt.pt").exists()  # a finished run leaves no checkpoint behind


def test_segment_with_an_exclusion_mask_and_one_of_the_wrong_size(tmp_path, tiny_weights, capsys):
    image_path = bundled_samples()[0][0]
    from cracklib.io import read_image
    height, width = read_image(image_path).shape[:2]
    everything = np.ones((height, width), bool)
    write_png(tmp_path / "all.png", everything)
    write_png(tmp_path / "small.png", np.ones((8, 8), bool))
    assert main(["segment", str(image_path), "--out", str(tmp_path / "a"), "--weights", str(tiny_weights),
                 "--gate", "0", "--exclude", str(tmp_path / "all.png"), "--crack-gap", "3"]) == 0
    report = json.loads((tmp_path / "a" / f"{image_path.stem}.json").read_text())
    assert report["severity"]["area_px"] == 0 and report["severity"]["gap_px"] == 3
    assert (tmp_path / "a" / f"{image_path.stem}_cracks.csv").exists()
    assert main(["segment", str(image_path), "--out", str(tmp_path / "b"), "--weights", str(tiny_weights),
                 "--exclude", str(tmp_path / "small.png")]) == 2
    err = capsys.readouterr().err
    assert "mask is 8x8 but the image is" in err and len(err.strip().splitlines()) == 1


def test_segment_turns_a_phone_photo_upright_by_its_exif_tag(tmp_path, tiny_weights):
    photo = np.asarray(Image.open(bundled_samples()[0][0]).convert("RGB"))[:96, :160]
    exif = Image.Exif()
    exif[0x0112] = 8  # stored sideways; the viewer turns it 90° anticlockwise
    Image.fromarray(photo).save(tmp_path / "phone.jpg", exif=exif)
    write_png(tmp_path / "upright.png", np.ones((160, 96), bool))  # drawn on the photo as a viewer sees it
    assert main(["segment", str(tmp_path / "phone.jpg"), "--out", str(tmp_path / "out"), "--weights",
                 str(tiny_weights), "--gate", "0", "--exclude", str(tmp_path / "upright.png")]) == 0
    report = json.loads((tmp_path / "out" / "phone.json").read_text())
    assert (report["height"], report["width"]) == (160, 96)


@pytest.mark.parametrize("options, expected", [
    (["segment", "a.png", "--out", "o"], ("lrp", "gmm", "otsu_core", "paper")),
    (["segment", "a.png", "--out", "o", "--method", "unet"], ("unet", "probability", "none", "light")),
    (["segment", "a.png", "--out", "o", "--method", "unet", "--refine", "dark_core", "--post", "none"],
     ("unet", "probability", "dark_core", "none")),
    (["segment", "a.png", "--out", "o", "--method", "distilled", "--threshold", "gmm"],
     ("distilled", "gmm", "otsu_core", "paper")),
    (["growth", "a.png", "b.png", "--method", "distilled"], ("distilled", "probability", "otsu_core", "none")),
    (["growth", "a.png", "b.png", "--post", "light"], ("lrp", "gmm", "otsu_core", "light")),
])
def test_a_network_gets_its_own_mask_step_unless_one_is_given(options, expected):
    from cracklib.cli import _config, build_parser

    config = _config(build_parser().parse_args(options))
    assert (config.explanation.method, config.mask.threshold, config.mask.refine, config.mask.post) == expected


def test_calibrate_writes_the_offset_into_the_card_and_refuses_the_test_split(data_folder, tiny_weights, tmp_path,
                                                                               capsys):
    import json
    import shutil

    for suffix in (".pt", ".json", ".baselines.npz"):
        shutil.copy(tiny_weights.with_suffix(suffix), tmp_path / f"model{suffix}")
    weights = tmp_path / "model.pt"
    assert main(["calibrate", "--weights", str(weights), "--data", str(data_folder), "--split", "test"]) == 2
    assert "test split" in capsys.readouterr().err
    assert main(["calibrate", "--weights", str(weights), "--data", str(data_folder)]) == 0
    fit = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    card = json.loads(weights.with_suffix(".json").read_text())
    assert card["logit_offset"] == fit["logit_offset"] and card["notes"]["calibration"]["split"] == "val"
    assert fit["photos"] == 5 and fit["balanced_accuracy_after"] >= fit["balanced_accuracy_before"]
    assert fit["calibrated"] == "classifier"


def test_calibrate_fits_the_whole_photo_models_offset_when_it_decides(data_folder, tiny_weights, tmp_path, capsys):
    import json

    from helpers import with_whole_photo_model

    with_whole_photo_model(tiny_weights, tmp_path, logit_offset=0.4)
    assert main(["calibrate", "--weights", str(tmp_path / "model.pt"), "--data", str(data_folder)]) == 0
    fit = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert fit["calibrated"] == "whole_photo_model"
    whole_card = json.loads((tmp_path / "whole" / "model.json").read_text())
    assert whole_card["logit_offset"] == fit["logit_offset"] and whole_card["notes"]["calibration"]["split"] == "val"
    assert json.loads((tmp_path / "model.json").read_text())["logit_offset"] == 0.4  # the tiles' offset is kept


def test_choose_views_of_a_classifier_rewrites_its_whole_photo_models_card(data_folder, tiny_weights, tmp_path,
                                                                           capsys):
    import json

    from helpers import with_whole_photo_model

    with_whole_photo_model(tiny_weights, tmp_path)
    options = ["choose-views", "--weights", str(tmp_path / "model.pt"), "--data", str(data_folder), "--max-views", "2"]
    assert main([*options, "--split", "test"]) == 2
    assert main(options) == 0
    fit = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert fit["chosen_on"] == "auc" and set(fit["scores"]) == {"1", "2"}
    assert all(0 <= score["auc"] <= 1 and 0 <= score["balanced_accuracy"] <= 1 for score in fit["scores"].values())
    whole_card = json.loads((tmp_path / "whole" / "model.json").read_text())
    assert whole_card["views"] == fit["views"] and whole_card["notes"]["views"]["split"] == "val"
    assert json.loads((tmp_path / "model.json").read_text()).get("views", 1) == 1  # the tiles keep one view
