"""Campaigns: the same files as segment, bad photos as rows, resumable, and the Ray engine."""
import json
import shutil
import signal
import subprocess
import sys
import time

import pytest
from helpers import ROOT

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
