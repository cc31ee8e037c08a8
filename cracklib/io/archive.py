"""Zip archives in and out: safe extraction of uploaded data sets, and bundles of results.

An uploaded zip is untrusted: a member may try to write outside the target
folder (``../x``, ``/etc/x``), be a link, or expand to far more than it weighs
(a zip bomb), or its header may declare less than its data holds.
:func:`extract_zip` refuses all of these with one readable error and leaves
nothing it wrote behind.
"""
from __future__ import annotations

import io
import lzma
import os
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from cracklib.errors import CrackInputError

__all__ = ["extract_zip", "data_root", "zip_bytes", "MAX_UNPACKED_BYTES", "MAX_RATIO", "RATIO_FLOOR_BYTES"]


#: Largest total size an uploaded zip may unpack to.
MAX_UNPACKED_BYTES = 4 * 1024 ** 3


#: Largest expansion (unpacked ÷ packed bytes) of a member, and of the whole archive, once past
#: :data:`RATIO_FLOOR_BYTES`. Photos (JPEG, PNG) and PNG masks are compressed already and expand about 1×, CSV text
#: 5-10×; deflate's ceiling is about 1030× (a run of zeros), where the zip bombs sit. Only uncompressed masks (BMP,
#: uncompressed TIFF, 500-1000× when larger than 3 MP) come near it: the data folder layout's masks are PNG. With
#: 200×, a 3 MB upload unpacks to 600 MB at most, not to 3 GB.
MAX_RATIO = 200


#: Members (and archives) that unpack to no more than this are not ratio-checked: a small text file of spaces
#: expands a thousandfold and harms nothing.
RATIO_FLOOR_BYTES = 1024 ** 2


#: Bytes read and written at a time while unpacking.
_CHUNK_BYTES = 1024 ** 2


def _safe_member(name: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise CrackInputError(f"zip member {name!r} points outside its folder; the archive was not unpacked")
    if "\x00" in name:
        raise CrackInputError(f"zip member {name!r} is not a valid file name; the archive was not unpacked")
    return path


def _archive_bytes(source) -> int:
    """How many bytes the archive itself weighs (what its members' sizes are compared with)."""
    if isinstance(source, (str, os.PathLike)):
        return Path(source).stat().st_size
    position = source.tell()
    size = source.seek(0, io.SEEK_END)
    source.seek(position)
    return size


def _check_sizes(members: list[zipfile.ZipInfo], archive_bytes: int, name: str) -> None:
    """Refuse an archive whose declared sizes are too large or expand too much (one line, nothing written)."""
    total = sum(member.file_size for member in members)
    if total > MAX_UNPACKED_BYTES:
        raise CrackInputError(f"{name}: unpacks to more than {MAX_UNPACKED_BYTES // 1024 ** 3} GB")
    for member in members:
        if member.file_size > RATIO_FLOOR_BYTES and member.file_size > MAX_RATIO * member.compress_size:
            ratio = member.file_size / max(member.compress_size, 1)
            raise CrackInputError(f"{name}: zip member {member.filename!r} expands {ratio:,.0f} times, more than "
                                  f"{MAX_RATIO}; the archive was not unpacked (a zip bomb, or masks not saved as PNG)")
    if total > RATIO_FLOOR_BYTES and total > MAX_RATIO * archive_bytes:
        raise CrackInputError(f"{name}: unpacks to {total / max(archive_bytes, 1):,.0f} times its size, more than "
                              f"{MAX_RATIO}; the archive was not unpacked (a zip bomb?)")


def _copy_at_most(reader: BinaryIO, writer: BinaryIO, limit: int, what: str) -> int:
    """Copy ``reader`` into ``writer`` and return the bytes copied; raise before writing past ``limit`` bytes.

    A member's header declares its size; the data behind it may hold more. The count is ours, not the zip
    module's, so a lying header never writes more than it declared.
    """
    written = 0
    while chunk := reader.read(_CHUNK_BYTES):
        if written + len(chunk) > limit:
            raise CrackInputError(f"{what} holds more than its header declares ({limit:,} bytes); "
                                  "the archive was not unpacked")
        writer.write(chunk)
        written += len(chunk)
    return written


def _remove(created: list[Path]) -> None:
    """Remove the files and folders this extraction made, the deepest first; folders only when empty."""
    for path in reversed(created):
        try:
            if path.is_dir() and not path.is_symlink():
                path.rmdir()
            else:
                path.unlink()
        except OSError:
            pass  # a folder that holds something not ours stays


def _make_folders(folder: Path, relative: PurePosixPath, created: list[Path]) -> Path:
    """``folder / relative``, its missing folders made (and recorded in ``created``)."""
    path = folder
    for part in relative.parts:
        path = path / part
        if not path.is_dir():
            path.mkdir()
            created.append(path)
    return path


def _unpack(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], folder: Path, name: str,
            created: list[Path]) -> None:
    for member in members:
        relative = PurePosixPath(*(part for part in _safe_member(member.filename).parts if part != "."))
        if not relative.parts:
            continue
        if member.is_dir():
            _make_folders(folder, relative, created)
            continue
        target = _make_folders(folder, relative.parent, created) / relative.name
        with archive.open(member) as reader:
            existed = target.exists()
            with open(target, "wb") as writer:
                if not existed:
                    created.append(target)
                _copy_at_most(reader, writer, member.file_size, f"{name}: zip member {member.filename!r}")


