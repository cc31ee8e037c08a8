"""Result files and tables for downloads, and display previews."""
import csv
import io
import json

import numpy as np
import pytest

from cracklib.io import mask_overlay, preview, read_image, read_mask
from cracklib.pipeline import PipelineConfig, segment
from cracklib.run import png_bytes, result_files, result_row, table_csv


def test_result_files_and_row(tiny_classifier, rng):
    image = rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)
    result = segment(tiny_classifier, image, PipelineConfig.of(gate=0.0, threshold="otsu"))
    files = result_files("wall.jpg", image, result, {"iou": 0.5, "curve_recall": np.zeros(3)})
    assert set(files) == {"wall_mask.png", "wall_heatmap.png", "wall_overlay.png", "wall.json", "wall_cracks.csv"}
    assert (read_mask(files["wall_mask.png"]) == result.mask).all()
    assert (read_image(files["wall_overlay.png"]) == mask_overlay(image, result.mask)).all()  # PNG: lossless
    summary = json.loads(files["wall.json"])
    assert summary["image"] == "wall.jpg" and summary["scores"] == {"iou": 0.5}
    assert len(summary["severity"]["cracks"]) == result.severity.n_cracks
    cracks = list(csv.DictReader(io.StringIO(files["wall_cracks.csv"].decode())))
    assert [int(row["id"]) for row in cracks] == list(range(1, result.severity.n_cracks + 1))
    row = result_row("wall.jpg", result, {"iou": 0.5, "f1": 0.6})
    assert row["area_px"] == result.severity.area_px and row["f1"] == 0.6 and "cracks" not in row


def test_crack_rows_put_millimetres_first_when_there_is_a_scale():
    from cracklib.measure import measure_severity
    from cracklib.run import crack_rows

    mask = np.zeros((20, 40), bool)
    mask[5:8, 2:30] = True
    rows = crack_rows(measure_severity(mask, mm_per_px=0.5))
    assert list(rows[0])[:4] == ["id", "length_mm", "max_width_mm", "mean_width_mm"]
    assert abs(rows[0]["length_mm"] - rows[0]["length_px"] * 0.5) < 0.05 and rows[0]["max_width_mm"] == 1.5
    assert "length_mm" not in crack_rows(measure_severity(mask))[0]


def test_table_csv_takes_the_union_of_columns():
    text = table_csv([{"a": 1}, {"a": 2, "b": 3}])
    assert list(csv.DictReader(io.StringIO(text))) == [{"a": "1", "b": ""}, {"a": "2", "b": "3"}]


def test_png_bytes_of_a_mask_is_0_255():
    mask = np.eye(4, dtype=bool)
    assert (read_mask(png_bytes(mask)) == mask).all()


def test_preview_keeps_one_pixel_cracks_and_leaves_small_arrays():
    mask = np.zeros((1000, 800), bool)
    mask[:, 401] = True  # one pixel wide
    small = preview(mask, 250)
    assert small.shape == (250, 200) and small[:, 100].all()
    photo = np.full((1000, 800, 3), 100, np.uint8)
    assert preview(photo, 250).dtype == np.uint8 and preview(photo, 2000) is photo


def test_heatmap_overlay_tints_only_where_there_is_relevance():
    from cracklib.io import heatmap_overlay

    photo = np.full((2, 3, 3), 100, np.uint8)
    relevance = np.array([[0.0, 1.0, -1.0], [0.0, 0.5, 0.0]])
    tinted = heatmap_overlay(photo, relevance)
    assert (tinted[0, 0] == 100).all() and tinted[0, 1, 0] > 200 and tinted[0, 2, 2] > 200
    assert 100 < tinted[1, 1, 0] < tinted[0, 1, 0] and heatmap_overlay(photo, None) is photo


def test_unique_names_tell_repeats_apart():
    from cracklib.run import unique_names

    assert unique_names(["a.jpg", "b.jpg", "a.jpg", "a.jpg"]) == ["a.jpg", "b.jpg", "a (2).jpg", "a (3).jpg"]
    assert unique_names(["x", "x"]) == ["x", "x (2)"]
    # A name that already exists is not produced twice.
    assert unique_names(["a.jpg", "a (2).jpg", "a.jpg"]) == ["a.jpg", "a (2).jpg", "a (3).jpg"]
    # One stem, two formats: their files (cf_001_mask.png) would overwrite each other.
    assert unique_names(["cf_001.jpg", "cf_001.png", "cf_001"]) == ["cf_001.jpg", "cf_001 (2).png", "cf_001 (3)"]


def test_preview_of_a_map_is_the_mean_of_each_block_edges_included():
    # 7×5 map, factor 3: blocks of 3×3, the last row and column blocks hold 1 and 2 pixels.
    values = np.arange(35, dtype=np.float64).reshape(7, 5)
    small = preview(values, 3)
    assert small.shape == (3, 2) and small.dtype == np.float32
    expected = [[values[r:r + 3, c:c + 3].mean() for c in (0, 3)] for r in (0, 3, 6)]
    np.testing.assert_allclose(small, expected, rtol=1e-6)


def test_a_zip_of_made_files_holds_each_made_file_and_the_csv_bytes():
    import zipfile

    from cracklib.run import table_csv_bytes, zip_of_made_files

    rows = [{"photo": "a.jpg", "length_px": 3.5}, {"photo": "b.jpg", "area_px": 7}]
    made = []
    makers = {"one.txt": lambda: made.append(1) or b"1", "cracks.csv": lambda: table_csv_bytes(rows)}
    archive = zipfile.ZipFile(io.BytesIO(zip_of_made_files(makers)))
    assert archive.read("one.txt") == b"1" and made == [1]
    assert archive.read("cracks.csv").decode() == table_csv(rows)


@pytest.mark.parametrize("factor", [2, 3, 7, 15, 16])
def test_a_reduced_mask_is_set_where_any_pixel_of_its_block_is(factor):
    """PIL's reduction (factors up to 15) and numpy's (above) give the same blocks, edge blocks included."""
    rng = np.random.default_rng(factor)
    mask = rng.random((5 * factor + 3, 7 * factor)) < 0.002  # the bottom blocks are partial
    mask[0, 0] = True
    rows, cols = -(-mask.shape[0] // factor), -(-mask.shape[1] // factor)
    padded = np.zeros((rows * factor, cols * factor), bool)
    padded[:mask.shape[0], :mask.shape[1]] = mask
    expected = padded.reshape(rows, factor, cols, factor).any(axis=(1, 3))
    assert np.array_equal(preview(mask, 7), expected)
