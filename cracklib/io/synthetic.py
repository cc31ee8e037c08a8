"""Synthetic crack images with exact masks, for samples, tests and demos.

A crack is a thin, dark, branching random walk of irregular width painted on a
procedural surface (concrete-like noise or a brick wall with mortar joints). The
painted pixels are the mask, so the answer is known exactly. This is not a data
set to report results on; it lets the project run on a fresh clone without the
real data in ``../shared/data``.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage

from cracklib.io.datasets import write_manifest
from cracklib.io.imageio import write_png

__all__ = ["TEXTURES", "surface", "crack_mask", "crack_image", "GrowthSeries", "HARD_SERIES", "growth_series",
           "bundled_samples", "write_bundled_samples", "write_sample_dataset", "write_synthetic_dataset"]


TEXTURES = ("concrete", "brick")


SAMPLES_DIR = Path(__file__).resolve().parents[1] / "samples"


def _noise(shape, rng, sigma):
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma)
    return field / (field.std() + 1e-12)


def surface(shape: tuple[int, int], *, kind: str = "concrete", rng=None) -> np.ndarray:
    """A crack-free procedural surface, H×W×3 float in [0, 1].

    Parameters
    ----------
    shape : (int, int)
    kind : {'concrete', 'brick'}
    rng : numpy Generator or int seed
    """
    rng = np.random.default_rng(rng)
    h, w = shape
    if kind == "concrete":
        base = 0.55 + 0.08 * _noise(shape, rng, 12) + 0.05 * _noise(shape, rng, 3) + 0.04 * rng.standard_normal(shape)
        # Aggregate: sparse small dark and light blobs.
        blobs = ndimage.gaussian_filter((rng.random(shape) > 0.997).astype(float), 1.5) * 8
        base = base - 0.15 * np.clip(blobs, 0, 1) * rng.choice([-1, 1])
        tint = np.array([1.0, 0.98, 0.93]) * rng.uniform(0.85, 1.1)
        image = base[..., None] * tint
    elif kind == "brick":
        brick_h, brick_w, mortar = rng.integers(20, 32), rng.integers(48, 72), rng.integers(2, 5)
        rows, cols = np.mgrid[0:h, 0:w]
        course = rows // brick_h
        offset = (course % 2) * (brick_w // 2)
        is_mortar = ((rows % brick_h) < mortar) | (((cols + offset) % brick_w) < mortar)
        brick_id = course * 1000 + (cols + offset) // brick_w
        shade = rng.uniform(-0.08, 0.08, size=brick_id.max() + 1)[brick_id]
        red = np.array([0.62, 0.33, 0.25]) * rng.uniform(0.85, 1.15)
        grey = np.array([0.72, 0.70, 0.66])
        texture = 0.05 * _noise(shape, rng, 2) + 0.03 * rng.standard_normal(shape)
        image = np.where(is_mortar[..., None], grey, red) * (1 + shade + texture)[..., None]
    else:
        raise ValueError(f"unknown texture {kind!r}; choose from {', '.join(TEXTURES)}")
    return np.clip(image, 0, 1)


def _walk(start, angle, steps, rng, shape):
    """A smooth random walk: list of (row, col) points."""
    points, (r, c), heading = [], start, angle
    for _ in range(steps):
        # Mean-reverting turns: the crack wanders but keeps crossing the surface.
        angle += rng.normal(0, 0.2) + 0.1 * (heading - angle)
        r, c = r + np.sin(angle), c + np.cos(angle)
        if not (0 <= r < shape[0] and 0 <= c < shape[1]):
            break
        points.append((r, c, angle))
    return points


def crack_mask(shape: tuple[int, int], *, rng=None, max_width: float = 4.0, branches: int = 2) -> np.ndarray:
    """A branching crack of irregular width (1 px up to ``max_width``), boolean H×W.

    The main crack enters at one border and wanders across; ``branches`` side
    cracks split from it and thin out.
    """
    rng = np.random.default_rng(rng)
    h, w = shape
    mask = np.zeros(shape, dtype=bool)
    main = []
    for _ in range(20):  # retry until the main crack runs at least half across
        side = rng.integers(4)
        start = [(rng.uniform(0.2, 0.8) * h, 0.0), (0.0, rng.uniform(0.2, 0.8) * w),
                 (rng.uniform(0.2, 0.8) * h, w - 1.0), (h - 1.0, rng.uniform(0.2, 0.8) * w)][side]
        angle = [0.0, np.pi / 2, np.pi, -np.pi / 2][side] + rng.normal(0, 0.3)
        main = _walk(start, angle, int(2 * (h + w)), rng, shape)
        if len(main) >= min(h, w) // 2:
            break
    paths = [(main, max_width)]
    for _ in range(branches):
        if len(main) < 10:
            break
        r, c, a = main[rng.integers(len(main) // 5, len(main))]
        branch = _walk((r, c), a + rng.choice([-1, 1]) * rng.uniform(0.5, 1.2), int(rng.integers(20, (h + w) // 3)),
                       rng, shape)
        paths.append((branch, max(1.0, max_width * 0.6)))
    for points, top_width in paths:
        _paint_path(mask, points, top_width, _wobble(len(points), rng))
    return mask


def _wobble(n: int, rng) -> np.ndarray:
    """Width factor along a crack: wanders slowly, in about [0.5, 1.5] (capped at 1 when painting)."""
    return 0.5 + 0.5 * ndimage.gaussian_filter1d(rng.random(max(n, 1)), 6) / 0.5


def _paint_path(mask: np.ndarray, points, top_width: float, wobble: np.ndarray, *, count: int | None = None) -> None:
    """Paint discs along the first ``count`` of ``points``; width tapers towards the path's full end."""
    h, w = mask.shape
    n = len(points)
    for i, (r, c, _) in enumerate(points[:count]):
        width = max(1.0, top_width * min(1.0, wobble[i]) * (1 - 0.6 * i / max(n, 1)))
        radius = width / 2
        r0, r1 = int(max(0, r - radius - 1)), int(min(h, r + radius + 2))
        c0, c1 = int(max(0, c - radius - 1)), int(min(w, c + radius + 2))
        rows, cols = np.ogrid[r0:r1, c0:c1]
        mask[r0:r1, c0:c1] |= (rows - r) ** 2 + (cols - c) ** 2 <= max(radius, 0.75) ** 2


