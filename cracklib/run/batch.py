"""Inspection campaigns: the pipeline over a whole folder of photos, resumable, in-process or on Ray.

An inspection of a bridge or a road is thousands of large photos. ``run_campaign``
runs the same pipeline as ``segment`` over every photo of a folder (recursively),
a manifest in the shared layout, or a text file of paths, and writes for each
photo the same files as ``segment`` plus a small record of its numbers. Records
carry a hash of the settings and weights, so a rerun skips the photos finished
with the same settings and redoes those whose settings changed; a run killed at
any point loses only the photos in flight (every record is written last, by an
atomic rename). A bad photo becomes a record with its error; the campaign goes on.

Engines: ``local`` runs the photos in this process (small jobs, tests);
``ray`` hands them to Ray Data (``ray.data``), whose actor pool loads the model
once per actor (on a GPU where ``gpus_per_worker`` > 0), on this machine or on an
existing cluster (``address``). Workers write their files themselves, so on a
cluster ``out`` must be a folder every node can write (a shared file system).

References
----------
Moritz, P. et al., "Ray: A distributed framework for emerging AI applications", OSDI 2018.
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from cracklib.errors import CrackInputError
from cracklib.io.datasets import read_dataset
from cracklib.io.imageio import read_image, read_mask
from cracklib.nets.models import card_path, read_card
from cracklib.pipeline.classifier import DEFAULT_WEIGHTS, load_classifier
from cracklib.pipeline.decision import DECISION_THRESHOLD
from cracklib.pipeline.mask_step import segment
from cracklib.pipeline.settings import PipelineConfig
from cracklib.run.export import result_files

__all__ = ["ENGINES", "campaign_inputs", "settings_hash", "PhotoWorker", "CampaignSummary", "run_campaign",
           "campaign_table", "TABLE_COLUMNS", "MEASURED_COLUMNS", "RANKINGS", "LARGEST_NUMBER", "UNCERTAIN_MARGIN",
           "Campaign", "true_crack_pixels", "read_campaign"]


ENGINES = ("local", "ray")


#: Columns of ``results.csv`` / ``results.parquet``, in order.
TABLE_COLUMNS = ("photo", "crack_probability", "area_px", "length_px", "max_width_px", "mean_width_px", "n_cracks",
                 "area_mm2", "length_mm", "max_width_mm", "mean_width_mm", "seconds", "settings_hash", "error",
                 "outputs")


_TEXT_COLUMNS = {"photo", "settings_hash", "error", "outputs"}


#: "Worst first" orders of a campaign's photos: label → table column (largest first).
RANKINGS = {"crack length": "length_px", "crack area": "area_px", "widest crack": "max_width_px",
            "number of cracks": "n_cracks", "crack probability": "crack_probability"}


_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp"}


def campaign_inputs(source: str | Path) -> list[Path]:
    """The photos of a campaign, sorted: a folder (recursive), a ``manifest.csv``, or a text file of paths.

    Paths in a text file are one per line, relative to the file's folder unless
    absolute; blank lines and lines starting with ``#`` are skipped.
    """
    source = Path(source)
    if source.is_dir():
        if (source / "manifest.csv").is_file():
            return _manifest_inputs(source / "manifest.csv")
        return sorted(path for path in source.rglob("*") if path.suffix.lower() in _IMAGE_SUFFIXES
                      and path.is_file())
    if not source.is_file():
        raise CrackInputError(f"{source}: no such folder or file")
    if source.name == "manifest.csv":
        return _manifest_inputs(source)
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise CrackInputError(f"{source}: not a text file of photo paths") from None
    paths = [Path(line.strip()) for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return [path if path.is_absolute() else source.parent / path for path in paths]


def _manifest_inputs(manifest: Path) -> list[Path]:

    return [sample.image for sample in read_dataset(manifest.parent)]


def settings_hash(config: PipelineConfig, weights_sha256: str) -> str:
    """What makes two runs' outputs the same: the pipeline settings and the weights (12 hex digits)."""
    text = json.dumps({"config": config.to_dict(), "weights": weights_sha256}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _output_stem(path: Path, root: Path | None) -> str:
    """A file-name-safe stem that keeps photos of different sub-folders apart (``a/b/c.jpg`` → ``a__b__c``)."""
    try:
        relative = path.resolve().relative_to(root.resolve()) if root else Path(path.name)
    except ValueError:
        relative = Path(path.name)
    return "__".join(relative.with_suffix("").parts)


def _record_path(out: Path, stem: str) -> Path:
    return out / "records" / f"{stem}.json"


class PhotoWorker:
    """Segments photos and writes their files and records; one per process (or Ray actor), model loaded once."""

    def __init__(self, weights: str, config: dict, out: str, root: str | None, threads: int | None = None):
        import torch


        if threads:
            torch.set_num_threads(threads)
        self.classifier = load_classifier(weights)
        self.config = PipelineConfig.of(**config)
        self.out, self.root = Path(out), Path(root) if root else None
        self.hash = settings_hash(self.config, self.classifier.card.sha256)

    def process(self, path: str | Path) -> dict:
        """One photo: outputs and record written, its table row returned (``error`` set when it failed)."""

        path = Path(path)
        stem = _output_stem(path, self.root)
        # ``outputs``: the stem of this photo's files in photos/ (STEM_mask.png, STEM_overlay.png, ...).
        row = {"photo": str(path), "settings_hash": self.hash, "error": None, "outputs": stem}
        start = time.perf_counter()
        try:
            image = read_image(path)
            result = segment(self.classifier, image, self.config)
            folder = self.out / "photos"
            folder.mkdir(parents=True, exist_ok=True)
            for file_name, content in result_files(f"{stem}{path.suffix}", image, result).items():
                (folder / file_name).write_bytes(content)
            row.update(crack_probability=result.probability, **result.severity.summary())
        except CrackInputError as error:
            row["error"] = str(error)
        except MemoryError:
            row["error"] = f"{path.name}: not enough memory for this photo"
        row["seconds"] = round(time.perf_counter() - start, 3)
        record = _record_path(self.out, stem)
        record.parent.mkdir(parents=True, exist_ok=True)
        temporary = record.with_name(record.name + ".tmp")
        temporary.write_text(json.dumps(row))
        temporary.replace(record)  # last, and atomic: a record means the photo's files are complete
        return row

    def __call__(self, batch: dict) -> dict:
        """Ray Data's batch interface: ``{"path": [...]}`` in, the rows' JSON out."""
        return {"row": [json.dumps(self.process(path)) for path in batch["path"]]}


def _finished(out: Path, stem: str, digest: str) -> bool:
    record = _record_path(out, stem)
    if not record.exists():
        return False
    try:
        return json.loads(record.read_text()).get("settings_hash") == digest
    except (OSError, json.JSONDecodeError):
        return False  # a damaged record: redo the photo


@dataclass
class CampaignSummary:
    photos: int
    done_now: int
    skipped_finished: int
    cracked: int
    errors: int
    total_length_px: float
    seconds: float
    table: Path

    def to_dict(self) -> dict:
        return {**self.__dict__, "table": str(self.table)}


def campaign_table(out: Path, paths: list[Path], root: Path | None, digest: str) -> list[dict]:
    """The rows of the campaign's photos finished with these settings, in input order."""
    rows = []
    for path in paths:
        record = _record_path(out, _output_stem(path, root))
        if record.exists():
            row = json.loads(record.read_text())
            if row.get("settings_hash") == digest:
                rows.append({column: row.get(column) for column in TABLE_COLUMNS})
    return rows


def _write_table(out: Path, rows: list[dict]) -> Path:
    import pandas as pd

    frame = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    frame.to_parquet(out / "results.parquet", index=False)
    with open(out / "results.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(TABLE_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    return out / "results.csv"


def run_campaign(source: str | Path, out: str | Path, config: PipelineConfig = PipelineConfig(), *,
                 weights: str | Path | None = None, engine: str = "local", address: str | None = None,
                 workers: int = 1, gpus_per_worker: float = 0.0, threads_per_worker: int | None = None,
                 progress: Callable[[int, int, int], None] | None = None) -> CampaignSummary:
    """Run the pipeline over every photo of ``source``; write per-photo files, records and the table.

    Parameters
    ----------
    source : folder, manifest.csv or text file of paths
    out : folder for ``photos/``, ``records/``, ``results.csv`` and ``results.parquet``
    config : PipelineConfig
    weights : weights file (default: the bundled model)
    engine : {'local', 'ray'}
    address : Ray cluster address (``auto``, ``ray://HOST:PORT``); None starts a local Ray
    workers : Ray actors (each loads the model once)
    gpus_per_worker : GPUs per Ray actor (0 = CPU)
    threads_per_worker : torch threads per actor (default: torch's)
    progress : callable(done, total, errors), optional

    Returns
    -------
    CampaignSummary
    """

    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    start = time.perf_counter()
    weights = str(weights or DEFAULT_WEIGHTS)
    if not Path(weights).exists() or not card_path(weights).exists():
        raise CrackInputError(f"{weights}: no such weights file (with its card)")
    sha = read_card(weights).sha256
    digest = settings_hash(config, sha)
    source, out = Path(source), Path(out)
    paths = campaign_inputs(source)
    root = source if source.is_dir() else source.parent
    out.mkdir(parents=True, exist_ok=True)
    todo = [path for path in paths if not _finished(out, _output_stem(path, root), digest)]
    rows, errors = [], 0
    arguments = dict(weights=weights, config=config.to_dict(), out=str(out), root=str(root),
                     threads=threads_per_worker)
    if engine == "local":
        worker = PhotoWorker(**arguments) if todo else None
        for path in todo:
            rows.append(worker.process(path))
            errors += rows[-1]["error"] is not None
            if progress:
                progress(len(rows), len(todo), errors)
    elif todo:
        for row in _ray_rows(todo, arguments, address, workers, gpus_per_worker, threads_per_worker):
            rows.append(row)
            errors += row["error"] is not None
            if progress:
                progress(len(rows), len(todo), errors)
    table_rows = campaign_table(out, paths, root, digest)
    table = _write_table(out, table_rows)
    finished = [row for row in table_rows if row["error"] is None]
    return CampaignSummary(photos=len(paths), done_now=len(rows), skipped_finished=len(paths) - len(todo),
                           cracked=sum((row["crack_probability"] or 0) >= DECISION_THRESHOLD for row in finished),
                           errors=sum(row["error"] is not None for row in table_rows),
                           total_length_px=float(sum(row["length_px"] or 0 for row in finished)),
                           seconds=time.perf_counter() - start, table=table)


def _ray_rows(todo: list[Path], arguments: dict, address, workers: int, gpus_per_worker: float,
              threads_per_worker: int | None):
    """Rows as Ray Data's actor pool finishes them."""
    import ray

    if not ray.is_initialized():
        options = {"address": address} if address else {"num_cpus": os.cpu_count()}
        ray.init(**options, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    dataset = ray.data.from_items([{"path": str(path)} for path in todo], override_num_blocks=len(todo))
    results = dataset.map_batches(PhotoWorker, fn_constructor_kwargs=arguments, batch_size=1,
                                  concurrency=workers, num_gpus=gpus_per_worker,
                                  num_cpus=threads_per_worker or 1)
    for item in results.iter_rows():
        yield json.loads(item["row"])


#: Columns every photo segmented without an error has a number in (a row with an error has none).
MEASURED_COLUMNS = ("crack_probability", "area_px", "length_px", "max_width_px", "mean_width_px", "n_cracks")


#: Largest number a campaign table's cell may hold: no photo's pixels, lengths or seconds come near it, and sums
#: over millions of rows stay finite (a crafted ``1e308`` would make the total length infinite).
LARGEST_NUMBER = 1e12


#: A photo's crack decision is flagged as uncertain when its crack probability is this close to the decision
#: threshold (0.3-0.7 around 0.5): a fifth of the scale on either side, a display choice that asks for a look,
#: not a measured calibration. A confident miss (0.02 on a cracked photo) is outside any such band; only a true
#: mask shows it (:func:`true_crack_pixels`).
UNCERTAIN_MARGIN = 0.2


@dataclass(frozen=True)
class Campaign:
    """A finished campaign read back: its folder and its table's rows.

    Numbers are finite floats or None (blank, or a cell that was not a valid
    number: that row's ``bad_values`` says which, and :attr:`problems` has one
    line per such row). Text cells are strings or None.
    """

    folder: Path
    rows: tuple[dict, ...]
    #: One line per row with cells that were not valid numbers (shown blank).
    problems: tuple[str, ...] = ()

    @property
    def errors(self) -> list[dict]:
        return [row for row in self.rows if row["error"]]

    def summary(self) -> dict:
        """Photos, cracked photos, errors and total crack length, as ``run_campaign`` reports them."""
        finished = [row for row in self.rows if not row["error"]]
        return {"photos": len(self.rows), "errors": len(self.errors),
                "cracked": sum((row["crack_probability"] or 0) >= DECISION_THRESHOLD for row in finished),
                "total_length_px": float(sum(row["length_px"] or 0 for row in finished))}

    def worst_first(self, column: str = "length_px") -> list[dict]:
        """The photos that were segmented, largest ``column`` first (ties and blanks in table order, blanks last)."""
        if column not in TABLE_COLUMNS or column in _TEXT_COLUMNS:
            raise ValueError(f"cannot rank by {column!r}; choose from {', '.join(RANKINGS.values())}")
        return sorted((row for row in self.rows if not row["error"]),
                      key=lambda row: (row[column] is None, -(row[column] or 0)))

    @staticmethod
    def name(row: dict) -> str:
        """The photo's name in the campaign: its files' stem (sub-folders joined by ``__``), else its file name."""
        return row.get("outputs") or (Path(row["photo"]).name if row.get("photo") else "(no photo named)")

    def files(self, row: dict) -> dict[str, Path]:
        """The photo's files that exist: ``overlay``, ``mask``, ``heatmap`` (PNG) and ``cracks`` (CSV)."""
        if not row.get("outputs"):
            return {}
        stem = self.folder / "photos" / row["outputs"]
        names = {"overlay": "_overlay.png", "mask": "_mask.png", "heatmap": "_heatmap.png", "cracks": "_cracks.csv"}
        return {kind: path for kind, ending in names.items() if _is_file(path := stem.with_name(stem.name + ending))}

    def notes(self, row: dict, *, true_crack_pixels: dict[str, int] | None = None) -> list[str]:
        """What a reader of this photo's numbers should know, one short line each.

        Cells that were not valid numbers; a crack probability within
        :data:`UNCERTAIN_MARGIN` of the decision; and, given the true masks'
        crack pixels by photo name (:func:`true_crack_pixels`), a decision that
        the true mask contradicts. A photo that failed has its error instead.
        """
        if row["error"]:
            return []
        notes = [f"not valid numbers, left blank: {row['bad_values']}"] if row.get("bad_values") else []
        probability = row["crack_probability"]
        if probability is None:
            return notes
        if abs(probability - DECISION_THRESHOLD) < UNCERTAIN_MARGIN:
            notes.append(f"uncertain: crack probability {probability:.2f}, near the decision at "
                         f"{DECISION_THRESHOLD:.2f}")
        truth = (true_crack_pixels or {}).get(self.name(row))
        if truth is not None and truth > 0 and probability < DECISION_THRESHOLD:
            notes.append(f"missed: the true mask has {truth:,} crack pixels, the crack probability is "
                         f"{probability:.2f}")
        elif truth == 0 and probability >= DECISION_THRESHOLD:
            notes.append(f"false alarm: the true mask has no crack, the crack probability is {probability:.2f}")
        return notes


def _is_file(path: Path) -> bool:
    """Whether ``path`` is a file; False for a name no file can have (too long for the file system)."""
    try:
        return path.is_file()
    except OSError:
        return False


def true_crack_pixels(data: str | Path) -> dict[str, int]:
    """Crack pixels of the true mask of every masked photo of a data folder, by the name a campaign run on that
    folder gives the photo (:meth:`Campaign.name`). Read from the masks, never from the photos' names."""
    data = Path(data)
    return {_output_stem(sample.image, data): int(read_mask(sample.mask, name=sample.mask.name).sum())
            for sample in read_dataset(data) if sample.mask is not None}


def read_campaign(folder: str | Path) -> Campaign:
    """Read a finished campaign's ``results.csv`` (written by :func:`run_campaign`).

    A table that is not a campaign's raises :class:`CrackInputError`; a cell that is
    not a valid number (``nan``, ``inf``, text, out of range, or blank where a
    segmented photo always has one) is read as None and described in the row's
    ``bad_values`` and in :attr:`Campaign.problems`, and the rest is read.
    """
    folder = Path(folder)
    table = folder / "results.csv"
    if not table.is_file():
        raise CrackInputError(f"{folder.name}: no results.csv here, so not a finished campaign")
    try:
        with open(table, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = set(reader.fieldnames or [])
            rows = [row for row in reader]
    except (UnicodeDecodeError, csv.Error) as error:
        raise CrackInputError(f"{folder.name}/results.csv: cannot be read ({type(error).__name__})") from None
    missing = {"photo", "error", "length_px"} - columns
    if missing:
        raise CrackInputError(f"{folder.name}/results.csv: not a campaign table (no column "
                              f"{', '.join(sorted(missing))})")
    typed_rows, problems = [], []
    for number, row in enumerate(rows, 2):  # row 1 is the header
        typed = _typed(row)
        typed_rows.append(typed)
        if typed["bad_values"]:
            problems.append(f"results.csv row {number} ({Campaign.name(typed)}): {typed['bad_values']}; "
                            "shown blank")
    return Campaign(folder, tuple(typed_rows), tuple(problems))


def _shortened(text: str, length: int = 24) -> str:
    return text if len(text) <= length else text[:length - 1] + "…"


def _typed(row: dict) -> dict:
    """A table row with numbers as finite floats or None, and ``bad_values``: its cells that were not valid
    numbers, in words (None when all were)."""
    typed, bad = {}, []
    cells = {column: row.get(column) if isinstance(row.get(column), str) else None for column in TABLE_COLUMNS}
    failed = bool(cells["error"] and cells["error"].strip())
    for column, cell in cells.items():
        text = (cell or "").strip()
        if column in _TEXT_COLUMNS:
            typed[column] = cell if text else None
            continue
        typed[column], problem = _number(column, text, required=column in MEASURED_COLUMNS and not failed)
        if problem:
            bad.append(problem)
    # Output names come from the table: one that leaves photos/ (or that no file can have) is not followed.
    outputs = typed["outputs"]
    if outputs is not None and (Path(outputs).name != outputs or "\x00" in outputs):
        typed["outputs"] = None
    typed["bad_values"] = ", ".join(bad) or None
    return typed


def _number(column: str, text: str, *, required: bool) -> tuple[float | None, str | None]:
    """A cell's number (finite, in range) or None, and what was wrong with it (None when nothing was)."""
    if not text:
        return None, f"{column} is blank" if required else None
    try:
        value = float(text)
    except ValueError:
        return None, f"{column} {_shortened(text)!r} is not a number"
    if not math.isfinite(value):
        return None, f"{column} {_shortened(text)!r} is not a finite number"
    if not 0 <= value <= (1 if column == "crack_probability" else LARGEST_NUMBER):
        return None, f"{column} {_shortened(text)!r} is out of range"
    return value, None
