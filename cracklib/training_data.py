"""Training examples from data folders (or synthetic images), and the ``train`` command.

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
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from scipy import ndimage

from .baselines import DamageFree, baselines_path
from .datasets import Sample, assign_splits, crack_pixels, read_dataset
from .decision import DECISION_THRESHOLD
from .evaluation import classifier_scores
from .imageio import read_image
from .models import ModelCard, Normalization, load_model, save_model
from .preprocess import to_pixels
from .synthetic import TEXTURES, crack_image
from .tiling import ceil_div, pad_to_tile, tile_grid
from .training import EpochStats, TrainingConfig, predict_probabilities, train_classifier

__all__ = ["PatchSettings", "examples_from_samples", "hard_negatives", "oversample", "synthetic_examples",
           "train_and_save"]


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


def examples_from_samples(samples: list[Sample], size: int, *, patches: bool = True, seed: int = 0,
                          settings: PatchSettings = PatchSettings(), progress=None) -> tuple[np.ndarray, np.ndarray]:
    """Whole images (resized) and mask-labelled native patches: uint8 (N, S, S, 3), labels (N,)."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for index, sample in enumerate(samples, 1):
        image = read_image(sample.image)
        if sample.label is not None:
            images.append(_resized(image, size))
            labels.append(int(sample.label))
        if patches:
            padded, crack, clean = _masked_patches(image, sample, size, settings)
            crack, clean = _pick(crack, settings.max_crack, rng), _pick(clean, settings.max_clean, rng)
            images += [padded[w] for w in crack + clean]
            labels += [1] * len(crack) + [0] * len(clean)
        if progress:
            progress(index, len(samples))
    if not images:
        return np.zeros((0, size, size, 3), np.uint8), np.zeros(0, np.int64)
    return np.stack(images), np.asarray(labels, np.int64)


def hard_negatives(model, normalization: Normalization, samples: list[Sample], size: int, *,
                   per_image: int = 8, settings: PatchSettings = PatchSettings(),
                   progress=None) -> np.ndarray:
    """Crack-free native patches that ``model`` calls cracked (probability ≥ ``DECISION_THRESHOLD``), uint8 (N, S, S, 3).

    From every masked image, the ``per_image`` most confidently wrong crack-free
    patches (windows with no crack pixel within ``settings.clean_margin``).
    """
    found = []
    for index, sample in enumerate(samples, 1):
        padded, _, clean = _masked_patches(read_image(sample.image), sample, size, settings)
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


def _bar(total, description, log):
    from tqdm import tqdm
    return tqdm(total=total, desc=description, file=log, disable=None, leave=False)


class TrainingProgress:
    """A training run's progress bar over all its batches, and one log line per epoch with the time left.

    The classifier's and the U-Nets' training share it. ``epoch`` sets the bar
    to the epoch's end (also right after a resume) and estimates the time left
    from this run's own epochs (a resumed run counts only those).
    """

    def __init__(self, epochs: int, steps_per_epoch: int, log):
        self.epochs, self.steps, self.log = epochs, steps_per_epoch, log
        self.bar = _bar(epochs * steps_per_epoch, "training", log)
        self.seconds: list[float] = []

    def batch(self, *_) -> None:
        self.bar.update(1)

    def epoch(self, number: int, seconds: float, figures: str) -> None:
        self.seconds.append(seconds)
        self.bar.n = number * self.steps
        self.bar.refresh()
        if self.log:
            eta = sum(self.seconds) / len(self.seconds) * (self.epochs - number)
            print(f"epoch {number}/{self.epochs}: {figures} ({seconds:.0f} s, ETA {eta / 60:.0f} min)",
                  file=self.log, flush=True)

    def close(self) -> None:
        self.bar.close()


