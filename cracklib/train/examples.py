"""Training examples from data folders (or synthetic images).

From a folder in the ``../shared/data`` layout, every labelled image gives one
example (the whole image resized to the input size). Images with a pixel mask
also give patches cut at their native resolution, as the tiled pipeline sees
them: a patch is a crack example if its centre holds crack pixels and a
crack-free example if it holds none (patches with crack only near their border
are left out: their label is ambiguous). Forest et al. built their masonry
patches this way.

*Hard negatives*: crack-free patches of the train and val splits that an
earlier model calls cracked (lane markings, joints, edges, stains) are added
as extra crack-free examples, so a second round learns what the first confused
(``train --hard-negatives WEIGHTS``).

The examples are decoded once and kept as uint8 arrays in a cache file keyed on
the data and the settings, so a rerun or a resumed run decodes nothing.
Crack-free examples also give the damage-free baselines stored beside the weights.
"""
from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

from cracklib.errors import CrackInputError
from cracklib.io.datasets import Sample, assign_splits, crack_pixels, read_dataset, read_sample
from cracklib.io.synthetic import TEXTURES, crack_image
from cracklib.nets.models import CRACK_CLASS, Normalization
from cracklib.nets.preprocess import to_pixels
from cracklib.nets.weights import load_model
from cracklib.pipeline.decision import DECISION_THRESHOLD
from cracklib.tiling import pad_to_tile, tile_grid
from cracklib.train.progress import progress_bar

__all__ = ["PatchSettings", "examples_from_samples", "hard_negatives", "oversample", "predict_probabilities",
           "synthetic_examples"]


@dataclass(frozen=True)
class PatchSettings:
    """How native-resolution patches are cut from a masked image."""

    #: Step between patch origins, as a fraction of the patch side (0.5 = half-overlapping).
    stride: float = 0.5
    #: At most this many crack patches and crack-free patches per image (drawn at random).
    max_crack: int = 16
    max_clean: int = 16
    #: A crack patch holds at least this many crack pixels in its centre (the patch less 1/8 a side).
    min_crack_pixels: int = 12
    #: A crack-free patch has no crack pixel within this many pixels (masks miss a crack's edges).
    clean_margin: int = 4


def _resized(image: np.ndarray, size: int) -> np.ndarray:
    pixels = to_pixels(image, size)[0].permute(1, 2, 0).numpy()
    return np.round(pixels * 255).astype(np.uint8)