def extract_zip(source, folder: str | Path, *, name: str = "upload.zip") -> Path:
    """Unpack a zip (path, bytes or file-like) into ``folder``; returns the data folder inside.

    The data folder is ``folder`` itself, or its only top-level directory when the
    zip wraps everything in one (as "compress this folder" does).

    Parameters
    ----------
    source : path, bytes or binary file-like
    folder : str or Path
        Where to unpack (made if missing; best new or empty).
    name : str
        The archive's name in messages (an upload's file name; never a path on the server).

    Returns
    -------
    Path

    Raises
    ------
    CrackInputError
        Not a zip, a member outside the folder, a link, more than :data:`MAX_UNPACKED_BYTES`
        declared, a member or the whole expanding more than :data:`MAX_RATIO` times (past
        :data:`RATIO_FLOOR_BYTES`): nothing is written. A member holding more than its
        header declares (unpacking stops there), damaged or encrypted data, or a disk
        error: what was written is removed.
    """
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    try:
        archive = zipfile.ZipFile(source)
        archive_bytes = _archive_bytes(source)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        reason = getattr(error, "strerror", None) or _first_line(error)  # an OS message would name a server path
        raise CrackInputError(f"{name}: not a zip archive ({reason})") from None
    folder = Path(folder)
    with archive:
        members = archive.infolist()
        for member in members:  # check everything before writing anything
            _safe_member(member.filename)
            if stat.S_ISLNK(member.external_attr >> 16):
                raise CrackInputError(f"zip member {member.filename!r} is a link; the archive was not unpacked")
        _check_sizes(members, archive_bytes, name)
        created: list[Path] = []
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _unpack(archive, members, folder, name, created)
        except CrackInputError:
            _remove(created)
            raise
        except (zipfile.BadZipFile, EOFError, zlib.error, lzma.LZMAError) as error:
            _remove(created)
            raise CrackInputError(f"{name}: damaged zip archive ({_first_line(error)})") from None
        except (RuntimeError, NotImplementedError) as error:  # encrypted, or a compression zipfile cannot read
            _remove(created)
            raise CrackInputError(f"{name}: cannot be unpacked ({_first_line(error)})") from None
        except (OSError, ValueError) as error:
            _remove(created)
            # strerror only: the OS's message names the file by its path on the server.
            reason = getattr(error, "strerror", None) or type(error).__name__
            raise CrackInputError(f"{name}: cannot be unpacked ({reason})") from None
    return data_root(folder)


def _first_line(error: BaseException) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


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
