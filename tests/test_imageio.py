import io

import numpy as np
import pytest
from PIL import Image

from cracklib.errors import CrackInputError
from cracklib.io import read_image, read_mask


def _png(image: Image.Image, fmt="PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "I;16", "I", "F", "CMYK", "1"])
def test_every_mode_becomes_rgb_uint8(mode):
    grey = (np.arange(12 * 10).reshape(12, 10) * 2).astype(np.uint8)  # 0 to 238
    source = Image.fromarray(grey).convert(mode)
    fmt = "TIFF" if mode in ("F", "CMYK", "I") else "PNG"
    image = read_image(_png(source, fmt))
    assert image.shape == (12, 10, 3) and image.dtype == np.uint8
    assert (image == image[..., :1]).all()  # a grey photo stays grey in every channel
    if mode in ("I;16", "I", "F"):  # wider than 8 bits: the values used are stretched to 0-255
        np.testing.assert_allclose(image[..., 0], grey * (255 / 238), atol=0.5)
    elif mode == "1":  # dithered to black and white, its mean brightness kept
        assert set(np.unique(image)) == {0, 255} and abs(image.mean() - grey.mean()) < 5
    else:
        np.testing.assert_array_equal(image[..., 0], grey)


def test_sixteen_bit_uses_its_range():
    array = np.array([[1000, 2000], [3000, 60000]], dtype=np.uint16)
    image = read_image(_png(Image.fromarray(array)))
    assert image[0, 0, 0] == 0 and image[1, 1, 0] == 255


def test_rgba_is_composited_on_white():
    rgba = np.zeros((4, 4, 4), np.uint8)  # fully transparent black
    assert (read_image(_png(Image.fromarray(rgba, "RGBA"))) == 255).all()


@pytest.mark.parametrize("data, words", [
    (b"", "empty file"),
    (b"hello, I am a text file", "not an image"),
])
def test_non_images_are_one_line_errors(data, words):
    with pytest.raises(CrackInputError, match=words) as info:
        read_image(data)
    assert "\n" not in str(info.value)


def test_an_empty_file_on_disk_is_called_empty(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(CrackInputError, match="empty.jpg: empty file"):
        read_image(tmp_path / "empty.jpg")


def test_truncated_file_is_reported(tmp_path):
    data = _png(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)), "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CrackInputError, match="cut.jpg"):
        read_image(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(CrackInputError, match="no such file"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(CrackInputError, match="folder"):
        read_image(tmp_path)


def test_mask_of_another_size_is_an_error():
    mask = _png(Image.fromarray(np.zeros((10, 20), np.uint8)))
    with pytest.raises(CrackInputError, match="mask is 20x10 but the image is 30x10"):
        read_mask(mask, shape=(10, 30))


def test_mask_values():
    array = np.zeros((4, 4), np.uint8)
    array[1, 1] = 255
    array[2, 2] = 100  # below half: JPEG noise, not crack
    assert read_mask(_png(Image.fromarray(array))).sum() == 1
    zero_one = np.zeros((4, 4), np.uint8)
    zero_one[0, 0] = 1
    assert read_mask(_png(Image.fromarray(zero_one))).sum() == 1


def _tagged_jpeg(array: np.ndarray, orientation: int) -> bytes:
    """A JPEG of ``array`` stored as is, with an EXIF orientation tag (as a phone writes a portrait photo)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=95, exif=exif)
    return buffer.getvalue()


def test_photos_are_turned_upright_by_their_exif_orientation():
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:, :10] = 255  # a bright band on the stored image's left
    # Orientation 6: the viewer turns the stored image 90° clockwise, so the band ends up on top.
    upright = read_image(_tagged_jpeg(stored, 6), name="phone.jpg")
    assert upright.shape == (40, 20, 3)
    assert upright[:10].mean() > 200 and upright[12:].mean() < 30
    # An upright mask of the upright size is accepted; the stored size is now the wrong one.
    mask = np.zeros((40, 20), np.uint8)
    assert read_mask(_png(Image.fromarray(mask)), shape=upright.shape[:2], name="phone_mask.png").shape == (40, 20)
    with pytest.raises(CrackInputError, match="mask is 40x20 but the image is 20x40"):
        read_mask(_png(Image.fromarray(np.zeros((20, 40), np.uint8))), shape=upright.shape[:2], name="m.png")
    # Without a tag (orientation 1) nothing turns.
    assert read_image(_tagged_jpeg(stored, 1), name="plain.jpg").shape == (20, 40, 3)