def _patch_windows(truth: np.ndarray, size: int, settings: PatchSettings):
    """(crack windows, crack-free windows) of the grid over ``truth`` (already padded to a patch)."""
    grid = tile_grid(truth.shape, size=size, overlap=1 - settings.stride)
    near_crack = ndimage.binary_dilation(truth, iterations=settings.clean_margin) if truth.any() else truth
    inner = slice(size // 8, size - size // 8)
    crack, clean = [], []
    for index in range(len(grid)):
        window = grid.window(index)
        if not near_crack[window].any():
            clean.append(window)
        elif truth[window][inner, inner].sum() >= settings.min_crack_pixels:
            crack.append(window)
    return crack, clean


def _pick(items: list, n: int, rng: np.random.Generator) -> list:
    if len(items) <= n:
        return items
    return [items[i] for i in np.sort(rng.choice(len(items), n, replace=False))]


def _masked_patches(image: np.ndarray, sample: Sample, size: int, settings: PatchSettings):
    """The image padded to a patch and its (crack, crack-free) windows; no windows without a usable mask.

    A defect image whose mask is empty has an unreliable mask: no patches from it.
    """
    truth = crack_pixels(sample, image.shape[:2])
    if truth is None or not (truth.any() or sample.label == 0):
        return image, [], []
    padded = pad_to_tile(image, size)
    return (padded, *_patch_windows(pad_to_tile(truth, size), size, settings))


def _sample_examples(sample: Sample, size: int, patches: bool, settings: PatchSettings,
                     rng: np.random.Generator) -> tuple[list[np.ndarray], list[int]]:
    """The examples of one sample: its whole image (if labelled) and its masked patches (with ``patches``)."""
    image = read_sample(sample, with_mask=False)[0]  # errors name the file, not the server's folders
    images, labels = [], []
    if sample.label is not None:
        images.append(_resized(image, size))
        labels.append(int(sample.label))
    if patches:
        padded, crack, clean = _masked_patches(image, sample, size, settings)
        crack, clean = _pick(crack, settings.max_crack, rng), _pick(clean, settings.max_clean, rng)
        images += [padded[w] for w in crack + clean]
        labels += [1] * len(crack) + [0] * len(clean)
    return images, labels


def examples_from_samples(samples: list[Sample], size: int, *, patches: bool = True, seed: int = 0,
                          settings: PatchSettings = PatchSettings(), progress=None,
                          skipped: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Whole images (resized) and mask-labelled native patches: uint8 (N, S, S, 3), labels (N,).

    An image or mask that cannot be read (missing, empty, not an image, a mask
    of another size) raises :class:`CrackInputError`; with a ``skipped`` list,
    its sample is left out and described there instead (one line each).
    """
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for index, sample in enumerate(samples, 1):
        try:
            sample_images, sample_labels = _sample_examples(sample, size, patches, settings, rng)
        except CrackInputError as error:
            if skipped is None:
                raise
            skipped.append(str(error))
        else:
            images += sample_images
            labels += sample_labels
        if progress:
            progress(index, len(samples))
    if not images:
        return np.zeros((0, size, size, 3), np.uint8), np.zeros(0, np.int64)
    return np.stack(images), np.asarray(labels, np.int64)


@torch.no_grad()
def predict_probabilities(model: torch.nn.Module, images: np.ndarray, normalization: Normalization, *,
                          size: int | None = None, batch_size: int = 64) -> np.ndarray:
    """Crack probability of each uint8 image (N×H×W×3), in batches."""
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(images), batch_size):
        inputs = normalization.normalize(to_pixels(images[start:start + batch_size], size).to(device))
        inputs = inputs.contiguous(memory_format=torch.channels_last)
        out.append(torch.softmax(model(inputs), dim=1)[:, CRACK_CLASS].float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def hard_negatives(model, normalization: Normalization, samples: list[Sample], size: int, *,
                   per_image: int = 8, settings: PatchSettings = PatchSettings(),
                   progress=None, skipped: list[str] | None = None) -> np.ndarray:
    """Crack-free native patches that ``model`` calls cracked (probability ≥ ``DECISION_THRESHOLD``), uint8 (N, S, S, 3).

    From every masked image, the ``per_image`` most confidently wrong crack-free
    patches (windows with no crack pixel within ``settings.clean_margin``). An
    unreadable image or mask raises, or with a ``skipped`` list is left out and
    described there.
    """
    found = []
    for index, sample in enumerate(samples, 1):
        try:
            padded, _, clean = _masked_patches(read_sample(sample, with_mask=False)[0], sample, size, settings)
        except CrackInputError as error:
            if skipped is None:
                raise
            skipped.append(str(error))
            clean = []
        if clean:
            patches = np.stack([padded[w] for w in clean])
            probability = predict_probabilities(model, patches, normalization)
            worst = np.argsort(-probability)[:per_image]
            found += [patches[i] for i in worst if probability[i] >= DECISION_THRESHOLD]
        if progress:
            progress(index, len(samples))
    return np.stack(found) if found else np.zeros((0, size, size, 3), np.uint8)


def synthetic_examples(n: int, size: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` synthetic images, half with a crack, both textures."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for i in range(n):
        crack = i % 2 == 0
        # Photos of varied size, resized to the input as the pipeline does.
        shape = tuple(int(v) for v in rng.integers(size, 4 * size, 2))
        image, _ = crack_image(shape, kind=TEXTURES[(i // 2) % len(TEXTURES)], crack=crack, rng=rng,
                               max_width=rng.uniform(2, 6))
        images.append(_resized(image, size))
        labels.append(int(crack))
    return np.stack(images), np.asarray(labels, np.int64)


def _file_size(path: Path) -> str:
    """A file's size for the cache key; a missing file is keyed too (it is left out, or an error)."""
    try:
        return str(path.stat().st_size)
    except OSError:
        return "missing"


def _cache_key(datasets: dict[str, list[Sample]], size: int, seed: int, settings: PatchSettings,
               miner: str | None, names: dict[str, str]) -> str:
    """A digest of everything the examples depend on: manifests, file sizes, settings, the mining model, and
    the folders' names (the counts are stored under them)."""
    parts = [str(size), str(seed), repr(settings), miner or "", repr(sorted(names.items()))]
    for samples in datasets.values():
        for sample in samples:
            for path in (sample.image, sample.mask):
                if path is not None:
                    parts.append(f"{path}:{_file_size(path)}:{sample.label}:{sample.split}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _folder_examples(datasets: dict[str, list[Sample]], size: int, seed: int, settings: PatchSettings,
                     miner: str | None, log, skipped: list[str] | None, names: dict[str, str]):
    """Train/val examples and whole test images of every folder (folder → its samples); ``sources`` counts them
    under each folder's name (``names``, else the folder's own).

    Unreadable files raise, or with a ``skipped`` list are left out and described there.
    """
    model = load_model(miner, device="cpu")[0] if miner else None
    parts: dict[str, list] = {"train": [], "val": []}
    sources: dict = {}
    tests: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for folder, every in datasets.items():
        name = names.get(folder, Path(folder).name)
        if not any(sample.split for sample in every):
            every = assign_splits(every, seed=seed)
        for split in ("train", "val"):
            samples = [sample for sample in every if sample.split == split]
            bar = progress_bar(len(samples), f"{name}/{split}", log)
            x, y = examples_from_samples(samples, size, seed=seed, settings=settings,
                                         progress=lambda *_: bar.update(), skipped=skipped)
            bar.close()
            counts = {"examples": int(len(y)), "crack": int(y.sum())}
            if model is not None:
                # The same files again: those unreadable were named just above.
                hard = hard_negatives(model, Normalization(), samples, size, settings=settings,
                                      skipped=None if skipped is None else [])
                x, y = np.concatenate([x, hard]), np.concatenate([y, np.zeros(len(hard), np.int64)])
                counts["hard_negatives"] = int(len(hard))
            parts[split].append((x, y))
            sources.setdefault(name, {})[split] = counts
            print(f"{name}/{split}: {counts}", file=log)
        test = [s for s in every if s.split == "test" and s.label is not None]
        if test:
            tests[name] = examples_from_samples(test, size, patches=False, skipped=skipped)
    arrays = {f"{axis}_{split}": np.concatenate([part[i] for part in parts[split]])
              for split in parts for i, axis in enumerate("xy")}
    return arrays, sources, tests


def cached_examples(data: list[str], size: int, *, seed: int = 0, settings: PatchSettings = PatchSettings(),
                    hard_negatives_from: str | None = None, cache_dir: str | Path | None = None,
                    log=sys.stderr, skipped: list[str] | None = None, names: dict[str, str] | None = None):
    """:func:`_folder_examples`, decoded once: later calls with the same data and settings read a cache file.

    A bad manifest row or an unreadable image or mask raises :class:`CrackInputError`;
    with a ``skipped`` list, it is left out and described there instead (one
    line each, also when the examples are read back from the cache). ``names``
    maps a folder to the name its messages and counts use (the studio passes
    an upload's file name for the temporary folder it was unpacked into).

    Returns ``(arrays, sources, tests)``: arrays ``x_train, y_train, x_val, y_val``.
    """
    miner = None
    if hard_negatives_from:
        miner = hashlib.sha256(Path(hard_negatives_from).read_bytes()).hexdigest()
    names = names or {}
    datasets = {folder: read_dataset(folder, skipped=skipped, name=names.get(folder)) for folder in data}
    folder = Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / "cracklib-examples"
    path = folder / f"examples-{_cache_key(datasets, size, seed, settings, miner, names)}.npz"
    if path.exists():
        with np.load(path) as stored:
            arrays = {k: stored[k] for k in ("x_train", "y_train", "x_val", "y_val")}
            meta = json.loads(str(stored["meta"]))
            tests = {name: (stored[f"test_x_{name}"], stored[f"test_y_{name}"]) for name in meta["tests"]}
        print(f"examples read from {path}", file=log)
        unreadable = meta.get("unreadable", [])  # caches written before files could be left out have none
        if unreadable and skipped is None:
            raise CrackInputError(unreadable[0])  # as a first decode without a ``skipped`` list would
        if skipped is not None:
            skipped += unreadable
        return arrays, meta["sources"], tests
    unreadable = None if skipped is None else []
    arrays, sources, tests = _folder_examples(datasets, size, seed, settings, hard_negatives_from, log, unreadable,
                                              names)
    folder.mkdir(parents=True, exist_ok=True)
    extra = {f"test_{axis}_{name}": pair[i] for name, pair in tests.items() for i, axis in enumerate("xy")}
    temporary = path.with_name(path.stem + ".tmp.npz")
    meta = {"sources": sources, "tests": list(tests), "unreadable": unreadable or []}
    np.savez(temporary, meta=json.dumps(meta), **arrays, **extra)
    temporary.replace(path)
    if skipped is not None:
        skipped += unreadable
    return arrays, sources, tests


def oversample(x: np.ndarray, y: np.ndarray, sources: dict, repeats: dict[str, int], *,
                split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Repeat the ``split`` examples of some sources: ``repeats`` maps a folder name to a factor.

    A small set among large ones (brick walls are 2 % of the default mix) is
    otherwise learnt last; the augmentation makes each repeat a different view.
    ``sources`` is the per-folder count of :func:`cached_examples`, in the
    order the examples were concatenated.
    """
    unknown = set(repeats) - set(sources)
    if unknown:
        raise ValueError(f"--oversample: no data folder named {', '.join(sorted(unknown))}")
    counts = [(name, sum(v for k, v in parts.get(split, {}).items() if k in ("examples", "hard_negatives")))
              for name, parts in sources.items()]
    if sum(n for _, n in counts) != len(y):
        raise ValueError("the example counts do not match the arrays")
    index, start = [], 0
    for name, n in counts:
        index += [np.arange(start, start + n)] * max(1, repeats.get(name, 1))
        start += n
    index = np.concatenate(index) if index else np.zeros(0, np.int64)
    return x[index], y[index]
