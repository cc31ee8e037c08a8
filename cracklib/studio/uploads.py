"""Uploads: masks and zipped data folders from the browser, folders on the server, and the temporary
folders they are unpacked into (swept when old or over budget, never the one in use)."""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import streamlit as st

from cracklib.errors import CrackInputError
from cracklib.io.archive import data_root, extract_zip
from cracklib.io.imageio import read_mask


def digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()[:12]


def read_mask_upload(data: bytes, name: str, shape: tuple[int, int]) -> np.ndarray | None:
    """A mask upload (ground truth, or regions to ignore) checked against the photo's size; shows the error
    and returns None if bad."""
    try:
        return read_mask(data, shape=shape, name=name)
    except CrackInputError as error:
        st.error(str(error))
        return None


#: Where "folder on the server" may look: CRACKLIB_DATA_ROOTS (paths joined by the OS path separator),
#: by default ../shared/data beside the project. Nothing outside these roots is listed or read.
DATA_ROOTS_VARIABLE = "CRACKLIB_DATA_ROOTS"


def server_data_folders() -> dict[str, Path]:
    """Name → folder for every data folder directly under the configured data roots."""
    default = Path(__file__).resolve().parents[3] / "shared" / "data"  # beside the repository
    roots = [Path(p) for p in os.environ.get(DATA_ROOTS_VARIABLE, str(default)).split(os.pathsep) if p]
    return {folder.name: folder for root in roots if root.is_dir()
            for folder in sorted(root.iterdir()) if folder.is_dir() and not folder.name.startswith(".")}


#: Where the Campaign page looks for finished campaigns (folders holding results.csv): CRACKLIB_CAMPAIGN_ROOTS
#: (paths joined by the OS path separator), by default campaigns/ in the project. Nothing else is listed.
CAMPAIGN_ROOTS_VARIABLE = "CRACKLIB_CAMPAIGN_ROOTS"


def server_campaigns() -> dict[str, Path]:
    """Name → folder for every finished campaign directly under the configured campaign roots."""
    default = Path(__file__).resolve().parents[2] / "campaigns"  # in the repository
    roots = [Path(p) for p in os.environ.get(CAMPAIGN_ROOTS_VARIABLE, str(default)).split(os.pathsep) if p]
    return {folder.name: folder for root in roots if root.is_dir()
            for folder in sorted(root.iterdir()) if (folder / "results.csv").is_file()}


#: Unpacked zips are removed this long after their last use, and the oldest first beyond the disk budget.
UPLOAD_TTL_S, UPLOAD_BUDGET_BYTES = 3600, 8 * 2**30


#: Staging folders of an extraction that died (a crash mid-unpack) are removed after this long.
STAGING_TTL_S = 3600


def _folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def sweep_uploads(*, keep: Path | None = None, now: float | None = None) -> list[Path]:
    """Remove unpacked zips unused for UPLOAD_TTL_S, then the least recently used beyond UPLOAD_BUDGET_BYTES.

    Streamlit tells the app nothing when a session ends, so the temp folder is
    swept on every unpack instead; ``keep`` (the folder being used) is never
    removed. Returns the removed folders.
    """
    now = time.time() if now is None else now
    temp = Path(tempfile.gettempdir())
    removed = [staging for staging in temp.glob("cracklib_unpacking_*")
               if staging.is_dir() and now - staging.stat().st_mtime > STAGING_TTL_S]
    uploads = sorted((folder for folder in temp.glob("cracklib_upload_*") if folder.is_dir() and folder != keep),
                     key=lambda folder: folder.stat().st_mtime, reverse=True)  # most recently used first
    used = _folder_bytes(keep) if keep is not None and keep.is_dir() else 0
    for folder in uploads:
        size = _folder_bytes(folder)
        if now - folder.stat().st_mtime > UPLOAD_TTL_S or used + size > UPLOAD_BUDGET_BYTES:
            removed.append(folder)
        else:
            used += size
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return removed


def unpacked_zip(data: bytes, name: str) -> Path:
    """An uploaded zip unpacked once into a temporary folder named by its digest; returns the data folder.

    Each use marks the folder as used now; older unpacked zips are swept (:func:`sweep_uploads`). Errors name
    the upload by ``name``, its file name in the browser, never by the temporary folder.
    """
    target = Path(tempfile.gettempdir()) / f"cracklib_upload_{digest(data)}"
    if target.exists():
        os.utime(target)
    sweep_uploads(keep=target)
    if not target.exists():
        staging = Path(tempfile.mkdtemp(prefix="cracklib_unpacking_"))
        try:
            extract_zip(data, staging, name=name)  # raises before anything lands in ``target``
            staging.rename(target)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if not target.is_dir():
                raise CrackInputError(f"{name}: could not be unpacked on the server") from None
            # Another session unpacked the same upload first: its folder is this one's.
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)  # a refused zip leaves nothing behind
            raise
    return data_root(target)
