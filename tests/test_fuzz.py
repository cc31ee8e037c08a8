"""Fuzzing the readers (issue 13): every input either reads or raises the project's one error, in one line.

Images, masks, manifests and zip archives come from users; hypothesis builds damaged, odd and hostile
versions of valid ones (truncated, flipped bytes, odd modes, labels, encodings, paths, zip names and links).
"""
import io
import stat
import zipfile

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from cracklib.errors import CrackInputError
from cracklib.io import extract_zip, read_dataset, read_image, read_mask

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _encoded(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


@st.composite
def image_bytes(draw):
    """A small valid image in some mode and format, then perhaps truncated or with bytes flipped."""
    mode = draw(st.sampled_from(["RGB", "RGBA", "L", "P", "1", "I;16", "LA", "CMYK", "F"]))
    fmt = draw(st.sampled_from(["PNG", "TIFF", "BMP", "JPEG", "GIF"]))
    side = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    pixels = np.frombuffer(draw(st.binary(min_size=side[0] * side[1], max_size=side[0] * side[1])), np.uint8)
    image = Image.fromarray(pixels.reshape(side)).convert(mode)
    try:
        data = _encoded(image, fmt)
    except (OSError, ValueError, KeyError):  # a format that cannot hold the mode: the plain PNG
        data = _encoded(image.convert("RGB"), "PNG")
    damage = draw(st.sampled_from(["none", "truncate", "flip", "garbage"]))
    if damage == "truncate":
        data = data[:draw(st.integers(0, len(data)))]
    elif damage == "flip":
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]
    elif damage == "garbage":
        data = draw(st.binary(max_size=200))
    return data


def _one_line_error_or_value(read, *args, **kwargs):
    try:
        return read(*args, **kwargs)
    except CrackInputError as error:
        assert str(error) and "\n" not in str(error), repr(str(error))
        return None


@FUZZ
@given(image_bytes())
def test_image_reader_reads_or_raises_one_line(data):
    image = _one_line_error_or_value(read_image, data, name="upload.png")
    if image is not None:
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3


@FUZZ
@given(image_bytes(), st.tuples(st.integers(1, 24), st.integers(1, 24)))
def test_mask_reader_reads_or_raises_one_line(data, shape):
    mask = _one_line_error_or_value(read_mask, data, shape=shape, name="mask.png")
    if mask is not None:
        assert mask.dtype == bool and mask.shape == shape


cell = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=20)
path_cell = st.one_of(cell, st.sampled_from(["images/a.png", "../a.png", "/etc/hostname", "images/../../x",
                                              "images/missing.png", "", "masks/a.png"]))


@FUZZ
@given(st.lists(st.tuples(path_cell, path_cell, st.one_of(cell, st.sampled_from(["0", "1", ""])), cell),
                max_size=6),
       st.sampled_from(["utf-8", "latin-1", "utf-16"]), st.booleans())
def test_manifest_reader_reads_or_raises_one_line(tmp_path_factory, rows, encoding, skip):
    folder = tmp_path_factory.mktemp("data")
    (folder / "images").mkdir()
    Image.new("RGB", (8, 8)).save(folder / "images" / "a.png")
    lines = ["image,mask,label,split"] + [",".join(c.replace(",", " ").replace("\n", " ").replace("\r", " ")
                                                     .replace('"', " ") for c in row) for row in rows]
    try:
        text = "\n".join(lines).encode(encoding)
    except UnicodeEncodeError:
        text = "\n".join(lines).encode("utf-8")
    (folder / "manifest.csv").write_bytes(text)
    skipped = [] if skip else None
    samples = _one_line_error_or_value(read_dataset, folder, skipped=skipped)
    for sample in samples or []:
        assert sample.image.resolve().is_relative_to(folder.resolve())
        assert sample.label in (0, 1, None)
    assert all("\n" not in line for line in skipped or [])


member_name = st.one_of(st.sampled_from(["data/images/a.png", "../evil.png", "/abs.png", "a/../../b", "C:/x",
                                         "data\\..\\..\\x", "ok.txt", "dir/"]), cell.filter(bool))


@FUZZ
@given(st.lists(st.tuples(member_name, st.binary(max_size=64), st.booleans()), max_size=5),
       st.sampled_from(["whole", "truncated", "garbage"]))
def test_zip_reader_unpacks_inside_or_raises_one_line(tmp_path_factory, members, damage):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content, link in members:
            info = zipfile.ZipInfo(name)
            if link:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, content)
    data = buffer.getvalue()
    if damage == "truncated":
        data = data[:len(data) // 2]
    elif damage == "garbage":
        data = bytes(reversed(data))
    target = tmp_path_factory.mktemp("unpacked")
    root = _one_line_error_or_value(extract_zip, data, target, name="upload.zip")
    for path in target.rglob("*"):  # whatever was written stays inside, and is no link
        assert path.resolve().is_relative_to(target.resolve()) and not path.is_symlink()
    if root is not None:
        assert root.resolve().is_relative_to(target.resolve())