def paint_crack(image: np.ndarray, mask: np.ndarray, *, rng=None) -> np.ndarray:
    """Darken ``image`` (float H×W×3 in [0, 1]) where ``mask`` is set; returns uint8."""
    rng = np.random.default_rng(rng)
    darkness = rng.uniform(0.25, 0.5) + 0.08 * rng.standard_normal(mask.shape)
    out = image.copy()
    out[mask] *= np.clip(darkness[mask], 0.1, 0.8)[:, None]
    return np.clip(np.round(out * 255), 0, 255).astype(np.uint8)


def crack_image(shape: tuple[int, int] = (256, 256), *, kind: str = "concrete", crack: bool = True,
                rng=None, max_width: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic photo and its exact mask.

    Returns
    -------
    image : (H, W, 3) uint8
    mask : (H, W) bool, all False when ``crack`` is False
    """
    rng = np.random.default_rng(rng)
    background = surface(shape, kind=kind, rng=rng)
    mask = crack_mask(shape, rng=rng, max_width=max_width) if crack else np.zeros(shape, dtype=bool)
    return paint_crack(background, mask, rng=rng), mask


@dataclass
class GrowthSeries:
    """Frames of one surface whose crack grows, with the truth for every frame."""

    frames: list[np.ndarray]
    masks: list[np.ndarray]
    #: Per frame, the (row, col) shift that registers it onto the first frame
    #: (``skimage.registration.phase_cross_correlation``'s convention).
    shifts: list[tuple[int, int]]
    #: Per frame, the rotation (degrees, counter-clockwise) that registers it onto the first.
    rotations: list[float] = field(default_factory=list)

    @property
    def areas(self) -> list[int]:
        return [int(mask.sum()) for mask in self.masks]


#: What makes a series as hard as real ones (``growth_series(**HARD_SERIES)``): exposure and shading
#: drift, fresh sensor noise, blur, JPEG, shifts and small turns, a branch that appears halfway.
HARD_SERIES = {"max_shift": 12, "exposure": 0.15, "shading": 0.08, "noise": 0.03, "blur": 1.2,
               "jpeg_quality": 70, "max_rotation": 2.0, "branch": True, "inset": 0.15}


def _inside(points, shape, inset: float):
    """The first run of ``points`` that stays ``inset`` (a fraction of each side) clear of the border."""
    h, w = shape
    kept = []
    for point in points:
        if not (inset * h <= point[0] < (1 - inset) * h and inset * w <= point[1] < (1 - inset) * w):
            if kept:
                break
            continue
        kept.append(point)
    return kept


def _jpeg(frame: np.ndarray, quality: int) -> np.ndarray:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.fromarray(frame).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(BytesIO(buffer.getvalue())).convert("RGB"))


def growth_series(shape: tuple[int, int] = (384, 512), steps: int = 5, *, kind: str = "concrete", rng=None,
                  max_shift: int = 0, exposure: float = 0.0, start_length: float = 0.35,
                  start_width: float = 1.5, max_width: float = 6.0, shading: float = 0.0, noise: float = 0.0,
                  blur: float = 0.0, jpeg_quality: int | None = None, max_rotation: float = 0.0,
                  branch: bool = False, inset: float = 0.0) -> GrowthSeries:
    """A crack that grows frame by frame on one crack-free surface (as Forest et al. simulated growth).

    The crack is one random walk: frame k paints its first part (from
    ``start_length`` of it up to all of it) with a top width rising from
    ``start_width`` to ``max_width``, so every frame's crack contains the previous
    one and the true area rises. Frames after the first are shifted by up to
    ``max_shift`` pixels and their exposure scaled by up to ±``exposure``.

    Real series are harder; each of these is off by default (:data:`HARD_SERIES` turns them all on):
    ``shading`` (a smooth illumination field of that relative strength, new every
    frame), ``noise`` (fresh sensor noise, standard deviation in [0, 1] units),
    ``blur`` (a Gaussian blur of up to this sigma), ``jpeg_quality``,
    ``max_rotation`` (degrees, turns about the centre), ``branch`` (a side crack
    that appears halfway through the series and grows), ``inset`` (the crack
    keeps this fraction of each side clear of the border, so it stays inside the
    region every aligned frame shares and the true areas stay comparable).

    Returns
    -------
    GrowthSeries
        uint8 frames of ``shape``, their masks (in each frame's own pixels), and
        the known shifts and rotations.
    """
    from skimage.transform import rotate

    rng = np.random.default_rng(rng)
    margin = max_shift
    canvas_shape = (shape[0] + 2 * margin, shape[1] + 2 * margin)
    background = surface(canvas_shape, kind=kind, rng=rng)
    h, w = canvas_shape
    path = []
    for _ in range(20):  # a walk that crosses most of the surface
        start = (rng.uniform(0.3, 0.7) * h, float(margin) + inset * w)
        path = _inside(_walk(start, rng.normal(0, 0.3), 2 * (h + w), rng, canvas_shape), canvas_shape, inset)
        if len(path) >= w // 2 * (1 - 2 * inset):
            break
    wobble = _wobble(len(path), rng)
    side, side_wobble = [], None
    if branch and len(path) > 10:
        r, c, a = path[int(len(path) * 0.4)]
        side = _inside(_walk((r, c), a + rng.choice([-1, 1]) * rng.uniform(0.6, 1.0), (h + w) // 3, rng,
                             canvas_shape), canvas_shape, inset)
        side_wobble = _wobble(len(side), rng)
    darkness_seed = int(rng.integers(2**31))
    frames, masks, shifts, rotations = [], [], [], []
    for k in range(steps):
        grown = k / max(1, steps - 1)
        mask = np.zeros(canvas_shape, bool)
        count = int(round(len(path) * (start_length + (1 - start_length) * grown)))
        _paint_path(mask, path, start_width + (max_width - start_width) * grown, wobble, count=count)
        if side and k >= steps // 2:
            later = (k - steps // 2 + 1) / max(1, steps - steps // 2)
            _paint_path(mask, side, max(1.0, 0.6 * max_width * later), side_wobble, count=int(len(side) * later))
        painted = paint_crack(background, mask, rng=darkness_seed).astype(np.float32)
        if k and exposure:
            painted *= 1 + rng.uniform(-exposure, exposure)
        if shading:
            painted *= (1 + shading * _noise(canvas_shape, rng, max(canvas_shape) / 6))[..., None]
        if noise:
            painted += 255 * noise * rng.standard_normal(painted.shape)
        angle = float(rng.uniform(-max_rotation, max_rotation)) if k and max_rotation else 0.0
        if angle:  # turn about the canvas centre; the mask turns with the photo
            painted = rotate(painted, angle, order=1, mode="edge", preserve_range=True)
            mask = rotate(mask.astype(float), angle, order=0, mode="constant") > 0.5
        if blur:
            painted = ndimage.gaussian_filter(painted, (rng.uniform(0, blur),) * 2 + (0,))
        jitter = rng.integers(-max_shift, max_shift + 1, 2) if k else np.zeros(2, int)
        offset = tuple(int(v) for v in margin + jitter)
        window = (slice(offset[0], offset[0] + shape[0]), slice(offset[1], offset[1] + shape[1]))
        frame = np.clip(np.round(painted[window]), 0, 255).astype(np.uint8)
        frames.append(_jpeg(frame, jpeg_quality) if jpeg_quality else frame)
        masks.append(mask[window])
        shifts.append((offset[0] - margin, offset[1] - margin))
        rotations.append(-angle)
    return GrowthSeries(frames, masks, shifts, rotations)


def bundled_samples() -> list[tuple[Path, Path]]:
    """The (image, mask) pairs shipped in ``cracklib/samples/``, sorted by name."""
    return [(p, p.with_name(p.stem + "_mask.png")) for p in sorted(SAMPLES_DIR.glob("*.png"))
            if not p.stem.endswith("_mask")]


def write_sample_dataset(folder: Path) -> Path:
    """The bundled samples as a data folder in the ``../shared/data`` layout (split ``test``)."""
    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "masks").mkdir(exist_ok=True)
    rows = []
    for image, mask in bundled_samples():
        shutil.copyfile(image, folder / "images" / image.name)
        shutil.copyfile(mask, folder / "masks" / image.name)
        label = int("clean" not in image.stem)
        rows.append({"image": f"images/{image.name}", "mask": f"masks/{image.name}", "label": label,
                     "split": "test", "group": "crack" if label else "clean"})
    write_manifest(folder, rows)
    return folder


def write_synthetic_dataset(folder: Path, *, n: int = 24, shape: tuple[int, int] = (128, 128), seed: int = 0,
                            val_fraction: float = 0.25) -> Path:
    """``n`` synthetic photos with exact masks as a data folder in the ``../shared/data`` layout.

    Every other photo is crack-free (its mask empty); the last ``val_fraction``
    are split ``val``, the rest ``train``. For tests and demos of training.
    """
    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "masks").mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(n):
        cracked = index % 2 == 0
        image, mask = crack_image(shape, crack=cracked, rng=rng, kind=TEXTURES[index // 2 % len(TEXTURES)])
        name = f"synthetic_{index:03d}.png"
        write_png(folder / "images" / name, image)
        write_png(folder / "masks" / name, mask)
        rows.append({"image": f"images/{name}", "mask": f"masks/{name}", "label": int(cracked),
                     "split": "val" if index >= n * (1 - val_fraction) else "train",
                     "group": "crack" if cracked else "clean"})
    write_manifest(folder, rows)
    return folder


def write_bundled_samples(folder: Path = SAMPLES_DIR) -> list[Path]:
    """(Re)generate the bundled samples: fixed seeds, so the files are reproducible."""

    folder.mkdir(parents=True, exist_ok=True)
    specs = [("concrete_crack_1", "concrete", True, 11), ("concrete_crack_2", "concrete", True, 12),
             ("brick_crack_1", "brick", True, 13), ("concrete_clean_1", "concrete", False, 14)]
    written = []
    for name, kind, crack, seed in specs:
        image, mask = crack_image((384, 512), kind=kind, crack=crack, rng=seed)
        write_png(folder / f"{name}.png", image)
        write_png(folder / f"{name}_mask.png", mask)
        written.append(folder / f"{name}.png")
    return written


if __name__ == "__main__":
    for path in write_bundled_samples():
        print(path)
