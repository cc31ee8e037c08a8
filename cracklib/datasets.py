"""Data folders in the layout of ``../shared/data``.

A data folder holds ``images/``, optionally ``masks/`` (``STEM.png``, 0 =
background, 255 = crack) and ``manifest.csv`` with ``image,mask,label,split,group``.
Without a manifest, every image in ``images/`` is used; its mask is
``masks/STEM.png`` if present and its label is whether that mask has crack pixels.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .imageio import CrackInputError, read_mask

__all__ = ["Sample", "read_dataset", "IMAGE_SUFFIXES"]

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"}


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


def _from_manifest(folder: Path) -> list[Sample]:
    samples = []
    with open(folder / "manifest.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "image" not in reader.fieldnames:
            raise CrackInputError(f"{folder / 'manifest.csv'}: no 'image' column")
        for row in reader:
            mask = row.get("mask") or ""
            label = row.get("label", "")
            samples.append(Sample(image=folder / row["image"], mask=folder / mask if mask else None,
                                  label=int(label) if label not in ("", None) else None,
                                  split=row.get("split") or None, group=row.get("group") or None))
    return samples


def _from_folders(folder: Path) -> list[Sample]:
    images = folder / "images" if (folder / "images").is_dir() else folder
    masks = folder / "masks"
    samples = []
    for path in sorted(p for p in images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        mask = masks / f"{path.stem}.png"
        if mask.exists():
            samples.append(Sample(path, mask, int(read_mask(mask).any())))
        else:
            samples.append(Sample(path, None, None))
    return samples


def read_dataset(folder: str | Path, *, split: str | None = None, groups: list[str] | None = None) -> list[Sample]:
    """The samples of a data folder, optionally one split and some groups only."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CrackInputError(f"{folder}: no such data folder")
    samples = _from_manifest(folder) if (folder / "manifest.csv").exists() else _from_folders(folder)
    if split:
        samples = [s for s in samples if s.split == split]
    if groups:
        known = {s.group for s in samples}
        unknown = [g for g in groups if g not in known]
        if unknown:
            raise CrackInputError(f"{folder}: no group {', '.join(unknown)} (groups: {', '.join(sorted(map(str, known)))})")
        samples = [s for s in samples if s.group in groups]
    if not samples:
        raise CrackInputError(f"{folder}: no images" + (f" in split {split!r}" if split else ""))
    return samples


def crack_pixels(sample: Sample, shape: tuple[int, int]) -> np.ndarray | None:
    """The sample's mask (checked against the image shape), or None without one."""
    return read_mask(sample.mask, shape=shape) if sample.mask is not None else None
