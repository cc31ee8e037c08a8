"""Data folders in the layout of ``../shared/data``.

A data folder holds ``images/``, optionally ``masks/`` (``STEM.png``, 0 =
background, 255 = crack) and ``manifest.csv`` with ``image,mask,label,split,group``.
Without a manifest, every image in ``images/`` is used; its mask is
``masks/STEM.png`` if present and its label is whether that mask has crack pixels.
A folder with ``crack/`` and ``no_crack/`` sub-folders (the simplest way to hand
over image labels) gives label 1 and 0 to the images in them.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cracklib.errors import CrackInputError
from cracklib.io.imageio import read_image, read_mask

__all__ = ["MANIFEST_COLUMNS", "write_manifest", "DEMO_SAMPLE", "Sample", "read_dataset", "read_sample",
           "crack_pixels", "IMAGE_SUFFIXES", "LABEL_FOLDERS", "assign_splits", "match_masks"]


IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"}


#: The studio's first picture: a real road photo and its crack mask (CrackSC, Sun et al., MIT licence;
#: image 136 of its train split, attributed in the README).
DEMO_SAMPLE = (Path(__file__).resolve().parents[1] / "samples" / "real" / "cracksc_136.jpg",
               Path(__file__).resolve().parents[1] / "samples" / "real" / "cracksc_136_mask.png")


@dataclass(frozen=True)
class Sample:
    image: Path
    mask: Path | None
    label: int | None
    split: str | None = None
    group: str | None = None

    @property
    def name(self) -> str:
        return self.image.stem


def _inside(folder: Path, entry: str, column: str) -> Path:
    """``folder / entry``, refused unless it stays inside ``folder`` (no absolute paths, no ``..`` out, no links out)."""
    if "\x00" in entry:  # the OS cannot open such a name (pathlib raises ValueError)
        raise CrackInputError(f"{column} {entry!r} is not a valid file name")
    path = (folder / entry).resolve()
    if Path(entry).is_absolute() or not path.is_relative_to(folder.resolve()):
        raise CrackInputError(f"{column} {entry!r} points outside the data folder")
    return folder / entry


def _sample_from_row(folder: Path, row: dict) -> Sample:
    image = (row.get("image") or "").strip()
    if not image:
        raise CrackInputError("no image named")
    mask = (row.get("mask") or "").strip()
    label = (row.get("label") or "").strip()
    if label not in ("", "0", "1"):
        raise CrackInputError(f"label {label!r} is not 0, 1 or empty")
    return Sample(image=_inside(folder, image, "image"), mask=_inside(folder, mask, "mask") if mask else None,
                  label=int(label) if label else None, split=row.get("split") or None, group=row.get("group") or None)


#: The columns of a data folder's ``manifest.csv``, in order.
MANIFEST_COLUMNS = ("image", "mask", "label", "split", "group")


def write_manifest(folder: str | Path, rows: list[dict]) -> Path:
    """Write ``folder/manifest.csv`` from rows of :data:`MANIFEST_COLUMNS` (paths relative to ``folder``; a
    missing key is an empty cell). Returns the file."""
    path = Path(folder) / "manifest.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows({column: row.get(column, "") for column in MANIFEST_COLUMNS} for row in rows)
    return path


def _from_manifest(folder: Path, skipped: list[str] | None) -> list[Sample]:
    samples = []
    try:
        with open(folder / "manifest.csv", newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or "image" not in reader.fieldnames:
                raise CrackInputError("manifest.csv: no 'image' column")
            for number, row in enumerate(reader, 2):  # row 1 is the header
                try:
                    samples.append(_sample_from_row(folder, row))
                except CrackInputError as error:
                    if skipped is None:
                        raise CrackInputError(f"manifest.csv row {number}: {error}") from None
                    skipped.append(f"manifest.csv row {number}: {error}")
    except UnicodeDecodeError:
        raise CrackInputError("manifest.csv is not UTF-8 text") from None
    except csv.Error as error:
        raise CrackInputError(f"manifest.csv is not valid CSV ({error})") from None
    return samples


LABEL_FOLDERS = {"crack": 1, "no_crack": 0}


def _from_label_folders(folder: Path) -> list[Sample]:
    return [Sample(path, None, label, group=name)
            for name, label in LABEL_FOLDERS.items() if (folder / name).is_dir()
            for path in sorted((folder / name).rglob("*")) if path.suffix.lower() in IMAGE_SUFFIXES]


def _from_folders(folder: Path, skipped: list[str] | None) -> list[Sample]:
    images = folder / "images" if (folder / "images").is_dir() else folder
    masks = folder / "masks"
    samples = []
    for path in sorted(p for p in images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        mask = masks / f"{path.stem}.png"
        if not mask.exists():
            samples.append(Sample(path, None, None))
            continue
        try:  # named inside the data folder: the folder itself may be an upload's temporary one
            samples.append(Sample(path, mask, int(read_mask(mask, name=f"masks/{mask.name}").any())))
        except CrackInputError as error:
            if skipped is None:
                raise
            skipped.append(str(error))
    return samples


def read_dataset(folder: str | Path, *, split: str | None = None, groups: list[str] | None = None,
                 skipped: list[str] | None = None, name: str | None = None) -> list[Sample]:
    """The samples of a data folder, optionally one split and some groups only.

    A manifest row that names a path outside the folder, or a label other than
    0, 1 or empty, raises :class:`CrackInputError`; with a ``skipped`` list, the
    row is left out and described there instead (one line each), and the rest is read.

    Parameters
    ----------
    folder : str or Path
    split : str, optional
    groups : list of str, optional
    skipped : list, optional
        Where bad manifest rows and unreadable masks are described, instead of raising.
    name : str, optional
        The folder's name in messages; by default its path. The studio passes an upload's file name, so that
        no message shows the temporary folder it was unpacked into.
    """
    folder = Path(folder)
    shown = str(folder) if name is None else name
    if not folder.is_dir():
        raise CrackInputError(f"{shown}: no such data folder")
    if (folder / "manifest.csv").exists():
        samples = _from_manifest(folder, skipped)
    elif any((folder / label).is_dir() for label in LABEL_FOLDERS):
        samples = _from_label_folders(folder)
    else:
        samples = _from_folders(folder, skipped)
    if split:
        samples = [s for s in samples if s.split == split]
    if groups:
        known = {s.group for s in samples}
        unknown = [g for g in groups if g not in known]
        if unknown:
            names = ", ".join(sorted(map(str, known)))
            raise CrackInputError(f"{shown}: no group {', '.join(unknown)} (groups: {names})")
        samples = [s for s in samples if s.group in groups]
    if not samples:
        raise CrackInputError(f"{shown}: no images" + (f" in split {split!r}" if split else ""))
    return samples


def crack_pixels(sample: Sample, shape: tuple[int, int]) -> np.ndarray | None:
    """The sample's mask (checked against the image shape), or None without one."""
    return read_mask(sample.mask, shape=shape, name=sample.mask.name) if sample.mask is not None else None


