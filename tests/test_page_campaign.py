"""The Campaign page on crafted campaigns (issue 42): bad rows and pictures are one line each and the rest is
shown; text from the table is shown as text; the example's decisions are checked against its true masks.

The page file runs on its own (no shipped model loaded): the example campaign is replaced by a small crafted one,
except in the slow test at the end, which runs the real example.
"""
import csv
import io
import struct
import zipfile
import zlib

import numpy as np
import pytest
from helpers import ROOT, unescaped
from streamlit.testing.v1 import AppTest

from cracklib import studio
from cracklib.run import TABLE_COLUMNS, png_bytes
from cracklib.studio import cache

PAGE = str(ROOT / "pages" / "campaign.py")

#: Text a crafted table or file name may carry: an outside image, a link, emphasis and a colour.
INJECTED = "![t](https://x.example/t.png) [link](http:evil.example) **bold** :red[red]"


def _table(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(TABLE_COLUMNS))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _row(outputs: str, **cells) -> dict:
    return {"photo": f"/mnt/inspection/{outputs}.jpg", "outputs": outputs, "crack_probability": "0.9",
            "area_px": "400", "length_px": "120", "max_width_px": "4", "mean_width_px": "2.5", "n_cracks": "2",
            "seconds": "1.2", "settings_hash": "0123456789ab", **cells}


def _huge_png(width: int = 20_000, height: int = 20_000) -> bytes:
    """A PNG whose header says width × height (400 MP) and holds no pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IEND", b""))


def _picture(seed: int) -> bytes:
    return png_bytes(np.random.default_rng(seed).integers(0, 256, (24, 32, 3), dtype=np.uint8))


#: A photo name that is markdown, and is a valid file name (no "/").
MARKDOWN_NAME = "**bold** [x](http:evil.example) :red[red]"


def _crafted_zip() -> bytes:
    rows = [_row("good", length_px="300"),
            _row("nan_cracks", n_cracks="nan", length_px="250"),
            _row("inf_cracks", n_cracks="inf", length_px="200"),
            _row("blank_probability", crack_probability="", length_px="150"),
            _row(MARKDOWN_NAME, length_px="100"),
            {"photo": "/mnt/inspection/broken.jpg", "error": INJECTED, "outputs": "broken", "seconds": "0.1"}]
    files = {"survey/results.csv": _table(rows).encode()}
    for stem in ("good", "nan_cracks", "inf_cracks", "blank_probability"):
        files[f"survey/photos/{stem}_overlay.png"] = _picture(1)
        files[f"survey/photos/{stem}_heatmap.png"] = _picture(2)
    files[f"survey/photos/{MARKDOWN_NAME}_overlay.png"] = b"not a png at all"  # not an image
    files[f"survey/photos/{MARKDOWN_NAME}_heatmap.png"] = _huge_png()  # over 100 MP
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _example(folder, rows: list[dict], truth: dict[str, int], monkeypatch):
    """The page's example campaign replaced by ``rows`` (and their pictures) with these true masks."""
    (folder / "photos").mkdir(parents=True)
    (folder / "results.csv").write_text(_table(rows))
    for row in rows:
        for kind in ("overlay", "heatmap"):
            (folder / "photos" / f"{row['outputs']}_{kind}.png").write_bytes(_picture(3))
    monkeypatch.setattr(studio, "example_campaign", lambda: folder)
    monkeypatch.setattr(cache, "example_truth", lambda: truth)


def _markdown_bodies(at) -> list[str]:
    """The markdown source of every element that renders markdown."""
    kinds = ("markdown", "caption", "error", "warning", "info", "success", "title", "subheader")
    return [str(element.value) for kind in kinds for element in at.get(kind)]