def _cache_key(data: list[str], size: int, seed: int, settings: PatchSettings, miner: str | None) -> str:
    """A digest of everything the examples depend on: manifests, file sizes, settings, the mining model."""
    parts = [str(size), str(seed), repr(settings), miner or ""]
    for folder in data:
        for sample in read_dataset(folder):
            for path in (sample.image, sample.mask):
                if path is not None:
                    parts.append(f"{path}:{path.stat().st_size}:{sample.label}:{sample.split}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _folder_examples(data: list[str], size: int, seed: int, settings: PatchSettings, miner: str | None, log):
    """Train/val examples and whole test images of every folder; ``sources`` counts them."""
    model = load_model(miner, device="cpu")[0] if miner else None
    parts: dict[str, list] = {"train": [], "val": []}
    sources: dict = {}
    tests: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for folder in data:
        name, every = Path(folder).name, read_dataset(folder)
        if not any(sample.split for sample in every):
            every = assign_splits(every, seed=seed)
        for split in ("train", "val"):
            samples = [sample for sample in every if sample.split == split]
            bar = _bar(len(samples), f"{name}/{split}", log)
            x, y = examples_from_samples(samples, size, seed=seed, settings=settings,
                                         progress=lambda *_: bar.update())
            bar.close()
            counts = {"examples": int(len(y)), "crack": int(y.sum())}
            if model is not None:
                hard = hard_negatives(model, Normalization(), samples, size, settings=settings)
                x, y = np.concatenate([x, hard]), np.concatenate([y, np.zeros(len(hard), np.int64)])
                counts["hard_negatives"] = int(len(hard))
            parts[split].append((x, y))
            sources.setdefault(name, {})[split] = counts
            print(f"{name}/{split}: {counts}", file=log)
        test = [s for s in every if s.split == "test" and s.label is not None]
        if test:
            tests[name] = examples_from_samples(test, size, patches=False)
    arrays = {f"{axis}_{split}": np.concatenate([part[i] for part in parts[split]])
              for split in parts for i, axis in enumerate("xy")}
    return arrays, sources, tests


def cached_examples(data: list[str], size: int, *, seed: int = 0, settings: PatchSettings = PatchSettings(),
                    hard_negatives_from: str | None = None, cache_dir: str | Path | None = None,
                    log=sys.stderr):
    """:func:`_folder_examples`, decoded once: later calls with the same data and settings read a cache file.

    Returns ``(arrays, sources, tests)``: arrays ``x_train, y_train, x_val, y_val``.
    """
    miner = None
    if hard_negatives_from:
        miner = hashlib.sha256(Path(hard_negatives_from).read_bytes()).hexdigest()
    folder = Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / "cracklib-examples"
    path = folder / f"examples-{_cache_key(data, size, seed, settings, miner)}.npz"
    if path.exists():
        with np.load(path) as stored:
            arrays = {k: stored[k] for k in ("x_train", "y_train", "x_val", "y_val")}
            meta = json.loads(str(stored["meta"]))
            tests = {name: (stored[f"test_x_{name}"], stored[f"test_y_{name}"]) for name in meta["tests"]}
        print(f"examples read from {path}", file=log)
        return arrays, meta["sources"], tests
    arrays, sources, tests = _folder_examples(data, size, seed, settings, hard_negatives_from, log)
    folder.mkdir(parents=True, exist_ok=True)
    extra = {f"test_{axis}_{name}": pair[i] for name, pair in tests.items() for i, axis in enumerate("xy")}
    temporary = path.with_name(path.stem + ".tmp.npz")
    np.savez(temporary, meta=json.dumps({"sources": sources, "tests": list(tests)}), **arrays, **extra)
    temporary.replace(path)
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


def checkpoint_path(weights: str | Path) -> Path:
    """``NAME.ckpt.pt`` beside ``NAME.pt``: the per-epoch training checkpoint."""
    weights = Path(weights)
    return weights.with_name(weights.stem + ".ckpt.pt")


def train_and_save(*, data: list[str] | None = None, synthetic: int | None = None, arch: str = "vgg11_128",
                   width: float = 0.25, size: int = 128, epochs: int = 20, batch_size: int = 32,
                   lr: float = 2e-3, seed: int = 0, half: bool = False, out: str | Path,
                   device: str = "cpu", resume: bool = False, hard_negatives_from: str | None = None,
                   patch_settings: PatchSettings = PatchSettings(), cache_dir: str | Path | None = None,
                   init_from: str | None = None, oversample_sources: dict[str, int] | None = None,
                   command: str | None = None, log=sys.stderr, on_epoch: Callable[[EpochStats], None] | None = None,
                   on_batch: Callable[[int, int], None] | None = None, until_epoch: int | None = None,
                   patience: int = TrainingConfig.patience) -> ModelCard:
    """Train on data folders (train split; val split for checkpointing) or on synthetic images,
    then write the weights, the model card and the damage-free baselines.

    Folders without splits (e.g. ``crack/`` and ``no_crack/`` sub-folders) are
    split 80/20 into train and val with ``seed``. ``on_epoch`` and ``on_batch``
    report progress (the app's live chart); ``log`` gets a progress bar with
    ETA and one line per epoch. A checkpoint ``NAME.ckpt.pt`` is written after
    every epoch; ``resume=True`` continues from it. ``init_from`` fine-tunes
    trained weights instead of starting from scratch; ``oversample_sources``
    repeats some folders' training examples (:func:`oversample`).
    """
    start = time.perf_counter()
    normalization = Normalization()
    sources: dict = {}
    test_sets: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if synthetic:
        x_train, y_train = synthetic_examples(synthetic, size, seed=seed)
        x_val, y_val = synthetic_examples(max(20, synthetic // 4), size, seed=seed + 1)
        test_sets["synthetic"] = synthetic_examples(max(20, synthetic // 4), size, seed=seed + 2)
        sources["synthetic"] = {"train": int(len(y_train)), "val": int(len(y_val))}
    else:
        arrays, sources, test_sets = cached_examples(data or [], size, seed=seed, settings=patch_settings,
                                                     hard_negatives_from=hard_negatives_from,
                                                     cache_dir=cache_dir, log=log)
        x_train, y_train, x_val, y_val = (arrays[k] for k in ("x_train", "y_train", "x_val", "y_val"))
        if oversample_sources:
            x_train, y_train = oversample(x_train, y_train, sources, oversample_sources)
    print(f"{len(y_train)} training examples ({int(y_train.sum())} crack), {len(y_val)} validation", file=log)
    config = TrainingConfig(arch=arch, width=width, input_size=size, epochs=epochs, batch_size=batch_size,
                            learning_rate=lr, seed=seed, device=device, patience=patience,
                            init_from=str(init_from) if init_from else None)
    progress = TrainingProgress(epochs, ceil_div(len(y_train), batch_size), log)

    def batch_progress(done, total):
        progress.batch()
        if on_batch:
            on_batch(done, total)

    def epoch_progress(stats: EpochStats):
        val_loss = "-" if stats.val_loss is None else f"{stats.val_loss:.4f}"
        val_bacc = "-" if stats.val_balanced_accuracy is None else f"{stats.val_balanced_accuracy:.3f}"
        progress.epoch(stats.epoch, stats.seconds, f"loss {stats.train_loss:.4f} acc {stats.train_accuracy:.3f} "
                                                   f"val loss {val_loss} val bacc {val_bacc}")
        if on_epoch:
            on_epoch(stats)

    checkpoint = checkpoint_path(out)
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    model, history = train_classifier(x_train, y_train, x_val, y_val, config=config, normalization=normalization,
                                      progress=epoch_progress, batch_progress=batch_progress,
                                      checkpoint=checkpoint, resume=resume, until_epoch=until_epoch)
    progress.close()
    test_metrics = {}
    for name, (x, y) in test_sets.items():
        test_metrics[name] = classifier_scores(y, predict_probabilities(model, x, normalization))
    card = ModelCard(arch=arch, width=width, input_size=size, normalization=normalization,
                     training_data={"sources": sources, "splits": {"train": "train", "validation": "val"},
                                    "patches": vars(patch_settings) if data else None,
                                    "hard_negatives_from": Path(hard_negatives_from).name if hard_negatives_from
                                    else None,
                                    "oversampled": oversample_sources or None,
                                    "fine_tuned_from": Path(init_from).name if init_from else None},
                     test_metrics={"classification (whole test images, threshold 0.5)": test_metrics},
                     notes={"command": command, "epochs_run": len(history), "epochs_max": epochs,
                            **({"stopped_after_epoch": until_epoch} if until_epoch and until_epoch < epochs else {}),
                            "seed": seed,
                            "device": device,
                            "wall_time_s": round(time.perf_counter() - start, 1),
                            "train_seconds": round(sum(h.seconds for h in history), 1),
                            "history": [h.to_dict() for h in history],
                            "training": (f"fine-tuned from {Path(init_from).name}, no batch norm" if init_from else
                                         "uncentred batch norm during training, folded into the B-cos layers' "
                                         "gains afterwards" if arch == "vgg11_bcos" else
                                         "batch norm during training, folded into the convs afterwards"),
                            "storage": "float16" if half else "float32"})
    save_model(model, out, card, half=half)
    if not until_epoch or until_epoch >= epochs:
        checkpoint.unlink(missing_ok=True)  # the run is complete: nothing left to resume
    # A sample of the crack-free examples is enough for a mean image (and stays small in memory).
    clean = np.flatnonzero(y_train == 0)
    clean = np.random.default_rng(seed).choice(clean, min(len(clean), 2000), replace=False)
    pixels = x_train[np.sort(clean)].transpose(0, 3, 1, 2).astype(np.float32) / 255.0
    DamageFree.from_images(pixels, seed=seed).save(baselines_path(out))
    return card
