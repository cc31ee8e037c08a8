"""Files for the user to keep: PNGs, JSON and CSV of one result, or a zip for many.

The app's download buttons and the CLI write the same files.
"""
from __future__ import annotations

import csv
import io
import json
from typing import Callable

import numpy as np
from PIL import Image

from cracklib.io.archive import zip_bytes
from cracklib.io.render import heatmap_rgb, mask_overlay
from cracklib.measure.metrics import SCORE_KEYS
from cracklib.measure.severity import Severity
from cracklib.pipeline.results import SegmentationResult

__all__ = ["unique_names", "png_bytes", "result_row", "result_file_makers", "result_files", "table_csv",
           "table_csv_bytes", "zip_of_made_files", "crack_rows"]


def unique_names(names: list[str]) -> list[str]:
    """The names with repeated stems told apart: ``a.jpg``, ``a.jpg``, ``a.png`` → ``a.jpg``, ``a (2).jpg``,
    ``a (3).png``.

    Two uploads of the same name (IMG_0001.jpg from two days), or of the same
    stem (``cf_001.jpg`` and ``cf_001.png``), must not overwrite each other's
    files, which are named by the stem (``cf_001_mask.png``).
    """
    def split(name: str) -> tuple[str, str]:
        stem, dot, suffix = name.rpartition(".") if "." in name else (name, "", "")
        return stem, dot + suffix

    seen: dict[str, int] = {}
    taken = {split(name)[0] for name in names}
    out = []
    for name in names:
        stem, suffix = split(name)
        seen[stem] = seen.get(stem, 0) + 1
        if seen[stem] == 1:
            out.append(name)
            continue
        count = seen[stem]
        while (candidate := f"{stem} ({count})") in taken:
            count += 1
        taken.add(candidate)
        out.append(candidate + suffix)
    return out


def png_bytes(array: np.ndarray) -> bytes:
    """A uint8 (or boolean → 0/255) array as PNG bytes."""
    array = np.asarray(array)
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def result_row(name: str, result: SegmentationResult, scores: dict | None = None) -> dict:
    """One flat row of numbers for a table: probability, tiles, severity and (with truth) the scores."""
    row = {"image": name, "crack_probability": round(result.probability, 4), "explained": result.explained,
           "tiles": result.n_tiles, "tiles_explained": result.n_explained}
    row.update({key: value for key, value in result.severity.summary().items() if value is not None})
    if scores:
        row.update({key: scores[key] for key in SCORE_KEYS if key in scores})
    return row


def result_file_makers(name: str, image: np.ndarray, result: SegmentationResult,
                       scores: dict | None = None) -> dict[str, Callable[[], bytes]]:
    """File name → a function that makes it: ``NAME_mask.png``, ``NAME_heatmap.png``, ``NAME_overlay.png``,
    ``NAME.json`` and ``NAME_cracks.csv`` (one row per crack). Making a PNG of a 48 MP photo takes seconds,
    so the app only makes the ones asked for."""
    stem = name.rsplit(".", 1)[0]

    def numbers() -> bytes:
        summary = {"image": name, **result.summary()}
        if scores:
            summary["scores"] = {key: value for key, value in scores.items() if np.isscalar(value)}
        return json.dumps(summary, indent=2).encode()

    return {
        f"{stem}_mask.png": lambda: png_bytes(result.mask),
        f"{stem}_heatmap.png": lambda: png_bytes(heatmap_rgb(result.relevance, result.mask.shape)),
        f"{stem}_overlay.png": lambda: png_bytes(mask_overlay(image, result.mask)),
        f"{stem}.json": numbers,
        f"{stem}_cracks.csv": lambda: table_csv(crack_rows(result.severity)).encode(),
    }


def crack_rows(severity: Severity) -> list[dict]:
    """One row per crack: id, mm figures first when there is a scale, then pixels, orientation, box."""
    rows = []
    for crack in severity.cracks:
        row = {"id": crack.id}
        if crack.length_mm is not None:
            row.update(length_mm=round(crack.length_mm, 2), max_width_mm=round(crack.max_width_mm, 3),
                       mean_width_mm=round(crack.mean_width_mm, 3))
        top, left, bottom, right = crack.bbox
        row.update(length_px=round(crack.length_px, 1), max_width_px=round(crack.max_width_px, 2),
                   mean_width_px=round(crack.mean_width_px, 2), area_px=crack.area_px,
                   orientation_deg=round(crack.orientation_deg, 1), top=top, left=left, bottom=bottom, right=right)
        rows.append(row)
    return rows


def result_files(name: str, image: np.ndarray, result: SegmentationResult,
                 scores: dict | None = None) -> dict[str, bytes]:
    """The files of :func:`result_file_makers`, made."""
    return {file_name: make() for file_name, make in result_file_makers(name, image, result, scores).items()}


def zip_of_made_files(makers: dict[str, Callable[[], bytes]]) -> bytes:
    """A zip archive of the files ``makers`` (file name → a function that makes it) make, made now."""
    return zip_bytes({file_name: make() for file_name, make in makers.items()})


def table_csv_bytes(rows: list[dict]) -> bytes:
    """:func:`table_csv`, UTF-8 encoded (a download's content)."""
    return table_csv(rows).encode()


def table_csv(rows: list[dict]) -> str:
    """Rows of numbers as CSV text (the union of their keys as columns, in first-seen order)."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