def test_a_crafted_campaign_zip_shows_one_error_per_bad_row_and_picture_and_the_rest(tmp_path, monkeypatch):
    _example(tmp_path / "example", [_row("example")], {}, monkeypatch)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, at.exception
    at.radio[0].set_value("zip upload").run()
    at.file_uploader[0].set_value(("survey.zip", _crafted_zip(), "application/zip")).run()
    assert not at.exception, at.exception
    errors = [unescaped(element.value) for element in at.error]
    rows = [error for error in errors if "results.csv row" in error]
    assert len(rows) == 3 and all("\n" not in error for error in rows)
    assert rows[0] == "results.csv row 3 (nan_cracks): n_cracks 'nan' is not a finite number; shown blank"
    assert "n_cracks 'inf' is not a finite number" in rows[1] and "crack_probability is blank" in rows[2]
    pictures = [error for error in errors if "overlay.png" in error or "heatmap.png" in error]
    assert len(pictures) == 2 and "not an image" in pictures[0] and "100 MP" in pictures[1]
    assert all(str(tmp_path) not in error and "/tmp" not in error for error in errors)  # no server paths
    # The rest is shown: every segmented photo in the table, blanks blank, and the good photos' pictures.
    table = at.dataframe[0].value
    assert list(table["photo"]) == ["good", "nan_cracks", "inf_cracks", "blank_probability", MARKDOWN_NAME]
    assert table["n_cracks"].isna().tolist() == [False, True, True, False, False]
    assert table["crack_probability"].isna().tolist() == [False, False, False, True, False]
    assert at.dataframe[0].proto.placeholder == ""  # a blank cell is shown empty, not "None"
    assert len(at.get("image")) == 8  # two pictures for each of the four photos with good files
    assert {metric.label: metric.value for metric in at.metric}["photos"] == "6"
    captions = [element.value for element in at.markdown if "crack probability" in element.value]
    assert len(captions) == 5 and "crack probability n/a" in captions[3]


def test_text_from_a_campaign_is_shown_as_text_never_as_markdown(tmp_path, monkeypatch):
    _example(tmp_path / "example", [_row("example")], {}, monkeypatch)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.radio[0].set_value("zip upload").run()
    at.file_uploader[0].set_value(("survey.zip", _crafted_zip(), "application/zip")).run()
    assert not at.exception, at.exception
    # The error column is a dataframe cell (text), word for word.
    failed = at.dataframe[1].value
    assert list(failed["error"]) == [INJECTED] and list(failed["photo"]) == ["broken"]
    # No markdown body holds live syntax from the table: the photo name and errors are escaped.
    bodies = _markdown_bodies(at)
    for live in ("![t](", "](http", "**bold**", ":red["):
        assert not any(live in body for body in bodies), live
    caption = next(body for body in bodies if "crack probability" in body and "bold" in body)
    assert caption.startswith("**\\*\\*bold\\*\\* \\[x\\]\\(http\\:evil\\.example\\) \\:red\\[red\\]**")


def test_the_example_notes_a_miss_against_its_true_mask_and_an_uncertain_decision(tmp_path, monkeypatch):
    rows = [_row("images__cracked_wall", crack_probability="0.02", area_px="0", length_px="0", n_cracks="0"),
            _row("images__clean_wall", crack_probability="0.01", area_px="0", length_px="0", n_cracks="0"),
            _row("images__faint_crack", crack_probability="0.55", length_px="80")]
    _example(tmp_path / "example", rows, {"images__cracked_wall": 1268, "images__clean_wall": 0}, monkeypatch)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, at.exception
    assert "true masks are known" in at.info[0].value
    warnings = [unescaped(element.value) for element in at.warning]
    assert "missed: the true mask has 1,268 crack pixels, the crack probability is 0.02" in warnings
    assert any(w.startswith("uncertain: crack probability 0.55") for w in warnings)
    assert len(warnings) == 2  # the clean wall, rightly called clean, says nothing
    notes = dict(zip(at.dataframe[0].value["photo"], at.dataframe[0].value["note"]))
    assert notes["images__cracked_wall"].startswith("missed") and notes["images__faint_crack"].startswith("uncertain")


@pytest.mark.slow  # runs the shipped model over the bundled samples
def test_the_real_example_campaign_says_which_bundled_photo_the_default_model_misses():
    cache.example_campaign.clear()
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    notes = dict(zip(table["photo"], table["note"]))
    probabilities = dict(zip(table["photo"], table["crack_probability"]))
    truth = cache.example_truth()
    for name, pixels in truth.items():  # every photo decided against its true mask is noted, and only those
        wrong = (pixels > 0) != (probabilities[name] >= 0.5)
        assert (isinstance(notes[name], str) and ("missed" in notes[name] or "false alarm" in notes[name])) == wrong
