"""Campaigns: the same files as segment, bad photos as rows, resumable, the Ray engine, and tables read back
whatever they hold."""
import json
import shutil
import signal
import subprocess
import sys
import time

import hypothesis
import pytest
from helpers import ROOT
from hypothesis import strategies as hypothesis_strategies

import cracklib.run.batch
from cracklib.cli import main
from cracklib.errors import CrackInputError
from cracklib.io import bundled_samples, crack_image, write_png
from cracklib.pipeline import PipelineConfig
from cracklib.run import campaign_inputs, run_campaign

CONFIG = PipelineConfig.of(gate=0.0, threshold="otsu")


#: The fast tests' campaign: small synthetic photos (three cracked, one not), quick to segment.
PHOTOS = 4


def _campaign(folder, images):
    """``images`` (file name → write it to a path) alternately in two sub-folders, and one corrupt file."""
    for index, (name, write) in enumerate(images):
        target = folder / ("day1" if index % 2 else "day2") / name
        target.parent.mkdir(parents=True, exist_ok=True)
        write(target)
    (folder / "day1" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    return folder


@pytest.fixture
def campaign(tmp_path):
    """PHOTOS small synthetic photos in two sub-folders, and one corrupt file."""
    photos = [crack_image((128, 160), crack=index != 2, rng=index)[0] for index in range(PHOTOS)]
    return _campaign(tmp_path / "photos", [(f"wall_{index}.png", lambda path, photo=photo: write_png(path, photo))
                                           for index, photo in enumerate(photos)])


@pytest.fixture
def bundled_campaign(tmp_path):
    """The bundled photos (512×384: each takes a while) in two sub-folders, and one corrupt file."""
    return _campaign(tmp_path / "photos", [(image.name, lambda path, image=image: shutil.copyfile(image, path))
                                           for image, _ in bundled_samples()])


def _rows(out):
    import csv
    with open(out / "results.csv") as handle:
        return list(csv.DictReader(handle))


def test_inputs_from_a_folder_a_list_and_a_manifest(campaign, tmp_path):
    photos = campaign_inputs(campaign)
    assert len(photos) == PHOTOS + 1 and photos == sorted(photos)
    listing = tmp_path / "list.txt"
    listing.write_text("# two photos\nphotos/day1/broken.jpg\n\n" + str(photos[0]) + "\n")
    assert campaign_inputs(listing) == [tmp_path / "photos/day1/broken.jpg", photos[0]]
    with pytest.raises(CrackInputError, match="no such folder or file"):
        campaign_inputs(tmp_path / "nothing")


def test_batch_writes_what_segment_writes_and_a_row_per_photo(campaign, tmp_path, tiny_weights):
    summary = run_campaign(campaign, tmp_path / "out", CONFIG, weights=tiny_weights)
    assert summary.photos == summary.done_now == PHOTOS + 1 and summary.errors == 1
    rows = _rows(tmp_path / "out")
    broken = [row for row in rows if row["photo"].endswith("broken.jpg")]
    assert len(rows) == summary.photos and len(broken) == 1 and "broken.jpg" in broken[0]["error"]
    assert len({row["settings_hash"] for row in rows}) == 1
    import pandas as pd
    assert len(pd.read_parquet(tmp_path / "out" / "results.parquet")) == len(rows)
    # Byte-identical to segment's files for the same photo and settings.
    photo = campaign / "day1" / "wall_1.png"
    assert main(["segment", str(photo), "--out", str(tmp_path / "seg"), "--weights", str(tiny_weights),
                 "--gate", "0", "--threshold", "otsu"]) == 0
    batch_mask = tmp_path / "out" / "photos" / f"day1__{photo.stem}_mask.png"
    assert batch_mask.read_bytes() == (tmp_path / "seg" / f"{photo.stem}_mask.png").read_bytes()


def test_a_rerun_recomputes_nothing_finished_and_redoes_changed_settings(campaign, tmp_path, tiny_weights,
                                                                        monkeypatch):
    run_campaign(campaign, tmp_path / "out", CONFIG, weights=tiny_weights)
    calls = []
    original = cracklib.run.batch.segment
    monkeypatch.setattr(cracklib.run.batch, "segment", lambda *a, **k: calls.append(1) or original(*a, **k))
    again = run_campaign(campaign, tmp_path / "out", CONFIG, weights=tiny_weights)
    assert calls == [] and again.done_now == 0 and again.skipped_finished == again.photos
    changed = run_campaign(campaign, tmp_path / "out", CONFIG.replace(threshold="simple"), weights=tiny_weights)
    assert changed.done_now == changed.photos and len(calls) == changed.photos - 1  # the broken file never segments
    assert len(_rows(tmp_path / "out")) == changed.photos


@pytest.mark.slow  # a fresh python process (imports torch), killed midway
def test_a_killed_run_resumes_and_loses_only_the_photos_in_flight(bundled_campaign, tmp_path, tiny_weights):
    campaign, out = bundled_campaign, tmp_path / "out"
    command = [sys.executable, "-m", "cracklib", "batch", str(campaign), "--out", str(out), "--weights",
               str(tiny_weights), "--gate", "0", "--threshold", "otsu"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and len(list((out / "records").glob("*.json"))) < 2:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = {path.name: path.stat().st_mtime_ns for path in (out / "records").glob("*.json")}
    assert 2 <= len(before) < len(campaign_inputs(campaign))
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["skipped_finished"] == len(before) and summary["done_now"] == summary["photos"] - len(before)
    after = {path.name: path.stat().st_mtime_ns for path in (out / "records").glob("*.json")}
    assert all(after[name] == stamp for name, stamp in before.items())  # finished photos were not redone
    assert len(_rows(out)) == summary["photos"]


@pytest.mark.slow  # starts a local Ray with 2 CPUs
def test_the_ray_engine_gives_the_local_engines_files(campaign, tmp_path, tiny_weights):
    pytest.importorskip("ray")
    local = run_campaign(campaign, tmp_path / "local", CONFIG, weights=tiny_weights)
    distributed = run_campaign(campaign, tmp_path / "ray", CONFIG, weights=tiny_weights, engine="ray", workers=2,
                               threads_per_worker=1)
    assert distributed.done_now == local.done_now and distributed.errors == 1
    masks = sorted((tmp_path / "local" / "photos").glob("*_mask.png"))
    assert masks and all(mask.read_bytes() == (tmp_path / "ray" / "photos" / mask.name).read_bytes()
                         for mask in masks)


def test_a_finished_campaign_reads_back_worst_first_with_its_files(campaign, tmp_path, tiny_weights):
    from cracklib.run import RANKINGS, read_campaign

    run_campaign(campaign, tmp_path / "out", CONFIG, weights=tiny_weights)
    read = read_campaign(tmp_path / "out")
    assert len(read.rows) == PHOTOS + 1 and len(read.errors) == 1
    assert read.summary()["photos"] == len(read.rows) and read.summary()["errors"] == 1
    for column in RANKINGS.values():
        values = [row[column] or 0 for row in read.worst_first(column)]
        assert values == sorted(values, reverse=True) and len(values) == len(read.rows) - 1
    worst = read.worst_first("length_px")[0]
    files = read.files(worst)
    assert set(files) == {"overlay", "mask", "heatmap", "cracks"}
    assert files["mask"].name == f"{worst['outputs']}_mask.png"
    assert read.files(read.errors[0]) == {}  # a photo that failed has no files


def test_a_folder_without_a_campaign_table_is_one_clear_error(tmp_path):
    from cracklib.run import read_campaign

    with pytest.raises(CrackInputError, match="not a finished campaign"):
        read_campaign(tmp_path)
    (tmp_path / "results.csv").write_text("a,b\n1,2\n")
    with pytest.raises(CrackInputError, match="not a campaign table"):
        read_campaign(tmp_path)
    (tmp_path / "results.csv").write_text("photo,error,length_px,outputs\nx.jpg,,12,../../etc/passwd\n")
    assert read_campaign(tmp_path).rows[0]["outputs"] is None  # names that leave photos/ are not followed


# Reading a campaign table that was crafted or damaged (issue 42): numbers are finite or None, bad cells are named.

def _write_table(folder, rows):
    import csv

    from cracklib.run import TABLE_COLUMNS
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "results.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(TABLE_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    return folder


def _row(photo, **numbers):
    row = {"photo": photo, "outputs": photo.replace("/", "__").rsplit(".", 1)[0], "crack_probability": "0.9",
           "area_px": "100", "length_px": "50", "max_width_px": "3", "mean_width_px": "2", "n_cracks": "1",
           "seconds": "0.5", "settings_hash": "abc"}
    return {**row, **numbers}


def test_nan_inf_and_blank_numbers_are_read_as_none_and_named_one_line_per_row(tmp_path):
    from cracklib.run import read_campaign

    folder = _write_table(tmp_path / "campaign", [
        _row("good.png"), _row("nan.png", n_cracks="nan"), _row("inf.png", n_cracks="inf", length_px="-3"),
        _row("blank.png", crack_probability=""), _row("text.png", area_px="many", crack_probability="1.5"),
        {"photo": "broken.jpg", "error": "broken.jpg: not an image", "seconds": "0.1"},  # blanks are normal here
        _row("scaled.png", area_mm2="", length_mm="12.5")])  # no scale: blank mm cells are normal
    campaign = read_campaign(folder)
    rows = {campaign.name(row): row for row in campaign.rows}
    assert rows["nan"]["n_cracks"] is None and rows["inf"]["n_cracks"] is None and rows["inf"]["length_px"] is None
    assert rows["blank"]["crack_probability"] is None and rows["good"]["n_cracks"] == 1.0
    assert rows["text"]["area_px"] is None and rows["text"]["crack_probability"] is None
    assert rows["good"]["bad_values"] is None and rows["scaled"]["bad_values"] is None
    assert rows["broken.jpg"]["bad_values"] is None
    assert len(campaign.problems) == 4 and all("\n" not in line for line in campaign.problems)
    nan, inf, blank, text = campaign.problems
    assert nan == "results.csv row 3 (nan): n_cracks 'nan' is not a finite number; shown blank"
    assert "n_cracks 'inf' is not a finite number" in inf and "length_px '-3' is out of range" in inf
    assert "crack_probability is blank" in blank
    assert "area_px 'many' is not a number" in text and "crack_probability '1.5' is out of range" in text
    summary = campaign.summary()
    assert summary == {"photos": 7, "errors": 1, "cracked": 4, "total_length_px": 250.0}  # blanks count as 0
    ranked = campaign.worst_first("n_cracks")
    assert [campaign.name(row) for row in ranked[-2:]] == ["nan", "inf"]  # blanks last, in table order
    assert campaign.notes(rows["nan"]) == ["not valid numbers, left blank: n_cracks 'nan' is not a finite number"]


def test_a_decision_near_the_threshold_or_against_the_true_mask_gets_a_note(tmp_path):
    from cracklib.run import read_campaign
    from cracklib.run.batch import UNCERTAIN_MARGIN

    folder = _write_table(tmp_path / "campaign", [
        _row("sure.png", crack_probability="0.97"),
        _row("unsure.png", crack_probability=str(0.5 + UNCERTAIN_MARGIN / 2)),
        _row("missed.png", crack_probability="0.02", area_px="0", length_px="0", n_cracks="0"),
        _row("alarm.png", crack_probability="0.93")])
    campaign = read_campaign(folder)
    rows = {campaign.name(row): row for row in campaign.rows}
    assert campaign.notes(rows["sure"]) == [] and campaign.notes(rows["missed"]) == []
    assert campaign.notes(rows["unsure"])[0].startswith("uncertain: crack probability 0.60")
    truth = {"sure": 400, "missed": 1268, "alarm": 0}
    assert campaign.notes(rows["missed"], true_crack_pixels=truth) == [
        "missed: the true mask has 1,268 crack pixels, the crack probability is 0.02"]
    assert campaign.notes(rows["alarm"], true_crack_pixels=truth)[0].startswith("false alarm")
    assert campaign.notes(rows["sure"], true_crack_pixels=truth) == []


def test_true_crack_pixels_come_from_the_masks_by_the_campaigns_photo_names(tmp_path):
    import numpy as np
    from PIL import Image

    from cracklib.io import bundled_samples, write_sample_dataset
    from cracklib.run.batch import true_crack_pixels

    truth = true_crack_pixels(write_sample_dataset(tmp_path / "samples"))
    expected = {f"images__{image.stem}": int((np.asarray(Image.open(mask)) > 127).sum())
                for image, mask in bundled_samples()}
    assert truth == expected and truth["images__brick_crack_1"] > 0 and truth["images__concrete_clean_1"] == 0


number_cell = hypothesis_strategies.one_of(
    hypothesis_strategies.sampled_from(["nan", "NaN", "-nan", "inf", "-inf", "Infinity", "", "  ", "1e308", "-1e308",
                                        "1e-320", "-0", "0x10", "1,5", "1_000", "٣", "None", "null"]),
    hypothesis_strategies.floats(allow_nan=True, allow_infinity=True).map(repr),
    hypothesis_strategies.integers(-10 ** 20, 10 ** 20).map(str),
    hypothesis_strategies.text(alphabet=hypothesis_strategies.characters(blacklist_categories=["Cs"]), max_size=12))
text_cell = hypothesis_strategies.text(alphabet=hypothesis_strategies.characters(blacklist_categories=["Cs"]),
                                       max_size=300)


@hypothesis.settings(max_examples=80, deadline=None,
                     suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])
@hypothesis.given(hypothesis_strategies.lists(
    hypothesis_strategies.fixed_dictionaries({
        "photo": text_cell, "error": hypothesis_strategies.one_of(hypothesis_strategies.just(""), text_cell),
        "outputs": text_cell, "settings_hash": text_cell,
        **{column: number_cell for column in ("crack_probability", "area_px", "length_px", "max_width_px",
                                              "mean_width_px", "n_cracks", "area_mm2", "length_mm", "max_width_mm",
                                              "mean_width_mm", "seconds")}}), max_size=8))
def test_any_campaign_table_reads_with_finite_numbers_or_none_and_never_breaks_the_page_calls(tmp_path_factory,
                                                                                             rows):
    import math

    from cracklib.run import RANKINGS, TABLE_COLUMNS, read_campaign

    campaign = read_campaign(_write_table(tmp_path_factory.mktemp("campaign"), rows))
    assert len(campaign.rows) == len(rows)
    numbers = [column for column in TABLE_COLUMNS if column not in ("photo", "settings_hash", "error", "outputs")]
    for row in campaign.rows:
        assert all(row[column] is None or (isinstance(row[column], float) and math.isfinite(row[column]))
                   for column in numbers)
        assert row["crack_probability"] is None or 0 <= row["crack_probability"] <= 1
        assert isinstance(campaign.name(row), str) and isinstance(campaign.files(row), dict)
        assert all("\n" not in note for note in campaign.notes(row, true_crack_pixels={campaign.name(row): 1}))
    summary = campaign.summary()
    assert summary["photos"] == len(rows) and math.isfinite(summary["total_length_px"])
    assert len(campaign.problems) == sum(row["bad_values"] is not None for row in campaign.rows)
    for column in RANKINGS.values():
        values = [row[column] for row in campaign.worst_first(column)]
        known = [value for value in values if value is not None]
        assert known == sorted(known, reverse=True) and values[:len(known)] == known  # blanks last
