"""Zip uploads: safe extraction (nothing outside the folder, no links, no bombs, no lying headers) and result
bundles."""
import io
import stat
import struct
import zipfile

import numpy as np
import pytest

import cracklib.io.archive as archive_module
from cracklib.errors import CrackInputError
from cracklib.io import extract_zip, zip_bytes
from cracklib.io.archive import MAX_RATIO, RATIO_FLOOR_BYTES


def _zip(entries, links=()):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def test_a_wrapped_folder_is_returned_as_the_data_folder(tmp_path):
    root = extract_zip(_zip({"data/crack/a.png": b"1", "data/no_crack/b.png": b"2"}), tmp_path)
    assert root == tmp_path / "data" and (root / "crack" / "a.png").read_bytes() == b"1"


def test_a_flat_zip_is_the_folder_itself(tmp_path):
    assert extract_zip(_zip({"crack/a.png": b"1", "manifest.csv": b"image\n"}), tmp_path) == tmp_path


@pytest.mark.parametrize("entries, links, words", [
    ({"../evil.png": b"x"}, (), "outside its folder"),
    ({"/abs/evil.png": b"x"}, (), "outside its folder"),
    ({"ok.png": b"x"}, ("link.png",), "is a link"),
])
def test_unsafe_members_are_refused_before_anything_is_written(tmp_path, entries, links, words):
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(CrackInputError, match=words):
        extract_zip(_zip(entries, links), target)
    assert list(target.iterdir()) == []


def test_not_a_zip_and_zip_bombs_are_refused(tmp_path, monkeypatch):
    with pytest.raises(CrackInputError, match="not a zip"):
        extract_zip(b"plain text", tmp_path, name="x.zip")
    monkeypatch.setattr("cracklib.io.archive.MAX_UNPACKED_BYTES", 10)
    with pytest.raises(CrackInputError, match="unpacks to more than"):
        extract_zip(_zip({"big.bin": b"0" * 100}), tmp_path)


def test_zip_bytes_round_trip():
    files = {"a_mask.png": b"\x89PNG", "a.json": b"{}"}
    with zipfile.ZipFile(io.BytesIO(zip_bytes(files))) as archive:
        assert {name: archive.read(name) for name in archive.namelist()} == files


# Zip bombs under the declared-size limit (issue 42): the expansion ratio, and headers that lie.

def _deflated(entries):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _one_line_refusal(data, target, words):
    with pytest.raises(CrackInputError, match=words) as refused:
        extract_zip(data, target, name="bomb.zip")
    assert "\n" not in str(refused.value) and "bomb.zip" in str(refused.value)
    assert str(target) not in str(refused.value)  # the upload's name, never the server's folder
    assert not target.exists() or list(target.iterdir()) == []


def test_a_member_that_expands_past_the_ratio_is_refused_before_anything_is_written(tmp_path):
    zeros = b"\0" * (2 * RATIO_FLOOR_BYTES)  # deflates about 1000:1
    _one_line_refusal(_deflated({"data/images/a.png": b"photo", "data/masks/a.bmp": zeros}), tmp_path / "out",
                      f"'data/masks/a.bmp' expands .* times, more than {MAX_RATIO}")


def test_many_small_members_that_expand_past_the_ratio_together_are_refused(tmp_path):
    # Each member stays under the floor, where a member's ratio is not checked; the whole archive is.
    small = b"\0" * (RATIO_FLOOR_BYTES // 2)
    _one_line_refusal(_deflated({f"data/{index}.txt": small for index in range(8)}), tmp_path / "out",
                      f"unpacks to .* times its size, more than {MAX_RATIO}")


def test_a_small_highly_compressible_member_and_ordinary_data_unpack(tmp_path):
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, 3 * RATIO_FLOOR_BYTES, dtype=np.uint8).tobytes()  # incompressible, like a JPEG
    entries = {"data/images/a.jpg": photo, "data/notes.txt": b" " * (RATIO_FLOOR_BYTES // 2)}
    root = extract_zip(_deflated(entries), tmp_path)
    assert (root / "images" / "a.jpg").read_bytes() == photo
    assert (root / "notes.txt").stat().st_size == RATIO_FLOOR_BYTES // 2


def _lying_about_size(data: bytes, name: str, declared: int) -> bytes:
    """``data`` with member ``name``'s uncompressed size set to ``declared`` in its local and central headers."""
    patched = bytearray(data)
    encoded = name.encode()
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        start = patched.find(signature)
        while patched[start + name_at:start + name_at + len(encoded)] != encoded:
            start = patched.find(signature, start + 1)
        patched[start + size_at:start + size_at + 4] = struct.pack("<I", declared)
    return bytes(patched)


def test_a_header_that_declares_less_than_its_data_stops_there_and_leaves_nothing(tmp_path, monkeypatch):
    declared = 1000
    data = _lying_about_size(_deflated({"data/a.png": b"first", "data/big.bin": b"\0" * (8 * RATIO_FLOOR_BYTES)}),
                             "data/big.bin", declared)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.getinfo("data/big.bin").file_size == declared  # the archive passes the size checks
    written = {}
    copy = archive_module._copy_at_most

    def counted(reader, writer, limit, what):
        class Counting:
            def write(self, chunk):
                written[what] = written.get(what, 0) + len(chunk)
                return writer.write(chunk)
        return copy(reader, Counting(), limit, what)

    monkeypatch.setattr(archive_module, "_copy_at_most", counted)
    target = tmp_path / "out"
    with pytest.raises(CrackInputError) as refused:
        extract_zip(data, target, name="bomb.zip")
    assert "\n" not in str(refused.value) and str(tmp_path) not in str(refused.value)
    assert max(written.values()) <= declared  # never more than the header declared
    assert list(target.rglob("*")) == []  # the first member and the folders made for it are gone too


def test_the_byte_count_is_ours_not_the_zip_modules(tmp_path, monkeypatch):
    # A zip reader that hands over all the data behind a lying header: the count still stops at the declared size.
    data = _deflated({"data/a.png": b"first", "data/big.bin": b"x" * 100})
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, member: io.BytesIO(b"x" * (3 * RATIO_FLOOR_BYTES)))
    target = tmp_path / "out"
    with pytest.raises(CrackInputError, match="holds more than its header declares"):
        extract_zip(data, target, name="bomb.zip")
    assert list(target.rglob("*")) == []
    writer = io.BytesIO()
    with pytest.raises(CrackInputError, match="more than its header declares"):
        archive_module._copy_at_most(io.BytesIO(b"y" * 5000), writer, 4096, "x.zip: zip member 'm'")
    assert len(writer.getvalue()) <= 4096


def test_a_disk_error_while_unpacking_is_one_line_without_server_paths(tmp_path, monkeypatch):
    def full(reader, writer, limit, what):
        raise OSError(28, "No space left on device", str(tmp_path / "out" / "data" / "a.png"))

    monkeypatch.setattr(archive_module, "_copy_at_most", full)
    with pytest.raises(CrackInputError, match="No space left on device") as refused:
        extract_zip(_zip({"data/a.png": b"1"}), tmp_path / "out", name="survey.zip")
    assert str(tmp_path) not in str(refused.value) and list((tmp_path / "out").rglob("*")) == []
