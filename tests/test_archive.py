"""Zip uploads: safe extraction (nothing outside the folder, no links, no bombs) and result bundles."""
import io
import stat
import zipfile

import pytest

from cracklib.errors import CrackInputError
from cracklib.io import extract_zip, zip_bytes


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
