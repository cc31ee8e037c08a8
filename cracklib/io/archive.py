"""Zip archives in and out: safe extraction of uploaded data sets, and bundles of results.

An uploaded zip is untrusted: a member may try to write outside the target
folder (``../x``, ``/etc/x``), be a link, or expand to far more than it weighs.
:func:`extract_zip` refuses all three with one readable error.
"""
from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path, PurePosixPath

from cracklib.errors import CrackInputError

__all__ = ["extract_zip", "data_root", "zip_bytes", "MAX_UNPACKED_BYTES"]


#: Largest total size an uploaded zip may unpack to.
MAX_UNPACKED_BYTES = 4 * 1024 ** 3


def _safe_member(name: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise CrackInputError(f"zip member {name!r} points outside its folder; the archive was not unpacked")
    return path


def extract_zip(source, folder: str | Path, *, name: str = "upload.zip") -> Path:
    """Unpack a zip (path, bytes or file-like) into ``folder``; returns the data folder inside.

    The data folder is ``folder`` itself, or its only top-level directory when the
    zip wraps everything in one (as "compress this folder" does).

    Raises
    ------
    CrackInputError
        Not a zip, a member outside the folder or a link, or more than
        :data:`MAX_UNPACKED_BYTES` unpacked. Nothing is written in those cases.
    """
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as error:
        raise CrackInputError(f"{name}: not a zip archive ({error})") from None
    folder = Path(folder)
    with archive:
        members = archive.infolist()
        for member in members:  # check everything before writing anything
            _safe_member(member.filename)
            if stat.S_ISLNK(member.external_attr >> 16):
                raise CrackInputError(f"zip member {member.filename!r} is a link; the archive was not unpacked")
        if sum(member.file_size for member in members) > MAX_UNPACKED_BYTES:
            raise CrackInputError(f"{name}: unpacks to more than {MAX_UNPACKED_BYTES // 1024 ** 3} GB")
        try:
            archive.extractall(folder)
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            raise CrackInputError(f"{name}: damaged zip archive ({error})") from None
    return data_root(folder)


def data_root(folder: str | Path) -> Path:
    """The data folder of an unpacked zip: ``folder``, or its only top-level directory."""
    folder = Path(folder)
    entries = [p for p in folder.iterdir() if not p.name.startswith((".", "__MACOSX"))]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else folder


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A zip archive (in memory) holding ``files`` (name → content)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()
