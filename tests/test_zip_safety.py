"""Uploaded zips in the studio (issue 42): a refused zip leaves nothing in the temp folder, and what is said
about an upload names it by its upload name, never by the temporary folder it was unpacked into."""
import tempfile

import numpy as np
import pytest

from cracklib import studio
from cracklib.errors import CrackInputError
from cracklib.io import read_dataset
from cracklib.io import zip_bytes
from cracklib.io.archive import RATIO_FLOOR_BYTES
from cracklib.run import png_bytes
from cracklib.studio import uploads
from helpers import unescaped


@pytest.fixture
def temp_folder(tmp_path, monkeypatch):
    """The studio's temp folder, here an empty one of the test's."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_a_zip_bomb_upload_is_one_line_naming_the_upload_and_leaves_no_folder(temp_folder):
    bomb = zip_bytes({"data/images/a.png": b"x", "data/masks/a.bmp": b"\0" * (4 * RATIO_FLOOR_BYTES)})
    with pytest.raises(CrackInputError, match=r"^survey\.zip: zip member 'data/masks/a\.bmp' expands") as refused:
        studio.unpacked_zip(bomb, "survey.zip")
    assert "\n" not in str(refused.value) and str(temp_folder) not in str(refused.value)
    assert list(temp_folder.iterdir()) == []  # no staging folder, no upload folder


def _flat_upload(*, mask: bytes):
    """A zip with ``images/`` and ``masks/`` at its top (no wrapping folder), unpacked as an upload."""
    photo = png_bytes(np.full((16, 16, 3), 128, np.uint8))
    return studio.unpacked_zip(zip_bytes({"images/a.png": photo, "masks/a.png": mask}), "survey.zip")


def test_errors_about_an_unpacked_upload_name_the_upload_not_the_temp_folder(temp_folder):
    folder = _flat_upload(mask=b"not a png")
    assert folder.name.startswith("cracklib_upload_")  # a flat zip: the data folder is the temp folder itself
    with pytest.raises(CrackInputError) as refused:  # no manifest: the mask gives the label, and cannot be read
        read_dataset(folder, name="survey.zip")
    assert str(refused.value).startswith("masks/a.png: ") and str(temp_folder) not in str(refused.value)
    skipped = []
    with pytest.raises(CrackInputError, match=r"^survey\.zip: no images$") as empty:
        read_dataset(folder, name="survey.zip", skipped=skipped)  # the bad mask left out, and named
    assert skipped and skipped[0].startswith("masks/a.png: ") and str(temp_folder) not in str(empty.value)


def test_a_split_with_no_images_is_named_by_the_upload(temp_folder):
    folder = _flat_upload(mask=png_bytes(np.zeros((16, 16), bool)))
    with pytest.raises(CrackInputError) as refused:
        read_dataset(folder, split="test", name="survey.zip")
    assert str(refused.value) == "survey.zip: no images in split 'test'"
    with pytest.raises(CrackInputError, match=str(folder)):  # the CLI names the folder it was given, as before
        read_dataset(folder, split="test")


def test_two_sessions_unpacking_the_same_upload_share_one_folder(temp_folder, monkeypatch):
    data = zip_bytes({"data/images/a.png": b"x"})
    unpack = uploads.extract_zip

    def the_other_session_first(source, staging, *, name):
        root = unpack(source, staging, name=name)
        unpack(source, temp_folder / f"cracklib_upload_{uploads.digest(data)}", name=name)  # lands first
        return root

    monkeypatch.setattr(uploads, "extract_zip", the_other_session_first)
    folder = studio.unpacked_zip(data, "survey.zip")
    assert (folder / "images" / "a.png").read_bytes() == b"x"
    assert [path.name for path in temp_folder.iterdir()] == [f"cracklib_upload_{uploads.digest(data)}"]


@pytest.mark.slow  # the Evaluate page loads the shipped model
def test_evaluate_names_an_uploaded_zip_by_its_name_when_its_split_is_empty():
    from helpers import ROOT
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.switch_page("pages/evaluate.py").run()
    at.radio[0].set_value("zip upload").run()
    photo = png_bytes(np.full((16, 16, 3), 128, np.uint8))
    at.file_uploader[0].set_value(("survey.zip", zip_bytes({"images/a.png": photo}), "application/zip")).run()
    at.button[0].click().run()  # split "test": a folder without a manifest has no splits
    assert not at.exception, at.exception
    shown = [unescaped(error.value) for error in at.error]
    assert shown == ["survey.zip: no images in split 'test'"]