def read_sample(sample: Sample, *, with_mask: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """The sample's image and (with ``with_mask``) its mask; errors name the files, not the server's folders."""
    image = read_image(sample.image, name=sample.image.name)
    return image, crack_pixels(sample, image.shape[:2]) if with_mask else None


def assign_splits(samples: list[Sample], *, val_fraction: float = 0.2, seed: int = 0) -> list[Sample]:
    """Samples without a split get ``train`` or ``val`` (stratified by label, fixed seed)."""
    from dataclasses import replace

    rng = np.random.default_rng(seed)
    out = [s for s in samples if s.split]
    for label in sorted({s.label for s in samples if not s.split}, key=str):
        group = [s for s in samples if not s.split and s.label == label]
        order = rng.permutation(len(group))
        n_val = int(round(val_fraction * len(group))) if len(group) > 1 else 0
        out += [replace(group[i], split="val" if rank < n_val else "train") for rank, i in enumerate(order)]
    return out


_MASK_SUFFIXES = ("", "_mask", "-mask", "_gt", "_label", "_labels", "_groundtruth", "_ignore", "_exclude", "_roi")


def match_masks(image_names: list[str], mask_names: list[str]) -> dict[str, str]:
    """Pair uploaded masks with photos by file name: ``a.jpg`` ↔ ``a.png``, ``a_mask.png``, ``a_gt.png`` ….

    Returns image name → mask name for the photos that have one.
    """
    by_stem = {Path(name).stem.lower(): name for name in mask_names}
    pairs = {}
    for image in image_names:
        stem = Path(image).stem.lower()
        for suffix in _MASK_SUFFIXES:
            if stem + suffix in by_stem and by_stem[stem + suffix] != image:
                pairs[image] = by_stem[stem + suffix]
                break
    return pairs
