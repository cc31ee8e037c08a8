"""Reading images and masks, with one readable error for every bad file.

Everything the product reads from a user goes through :func:`read_image` or
:func:`read_mask`, so the app and the CLI report a bad file the same way: a
:class:`CrackInputError` whose message is one line naming the file.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from cracklib.errors import CrackInputError

__all__ = ["read_image", "read_mask", "to_rgb_uint8", "write_png", "MAX_PIXELS"]


#: Largest image accepted (pixels). 48 MP photos are the biggest the product
#: targets; twice that leaves room, and still stops decompression bombs.
MAX_PIXELS = 100_000_000


def _name(source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return getattr(source, "name", "<bytes>")


def _open(source, name: str | None = None) -> Image.Image:
    """Open ``source`` (path, bytes or file-like) with PIL, fully decoded."""
    name = name or _name(source)
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise CrackInputError(f"{name}: no such file")
        if path.is_dir():
            raise CrackInputError(f"{name}: is a folder, not an image")
    if hasattr(source, "seek"):
        source.seek(0, os.SEEK_END)
        if source.tell() == 0:  # "not an image" would send the user looking for the wrong fault
            raise CrackInputError(f"{name}: empty file (0 bytes)")
        source.seek(0)
    elif isinstance(source, (str, os.PathLike)) and Path(source).stat().st_size == 0:
        raise CrackInputError(f"{name}: empty file (0 bytes)")
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        image = Image.open(source)
        if image.width * image.height > MAX_PIXELS:
            raise CrackInputError(
                f"{name}: image is {image.width}x{image.height}, more than {MAX_PIXELS // 1_000_000} MP")
        image.load()
    except CrackInputError:
        raise
    except Image.DecompressionBombError:
        raise CrackInputError(f"{name}: image is larger than {MAX_PIXELS // 1_000_000} MP") from None
    except UnidentifiedImageError:
        raise CrackInputError(f"{name}: not an image (or a format that cannot be read)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CrackInputError(f"{name}: unreadable or truncated image ({first_line})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = previous
    if image.width == 0 or image.height == 0:
        raise CrackInputError(f"{name}: empty image")
    return _upright(image)


def _upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation tag says (a phone stores a portrait photo sideways and tags
    it), so that the photo, its mask and every pixel coordinate are the ones a viewer sees."""
    try:
        return ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, TypeError, KeyError):  # a damaged tag: the pixels are still good
        return image


def to_rgb_uint8(image: Image.Image) -> np.ndarray:
    """Convert any PIL mode (16-bit, float, RGBA, palette, grayscale, CMYK) to H×W×3 uint8.

    16-bit and float images are scaled by their own range, since their values do
    not live in 0..255; alpha is composited on white.
    """
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        array = np.asarray(image, dtype=np.float64)
        lo, hi = float(array.min()), float(array.max())
        scaled = (array - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(array)
        gray = np.clip(np.round(scaled), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()


def read_image(source, *, name: str | None = None) -> np.ndarray:
    """Read an image file as an H×W×3 uint8 array, upright by its EXIF orientation.

    Parameters
    ----------
    source : str, Path, bytes or file-like
        The image. Any mode PIL reads is accepted (see :func:`to_rgb_uint8`).

    Raises
    ------
    CrackInputError
        Missing, empty, truncated, non-image or over-large file.
    """
    return to_rgb_uint8(_open(source, name))


def read_mask(source, *, shape: tuple[int, int] | None = None, name: str | None = None) -> np.ndarray:
    """Read a ground-truth mask as a boolean H×W array, upright by its EXIF orientation.

    Masks stored as 0/1 or 0/255 both work: a pixel is crack when it is above
    half of 255 (or non-zero in a 0/1 mask).

    Parameters
    ----------
    source : str, Path, bytes or file-like
    shape : (int, int), optional
        Expected (height, width): a mask of another size is an error, since
        resizing a few-pixel-wide crack mask silently changes the metrics.
    """
    image = _open(source, name)
    gray = np.asarray(image.convert("L") if image.mode not in ("I", "I;16", "F", "1") else image)
    mask = gray > (127 if gray.max() > 1 else 0)
    if shape is not None and mask.shape != tuple(shape):
        raise CrackInputError(
            f"{name or _name(source)}: mask is {mask.shape[1]}x{mask.shape[0]} but the image is "
            f"{shape[1]}x{shape[0]}")
    return mask


def write_png(path, array: np.ndarray) -> None:
    """Write a uint8 (or boolean → 0/255) array as PNG."""
    array = np.asarray(array)
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    Image.fromarray(array).save(path, format="PNG")
